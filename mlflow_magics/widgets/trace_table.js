// Trace table: one page of traces, a filter box, paging, sorting and a selection.
//
// Synced traits (the Python side is mlflow_magics/views/trace_table_widget.py):
//   reads  page       {rows: [{id, time, name, status, duration_ms, tokens, request, response,
//                             tags: [[k, v]], more_tags}], page, start, has_prev, has_next,
//                      count (null while unknown), capped}
//   reads  filter     the filter applied now (MLflow search_traces syntax)
//   reads  error      one sentence when the last action failed, else ""
//   reads  order      {column: "time"|"duration"|"name"|"status"|"", descending}
//   reads  selection  {count, on_page: ids of this page's selected rows}
//   reads  dataset_names  names of the store's datasets (filled when the "Add selected to
//                     dataset…" form opens)
//   reads  dataset_note   the result of the last add: "n added, m already present"
// Writes no trait: every control sends a message {action, ...} that Python answers by
// updating the traits above (actions: filter, next, prev, sort, select, select_all, clear,
// open, compare, list_datasets, add_to_dataset {name}). Opened traces and comparisons appear
// in Python's detail area below.
//
// Every value from a trace is untrusted: it reaches the DOM through textContent only.

const COLUMNS = [
  ["time", "Time", "time"],
  ["name", "Name", "name"],
  ["status", "Status", "status"],
  ["duration", "Duration", "duration"],
  ["tokens", "Tokens", null],
  ["request", "Request", null],
  ["response", "Response", null],
  ["tags", "Tags", null],
];

/** @param {string} tag @param {string} [cls] @param {string} [text] */
function h(tag, cls, text) {
  const el = document.createElement(tag);
  if (cls) el.className = cls;
  if (text !== undefined && text !== null) el.textContent = String(text);
  return el;
}

