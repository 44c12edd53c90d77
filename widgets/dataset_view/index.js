// Dataset grid: one page of evaluation-dataset records, expectations edited in place.
//
// The contract with Python is ./model.d.ts. Saves, retries, paging and opening a source trace
// are action messages; an edit the store did not take stays in `unsaved` with the reason, and
// an edit typed but not saved survives re-renders of the page (it is only dropped by Save).
// Every value from a record is untrusted: it reaches the DOM through textContent / .value only.

import { button, h, show } from "../lib/dom.js";
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
  foot.append(prev, pageNo, next);
  root.append(head, note, error, retryBar, wrap, foot);

  /** Typed but not saved, per record: survives a re-render of the page. @type {Map<string, import("./model").Fields>} */
  const drafts = new Map();

  function renderRows() {
    const page = model.get("page") || {};
    const rows = page.rows || [];
    const unsaved = model.get("unsaved") || {};
    tbody.replaceChildren();
    for (const r of rows) {
      const pending = unsaved[r.id];
      const draft = drafts.get(r.id);
      const f = draft || (pending && pending.fields) || {};
      const tr = h("tr", `mlfm-ds-row${pending ? " unsaved" : ""}${draft ? " dirty" : ""}`);
      tr.dataset.id = r.id;
      const resp = editor("mlfm-ds-resp", f.expected_response ?? r.expected_response, "expected response");
      const facts = editor("mlfm-ds-facts", asText(f.expected_facts ?? r.expected_facts), "one fact per line");
      const guide = editor("mlfm-ds-guide", asText(f.guidelines ?? r.guidelines), "one guideline per line");
      const fields = () => ({ expected_response: resp.value, expected_facts: lines(facts.value), guidelines: lines(guide.value) });
      const state = h("div", "mlfm-ds-state", pending ? `unsaved: ${pending.reason}` : draft ? "edited, not saved" : "");
      const markDirty = () => {
        drafts.set(r.id, fields());
        tr.classList.add("dirty");
        if (!pending) state.textContent = "edited, not saved";
      };
      for (const area of [resp, facts, guide]) area.addEventListener("input", markDirty);
      const save = button("mlfm-ds-save", "Save", () => {
        const sent = fields();
        send({ action: "save", record_id: r.id, fields: sent }).then(() => {
          // saved, or kept in `unsaved` by Python with the reason: either way not a local draft
          if (JSON.stringify(drafts.get(r.id)) === JSON.stringify(sent)) drafts.delete(r.id);
        });
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
    retryText.textContent = n ? `${n} edit${n === 1 ? "" : "s"} not saved. ` : "";
  }

  return view.start(
    {
      "change:page": renderRows,
      "change:unsaved": renderRows,
      "change:note": renderNote,
      "change:error": renderNote,
    },
    renderRows,
    renderNote,
  );
}

export default { render };
