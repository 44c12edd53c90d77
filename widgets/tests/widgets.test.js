import { describe, expect, it } from "vitest";
import traceView from "../trace_view/index.js";
import traceTable from "../trace_table/index.js";
import evalView, { failingFirst } from "../eval_view/index.js";
import datasetView, { asText, changedFields, drawnOf, lines } from "../dataset_view/index.js";
import aliasBoard from "../alias_board/index.js";
import { printable } from "../lib/text.js";
import { HOSTILE, mount } from "./fake.js";

function trace(depth = 3, extra = {}) {
  const spans = { id: [], parent: [], name: [], type: [], status: [], start: [], dur: [], tokens: [] };
  for (let i = 0; i < depth; i++) {
    spans.id.push(`s${i}`);
    spans.parent.push(i - 1);
    spans.name.push(i === 1 ? HOSTILE : `span ${i}`);
    spans.type.push(i ? "LLM" : "CHAIN");
    spans.status.push(i === 1 ? "ERROR" : "OK");
    spans.start.push(i);
    spans.dur.push(10 - i);
    spans.tokens.push(0);
  }
  return { trace_id: "tr-1", name: "cell", status: "ERROR", duration_ms: 10, span_count: depth, spans, ...extra };
}

const keydown = (el, key) => el.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true }));

describe("trace view", () => {
  it("draws a row per span, hostile names as text, error styling on the failing span only", () => {
    const { el } = mount(traceView, { trace: trace(3), selected_span_id: "", _detail: {}, query: "", span_type_filter: "", _matches: {} });
    const rows = el.querySelectorAll(".mlfm-row");
    expect(rows.length).toBe(3);
    expect(el.querySelector("img, script")).toBe(null);
    expect(rows[1].querySelector(".mlfm-label").textContent).toBe(HOSTILE);
    expect([...rows].map((r) => r.classList.contains("err"))).toEqual([false, true, false]);
    expect(rows[1].getAttribute("role")).toBe("treeitem");
    expect(rows[2].getAttribute("aria-level")).toBe("3");
  });
  it("shows control and bidi characters in span names as escapes, its root out of MathJax's reach", () => {
    const t = trace(3, { name: "evil\x1b]0;pwned\x07\u202eabc" });
    t.spans.name[2] = "$$x^2$$\u202eexe.txt\x1b[2J";
    const { el } = mount(traceView, { trace: t, selected_span_id: "", _detail: {}, query: "", span_type_filter: "", _matches: {} });
    const raw = { test: (/** @type {string} */ text) => printable(text) !== text }; // a hidden character left
    const rows = el.querySelectorAll(".mlfm-row");
    expect(rows[2].querySelector(".mlfm-label").textContent).toBe("$$x^2$$\\u202eexe.txt\\x1b[2J");
    expect(rows[2].title).toContain("\\u202eexe.txt");
    expect(raw.test(el.textContent)).toBe(false);
    expect([...el.querySelectorAll("[title], [aria-label]")].some((n) => raw.test(n.title + (n.getAttribute("aria-label") || "")))).toBe(false);
    const root = el.querySelector(".mlfm");
    expect(root.classList.contains("mathjax_ignore") && root.classList.contains("tex2jax_ignore")).toBe(true);
  });
  it("says when the trace never ended and marks its unended spans", () => {
    const t = trace(3, { status: "IN_PROGRESS", problem: `never ended ${HOSTILE}`, unended: [2] });
    t.spans.status[2] = "UNENDED";
    const { el } = mount(traceView, { trace: t, selected_span_id: "", _detail: {}, query: "", span_type_filter: "", _matches: {} });
    const lines = [...el.querySelectorAll(".mlfm-problem")].map((p) => p.textContent);
    expect(lines).toEqual([`never ended ${HOSTILE}`, "1 span never ended (shown as UNENDED)"]);
    expect(el.querySelector("img, script")).toBe(null);
    expect([...el.querySelectorAll(".mlfm-row")].map((r) => r.classList.contains("unended"))).toEqual([false, false, true]);
  });

  it("moves the selection with the tree keys and asks Python for the span", () => {
    const { el, model } = mount(traceView, { trace: trace(3), selected_span_id: "", _detail: {}, query: "", span_type_filter: "", _matches: {} });
    const tree = el.querySelector(".mlfm-tree");
    expect(tree.getAttribute("role")).toBe("tree");
    expect(model.get("selected_span_id")).toBe("s0"); // the root, selected on first paint
    keydown(tree, "ArrowDown");
    expect(model.get("selected_span_id")).toBe("s1");
    keydown(tree, "Home");
    expect(model.get("selected_span_id")).toBe("s0");
    keydown(tree, "End");
    expect(model.get("selected_span_id")).toBe("s2");
    keydown(tree, "ArrowLeft");
    expect(model.get("selected_span_id")).toBe("s1");
    keydown(tree, "ArrowLeft"); // s1 has a child: it folds first
    expect(el.querySelectorAll(".mlfm-row").length).toBe(2);
    keydown(tree, "ArrowRight");
    expect(el.querySelectorAll(".mlfm-row").length).toBe(3);
    expect(tree.getAttribute("aria-activedescendant")).toMatch(/-1$/);
  });
  it("keeps names readable at depth 30", () => {
    const { el } = mount(traceView, { trace: trace(31), selected_span_id: "", _detail: {}, query: "", span_type_filter: "", _matches: {} });
    const last = [...el.querySelectorAll(".mlfm-row")].at(-1);
    expect(last.querySelector(".mlfm-deep").textContent).toBe("⋯30");
    expect(parseInt(last.querySelector(".mlfm-name").style.paddingLeft, 10)).toBeLessThanOrEqual(8 * 12);
  });
  it("shows the selected span's details as text", () => {
    const { el, model } = mount(traceView, { trace: trace(3), selected_span_id: "", _detail: {}, query: "", span_type_filter: "", _matches: {} });
    model.set("_detail", { span_id: "s1", name: HOSTILE, type: "LLM", status: "ERROR", duration_ms: 9, outputs: { text: HOSTILE, size: 80, truncated: false }, exception: { type: "ValueError", message: HOSTILE } });
    expect(el.querySelector(".mlfm-detail img, .mlfm-detail script")).toBe(null);
    expect(el.querySelector(".mlfm-exc").textContent).toContain(HOSTILE);
  });
  it("cleans up its listeners", () => {
    const { model, cleanup } = mount(traceView, { trace: trace(2), selected_span_id: "", _detail: {}, query: "", span_type_filter: "", _matches: {} });
    cleanup();
    expect(model.listeners("change:_detail")).toBe(0);
  });
});

