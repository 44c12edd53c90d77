// Trace table: one page of traces, a filter box, paging, sorting and a selection.
//
// The contract with Python is ./model.d.ts. Every control sends an action message that Python
// answers by updating the traits; opened traces and comparisons appear in Python's detail area
// below. A column per assessment name on the page shows each trace's verdict (pass / fail /
// error in the status colours, other values as text). Every value from a trace is untrusted:
// it reaches the DOM through textContent only.

import { button, h, show } from "../lib/dom.js";
import { duration } from "../lib/format.js";
import { printable } from "../lib/text.js";
import { widget } from "../lib/widget.js";
import { emptyRow, setSort, sortHeader } from "../lib/table.js";
import "./style.css";

/** [key, label, sort column or null] */
const COLUMNS = /** @type {const} */ ([
  ["time", "Time", "time"],
  ["name", "Name", "name"],
  ["status", "Status", "status"],
  ["duration", "Duration", "duration"],
  ["tokens", "Tokens", null],
  ["request", "Request", null],
  ["response", "Response", null],
  ["tags", "Tags", null],
]);

/** What each verdict shows before an assessment's value. */
const VERDICT_MARKS = { pass: "✓", fail: "✗", error: "!" };

let forms = 0;

/** @type {import("@anywidget/types").Render<import("./model").Model>} */
function render({ model, el }) {
  const view = widget(model, el, "mlfm-tt-w");
  const root = view.root;
  /** @param {import("./model").Action} msg */
  const send = (msg) => view.send(msg);

  // toolbar: filter box
  const bar = h("div", "mlfm-tt-bar");
  const input = h("input", "mlfm-tt-filter");
  input.type = "text";
  input.placeholder = "filter, e.g. trace.status = 'ERROR' AND tag.env = 'prod'   (Enter applies)";
  input.setAttribute("aria-label", "Trace filter (Enter applies)");
  input.spellcheck = false;
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      send({ action: "filter", text: input.value });
    }
  });
  bar.append(input);
  const { error, render: renderError } = view.status("mlfm-tt", false);
  root.append(bar, error);

  // table
  const wrap = h("div", "mlfm-scroll mlfm-tt-scroll");
  const table = h("table", "mlfm-grid mlfm-tt-table");
  const thead = h("thead");
  const headRow = h("tr");
  const allBox = h("input", "mlfm-tt-pageall");
  allBox.type = "checkbox";
  allBox.title = "select this page";
  allBox.setAttribute("aria-label", "Select this page");
  const th0 = h("th", "mlfm-tt-check");
  th0.append(allBox);
  headRow.append(th0);
  /** @type {Record<string, HTMLTableCellElement>} */
  const headers = {};
  for (const [key, label, sortKey] of COLUMNS) {
    let th;
    if (sortKey) {
      th = sortHeader(`mlfm-tt-h-${key} sortable`, label, () => {
        const order = model.get("order") || {};
        const descending = order.column === sortKey ? !order.descending : sortKey === "time" || sortKey === "duration";
        send({ action: "sort", column: sortKey, descending });
      });
    } else {
      th = h("th", `mlfm-tt-h-${key}`, label);
    }
    headers[key] = th;
    headRow.append(th);
  }
  thead.append(headRow);
  const tbody = h("tbody");
  table.append(thead, tbody);
  wrap.append(table);
  root.append(wrap);

  // footer: paging, count, selection, compare
  const foot = h("div", "mlfm-foot mlfm-tt-foot");
  const prev = button("mlfm-tt-prev", "‹ Prev", () => send({ action: "prev" }));
  const pageNo = h("span", "mlfm-tt-page");
  const next = button("mlfm-tt-next", "Next ›", () => send({ action: "next" }));
  const count = h("span", "mlfm-dim mlfm-tt-count");
  const selCount = h("span", "mlfm-dim mlfm-tt-selcount");
  const selAll = button("mlfm-tt-selall", "Select all matching", () => send({ action: "select_all" }));
  const clear = button("mlfm-tt-clear", "Clear selection", () => send({ action: "clear" }));
  const compare = button("mlfm-tt-compare", "Compare", () => send({ action: "compare" }), "compare the two selected traces");
  const toDataset = button("mlfm-tt-todataset", "Add selected to dataset…", () => {
    const open = dsForm.hidden;
    show(dsForm, open);
    if (open) {
      send({ action: "list_datasets" });
      dsName.focus();
    }
  });
  foot.append(prev, pageNo, next, count, h("span", "mlfm-tt-gap"), selCount, selAll, clear, compare, toDataset);
  root.append(foot);

  // "Add selected to dataset…": pick an existing dataset (datalist) or type a new name
  const dsForm = h("div", "mlfm-tt-dsform");
  const dsList = h("datalist");
  dsList.id = `mlfm-tt-ds-${++forms}-${Math.random().toString(36).slice(2)}`;
  const dsName = h("input", "mlfm-tt-dsname");
  dsName.type = "text";
  dsName.placeholder = "dataset: pick one or type a new name";
  dsName.setAttribute("aria-label", "Dataset name");
  dsName.setAttribute("list", dsList.id);
  const addToDataset = () => {
    const name = dsName.value.trim();
    if (name) send({ action: "add_to_dataset", name });
  };
  const dsAdd = button("mlfm-tt-dsadd", "Add", addToDataset);
  const dsNote = h("span", "mlfm-dim mlfm-tt-dsnote");
  dsName.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      addToDataset();
    }
  });
  dsForm.append(dsName, dsList, dsAdd, dsNote);
  show(dsForm, false);
  root.append(dsForm);

  let lastClicked = -1; // row index of the last checkbox click, for shift-click ranges
  /** @type {HTMLInputElement[]} */
  let boxes = [];

  allBox.addEventListener("click", () => {
    const ids = ((model.get("page") || {}).rows || []).map((r) => r.id);
    send({ action: "select", ids, on: allBox.checked });
  });

  /** @type {HTMLTableCellElement[]} */
  let asHeaders = [];
  /** One column per assessment name on this page (none at all when no trace has one). @param {string[]} names */
  function renderAssessmentHeaders(names) {
    for (const th of asHeaders) th.remove();
    asHeaders = names.map((name) => {
      const th = h("th", "mlfm-tt-h-as", name);
      th.title = printable(`assessment ${name}`);
      headRow.insertBefore(th, headers.tags);
      return th;
    });
  }

  /** @param {import("./model").Row} r @param {string} name */
  function assessmentCell(r, name) {
    const a = (r.assessments || {})[name];
    if (!a) return h("td", "mlfm-tt-as");
    // the mark says it without colour too (as the HTML tier writes it)
    const mark = a.verdict ? `${VERDICT_MARKS[a.verdict]} ` : "";
    const td = h("td", `mlfm-tt-as${a.verdict ? ` mlfm-verdict ${a.verdict}` : ""}`, `${mark}${a.text || (a.verdict === "error" ? "error" : "")}`);
    td.title = printable(`${name}: ${a.text}`);
    return td;
  }

  function renderRows() {
    const page = model.get("page") || {};
    const rows = page.rows || [];
    const asNames = page.assessment_names || [];
    renderAssessmentHeaders(asNames);
    tbody.replaceChildren();
    boxes = [];
    lastClicked = -1;
    rows.forEach((r, i) => {
      const tr = h("tr", `mlfm-tt-row${r.status === "ERROR" ? " err" : ""}`);
      tr.dataset.id = r.id;
      const box = h("input", "mlfm-tt-box");
      box.type = "checkbox";
      box.setAttribute("aria-label", printable(`Select ${r.name || r.id}`));
      box.addEventListener("click", (e) => {
        const on = box.checked;
        let ids = [r.id];
        if (e.shiftKey && lastClicked >= 0 && lastClicked !== i) {
          const [a, b] = lastClicked < i ? [lastClicked, i] : [i, lastClicked];
          ids = rows.slice(a, b + 1).map((x) => x.id);
          for (let k = a; k <= b; k++) boxes[k].checked = on;
        }
        lastClicked = i;
        send({ action: "select", ids, on });
      });
      boxes.push(box);
      const c0 = h("td", "mlfm-tt-check");
      c0.append(box);
      const name = h("td", "mlfm-tt-name");
      const open = button("mlfm-link mlfm-tt-open", r.name || r.id, () => send({ action: "open", trace_id: r.id }), `open ${r.id}`);
      name.append(open, h("div", "mlfm-id mlfm-tt-id", r.id));
      const tags = h("td", "mlfm-tt-tags");
      for (const [k, v] of r.tags || []) tags.append(h("span", "mlfm-tt-tag", `${k}=${v}`));
      if (r.more_tags) tags.append(h("span", "mlfm-dim mlfm-tt-more", `+${r.more_tags}`));
      const req = h("td", "mlfm-pv mlfm-tt-pv mlfm-tt-req", r.request);
      const resp = h("td", "mlfm-pv mlfm-tt-pv mlfm-tt-resp", r.response);
      req.title = printable(r.request || "");
      resp.title = printable(r.response || "");
      tr.append(
        c0,
        h("td", "mlfm-tt-time", r.time),
        name,
        h("td", "mlfm-tt-status", r.status),
        h("td", "mlfm-tt-dur", duration(r.duration_ms, { whole: true, missing: "" })),
        h("td", "mlfm-tt-tok", r.tokens === null || r.tokens === undefined ? "" : r.tokens.toLocaleString()),
        req,
        resp,
        ...asNames.map((name) => assessmentCell(r, name)),
        tags,
      );
      tbody.append(tr);
    });
    if (!rows.length) tbody.append(emptyRow("No traces match.", COLUMNS.length + asNames.length + 1));
    prev.disabled = !page.has_prev;
    next.disabled = !page.has_next;
    pageNo.textContent = `page ${page.page || 1}`;
    const start = page.start || 0;
    const span = rows.length ? `rows ${start + 1}–${start + rows.length}` : "no rows";
    if (page.count !== null && page.count !== undefined) {
      count.textContent = `${span} of ${page.count.toLocaleString()} matches`;
    } else {
      count.textContent = page.capped && !page.has_next ? `${span}; stopped at --max` : `${span}; more match`;
    }
    renderSelection();
  }

  function renderSelection() {
    const sel = model.get("selection") || { count: 0, on_page: [] };
    const on = new Set(sel.on_page || []);
    const rows = (model.get("page") || {}).rows || [];
    rows.forEach((r, i) => {
      if (boxes[i]) boxes[i].checked = on.has(r.id);
      const tr = boxes[i] && boxes[i].closest("tr");
      if (tr) {
        tr.classList.toggle("sel", on.has(r.id));
        tr.setAttribute("aria-selected", String(on.has(r.id)));
      }
    });
    allBox.checked = rows.length > 0 && rows.every((r) => on.has(r.id));
    selCount.textContent = `${(sel.count || 0).toLocaleString()} selected`;
    compare.disabled = sel.count !== 2;
    clear.disabled = !sel.count;
    toDataset.disabled = !sel.count;
  }

  function renderDatasets() {
    dsList.replaceChildren(
      ...(model.get("dataset_names") || []).map((n) => {
        const option = h("option");
        option.value = n;
        return option;
      }),
    );
    dsNote.textContent = printable(model.get("dataset_note") || "");
  }

  function renderOrder() {
    const order = model.get("order") || {};
    for (const [key, , sortKey] of COLUMNS) {
      if (!sortKey) continue;
      setSort(headers[key], order.column === sortKey ? (order.descending ? "descending" : "ascending") : "none");
    }
  }

  function renderFilter() {
    input.value = model.get("filter") || "";
  }

  return view.start(
    {
      "change:page": renderRows,
      "change:selection": renderSelection,
      "change:order": renderOrder,
      "change:filter": renderFilter,
      "change:error": renderError,
      "change:dataset_names": renderDatasets,
      "change:dataset_note": renderDatasets,
    },
    renderFilter,
    renderRows,
    renderOrder,
    renderError,
    renderDatasets,
  );
}

export default { render };
