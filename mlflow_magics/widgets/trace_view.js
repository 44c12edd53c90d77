// Trace view: a virtualized span tree with a waterfall beside it and a details pane.
//
// Synced traits (the Python side is mlflow_magics/views/trace_widget.py):
//   reads  trace             {trace_id, name, status, duration_ms, tokens, cost, span_count,
//                             spans: {id[], parent[], name[], type[], status[], start[], dur[],
//                                     tokens[], cost[]}}
//                            rows are in depth-first order; parent[i] is a row index or -1
//   reads  _detail           {span_id, name, type, status, status_message, duration_ms,
//                             inputs/outputs/attributes: {text, size, truncated},
//                             events: [{name, time_ns, attributes}], event_count, exception}
//   reads  _matches          {query, rows[], capped}: Python's answer to `query` (rows whose
//                            name, type, inputs or outputs contain it); {} without a query
//   writes selected_span_id  the span whose details to show (Python answers with _detail)
//   r/w    query             the search box's text, sent when typing pauses or on Enter
//   r/w    span_type_filter  the type picked in the type filter ("" for all)
//
// Search and the type filter show the matching rows plus their ancestors. Names and types are
// matched here at once as the user types; payload text only in Python, where the payloads are.
//
// Every value from the trace is untrusted: it reaches the DOM through textContent only.

const ROW = 22;
const OVERSCAN = 12;

/** @param {string} tag @param {string} [cls] @param {string} [text] */
function h(tag, cls, text) {
  const el = document.createElement(tag);
  if (cls) el.className = cls;
  if (text !== undefined && text !== null) el.textContent = String(text);
  return el;
}

