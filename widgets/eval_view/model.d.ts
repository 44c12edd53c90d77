// The evaluation grid's contract with its Python side (mlflow_magics/views/eval_widget.py).
// tests/test_widget_contracts.py checks these names against the widget's traits and actions.
import type { Content } from "../lib/content";

/** [kind, label, rationale, error]; kind is pass | fail | number | text | error | missing. */
export type Verdict = [string, string, string | null, string | null];

export interface Model {
  /** Progress of the run. */
  header: {
    status?: "running" | "done" | "interrupted" | "failed";
    done?: number;
    total?: number | null;
    elapsed?: number;
    run_id?: string | null;
    run_name?: string | null;
    run_url?: string | null;
    data?: string;
    shown?: number;
    workers?: number | null;
  };
  /** Summary per scorer over the rows so far. */
  scorers: { name: string; text: string; mean?: number | null; passed?: number; failed?: number; errors?: number }[];
  /** Scored records in the order they finished (bounded previews). */
  rows: {
    i: number;
    trace_id?: string | null;
    inputs: string;
    outputs: string;
    /** The record as a conversation, when its request or response reads as chat. */
    content?: Content;
    error?: string | null;
    v: Record<string, Verdict>;
  }[];
  /** One sentence about the run or the last action. */
  note: string;
  /** One sentence when the last action failed, else "". */
  error: string;
}

export type Action = { action: "open"; trace_id: string } | { action: "failing_to_dataset"; name: string };
