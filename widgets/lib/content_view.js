// GenAI content as cards: chat messages by role, tool calls with their results, retrieved
// documents as rows, text in and out, and the model/usage/cost line. The data is a Content
// (./content.d.ts), read out of spans by mlflow_magics/content.py; the static HTML tier draws
// the same cards (mlflow_magics/views/content_view.py). Used by the trace view and, later, the
// grids that show chat records.
//
// (This is content_view.js, not content.js: TypeScript would read content.d.ts as the types
// of a content.js beside it.)
//
// Every string is untrusted: message text goes through ./markdown.js, everything else in as
// text; control and bidi characters are made visible.

import { foldable, h, link } from "./dom.js";
import { cost as fmtCost } from "./format.js";
import { markdownBlock } from "./markdown.js";
import { longText, printable } from "./text.js";

export { assessmentList } from "./assessments.js";

/** @typedef {import("./content").Content} Content */
/** @typedef {import("./content").Message} Message */
/** @typedef {import("./content").ToolCall} ToolCall */
/** @typedef {import("./content").Document} Doc */

/** The styling family of a role: system, user, assistant, tool or other. @param {string} role */
export function roleKind(role) {
  const r = String(role || "").toLowerCase();
  if (r === "system" || r === "developer") return "system";
  if (r === "user" || r === "human") return "user";
  if (r === "assistant" || r === "ai" || r === "model" || r === "bot") return "assistant";
  if (r === "tool" || r === "function" || r === "ipython") return "tool";
  return "other";
}

/** "assistant" → "Assistant". @param {string} role */
function roleLabel(role) {
  const r = printable(role || "unknown");
  return r.charAt(0).toUpperCase() + r.slice(1);
}

/**
 * Monospace text (arguments, results), folded past `lines` lines. Shown as is: the Python
 * side already pretty-printed it.
 * @param {string} cls @param {unknown} text @param {number} [lines]
 */
export function codeBlock(cls, text, lines = 12) {
  const s = printable(text);
  const pre = h("pre", `mlfm-code ${cls}`, s);
  return foldable(pre, longText(s, lines), lines);
}

/**
 * One tool call: its name, its arguments and, under them, its result (an error result styled
 * as an error).
 * @param {ToolCall} call @param {{label?: string}} [opts] label: "Tool call" (in a message) or "Tool" (a tool span)
 */
export function toolCard(call, { label = "Tool call" } = {}) {
  const card = h("div", `mlfm-toolcard${call.error ? " err" : ""}`);
  const head = h("div", "mlfm-toolhead");
  head.append(h("span", "mlfm-toollabel", label), h("b", "mlfm-toolname", printable(call.name || "?")));
  if (call.id) head.append(h("span", "mlfm-id mlfm-toolid", printable(call.id)));
  card.append(head);
  const args = h("div", "mlfm-toolsec mlfm-toolargs");
  args.append(h("div", "mlfm-toolsub", "Arguments"));
  if (call.arguments && call.arguments !== "{}") args.append(codeBlock("mlfm-args", call.arguments));
  else args.append(h("span", "mlfm-dim", "none"));
  card.append(args);
  if (call.result !== undefined && call.result !== null) {
    const res = h("div", `mlfm-toolsec mlfm-toolres${call.error ? " err" : ""}`);
    res.append(h("div", "mlfm-toolsub", call.error ? "Error" : "Result"), codeBlock("mlfm-result", call.result));
    card.append(res);
  }
  return card;
}

