"""Browser tier for GenAI content in the trace view: in a real JupyterLab, a traced agent made
with the real ``openai`` SDK under ``mlflow.openai.autolog()`` (a retriever, a tool loop, two
autologged ``Completions`` CHAT_MODEL spans) reads as cards: chat messages by role with their
markdown rendered and nothing in it executed, the tool call with its arguments and result, the
retrieved document with a safe link. Then a person adds a feedback through the Assessments tab,
with the keyboard, and the store holds it.

The LLM is a stand-in: tests/judge_server.py, an OpenAI-compatible server on 127.0.0.1 run by
this test process (no LLM can be reached here). Everything on the client side (the SDK's HTTP
call and parsing, MLflow's autologged spans, the widget, ``mlflow.log_feedback``) is real; only
the model's answer is made up: "Answer: <the question> (get_weather returned <result>)", so the
markdown the test puts in the question comes back in the assistant's reply.

Screenshots in the light and dark themes, and at an 800 px output width, go to
``test-artifacts/content-*.png``.
"""

from __future__ import annotations

import re

import pytest
from judge_server import JudgeServer
from servers import artifacts_dir
from test_browser import (
    NOTEBOOK_RUN,
    _shut_down_kernels,  # noqa: F401 - autouse: each test's kernel goes at its end
    code_cell,
    open_notebook,
    run_cells,
    write_notebook,
)
from test_browser_frontend import _CONTRAST, THEMES, set_theme

pytestmark = pytest.mark.browser

# The markdown the stand-in echoes into the assistant's reply: bold text, a javascript: link,
# raw HTML that would run script if it became an element, and a fenced code block.
QUESTION = (
    "Paris weather, **bold** please. See [the docs](javascript:alert(1)) and "
    "<img src=x onerror=window.__pwned=1>\n\n```python\nprint('forecast')\n```\n\nThanks."
)
DOC_TEXT = "Paris is sunny in June; pack a hat."
DOC_URI = "https://example.com/a"

AGENT = """\
import json
import mlflow
import openai
from mlflow.entities import SpanType

mlflow.openai.autolog()
client = openai.OpenAI(base_url=BASE_URL, api_key="stand-in-key", max_retries=0, timeout=30)
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "The forecast for a city.",
    "parameters": {"type": "object", "required": ["city", "days"],
                   "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}}}}

@mlflow.trace(span_type=SpanType.RETRIEVER)
def search_docs(query: str) -> list:
    return [{"page_content": DOC_TEXT, "metadata": {"doc_uri": DOC_URI, "chunk_id": "a-1"}}]

@mlflow.trace(span_type=SpanType.TOOL)
def get_weather(city: str, days: int) -> str:
    return json.dumps({"city": city, "days": days, "forecast": "sunny"})

@mlflow.trace(span_type=SpanType.AGENT)
def agent(question: str) -> str:
    docs = search_docs(question)
    messages = [{"role": "system", "content": "Answer from: " + docs[0]["page_content"]},
                {"role": "user", "content": question}]
    for _ in range(3):
        message = client.chat.completions.create(
            model="gpt-4o-mini", messages=messages, tools=[WEATHER]).choices[0].message
        if not message.tool_calls:
            return message.content
        messages.append(message.model_dump(exclude_none=True))
        for call in message.tool_calls:
            result = get_weather(**json.loads(call.function.arguments))
            messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
    raise RuntimeError("the model kept asking for tools")
"""


def cells(base_url: str, tag: str) -> list[str]:
    return [
        "import os\n"
        "os.environ.update(MLFLOW_MODEL_CATALOG_URI='', MLFLOW_DISABLE_TELEMETRY='true',"
        " DO_NOT_TRACK='true')\n"
        f"%load_ext mlflow_magics\n%mlflow connect --experiment content-{tag}",
        f"BASE_URL, QUESTION = {base_url!r}, {QUESTION!r}\n"
        f"DOC_TEXT, DOC_URI = {DOC_TEXT!r}, {DOC_URI!r}\n" + AGENT,
        "answer = agent(QUESTION)\nTRACE_ID = mlflow.get_last_active_trace_id()\nprint(TRACE_ID)",
        "%mlflow show {TRACE_ID}",
    ]


SHOW = 3

