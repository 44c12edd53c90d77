// GenAI content: what mlflow_magics/content.py reads out of spans and traces, the same shape in
// every tier (the widgets render it with lib/content_view.js; the static HTML and text tiers with
// mlflow_magics/views/content_view.py). Every field is optional unless marked; every string is
// untrusted (message text is markdown source, rendered safely, never as HTML).

/** A tool call a model made, paired with the result the app sent back. */
export interface ToolCall {
  id?: string;
  name: string;
  /** The arguments as pretty-printed JSON (2-space indent) when they parse, else as sent. */
  arguments: string;
  /** The tool's result (pretty JSON or text) when the conversation holds it. */
  result?: string;
  /** The result came from a failed tool call. */
  error?: boolean;
}

/** One chat message, normalized from OpenAI chat/Responses, LangChain, LlamaIndex, DSPy,
 * Anthropic, Gemini, ChatAgent and ResponsesAgent shapes. */
export interface Message {
  /** "system" | "developer" | "user" | "assistant" | "tool" | anything a library wrote. */
  role: string;
  /** The text, markdown source ("" when the message is only tool calls). */
  text: string;
  name?: string;
  tool_calls?: ToolCall[];
  /** For a "tool" message that no tool call above claimed: the call it answers. */
  tool_call_id?: string;
  /** A reasoning summary (folded by default). */
  reasoning?: string;
}

/** One retrieved document. */
export interface Document {
  text: string;
  /** doc_uri / source / url, when the document has one. */
  uri?: string;
  id?: string;
  score?: number;
  /** The rest of its metadata (small values only). */
  metadata?: Record<string, unknown>;
}

export interface Usage {
  input_tokens?: number;
  output_tokens?: number;
  total_tokens?: number;
}

export interface Cost {
  input_cost?: number;
  output_cost?: number;
  total_cost?: number;
}

/** A span's content. `kind` says which of the fields below matter most. */
export interface Content {
  /** Required. "chat": messages; "retrieval": query + documents; "tool": one tool call;
   * "text": plain text in and out; "other": nothing recognized (raw JSON only). */
  kind: "chat" | "retrieval" | "tool" | "text" | "other";
  /** The library shape it was read from: "openai", "openai-responses", "langchain",
   * "llamaindex", "dspy", "anthropic", "gemini", "chat-agent", "responses-agent", ... */
  format?: string;
  model?: string;
  provider?: string;
  /** The conversation sent, oldest first. */
  input_messages?: Message[];
  /** What came back, oldest first (assistant text and tool calls). */
  output_messages?: Message[];
  /** How many older input messages were left out to stay within the size cap (newest kept). */
  messages_cut?: number;
  /** Tools offered to the model. */
  tools?: { name: string; description?: string }[];
  /** For a TOOL span: the call itself (arguments = the span's inputs, result = its outputs). */
  tool_call?: ToolCall;
  /** For a RETRIEVER span: the query and what came back. */
  query?: string;
  documents?: Document[];
  /** For "text": the input and output text. */
  input_text?: string;
  output_text?: string;
  /** This span's own usage and cost (as the span recorded them). */
  usage?: Usage;
  cost?: Cost;
}

/** One assessment on a trace (MLflow Feedback or Expectation). */
export interface Assessment {
  /** Required. */
  id: string;
  /** Required. */
  name: string;
  /** Required. */
  kind: "feedback" | "expectation";
  /** The value as JSON-compatible data (true/false, "yes"/"no", a number, text, a list...). */
  value: unknown;
  rationale?: string;
  /** The scorer failed: its error message (value is then null). */
  error?: string;
  /** "HUMAN" | "LLM_JUDGE" | "CODE" */
  source_type: string;
  /** Who or what: a user name, a judge's model URI, a scorer name. */
  source_id?: string;
  /** Last update, ms since the epoch. */
  time_ms?: number;
  /** The span it is attached to, when not the whole trace. */
  span_id?: string;
  /** The evaluation run that logged it, when one did. */
  run_id?: string;
}
