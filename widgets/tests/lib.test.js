import { describe, expect, it, vi } from "vitest";
import { button, h, link, marked, plural, safeUrl } from "../lib/dom.js";
import { cost, dateTime, duration, size, tokens } from "../lib/format.js";
import { clip, longText, printable } from "../lib/text.js";
import { activateOnKeys, containKeys } from "../lib/keys.js";
import { channel, listen } from "../lib/channel.js";
import { setSort, sortHeader } from "../lib/table.js";
import { indent, MAX_INDENT, shape, treeKey, visibleRows } from "../lib/tree.js";
import { keptState, persistOnSave, shownModelIds } from "../lib/persist.js";
import { fakeModel, HOSTILE } from "./fake.js";

describe("format", () => {
  it("reads durations at every scale", () => {
    expect(duration(0.04)).toBe("40 µs");
    expect(duration(4)).toBe("4.0 ms");
    expect(duration(120.4)).toBe("120 ms");
    expect(duration(2500)).toBe("2.50 s");
    expect(duration(185_000)).toBe("3 m 05 s");
    expect(duration(null)).toBe("?");
    expect(duration(undefined, { missing: "" })).toBe("");
  });
  it("does not claim precision a whole-millisecond store lacks", () => {
    expect(duration(0, { whole: true })).toBe("<1 ms");
    expect(duration(0)).toBe("0 µs");
  });
  it("reads sizes, cost and tokens", () => {
    expect(size(512)).toBe("512 B");
    expect(size(1536)).toBe("1.5 KB");
    expect(size(2 * 1024 * 1024)).toBe("2.0 MB");
    expect(cost(1.2)).toBe("$1.20");
    expect(cost(0.0123)).toBe("$0.012");
    expect(cost(0.00114)).toBe("$0.0011");
    expect(cost(0)).toBe("$0");
    expect(tokens({ input_tokens: 1000, output_tokens: 234, total_tokens: 1234 })).toBe("1,234 tokens (in 1,000 / out 234)");
    expect(tokens({ total_tokens: 7 })).toBe("7 tokens");
    expect(tokens(null)).toBe("");
  });
  it("prints costs as plain decimals, never in exponent notation", () => {
    expect(cost(0.0000048)).toBe("$0.0000048");
    expect(cost(4.8e-7)).toBe("$0.00000048");
    expect(cost(0.012)).toBe("$0.012");
    expect(cost(0.53)).toBe("$0.53");
    expect(cost(0.0999)).toBe("$0.1");
    expect(cost(0.001)).toBe("$0.001");
    expect(cost(5e-7)).toBe("$0.0000005");
    expect(cost(0.999)).toBe("$1.00");
    expect(cost(1.234)).toBe("$1.23");
    expect(cost(1234.5)).toBe("$1,234.50");
    expect(cost(0)).toBe("$0");
    for (let x = 1e-12; x < 1; x *= 3.7) expect(cost(x)).not.toMatch(/e/);
  });
  it("writes times as the Python tiers do", () => {
    expect(dateTime(new Date(2025, 2, 4, 12, 5, 9).getTime())).toBe("2025-03-04 12:05:09");
    expect(dateTime(NaN)).toBe("");
  });
  it("pluralizes", () => {
    expect(plural(1, "span")).toBe("1 span");
    expect(plural(2500, "span")).toBe("2,500 spans");
  });
});

describe("dom", () => {
  it("puts untrusted text in as text, never markup", () => {
    const el = h("div", "x", HOSTILE);
    expect(el.children.length).toBe(0);
    expect(el.textContent).toBe(HOSTILE);
  });
  it("links only to http(s) and mailto, in a new tab", () => {
    expect(safeUrl(" https://x.org ")).toBe("https://x.org");
    expect(safeUrl("javascript:alert(1)")).toBe(null);
    expect(safeUrl("data:text/html,x")).toBe(null);
    expect(safeUrl("//evil.org")).toBe(null);
    const a = link("https://x.org/a", "docs");
    expect([a.tagName, a.getAttribute("href"), a.target, a.rel]).toEqual(["A", "https://x.org/a", "_blank", "noopener noreferrer nofollow"]);
    const text = link("vbscript:x");
    expect([text.tagName, text.textContent]).toEqual(["SPAN", "vbscript:x"]);
  });
});

