// Evaluation grid: rows arrive as each record's scorers finish; a row expands to its rationales.
//
// Synced traits (the Python side is mlflow_magics/views/eval_widget.py):
//   reads  header   {status: running|done|interrupted|failed, done, total, elapsed, run_id,
//                    run_name, run_url, data, shown, workers}
//   reads  scorers  [{name, text, mean, passed, failed, errors}]: summary over the rows so far
//   reads  rows     [{i, trace_id, inputs, outputs, error, v: {scorer: [kind, label, rationale, error]}}]
//   reads  note     one sentence about the run or the last action
//   reads  error    one sentence when the last action failed, else ""
// Writes no trait: controls send messages {action, ...} (open {trace_id},
// failing_to_dataset {name}); Python answers through the traits above. An opened trace appears
// in Python's detail area below the grid.
//
// Every value from a record is untrusted: it reaches the DOM through textContent only.

/** @param {string} tag @param {string} [cls] @param {string} [text] */
function h(tag, cls, text) {
  const el = document.createElement(tag);
  if (cls) el.className = cls;
  if (text !== undefined && text !== null) el.textContent = String(text);
  return el;
}

const RANK = { error: 0, fail: 1, text: 2, number: 3, missing: 4, pass: 5 };

function render({ model, el }) {
  const root = h("div", "mlfm-ev-w");
  el.appendChild(root);
  const send = (msg) => {
    root.classList.add("busy");
    model.send(msg);
  };
  const head = h("div", "mlfm-ev-head");
  const status = h("span", "mlfm-ev-status");
  const bar = h("div", "mlfm-ev-bar");
  const fill = h("div", "mlfm-ev-fill");
  bar.appendChild(fill);
  const link = h("a", "mlfm-ev-link", "open run");
  link.target = "_blank";
  link.rel = "noopener";
  head.append(status, link);
  const chips = h("div", "mlfm-ev-chips");
  const note = h("div", "mlfm-ev-note");
  const error = h("div", "mlfm-ev-error");
  const wrap = h("div", "mlfm-ev-scroll");
  const table = h("table", "mlfm-ev-table");
  const thead = h("thead");
  const tbody = h("tbody");
  table.append(thead, tbody);
  wrap.appendChild(table);
  const foot = h("div", "mlfm-ev-foot");
  const dsName = h("input", "mlfm-ev-dsname");
  dsName.placeholder = "dataset name";
  dsName.addEventListener("keydown", (e) => e.stopPropagation());
  const toDs = h("button", "mlfm-ev-tods", "Add failing rows to dataset");
  toDs.addEventListener("click", () => {
    if (dsName.value.trim()) send({ action: "failing_to_dataset", name: dsName.value.trim() });
    else dsName.focus();
  });
  foot.append(dsName, toDs);
  root.append(head, bar, chips, note, error, wrap, foot);

  const expanded = new Set();
  let sortBy = null; // a scorer name: its failing rows first

  function renderHead() {
    const hd = model.get("header") || {};
    const total = hd.total ?? null;
    const word = { running: "Evaluating", done: "Evaluated", interrupted: "Interrupted", failed: "Failed" }[hd.status] || "";
    const of = total !== null ? `${hd.done}/${total}` : `${hd.done}`;
    const run = hd.run_name || hd.run_id ? ` · run ${hd.run_name || hd.run_id}` : "";
    const atOnce = hd.workers ? ` · ${hd.workers} at a time` : "";
    status.textContent = `${word} ${hd.data || ""} · ${of} records · ${Number(hd.elapsed || 0).toFixed(1)} s${atOnce}${run}`;
    root.dataset.status = hd.status || "";
    fill.style.width = total ? `${Math.min(100, (100 * hd.done) / total)}%` : hd.status === "running" ? "0%" : "100%";
    const url = String(hd.run_url || "");
    link.style.display = /^https?:\/\//.test(url) ? "" : "none";
    if (/^https?:\/\//.test(url)) link.href = url;
    chips.replaceChildren();
    for (const s of model.get("scorers") || []) {
      const chip = h("span", "mlfm-ev-chip");
      chip.append(h("b", "", s.name), document.createTextNode(` ${s.text}`));
      if (s.failed || s.errors) chip.classList.add("bad");
      chips.appendChild(chip);
    }
    const rows = model.get("rows") || [];
    const anyFailing = rows.some((r) => Object.values(r.v).some((v) => v[0] === "fail" || v[0] === "error"));
    foot.style.display = hd.status !== "running" && anyFailing ? "" : "none";
  }

  function verdictCell(v) {
    const td = h("td", `mlfm-ev-v ${v ? v[0] : "missing"}`, v ? v[1] : "…");
    if (v && (v[2] || v[3])) td.title = v[3] || v[2];
    return td;
  }

  function renderRows() {
    const names = (model.get("scorers") || []).map((s) => s.name);
    const hr = h("tr");
    hr.append(h("th", "", "#"), h("th", "", "Inputs"), h("th", "", "Outputs"));
    for (const name of names) {
      const th = h("th", "mlfm-ev-sort", name + (sortBy === name ? " ▾" : ""));
      th.title = "show this scorer's failing rows first";
      th.addEventListener("click", () => {
        sortBy = sortBy === name ? null : name;
        renderRows();
      });
      hr.appendChild(th);
    }
    hr.appendChild(h("th", "", ""));
    thead.replaceChildren(hr);
    let rows = (model.get("rows") || []).slice();
    if (sortBy) rows.sort((a, b) => (RANK[(a.v[sortBy] || ["missing"])[0]] - RANK[(b.v[sortBy] || ["missing"])[0]]) || a.i - b.i);
    tbody.replaceChildren();
    for (const r of rows) {
      const tr = h("tr", "mlfm-ev-row");
      tr.dataset.i = String(r.i);
      const outputs = h("td", "mlfm-ev-pv", r.outputs);
      if (r.error) outputs.appendChild(h("div", "mlfm-ev-err", `predict error: ${r.error}`));
      tr.append(h("td", "mlfm-ev-n", String(r.i + 1)), h("td", "mlfm-ev-pv", r.inputs), outputs);
      for (const name of names) tr.appendChild(verdictCell(r.v[name]));
      const act = h("td", "mlfm-ev-act");
      if (r.trace_id) {
        const open = h("button", "mlfm-ev-open", "trace");
        open.title = `open trace ${r.trace_id}`;
        open.addEventListener("click", (e) => {
          e.stopPropagation();
          send({ action: "open", trace_id: r.trace_id });
        });
        act.appendChild(open);
      }
      tr.appendChild(act);
      tr.addEventListener("click", () => {
        if (expanded.has(r.i)) expanded.delete(r.i);
        else expanded.add(r.i);
        renderRows();
      });
      tbody.appendChild(tr);
      if (expanded.has(r.i)) {
        tr.classList.add("open");
        const dr = h("tr", "mlfm-ev-detail");
        const td = h("td");
        td.colSpan = names.length + 4;
        for (const name of names) {
          const v = r.v[name];
          if (!v) continue;
          const item = h("div", `mlfm-ev-why ${v[0]}`);
          item.append(h("b", "", `${name}: ${v[1]}`));
          if (v[3]) item.append(h("div", "mlfm-ev-err", v[3]));
          if (v[2]) item.append(h("div", "mlfm-ev-rationale", v[2]));
          if (!v[2] && !v[3]) item.append(h("div", "mlfm-ev-rationale none", "no rationale"));
          td.appendChild(item);
        }
        dr.appendChild(td);
        tbody.appendChild(dr);
      }
    }
    if (!rows.length) {
      const tr = h("tr");
      const td = h("td", "", (model.get("header") || {}).status === "running" ? "Waiting for the first record…" : "No records.");
      td.colSpan = names.length + 4;
      tr.appendChild(td);
      tbody.appendChild(tr);
    }
  }

  function renderNote() {
    note.textContent = model.get("note") || "";
    note.style.display = note.textContent ? "" : "none";
    const text = model.get("error") || "";
    error.textContent = text;
    error.style.display = text ? "" : "none";
  }

  const done = () => root.classList.remove("busy");
  const onHead = () => renderHead();
  const onRows = () => { renderHead(); renderRows(); };
  const onNote = () => { renderNote(); done(); };
  const onMsg = () => done();
  model.on("change:header", onHead);
  model.on("change:scorers", onRows);
  model.on("change:rows", onRows);
  model.on("change:note", onNote);
  model.on("change:error", onNote);
  model.on("msg:custom", onMsg);
  renderHead();
  renderRows();
  renderNote();
  return () => {
    model.off("change:header", onHead);
    model.off("change:scorers", onRows);
    model.off("change:rows", onRows);
    model.off("change:note", onNote);
    model.off("change:error", onNote);
    model.off("msg:custom", onMsg);
  };
}

export default { render };
