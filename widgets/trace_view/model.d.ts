// The trace view's contract with its Python side (mlflow_magics/views/trace_widget.py).
// tests/test_widget_contracts.py checks these names against the widget's synced traits.

import type { Assessment, Content } from "../lib/content";

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
  /** The span's GenAI content (messages, tool call, documents, text), or null when none was
   * recognized; drawn as cards above the raw inputs and outputs. */
  content?: Content | null;
  inputs?: Payload;
  outputs?: Payload;
  /** The span's own attributes (JSON object text). */
  attributes?: Payload;
  /** MLflow's `mlflow.*` bookkeeping attributes (JSON object text), shown folded away. */
  internal_attributes?: Payload;
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
    /** Why the trace can't be trusted whole (MLflow holds it only in part, it never ended). */
    problem?: string | null;
    /** Rows of spans that never ended (their status column says "UNENDED"). */
    unended?: number[];
    /** The app's request: its last user message (a one-line "Q: …" in the header). */
    request_text?: string;
    /** The app's response text (a one-line "A: …" in the header). */
    response_text?: string;
  };
  /** The span whose details are shown; set by a click, a tree key or select(). */
  selected_span_id: string;
  /** Python's answer to selected_span_id. */
  _detail: Detail;
  /** The search box's text. */
  query: string;
  /** The span type picked in the type filter ("" for all). */
  span_type_filter: string;
  /** Python's answer to `query`: rows whose name, type, inputs, outputs or attributes contain
   * it, and where each matched (`where[k]` is about `rows[k]`). */
  _matches: { query?: string; rows?: number[]; where?: ("name" | "type" | "inputs" | "outputs" | "attributes")[]; capped?: boolean };
  /** The trace's assessments (feedback and expectations), refreshed after add_assessment. */
  assessments: Assessment[];
  /** One sentence when the last action failed, else "" (the Add form shows it). */
  error: string;
}

/** The one message the view sends; Python answers {done, id, error} and then refreshes
 * `assessments`. `value` is as typed: Python reads true/false/numbers/JSON out of it. */
export type Action = { action: "add_assessment"; kind: "feedback" | "expectation"; name: string; value: string; rationale?: string };