describe("text", () => {
  it("knows when a text is long enough to fold", () => {
    expect(longText("short", 12)).toBe(false);
    expect(longText("a\n".repeat(13), 12)).toBe(true);
    expect(longText("x".repeat(1300), 12)).toBe(true); // wrapped lines count
    expect(clip("abcdef", 4)).toBe("abc…");
  });
  it("shows control and bidi characters as the Python tiers do, keeping tabs and newlines", () => {
    const evil = "evil\x1b]0;pwned\x07\x1b[2J$$x^2$$\u202eabc\u2066\u061c\u200e\x85\x7f\x00\t\n";
    const shown = printable(evil);
    expect(shown).toBe("evil\\x1b]0;pwned\\x07\\x1b[2J$$x^2$$\\u202eabc\\u2066\\u061c\\u200e\\x85\\x7f\\x00\t\n");
    expect(printable(shown)).toBe(shown); // nothing left to escape
    expect(printable(null)).toBe("");
    expect(printable("plain — ünïcode 漢字 😀")).toBe("plain — ünïcode 漢字 😀");
  });
  it("makes every text the DOM helpers write printable", () => {
    const evil = "a\u202eb\x1bc";
    const shown = "a\\u202eb\\x1bc";
    expect(h("span", "", evil).textContent).toBe(shown);
    expect(link("https://x.org", evil).textContent).toBe(shown);
    expect(link("javascript:x", evil).textContent).toBe(shown);
    expect(button("b", evil, () => {}, evil).title).toBe(shown);
    const m = marked(h("span"), evil, "\u202eb");
    expect([m.textContent, m.querySelector("mark")?.textContent]).toEqual([shown, "\\u202eb"]);
  });
});

describe("keys", () => {
  it("keeps every key inside the widget, and lets application chords through", () => {
    const outer = document.createElement("div");
    const root = document.createElement("div");
    const input = document.createElement("input");
    root.append(input);
    outer.append(root);
    document.body.append(outer);
    const seen = vi.fn();
    outer.addEventListener("keydown", seen);
    outer.addEventListener("keyup", seen);
    const release = containKeys(root);
    for (const key of ["m", "b", "a", "d", "z", "Enter", "Escape", " ", "ArrowDown"]) {
      input.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true }));
      // Notebook 7 matches shortcuts in the capture phase: the focused element says "not here"
      expect(input.getAttribute("data-lm-suppress-shortcuts")).toBe("true");
      input.dispatchEvent(new KeyboardEvent("keyup", { key, bubbles: true }));
    }
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", ctrlKey: true, bubbles: true }));
    expect(seen).not.toHaveBeenCalled();
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "s", ctrlKey: true, bubbles: true }));
    expect(seen).toHaveBeenCalledTimes(1); // Ctrl+S still saves the notebook
    expect(input.hasAttribute("data-lm-suppress-shortcuts")).toBe(false);
    release();
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "m", bubbles: true }));
    expect(seen).toHaveBeenCalledTimes(2);
  });
  it("activates on Enter and Space", () => {
    const el = document.createElement("th");
    const hit = vi.fn();
    activateOnKeys(el, hit);
    el.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    el.dispatchEvent(new KeyboardEvent("keydown", { key: " " }));
    el.dispatchEvent(new KeyboardEvent("keydown", { key: "x" }));
    expect(hit).toHaveBeenCalledTimes(2);
    expect(el.tabIndex).toBe(0);
  });
});

describe("channel", () => {
  it("numbers requests, stays busy until each is answered, and hands back the reply", async () => {
    const model = fakeModel();
    const root = document.createElement("div");
    const chan = channel(model, root);
    const first = chan.send({ action: "next" });
    const second = chan.send({ action: "prev" });
    expect(model.sent).toEqual([{ action: "next", id: 1 }, { action: "prev", id: 2 }]);
    expect(root.classList.contains("busy")).toBe(true);
    model.emit("msg:custom", { done: "prev", id: 2, error: "" });
    expect(root.getAttribute("aria-busy")).toBe("true");
    model.emit("msg:custom", { done: "next", id: 1, error: "No next page." });
    expect(root.classList.contains("busy")).toBe(false);
    expect(await first).toEqual({ done: "next", id: 1, error: "No next page." });
    expect((await second).done).toBe("prev");
    chan.dispose();
    expect(model.listeners("msg:custom")).toBe(0);
  });
  it("ignores messages that are not replies", () => {
    const model = fakeModel();
    const root = document.createElement("div");
    const chan = channel(model, root);
    chan.send({ action: "x" });
    model.emit("msg:custom", { something: 1 });
    expect(chan.waiting).toBe(1);
  });
  it("unsubscribes what it subscribed", () => {
    const model = fakeModel();
    const off = listen(model, { "change:a": () => {}, "change:b": () => {} });
    expect(model.listeners("change:a") + model.listeners("change:b")).toBe(2);
    off();
    expect(model.listeners("change:a") + model.listeners("change:b")).toBe(0);
  });
});

describe("table", () => {
  it("sorts from the keyboard and says how it is sorted", () => {
    const onSort = vi.fn();
    const th = sortHeader("c", "Time", onSort);
    th.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    th.click();
    expect(onSort).toHaveBeenCalledTimes(2);
    expect(th.getAttribute("aria-sort")).toBe("none");
    setSort(th, "descending");
    expect(th.getAttribute("aria-sort")).toBe("descending");
    expect(th.textContent).toBe("Time ▼");
  });
});

