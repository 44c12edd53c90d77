// Alias board: a prompt's or model's versions with their aliases, a diff of two versions,
// alias moves that wait for Confirm, each alias's history with Undo.
//
// Synced traits (the Python side is mlflow_magics/views/alias_board_widget.py):
//   reads  board    {kind, name, description, latest, aliases: {alias: n},
//                    versions: [{n, message, author, time, preview, template, config, run_id,
//                                metrics: [[key, value]]}],
//                    history: {alias: [{before, after, user, time, forced, gate, undo, text}]}}
//                   or, listing the registry: {kind, name: null, listing: [{name, description,
//                   latest, aliases}], more}
//   reads  pending  {alias, before, after, action, text} waiting for Confirm, or {}
//   reads  diff     {a, b, lines: [[op, text]], more, settings: [[key, a, b]], same} or {}
//   reads  note     one sentence about the last action
//   reads  error    one sentence when the last action was refused, else ""
// Writes no trait: controls send messages {action, ...}: open {name}, refresh, diff {a, b},
// move {alias, version, gate, force}, delete {alias}, undo {alias}, confirm, cancel.
// Nothing moves until Confirm: Move, Delete and Undo only ask Python to plan the change.
//
// Templates, commit messages, names and authors are untrusted: they reach the DOM through
// textContent / .value only.

/** @param {string} tag @param {string} [cls] @param {string} [text] */
function h(tag, cls, text) {
  const el = document.createElement(tag);
  if (cls) el.className = cls;
  if (text !== undefined && text !== null) el.textContent = String(text);
  return el;
}

function button(cls, text, onClick) {
  const b = h("button", cls, text);
  b.addEventListener("click", onClick);
  return b;
}

const v = (n) => (n === null || n === undefined ? "(none)" : `v${n}`);

