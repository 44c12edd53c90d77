// The dataset grid's contract with its Python side (mlflow_magics/views/dataset_widget.py).
// tests/test_widget_contracts.py checks these names against the widget's traits and actions.

export interface Record {
  id: string;
  /** Digest of the record's expectations as stored: a save based on another is refused. */
  version?: string;
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

/** An edit refused because its record changed in the store since the grid drew it. */
export interface Conflict {
  /** The edit: only the fields the user changed. */
  fields: Fields;
  /** The values the edit was based on. */
  drawn: Fields;
  /** The store's values now. */
  current: Required<Fields>;
  reason: string;
}

export type Edit = {
  record_id: string;
  /** Only the fields the user changed; an empty one removes that expectation. */
  fields: Fields;
  /** The record's version when the editing began. */
  version: string;
  /** The record's values when the editing began. */
  drawn: Fields;
};

export interface Model {
  /** One page of records with bounded previews. */
  page: { name?: string; rows?: Record[]; page?: number; pages?: number; total?: number; start?: number };
  /** Edits the store did not take yet, kept until saved: {record_id: {fields, reason}}. */
  unsaved: { [record_id: string]: { fields: Fields; reason: string } };
  /** Edits refused because their record changed in the store: kept until settled. */
  conflicts: { [record_id: string]: Conflict };
  /** One sentence about the last action. */
  note: string;
  /** One sentence when the last action failed, else "". */
  error: string;
}

export type Action =
  | ({ action: "save" } & Edit)
  | { action: "save_all"; edits: Edit[] }
  | { action: "resolve"; record_id: string; choice: "overwrite" | "merge" | "discard"; fields?: Fields }
  | { action: "retry" }
  | { action: "next" }
  | { action: "prev" }
  | { action: "open"; trace_id: string };
