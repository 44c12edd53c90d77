import { describe, expect, it } from "vitest";
import chatView, { turnMessages } from "../chat_view/index.js";
import { HOSTILE, mount } from "./fake.js";

const header = { title: "Chat with agent", agent: "agent", kind: "responses", session_id: "s-1", user: "alice", stream: true, turns: 1, cut: 0 };

/** @param {Record<string, unknown>} [over] */
function turn(over = {}) {
  return {
    i: 0,
    user: `hi ${HOSTILE}`,
    text: `**sunny** ${HOSTILE}`,
    tool_calls: [{ name: "get_weather", arguments: '{\n  "city": "Paris"\n}', id: "call_1", result: '{"forecast": "sunny"}' }],
    reasoning: "",
    status: "done",
    error: "",
    trace_id: "tr-0123456789abcdef0123456789abcdef",
    elapsed: 1.5,
    deltas: 3,
    feedback: null,
    ...over,
  };
}

const state = (over = {}) => ({ header, turns: [turn()], live: {}, note: "", error: "", ...over });
const keydown = (el, key, opts = {}) => el.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true, ...opts }));

describe("chat panel", () => {
  it("draws each turn as the shared message cards, untrusted text as text, the tool call as a card", () => {
    const { el } = mount(chatView, state());
    const cards = el.querySelectorAll(".mlfm-chat-done .mlfm-msg");
    expect([...cards].map((c) => c.dataset.role)).toEqual(["user", "assistant"]);
    expect(el.querySelector(".mlfm-chat-log img, .mlfm-chat-log script")).toBe(null);
    expect(cards[1].querySelector("strong").textContent).toBe("sunny");
    expect(cards[1].textContent).toContain("<img src=x");
    expect(el.querySelector(".mlfm-toolname").textContent).toBe("get_weather");
    expect(el.querySelector(".mlfm-toolres").textContent).toContain("sunny");
    expect(el.querySelector(".mlfm-chat-facts").textContent).toContain("session s-1");
  });
  it("opens a turn's trace through Python", () => {
    const { el, model } = mount(chatView, state());
    el.querySelector(".mlfm-chat-trace").click();
    expect(model.sent.at(-1)).toEqual({ action: "open", trace_id: "tr-0123456789abcdef0123456789abcdef", id: 1 });
  });
  it("streams the live turn into its own card; Send waits and Stop stops", () => {
    const { el, model } = mount(chatView, state({ turns: [] }));
    const send = el.querySelector(".mlfm-chat-send");
    const stop = el.querySelector(".mlfm-chat-stop");
    expect(stop.disabled).toBe(true);
    expect(el.querySelector(".mlfm-chat-empty").hidden).toBe(false);
    model.set("live", turn({ status: "streaming", text: "It is", tool_calls: [], elapsed: null, trace_id: "" }));
    expect(el.querySelector(".mlfm-chat-live .role-assistant").textContent).toContain("It is");
    expect(el.querySelector(".mlfm-chat-live .mlfm-chat-up")).toBe(null); // no rating while it streams
    expect(send.disabled).toBe(true);
    expect(stop.disabled).toBe(false);
    model.set("live", turn({ status: "streaming", text: "It is sunny", tool_calls: [], elapsed: null, trace_id: "" }));
    expect(el.querySelectorAll(".mlfm-chat-live .mlfm-chat-turn").length).toBe(1);
    expect(el.querySelector(".mlfm-chat-live .role-assistant").textContent).toContain("It is sunny");
    stop.click();
    expect(model.sent.at(-1)).toEqual({ action: "stop", id: 1 });
    model.set("live", {});
    model.set("turns", [turn({ status: "stopped", text: "It is sunny" })]);
    expect(el.querySelector(".mlfm-chat-live").childElementCount).toBe(0);
    expect(el.querySelector(".mlfm-chat-state.stopped").textContent).toBe("stopped");
    expect(send.disabled).toBe(false);
  });
  it("sends on Enter (Shift+Enter is a new line), and no key leaves the panel", () => {
    const { el, model } = mount(chatView, state());
    const outside = [];
    document.body.addEventListener("keydown", (ev) => outside.push(ev.key));
    const input = el.querySelector(".mlfm-chat-input");
    input.value = "What about m and d d?";
    keydown(input, "Enter", { shiftKey: true });
    expect(model.sent).toEqual([]);
    keydown(input, "m");
    keydown(input, "Enter");
    expect(model.sent.at(-1)).toEqual({ action: "send", text: "What about m and d d?", id: 1 });
    expect(input.value).toBe("");
    expect(outside).toEqual([]);
  });
  it("does not send an empty message", () => {
    const { el, model } = mount(chatView, state());
    el.querySelector(".mlfm-chat-input").value = "   ";
    el.querySelector(".mlfm-chat-send").click();
    expect(model.sent).toEqual([]);
  });
  it("rates a turn with 👎 and a comment", () => {
    const { el, model } = mount(chatView, state());
    const form = el.querySelector(".mlfm-chat-fbform");
    expect(form.hidden).toBe(true);
    expect(el.querySelector(".mlfm-chat-down").getAttribute("aria-label")).toBe("bad answer");
    expect(el.querySelector(".mlfm-chat-down svg path")).not.toBe(null); // drawn, no emoji font needed
    el.querySelector(".mlfm-chat-down").click();
    expect(form.hidden).toBe(false);
    expect(el.querySelector(".mlfm-chat-down").getAttribute("aria-pressed")).toBe("true");
    const comment = el.querySelector(".mlfm-chat-comment");
    comment.value = "too vague";
    keydown(comment, "Enter");
    expect(model.sent.at(-1)).toEqual({ action: "feedback", turn: 0, value: false, comment: "too vague", id: 1 });
    model.set("turns", [turn({ feedback: { value: false, comment: "too vague" } })]);
    expect(el.querySelector(".mlfm-chat-fbgiven").textContent).toBe("recorded: too vague");
    expect(el.querySelector(".mlfm-chat-down").getAttribute("aria-pressed")).toBe("true");
  });
  it("shows an error turn's message and says how many earlier turns it does not hold", () => {
    const { el } = mount(chatView, state({ header: { ...header, cut: 150 }, turns: [turn({ status: "error", text: "", tool_calls: [], error: `RuntimeError: ${HOSTILE}` })] }));
    expect(el.querySelector(".mlfm-chat-err").textContent).toBe(`RuntimeError: ${HOSTILE}`);
    expect(el.querySelectorAll(".mlfm-chat-done .mlfm-msg").length).toBe(1);
    expect(el.querySelector(".mlfm-chat-cut").textContent).toBe("150 earlier turns not shown: the panel keeps the newest 1; chat.turns has them all.");
  });
  it("cleans up its listeners", () => {
    const { model, cleanup } = mount(chatView, state());
    cleanup();
    expect(model.listeners("change:live")).toBe(0);
  });
});

describe("turnMessages", () => {
  it("leaves out an empty answer of a failed turn but keeps a streaming one", () => {
    expect(turnMessages(turn({ status: "error", text: "", tool_calls: [] })).map((m) => m.role)).toEqual(["user"]);
    expect(turnMessages(turn({ status: "streaming", text: "", tool_calls: [] }))[1].text).toBe("…");
  });
});
