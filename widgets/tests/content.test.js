// @vitest-environment jsdom
// Markdown, the JSON viewer, content cards, assessments, and the trace view that shows them.
// These run in jsdom, not happy-dom: happy-dom's NodeIterator stops after a removed node, so
// DOMPurify "sanitizes" only up to the first thing it removes there (capricorn86/happy-dom
// #2310; DOMPurify does not support happy-dom), and a sanitizer test would pass for nothing.
import { afterEach, describe, expect, it } from "vitest";
import { markdown, markdownBlock } from "../lib/markdown.js";
import { jsonView, parseJson } from "../lib/json.js";
import { contentView, documentRows, messageCards, roleKind, toolCard, usageChips } from "../lib/content_view.js";
import { assessmentForm, assessmentList, assessmentValue, sourceLabel, verdict } from "../lib/assessments.js";
import { printable } from "../lib/text.js";
import traceView, { splitAttributes } from "../trace_view/index.js";
import { HOSTILE, mount } from "./fake.js";

/** @param {unknown} text */
function md(text) {
  const div = document.createElement("div");
  div.append(markdown(text));
  return div;
}

const SAFE_HREF = /^(?:https?:|mailto:)/i;

afterEach(() => {
  document.body.replaceChildren();
  expect(window.__pwned).toBeUndefined();
});

describe("markdown", () => {
  it("shows raw HTML as text, never as elements", () => {
    for (const src of ["<script>window.__pwned=1</script>", '<img src=x onerror="window.__pwned=1">', HOSTILE, "<iframe src=http://evil></iframe>", '<svg onload="window.__pwned=1">', "<style>*{display:none}</style>"]) {
      const div = md(src);
      expect(div.querySelector("script, img, iframe, svg, style")).toBe(null);
      expect(div.textContent).toContain(src.slice(0, 8));
    }
  });
  it("links only to http(s) and mailto, in a new tab that cannot reach back", () => {
    const src = [
      "[a](javascript:alert(1))",
      "[b](JaVaScRiPt:alert(1))",
      "[c](data:text/html;base64,PHNjcmlwdD4=)",
      "[d](vbscript:msgbox(1))",
      "[e](&#106;avascript:alert(1))",
      "<javascript:alert(1)>",
      "[f](/relative/path)",
      "[ok](https://example.com/a?b=1 \"title\")",
      "mail me: someone@example.com",
      "bare https://example.org/x",
    ].join("\n\n");
    const div = md(src);
    const links = [...div.querySelectorAll("a")];
    expect(links.map((a) => a.getAttribute("href"))).toEqual(["https://example.com/a?b=1", "mailto:someone@example.com", "https://example.org/x"]);
    for (const a of links) {
      expect(a.getAttribute("href")).toMatch(SAFE_HREF);
      expect(a.target).toBe("_blank");
      expect(a.rel.split(" ").sort()).toEqual(["nofollow", "noopener", "noreferrer"]);
    }
    expect(div.textContent).toContain("javascript:alert(1)"); // the refused link reads as its source
  });
  it("shows a raw <a> tag as text", () => {
    const div = md('<a href="javascript:alert(1)">click</a> and <a href="https://x.org">raw</a>');
    expect([...div.querySelectorAll("a")].some((a) => a.textContent === "click" || a.textContent === "raw")).toBe(false);
    expect(div.textContent).toContain('<a href="javascript:alert(1)">click</a>');
  });
  it("never loads an image: it becomes a link reading its alt text", () => {
    const div = md("![a cat](https://example.com/cat.png) ![x](javascript:alert(1))");
    expect(div.querySelector("img")).toBe(null);
    const a = div.querySelector("a");
    expect(a.textContent).toBe("image: a cat");
    expect(a.getAttribute("href")).toBe("https://example.com/cat.png");
    expect(div.querySelectorAll("a").length).toBe(1);
  });
  it("renders nested markdown, with hostile pieces inside it still inert", () => {
    const div = md("> **bold _em [in](javascript:x) <b>tag</b>_**\n> - item [ok](https://ok.example)\n\n1. one\n2. `<script>`");
    expect(div.querySelector("blockquote strong em")).not.toBe(null);
    expect(div.querySelector("b, script")).toBe(null);
    expect(div.querySelector("blockquote li a").getAttribute("href")).toBe("https://ok.example");
    expect(div.querySelector("ol code").textContent).toBe("<script>");
  });
  it("writes code blocks as <pre><code>, their text untouched", () => {
    const div = md("```python\nprint('<b>hi</b>')\n```");
    expect(div.querySelector("pre > code").textContent).toBe("print('<b>hi</b>')\n");
    expect(div.querySelector("b")).toBe(null);
  });
  it("keeps line breaks and makes bidi overrides and control characters visible", () => {
    const div = md("line one\nline two \u202Eexe.txt\u0007");
    expect(div.querySelector("br")).not.toBe(null);
    expect(div.textContent).toContain("\\u202e");
    expect(div.textContent).toContain("\\x07");
    expect(div.textContent).not.toContain("\u202E");
    expect(printable("a\tb\nc\u200Fd")).toBe("a\tb\nc\\u200fd");
  });
  it("folds long text behind Show more", () => {
    const short = markdownBlock("one line");
    expect(short.classList.contains("mlfm-md")).toBe(true);
    const long = markdownBlock(Array.from({ length: 40 }, (_, i) => `line ${i}`).join("\n"));
    expect(long.classList.contains("folded")).toBe(true);
    const more = long.querySelector(".mlfm-fold-btn");
    expect(more.textContent).toBe("Show more");
    more.click();
    expect(long.classList.contains("folded")).toBe(false);
    expect(more.getAttribute("aria-expanded")).toBe("true");
    expect(more.textContent).toBe("Show less");
  });
});

