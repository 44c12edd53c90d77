// Chat panel: the transcript as message cards, an input box, Send and Stop, 👍 / 👎 per turn.
//
// The contract with Python is ./model.d.ts. Finished turns arrive in `turns` (the newest
// hundred; the header says how many earlier ones the panel does not hold); the answer that is
// streaming arrives in `live`, which Python re-sends at most 30 times a second, and only its
// card is redrawn. Send, Stop, feedback and opening a turn's trace are action messages; the
// trace view appears in Python's detail area under the panel. Every value from the agent is
// untrusted: text goes through the shared message cards (safe markdown), the rest through
// textContent. Keys typed here never reach the notebook (lib/widget.js contains them).

import { button, field, h, show } from "../lib/dom.js";
import { duration } from "../lib/format.js";
import { messageCard } from "../lib/content_view.js";
import { printable } from "../lib/text.js";
import { widget } from "../lib/widget.js";
import "./style.css";

/** @typedef {import("./model").Turn} Turn */

/**
 * The turn as the shared message cards' messages: the user's, then the assistant's (none when
 * an error left nothing to show).
 * @param {Turn} t
 * @returns {import("../lib/content").Message[]}
 */
export function turnMessages(t) {
  const out = [{ role: "user", text: t.user }];
  const calls = t.tool_calls || [];
  const streaming = t.status === "streaming";
  if (t.text || calls.length || t.reasoning || streaming || t.status === "done") {
    out.push({ role: "assistant", text: t.text || (streaming ? "…" : ""), tool_calls: calls, reasoning: t.reasoning || undefined });
  }
  return out;
}

/** Whether a scroll box is scrolled to (near) its end, so new text should keep it there. @param {HTMLElement} box */
export function atEnd(box) {
  return box.scrollHeight - box.scrollTop - box.clientHeight < 40;
}

// Material Design's "thumb_up" icon (Apache 2.0): drawn, not a font glyph, so 👍 / 👎 show
// where no emoji font is installed.
const THUMB = "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z";

/** A thumb icon, up or (turned over) down. @param {boolean} up */
export function thumb(up) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.classList.add("mlfm-chat-thumb");
  if (!up) svg.setAttribute("transform", "rotate(180)");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", THUMB);
  svg.append(path);
  return svg;
}

