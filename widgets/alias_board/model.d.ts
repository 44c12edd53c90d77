// The alias board's contract with its Python side (mlflow_magics/views/alias_board_widget.py).
// tests/test_widget_contracts.py checks these names against the widget's traits and actions.

export interface Move {
  before: number | null;
  after: number | null;
  user: string;
  time: string;
  forced: boolean;
  gate: boolean;
  undo: boolean;
  text: string;
}

export interface Version {
  n: number;
  message: string;
  author: string;
  time: string;
  preview: string;
  template: string;
  config: string;
  run_id: string;
  metrics: [string, string | number][];
}

export interface Model {
  /** The board (one prompt or model), or a listing of the registry (name null). */
  board: {
    kind?: "prompt" | "model";
    name?: string | null;
    description?: string;
    latest?: number | null;
    aliases?: { [alias: string]: number };
    versions?: Version[];
    history?: { [alias: string]: Move[] };
    listing?: { name: string; description: string; latest: number | null; aliases: { [alias: string]: number } }[];
    more?: number;
  };
  /** The change waiting for Confirm, or {}. */
  pending: { alias?: string; before?: number | null; after?: number | null; action?: string; text?: string };
  /** The version diff shown, or {}. */
  diff: { a?: number; b?: number; lines?: [string, string][]; more?: number; settings?: [string, string, string][]; same?: boolean };
  /** One sentence about the last action. */
  note: string;
  /** One sentence when the last action was refused, else "". */
  error: string;
}

/** Nothing moves until Confirm: move, delete and undo only ask Python to plan the change. */
export type Action =
  | { action: "open"; name: string }
  | { action: "refresh" }
  | { action: "diff"; a: number; b: number }
  | { action: "move"; alias: string; version: number; gate: boolean; force: boolean }
  | { action: "delete"; alias: string }
  | { action: "undo"; alias: string }
  | { action: "confirm" }
  | { action: "cancel" };
