// The chat panel's contract with its Python side (mlflow_magics/views/chat_widget.py).
// tests/test_widget_contracts.py checks these names against the widget's traits and actions.
import type { ToolCall } from "../lib/content";

/** One turn: the user's message and the agent's answer. Every string is untrusted. */
export interface Turn {
  /** Its index in the chat (0 is the first turn). */
  i: number;
  /** What the user sent. */
  user: string;
  /** The answer's text, markdown source (as far as it came while streaming or when stopped). */
  text: string;
  tool_calls: ToolCall[];
  /** A reasoning summary, folded. */
  reasoning: string;
  status: "streaming" | "done" | "stopped" | "error";
  /** The agent's error message, "" when it did not fail. */
  error: string;
  /** The turn's trace ("" when it could not be traced). */
  trace_id: string;
  /** Seconds the answer took; null while it streams. */
  elapsed: number | null;
  /** Text deltas received so far. */
  deltas: number;
  /** The 👍 / 👎 recorded on the turn's trace. */
  feedback: { value: boolean; comment: string | null } | null;
}

export interface Model {
  header: {
    title: string;
    agent: string;
    kind: "responses" | "chat" | "function";
    session_id: string;
    user: string;
    /** Whether answers stream (predict_stream) or come whole. */
    stream: boolean;
    /** Turns in the chat, the streaming one included. */
    turns: number;
    /** Earlier finished turns the panel does not hold (chat.turns has them). */
    cut: number;
  };
  /** The newest finished turns, oldest first. */
  turns: Turn[];
  /** The turn whose answer is streaming; {} when none is (synced at most 30 times a second). */
  live: Turn | Record<string, never>;
  /** What the last action did. */
  note: string;
  /** One sentence when the last action failed, else "". */
  error: string;
}

export type Action =
  | { action: "send"; text: string }
  | { action: "stop" }
  | { action: "feedback"; turn: number; value: boolean; comment?: string }
  | { action: "open"; trace_id: string };