describe("tree", () => {
  // 0 root ─ 1 a ─ 2 a1
  //        │     └ 3 a2
  //        └ 4 b
  const parent = [-1, 0, 1, 1, 0];
  const t = shape(parent);
  it("knows depths, subtree ends and children", () => {
    expect([...t.depth]).toEqual([0, 1, 2, 2, 1]);
    expect([...t.end]).toEqual([5, 4, 3, 4, 5]);
    expect([...t.kids]).toEqual([2, 2, 0, 0, 0]);
  });
  it("hides what a fold holds, and shows every kept row when filtering", () => {
    const collapsed = new Uint8Array(5);
    collapsed[1] = 1;
    expect(visibleRows(t, collapsed, null)).toEqual([0, 1, 4]);
    expect(visibleRows(t, collapsed, Uint8Array.from([1, 1, 0, 1, 0]))).toEqual([0, 1, 3]);
  });
  it("caps indentation and marks the depth beyond it", () => {
    expect(indent(3)).toEqual({ levels: 3, marker: "" });
    expect(indent(30)).toEqual({ levels: MAX_INDENT, marker: "⋯30" });
  });
  it("moves like a WAI-ARIA tree", () => {
    const collapsed = new Uint8Array(5);
    const s = (at, rows = [0, 1, 2, 3, 4]) => ({ rows, at, parent, kids: t.kids, collapsed, folds: true });
    expect(treeKey("ArrowDown", s(-1))).toEqual({ to: 0, act: null });
    expect(treeKey("ArrowDown", s(2))).toEqual({ to: 3, act: null });
    expect(treeKey("ArrowUp", s(0))).toEqual({ to: 0, act: null });
    expect(treeKey("End", s(0))).toEqual({ to: 4, act: null });
    expect(treeKey("Home", s(3))).toEqual({ to: 0, act: null });
    expect(treeKey("ArrowLeft", s(1))).toEqual({ to: 1, act: "collapse" });
    expect(treeKey("ArrowLeft", s(3))).toEqual({ to: 1, act: null });
    expect(treeKey("ArrowRight", s(1))).toEqual({ to: 2, act: null });
    collapsed[1] = 1;
    expect(treeKey("ArrowRight", s(1, [0, 1, 4]))).toEqual({ to: 1, act: "expand" });
    expect(treeKey("Enter", s(1, [0, 1, 4]))).toEqual({ to: 1, act: "activate" });
    expect(treeKey("m", s(1))).toBe(null);
  });
});

describe("persist", () => {
  const nb = {
    cells: [
      { outputs: [{ data: { "application/vnd.jupyter.widget-view+json": { model_id: "aa" } } }] },
      { outputs: [{ data: { "text/plain": "x" } }, { data: { "application/vnd.jupyter.widget-view+json": { model_id: "cc" } } }] },
      { source: "markdown" },
    ],
  };
  const state = {
    aa: { state: { _anywidget_id: "mlflow_magics.views.trace_widget.TraceWidget", layout: "IPY_MODEL_11" } },
    "11": { state: { _model_name: "LayoutModel" } },
    bb: { state: { _anywidget_id: "mlflow_magics.views.eval_widget.EvalWidget" } },
    cc: { state: { _model_name: "IntSliderModel" } },
    dd: { state: { _model_name: "VBoxModel", children: ["IPY_MODEL_ee", "IPY_MODEL_ff"] } },
    ee: { state: { _anywidget_id: "mlflow_magics.views.trace_table_widget.TraceTableWidget" } },
    ff: { state: { _model_name: "OutputModel" } },
  };
  it("keeps our shown views and what they refer to, nothing else", () => {
    expect([...shownModelIds(nb)].sort()).toEqual(["aa", "cc"]);
    expect(Object.keys(keptState(state, shownModelIds(nb))).sort()).toEqual(["11", "aa"]);
    // a view with its detail area: the box that holds it is what the output shows
    expect(Object.keys(keptState(state, new Set(["dd", "cc"]))).sort()).toEqual(["dd", "ee", "ff"]);
  });
  it("writes the state into the notebook on save, unless Jupyter saves widget state itself", () => {
    const slots = [];
    const metadata = {};
    const context = {
      saveState: { connect: (fn) => slots.push(fn) },
      model: { toJSON: () => nb, setMetadata: (k, v) => (metadata[k] = v) },
    };
    const manager = { context, _settings: { saveState: false }, get_state_sync: () => ({ version_major: 2, version_minor: 0, state }) };
    persistOnSave({ widget_manager: manager });
    persistOnSave({ widget_manager: manager }); // a second view of the same notebook: one hook
    expect(slots.length).toBe(1);
    slots[0](null, "started");
    const saved = metadata.widgets["application/vnd.jupyter.widget-state+json"];
    expect(Object.keys(saved.state).sort()).toEqual(["11", "aa"]);
    expect(saved.version_major).toBe(2);
    delete metadata.widgets;
    manager._settings.saveState = true;
    slots[0](null, "started");
    expect(metadata.widgets).toBeUndefined();
  });
  it("does nothing where there is no notebook manager (VS Code, Colab)", () => {
    expect(() => persistOnSave({ widget_manager: {} })).not.toThrow();
    expect(() => persistOnSave({})).not.toThrow();
  });
});
