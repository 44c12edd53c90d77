// Trace view: a virtualized span tree with a waterfall beside it and a details pane.
//
// The contract with Python is ./model.d.ts. The browser sets `selected_span_id` (the root on
// first paint); Python answers with that span's bounded details in `_detail`, so a 50,000-span
// trace's payloads travel one span at a time. The pane shows the span's content as cards
// (messages, tool calls, documents: ../lib/content_view.js) with the raw inputs and outputs one
// click away, and the trace's assessments in a second tab, where the "Add…" form sends the one
// action. Search and the type filter show the matching rows plus their ancestors; names and
// types match here at once as the user types, payload text only in Python (`_matches`, which
// says where each row matched).
//
// The tree is a WAI-ARIA tree: Up/Down/Home/End move the selection, Right opens a fold or goes
// to the first child, Left closes a fold or goes to the parent, Enter/Space open or close.
// Every value from the trace is untrusted: it reaches the DOM as text, or as sanitized
// markdown through ../lib/markdown.js.

import { assessmentForm, assessmentList, verdict } from "../lib/assessments.js";
import { contentView } from "../lib/content_view.js";
import { button, h, lazyDetails, marked, option, plural } from "../lib/dom.js";
import { cost as fmtCost, duration, size as fmtSize, tokens as fmtTokens } from "../lib/format.js";
import { jsonView, parseJson } from "../lib/json.js";
import { clip, printable } from "../lib/text.js";
import { indent, shape, treeKey, visibleRows } from "../lib/tree.js";
import { widget } from "../lib/widget.js";
import "./style.css";

/** Where a search matched, in the words of a row label. */
const PAYLOAD_WHERE = new Set(["inputs", "outputs", "attributes"]);
/** Assessment chips the header shows before "+N more". */
const HEADER_CHIPS = 6;

/**
 * Split attributes into the span's own and MLflow's `mlflow.*` bookkeeping ones (older Python
 * sides sent them all in `attributes`).
 * @param {import("./model").Payload | undefined} attributes @param {import("./model").Payload | undefined} internal
 * @returns {{own: unknown, internal: Record<string, unknown>, ownText: boolean}}
 */
export function splitAttributes(attributes, internal) {
  const parsedOwn = attributes && attributes.size ? parseJson(attributes.text) : {};
  const parsedInternal = internal && internal.size ? parseJson(internal.text) : {};
  /** @type {Record<string, unknown>} */
  const inner = parsedInternal && typeof parsedInternal === "object" && !Array.isArray(parsedInternal) ? { ...parsedInternal } : {};
  if (internal && internal.size && inner !== parsedInternal && !Object.keys(inner).length) inner["(unreadable)"] = internal.text;
  if (!parsedOwn || typeof parsedOwn !== "object" || Array.isArray(parsedOwn)) {
    // cut off or not an object: shown as it came
    return { own: attributes ? attributes.text : "", internal: inner, ownText: true };
  }
  /** @type {Record<string, unknown>} */
  const own = {};
  for (const [k, v] of Object.entries(parsedOwn)) {
    if (k.startsWith("mlflow.")) inner[k] = v;
    else own[k] = v;
  }
  return { own, internal: inner, ownText: false };
}

const ROW = 22;
const OVERSCAN = 12;
const INDENT_PX = 12;
let views = 0;

