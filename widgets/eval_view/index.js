// Evaluation grid: rows arrive as each record's scorers finish; a row expands to its rationales.
//
// The contract with Python is ./model.d.ts. Opening a record's trace and adding the failing rows
// to a dataset are action messages; an opened trace appears in Python's detail area below the
// grid. Every value from a record is untrusted: it reaches the DOM through textContent only.

import { button, field, h, show } from "../lib/dom.js";
import { printable } from "../lib/text.js";
import { widget } from "../lib/widget.js";
import { emptyRow, setSort, sortHeader } from "../lib/table.js";
import { contentView } from "../lib/content_view.js";
import "./style.css";

/** Sort order of verdict kinds when a scorer's failing rows come first. */
export const RANK = { error: 0, fail: 1, text: 2, number: 3, missing: 4, pass: 5 };

/**
 * Rows with `scorer`'s failing (then erroring, …) rows first; ties keep finishing order.
 * @template {{i: number, v: Record<string, [string, ...unknown[]]>}} R
 * @param {R[]} rows @param {string | null} scorer
 */
export function failingFirst(rows, scorer) {
  const copy = rows.slice();
  if (!scorer) return copy;
  /** @param {R} r */
  const rank = (r) => RANK[/** @type {keyof typeof RANK} */ ((r.v[scorer] || ["missing"])[0])] ?? RANK.missing;
  return copy.sort((a, b) => rank(a) - rank(b) || a.i - b.i);
}