# Any anchor under `el` whose href is not http(s)/mailto (the only links content may carry).
_BAD_LINKS = """el => [...el.querySelectorAll('a')].map(a => a.getAttribute('href') || '')
  .filter(h => !/^(https?:|mailto:)/i.test(h.trim()))"""
# Elements under `el` wider than their box: text that overflows instead of wrapping.
_OVERFLOWING = """el => { const box = el.getBoundingClientRect(); const out = [];
  for (const e of el.querySelectorAll('*')) { const r = e.getBoundingClientRect();
    if (!r.width || e.closest('details:not([open])')) continue;
    if (r.right > box.right + 1 || r.left < box.left - 1)
      out.push(`${e.tagName}.${e.className} ${Math.round(r.left)}..${Math.round(r.right)}`); }
  if (el.scrollWidth > el.clientWidth + 1) out.push(`pane scrolls: ${el.scrollWidth} > ${el.clientWidth}`);
  return out.slice(0, 10); }"""


def low_contrast(page, what: str) -> None:
    """Every visible text of this notebook's views at 4.5:1 or better (WCAG AA)."""
    roots = ".jp-OutputArea-output [class*='mlfm']:not([class*='mlfm'] *)"
    measured = page.evaluate(_CONTRAST, roots)
    assert len(measured) > 40, f"only {len(measured)} texts measured in {what}"
    low = sorted((m for m in measured if m["ratio"] < 4.5), key=lambda m: m["ratio"])
    assert not low, f"{len(low)} texts under 4.5:1 in {what}: {low[:8]}"


def switch_theme(page, theme: str) -> None:
    """Settings > Theme > JupyterLab Light/Dark with the mouse, as a user switches it."""

    def item(label: str):
        return page.locator(".lm-Menu .lm-Menu-item").filter(
            has=page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(label)}$"))
        )

    page.get_by_role("menuitem", name="Settings", exact=True).click()
    item("Theme").click()  # a submenu: its items have no accessible name of their own
    item(THEMES[theme]).click()
    light = "true" if theme == "light" else "false"
    page.wait_for_function(f"() => document.body.dataset.jpThemeLight === '{light}'")
    page.wait_for_timeout(400)  # the theme's stylesheet settles


@pytest.fixture
def light_at_the_end(jupyter_lab):
    """The menu's theme choice is saved in the lab's settings, which the other tests share."""
    yield
    set_theme(jupyter_lab, THEMES["light"])


