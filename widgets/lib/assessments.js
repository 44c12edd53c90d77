// Assessments on a trace (MLflow Feedback and Expectations): the list, and the form that adds
// one. The data is an Assessment (./content.d.ts); a yes/no/true/false value reads as pass or
// fail, a number plainly, anything else through the JSON viewer. The form only builds the
// action; the widget sends it and Python parses the value ("true", "0.8", "[1, 2]" become
// JSON values there) and refreshes the list.

import { field, h, option, show } from "./dom.js";
import { dateTime } from "./format.js";
import { jsonView } from "./json.js";
import { markdownBlock } from "./markdown.js";
import { printable } from "./text.js";

/** @typedef {import("./content").Assessment} Assessment */
/** @typedef {{action: "add_assessment", kind: "feedback" | "expectation", name: string, value: string, rationale?: string}} AddAssessment */

// as mlflow_magics/content.py reads them
const PASS = new Set(["yes", "true", "pass", "passed", "correct", "1"]);
const FAIL = new Set(["no", "false", "fail", "failed", "incorrect", "0"]);

/** How a value reads as a verdict: "pass", "fail", or null when it is not a yes/no. @param {unknown} value */
export function verdict(value) {
  if (typeof value === "boolean") return value ? "pass" : "fail";
  if (typeof value !== "string") return null;
  const v = value.trim().toLowerCase();
  return PASS.has(v) ? "pass" : FAIL.has(v) ? "fail" : null;
}

/** Who made an assessment, in words. @param {string} type */
export function sourceLabel(type) {
  const t = String(type || "").toUpperCase();
  return t === "HUMAN" ? "human" : t === "LLM_JUDGE" ? "LLM judge" : t === "CODE" ? "code" : printable(type || "unknown source").toLowerCase();
}

/** An assessment's value: a pass/fail mark, a plain number or short text, else the JSON viewer. @param {unknown} value */
export function assessmentValue(value) {
  const v = verdict(value);
  if (v) return h("span", `mlfm-verdict ${v}`, `${v === "pass" ? "✓" : "✗"} ${printable(String(value))}`);
  if (typeof value === "number") return h("span", "mlfm-asval num", String(value));
  if (value === null || value === undefined) return h("span", "mlfm-asval mlfm-dim", "no value");
  if (typeof value === "string" && value.length <= 120 && !value.includes("\n")) return h("span", "mlfm-asval", printable(value));
  const box = h("div", "mlfm-asval");
  box.append(jsonView(value, { open: 1 }));
  return box;
}

/**
 * The assessments, newest information as Python sent it: name, value, rationale (markdown,
 * folded when long), source, time, span, error.
 * @param {Assessment[]} list
 * @param {{spanName?: (spanId: string) => string | undefined}} [opts] names a span an assessment is attached to
 */
export function assessmentList(list, { spanName } = {}) {
  const ul = h("ul", "mlfm-aslist");
  if (!list.length) {
    ul.append(h("li", "mlfm-dim mlfm-asnone", "No assessments yet."));
    return ul;
  }
  for (const a of list) {
    const li = h("li", `mlfm-as kind-${a.kind === "expectation" ? "expectation" : "feedback"}${a.error ? " err" : ""}`);
    li.dataset.id = a.id;
    const head = h("div", "mlfm-ashead");
    head.append(h("b", "mlfm-asname", printable(a.name)));
    if (a.kind === "expectation") head.append(h("span", "mlfm-askind", "expectation"));
    if (!a.error || (a.value !== null && a.value !== undefined)) head.append(assessmentValue(a.value));
    li.append(head);
    if (a.error) li.append(h("div", "mlfm-error mlfm-aserr", printable(a.error)));
    if (a.rationale) li.append(markdownBlock(a.rationale, { lines: 4, cls: "mlfm-asrat" }));
    const meta = h("div", "mlfm-dim mlfm-asmeta");
    const by = sourceLabel(a.source_type);
    meta.append(h("span", "mlfm-assrc", a.source_id ? `${by} · ${printable(a.source_id)}` : by));
    if (a.time_ms) meta.append(h("span", "mlfm-astime", dateTime(a.time_ms)));
    if (a.span_id) {
      const name = spanName && spanName(a.span_id);
      meta.append(h("span", "mlfm-asspan", `on span ${printable(name || a.span_id)}`));
    }
    if (a.run_id) meta.append(h("span", "mlfm-asrun", `run ${printable(a.run_id)}`));
    li.append(meta);
    ul.append(li);
  }
  return ul;
}