/** One message card: role label, reasoning (folded), text as markdown, tool calls. @param {Message} m */
export function messageCard(m) {
  const kind = roleKind(m.role);
  const card = h("div", `mlfm-msg role-${kind}`);
  card.dataset.role = kind;
  const head = h("div", "mlfm-msghead");
  head.append(h("span", "mlfm-role", roleLabel(m.role)));
  if (m.name) head.append(h("span", "mlfm-msgname", printable(m.name)));
  if (m.tool_call_id) head.append(h("span", "mlfm-id", `answers ${printable(m.tool_call_id)}`));
  card.append(head);
  if (m.reasoning) {
    const det = h("details", "mlfm-reasoning");
    det.append(h("summary", "", "Reasoning"), markdownBlock(m.reasoning, { lines: 30 }));
    card.append(det);
  }
  const calls = m.tool_calls || [];
  if (m.text) card.append(markdownBlock(m.text, { cls: "mlfm-msgtext" }));
  else if (!calls.length && !m.reasoning) card.append(h("div", "mlfm-dim mlfm-msgtext", "(empty)"));
  for (const call of calls) card.append(toolCard(call));
  return card;
}

/**
 * Message cards, oldest first, after "N earlier messages not shown" when `cut`.
 * @param {Message[]} messages @param {{cut?: number}} [opts]
 */
export function messageCards(messages, { cut = 0 } = {}) {
  const list = h("div", "mlfm-msgs");
  if (cut > 0) list.append(h("div", "mlfm-dim mlfm-msgcut", `${cut.toLocaleString()} earlier message${cut === 1 ? "" : "s"} not shown`));
  for (const m of messages) list.append(messageCard(m));
  return list;
}

/** A metadata value as short text. @param {unknown} v */
function short(v) {
  const s = typeof v === "string" ? v : JSON.stringify(v) ?? String(v);
  const t = printable(s);
  return t.length > 80 ? `${t.slice(0, 79)}…` : t;
}

/** Retrieved documents as rows: index, uri (a link when http(s)), score, text folded to a few lines, metadata chips. @param {Doc[]} docs */
export function documentRows(docs) {
  const list = h("ol", "mlfm-docs");
  docs.forEach((d, i) => {
    const li = h("li", "mlfm-doc");
    const head = h("div", "mlfm-dochead");
    head.append(h("span", "mlfm-docn", `#${i + 1}`));
    if (d.uri) head.append(link(d.uri));
    else if (d.id) head.append(h("span", "mlfm-id", printable(d.id)));
    if (typeof d.score === "number") head.append(h("span", "mlfm-score", `score ${Number(d.score.toPrecision(3))}`));
    li.append(head);
    const text = printable(d.text);
    if (text) li.append(foldable(h("div", "mlfm-doctext", text), longText(text, 4), 4));
    else li.append(h("div", "mlfm-dim mlfm-doctext", "(no text)"));
    const meta = Object.entries(d.metadata || {});
    if (d.uri && d.id) meta.unshift(["id", d.id]);
    if (meta.length) {
      const chips = h("div", "mlfm-docmeta");
      for (const [k, v] of meta) {
        const chip = h("span", "mlfm-kv", `${printable(k)}=${short(v)}`);
        chip.title = `${printable(k)} = ${printable(typeof v === "string" ? v : JSON.stringify(v))}`;
        chips.append(chip);
      }
      li.append(chips);
    }
    list.append(li);
  });
  return list;
}

/** A labelled text block ("Input", "Output", "Query") rendered as markdown. @param {string} label @param {unknown} text @param {string} [cls] */
export function textBlock(label, text, cls = "") {
  const sec = h("div", `mlfm-textblock${cls ? ` ${cls}` : ""}`);
  sec.append(h("div", "mlfm-csub", label), markdownBlock(text));
  return sec;
}

/**
 * Model, provider, tokens (in/out/total) and cost as one line of chips; null when there is
 * none of them.
 * @param {Pick<Content, "model" | "provider" | "usage" | "cost" | "format">} c
 */
