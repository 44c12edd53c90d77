// Alias board: a prompt's or model's versions with their aliases, a diff of two versions,
// alias moves that wait for Confirm, each alias's history with Undo.
//
// The contract with Python (mlflow_magics/views/alias_board_widget.py) is ./model.d.ts.
// Nothing moves until Confirm: Move, Delete and Undo only ask Python to plan the change.
//
// Templates, commit messages, names and authors are untrusted: they reach the DOM through
// textContent / .value only.

import { button, h, show } from "../lib/dom.js";
import { printable } from "../lib/text.js";
import { widget } from "../lib/widget.js";
import "./style.css";

let boards = 0;

const v = (n) => (n === null || n === undefined ? "(none)" : `v${n}`);

/** @type {import("@anywidget/types").Render<import("./model").Model>} */
function render({ model, el }) {
  const uid = `mlfm-ab-${++boards}`;
  const view = widget(model, el, "mlfm-ab-w");
  const root = view.root;
  /** @param {import("./model").Action} msg */
  const send = (msg) => view.send(msg);
  const head = h("div", "mlfm-ab-head");
  const title = h("span", "mlfm-ab-title");
  head.append(title, button("mlfm-ab-refresh", "Refresh", () => send({ action: "refresh" })));
  const { note, error, render: renderNote } = view.status("mlfm-ab");
  const body = h("div", "mlfm-ab-body");
  const pendingBar = h("div", "mlfm-ab-pending");
  const pendingText = h("span", "mlfm-ab-pending-text");
  pendingBar.append(
    pendingText,
    button("mlfm-ab-confirm", "Confirm", () => send({ action: "confirm" })),
    button("mlfm-ab-cancel", "Cancel", () => send({ action: "cancel" })),
  );
  const diffBox = h("div", "mlfm-ab-diff");
  root.append(head, error, note, pendingBar, body, diffBox);
  const openHistory = new Set();

  function renderListing(board) {
    const table = h("table", "mlfm-grid mlfm-ab-table");
    const hr = h("tr");
    for (const label of ["Name", "Description", "Aliases"]) hr.append(h("th", "", label));
    const thead = h("thead");
    thead.append(hr);
    const tbody = h("tbody");
    for (const e of board.listing || []) {
      const tr = h("tr", "mlfm-ab-entry");
      const name = h("td");
      name.append(button("mlfm-link mlfm-ab-open", e.name, () => send({ action: "open", name: e.name })));
      const aliases = h("td");
      for (const [a, n] of Object.entries(e.aliases || {})) aliases.append(h("span", "mlfm-ab-chip", `${a} → v${n}`));
      tr.append(name, h("td", "", e.description), aliases);
      tbody.append(tr);
    }
    table.append(thead, tbody);
    body.append(table);
    if (!(board.listing || []).length) body.append(h("div", "mlfm-ab-empty", `No ${board.kind}s.`));
    if (board.more) body.append(h("div", "mlfm-ab-more", `${board.more} more; narrow with --like`));
  }

  function versionSelect(cls, versions, selected) {
    const sel = h("select", cls);
    for (const ver of versions) {
      const opt = h("option", "", `v${ver.n}`);
      opt.value = String(ver.n);
      if (ver.n === selected) opt.selected = true;
      sel.append(opt);
    }
    return sel;
  }

  function renderAliases(board) {
    const bar = h("div", "mlfm-ab-aliases");
    const history = board.history || {};
    const names = Object.keys(history).sort();
    for (const a of Object.keys(board.aliases || {})) if (!names.includes(a)) names.push(a);
    for (const alias of names.sort()) {
      const box = h("div", "mlfm-ab-alias");
      box.dataset.alias = alias;
      const at = (board.aliases || {})[alias];
      box.append(h("span", "mlfm-ab-chip", `${alias} → ${v(at)}`));
      const moves = history[alias] || [];
      const toggle = button("mlfm-ab-history-btn", `history (${moves.length})`, () => {
        if (openHistory.has(alias)) openHistory.delete(alias);
        else openHistory.add(alias);
        renderBoard();
      });
      box.append(toggle);
      if (moves.length) box.append(button("mlfm-ab-undo", "Undo", () => send({ action: "undo", alias })));
      if (at !== undefined) box.append(button("mlfm-ab-delete", "Delete", () => send({ action: "delete", alias })));
      if (openHistory.has(alias)) {
        const list = h("ul", "mlfm-ab-history");
        for (const m of moves) list.append(h("li", `mlfm-ab-move${m.forced ? " forced" : ""}`, m.text));
        if (!moves.length) list.append(h("li", "mlfm-ab-move none", "no recorded moves"));
        box.append(list);
      }
      bar.append(box);
    }
    if (board.latest) bar.append(h("span", "mlfm-ab-chip latest", `latest → v${board.latest}`));
    body.append(bar);
  }

  function renderControls(board) {
    const versions = board.versions || [];
    const move = h("div", "mlfm-ab-movebar");
    const alias = h("input", "mlfm-ab-alias-input");
    alias.placeholder = "alias";
    alias.setAttribute("list", `${uid}-aliases`);
    alias.setAttribute("aria-label", "Alias");
    const list = h("datalist");
    list.id = `${uid}-aliases`;
    for (const a of Object.keys(board.aliases || {})) {
      const opt = h("option");
      opt.value = a;
      list.append(opt);
    }
    const target = versionSelect("mlfm-ab-version", versions, board.latest);
    const gate = h("input", "mlfm-ab-gate");
    gate.type = "checkbox";
    const force = h("input", "mlfm-ab-force");
    force.type = "checkbox";
    const gateLabel = h("label", "", " gate ");
    gateLabel.prepend(gate);
    const forceLabel = h("label", "", " force ");
    forceLabel.prepend(force);
    move.append(
      h("span", "", "Move "),
      alias,
      list,
      h("span", "", " to "),
      target,
      gateLabel,
      forceLabel,
      button("mlfm-ab-move-btn", "Move…", () =>
        send({ action: "move", alias: alias.value.trim(), version: Number(target.value), gate: gate.checked, force: force.checked }),
      ),
    );
    const diff = h("div", "mlfm-ab-diffbar");
    const a = versionSelect("mlfm-ab-diff-a", versions, versions.length > 1 ? versions[1].n : board.latest);
    const b = versionSelect("mlfm-ab-diff-b", versions, board.latest);
    diff.append(
      h("span", "", "Diff "),
      a,
      h("span", "", " → "),
      b,
      button("mlfm-ab-diff-btn", "Diff", () => send({ action: "diff", a: Number(a.value), b: Number(b.value) })),
    );
    body.append(move, diff);
  }

  function renderVersions(board) {
    const labels = {};
    for (const [a, n] of Object.entries(board.aliases || {})) (labels[n] = labels[n] || []).push(a);
    const table = h("table", "mlfm-grid mlfm-ab-table");
    const hr = h("tr");
    const isModel = board.kind === "model";
    const cols = ["Version", "Aliases", "Created", "Author", isModel ? "Description" : "Commit message", isModel ? "Source run · metrics" : "Template"];
    for (const label of cols) hr.append(h("th", "", label));
    const thead = h("thead");
    thead.append(hr);
    const tbody = h("tbody");
    for (const ver of board.versions || []) {
      const tr = h("tr", "mlfm-ab-row");
      tr.dataset.n = String(ver.n);
      tr.tabIndex = 0;
      tr.title = isModel ? "show the source run and settings" : "show the whole template";
      tr.addEventListener("keydown", (e) => {
        if (e.target === tr && (e.key === "Enter" || e.key === " ")) {
          e.preventDefault();
          tr.click();
        }
      });
      const chips = h("td", "mlfm-ab-labels");
      for (const a of (labels[ver.n] || []).sort()) chips.append(h("span", "mlfm-ab-chip", a));
      if (ver.n === board.latest) chips.append(h("span", "mlfm-ab-chip latest", "latest"));
      const last = h("td", "mlfm-ab-preview");
      if (isModel) {
        last.textContent = printable([ver.run_id, ...(ver.metrics || []).map(([k, x]) => `${k}=${x}`)].filter(Boolean).join(" · "));
      } else {
        last.textContent = printable(ver.preview);
        if (ver.config) last.append(h("div", "mlfm-ab-config", ver.config));
      }
      tr.append(h("td", "mlfm-ab-n", `v${ver.n}`), chips, h("td", "mlfm-ab-time", ver.time), h("td", "", ver.author), h("td", "mlfm-ab-msg", ver.message), last);
      tr.addEventListener("click", () => {
        const next = tr.nextElementSibling;
        if (next && next.classList && next.classList.contains("mlfm-ab-full")) {
          next.remove();
          return;
        }
        const full = h("tr", "mlfm-ab-full");
        const td = h("td");
        td.colSpan = cols.length;
        td.append(h("pre", "", isModel ? ver.config || ver.run_id : ver.template));
        full.append(td);
        tr.after(full);
      });
      tbody.append(tr);
    }
    table.append(thead, tbody);
    const wrap = h("div", "mlfm-scroll mlfm-ab-scroll");
    wrap.append(table);
    body.append(wrap);
  }

  function renderBoard() {
    const board = model.get("board") || {};
    body.replaceChildren();
    if (!board.name) {
      title.textContent = `${board.kind === "model" ? "Registered models" : "Prompts"} · ${(board.listing || []).length}`;
      renderListing(board);
      return;
    }
    const n = (board.versions || []).length;
    title.textContent = printable(`${board.kind === "model" ? "Model" : "Prompt"} ${board.name} · ${n} version${n === 1 ? "" : "s"}`);
    if (board.description) body.append(h("div", "mlfm-ab-desc", board.description));
    renderAliases(board);
    renderControls(board);
    renderVersions(board);
  }

  function renderPending() {
    const p = model.get("pending") || {};
    show(pendingBar, !!p.alias);
    pendingText.textContent = printable(p.alias ? p.text || "" : "");
  }

  function renderDiff() {
    const d = model.get("diff") || {};
    diffBox.replaceChildren();
    if (d.a === undefined) return;
    const settings = d.settings || [];
    const added = (d.lines || []).filter(([op]) => op === "+").length;
    const removed = (d.lines || []).filter(([op]) => op === "-").length;
    diffBox.append(h("div", "mlfm-ab-diff-head", `v${d.a} → v${d.b}: +${added} −${removed} lines, ${settings.length} setting(s) changed${d.same ? " (identical)" : ""}`));
    const lines = h("div", "mlfm-ab-lines");
    const cls = { "+": "add", "-": "rem", " ": "same" };
    for (const [op, text] of d.lines || []) {
      const line = h("div", `mlfm-ab-ln ${cls[op] || "same"}`);
      line.append(h("span", "mlfm-ab-op", op), h("span", "", text));
      lines.append(line);
    }
    if (d.more) lines.append(h("div", "mlfm-ab-more", `… ${d.more} more lines`));
    diffBox.append(lines);
    if (settings.length) {
      const table = h("table", "mlfm-grid mlfm-ab-settings");
      const hr = h("tr");
      for (const label of ["Setting", `v${d.a}`, `v${d.b}`]) hr.append(h("th", "", label));
      table.append(hr);
      for (const [key, a, b] of settings) {
        const tr = h("tr", "mlfm-ab-setting");
        tr.append(h("td", "", key), h("td", "rem", a), h("td", "add", b));
        table.append(tr);
      }
      diffBox.append(table);
    }
  }

  return view.start(
    {
      "change:board": renderBoard,
      "change:pending": renderPending,
      "change:diff": renderDiff,
      "change:note": renderNote,
      "change:error": renderNote,
    },
    renderBoard,
    renderPending,
    renderDiff,
    renderNote,
  );
}

export default { render };