describe("trace table", () => {
  const page = { rows: [{ id: "tr-a", time: "12:00", name: HOSTILE, status: "ERROR", duration_ms: 0, tokens: null, request: HOSTILE, response: "ok", tags: [["k", HOSTILE]], more_tags: 0 }], page: 1, start: 0, has_prev: false, has_next: true, count: 1 };
  it("renders rows as text and sends actions with ids", () => {
    const { el, model } = mount(traceTable, { page, filter: "", order: { column: "time", descending: true }, selection: { count: 0, on_page: [] }, dataset_names: [], dataset_note: "", error: "" });
    expect(el.querySelector("tbody img, tbody script")).toBe(null);
    expect(el.querySelector(".mlfm-tt-dur").textContent).toBe("<1 ms");
    expect(el.querySelector(".mlfm-tt-h-time").getAttribute("aria-sort")).toBe("descending");
    keydown(el.querySelector(".mlfm-tt-h-name"), "Enter");
    expect(model.sent.at(-1)).toEqual({ action: "sort", column: "name", descending: false, id: 1 });
    el.querySelector(".mlfm-tt-next").click();
    expect(model.sent.at(-1)).toEqual({ action: "next", id: 2 });
  });
});

describe("trace table assessments", () => {
  const row = (id, assessments) => ({ id, time: "12:00", name: id, status: "OK", duration_ms: 5, tokens: 1, request: "q", response: "a", tags: [["env", "dev"]], more_tags: 0, assessments });
  const base = { filter: "", order: {}, selection: { count: 0, on_page: [] }, dataset_names: [], dataset_note: "", error: "" };
  it("shows a column per assessment name, verdicts in the status colours", () => {
    const page = {
      rows: [
        row("tr-a", { correctness: { text: "yes", verdict: "pass" }, score: { text: "0.8", verdict: null } }),
        row("tr-b", { correctness: { text: HOSTILE, verdict: "fail" }, judge: { text: "error", verdict: "error" } }),
      ],
      assessment_names: ["correctness", "judge", "score"],
      page: 1,
      start: 0,
      count: 2,
    };
    const { el, model } = mount(traceTable, { ...base, page });
    const heads = [...el.querySelectorAll("thead th")].map((th) => th.textContent);
    expect(heads.slice(-4)).toEqual(["correctness", "judge", "score", "Tags"]);
    const cells = (tr) => [...tr.querySelectorAll(".mlfm-tt-as")].map((td) => [td.textContent, td.classList.contains("pass") ? "pass" : td.classList.contains("fail") ? "fail" : td.classList.contains("error") ? "error" : ""]);
    const [a, b] = el.querySelectorAll("tbody tr");
    expect(cells(a)).toEqual([["✓ yes", "pass"], ["", ""], ["0.8", ""]]);
    expect(cells(b)).toEqual([[`✗ ${HOSTILE}`, "fail"], ["! error", "error"], ["", ""]]);
    expect(el.querySelector("tbody img, tbody script")).toBe(null);
    expect(a.lastElementChild.classList.contains("mlfm-tt-tags")).toBe(true);
    // a page without assessments has no such columns
    model.set("page", { ...page, rows: [row("tr-c")], assessment_names: [] });
    expect(el.querySelectorAll(".mlfm-tt-h-as, .mlfm-tt-as").length).toBe(0);
    model.set("page", { ...page, rows: [], assessment_names: ["x"] });
    expect(el.querySelector("tr.mlfm-empty td").colSpan).toBe(10);
  });
});