describe("JSON viewer", () => {
  const value = { messages: [{ role: "user", content: { parts: ["hi"] } }], n: 3, ok: true, none: null };
  it("opens the first two levels and folds the rest, by click and by arrow keys", () => {
    const el = jsonView(value);
    const toggles = [...el.querySelectorAll(".mlfm-jt")];
    // root (level 0) and messages (level 1) open; the message object (level 2) closed and unbuilt
    expect(toggles.map((t) => t.getAttribute("aria-expanded"))).toEqual(["true", "true", "false"]);
    expect(el.querySelector(".mlfm-jt[aria-expanded=false] + .mlfm-jk").childElementCount).toBe(0);
    toggles[2].click();
    expect(toggles[2].getAttribute("aria-expanded")).toBe("true");
    expect(el.textContent).toContain("role: ");
    toggles[2].dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowLeft", bubbles: true }));
    expect(toggles[2].getAttribute("aria-expanded")).toBe("false");
    expect(toggles[2].tagName).toBe("BUTTON"); // reachable with Tab
    expect(el.querySelector(".mlfm-jv.num").textContent).toBe("3");
    expect(el.querySelector(".mlfm-jv.bool").textContent).toBe("true");
    expect(el.querySelector(".mlfm-jv.null").textContent).toBe("null");
  });
  it("takes a JSON string, and shows text that is not JSON (or is cut off) as text", () => {
    expect(jsonView(JSON.stringify(value)).querySelector(".mlfm-jt")).not.toBe(null);
    const cut = jsonView('{"a": [1, 2, 3');
    expect(cut.querySelector(".mlfm-jt")).toBe(null);
    expect(cut.querySelector("pre.mlfm-json-text").textContent).toBe('{"a": [1, 2, 3');
    expect(jsonView("plain words").textContent).toBe("plain words");
    expect(parseJson("true")).toBe(true);
    expect(parseJson("hello")).toBeUndefined();
  });
  it("cuts long strings with … and shows all on request", () => {
    const el = jsonView({ text: "x".repeat(1000) });
    const str = el.querySelector(".mlfm-jv.str");
    expect(str.textContent).toContain("…");
    expect(str.textContent.length).toBeLessThan(400);
    str.querySelector(".mlfm-jcut").click();
    expect(el.querySelector(".mlfm-jv.str").textContent).toBe(`"${"x".repeat(1000)}"`);
  });
  it("shows big containers a page at a time", () => {
    const el = jsonView(Array.from({ length: 250 }, (_, i) => i));
    const kids = el.querySelector(".mlfm-jk");
    expect(kids.querySelectorAll(".mlfm-jn").length).toBe(100);
    kids.querySelector(".mlfm-jmore").click();
    expect(kids.querySelectorAll(".mlfm-jn").length).toBe(200);
  });
  it("puts hostile keys and values in as text", () => {
    const el = jsonView({ [HOSTILE]: HOSTILE });
    expect(el.querySelector("img, script")).toBe(null);
    expect(el.textContent).toContain(HOSTILE);
  });
  it("opens the folds that hold a searched text and marks it", () => {
    const el = jsonView({ a: { b: { c: { d: "the Needle here" } } } }, { mark: "needle" });
    expect([...el.querySelectorAll(".mlfm-jt")].every((t) => t.getAttribute("aria-expanded") === "true")).toBe(true);
    expect(el.querySelector("mark").textContent).toBe("Needle");
  });
});