def test_a_chat_trace_reads_as_cards_and_takes_a_persons_feedback(
    jupyter_lab, page, light_at_the_end
):
    from playwright.sync_api import expect

    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    judge = JudgeServer().start()
    try:
        name = write_notebook(
            jupyter_lab.root_dir, "content.ipynb", cells(judge.base_url, "chat-cards")
        )
        open_notebook(page, jupyter_lab, name)
        run_cells(page)
    finally:
        judge.stop()
    assert len([r for r in judge.requests if r.get("tools")]) == 2, judge.requests  # the loop ran

    cell = code_cell(page, SHOW)
    view = cell.locator(".mlfm-tv")
    view.wait_for(timeout=NOTEBOOK_RUN)
    trace_id = view.locator(".mlfm-hdr .mlfm-id").inner_text().strip()
    assert re.fullmatch(r"tr-[0-9a-f]{32}", trace_id), trace_id
    rows = view.locator(".mlfm-row")
    assert rows.locator(".mlfm-label").all_inner_texts() == [
        "agent", "search_docs", "Completions", "get_weather", "Completions",
    ]  # fmt: skip
    assert rows.locator(".mlfm-type").all_inner_texts() == [
        "AGENT", "RETRIEVER", "CHAT_MODEL", "TOOL", "CHAT_MODEL",
    ]  # fmt: skip
    detail = view.locator(".mlfm-detail")
    pane = view.locator(".mlfm-spanpanel")
    title = pane.locator(".mlfm-dtitle b")

    # First paint: the root is selected and its content shows as cards, the question and the
    # answer, with the raw JSON folded away.
    expect(title).to_have_text("agent")
    expect(rows.first).to_have_class(re.compile(r"\bsel\b"))
    expect(pane.locator(".mlfm-msg.role-user")).to_have_count(1)
    expect(pane.locator(".mlfm-msg.role-assistant")).to_have_count(1)
    expect(pane.locator(".mlfm-msg.role-assistant strong")).to_have_text("bold")
    raw = pane.locator("details.mlfm-raw")
    expect(raw).to_have_count(2)
    assert raw.evaluate_all("ds => ds.map(d => d.open)") == [False, False]

    # The second model call: the whole conversation by role, the tool call answered in place.
    rows.nth(4).click()
    expect(title).to_have_text("Completions")
    expect(pane.locator(".mlfm-dtitle .mlfm-type")).to_have_text("CHAT_MODEL")
    expect(pane.locator(".mlfm-cmeta")).to_contain_text("gpt-4o-mini")
    msgs = pane.locator(".mlfm-msg")
    assert msgs.evaluate_all("ms => ms.map(m => m.dataset.role)") == [
        "system", "user", "assistant", "assistant",
    ]  # fmt: skip
    expect(pane.locator(".mlfm-divider")).to_have_text("Response")
    reply = pane.locator(".mlfm-msgs").last.locator(".mlfm-msg.role-assistant")
    text = reply.locator(".mlfm-msgtext")
    expect(text.locator("strong")).to_have_text("bold")
    expect(text.locator("pre code")).to_have_text("print('forecast')")
    # The raw <img> and the javascript: link are text, not elements; nothing ran.
    expect(text).to_contain_text("<img src=x onerror=window.__pwned=1>")
    expect(text).to_contain_text("the docs")
    assert pane.locator("img, script, iframe, svg").count() == 0
    assert pane.evaluate(_BAD_LINKS) == []
    assert pane.locator("[onerror], [onclick], [onload]").count() == 0

    call = msgs.nth(2).locator(".mlfm-toolcard")
    expect(call).to_have_count(1)
    expect(call.locator(".mlfm-toolname")).to_have_text("get_weather")
    args = call.locator(".mlfm-args").inner_text()
    assert args == '{\n  "city": "Paris",\n  "days": 2\n}', repr(args)  # pretty, decoded once
    result = call.locator(".mlfm-result").inner_text()
    assert '"forecast": "sunny"' in result, repr(result)
    assert "\\" not in args + result, "escaped twice"
    expect(call.locator(".mlfm-toolres .mlfm-toolsub")).to_have_text("Result")
    # the tool message answered the call: no separate tool card
    assert pane.locator(".mlfm-msg.role-tool").count() == 0

    page.wait_for_timeout(300)  # an onerror that slipped through would have fired by now
    assert page.evaluate("window.__pwned") is None
    assert dialogs == []

    # Screenshots of the chat span, light then dark: the top of the pane, then the reply; and
    # every text of the cards reads at 4.5:1 or better in both themes.
    out = artifacts_dir()
    for theme in ("light", "dark"):
        if theme == "dark":
            switch_theme(page, "dark")
        detail.evaluate("el => { el.scrollTop = 0; }")
        view.scroll_into_view_if_needed()
        view.screenshot(path=str(out / f"content-chat-{theme}.png"))
        pane.locator(".mlfm-divider").scroll_into_view_if_needed()
        view.screenshot(path=str(out / f"content-chat-reply-{theme}.png"))
        low_contrast(page, f"the chat span in {theme}")

    # The tool span: one tool card, named after the span, the result pretty too.
    rows.nth(3).click()
    expect(title).to_have_text("get_weather")
    tool = pane.locator(".mlfm-content.kind-tool .mlfm-toolcard")
    expect(tool.locator(".mlfm-toollabel")).to_have_text("Tool")
    expect(tool.locator(".mlfm-toolname")).to_have_text("get_weather")
    assert tool.locator(".mlfm-result").inner_text() == (
        '{\n  "city": "Paris",\n  "days": 2,\n  "forecast": "sunny"\n}'
    )

    # The retriever: the document as a row, its uri a link that opens apart from the notebook.
    rows.nth(1).click()
    expect(title).to_have_text("search_docs")
    docs = pane.locator(".mlfm-docs .mlfm-doc")
    expect(docs).to_have_count(1)
    expect(pane.locator(".mlfm-docsec .mlfm-csub")).to_have_text("Documents (1)")
    expect(docs.locator(".mlfm-doctext")).to_have_text(DOC_TEXT)
    link = docs.locator(".mlfm-dochead a")
    expect(link).to_have_count(1)
    assert link.get_attribute("href") == DOC_URI
    assert link.inner_text() == DOC_URI
    assert link.get_attribute("target") == "_blank"
    assert {"noopener", "noreferrer"} <= set((link.get_attribute("rel") or "").split())
    expect(docs.locator(".mlfm-docmeta")).to_have_text("id=a-1")  # chunk_id is read as the id
    assert pane.evaluate(_BAD_LINKS) == []

    # The Assessments tab: add a feedback with the keyboard, see it listed.
    as_tab = view.locator(".mlfm-tab-as")
    expect(as_tab).to_have_text("Assessments")
    as_tab.click()
    panel = view.locator(".mlfm-aspanel")
    expect(panel).to_be_visible()
    expect(pane).to_be_hidden()
    expect(panel.locator(".mlfm-asnone")).to_have_text("No assessments yet.")
    panel.locator(".mlfm-asadd").click()
    name_in = panel.locator(".mlfm-asnamein")
    expect(name_in).to_be_focused()
    page.keyboard.type("helpful")
    page.keyboard.press("Tab")
    expect(panel.locator(".mlfm-asvaluein")).to_be_focused()
    page.keyboard.type("yes")
    page.keyboard.press("Tab")
    expect(panel.locator(".mlfm-asratin")).to_be_focused()
    page.keyboard.type("Checked by a person.")
    page.keyboard.press("Tab")
    expect(panel.locator(".mlfm-assubmit")).to_be_focused()
    page.keyboard.press("Enter")
    item = panel.locator(".mlfm-aslist li.mlfm-as")
    expect(item).to_have_count(1, timeout=20_000)
    expect(item.locator(".mlfm-asname")).to_have_text("helpful")
    expect(item.locator(".mlfm-verdict.pass")).to_have_text("✓ yes")
    expect(item.locator(".mlfm-asrat")).to_have_text("Checked by a person.")
    expect(item.locator(".mlfm-assrc")).to_contain_text("human")
    expect(as_tab).to_have_text("Assessments (1)")
    expect(panel.locator(".mlfm-asnote")).to_have_text("Added helpful.")
    expect(panel.locator(".mlfm-asform")).to_be_hidden()
    expect(view.locator(".mlfm-aschip")).to_contain_text("helpful")
    assert panel.locator(".mlfm-asformerr").inner_text() == ""

    # The store holds it, read by this process, not the kernel.
    import mlflow
    from mlflow.entities import AssessmentSourceType

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{jupyter_lab.root_dir / 'mlflow.db'}")
    stored = client.get_trace(trace_id).info.assessments
    found = [(a.name, a.value, a.rationale, a.source.source_type) for a in stored]
    assert found == [("helpful", "yes", "Checked by a person.", AssessmentSourceType.HUMAN)]

    # Screenshots of the Assessments tab, dark then light; the chat span light at 800 px.
    view.screenshot(path=str(out / "content-assessments-dark.png"))
    low_contrast(page, "the Assessments tab in dark")
    switch_theme(page, "light")
    view.screenshot(path=str(out / "content-assessments-light.png"))
    low_contrast(page, "the Assessments tab in light")

    width = page.evaluate(
        "() => document.querySelector('.jp-OutputArea-output').getBoundingClientRect().width"
    )
    # tall enough that the whole view fits above the status bar in the screenshots
    page.set_viewport_size({"width": int(1400 - (width - 800)), "height": 1400})
    page.wait_for_timeout(400)
    view.locator(".mlfm-tab-span").click()
    rows.nth(4).click()
    expect(title).to_have_text("Completions")
    view.screenshot(path=str(out / "content-chat-800px.png"))
    assert detail.evaluate(_OVERFLOWING) == []
    # every span type reads whole in its column (CHAT_MODEL is the longest MLflow type)
    cut = rows.locator(".mlfm-type").evaluate_all(
        "els => els.filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)"
    )
    assert cut == [], f"span types cut off at 800 px: {cut}"
    as_tab.click()
    view.screenshot(path=str(out / "content-assessments-800px.png"))
    assert detail.evaluate(_OVERFLOWING) == []
    assert page.evaluate("window.__pwned") is None
    assert dialogs == []