function fmtDuration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "?";
  if (ms < 0.1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 1000) return ms < 100 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(2)} s`;
  const m = Math.floor(s / 60);
  return `${m} m ${String(Math.floor(s % 60)).padStart(2, "0")} s`;
}

function fmtSize(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function fmtCost(usd) {
  if (usd >= 1) return `$${usd.toFixed(2)}`;
  if (usd >= 0.01) return `$${usd.toFixed(3)}`;
  return usd ? `$${Number(usd.toPrecision(2))}` : "$0"; // $0.001, as Python's :.2g
}

function fmtTokens(t) {
  if (!t) return "";
  const total = t.total_tokens ?? Object.values(t).reduce((a, b) => a + b, 0);
  let s = `${total.toLocaleString()} tokens`;
  if ("input_tokens" in t || "output_tokens" in t) {
    s += ` (in ${(t.input_tokens ?? 0).toLocaleString()} / out ${(t.output_tokens ?? 0).toLocaleString()})`;
  }
  return s;
}

/** Precomputed tree shape: depth, end of each subtree, child counts. */
function shape(spans) {
  const n = spans.parent.length;
  const depth = new Int32Array(n);
  const end = new Int32Array(n);
  const kids = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const p = spans.parent[i];
    if (p >= 0) {
      depth[i] = depth[p] + 1;
      kids[p] += 1;
    }
  }
  // depth-first order: a subtree ends at the next row that is not deeper
  const stack = [];
  for (let i = 0; i < n; i++) {
    while (stack.length && depth[stack[stack.length - 1]] >= depth[i]) end[stack.pop()] = i;
    stack.push(i);
  }
  while (stack.length) end[stack.pop()] = n;
  return { n, depth, end, kids };
}

function render({ model, el }) {
  const trace = model.get("trace") || { spans: { id: [], parent: [] } };
  const spans = trace.spans;
  const { n, depth, end, kids } = shape(spans);
  const total = Math.max(
    trace.duration_ms || 0,
    ...(n ? [spans.start.reduce((m, s, i) => Math.max(m, s + spans.dur[i]), 0)] : [0]),
  ) || 1;
  const collapsed = new Uint8Array(n);
  // Big traces open two levels deep; small ones open fully.
  if (n > 2000) for (let i = 0; i < n; i++) if (depth[i] >= 1 && kids[i]) collapsed[i] = 1;
  const indexOf = new Map(spans.id.map((id, i) => [id, i]));
  const errors = [];
  // Prefix sums over depth-first order: a subtree is rows i..end[i]-1, so its errors are
  // errBefore[end] - errBefore[i+1] and its tokens tokBefore[end] - tokBefore[i].
  const errBefore = new Int32Array(n + 1);
  const tokBefore = new Float64Array(n + 1);
  const costBefore = new Float64Array(n + 1);
  const costs = spans.cost || [];
  for (let i = 0; i < n; i++) {
    const err = spans.status[i] === "ERROR";
    if (err) errors.push(i);
    errBefore[i + 1] = errBefore[i] + (err ? 1 : 0);
    tokBefore[i + 1] = tokBefore[i] + (spans.tokens[i] || 0);
    costBefore[i + 1] = costBefore[i] + (costs[i] || 0);
  }

  // Search / type filter state. hit[i]: row i matches; keep[i]: it matches or has a match below.
  let query = "";
  let typeFilter = "";
  let searchRows = null; // rows matching `query` (names/types locally, then Python's answer)
  let answered = false; // searchRows is Python's answer for `query`
  let capped = false;
  let hit = null;
  let keep = null;
  let matchList = [];
  let lowerNames = null;
  let lowerTypes = null;

  let visible = [];
  let selected = -1;

  const root = h("div", "mlfm-tv");
  root.tabIndex = 0;

  // header
  const hdr = h("div", "mlfm-hdr");
  hdr.append(h("b", "mlfm-title", trace.name));
  hdr.append(h("span", "mlfm-id", trace.trace_id));
  hdr.append(h("span", `mlfm-badge ${trace.status === "ERROR" ? "err" : ""}`, trace.status));
  hdr.append(h("span", "mlfm-dur", fmtDuration(trace.duration_ms)));
  hdr.append(h("span", "mlfm-dim mlfm-count", `${n.toLocaleString()} span${n === 1 ? "" : "s"}`));
  if (trace.tokens) hdr.append(h("span", "mlfm-dim mlfm-tokens", fmtTokens(trace.tokens)));
  if (trace.cost > 0) hdr.append(h("span", "mlfm-dim mlfm-cost", fmtCost(trace.cost)));
  let errIdx = -1;
  if (errors.length) {
    const jump = h("button", "mlfm-errjump", `${errors.length.toLocaleString()} error${errors.length === 1 ? "" : "s"} ↓`);
    jump.title = "Jump to the next error span";
    jump.addEventListener("click", () => {
      errIdx = (errIdx + 1) % errors.length;
      reveal(errors[errIdx]);
      select(errors[errIdx]);
    });
    hdr.append(jump);
  }
  root.append(hdr);

  // toolbar: search box, type filter, match count, previous / next match
  const tools = h("div", "mlfm-tools");
  const box = h("input", "mlfm-search");
  box.type = "search";
  box.placeholder = "Search spans: name, type, inputs, outputs";
  box.setAttribute("aria-label", "Search spans");
  const typeSel = h("select", "mlfm-typesel");
  typeSel.setAttribute("aria-label", "Span type");
  typeSel.append(new Option("All types", ""));
  for (const t of [...new Set(spans.type)].sort()) typeSel.append(new Option(String(t), String(t)));
  const count = h("span", "mlfm-dim mlfm-matches");
  const prev = h("button", "mlfm-prev", "↑");
  prev.title = "Previous match";
  const next = h("button", "mlfm-next", "↓");
  next.title = "Next match";
  tools.append(box, typeSel, count, prev, next);

  const body = h("div", "mlfm-body");
  const left = h("div", "mlfm-left");
  const cols = h("div", "mlfm-cols");
  cols.append(h("span", "", "Span"), h("span", "", "Type"), h("span", "mlfm-r", "Duration"));
  const axis = h("span", "mlfm-axis");
  axis.append(h("span", "", "0 ms"), h("span", "", fmtDuration(total)));
  cols.append(axis);
  const scroller = h("div", "mlfm-tree");
  scroller.setAttribute("role", "tree");
  const spacer = h("div", "mlfm-spacer");
  scroller.append(spacer);
  left.append(tools, cols, scroller);
  const pane = h("div", "mlfm-detail");
  pane.append(h("div", "mlfm-dim mlfm-hint", "Click a span to see its inputs, outputs, attributes and events."));
  body.append(left, pane);
  root.append(body);
  el.append(root);

  function recompute() {
    const v = [];
    let i = 0;
    if (keep) {
      // filtered: every kept row, whatever is collapsed, so no match hides inside a fold
      for (i = 0; i < n; i++) if (keep[i]) v.push(i);
    } else {
      while (i < n) {
        v.push(i);
        i = collapsed[i] ? end[i] : i + 1;
      }
    }
    visible = v;
    spacer.style.height = `${visible.length * ROW}px`;
    const height = Math.min(visible.length * ROW + 2, 440);
    scroller.style.height = `${height}px`;
    // The details pane scrolls within the tree's height (never less than 260 px), so
    // selecting a span never makes the cells below jump.
    pane.style.height = `${Math.max(height + 20, 260)}px`;
  }

  function label(i) {
    const text = String(spans.name[i]);
    const el = h("span", "mlfm-label");
    const at = query && hit && hit[i] ? text.toLowerCase().indexOf(query.toLowerCase()) : -1;
    if (at < 0) {
      el.textContent = text;
      return el;
    }
    // the matched part in a <mark>, every piece still set as text
    el.append(document.createTextNode(text.slice(0, at)));
    el.append(h("mark", "", text.slice(at, at + query.length)));
    el.append(document.createTextNode(text.slice(at + query.length)));
    return el;
  }

  function row(i, pos) {
    const r = h("div", "mlfm-row");
    if (spans.status[i] === "ERROR") r.classList.add("err");
    if (i === selected) r.classList.add("sel");
    if (hit) r.classList.add(hit[i] ? "hit" : "ctx");
    r.style.top = `${pos * ROW}px`;
    r.dataset.spanId = spans.id[i];
    r.dataset.row = String(i);
    r.setAttribute("role", "treeitem");
    const name = h("span", "mlfm-name");
    name.style.paddingLeft = `${Math.min(depth[i], 40) * 14}px`;
    const folds = kids[i] && !keep; // a filtered tree shows no folds
    const tog = h("span", "mlfm-toggle", folds ? (collapsed[i] ? "▸" : "▾") : "");
    if (folds) tog.dataset.toggle = "1";
    name.append(tog, label(i));
    if (spans.tokens[i]) name.append(h("span", "mlfm-tok", `${spans.tokens[i].toLocaleString()} tok`));
    if (folds && collapsed[i]) {
      name.append(h("span", "mlfm-dim mlfm-hidden", ` +${(end[i] - i - 1).toLocaleString()}`));
      const inside = errBefore[end[i]] - errBefore[i + 1];
      if (inside) name.append(h("span", "mlfm-errin", ` ${inside.toLocaleString()} error${inside === 1 ? "" : "s"} inside`));
    }
    const ty = h("span", "mlfm-type", spans.type[i]);
    const du = h("span", "mlfm-r mlfm-ms", fmtDuration(spans.dur[i]));
    const wf = h("span", "mlfm-wf");
    const bar = h("i", "mlfm-bar");
    bar.style.left = `${Math.max(0, Math.min(100, (spans.start[i] / total) * 100))}%`;
    bar.style.width = `${Math.max(0, Math.min(100, (spans.dur[i] / total) * 100))}%`;
    wf.append(bar);
    r.append(name, ty, du, wf);
    r.title = `${spans.name[i]} · ${spans.type[i]} · ${spans.status[i]} · ${fmtDuration(spans.dur[i])}`;
    return r;
  }

  let frame = 0;
  function paint() {
    frame = 0;
    const top = scroller.scrollTop;
    const height = scroller.clientHeight || 440;
    const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
    const last = Math.min(visible.length, Math.ceil((top + height) / ROW) + OVERSCAN);
    const frag = document.createDocumentFragment();
    for (let p = first; p < last; p++) frag.append(row(visible[p], p));
    spacer.replaceChildren(frag);
  }
  function schedule() {
    if (!frame) frame = requestAnimationFrame(paint);
  }

  function reveal(i) {
    for (let p = spans.parent[i]; p >= 0; p = spans.parent[p]) collapsed[p] = 0;
    if (keep && !keep[i]) clearSearch(); // a row the filter hides: show everything again
    recompute();
    const pos = visible.indexOf(i);
    const top = pos * ROW;
    if (top < scroller.scrollTop || top > scroller.scrollTop + scroller.clientHeight - ROW) {
      scroller.scrollTop = Math.max(0, top - ROW * 3);
    }
    paint();
  }

  function select(i) {
    if (i < 0 || i >= n) return;
    if (i === selected && model.get("selected_span_id") === spans.id[i]) {
      reveal(i); // already shown: setting the same id again would send nothing
      return;
    }
    selected = i;
    pane.replaceChildren(h("div", "mlfm-dim mlfm-loading", `Loading ${spans.name[i]}…`));
    model.set("selected_span_id", spans.id[i]);
    model.save_changes();
    paint();
  }

  function localRows(q) {
    // names and types are here already: match them at once, before Python answers
    if (!lowerNames) {
      lowerNames = spans.name.map((x) => String(x).toLowerCase());
      lowerTypes = spans.type.map((x) => String(x).toLowerCase());
    }
    const needle = q.toLowerCase();
    const rows = [];
    for (let i = 0; i < n; i++) {
      if (lowerNames[i].includes(needle) || lowerTypes[i].includes(needle)) rows.push(i);
    }
    return rows;
  }

  function applyFilter() {
    if (!query && !typeFilter) {
      hit = keep = null;
      matchList = [];
    } else {
      hit = new Uint8Array(n);
      keep = new Uint8Array(n);
      matchList = [];
      const consider = (i) => {
        if (typeFilter && spans.type[i] !== typeFilter) return;
        hit[i] = 1;
        matchList.push(i);
        for (let p = i; p >= 0 && !keep[p]; p = spans.parent[p]) keep[p] = 1;
      };
      if (query) for (const i of searchRows || []) consider(i);
      else for (let i = 0; i < n; i++) consider(i);
    }
    if (!query && !typeFilter) count.textContent = "";
    else {
      const m = matchList.length;
      const more = query && capped ? "+" : "";
      const pending = query && !answered ? " (searching text…)" : "";
      count.textContent = `${m.toLocaleString()}${more} match${m === 1 && !more ? "" : "es"}${pending}`;
    }
    prev.disabled = next.disabled = matchList.length === 0;
    recompute();
    paint();
  }

  function useAnswer() {
    const m = model.get("_matches") || {};
    if (query && m.query === query) {
      searchRows = m.rows || [];
      capped = !!m.capped;
      answered = true;
      return true;
    }
    return false;
  }

  function setQuery(q) {
    query = q;
    answered = false;
    capped = false;
    searchRows = q ? localRows(q) : null;
    useAnswer();
    applyFilter();
  }

  let sendTimer = 0;
  function sendQuery() {
    clearTimeout(sendTimer);
    sendTimer = 0;
    if (model.get("query") === query) {
      if (useAnswer()) applyFilter();
      return;
    }
    model.set("query", query);
    model.save_changes();
  }

  function clearSearch() {
    box.value = "";
    typeSel.value = "";
    typeFilter = "";
    setQuery("");
    sendQuery();
    model.set("span_type_filter", "");
    model.save_changes();
  }

  function jump(step) {
    if (!matchList.length) return;
    let k;
    if (step > 0) {
      k = matchList.findIndex((i) => i > selected);
      if (k < 0) k = 0;
    } else {
      k = matchList.findLastIndex((i) => i < selected);
      if (k < 0) k = matchList.length - 1;
    }
    reveal(matchList[k]);
    select(matchList[k]);
  }

  box.addEventListener("input", () => {
    setQuery(box.value);
    clearTimeout(sendTimer);
    sendTimer = setTimeout(sendQuery, 300);
  });
  box.addEventListener("keydown", (ev) => {
    ev.stopPropagation(); // typing here is not a notebook shortcut or a tree move
    if (ev.key === "Enter") {
      sendQuery();
      if (ev.shiftKey) jump(-1);
      else if (answered) jump(1);
    } else if (ev.key === "Escape") {
      clearSearch();
    }
  });
  typeSel.addEventListener("change", () => {
    typeFilter = typeSel.value;
    model.set("span_type_filter", typeFilter);
    model.save_changes();
    applyFilter();
  });
  prev.addEventListener("click", () => jump(-1));
  next.addEventListener("click", () => jump(1));

  function onQuery() {
    const q = model.get("query") || "";
    if (q === query) {
      if (useAnswer()) applyFilter();
      return;
    }
    box.value = q;
    setQuery(q);
  }
  function onMatches() {
    if (useAnswer()) applyFilter();
  }
  function onTypeFilter() {
    const t = model.get("span_type_filter") || "";
    if (t === typeFilter) return;
    typeFilter = t;
    typeSel.value = t;
    applyFilter();
  }

  scroller.addEventListener("scroll", schedule);
  scroller.addEventListener("click", (ev) => {
    const r = ev.target.closest(".mlfm-row");
    if (!r) return;
    const i = Number(r.dataset.row);
    if (ev.target.dataset.toggle) {
      collapsed[i] = collapsed[i] ? 0 : 1;
      recompute();
      paint();
      return;
    }
    select(i);
  });
  root.addEventListener("keydown", (ev) => {
    if (ev.key !== "ArrowDown" && ev.key !== "ArrowUp") return;
    ev.preventDefault();
    const pos = visible.indexOf(selected);
    const next = visible[Math.max(0, Math.min(visible.length - 1, pos + (ev.key === "ArrowDown" ? 1 : -1)))];
    if (next !== undefined) {
      reveal(next);
      select(next);
    }
  });

  function block(label, payload) {
    if (!payload || !payload.size) return null;
    const sec = h("div", "mlfm-sec");
    const head = h("div", "mlfm-sechead", label);
    if (payload.truncated) {
      head.append(h("span", "mlfm-trunc", ` showing ${fmtSize(payload.text.length)} of ${fmtSize(payload.size)}`));
    }
    sec.append(head, h("pre", "mlfm-pre", payload.text));
    return sec;
  }

  function showDetail() {
    const d = model.get("_detail");
    if (!d || !d.span_id) return;
    if (d.error) {
      pane.replaceChildren(h("div", "mlfm-err", d.error));
      return;
    }
    const parts = [];
    const title = h("div", "mlfm-dtitle");
    title.append(h("b", "", d.name), h("span", "mlfm-type", d.type));
    title.append(h("span", `mlfm-badge ${d.status === "ERROR" ? "err" : ""}`, d.status));
    title.append(h("span", "mlfm-dur", fmtDuration(d.duration_ms)));
    parts.push(title);
    const i = indexOf.get(d.span_id);
    if (i !== undefined) {
      const tokens = tokBefore[end[i]] - tokBefore[i];
      const cost = costBefore[end[i]] - costBefore[i];
      if (kids[i] || tokens || cost) {
        const inside = end[i] - i;
        let text = `subtree: ${tokens.toLocaleString()} tokens`;
        if (cost > 0) text += `, ${fmtCost(cost)}`;
        text += ` · ${inside.toLocaleString()} span${inside === 1 ? "" : "s"}`;
        parts.push(h("div", "mlfm-dim mlfm-rollup", text));
      }
    }
    if (d.exception) {
      const ex = h("div", "mlfm-exc");
      ex.append(h("b", "", `${d.exception.type}: `), h("span", "", d.exception.message));
      if (d.exception.stacktrace) {
        const stack = h("details", "mlfm-stack");
        stack.append(h("summary", "", "Stack trace"), h("pre", "mlfm-pre", d.exception.stacktrace));
        ex.append(stack);
      }
      parts.push(ex);
    } else if (d.status === "ERROR" && d.status_message) {
      parts.push(h("div", "mlfm-exc", d.status_message));
    }
    for (const [label, key] of [["Inputs", "inputs"], ["Outputs", "outputs"], ["Attributes", "attributes"]]) {
      const b = block(label, d[key]);
      if (b) parts.push(b);
    }
    const events = (d.events || []).filter((e) => !(d.exception && e.name === "exception"));
    if (events.length) {
      const sec = h("div", "mlfm-sec");
      sec.append(h("div", "mlfm-sechead", `Events (${events.length})`));
      for (const e of events) {
        const det = h("details", "mlfm-event");
        det.append(h("summary", "", e.name));
        det.append(h("pre", "mlfm-pre", e.attributes.text));
        sec.append(det);
      }
      parts.push(sec);
    }
    pane.replaceChildren(...parts);
    pane.scrollTop = 0;
  }

  function onSelected() {
    const id = model.get("selected_span_id");
    const i = indexOf.get(id);
    if (i !== undefined && i !== selected) {
      selected = i;
      reveal(i);
    }
  }

  model.on("change:_detail", showDetail);
  model.on("change:selected_span_id", onSelected);
  model.on("change:query", onQuery);
  model.on("change:_matches", onMatches);
  model.on("change:span_type_filter", onTypeFilter);
  prev.disabled = next.disabled = true;
  typeFilter = model.get("span_type_filter") || "";
  typeSel.value = typeFilter;
  box.value = model.get("query") || "";
  if (box.value || typeFilter) setQuery(box.value);
  recompute();
  paint();
  if (model.get("selected_span_id")) {
    onSelected();
    showDetail();
  }

  return () => {
    model.off("change:_detail", showDetail);
    model.off("change:selected_span_id", onSelected);
    model.off("change:query", onQuery);
    model.off("change:_matches", onMatches);
    model.off("change:span_type_filter", onTypeFilter);
    clearTimeout(sendTimer);
    if (frame) cancelAnimationFrame(frame);
  };
}

export default { render };