describe("content cards", () => {
  const args = '{\n  "city": "Paris",\n  "unit": "°C \\"metric\\""\n}';
  const messages = [
    { role: "system", text: "Be brief." },
    { role: "user", text: `What is the weather? ${HOSTILE}` },
    {
      role: "assistant",
      text: "",
      reasoning: "The user wants weather.",
      tool_calls: [
        { id: "call_1", name: "get_weather", arguments: args, result: '{\n  "temp": 21\n}' },
        { id: "call_2", name: "get_time", arguments: "{}", result: "TimeoutError: no answer", error: true },
      ],
    },
    { role: "tool", text: "late result", tool_call_id: "call_9" },
  ];
  it("draws a card per message, styled by role", () => {
    const el = messageCards(messages, { cut: 3 });
    const cards = [...el.querySelectorAll(".mlfm-msg")];
    expect(cards.map((c) => c.dataset.role)).toEqual(["system", "user", "assistant", "tool"]);
    expect(cards.map((c) => c.querySelector(".mlfm-role").textContent)).toEqual(["System", "User", "Assistant", "Tool"]);
    expect(el.querySelector(".mlfm-msgcut").textContent).toBe("3 earlier messages not shown");
    expect(el.querySelector("img, script")).toBe(null);
    expect(cards[1].textContent).toContain(HOSTILE);
    expect(cards[3].textContent).toContain("answers call_9");
    const reasoning = cards[2].querySelector("details.mlfm-reasoning");
    expect(reasoning.open).toBe(false);
    expect(roleKind("developer")).toBe("system");
    expect(roleKind("ai")).toBe("assistant");
    expect(roleKind("critic")).toBe("other");
  });
  it("pairs each tool call with its result, arguments shown exactly as sent", () => {
    const el = messageCards(messages);
    const tools = [...el.querySelectorAll(".mlfm-toolcard")];
    expect(tools.length).toBe(2);
    expect(tools[0].querySelector(".mlfm-toolname").textContent).toBe("get_weather");
    expect(tools[0].querySelector(".mlfm-args").textContent).toBe(args); // not escaped twice
    expect(tools[0].querySelector(".mlfm-result").textContent).toBe('{\n  "temp": 21\n}');
    expect(tools[0].querySelector(".mlfm-toolres .mlfm-toolsub").textContent).toBe("Result");
    expect(tools[1].classList.contains("err")).toBe(true);
    expect(tools[1].querySelector(".mlfm-toolres.err .mlfm-toolsub").textContent).toBe("Error");
    expect(tools[1].querySelector(".mlfm-result").textContent).toBe("TimeoutError: no answer");
  });
  it("shows one tool card for a tool span", () => {
    const el = toolCard({ name: "search", arguments: '{\n  "q": "mlflow"\n}' }, { label: "Tool" });
    expect(el.querySelector(".mlfm-toollabel").textContent).toBe("Tool");
    expect(el.querySelector(".mlfm-toolres")).toBe(null);
  });
  it("draws documents as rows: index, safe uri, score, folded text, metadata chips", () => {
    const docs = [
      { text: "MLflow is an open source platform.", uri: "https://mlflow.org/docs", score: 0.91234, metadata: { page: 3, source: HOSTILE } },
      { text: Array.from({ length: 20 }, (_, i) => `row ${i}`).join("\n"), uri: "javascript:alert(1)", id: "doc-2" },
    ];
    const el = documentRows(docs);
    const rows = [...el.querySelectorAll(".mlfm-doc")];
    expect(rows.map((r) => r.querySelector(".mlfm-docn").textContent)).toEqual(["#1", "#2"]);
    const a = rows[0].querySelector("a");
    expect(a.getAttribute("href")).toBe("https://mlflow.org/docs");
    expect(a.rel).toContain("noopener");
    expect(rows[0].querySelector(".mlfm-score").textContent).toBe("score 0.912");
    expect([...rows[0].querySelectorAll(".mlfm-kv")].map((c) => c.textContent)).toEqual(["page=3", `source=${HOSTILE}`]);
    expect(rows[1].querySelector("a")).toBe(null);
    expect(rows[1].querySelector(".mlfm-uri").textContent).toBe("javascript:alert(1)");
    expect(rows[1].querySelector(".mlfm-fold.folded")).not.toBe(null);
    expect(el.querySelector("img, script")).toBe(null);
  });
  it("puts the conversation before the response, with the usage line on top", () => {
    const el = contentView({
      kind: "chat",
      model: "gpt-4o-mini",
      provider: "openai",
      input_messages: messages.slice(0, 2),
      output_messages: [{ role: "assistant", text: "It is **sunny**." }],
      tools: [{ name: "get_weather", description: "Weather by city" }],
      usage: { input_tokens: 10, output_tokens: 5, total_tokens: 15 },
      cost: { input_cost: 0.0000024, output_cost: 0.0000024, total_cost: 0.0000048 },
    });
    const order = [...el.children].map((c) => c.className.split(" ")[0]);
    expect(order).toEqual(["mlfm-cmeta", "mlfm-tools-offered", "mlfm-msgs", "mlfm-divider", "mlfm-msgs"]);
    expect(el.querySelector(".mlfm-divider").textContent).toBe("Response");
    expect(el.querySelectorAll(".mlfm-msgs")[1].querySelector("strong").textContent).toBe("sunny");
    const chips = [...el.querySelectorAll(".mlfm-cchip")].map((c) => c.textContent);
    expect(chips).toEqual(["model gpt-4o-mini", "provider openai", "tokens in 10 · out 5 · total 15", "cost $0.0000048"]);
  });
  it("shows retrieval, tool and text content, and nothing for 'other'", () => {
    const r = contentView({ kind: "retrieval", query: "what is mlflow", documents: [{ text: "a" }] });
    expect(r.querySelector(".mlfm-query").textContent).toContain("what is mlflow");
    expect(r.querySelector(".mlfm-docsec .mlfm-csub").textContent).toBe("Documents (1)");
    const t = contentView({ kind: "tool", tool_call: { name: "calc", arguments: "{}", result: "4" } });
    expect(t.querySelectorAll(".mlfm-toolcard").length).toBe(1);
    const x = contentView({ kind: "text", input_text: "in *put*", output_text: "out" });
    expect(x.querySelector(".mlfm-intext em").textContent).toBe("put");
    expect(contentView({ kind: "other" })).toBe(null);
    expect(contentView(null)).toBe(null);
    expect(contentView({ kind: "other", model: "m" }).classList.contains("meta-only")).toBe(true);
    expect(usageChips({})).toBe(null);
  });
});