/** @type {import("@anywidget/types").Render<import("./model").Model>} */
function render({ model, el }) {
  const uid = `mlfm-tv-${++views}`;
  const trace = model.get("trace") || { spans: { id: [], parent: [] } };
  const spans = trace.spans;
  const tree = shape(spans.parent);
  const { n, depth, end, kids } = tree;
  const total =
    Math.max(trace.duration_ms || 0, n ? spans.start.reduce((m, s, i) => Math.max(m, s + spans.dur[i]), 0) : 0) || 1;
  const collapsed = new Uint8Array(n);
  // Big traces open two levels deep; small ones open fully.
  if (n > 2000) for (let i = 0; i < n; i++) if (depth[i] >= 1 && kids[i]) collapsed[i] = 1;
  const indexOf = new Map(spans.id.map((id, i) => [id, i]));
  /** @type {number[]} */
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
  /** @type {number[] | null} */
  let searchRows = null; // rows matching `query` (names/types locally, then Python's answer)
  /** @type {string[]} */
  let searchWhere = []; // where each of searchRows matched
  /** @type {Map<number, string>} */
  let whereOf = new Map();
  let answered = false; // searchRows is Python's answer for `query`
  let capped = false;
  /** @type {Uint8Array | null} */
  let hit = null;
  /** @type {Uint8Array | null} */
  let keep = null;
  /** @type {number[]} */
  let matchList = [];
  /** @type {string[] | null} */
  let lowerNames = null;
  /** @type {string[] | null} */
  let lowerTypes = null;

  /** @type {number[]} */
  let visible = [];
  let selected = -1;

  const view = widget(model, el, "mlfm-tv");
  const root = view.root;
  /** @param {import("./model").Action} msg */
  const send = (msg) => view.send(msg);

  // header
  const hdr = h("div", "mlfm-hdr");
  hdr.append(h("b", "mlfm-title", trace.name), h("span", "mlfm-id", trace.trace_id));
  hdr.append(h("span", `mlfm-badge ${trace.status === "ERROR" ? "err" : ""}`, trace.status));
  hdr.append(h("span", "mlfm-dur", duration(trace.duration_ms)));
  hdr.append(h("span", "mlfm-dim mlfm-count", plural(n, "span")));
  if (trace.tokens) hdr.append(h("span", "mlfm-dim mlfm-tokens", fmtTokens(trace.tokens)));
  if (trace.cost && trace.cost > 0) hdr.append(h("span", "mlfm-dim mlfm-cost", fmtCost(trace.cost)));
  let errIdx = -1;
  if (errors.length) {
    const jump = h("button", "mlfm-errjump", `${plural(errors.length, "error")} ↓`);
    jump.type = "button";
    jump.title = "Jump to the next error span";
    jump.addEventListener("click", () => {
      errIdx = (errIdx + 1) % errors.length;
      reveal(errors[errIdx]);
      select(errors[errIdx]);
    });
    hdr.append(jump);
  }
  root.append(hdr);
  // what the reader must know before trusting the tree (the static tiers say the same)
  const unended = (trace.unended || []).length;
  for (const problem of [trace.problem, unended ? `${plural(unended, "span")} never ended (shown as UNENDED)` : ""]) {
    if (!problem) continue;
    const line = h("div", "mlfm-problem", printable(problem));
    line.setAttribute("role", "note");
    root.append(line);
  }
  // the trace's assessments at a glance; each chip opens the Assessments tab
  const asChips = h("div", "mlfm-aschips");
  asChips.setAttribute("aria-label", "Assessments");
  root.append(asChips);
  if (trace.request_text || trace.response_text) {
    const qa = h("div", "mlfm-qa");
    for (const [tag, text, word] of /** @type {const} */ ([["Q", trace.request_text, "Request"], ["A", trace.response_text, "Response"]])) {
      if (!text) continue;
      const line = h("div", "mlfm-qaline");
      const b = h("b", "", `${tag}:`);
      b.title = word;
      line.append(b, h("span", "", clip(printable(text).replace(/\s+/g, " "), 500)));
      line.title = clip(printable(text), 2000);
      qa.append(line);
    }
    root.append(qa);
  }

  // toolbar: search box, type filter, match count, previous / next match
  const tools = h("div", "mlfm-tools");
  const box = h("input", "mlfm-search");
  box.type = "search";
  box.placeholder = "Search spans: name, type, inputs, outputs";
  box.setAttribute("aria-label", "Search spans");
  const typeSel = h("select", "mlfm-typesel");
  typeSel.setAttribute("aria-label", "Span type");
  typeSel.append(option("", "All types"));
  for (const t of [...new Set(spans.type)].sort()) typeSel.append(option(String(t)));
  const count = h("span", "mlfm-dim mlfm-matches");
  count.setAttribute("aria-live", "polite");
  const prev = h("button", "mlfm-prev", "↑");
  prev.type = "button";
  prev.title = "Previous match";
  const next = h("button", "mlfm-next", "↓");
  next.type = "button";
  next.title = "Next match";
  tools.append(box, typeSel, count, prev, next);

  const body = h("div", "mlfm-body");
  const left = h("div", "mlfm-left");
  const cols = h("div", "mlfm-cols");
  cols.setAttribute("aria-hidden", "true");
  const axis = h("span", "mlfm-axis");
  axis.append(h("span", "", "0"), h("span", "", duration(total)));
  cols.append(h("span", "", "Span"), h("span", "", "Type"), h("span", "mlfm-r", "Duration"), axis);
  const scroller = h("div", "mlfm-tree");
  scroller.setAttribute("role", "tree");
  scroller.setAttribute("aria-label", printable(`Spans of ${trace.name}`));
  scroller.tabIndex = 0;
  const spacer = h("div", "mlfm-spacer");
  spacer.setAttribute("role", "none");
  scroller.append(spacer);
  left.append(tools, cols, scroller);
  // details: a tab for the selected span, a tab for the trace's assessments
  const detail = h("div", "mlfm-detail");
  const tabs = h("div", "mlfm-tabs");
  tabs.setAttribute("role", "tablist");
  tabs.setAttribute("aria-label", "Details");
  const pane = h("div", "mlfm-panel mlfm-spanpanel");
  pane.setAttribute("aria-live", "polite");
  pane.append(h("div", "mlfm-dim mlfm-hint", "Click a span, or use the arrow keys, to see its inputs, outputs, attributes and events."));
  const asPanel = h("div", "mlfm-panel mlfm-aspanel");
  /** @type {Record<"span" | "assessments", {tab: HTMLButtonElement, panel: HTMLElement}>} */
  const tabOf = {
    span: { tab: h("button", "mlfm-tab mlfm-tab-span", "Span"), panel: pane },
    assessments: { tab: h("button", "mlfm-tab mlfm-tab-as", "Assessments"), panel: asPanel },
  };
  for (const [key, { tab, panel }] of Object.entries(tabOf)) {
    tab.type = "button";
    tab.id = `${uid}-tab-${key}`;
    tab.setAttribute("role", "tab");
    tab.setAttribute("aria-controls", `${uid}-panel-${key}`);
    panel.id = `${uid}-panel-${key}`;
    panel.setAttribute("role", "tabpanel");
    panel.setAttribute("aria-labelledby", tab.id);
    tab.addEventListener("click", () => setTab(/** @type {"span" | "assessments"} */ (key)));
    tabs.append(tab);
  }
  // WAI-ARIA tabs: the arrows move between them, Home/End go to the first/last
  tabs.addEventListener("keydown", (ev) => {
    const order = /** @type {const} */ (["span", "assessments"]);
    const at = order.findIndex((k) => tabOf[k].tab === ev.target);
    /** @type {Record<string, number>} */
    const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
    const to = ev.key === "Home" ? 0 : ev.key === "End" ? order.length - 1 : ev.key in step ? (at + step[ev.key] + order.length) % order.length : -1;
    if (at < 0 || to < 0) return;
    ev.preventDefault();
    setTab(order[to], true);
  });
  detail.append(tabs, pane, asPanel);
  body.append(left, detail);
  root.append(body);

  /** @param {"span" | "assessments"} which @param {boolean} [focus] */
  function setTab(which, focus = false) {
    for (const [key, { tab, panel }] of Object.entries(tabOf)) {
      const on = key === which;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
      panel.hidden = !on;
    }
    if (focus) tabOf[which].tab.focus();
  }
  setTab("span");

  // the Assessments tab: the list, and the "Add…" form
  const asHead = h("div", "mlfm-ashdr");
  const asTitle = h("b", "mlfm-astitle", "Assessments");
  const asNote = h("span", "mlfm-dim mlfm-asnote");
  asNote.setAttribute("aria-live", "polite");
  const asList = h("div", "mlfm-asbox");
  const addForm = assessmentForm((msg) => send(msg), {
    onAdded: (name) => {
      asNote.textContent = printable(`Added ${name}.`);
      openForm(false);
      addBtn.focus();
    },
    onCancel: () => {
      openForm(false);
      addBtn.focus();
    },
  });
  const addBtn = button("mlfm-asadd", "Add…", () => openForm(addForm.form.hidden), "Add feedback or an expectation to this trace");
  asHead.append(asTitle, addBtn, asNote);
  asPanel.append(asHead, asList, addForm.form);
  /** @param {boolean} on */
  function openForm(on) {
    addForm.form.hidden = !on;
    addBtn.setAttribute("aria-expanded", String(on));
    if (on) {
      asNote.textContent = "";
      addForm.focus();
    }
  }
  openForm(false);

  function renderAssessments() {
    const list = model.get("assessments") || [];
    const spanName = (/** @type {string} */ id) => {
      const i = indexOf.get(id);
      return i === undefined ? undefined : String(spans.name[i]);
    };
    asList.replaceChildren(assessmentList(list, { spanName }));
    tabOf.assessments.tab.textContent = list.length ? `Assessments (${list.length})` : "Assessments";
    asChips.replaceChildren();
    list.slice(0, HEADER_CHIPS).forEach((a) => {
      const v = a.error ? "error" : verdict(a.value);
      const scalar = ["string", "number", "boolean"].includes(typeof a.value);
      const shown = a.error ? "error" : scalar ? String(a.value) : a.value === null || a.value === undefined ? "" : "…";
      const chip = button(`mlfm-chip mlfm-aschip${v ? ` mlfm-verdict ${v}` : ""}`, "", () => {
        setTab("assessments", true);
        const item = [...asList.querySelectorAll("li[data-id]")].find((li) => /** @type {HTMLElement} */ (li).dataset.id === a.id);
        if (item && item.scrollIntoView) item.scrollIntoView({ block: "nearest" });
      }, "Show the assessments");
      chip.append(h("span", "mlfm-aschipname", printable(a.name)), document.createTextNode(` ${v === "pass" ? "✓ " : v === "fail" ? "✗ " : ""}${clip(printable(shown), 24)}`));
      asChips.append(chip);
    });
    if (list.length > HEADER_CHIPS) {
      asChips.append(button("mlfm-link mlfm-asmore", `+${list.length - HEADER_CHIPS} more`, () => setTab("assessments", true)));
    }
  }

  function recompute() {
    visible = visibleRows(tree, collapsed, keep);
    spacer.style.height = `${visible.length * ROW}px`;
    const height = Math.min(visible.length * ROW + 2, 440);
    scroller.style.height = `${height}px`;
    // The details pane is as tall as what it shows, up to the tree's height (never less than
    // 480 px), and scrolls after that.
    detail.style.setProperty("--mlfm-pane-max", `${Math.max(height + 64, 480)}px`);
  }

  /** The name, the matched part in a <mark>. @param {number} i */
  function label(i) {
    return marked(h("span", "mlfm-label"), String(spans.name[i]), query && hit && hit[i] ? query : "");
  }

  /** @param {number} i @param {number} pos */
  function row(i, pos) {
    const r = h("div", "mlfm-row");
    if (spans.status[i] === "ERROR") r.classList.add("err");
    if (spans.status[i] === "UNENDED") r.classList.add("unended");
    if (i === selected) r.classList.add("sel");
    if (hit) r.classList.add(hit[i] ? "hit" : "ctx");
    r.style.top = `${pos * ROW}px`;
    r.id = `${uid}-${i}`;
    r.dataset.spanId = spans.id[i];
    r.dataset.row = String(i);
    r.setAttribute("role", "treeitem");
    r.setAttribute("aria-level", String(depth[i] + 1));
    r.setAttribute("aria-selected", String(i === selected));
    const folds = kids[i] && !keep; // a filtered tree shows no folds
    if (folds) r.setAttribute("aria-expanded", String(!collapsed[i]));
    const name = h("span", "mlfm-name");
    const { levels, marker } = indent(depth[i]);
    name.style.paddingLeft = `${levels * INDENT_PX}px`;
    if (marker) {
      const deep = h("span", "mlfm-deep", marker);
      deep.title = `depth ${depth[i]}`;
      name.append(deep);
    }
    const tog = h("span", "mlfm-toggle", folds ? (collapsed[i] ? "▸" : "▾") : "");
    if (folds) tog.dataset.toggle = "1";
    name.append(tog, label(i));
    const where = hit && hit[i] ? whereOf.get(i) : undefined;
    if (where && PAYLOAD_WHERE.has(where)) name.append(h("span", "mlfm-where", `in ${where}`));
    if (spans.tokens[i]) name.append(h("span", "mlfm-tok", `${spans.tokens[i].toLocaleString()} tok`));
    if (folds && collapsed[i]) {
      name.append(h("span", "mlfm-dim mlfm-hidden", ` +${(end[i] - i - 1).toLocaleString()}`));
      const inside = errBefore[end[i]] - errBefore[i + 1];
      if (inside) name.append(h("span", "mlfm-errin", ` ${plural(inside, "error")} inside`));
    }
    const ty = h("span", "mlfm-type", spans.type[i]);
    const du = h("span", "mlfm-r mlfm-ms", duration(spans.dur[i]));
    const wf = h("span", "mlfm-wf");
    const bar = h("i", "mlfm-bar");
    bar.style.left = `${Math.max(0, Math.min(100, (spans.start[i] / total) * 100))}%`;
    bar.style.width = `${Math.max(0, Math.min(100, (spans.dur[i] / total) * 100))}%`;
    wf.append(bar);
    r.append(name, ty, du, wf);
    r.title = printable(`${spans.name[i]} · ${spans.type[i]} · ${spans.status[i]} · ${duration(spans.dur[i])}`);
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
    if (selected >= 0 && visible.includes(selected)) scroller.setAttribute("aria-activedescendant", `${uid}-${selected}`);
    else scroller.removeAttribute("aria-activedescendant");
  }
  function schedule() {
    if (!frame) frame = requestAnimationFrame(paint);
  }

  /** @param {number} i */
  function reveal(i) {
    for (let p = spans.parent[i]; p >= 0; p = spans.parent[p]) collapsed[p] = 0;
    if (keep && !keep[i]) clearSearch(); // a row the filter hides: show everything again
    recompute();
    const top = visible.indexOf(i) * ROW;
    if (top < scroller.scrollTop || top > scroller.scrollTop + scroller.clientHeight - ROW) {
      scroller.scrollTop = Math.max(0, top - ROW * 3);
    }
    paint();
  }

  /** @param {number} i */
  function select(i) {
    if (i < 0 || i >= n) return;
    if (i === selected && model.get("selected_span_id") === spans.id[i]) {
      reveal(i); // already shown: setting the same id again would send nothing
      return;
    }
    selected = i;
    setTab("span");
    // keep the pane's height while the span loads, so the cells below do not jump twice
    if (pane.offsetHeight) pane.style.minHeight = `${pane.offsetHeight}px`;
    pane.replaceChildren(h("div", "mlfm-dim mlfm-loading", `Loading ${spans.name[i]}…`));
    model.set("selected_span_id", spans.id[i]);
    model.save_changes();
    reveal(i);
  }

  /** @param {number} i */
  function toggle(i) {
    if (!kids[i] || keep) return;
    collapsed[i] = collapsed[i] ? 0 : 1;
    recompute();
    paint();
  }

  /** @param {string} q */
  function localRows(q) {
    // names and types are here already: match them at once, before Python answers
    if (!lowerNames || !lowerTypes) {
      lowerNames = spans.name.map((x) => String(x).toLowerCase());
      lowerTypes = spans.type.map((x) => String(x).toLowerCase());
    }
    const needle = q.toLowerCase();
    const rows = [];
    const where = [];
    for (let i = 0; i < n; i++) {
      if (lowerNames[i].includes(needle)) where.push("name");
      else if (lowerTypes[i].includes(needle)) where.push("type");
      else continue;
      rows.push(i);
    }
    return { rows, where };
  }

  function applyFilter() {
    if (!query && !typeFilter) {
      hit = keep = null;
      matchList = [];
    } else {
      const hits = new Uint8Array(n);
      const kept = new Uint8Array(n);
      /** @type {number[]} */
      const found = [];
      /** @param {number} i */
      const consider = (i) => {
        if (typeFilter && spans.type[i] !== typeFilter) return;
        hits[i] = 1;
        found.push(i);
        for (let p = i; p >= 0 && !kept[p]; p = spans.parent[p]) kept[p] = 1;
      };
      whereOf = new Map();
      if (query) {
        (searchRows || []).forEach((i, k) => {
          if (searchWhere[k]) whereOf.set(i, searchWhere[k]);
          consider(i);
        });
      } else for (let i = 0; i < n; i++) consider(i);
      hit = hits;
      keep = kept;
      matchList = found;
    }
    if (!query && !typeFilter) count.textContent = "";
    else {
      const m = matchList.length;
      const more = query && capped ? "+" : "";
      const pending = query && !answered ? " (searching text…)" : "";
      count.textContent = `${m.toLocaleString()}${more} match${m === 1 && !more ? "" : "es"}${pending}`;
    }
    // each row says where it matched ("in outputs"); the counter's tooltip sums it up
    count.title = printable(whereSummary());
    prev.disabled = next.disabled = matchList.length === 0;
    recompute();
    paint();
  }

  /** "2 in name, 3 in outputs": where the matches are, so a payload match is never a mystery. */
  function whereSummary() {
    if (!query || !matchList.length) return "";
    /** @type {Map<string, number>} */
    const by = new Map();
    for (const i of matchList) {
      const w = whereOf.get(i);
      if (w) by.set(w, (by.get(w) || 0) + 1);
    }
    if (!by.size) return "";
    return [...by].map(([w, k]) => `${k.toLocaleString()} in ${w}`).join(", ");
  }

  function useAnswer() {
    const m = model.get("_matches") || {};
    if (query && m.query === query) {
      searchRows = m.rows || [];
      searchWhere = m.where || [];
      capped = !!m.capped;
      answered = true;
      return true;
    }
    return false;
  }

  /** @param {string} q */
  function setQuery(q) {
    query = q;
    answered = false;
    capped = false;
    const local = q ? localRows(q) : null;
    searchRows = local ? local.rows : null;
    searchWhere = local ? local.where : [];
    useAnswer();
    applyFilter();
  }

  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let sendTimer;
  function sendQuery() {
    clearTimeout(sendTimer);
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

  /** @param {number} step */
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
    select(matchList[k]);
  }

  box.addEventListener("input", () => {
    setQuery(box.value);
    clearTimeout(sendTimer);
    sendTimer = setTimeout(sendQuery, 300);
  });
  box.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") {
      ev.preventDefault();
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
    const target = /** @type {HTMLElement} */ (ev.target);
    const r = /** @type {HTMLElement | null} */ (target.closest(".mlfm-row"));
    if (!r) return;
    const i = Number(r.dataset.row);
    scroller.focus({ preventScroll: true });
    if (target.dataset.toggle) toggle(i);
    else select(i);
  });
  scroller.addEventListener("keydown", (ev) => {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const move = treeKey(ev.key, { rows: visible, at: selected, parent: spans.parent, kids, collapsed, folds: !keep });
    if (!move) return;
    ev.preventDefault();
    if (move.act === "expand" || move.act === "collapse" || move.act === "activate") toggle(move.to);
    if (move.to !== selected) select(move.to);
  });

  /**
   * A raw payload (inputs, outputs) in the JSON viewer, inside a <details>: open when no
   * content cards stand for it, or when the search matched in it.
   * @param {string} label @param {import("./model").Payload | undefined} payload
   * @param {{open: boolean, mark: string, cls: string, raw: boolean}} o
   */
  function rawBlock(label, payload, o) {
    if (!payload || !payload.size) return null;
    const sum = h("span", "mlfm-sechead");
    sum.append(label);
    if (o.raw) sum.append(h("span", "mlfm-dim mlfm-rawtag", " raw JSON"));
    sum.append(h("span", "mlfm-dim mlfm-size", ` ${fmtSize(payload.size)}`));
    if (payload.truncated) sum.append(h("span", "mlfm-trunc", ` showing ${fmtSize(payload.text.length)} of ${fmtSize(payload.size)}`));
    return lazyDetails(`mlfm-sec mlfm-raw ${o.cls}`, sum, () => jsonView(payload.text, { mark: o.mark }), o.open);
  }

  /** @param {import("./model").Detail} d @param {string} mark @param {string} where */
  function attributeBlocks(d, mark, where) {
    const { own, internal, ownText } = splitAttributes(d.attributes, d.internal_attributes);
    const parts = [];
    const ownCount = ownText ? (own ? 1 : 0) : Object.keys(/** @type {object} */ (own)).length;
    if (ownCount) {
      const sum = h("span", "mlfm-sechead", "Attributes");
      if (!ownText) sum.append(h("span", "mlfm-dim", ` ${ownCount}`));
      parts.push(lazyDetails("mlfm-sec mlfm-attrs", sum, () => jsonView(own, { open: 1, mark }), true));
    }
    const keys = Object.keys(internal);
    if (keys.length) {
      const sum = h("span", "mlfm-sechead", "MLflow attributes");
      sum.append(h("span", "mlfm-dim", ` ${plural(keys.length, "mlflow.* key")}`));
      const open = where === "attributes" && !!mark && JSON.stringify(internal).toLowerCase().includes(mark.toLowerCase());
      parts.push(lazyDetails("mlfm-sec mlfm-internal", sum, () => jsonView(internal, { open: 1, mark }), open));
    }
    return parts;
  }

  function showDetail() {
    const d = model.get("_detail");
    if (!d || !d.span_id) return;
    pane.style.minHeight = "";
    if (d.error) {
      pane.replaceChildren(h("div", "mlfm-error", d.error));
      return;
    }
    const parts = [];
    const title = h("div", "mlfm-dtitle");
    title.append(h("b", "", d.name), h("span", "mlfm-type", d.type));
    title.append(h("span", `mlfm-badge ${d.status === "ERROR" ? "err" : ""}`, d.status));
    title.append(h("span", "mlfm-dur", duration(d.duration_ms)));
    parts.push(title);
    const i = indexOf.get(d.span_id);
    if (i !== undefined) {
      const tokens = tokBefore[end[i]] - tokBefore[i];
      const cost = costBefore[end[i]] - costBefore[i];
      if (kids[i] || tokens || cost) {
        let text = `subtree: ${tokens.toLocaleString()} tokens`;
        if (cost > 0) text += `, ${fmtCost(cost)}`;
        text += ` · ${plural(end[i] - i, "span")}`;
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
    // content cards first; the raw JSON they came from one click away
    const cards = contentView(d.content);
    const rich = !!cards && !cards.classList.contains("meta-only");
    if (cards) parts.push(cards);
    // a search that matched this span's payload opens that payload, the match marked
    const where = query && i !== undefined && hit && hit[i] ? whereOf.get(i) || "" : "";
    const mark = PAYLOAD_WHERE.has(where) ? query : "";
    for (const [label, key] of /** @type {const} */ ([["Inputs", "inputs"], ["Outputs", "outputs"]])) {
      const b = rawBlock(label, d[key], { open: !rich || (!!mark && where === key), mark: where === key ? mark : "", cls: `mlfm-${key}`, raw: rich });
      if (b) parts.push(b);
    }
    parts.push(...attributeBlocks(d, where === "attributes" ? mark : "", where));
    const events = (d.events || []).filter((e) => !(d.exception && e.name === "exception"));
    if (events.length) {
      const sec = h("div", "mlfm-sec");
      sec.append(h("div", "mlfm-sechead", `Events (${events.length})`));
      for (const e of events) {
        sec.append(lazyDetails("mlfm-event", e.name, () => jsonView(e.attributes.text, { open: 1 })));
      }
      parts.push(sec);
    }
    pane.replaceChildren(...parts);
    detail.scrollTop = 0;
  }

  function onSelected() {
    const i = indexOf.get(model.get("selected_span_id"));
    if (i !== undefined && i !== selected) {
      selected = i;
      reveal(i);
    }
  }

  prev.disabled = next.disabled = true;
  typeFilter = model.get("span_type_filter") || "";
  typeSel.value = typeFilter;
  box.value = model.get("query") || "";
  if (box.value || typeFilter) setQuery(box.value);
  const stop = view.start(
    {
      "change:_detail": showDetail,
      "change:selected_span_id": onSelected,
      "change:query": onQuery,
      "change:_matches": onMatches,
      "change:span_type_filter": onTypeFilter,
      "change:assessments": renderAssessments,
    },
    recompute,
    paint,
    renderAssessments,
  );
  if (model.get("selected_span_id")) {
    onSelected();
    showDetail();
  } else if (n) {
    select(0); // the root, as MLflow's trace UI opens
  }

  return () => {
    stop();
    clearTimeout(sendTimer);
    if (frame) cancelAnimationFrame(frame);
  };
}

export default { render };
