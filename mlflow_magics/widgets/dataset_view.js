// Dataset grid: one page of evaluation-dataset records, expectations edited in place.
//
// Synced traits (the Python side is mlflow_magics/views/dataset_widget.py):
//   reads  page     {name, rows: [{id, inputs, outputs, source_trace, expected_response,
//                           expected_facts: [str], guidelines: [str], other}],
//                    page, pages, total, start}
//   reads  unsaved  {record_id: {fields, reason}}: edits the store did not take yet
//   reads  note     one sentence about the last action
//   reads  error    one sentence when the last action failed, else ""
// Writes no trait: controls send messages {action, ...} (save {record_id, fields}, retry,
// next, prev, open {trace_id}); Python answers through the traits above. An opened source
// trace appears in Python's detail area below the grid.
//
// Every value from a record is untrusted: it reaches the DOM through textContent / .value only.

/** @param {string} tag @param {string} [cls] @param {string} [text] */
function h(tag, cls, text) {
  const el = document.createElement(tag);
  if (cls) el.className = cls;
  if (text !== undefined && text !== null) el.textContent = String(text);
  return el;
}

function editor(cls, value, placeholder) {
  const area = h("textarea", `mlfm-ds-edit ${cls}`);
  area.value = value;
  area.placeholder = placeholder;
  area.rows = Math.min(6, Math.max(2, value.split("\n").length));
  // keep JupyterLab's command-mode shortcuts (and Shift+Enter) out of the text box
  area.addEventListener("keydown", (e) => e.stopPropagation());
  return area;
}

function render({ model, el }) {
  const root = h("div", "mlfm-ds-w");
  el.appendChild(root);
  const send = (msg) => {
    root.classList.add("busy");
    model.send(msg);
  };
  const head = h("div", "mlfm-ds-head");
  const note = h("div", "mlfm-ds-note");
  const error = h("div", "mlfm-ds-error");
  const retryBar = h("div", "mlfm-ds-retrybar");
  const retryText = h("span", "mlfm-ds-retrytext");
  const retry = h("button", "mlfm-ds-retry", "Retry unsaved");
  retry.addEventListener("click", () => send({ action: "retry" }));
  retryBar.append(retryText, retry);
  const wrap = h("div", "mlfm-ds-scroll");
  const table = h("table", "mlfm-ds-table");
  const headRow = h("tr");
  for (const label of ["Inputs", "Outputs", "Expected response", "Expected facts (one per line)", "Guidelines (one per line)", "Source trace", ""]) {
    headRow.appendChild(h("th", "", label));
  }
  const thead = h("thead");
  thead.appendChild(headRow);
  const tbody = h("tbody");
  table.append(thead, tbody);
  wrap.appendChild(table);
  const foot = h("div", "mlfm-ds-foot");
  const prev = h("button", "mlfm-ds-prev", "‹ Prev");
  const pageNo = h("span", "mlfm-ds-page");
  const next = h("button", "mlfm-ds-next", "Next ›");
  prev.addEventListener("click", () => send({ action: "prev" }));
  next.addEventListener("click", () => send({ action: "next" }));
  foot.append(prev, pageNo, next);
  root.append(head, note, error, retryBar, wrap, foot);

  function renderRows() {
    const page = model.get("page") || {};
    const rows = page.rows || [];
    const unsaved = model.get("unsaved") || {};
    tbody.replaceChildren();
    for (const r of rows) {
      const pending = unsaved[r.id];
      const f = (pending && pending.fields) || {};
      const tr = h("tr", `mlfm-ds-row${pending ? " unsaved" : ""}`);
      tr.dataset.id = r.id;
      const resp = editor("mlfm-ds-resp", f.expected_response ?? r.expected_response, "expected response");
      const facts = editor("mlfm-ds-facts", asText(f.expected_facts ?? r.expected_facts), "one fact per line");
      const guide = editor("mlfm-ds-guide", asText(f.guidelines ?? r.guidelines), "one guideline per line");
      const save = h("button", "mlfm-ds-save", "Save");
      const state = h("div", "mlfm-ds-state", pending ? `unsaved: ${pending.reason}` : "");
      const markDirty = () => {
        tr.classList.add("dirty");
        if (!pending) state.textContent = "edited, not saved";
      };
      for (const area of [resp, facts, guide]) area.addEventListener("input", markDirty);
      save.addEventListener("click", () =>
        send({
          action: "save",
          record_id: r.id,
          fields: { expected_response: resp.value, expected_facts: lines(facts.value), guidelines: lines(guide.value) },
        }),
      );
      const inputs = h("td", "mlfm-ds-pv mlfm-ds-inputs", r.inputs);
      const outputs = h("td", "mlfm-ds-pv mlfm-ds-outputs", r.outputs);
      if (r.other) outputs.appendChild(h("div", "mlfm-ds-other", `other expectations: ${r.other}`));
      const src = h("td", "mlfm-ds-src");
      if (r.source_trace) {
        const open = h("button", "mlfm-ds-open", r.source_trace);
        open.title = "open the source trace";
        open.addEventListener("click", () => send({ action: "open", trace_id: r.source_trace }));
        src.appendChild(open);
      }
      const tdResp = h("td");
      tdResp.appendChild(resp);
      const tdFacts = h("td");
      tdFacts.appendChild(facts);
      const tdGuide = h("td");
      tdGuide.appendChild(guide);
      const tdSave = h("td", "mlfm-ds-act");
      tdSave.append(save, state);
      tr.append(inputs, outputs, tdResp, tdFacts, tdGuide, src, tdSave);
      tbody.appendChild(tr);
    }
    if (!rows.length) {
      const tr = h("tr");
      const td = h("td", "", "No records.");
      td.colSpan = 7;
      tr.appendChild(td);
      tbody.appendChild(tr);
    }
    const start = page.start || 0;
    const span = rows.length ? `records ${start + 1}–${start + rows.length} of ${page.total}` : "no records";
    head.textContent = `Dataset ${page.name || ""} · ${span}`;
    pageNo.textContent = `page ${page.page || 1} of ${page.pages || 1}`;
    prev.disabled = (page.page || 1) <= 1;
    next.disabled = (page.page || 1) >= (page.pages || 1);
    const n = Object.keys(unsaved).length;
    retryBar.style.display = n ? "" : "none";
    retryText.textContent = n ? `${n} edit${n === 1 ? "" : "s"} not saved. ` : "";
  }

  function renderNote() {
    note.textContent = model.get("note") || "";
    const text = model.get("error") || "";
    error.textContent = text;
    error.style.display = text ? "" : "none";
  }

  const done = () => root.classList.remove("busy");
  const onRows = () => { renderRows(); done(); };
  const onNote = () => { renderNote(); done(); };
  const onMsg = () => done();
  model.on("change:page", onRows);
  model.on("change:unsaved", onRows);
  model.on("change:note", onNote);
  model.on("change:error", onNote);
  model.on("msg:custom", onMsg);
  renderRows();
  renderNote();
  return () => {
    model.off("change:page", onRows);
    model.off("change:unsaved", onRows);
    model.off("change:note", onNote);
    model.off("change:error", onNote);
    model.off("msg:custom", onMsg);
  };
}

function asText(value) {
  return Array.isArray(value) ? value.join("\n") : String(value ?? "");
}

function lines(text) {
  return text.split("\n").map((s) => s.trim()).filter(Boolean);
}

export default { render };