describe("assessments", () => {
  const list = [
    { id: "a1", name: "correctness", kind: "feedback", value: "yes", rationale: "It **matches**.", source_type: "LLM_JUDGE", source_id: "openai:/gpt-4o", time_ms: Date.UTC(2025, 0, 2, 3, 4, 5) },
    { id: "a2", name: "safety", kind: "feedback", value: false, source_type: "CODE", source_id: "safety_check" },
    { id: "a3", name: "score", kind: "feedback", value: 0.75, source_type: "HUMAN", source_id: "ana", span_id: "s1" },
    { id: "a4", name: "judge", kind: "feedback", value: null, error: `Rate limited ${HOSTILE}`, source_type: "LLM_JUDGE" },
    { id: "a5", name: "expected_facts", kind: "expectation", value: ["fact one", "fact two"], source_type: "HUMAN" },
  ];
  it("reads yes/no/true/false as pass or fail and shows other values plainly", () => {
    expect([verdict("yes"), verdict("No"), verdict(true), verdict(false), verdict("maybe"), verdict(1)]).toEqual(["pass", "fail", "pass", "fail", null, null]);
    expect(assessmentValue("yes").className).toBe("mlfm-verdict pass");
    expect(assessmentValue(0.75).textContent).toBe("0.75");
    expect(assessmentValue({ a: 1 }).querySelector(".mlfm-json")).not.toBe(null);
    expect(sourceLabel("LLM_JUDGE")).toBe("LLM judge");
  });
  it("lists each with its value, rationale, source, time, span and error", () => {
    const el = assessmentList(list, { spanName: (id) => (id === "s1" ? "retrieve" : undefined) });
    const items = [...el.querySelectorAll(".mlfm-as")];
    expect(items.map((i) => i.querySelector(".mlfm-asname").textContent)).toEqual(["correctness", "safety", "score", "judge", "expected_facts"]);
    expect(items[0].querySelector(".mlfm-verdict.pass").textContent).toBe("✓ yes");
    expect(items[0].querySelector(".mlfm-asrat strong").textContent).toBe("matches");
    expect(items[0].querySelector(".mlfm-assrc").textContent).toBe("LLM judge · openai:/gpt-4o");
    expect(items[0].querySelector(".mlfm-astime").textContent).toMatch(/^2025-01-0[12] \d\d:04:05$/);
    expect(items[1].querySelector(".mlfm-verdict.fail").textContent).toBe("✗ false");
    expect(items[2].querySelector(".mlfm-asspan").textContent).toBe("on span retrieve");
    expect(items[3].classList.contains("err")).toBe(true);
    expect(items[3].querySelector(".mlfm-aserr").textContent).toBe(`Rate limited ${HOSTILE}`);
    expect(items[4].querySelector(".mlfm-askind").textContent).toBe("expectation");
    expect(items[4].querySelector(".mlfm-json")).not.toBe(null);
    expect(el.querySelector("img, script")).toBe(null);
    expect(assessmentList([]).textContent).toBe("No assessments yet.");
  });
  it("refuses an empty name in one sentence and sends a filled form", async () => {
    const sent = [];
    let answer = { error: "" };
    const { form } = assessmentForm(async (msg) => {
      sent.push(msg);
      return answer;
    });
    document.body.append(form);
    const submit = () => form.dispatchEvent(new Event("submit", { cancelable: true, bubbles: true }));
    submit();
    expect(sent).toEqual([]);
    expect(form.querySelector(".mlfm-asformerr").textContent).toBe("Give the assessment a name.");
    form.querySelector(".mlfm-asnamein").value = " tone ";
    form.querySelector(".mlfm-asvaluein").value = "yes";
    form.querySelector(".mlfm-asratin").value = "polite";
    answer = { error: "No such trace." };
    submit();
    await Promise.resolve();
    expect(sent.at(-1)).toEqual({ action: "add_assessment", kind: "feedback", name: "tone", value: "yes", rationale: "polite" });
    expect(form.querySelector(".mlfm-asformerr").textContent).toBe("No such trace.");
    expect(form.querySelector(".mlfm-asnamein").value).toBe(" tone "); // kept for another try
  });
});

