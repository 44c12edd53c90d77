// The trace table's contract with its Python side (mlflow_magics/views/trace_table_widget.py).
// tests/test_widget_contracts.py checks these names against the widget's traits and actions.

export interface Row {
  id: string;
  time: string;
  name: string;
  status: string;
  duration_ms: number | null;
  tokens: number | null;
  request: string;
  response: string;
  tags: [string, string][];
  more_tags: number;
  /** Per assessment name: the value as short text, and how it reads (null: neither pass nor
   * fail, e.g. a number or text). Names missing here have no assessment on this trace. */
  assessments?: Record<string, { text: string; verdict: "pass" | "fail" | "error" | null }>;
}

export interface Model {
  /** One page of traces with bounded previews. */
  page: {
    rows?: Row[];
    page?: number;
    start?: number;
    has_prev?: boolean;
    has_next?: boolean;
    count?: number | null;
    capped?: boolean;
    /** The assessment names on this page's traces, one column each (none: no columns). */
    assessment_names?: string[];
  };
  /** The filter applied now (MLflow search_traces syntax). */
  filter: string;
  /** The sort applied now. */
  order: { column?: "time" | "duration" | "name" | "status" | ""; descending?: boolean };
  /** Selected traces across pages, and which rows of this page are selected. */
  selection: { count?: number; on_page?: string[] };
  /** The store's dataset names, filled when the "Add selected to dataset…" form opens. */
  dataset_names: string[];
  /** What the last add did: "n added, m already present". */
  dataset_note: string;
  /** One sentence when the last action failed, else "". */
  error: string;
}

export type Action =
  | { action: "filter"; text: string }
  | { action: "next" }
  | { action: "prev" }
  | { action: "sort"; column: string; descending: boolean }
  | { action: "select"; ids: string[]; on: boolean }
  | { action: "select_all" }
  | { action: "clear" }
  | { action: "open"; trace_id: string }
  | { action: "compare" }
  | { action: "list_datasets" }
  | { action: "add_to_dataset"; name: string };