/** @type {import("@anywidget/types").Render<import("./model").Model>} */
function render({ model, el }) {
  const view = widget(model, el, "mlfm-ev-w");
  const root = view.root;
  /** @param {import("./model").Action} msg */
  const send = (msg) => view.send(msg);

  const head = h("div", "mlfm-ev-head");
  const status = h("span", "mlfm-ev-status");
  status.setAttribute("aria-live", "polite");
  const bar = h("div", "mlfm-ev-bar");
  const fill = h("div", "mlfm-ev-fill");
  bar.append(fill);
  const link = h("a", "mlfm-ev-link", "open run");
  link.target = "_blank";
  link.rel = "noopener noreferrer";
  head.append(status, link);
  const chips = h("div", "mlfm-ev-chips");
  const { note, error, render: renderNote } = view.status("mlfm-ev");
  const wrap = h("div", "mlfm-scroll mlfm-ev-scroll");
  const table = h("table", "mlfm-grid mlfm-ev-table");
  const thead = h("thead");
  const tbody = h("tbody");
  table.append(thead, tbody);
  wrap.append(table);
  const foot = h("div", "mlfm-foot mlfm-ev-foot");
  const dsName = field("input", "mlfm-ev-dsname", "dataset name");
  const toDs = button("mlfm-ev-tods", "Add failing rows to dataset", () => {
    if (dsName.value.trim()) send({ action: "failing_to_dataset", name: dsName.value.trim() });
    else dsName.focus();
  });
  foot.append(dsName, toDs);
  root.append(head, bar, chips, note, error, wrap, foot);

  /** @type {Set<number>} */
  const expanded = new Set();
  /** @type {string | null} */
  let sortBy = null; // a scorer name: its failing rows first

  function renderHead() {
    const hd = model.get("header") || {};
    const total = hd.total ?? null;
    const word = { running: "Evaluating", done: "Evaluated", interrupted: "Interrupted", failed: "Failed" }[hd.status || "running"] || "";
    const of = total !== null ? `${hd.done}/${total}` : `${hd.done}`;
    const run = hd.run_name || hd.run_id ? ` · run ${hd.run_name || hd.run_id}` : "";
    const atOnce = hd.workers ? ` · ${hd.workers} at a time` : "";
    status.textContent = printable(`${word} ${hd.data || ""} · ${of} records · ${Number(hd.elapsed || 0).toFixed(1)} s${atOnce}${run}`);
    root.dataset.status = hd.status || "";
    fill.style.width = total ? `${Math.min(100, (100 * (hd.done || 0)) / total)}%` : hd.status === "running" ? "0%" : "100%";
    const url = String(hd.run_url || "");
    const linked = /^https?:\/\//.test(url);
    show(link, linked);
    if (linked) link.href = url;
    chips.replaceChildren();
    for (const s of model.get("scorers") || []) {
      const chip = h("span", "mlfm-chip mlfm-ev-chip");
      chip.append(h("b", "", s.name), document.createTextNode(printable(` ${s.text}`)));
      if (s.failed || s.errors) chip.classList.add("bad");
      chips.append(chip);
    }
    const rows = model.get("rows") || [];
    const anyFailing = rows.some((r) => Object.values(r.v).some((v) => v[0] === "fail" || v[0] === "error"));
    show(foot, hd.status !== "running" && anyFailing);
  }

  /** @param {import("./model").Verdict | undefined} v */
  function verdictCell(v) {
    const td = h("td", `mlfm-ev-v ${v ? v[0] : "missing"}`, v ? v[1] : "…");
    if (v && (v[2] || v[3])) td.title = printable(v[3] || v[2]);
    return td;
  }

  /** @param {number} i */
  function toggleRow(i) {
    if (expanded.has(i)) expanded.delete(i);
    else expanded.add(i);
    renderRows();
    const again = /** @type {HTMLElement | null} */ (tbody.querySelector(`tr.mlfm-ev-row[data-i="${i}"]`));
    if (again) again.focus();
  }

  function renderRows() {
    const names = (model.get("scorers") || []).map((s) => s.name);
    const hr = h("tr");
    hr.append(h("th", "", "#"), h("th", "", "Inputs"), h("th", "", "Outputs"));
    for (const name of names) {
      const th = sortHeader("mlfm-ev-sort", name, () => {
        sortBy = sortBy === name ? null : name;
        renderRows();
        const again = /** @type {HTMLElement | null} */ ([...thead.querySelectorAll("th.mlfm-ev-sort")].find((x) => x.textContent?.startsWith(name)) || null);
        if (again) again.focus();
      }, "show this scorer's failing rows first");
      setSort(th, sortBy === name ? "ascending" : "none");
      hr.append(th);
    }
    hr.append(h("th", "mlfm-act", ""));
    thead.replaceChildren(hr);
    const rows = failingFirst(model.get("rows") || [], sortBy);
    tbody.replaceChildren();
    for (const r of rows) {
      const tr = h("tr", "mlfm-ev-row");
      tr.dataset.i = String(r.i);
      tr.tabIndex = 0;
      tr.setAttribute("aria-expanded", String(expanded.has(r.i)));
      const outputs = h("td", "mlfm-pv mlfm-ev-pv", r.outputs);
      if (r.error) outputs.append(h("div", "mlfm-ev-err", `predict error: ${r.error}`));
      tr.append(h("td", "mlfm-ev-n", String(r.i + 1)), h("td", "mlfm-pv mlfm-ev-pv", r.inputs), outputs);
      for (const name of names) tr.append(verdictCell(r.v[name]));
      const act = h("td", "mlfm-act mlfm-ev-act");
      if (r.trace_id) {
        const id = r.trace_id;
        const open = button("mlfm-link mlfm-ev-open", "trace", (e) => {
          e.stopPropagation();
          send({ action: "open", trace_id: id });
        }, `open trace ${id}`);
        open.addEventListener("keydown", (e) => e.stopPropagation()); // Enter opens the trace, not the row
        act.append(open);
      }
      tr.append(act);
      tr.addEventListener("click", () => toggleRow(r.i));
      tr.addEventListener("keydown", (e) => {
        if (e.target !== tr) return;
        if (e.key === "Enter" || e.key === " ") {
          e.preventDefault();
          toggleRow(r.i);
        } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
          e.preventDefault();
          const rowsNow = [...tbody.querySelectorAll("tr.mlfm-ev-row")];
          const k = rowsNow.indexOf(tr) + (e.key === "ArrowDown" ? 1 : -1);
          const to = /** @type {HTMLElement | undefined} */ (rowsNow[k]);
          if (to) to.focus();
        }
      });
      tbody.append(tr);
      if (expanded.has(r.i)) {
        tr.classList.add("open");
        const dr = h("tr", "mlfm-ev-detail");
        const td = h("td");
        td.colSpan = names.length + 4;
        // a chat record reads as its conversation: the request's messages, then the answer
        const chat = r.content ? contentView(r.content) : null;
        if (chat) td.append(chat);
        for (const name of names) {
          const v = r.v[name];
          if (!v) continue;
          const item = h("div", `mlfm-ev-why ${v[0]}`);
          item.append(h("b", "", `${name}: ${v[1]}`));
          if (v[3]) item.append(h("div", "mlfm-ev-err", v[3]));
          if (v[2]) item.append(h("div", "mlfm-ev-rationale", v[2]));
          if (!v[2] && !v[3]) item.append(h("div", "mlfm-ev-rationale none", "no rationale"));
          td.append(item);
        }
        dr.append(td);
        tbody.append(dr);
      }
    }
    if (!rows.length) {
      const waiting = (model.get("header") || {}).status === "running";
      tbody.append(emptyRow(waiting ? "Waiting for the first record…" : "No records.", names.length + 4));
    }
  }

  const onRows = () => {
    renderHead();
    renderRows();
  };
  return view.start(
    {
      "change:header": renderHead,
      "change:scorers": onRows,
      "change:rows": onRows,
      "change:note": renderNote,
      "change:error": renderNote,
    },
    renderHead,
    renderRows,
    renderNote,
  );
}

export default { render };