function render({ model, el }) {
  const root = h("div", "mlfm-ab-w");
  el.appendChild(root);
  const send = (msg) => {
    root.classList.add("busy");
    model.send(msg);
  };
  const head = h("div", "mlfm-ab-head");
  const title = h("span", "mlfm-ab-title");
  head.append(title, button("mlfm-ab-refresh", "Refresh", () => send({ action: "refresh" })));
  const error = h("div", "mlfm-ab-error");
  const note = h("div", "mlfm-ab-note");
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
    const table = h("table", "mlfm-ab-table");
    const hr = h("tr");
    for (const label of ["Name", "Description", "Aliases"]) hr.appendChild(h("th", "", label));
    const thead = h("thead");
    thead.appendChild(hr);
    const tbody = h("tbody");
    for (const e of board.listing || []) {
      const tr = h("tr", "mlfm-ab-entry");
      const name = h("td");
      name.appendChild(button("mlfm-ab-open", e.name, () => send({ action: "open", name: e.name })));
      const aliases = h("td");
      for (const [a, n] of Object.entries(e.aliases || {})) aliases.appendChild(h("span", "mlfm-ab-chip", `${a} → v${n}`));
      tr.append(name, h("td", "", e.description), aliases);
      tbody.appendChild(tr);
    }
    table.append(thead, tbody);
    body.appendChild(table);
    if (!(board.listing || []).length) body.appendChild(h("div", "mlfm-ab-empty", `No ${board.kind}s.`));
    if (board.more) body.appendChild(h("div", "mlfm-ab-more", `${board.more} more; narrow with --like`));
  }

  function versionSelect(cls, versions, selected) {
    const sel = h("select", cls);
    for (const ver of versions) {
      const opt = h("option", "", `v${ver.n}`);
      opt.value = String(ver.n);
      if (ver.n === selected) opt.selected = true;
      sel.appendChild(opt);
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
      box.appendChild(h("span", "mlfm-ab-chip", `${alias} → ${v(at)}`));
      const moves = history[alias] || [];
      const toggle = button("mlfm-ab-history-btn", `history (${moves.length})`, () => {
        if (openHistory.has(alias)) openHistory.delete(alias);
        else openHistory.add(alias);
        renderBoard();
      });
      box.appendChild(toggle);
      if (moves.length) box.appendChild(button("mlfm-ab-undo", "Undo", () => send({ action: "undo", alias })));
      if (at !== undefined) box.appendChild(button("mlfm-ab-delete", "Delete", () => send({ action: "delete", alias })));
      if (openHistory.has(alias)) {
        const list = h("ul", "mlfm-ab-history");
        for (const m of moves) list.appendChild(h("li", `mlfm-ab-move${m.forced ? " forced" : ""}`, m.text));
        if (!moves.length) list.appendChild(h("li", "mlfm-ab-move none", "no recorded moves"));
        box.appendChild(list);
      }
      bar.appendChild(box);
    }
    if (board.latest) bar.appendChild(h("span", "mlfm-ab-chip latest", `latest → v${board.latest}`));
    body.appendChild(bar);
  }

  function renderControls(board) {
    const versions = board.versions || [];
    const move = h("div", "mlfm-ab-movebar");
    const alias = h("input", "mlfm-ab-alias-input");
    alias.placeholder = "alias";
    alias.setAttribute("list", "mlfm-ab-aliases-" + (board.name || ""));
    alias.addEventListener("keydown", (e) => e.stopPropagation());
    const list = h("datalist");
    list.id = "mlfm-ab-aliases-" + (board.name || "");
    for (const a of Object.keys(board.aliases || {})) {
      const opt = h("option");
      opt.value = a;
      list.appendChild(opt);
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
    const table = h("table", "mlfm-ab-table");
    const hr = h("tr");
    const model = board.kind === "model";
    const cols = ["Version", "Aliases", "Created", "Author", model ? "Description" : "Commit message", model ? "Source run · metrics" : "Template"];
    for (const label of cols) hr.appendChild(h("th", "", label));
    const thead = h("thead");
    thead.appendChild(hr);
    const tbody = h("tbody");
    for (const ver of board.versions || []) {
      const tr = h("tr", "mlfm-ab-row");
      tr.dataset.n = String(ver.n);
      const chips = h("td", "mlfm-ab-labels");
      for (const a of (labels[ver.n] || []).sort()) chips.appendChild(h("span", "mlfm-ab-chip", a));
      if (ver.n === board.latest) chips.appendChild(h("span", "mlfm-ab-chip latest", "latest"));
      const last = h("td", "mlfm-ab-preview");
      if (model) {
        last.textContent = [ver.run_id, ...(ver.metrics || []).map(([k, x]) => `${k}=${x}`)].filter(Boolean).join(" · ");
      } else {
        last.textContent = ver.preview;
        if (ver.config) last.appendChild(h("div", "mlfm-ab-config", ver.config));
      }
      tr.append(h("td", "mlfm-ab-n", `v${ver.n}`), chips, h("td", "mlfm-ab-time", ver.time), h("td", "", ver.author), h("td", "mlfm-ab-msg", ver.message), last);
      tr.addEventListener("click", () => {
        const next = tr.nextSibling;
        if (next && next.classList && next.classList.contains("mlfm-ab-full")) {
          next.remove();
          return;
        }
        const full = h("tr", "mlfm-ab-full");
        const td = h("td");
        td.colSpan = cols.length;
        td.appendChild(h("pre", "", model ? ver.config || ver.run_id : ver.template));
        full.appendChild(td);
        tr.after(full);
      });
      tbody.appendChild(tr);
    }
    table.append(thead, tbody);
    const wrap = h("div", "mlfm-ab-scroll");
    wrap.appendChild(table);
    body.appendChild(wrap);
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
    title.textContent = `${board.kind === "model" ? "Model" : "Prompt"} ${board.name} · ${n} version${n === 1 ? "" : "s"}`;
    if (board.description) body.appendChild(h("div", "mlfm-ab-desc", board.description));
    renderAliases(board);
    renderControls(board);
    renderVersions(board);
  }

  function renderPending() {
    const p = model.get("pending") || {};
    pendingBar.style.display = p.alias ? "" : "none";
    pendingText.textContent = p.alias ? p.text : "";
  }

  function renderDiff() {
    const d = model.get("diff") || {};
    diffBox.replaceChildren();
    if (d.a === undefined) return;
    const settings = d.settings || [];
    const added = (d.lines || []).filter(([op]) => op === "+").length;
    const removed = (d.lines || []).filter(([op]) => op === "-").length;
    diffBox.appendChild(h("div", "mlfm-ab-diff-head", `v${d.a} → v${d.b}: +${added} −${removed} lines, ${settings.length} setting(s) changed${d.same ? " (identical)" : ""}`));
    const lines = h("div", "mlfm-ab-lines");
    const cls = { "+": "add", "-": "rem", " ": "same" };
    for (const [op, text] of d.lines || []) {
      const line = h("div", `mlfm-ab-ln ${cls[op] || "same"}`);
      line.append(h("span", "mlfm-ab-op", op), h("span", "", text));
      lines.appendChild(line);
    }
    if (d.more) lines.appendChild(h("div", "mlfm-ab-more", `… ${d.more} more lines`));
    diffBox.appendChild(lines);
    if (settings.length) {
      const table = h("table", "mlfm-ab-settings");
      const hr = h("tr");
      for (const label of ["Setting", `v${d.a}`, `v${d.b}`]) hr.appendChild(h("th", "", label));
      table.appendChild(hr);
      for (const [key, a, b] of settings) {
        const tr = h("tr", "mlfm-ab-setting");
        tr.append(h("td", "", key), h("td", "rem", a), h("td", "add", b));
        table.appendChild(tr);
      }
      diffBox.appendChild(table);
    }
  }

  function renderNote() {
    note.textContent = model.get("note") || "";
    const text = model.get("error") || "";
    error.textContent = text;
    error.style.display = text ? "" : "none";
  }

  const done = () => root.classList.remove("busy");
  const handlers = {
    "change:board": () => { renderBoard(); done(); },
    "change:pending": () => { renderPending(); done(); },
    "change:diff": () => { renderDiff(); done(); },
    "change:note": () => { renderNote(); done(); },
    "change:error": () => { renderNote(); done(); },
    "msg:custom": () => done(),
  };
  for (const [event, fn] of Object.entries(handlers)) model.on(event, fn);
  renderBoard();
  renderPending();
  renderDiff();
  renderNote();
  return () => {
    for (const [event, fn] of Object.entries(handlers)) model.off(event, fn);
  };
}

export default { render };