export function usageChips(c) {
  const line = h("div", "mlfm-cmeta");
  /** @param {string} name @param {string} value @param {string} [title] */
  const chip = (name, value, title) => {
    const el = h("span", "mlfm-chip mlfm-cchip");
    el.append(h("span", "mlfm-dim", `${name} `), h("span", "", value));
    if (title) el.title = title;
    line.append(el);
  };
  if (c.model) chip("model", printable(c.model), c.format ? `read as ${printable(c.format)}` : undefined);
  if (c.provider) chip("provider", printable(c.provider));
  const u = c.usage || {};
  const parts = [];
  if (typeof u.input_tokens === "number") parts.push(`in ${u.input_tokens.toLocaleString()}`);
  if (typeof u.output_tokens === "number") parts.push(`out ${u.output_tokens.toLocaleString()}`);
  const total = u.total_tokens ?? (parts.length ? (u.input_tokens || 0) + (u.output_tokens || 0) : undefined);
  if (typeof total === "number") parts.push(`total ${total.toLocaleString()}`);
  if (parts.length) chip("tokens", parts.join(" · "));
  const k = c.cost || {};
  const totalCost = k.total_cost ?? (k.input_cost !== undefined || k.output_cost !== undefined ? (k.input_cost || 0) + (k.output_cost || 0) : undefined);
  if (typeof totalCost === "number") {
    const split = [k.input_cost !== undefined ? `input ${fmtCost(k.input_cost)}` : "", k.output_cost !== undefined ? `output ${fmtCost(k.output_cost)}` : ""].filter(Boolean);
    chip("cost", fmtCost(totalCost), split.join(" · ") || undefined);
  }
  return line.childElementCount ? line : null;
}

/** "Tools offered: a, b" with each description as its tooltip. @param {{name: string, description?: string}[]} tools */
function toolsOffered(tools) {
  const line = h("div", "mlfm-tools-offered");
  line.append(h("span", "mlfm-dim", `Tool${tools.length === 1 ? "" : "s"} offered: `));
  for (const t of tools) {
    const chip = h("span", "mlfm-kv", printable(t.name));
    if (t.description) chip.title = printable(t.description);
    line.append(chip);
  }
  return line;
}

/**
 * A span's content as cards: the usage line, then by kind — chat: input messages, a
 * "Response" divider, output messages; retrieval: the query and the documents; tool: one tool
 * card; text: input and output text. Null when there is nothing to show; class `meta-only`
 * when only the usage line is (kind "other" with usage): either way the caller shows the raw
 * JSON in the open instead.
 * @param {Content | null | undefined} content
 * @returns {HTMLElement | null}
 */
export function contentView(content) {
  if (!content || typeof content !== "object") return null;
  const box = h("div", `mlfm-content kind-${content.kind}`);
  const meta = usageChips(content);
  if (meta) box.append(meta);
  const before = box.childElementCount;
  if (content.kind === "chat") {
    if (content.tools && content.tools.length) box.append(toolsOffered(content.tools));
    const input = content.input_messages || [];
    const output = content.output_messages || [];
    if (input.length || content.messages_cut) box.append(messageCards(input, { cut: content.messages_cut || 0 }));
    if (output.length) {
      const divider = h("div", "mlfm-divider");
      divider.setAttribute("role", "separator");
      divider.append(h("span", "", "Response"));
      box.append(divider, messageCards(output));
    }
  } else if (content.kind === "retrieval") {
    if (content.query) box.append(textBlock("Query", content.query, "mlfm-query"));
    const docs = content.documents || [];
    const sec = h("div", "mlfm-docsec");
    sec.append(h("div", "mlfm-csub", `Documents (${docs.length.toLocaleString()})`));
    sec.append(docs.length ? documentRows(docs) : h("div", "mlfm-dim", "No documents came back."));
    box.append(sec);
  } else if (content.kind === "tool") {
    if (content.tool_call) box.append(toolCard(content.tool_call, { label: "Tool" }));
  } else if (content.kind === "text") {
    if (content.input_text) box.append(textBlock("Input", content.input_text, "mlfm-intext"));
    if (content.output_text) box.append(textBlock("Output", content.output_text, "mlfm-outtext"));
  }
  if (!box.childElementCount) return null;
  // only the usage line: the caller still shows the inputs and outputs in the open
  box.classList.toggle("meta-only", box.childElementCount === before);
  return box;
}