function trace(extra = {}) {
  const spans = { id: ["s0", "s1", "s2"], parent: [-1, 0, 0], name: ["agent", "retrieve", "llm"], type: ["AGENT", "RETRIEVER", "LLM"], status: ["OK", "OK", "OK"], start: [0, 1, 2], dur: [10, 3, 5], tokens: [0, 0, 15] };
  return { trace_id: "tr-1", name: "cell", status: "OK", duration_ms: 10, span_count: 3, spans, ...extra };
}
const state = (extra = {}) => ({ trace: trace(), selected_span_id: "", _detail: {}, query: "", span_type_filter: "", _matches: {}, assessments: [], ...extra });
const payload = (value) => {
  const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  return { text, size: text.length, truncated: false };
};

describe("trace view with content", () => {
  it("selects the root on first paint", () => {
    const { el, model } = mount(traceView, state());
    expect(model.get("selected_span_id")).toBe("s0");
    expect(model.saved).toBe(1);
    expect(el.querySelector(".mlfm-row.sel").dataset.spanId).toBe("s0");
  });
  it("keeps a selection the model already has", () => {
    const { model } = mount(traceView, state({ selected_span_id: "s2" }));
    expect(model.get("selected_span_id")).toBe("s2");
    expect(model.saved).toBe(0);
  });
  it("shows content cards first, the raw JSON one click away, mlflow.* attributes folded", () => {
    const { el, model } = mount(traceView, state());
    model.set("_detail", {
      span_id: "s2",
      name: "llm",
      type: "LLM",
      status: "OK",
      duration_ms: 5,
      content: { kind: "chat", model: "gpt-4o", input_messages: [{ role: "user", text: "Hi <script>window.__pwned=1</script>" }], output_messages: [{ role: "assistant", text: "Hello!" }], usage: { total_tokens: 15 } },
      inputs: payload({ messages: [{ role: "user", content: "Hi" }] }),
      outputs: payload({ choices: [{ message: { content: "Hello!" } }] }),
      attributes: payload({ temperature: 0, "mlflow.spanType": "LLM" }),
      internal_attributes: payload({ "mlflow.spanInputs": "…", "mlflow.chat.tokenUsage": { total_tokens: 15 } }),
    });
    const panel = el.querySelector(".mlfm-spanpanel");
    const parts = ["mlfm-dtitle", "mlfm-rollup", "mlfm-content", "mlfm-inputs", "mlfm-outputs", "mlfm-attrs", "mlfm-internal"];
    const order = [...panel.children].map((c) => parts.find((p) => c.classList.contains(p)));
    expect(order).toEqual(parts);
    expect([...panel.querySelectorAll(".mlfm-msg")].map((m) => m.dataset.role)).toEqual(["user", "assistant"]);
    expect(panel.querySelector("script")).toBe(null);
    const inputs = panel.querySelector("details.mlfm-inputs");
    expect(inputs.open).toBe(false);
    expect(inputs.querySelector(".mlfm-json")).toBe(null); // built when opened
    inputs.open = true;
    inputs.dispatchEvent(new Event("toggle"));
    expect(inputs.querySelector(".mlfm-json")).not.toBe(null);
    const attrs = panel.querySelector("details.mlfm-attrs");
    expect(attrs.open).toBe(true);
    expect(attrs.textContent).toContain("temperature");
    expect(attrs.textContent).not.toContain("mlflow.");
    const internal = panel.querySelector("details.mlfm-internal");
    expect(internal.open).toBe(false);
    expect(internal.querySelector("summary").textContent).toContain("3 mlflow.* keys");
  });
  it("shows inputs and outputs in the open, in the JSON viewer, when there is no content", () => {
    const { el, model } = mount(traceView, state());
    model.set("_detail", { span_id: "s0", name: "agent", type: "AGENT", status: "OK", duration_ms: 10, content: null, inputs: payload({ question: "q" }), outputs: payload("plain answer") });
    const inputs = el.querySelector("details.mlfm-inputs");
    expect(inputs.open).toBe(true);
    expect(inputs.querySelector(".mlfm-jkey").textContent).toBe("question: ");
    expect(el.querySelector("details.mlfm-outputs .mlfm-json-text").textContent).toBe("plain answer");
    expect(el.querySelector(".mlfm-content")).toBe(null);
  });
  it("says where each search match was", () => {
    const { el, model } = mount(traceView, state());
    const box = el.querySelector(".mlfm-search");
    box.value = "paris";
    box.dispatchEvent(new Event("input"));
    model.set("_matches", { query: "paris", rows: [2], where: ["outputs"], capped: false });
    const row = el.querySelector('.mlfm-row[data-span-id="s2"]');
    expect(row.querySelector(".mlfm-where").textContent).toBe("in outputs");
    expect(el.querySelector(".mlfm-matches").textContent).toBe("1 match");
    expect(el.querySelector(".mlfm-matches").title).toBe("1 in outputs");
    // the matched payload opens, the match marked
    row.click();
    model.set("_detail", { span_id: "s2", name: "llm", type: "LLM", status: "OK", duration_ms: 5, content: { kind: "text", input_text: "q", output_text: "Paris" }, outputs: payload({ city: "Paris" }) });
    const outputs = el.querySelector("details.mlfm-outputs");
    expect(outputs.open).toBe(true);
    expect(outputs.querySelector("mark").textContent).toBe("Paris");
  });
  it("sums up the request and response in the header", () => {
    const { el } = mount(traceView, state({ trace: trace({ request_text: "What is\nMLflow?", response_text: HOSTILE }) }));
    const lines = [...el.querySelectorAll(".mlfm-qaline")].map((l) => l.textContent);
    expect(lines).toEqual(["Q:What is MLflow?", `A:${HOSTILE}`]);
    expect(el.querySelector(".mlfm-qa img")).toBe(null);
  });
});

