// Trace view: a virtualized span tree with a waterfall beside it and a details pane.
//
// Synced traits (the Python side is mlflow_magics/views/trace_widget.py):
//   reads  trace             {trace_id, name, status, duration_ms, tokens, span_count,
//                             spans: {id[], parent[], name[], type[], status[], start[], dur[], tokens[]}}
//                            rows are in depth-first order; parent[i] is a row index or -1
//   reads  _detail           {span_id, name, type, status, status_message, duration_ms,
//                             inputs/outputs/attributes: {text, size, truncated},
//                             events: [{name, time_ns, attributes}], event_count, exception}
//   writes selected_span_id  the span whose details to show (Python answers with _detail)
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
  // errBefore[i]: error rows before row i, so a subtree's errors are errBefore[end] - errBefore[i+1]
  const errBefore = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    const err = spans.status[i] === "ERROR";
    if (err) errors.push(i);
    errBefore[i + 1] = errBefore[i] + (err ? 1 : 0);
  }

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
  left.append(cols, scroller);
  const pane = h("div", "mlfm-detail");
  pane.append(h("div", "mlfm-dim mlfm-hint", "Click a span to see its inputs, outputs, attributes and events."));
  body.append(left, pane);
  root.append(body);
  el.append(root);

  function recompute() {
    const v = [];
    let i = 0;
    while (i < n) {
      v.push(i);
      i = collapsed[i] ? end[i] : i + 1;
    }
    visible = v;
    spacer.style.height = `${visible.length * ROW}px`;
    const height = Math.min(visible.length * ROW + 2, 440);
    scroller.style.height = `${height}px`;
    // The details pane scrolls within the tree's height (never less than 260 px), so
    // selecting a span never makes the cells below jump.
    pane.style.height = `${Math.max(height + 20, 260)}px`;
  }

  function row(i, pos) {
    const r = h("div", "mlfm-row");
    if (spans.status[i] === "ERROR") r.classList.add("err");
    if (i === selected) r.classList.add("sel");
    r.style.top = `${pos * ROW}px`;
    r.dataset.spanId = spans.id[i];
    r.dataset.row = String(i);
    r.setAttribute("role", "treeitem");
    const name = h("span", "mlfm-name");
    name.style.paddingLeft = `${Math.min(depth[i], 40) * 14}px`;
    const tog = h("span", "mlfm-toggle", kids[i] ? (collapsed[i] ? "▸" : "▾") : "");
    if (kids[i]) tog.dataset.toggle = "1";
    name.append(tog, h("span", "mlfm-label", spans.name[i]));
    if (spans.tokens[i]) name.append(h("span", "mlfm-tok", `${spans.tokens[i].toLocaleString()} tok`));
    if (kids[i] && collapsed[i]) {
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
  recompute();
  paint();
  if (model.get("selected_span_id")) {
    onSelected();
    showDetail();
  }

  return () => {
    model.off("change:_detail", showDetail);
    model.off("change:selected_span_id", onSelected);
    if (frame) cancelAnimationFrame(frame);
  };
}

export default { render };
