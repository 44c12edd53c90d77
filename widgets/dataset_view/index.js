// Dataset grid: one page of evaluation-dataset records, expectations edited in place.
//
// The contract with Python is ./model.d.ts. Saves, "Save all", settling a refused edit,
// retries, paging and opening a source trace are action messages. A save sends only the
// fields the user changed, with the record's version and the values the grid drew when the
// editing began: Python refuses it if the record changed in the store since, and the row then
// shows the store's values beside the user's, with Overwrite / Merge / Discard. An edit the
// store did not take stays in `unsaved` with the reason, and an edit typed but not saved
// survives re-renders of the page (it is only dropped by a save that took it, or by Discard).
// Every value from a record is untrusted: it reaches the DOM through textContent / .value only.

import { button, h, plural, show } from "../lib/dom.js";
import { widget } from "../lib/widget.js";
import { emptyRow } from "../lib/table.js";
import "./style.css";

/** Text of a list field, one item per line. @param {unknown} value */
export function asText(value) {
  return Array.isArray(value) ? value.join("\n") : String(value ?? "");
}

/** The items of a one-per-line field: trimmed, blank lines dropped. @param {string} text */
export function lines(text) {
  return text
    .split("\n")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** @typedef {import("./model").Fields} Fields */
/** @typedef {{fields: Required<Fields>, version: string, drawn: Required<Fields>}} Draft */

const FIELDS = /** @type {const} */ (["expected_response", "expected_facts", "guidelines"]);
const LABELS = { expected_response: "expected response", expected_facts: "expected facts", guidelines: "guidelines" };

/** The editable values of a row as drawn. @param {import("./model").Record} r @returns {Required<Fields>} */
export function drawnOf(r) {
  return { expected_response: r.expected_response ?? "", expected_facts: [...(r.expected_facts || [])], guidelines: [...(r.guidelines || [])] };
}

/**
 * The fields of `fields` that differ from `drawn` (what a save sends: only the user's changes).
 * @param {Required<Fields>} fields @param {Required<Fields>} drawn @returns {Fields}
 */
export function changedFields(fields, drawn) {
  /** @type {Record<string, unknown>} */
  const out = {};
  for (const k of FIELDS) if (JSON.stringify(fields[k]) !== JSON.stringify(drawn[k])) out[k] = fields[k];
  return /** @type {Fields} */ (out);
}

/** One field's value for the refused edit's panel: a list an item per line. @param {string} who @param {unknown} v */
function valueCell(who, v) {
  const dd = h("dd", who === "store now" ? "mlfm-ds-theirs" : "mlfm-ds-mine");
  dd.append(h("span", "mlfm-ds-who", `${who}: `));
  const items = Array.isArray(v) ? v : v === "" || v === undefined || v === null ? [] : [v];
  if (!items.length) dd.append(h("span", "mlfm-ds-val mlfm-ds-none", "(none)"));
  for (const item of items) dd.append(h("span", "mlfm-ds-val", item));
  return dd;
}

/** @param {string} cls @param {string} value @param {string} placeholder */
function editor(cls, value, placeholder) {
  const area = h("textarea", `mlfm-ds-edit ${cls}`);
  area.value = value;
  area.placeholder = placeholder;
  area.setAttribute("aria-label", placeholder);
  area.rows = Math.min(6, Math.max(2, value.split("\n").length));
  return area;
}

const COLUMNS = ["Inputs", "Outputs", "Expected response", "Expected facts (one per line)", "Guidelines (one per line)", "Source trace"];

/** @type {import("@anywidget/types").Render<import("./model").Model>} */
function render({ model, el }) {
  const view = widget(model, el, "mlfm-ds-w");
  const root = view.root;
  /** @param {import("./model").Action} msg */
  const send = (msg) => view.send(msg);

  const head = h("div", "mlfm-dim mlfm-ds-head");
  const { note, error, render: renderNote } = view.status("mlfm-ds");
  const retryBar = h("div", "mlfm-ds-retrybar");
  const retryText = h("span", "mlfm-ds-retrytext");
  retryBar.append(retryText, button("mlfm-ds-retry", "Retry unsaved", () => send({ action: "retry" })));
  const wrap = h("div", "mlfm-scroll mlfm-ds-scroll");
  const table = h("table", "mlfm-grid mlfm-ds-table");
  const headRow = h("tr");
  for (const label of COLUMNS) headRow.append(h("th", "", label));
  headRow.append(h("th", "mlfm-act", ""));
  const thead = h("thead");
  thead.append(headRow);
  const tbody = h("tbody");
  table.append(thead, tbody);
  wrap.append(table);
  const foot = h("div", "mlfm-foot mlfm-ds-foot");
  const prev = button("mlfm-ds-prev", "‹ Prev", () => send({ action: "prev" }));
  const pageNo = h("span", "mlfm-ds-page");
  const next = button("mlfm-ds-next", "Next ›", () => send({ action: "next" }));
  const saveAll = button("mlfm-ds-saveall", "Save all", () => saveEdits([...drafts.keys()]), "save every edited record, on every page");
  foot.append(prev, pageNo, next, saveAll);
  root.append(head, note, error, retryBar, wrap, foot);

  /** Typed but not saved, per record, with what the editing was based on. @type {Map<string, Draft>} */
  const drafts = new Map();

  /** @param {string} id */
  const editOf = (id) => {
    const d = /** @type {Draft} */ (drafts.get(id));
    return { record_id: id, fields: changedFields(d.fields, d.drawn), version: d.version, drawn: d.drawn };
  };

  /** Save the drafts of `ids` (one record: "save"; more: "save_all"), dropping the drafts the save took. @param {string[]} ids */
  function saveEdits(ids) {
    if (!ids.length) return;
    const edits = ids.map(editOf);
    const sent = new Map(ids.map((id) => [id, JSON.stringify(drafts.get(id))]));
    const msg = edits.length === 1 ? { action: /** @type {const} */ ("save"), ...edits[0] } : { action: /** @type {const} */ ("save_all"), edits };
    send(msg).then(() => {
      // saved, refused into `conflicts` or kept in `unsaved` by Python: either way no longer a
      // local draft, unless typed on since it was sent
      for (const [id, was] of sent) if (JSON.stringify(drafts.get(id)) === was) drafts.delete(id);
      renderRows();
    });
  }

  /**
   * The refused edit's panel: the store's values beside the user's, and the three ways out.
   * @param {import("./model").Record} r @param {import("./model").Conflict} c
   * @param {() => Required<Fields>} editorValues
   */
  function conflictRow(r, c, editorValues) {
    const tr = h("tr", "mlfm-ds-conflict");
    tr.dataset.id = r.id;
    const td = h("td");
    td.colSpan = COLUMNS.length + 1;
    td.append(h("div", "mlfm-ds-conflict-title", "Changed in the store since this grid drew it — your edit is not saved yet."));
    const list = h("dl", "mlfm-ds-diff");
    for (const k of FIELDS) {
      if (!(k in (c.fields || {}))) continue;
      const now = /** @type {Record<string, unknown>} */ (c.current || {})[k];
      list.append(h("dt", "", LABELS[k]), valueCell("store now", now), valueCell("yours", /** @type {Record<string, unknown>} */ (c.fields)[k]));
    }
    const acts = h("div", "mlfm-ds-resolve");
    /** @param {"overwrite"|"merge"|"discard"} choice */
    const settle = (choice) => () => {
      // what the editors hold now (typed on since the refusal, or the refused edit itself)
      const fields = changedFields(editorValues(), { ...drawnOf(r), ...c.drawn });
      send({ action: "resolve", record_id: r.id, choice, fields }).then(() => {
        if (!(r.id in (model.get("conflicts") || {}))) drafts.delete(r.id);
        renderRows();
      });
    };
    acts.append(
      button("mlfm-ds-overwrite", "Overwrite with mine", settle("overwrite"), "save your values over the store's"),
      button("mlfm-ds-merge", "Merge", settle("merge"), "keep the facts and guidelines the store has and add yours; your expected response replaces the store's"),
      button("mlfm-ds-discard", "Discard mine", settle("discard"), "drop your edit and show the store's values"),
    );
    td.append(list, acts);
    tr.append(td);
    return tr;
  }

  function renderRows() {
    const page = model.get("page") || {};
    const rows = page.rows || [];
    const unsaved = model.get("unsaved") || {};
    const conflicts = model.get("conflicts") || {};
    tbody.replaceChildren();
    for (const r of rows) {
      const pending = unsaved[r.id];
      const conflict = conflicts[r.id];
      const draft = drafts.get(r.id);
      const f = draft ? draft.fields : { ...((pending && pending.fields) || {}), ...((conflict && conflict.fields) || {}) };
      const cls = `mlfm-ds-row${pending ? " unsaved" : ""}${conflict ? " conflict" : ""}${draft ? " dirty" : ""}`;
      const tr = h("tr", cls);
      tr.dataset.id = r.id;
      const resp = editor("mlfm-ds-resp", f.expected_response ?? r.expected_response, "expected response");
      const facts = editor("mlfm-ds-facts", asText(f.expected_facts ?? r.expected_facts), "one fact per line");
      const guide = editor("mlfm-ds-guide", asText(f.guidelines ?? r.guidelines), "one guideline per line");
      /** @returns {Required<Fields>} */
      const fields = () => ({ expected_response: resp.value, expected_facts: lines(facts.value), guidelines: lines(guide.value) });
      const stale = draft && r.version && draft.version !== r.version;
      const status = pending ? `unsaved: ${pending.reason}` : conflict ? "not saved: see below" : stale ? "edited; the store changed since" : draft ? "edited, not saved" : "";
      const state = h("div", "mlfm-ds-state", status);
      // What the editing is based on: the draft's base, a refused edit's, else the row as drawn.
      const base = () => {
        const known = drafts.get(r.id);
        if (known) return { version: known.version, drawn: known.drawn };
        if (conflict) return { version: "", drawn: { ...drawnOf(r), ...conflict.drawn } };
        return { version: r.version || "", drawn: drawnOf(r) };
      };
      const keep = () => {
        drafts.set(r.id, { fields: fields(), ...base() });
      };
      const markDirty = () => {
        keep();
        tr.classList.add("dirty");
        if (!pending && !conflict) state.textContent = "edited, not saved";
        saveAll.disabled = false;
        saveAll.textContent = `Save all (${drafts.size})`;
      };
      for (const area of [resp, facts, guide]) area.addEventListener("input", markDirty);
      const save = button("mlfm-ds-save", "Save", () => {
        if (!drafts.has(r.id)) keep();
        saveEdits([r.id]);
      });
      const inputs = h("td", "mlfm-pv mlfm-ds-pv mlfm-ds-inputs", r.inputs);
      const outputs = h("td", "mlfm-pv mlfm-ds-pv mlfm-ds-outputs", r.outputs);
      if (r.other) outputs.append(h("div", "mlfm-ds-other", `other expectations: ${r.other}`));
      const src = h("td", "mlfm-ds-src");
      if (r.source_trace) {
        const trace = r.source_trace;
        src.append(button("mlfm-link mlfm-ds-open", trace, () => send({ action: "open", trace_id: trace }), "open the source trace"));
      }
      const cells = [resp, facts, guide].map((area) => {
        const td = h("td");
        td.append(area);
        return td;
      });
      const tdSave = h("td", "mlfm-act mlfm-ds-act");
      tdSave.append(save, state);
      tr.append(inputs, outputs, ...cells, src, tdSave);
      tbody.append(tr);
      if (conflict) tbody.append(conflictRow(r, conflict, fields));
    }
    if (!rows.length) tbody.append(emptyRow("No records.", COLUMNS.length + 1));
    const start = page.start || 0;
    const span = rows.length ? `records ${start + 1}–${start + rows.length} of ${page.total}` : "no records";
    head.textContent = `Dataset ${page.name || ""} · ${span}`;
    pageNo.textContent = `page ${page.page || 1} of ${page.pages || 1}`;
    prev.disabled = (page.page || 1) <= 1;
    next.disabled = (page.page || 1) >= (page.pages || 1);
    const n = Object.keys(unsaved).length;
    show(retryBar, n > 0);
    retryText.textContent = n ? `${plural(n, "edit")} not saved. ` : "";
    saveAll.disabled = drafts.size === 0;
    saveAll.textContent = drafts.size ? `Save all (${drafts.size})` : "Save all";
  }

  return view.start(
    {
      "change:page": renderRows,
      "change:unsaved": renderRows,
      "change:conflicts": renderRows,
      "change:note": renderNote,
      "change:error": renderNote,
    },
    renderRows,
    renderNote,
  );
}

export default { render };