describe("trace view assessments", () => {
  const list = [
    { id: "a1", name: "correctness", kind: "feedback", value: "yes", rationale: "Right.", source_type: "LLM_JUDGE", source_id: "gpt-4o" },
    { id: "a2", name: "relevance", kind: "feedback", value: "no", source_type: "HUMAN", source_id: "ana" },
    { id: "a3", name: "judge", kind: "feedback", value: null, error: "timed out", source_type: "LLM_JUDGE" },
  ];
  it("lists the assessments in their tab, with verdict chips in the header", () => {
    const { el, model } = mount(traceView, state({ assessments: list }));
    const tab = el.querySelector(".mlfm-tab-as");
    expect(tab.textContent).toBe("Assessments (3)");
    expect(tab.getAttribute("role")).toBe("tab");
    expect(el.querySelector(".mlfm-aspanel").hidden).toBe(true);
    const chips = [...el.querySelectorAll(".mlfm-aschip")];
    expect(chips.map((c) => c.textContent)).toEqual(["correctness ✓ yes", "relevance ✗ no", "judge error"]);
    expect(chips.map((c) => c.classList.contains("pass") || c.classList.contains("fail") || c.classList.contains("error"))).toEqual([true, true, true]);
    chips[1].click();
    expect(el.querySelector(".mlfm-aspanel").hidden).toBe(false);
    expect(tab.getAttribute("aria-selected")).toBe("true");
    expect(el.querySelectorAll(".mlfm-aspanel .mlfm-as").length).toBe(3);
    expect(el.querySelector(".mlfm-aspanel .mlfm-aserr").textContent).toBe("timed out");
    // arrow keys move between the tabs; selecting a span goes back to its details
    tab.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowLeft", bubbles: true }));
    expect(el.querySelector(".mlfm-spanpanel").hidden).toBe(false);
    chips[0].click();
    el.querySelector('.mlfm-row[data-span-id="s1"]').click();
    expect(el.querySelector(".mlfm-spanpanel").hidden).toBe(false);
    model.set("assessments", list.slice(0, 1));
    expect(tab.textContent).toBe("Assessments (1)");
  });
  it("adds one through the form: refuses an empty name, sends the action, shows Python's answer", async () => {
    const { el, model } = mount(traceView, state());
    const seen = [];
    el.parentElement.addEventListener("keydown", (e) => seen.push(e.key));
    el.querySelector(".mlfm-tab-as").click();
    const add = el.querySelector(".mlfm-asadd");
    const form = el.querySelector(".mlfm-asform");
    expect(form.hidden).toBe(true);
    add.click();
    expect(form.hidden).toBe(false);
    expect(add.getAttribute("aria-expanded")).toBe("true");
    const name = form.querySelector(".mlfm-asnamein");
    name.dispatchEvent(new KeyboardEvent("keydown", { key: "m", bubbles: true }));
    expect(seen).toEqual([]); // typing never reaches the notebook
    const submit = () => form.querySelector(".mlfm-assubmit").click();
    submit();
    expect(model.sent).toEqual([]);
    expect(form.querySelector(".mlfm-asformerr").textContent).toBe("Give the assessment a name.");
    form.querySelector(".mlfm-askindsel").value = "expectation";
    form.querySelector(".mlfm-askindsel").dispatchEvent(new Event("change"));
    expect(form.querySelector(".mlfm-asratin").closest("label").hidden).toBe(true);
    name.value = "expected_response";
    form.querySelector(".mlfm-asvaluein").value = "Paris";
    form.querySelector(".mlfm-asratin").value = "ignored for expectations";
    submit();
    expect(model.sent).toEqual([{ action: "add_assessment", kind: "expectation", name: "expected_response", value: "Paris", id: 1 }]);
    model.emit("msg:custom", { done: "add_assessment", id: 1, error: "Assessment names cannot be empty." });
    await new Promise((r) => setTimeout(r));
    expect(form.querySelector(".mlfm-asformerr").textContent).toBe("Assessment names cannot be empty.");
    expect(form.hidden).toBe(false);
    form.querySelector(".mlfm-askindsel").value = "feedback";
    form.querySelector(".mlfm-asvaluein").value = "true";
    submit();
    expect(model.sent.at(-1)).toEqual({ action: "add_assessment", kind: "feedback", name: "expected_response", value: "true", rationale: "ignored for expectations", id: 2 });
    model.emit("msg:custom", { done: "add_assessment", id: 2, error: "" });
    await new Promise((r) => setTimeout(r));
    expect(form.hidden).toBe(true);
    expect(el.querySelector(".mlfm-asnote").textContent).toBe("Added expected_response.");
    model.set("assessments", [{ id: "n1", name: "expected_response", kind: "feedback", value: true, source_type: "HUMAN" }]);
    expect(el.querySelector(".mlfm-aspanel .mlfm-verdict.pass").textContent).toBe("✓ true");
  });
});

describe("attributes", () => {
  it("folds mlflow.* keys away, wherever Python put them", () => {
    const { own, internal } = splitAttributes(payload({ a: 1, "mlflow.x": 2 }), payload({ "mlflow.y": 3 }));
    expect(own).toEqual({ a: 1 });
    expect(internal).toEqual({ "mlflow.y": 3, "mlflow.x": 2 });
    expect(splitAttributes({ text: '{"a": 1', size: 9000, truncated: true }, undefined).ownText).toBe(true);
  });
});