/** @type {import("@anywidget/types").Render<import("./model").Model>} */
function render({ model, el }) {
  const view = widget(model, el, "mlfm-chat-w");
  const root = view.root;
  /** @param {import("./model").Action} msg */
  const send = (msg) => view.send(msg);

  const head = h("div", "mlfm-chat-head");
  const title = h("b", "mlfm-chat-title");
  const facts = h("span", "mlfm-dim mlfm-chat-facts");
  head.append(title, facts);
  const { note, error, render: renderNote } = view.status("mlfm-chat");
  const log = h("div", "mlfm-chat-log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.tabIndex = 0;
  const cutLine = h("div", "mlfm-dim mlfm-chat-cut");
  const done = h("div", "mlfm-chat-done");
  const liveBox = h("div", "mlfm-chat-live");
  const empty = h("div", "mlfm-dim mlfm-chat-empty", "No turns yet: type a message below.");
  log.append(cutLine, empty, done, liveBox);

  const bar = h("div", "mlfm-chat-bar");
  const input = /** @type {HTMLTextAreaElement} */ (field("textarea", "mlfm-chat-input", "Message the agent (Enter sends, Shift+Enter adds a line)"));
  input.rows = 2;
  const sendBtn = button("mlfm-chat-send", "Send", () => submit());
  const stopBtn = button("mlfm-chat-stop", "Stop", () => send({ action: "stop" }), "stop the answer; the turn keeps what came");
  bar.append(input, sendBtn, stopBtn);
  root.append(head, note, error, log, bar);

  function streaming() {
    const live = model.get("live") || {};
    return "i" in live;
  }

  async function submit() {
    const text = input.value;
    if (!text.trim() || streaming()) {
      input.focus();
      return;
    }
    input.value = "";
    const reply = await send({ action: "send", text });
    if (reply.error && !input.value) input.value = text; // refused: nothing is lost
    input.focus();
  }

  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      submit();
    }
  });

  /** The feedback row of a finished turn: 👍 / 👎, then a comment box and Send. @param {Turn} t */
  function feedbackRow(t) {
    const row = h("div", "mlfm-chat-fb");
    const given = t.feedback;
    /** @type {boolean | null} */
    let picked = given ? given.value : null;
    const form = h("div", "mlfm-chat-fbform");
    const comment = /** @type {HTMLInputElement} */ (field("input", "mlfm-chat-comment", "Comment (optional)"));
    const save = button("mlfm-chat-fbsave", "Send feedback", () => {
      if (picked === null) return;
      send({ action: "feedback", turn: t.i, value: picked, comment: comment.value.trim() });
    });
    comment.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") {
        ev.preventDefault();
        save.click();
      }
    });
    form.append(comment, save);
    show(form, false);
    /** @param {boolean} value */
    const pick = (value) => {
      picked = value;
      up.setAttribute("aria-pressed", String(value === true));
      down.setAttribute("aria-pressed", String(value === false));
      show(form, true);
      comment.focus();
    };
    const up = button("mlfm-chat-up", "", () => pick(true), "👍 good answer");
    const down = button("mlfm-chat-down", "", () => pick(false), "👎 bad answer");
    up.append(thumb(true));
    down.append(thumb(false));
    up.setAttribute("aria-label", "good answer");
    down.setAttribute("aria-label", "bad answer");
    up.setAttribute("aria-pressed", String(picked === true));
    down.setAttribute("aria-pressed", String(picked === false));
    row.append(up, down);
    if (given) {
      const said = h("span", "mlfm-dim mlfm-chat-fbgiven", `recorded${given.comment ? `: ${given.comment}` : ""}`);
      row.append(said);
    }
    row.append(form);
    return row;
  }

  /** One turn: its cards, then its status, trace link and feedback. @param {Turn} t */
  function turnNode(t) {
    const box = h("div", `mlfm-chat-turn st-${t.status}`);
    box.dataset.i = String(t.i);
    box.dataset.status = t.status;
    for (const m of turnMessages(t)) box.append(messageCard(m));
    if (t.error) {
      const err = h("div", "mlfm-chat-err", t.error);
      err.setAttribute("role", "alert");
      box.append(err);
    }
    const foot = h("div", "mlfm-chat-foot");
    if (t.status === "streaming") foot.append(h("span", "mlfm-dim mlfm-chat-state", `streaming… ${t.deltas ? `${t.deltas.toLocaleString()} deltas` : ""}`));
    else if (t.status === "stopped") foot.append(h("span", "mlfm-chat-state stopped", "stopped"));
    if (t.elapsed !== null && t.elapsed !== undefined) foot.append(h("span", "mlfm-dim", duration(t.elapsed * 1000)));
    if (t.trace_id && t.status !== "streaming") {
      const id = t.trace_id;
      foot.append(button("mlfm-link mlfm-chat-trace", "trace", () => send({ action: "open", trace_id: id }), `open trace ${id} below`));
    }
    if (t.status !== "streaming" && t.trace_id) foot.append(feedbackRow(t));
    box.append(foot);
    return box;
  }

  function renderHead() {
    const hd = model.get("header") || {};
    title.textContent = printable(hd.title || "Chat");
    const mode = hd.stream ? "streaming" : "whole answers";
    facts.textContent = printable(` · ${hd.agent || ""} · session ${hd.session_id || ""} · user ${hd.user || ""} · ${mode}`);
    const cut = hd.cut || 0;
    cutLine.textContent = cut ? `${cut.toLocaleString()} earlier turn${cut === 1 ? "" : "s"} not shown: the panel keeps the newest ${(model.get("turns") || []).length}; chat.turns has them all.` : "";
    show(cutLine, cut > 0);
  }

  function renderTurns() {
    const stick = atEnd(log);
    done.replaceChildren(...(model.get("turns") || []).map(turnNode));
    renderLive(stick);
  }

  /** @param {boolean} [stick] */
  function renderLive(stick = atEnd(log)) {
    const live = /** @type {Turn | Record<string, never>} */ (model.get("live") || {});
    const on = "i" in live;
    liveBox.replaceChildren(...(on ? [turnNode(/** @type {Turn} */ (live))] : []));
    sendBtn.disabled = on;
    stopBtn.disabled = !on;
    root.dataset.streaming = String(on);
    show(empty, !on && !(model.get("turns") || []).length);
    if (stick) log.scrollTop = log.scrollHeight;
  }

  return view.start(
    {
      "change:header": renderHead,
      "change:turns": () => {
        renderHead();
        renderTurns();
      },
      "change:live": () => renderLive(),
      "change:note": renderNote,
      "change:error": renderNote,
    },
    renderHead,
    renderTurns,
    renderNote,
  );
}

export default { render };