describe("evaluation grid", () => {
  it("puts a scorer's failing rows first, keeping finishing order otherwise", () => {
    const rows = [
      { i: 0, v: { s: ["pass", "✓"] } },
      { i: 1, v: { s: ["fail", "✗"] } },
      { i: 2, v: {} },
      { i: 3, v: { s: ["error", "⚠"] } },
    ];
    expect(failingFirst(rows, "s").map((r) => r.i)).toEqual([3, 1, 2, 0]);
    expect(failingFirst(rows, null).map((r) => r.i)).toEqual([0, 1, 2, 3]);
  });
  it("expands a row from the keyboard and opens its trace without expanding", () => {
    const { el, model } = mount(evalView, {
      header: { status: "done", done: 1, total: 1, elapsed: 1 },
      scorers: [{ name: "safety", text: "0/1" }],
      rows: [{ i: 0, trace_id: "tr-x", inputs: HOSTILE, outputs: "o", v: { safety: ["fail", "✗", HOSTILE, null] } }],
      note: "",
      error: "",
    });
    const row = el.querySelector(".mlfm-ev-row");
    keydown(row, "Enter");
    expect(el.querySelector(".mlfm-ev-rationale").textContent).toBe(HOSTILE);
    expect(el.querySelector("img, script")).toBe(null);
    el.querySelector(".mlfm-ev-open").click();
    expect(model.sent.at(-1)).toMatchObject({ action: "open", trace_id: "tr-x" });
    expect(el.querySelector(".mlfm-ev-act").classList.contains("mlfm-act")).toBe(true);
  });

  it("shows a chat record's conversation as message cards when expanded", () => {
    const content = {
      kind: "chat",
      input_messages: [{ role: "user", text: "Weather in Paris?" }],
      output_messages: [
        { role: "assistant", text: "", tool_calls: [{ name: "get_weather", arguments: '{\n  "city": "Paris"\n}', result: "sunny" }] },
        { role: "assistant", text: `It is **sunny**. ${HOSTILE}` },
      ],
    };
    const { el } = mount(evalView, {
      header: { status: "done", done: 1, total: 1, elapsed: 1 },
      scorers: [{ name: "ok", text: "1/1" }],
      rows: [{ i: 0, trace_id: "tr-x", inputs: "Weather in Paris?", outputs: "It is sunny.", content, v: { ok: ["pass", "✓", "", null] } }],
      note: "",
      error: "",
    });
    expect(el.querySelector(".mlfm-msg")).toBe(null); // folded until the row opens
    keydown(el.querySelector(".mlfm-ev-row"), "Enter");
    const cards = [...el.querySelectorAll(".mlfm-msg")];
    expect(cards.map((c) => c.classList.contains("role-user") || c.classList.contains("role-assistant"))).toEqual([true, true, true]);
    expect(el.querySelector(".mlfm-ev-detail strong").textContent).toBe("sunny");
    expect(el.querySelector(".mlfm-ev-detail").textContent).toContain("get_weather");
    expect(el.querySelector("img, script")).toBe(null);
  });
});