let forms = 0;

/**
 * The "Add an assessment" form: kind, name, value, rationale (feedback only). Submitting
 * calls `submit` with the action; its reply's `error`, if any, shows under the form and keeps
 * what was typed; success clears the form and calls `onAdded`. An empty name or value is
 * refused here, in one sentence.
 * @param {(msg: AddAssessment) => Promise<{error?: string}>} submit
 * @param {{onAdded?: (name: string) => void, onCancel?: () => void}} [opts]
 */
export function assessmentForm(submit, { onAdded, onCancel } = {}) {
  const uid = `mlfm-asf-${++forms}`;
  const form = h("form", "mlfm-asform");
  form.noValidate = true;
  form.setAttribute("aria-label", "Add an assessment");
  /** @param {string} text @param {HTMLElement} control */
  const labelled = (text, control) => {
    const lab = h("label", "mlfm-asfield");
    lab.append(h("span", "mlfm-aslabel", text), control);
    return lab;
  };
  const kind = h("select", "mlfm-askindsel");
  kind.append(option("feedback", "feedback"), option("expectation", "expectation"));
  const name = field("input", "mlfm-asnamein", "name, e.g. correctness");
  const value = field("input", "mlfm-asvaluein", "value: yes, no, true, 0.8, text…");
  const rationale = /** @type {HTMLTextAreaElement} */ (field("textarea", "mlfm-asratin", "why (optional)"));
  rationale.rows = 2;
  const rationaleField = labelled("Rationale", rationale);
  const error = h("div", "mlfm-error mlfm-asformerr");
  error.id = `${uid}-err`;
  error.setAttribute("role", "alert");
  for (const input of [name, value, rationale]) input.setAttribute("aria-describedby", error.id);
  const submitBtn = h("button", "mlfm-assubmit", "Add");
  submitBtn.type = "submit";
  const cancel = h("button", "mlfm-ascancel", "Cancel");
  cancel.type = "button";
  cancel.addEventListener("click", () => {
    error.textContent = "";
    if (onCancel) onCancel();
  });
  const actions = h("div", "mlfm-asbtns");
  actions.append(submitBtn, cancel);
  form.append(labelled("Kind", kind), labelled("Name", name), labelled("Value", value), rationaleField, actions, error);
  kind.addEventListener("change", () => show(rationaleField, kind.value === "feedback"));

  form.addEventListener("submit", (ev) => {
    ev.preventDefault(); // a form's default is to load a page
    const n = name.value.trim();
    const v = value.value.trim();
    if (!n) {
      error.textContent = "Give the assessment a name.";
      name.focus();
      return;
    }
    if (!v) {
      error.textContent = "Give the assessment a value, e.g. yes, no or a number.";
      value.focus();
      return;
    }
    const k = kind.value === "expectation" ? "expectation" : "feedback";
    /** @type {AddAssessment} */
    const msg = { action: "add_assessment", kind: k, name: n, value: v };
    const why = rationale.value.trim();
    if (k === "feedback" && why) msg.rationale = why;
    error.textContent = "";
    submitBtn.disabled = true;
    submit(msg).then(
      (reply) => {
        submitBtn.disabled = false;
        if (reply && reply.error) {
          error.textContent = printable(reply.error);
          return;
        }
        name.value = value.value = rationale.value = "";
        if (onAdded) onAdded(n);
      },
      (err) => {
        submitBtn.disabled = false;
        error.textContent = printable(`Could not add the assessment: ${err}`);
      },
    );
  });
  return { form, focus: () => name.focus() };
}
