// The trace view's contract with its Python side (mlflow_magics/views/trace_widget.py).
// tests/test_widget_contracts.py checks these names against the widget's synced traits.

export interface SpanColumns {
  id: string[];
  /** Row index of each span's parent, -1 for a root; rows are in depth-first order. */
  parent: number[];
  name: string[];
  type: string[];
  status: string[];
  /** Milliseconds from the trace's start. */
  start: number[];
  dur: number[];
  tokens: number[];
  cost?: number[];
}

export interface Payload {
  text: string;
  size: number;
  truncated: boolean;
}

export interface Detail {
  span_id: string;
  name?: string;
  type?: string;
  status?: string;
  status_message?: string;
  duration_ms?: number;
  inputs?: Payload;
  outputs?: Payload;
  attributes?: Payload;
  events?: { name: string; time_ns: number; attributes: Payload }[];
  event_count?: number;
  exception?: { type: string; message: string; stacktrace?: string } | null;
  error?: string;
}

export interface Model {
  /** Trace facts and span columns in depth-first order (sent once). */
  trace: {
    trace_id: string;
    name: string;
    status: string;
    duration_ms: number;
    tokens?: { total_tokens?: number; input_tokens?: number; output_tokens?: number } | null;
    cost?: number;
    span_count: number;
    spans: SpanColumns;
  };
  /** The span whose details are shown; set by a click, a tree key or select(). */
  selected_span_id: string;
  /** Python's answer to selected_span_id. */
  _detail: Detail;
  /** The search box's text. */
  query: string;
  /** The span type picked in the type filter ("" for all). */
  span_type_filter: string;
  /** Python's answer to `query`: rows whose name, type, inputs or outputs contain it. */
  _matches: { query?: string; rows?: number[]; capped?: boolean };
}

/** The trace view sends no messages: it writes traits. */
export type Action = never;