describe("dataset grid", () => {
  it("splits one-per-line fields", () => {
    expect(lines(" a \n\n b\n")).toEqual(["a", "b"]);
    expect(asText(["a", "b"])).toBe("a\nb");
    expect(asText(null)).toBe("");
  });
  it("keeps a typed, unsaved edit when the page re-renders", () => {
    const row = { id: "r1", inputs: "q", outputs: "a", source_trace: "tr-1", expected_response: "", expected_facts: [], guidelines: [] };
    const { el, model } = mount(datasetView, { page: { name: "d", rows: [row], page: 1, pages: 1, total: 1, start: 0 }, unsaved: {}, note: "", error: "" });
    const area = el.querySelector(".mlfm-ds-resp");
    area.value = "typed";
    area.dispatchEvent(new Event("input"));
    model.set("note", "something else changed");
    model.set("page", { ...model.get("page") });
    expect(el.querySelector(".mlfm-ds-resp").value).toBe("typed");
    expect(el.querySelector(".mlfm-ds-state").textContent).toBe("edited, not saved");
  });
  const dsRow = { id: "r1", version: "v1", inputs: "q", outputs: "a", source_trace: "tr-1", expected_response: "old", expected_facts: ["f1", "f2"], guidelines: [] };
  const dsState = (extra = {}) => ({ page: { name: "d", rows: [dsRow], page: 1, pages: 1, total: 1, start: 0 }, unsaved: {}, conflicts: {}, note: "", error: "", ...extra });
  it("sends only the changed fields, with the version and values the editing began from", () => {
    expect(changedFields({ ...drawnOf(dsRow), expected_facts: [] }, drawnOf(dsRow))).toEqual({ expected_facts: [] });
    const { el, model } = mount(datasetView, dsState());
    const facts = el.querySelector(".mlfm-ds-facts");
    facts.value = "f1\nf3";
    facts.dispatchEvent(new Event("input"));
    // the store moves on and the page re-renders: the draft keeps its base
    model.set("page", { ...model.get("page"), rows: [{ ...dsRow, version: "v2", expected_response: "new" }] });
    expect(el.querySelector(".mlfm-ds-state").textContent).toBe("edited; the store changed since");
    el.querySelector(".mlfm-ds-save").click();
    expect(model.sent.at(-1)).toMatchObject({ action: "save", record_id: "r1", version: "v1", fields: { expected_facts: ["f1", "f3"] } });
    expect(model.sent.at(-1).fields).not.toHaveProperty("expected_response");
  });
  it("shows a refused edit beside the store's values, hostile text as text, and settles it", () => {
    const conflicts = { r1: { fields: { expected_facts: ["mine"] }, drawn: { expected_facts: ["f1"] }, current: { expected_response: "", expected_facts: [HOSTILE], guidelines: [] }, reason: "changed" } };
    const { el, model } = mount(datasetView, dsState({ conflicts }));
    const panel = el.querySelector(".mlfm-ds-conflict");
    expect(panel).not.toBe(null);
    expect(el.querySelector("img, script")).toBe(null);
    expect([...panel.querySelectorAll(".mlfm-ds-theirs .mlfm-ds-val")].map((v) => v.textContent)).toEqual([HOSTILE]);
    expect(panel.querySelector(".mlfm-ds-mine .mlfm-ds-val").textContent).toBe("mine");
    expect(el.querySelector(".mlfm-ds-facts").value).toBe("mine"); // the user's edit, not lost
    panel.querySelector(".mlfm-ds-merge").click();
    expect(model.sent.at(-1)).toMatchObject({ action: "resolve", record_id: "r1", choice: "merge", fields: { expected_facts: ["mine"] } });
  });
  it("saves every draft at once with Save all", () => {
    const other = { ...dsRow, id: "r2", version: "w1" };
    const { el, model } = mount(datasetView, dsState({ page: { name: "d", rows: [dsRow, other], page: 1, pages: 1, total: 2, start: 0 } }));
    const saveAll = el.querySelector(".mlfm-ds-saveall");
    expect(saveAll.disabled).toBe(true);
    for (const area of el.querySelectorAll(".mlfm-ds-resp")) {
      area.value = `${area.closest("tr").dataset.id} answer`;
      area.dispatchEvent(new Event("input"));
    }
    expect(saveAll.textContent).toBe("Save all (2)");
    saveAll.click();
    const sent = model.sent.at(-1);
    expect(sent.action).toBe("save_all");
    expect(sent.edits.map((e) => [e.record_id, e.version, e.fields])).toEqual([
      ["r1", "v1", { expected_response: "r1 answer" }],
      ["r2", "w1", { expected_response: "r2 answer" }],
    ]);
  });
});

describe("alias board", () => {
  it("shows hostile templates as text and plans a move only through Python", () => {
    const board = { kind: "prompt", name: "p", latest: 2, aliases: { prod: 1 }, versions: [{ n: 2, message: HOSTILE, author: "a", time: "t", preview: HOSTILE, template: HOSTILE, config: "", run_id: "", metrics: [] }, { n: 1, message: "m", author: "a", time: "t", preview: "x", template: "x", config: "", run_id: "", metrics: [] }], history: {} };
    const { el, model } = mount(aliasBoard, { board, pending: {}, diff: {}, note: "", error: "" });
    expect(el.querySelector("img, script")).toBe(null);
    el.querySelector(".mlfm-ab-alias-input").value = "prod";
    el.querySelector(".mlfm-ab-move-btn").click();
    expect(model.sent.at(-1)).toMatchObject({ action: "move", alias: "prod", version: 2 });
    expect(el.querySelector(".mlfm-ab-pending").hidden).toBe(true);
  });
});