function fmtDuration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "";
  if (ms < 1) return "<1 ms"; // the store keeps whole milliseconds
  if (ms < 1000) return ms < 100 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(2)} s`;
  const m = Math.floor(s / 60);
  return `${m} m ${String(Math.floor(s % 60)).padStart(2, "0")} s`;
}

function render({ model, el }) {
  const root = h("div", "mlfm-tt-w");
  el.appendChild(root);
  const send = (msg) => {
    root.classList.add("busy");
    model.send(msg);
  };

  // toolbar: filter box
  const bar = h("div", "mlfm-tt-bar");
  const input = h("input", "mlfm-tt-filter");
  input.type = "text";
  input.placeholder = "filter, e.g. trace.status = 'ERROR' AND tag.env = 'prod'   (Enter applies)";
  input.spellcheck = false;
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      e.stopPropagation(); // JupyterLab would otherwise run the cell
      send({ action: "filter", text: input.value });
    }
  });
  bar.appendChild(input);
  const error = h("div", "mlfm-tt-error");
  root.append(bar, error);

  // table
  const wrap = h("div", "mlfm-tt-scroll");
  const table = h("table", "mlfm-tt-table");
  const thead = h("thead");
  const headRow = h("tr");
  const allBox = h("input", "mlfm-tt-pageall");
  allBox.type = "checkbox";
  allBox.title = "select this page";
  const th0 = h("th", "mlfm-tt-check");
  th0.appendChild(allBox);
  headRow.appendChild(th0);
  const headers = {};
  for (const [key, label, sortKey] of COLUMNS) {
    const th = h("th", `mlfm-tt-h-${key}`);
    th.appendChild(h("span", "mlfm-tt-hlabel", label));
    th.appendChild(h("span", "mlfm-tt-arrow"));
    if (sortKey) {
      th.classList.add("sortable");
      th.addEventListener("click", () => {
        const order = model.get("order") || {};
        const descending = order.column === sortKey ? !order.descending : sortKey === "time" || sortKey === "duration";
        send({ action: "sort", column: sortKey, descending });
      });
    }
    headers[key] = th;
    headRow.appendChild(th);
  }
  thead.appendChild(headRow);
  const tbody = h("tbody");
  table.append(thead, tbody);
  wrap.appendChild(table);
  root.appendChild(wrap);

  // footer: paging, count, selection, compare
  const foot = h("div", "mlfm-tt-foot");
  const prev = h("button", "mlfm-tt-prev", "‹ Prev");
  const pageNo = h("span", "mlfm-tt-page");
  const next = h("button", "mlfm-tt-next", "Next ›");
  const count = h("span", "mlfm-tt-count");
  const selCount = h("span", "mlfm-tt-selcount");
  const selAll = h("button", "mlfm-tt-selall", "Select all matching");
  const clear = h("button", "mlfm-tt-clear", "Clear selection");
  const compare = h("button", "mlfm-tt-compare", "Compare");
  compare.title = "compare the two selected traces";
  prev.addEventListener("click", () => send({ action: "prev" }));
  next.addEventListener("click", () => send({ action: "next" }));
  selAll.addEventListener("click", () => send({ action: "select_all" }));
  clear.addEventListener("click", () => send({ action: "clear" }));
  compare.addEventListener("click", () => send({ action: "compare" }));
  const toDataset = h("button", "mlfm-tt-todataset", "Add selected to dataset…");
  foot.append(prev, pageNo, next, count, h("span", "mlfm-tt-gap"), selCount, selAll, clear, compare, toDataset);
  root.appendChild(foot);

  // "Add selected to dataset…": pick an existing dataset (datalist) or type a new name
  const dsForm = h("div", "mlfm-tt-dsform");
  const dsList = h("datalist");
  dsList.id = `mlfm-tt-ds-${Math.random().toString(36).slice(2)}`;
  const dsName = h("input", "mlfm-tt-dsname");
  dsName.type = "text";
  dsName.placeholder = "dataset: pick one or type a new name";
  dsName.setAttribute("list", dsList.id);
  const dsAdd = h("button", "mlfm-tt-dsadd", "Add");
  const dsNote = h("span", "mlfm-tt-dsnote");
  const addToDataset = () => {
    const name = dsName.value.trim();
    if (name) send({ action: "add_to_dataset", name });
  };
  dsAdd.addEventListener("click", addToDataset);
  dsName.addEventListener("keydown", (e) => {
    e.stopPropagation(); // keep JupyterLab's shortcuts out of the text box
    if (e.key === "Enter") {
      e.preventDefault();
      addToDataset();
    }
  });
  dsForm.append(dsName, dsList, dsAdd, dsNote);
  dsForm.style.display = "none";
  root.appendChild(dsForm);
  toDataset.addEventListener("click", () => {
    const open = dsForm.style.display === "none";
    dsForm.style.display = open ? "" : "none";
    if (open) {
      send({ action: "list_datasets" });
      dsName.focus();
    }
  });

  let lastClicked = -1; // row index of the last checkbox click, for shift-click ranges
  let boxes = [];

  allBox.addEventListener("click", () => {
    const ids = ((model.get("page") || {}).rows || []).map((r) => r.id);
    send({ action: "select", ids, on: allBox.checked });
  });

  function renderRows() {
    const page = model.get("page") || {};
    const rows = page.rows || [];
    tbody.replaceChildren();
    boxes = [];
    lastClicked = -1;
    rows.forEach((r, i) => {
      const tr = h("tr", `mlfm-tt-row${r.status === "ERROR" ? " err" : ""}`);
      tr.dataset.id = r.id;
      const box = h("input", "mlfm-tt-box");
      box.type = "checkbox";
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
      c0.appendChild(box);
      const name = h("td", "mlfm-tt-name");
      const open = h("button", "mlfm-tt-open", r.name || r.id);
      open.title = `open ${r.id}`;
      open.addEventListener("click", () => send({ action: "open", trace_id: r.id }));
      name.append(open, h("div", "mlfm-tt-id", r.id));
      const tags = h("td", "mlfm-tt-tags");
      for (const [k, v] of r.tags || []) tags.appendChild(h("span", "mlfm-tt-tag", `${k}=${v}`));
      if (r.more_tags) tags.appendChild(h("span", "mlfm-tt-more", `+${r.more_tags}`));
      tr.append(
        c0,
        h("td", "mlfm-tt-time", r.time),
        name,
        h("td", "mlfm-tt-status", r.status),
        h("td", "mlfm-tt-dur", fmtDuration(r.duration_ms)),
        h("td", "mlfm-tt-tok", r.tokens === null || r.tokens === undefined ? "" : r.tokens.toLocaleString()),
        h("td", "mlfm-tt-pv mlfm-tt-req", r.request),
        h("td", "mlfm-tt-pv mlfm-tt-resp", r.response),
        tags,
      );
      tbody.appendChild(tr);
    });
    if (!rows.length) {
      const tr = h("tr", "mlfm-tt-empty");
      const td = h("td", "", "No traces match.");
      td.colSpan = COLUMNS.length + 1;
      tr.appendChild(td);
      tbody.appendChild(tr);
    }
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
      if (tr) tr.classList.toggle("sel", on.has(r.id));
    });
    allBox.checked = rows.length > 0 && rows.every((r) => on.has(r.id));
    selCount.textContent = `${(sel.count || 0).toLocaleString()} selected`;
    compare.disabled = sel.count !== 2;
    clear.disabled = !sel.count;
    toDataset.disabled = !sel.count;
  }

  function renderDatasets() {
    dsList.replaceChildren(...(model.get("dataset_names") || []).map((n) => {
      const option = h("option");
      option.value = n;
      return option;
    }));
    dsNote.textContent = model.get("dataset_note") || "";
  }

  function renderOrder() {
    const order = model.get("order") || {};
    for (const [key, , sortKey] of COLUMNS) {
      const arrow = headers[key].querySelector(".mlfm-tt-arrow");
      arrow.textContent = sortKey && order.column === sortKey ? (order.descending ? " ▼" : " ▲") : "";
    }
  }

  function renderFilter() {
    input.value = model.get("filter") || "";
  }

  function renderError() {
    const text = model.get("error") || "";
    error.textContent = text;
    error.style.display = text ? "" : "none";
  }

  const done = () => root.classList.remove("busy");
  const onPage = () => { renderRows(); done(); };
  const onSelection = () => { renderSelection(); done(); };
  const onOrder = () => { renderOrder(); done(); };
  const onFilter = () => { renderFilter(); done(); };
  const onError = () => { renderError(); done(); };
  // Any reply from Python (even one that changes no trait, e.g. "open") ends the busy state.
  const onMsg = () => done();
  const onDatasets = () => { renderDatasets(); done(); };
  model.on("change:page", onPage);
  model.on("change:selection", onSelection);
  model.on("change:order", onOrder);
  model.on("change:filter", onFilter);
  model.on("change:error", onError);
  model.on("msg:custom", onMsg);
  model.on("change:dataset_names", onDatasets);
  model.on("change:dataset_note", onDatasets);

  renderFilter();
  renderRows();
  renderOrder();
  renderError();
  renderDatasets();

  return () => {
    model.off("change:page", onPage);
    model.off("change:selection", onSelection);
    model.off("change:order", onOrder);
    model.off("change:filter", onFilter);
    model.off("change:error", onError);
    model.off("msg:custom", onMsg);
    model.off("change:dataset_names", onDatasets);
    model.off("change:dataset_note", onDatasets);
  };
}

export default { render };
