// The dataset grid's contract with its Python side (mlflow_magics/views/dataset_widget.py).
// tests/test_widget_contracts.py checks these names against the widget's traits and actions.

export interface Record {
  id: string;
  inputs: string;
  outputs: string;
  source_trace?: string | null;
  expected_response: string;
  expected_facts: string[];
  guidelines: string[];
  other?: string;
}

export interface Fields {
  expected_response?: string;
  expected_facts?: string[];
  guidelines?: string[];
}

export interface Model {
  /** One page of records with bounded previews. */
  page: { name?: string; rows?: Record[]; page?: number; pages?: number; total?: number; start?: number };
  /** Edits the store did not take yet, kept until saved: {record_id: {fields, reason}}. */
  unsaved: { [record_id: string]: { fields: Fields; reason: string } };
  /** One sentence about the last action. */
  note: string;
  /** One sentence when the last action failed, else "". */
  error: string;
}

export type Action =
  | { action: "save"; record_id: string; fields: Fields }
  | { action: "retry" }
  | { action: "next" }
  | { action: "prev" }
  | { action: "open"; trace_id: string };
