"""Browser tier for ``%mlflow chat``: in a real JupyterLab, a real ``ResponsesAgent`` streams
its answer into the panel delta by delta (a tool call with its output first); the message is
typed with the keyboard and none of its keys acts on the notebook; 👎 with a comment lands in
the store as a HUMAN ``user_feedback``; a turn's "trace" opens its trace view under the panel.

Screenshots in the dark and light themes go to ``test-artifacts/chat-*.png``.
"""

from __future__ import annotations

import pytest
from servers import artifacts_dir
from test_browser import (
    NOTEBOOK_RUN,
    _shut_down_kernels,  # noqa: F401 - autouse: each test's kernel goes at its end
    code_cell,
    open_notebook,
    run_cells,
    write_notebook,
)
from test_browser_content import light_at_the_end, low_contrast, switch_theme  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("light_at_the_end")]

FINAL = "It is **sunny** in Paris <img src=x onerror=window.__pwned=1> — pack a hat."
PIECES = 40  # deltas, 50 ms apart: two seconds of streaming to watch

AGENT = f"""\
import time
from mlflow.pyfunc import ResponsesAgent
from mlflow.types.responses import ResponsesAgentResponse, ResponsesAgentStreamEvent

FINAL = {FINAL!r}

class WeatherAgent(ResponsesAgent):
    def predict(self, request):
        items = [e.item for e in self.predict_stream(request) if e.type == "response.output_item.done"]
        return ResponsesAgentResponse(output=items)

    def predict_stream(self, request):
        yield ResponsesAgentStreamEvent(type="response.output_item.done",
            item=self.create_function_call_item("fc_1", "call_1", "get_weather", '{{"city": "Paris"}}'))
        yield ResponsesAgentStreamEvent(type="response.output_item.done",
            item=self.create_function_call_output_item("call_1", '{{"forecast": "sunny"}}'))
        n = max(1, len(FINAL) // {PIECES})
        for i in range(0, len(FINAL), n):
            time.sleep(0.05)
            yield ResponsesAgentStreamEvent(**self.create_text_delta(FINAL[i:i + n], "msg_1"))
        yield ResponsesAgentStreamEvent(type="response.output_item.done",
            item=self.create_text_output_item(FINAL, "msg_1"))

agent = WeatherAgent()
"""


def cells() -> list[str]:
    return [
        "import os\n"
        "os.environ.update(MLFLOW_MODEL_CATALOG_URI='', MLFLOW_DISABLE_TELEMETRY='true',"
        " DO_NOT_TRACK='true')\n"
        "%load_ext mlflow_magics\n%mlflow connect --experiment chat-browser",
        AGENT,
        "chat = %mlflow chat agent --session browser-s1 --user tester --title 'Weather chat'\nchat",
    ]


def test_a_chat_streams_takes_feedback_and_opens_its_trace(jupyter_lab, page):
    from playwright.sync_api import expect

    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    name = write_notebook(jupyter_lab.root_dir, "chat.ipynb", cells())
    open_notebook(page, jupyter_lab, name)
    run_cells(page)
    cell = code_cell(page, 2)
    panel = cell.locator(".mlfm-chat-w")
    panel.wait_for(timeout=NOTEBOOK_RUN)
    expect(panel.locator(".mlfm-chat-title")).to_have_text("Weather chat")
    expect(panel.locator(".mlfm-chat-facts")).to_contain_text("session browser-s1")

    # Typed with the keyboard: "m", "d d", "a" would be command-mode shortcuts outside.
    cells_before = page.locator(".jp-Notebook .jp-Cell").count()
    box = panel.locator(".mlfm-chat-input")
    box.click()
    page.keyboard.type("Weather in Paris? m a d d")
    page.keyboard.press("Shift+Enter")  # a new line here, not "run the cell"
    page.keyboard.type("thanks")
    expect(box).to_have_value("Weather in Paris? m a d d\nthanks")
    assert page.locator(".jp-Notebook .jp-Cell").count() == cells_before
    assert page.locator(".jp-Notebook .jp-MarkdownCell").count() == 0
    page.keyboard.press("Enter")

    # The answer streams in: the live card grows while Stop is on, then becomes the turn.
    live = panel.locator(".mlfm-chat-live .mlfm-msg.role-assistant .mlfm-msgtext")
    expect(panel.locator(".mlfm-chat-stop")).to_be_enabled(timeout=20_000)
    expect(live).to_contain_text("It is", timeout=20_000)
    seen = {live.inner_text()}
    for _ in range(10):
        page.wait_for_timeout(120)
        if live.count():
            seen.add(live.inner_text())
    assert len(seen) >= 3, f"the text did not grow as deltas came: {seen}"
    expect(panel.locator(".mlfm-chat-live .mlfm-toolname")).to_have_text("get_weather")
    turn = panel.locator(".mlfm-chat-done .mlfm-chat-turn")
    expect(turn).to_have_count(1, timeout=30_000)
    expect(panel.locator(".mlfm-chat-live")).to_be_empty()
    expect(panel.locator(".mlfm-chat-send")).to_be_enabled()
    answer = turn.locator(".mlfm-msg.role-assistant .mlfm-msgtext")
    expect(answer.locator("strong")).to_have_text("sunny")
    expect(answer).to_contain_text("<img src=x onerror=window.__pwned=1>")
    expect(turn.locator(".mlfm-msg.role-user")).to_contain_text("Weather in Paris? m a d d")
    expect(turn.locator(".mlfm-toolres")).to_contain_text("sunny")
    assert panel.locator("img, script, iframe").count() == 0

    # 👎 with a comment: recorded on the turn's trace in the store.
    turn.locator(".mlfm-chat-down").click()
    comment = turn.locator(".mlfm-chat-comment")
    expect(comment).to_be_focused()
    page.keyboard.type("no forecast for tomorrow")
    turn.locator(".mlfm-chat-fbsave").click()
    expect(panel.locator(".mlfm-chat-fbgiven")).to_have_text(
        "recorded: no forecast for tomorrow", timeout=20_000
    )
    import mlflow
    from mlflow.entities import AssessmentSourceType

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{jupyter_lab.root_dir / 'mlflow.db'}")
    exp = client.get_experiment_by_name("chat-browser")
    (info,) = client.search_traces(experiment_ids=[exp.experiment_id])
    assert info.info.trace_metadata["mlflow.trace.session"] == "browser-s1"
    assert info.info.trace_metadata["mlflow.trace.user"] == "tester"
    found = [
        (a.name, a.value, a.rationale, a.source.source_type, a.source.source_id)
        for a in client.get_trace(info.info.trace_id).info.assessments
    ]
    assert found == [
        ("user_feedback", False, "no forecast for tomorrow", AssessmentSourceType.HUMAN, "tester")
    ]

    # The turn's trace opens under the panel.
    turn.locator(".mlfm-chat-trace").click()
    view = cell.locator(".mlfm-tv")
    view.wait_for(timeout=30_000)
    expect(view.locator(".mlfm-hdr .mlfm-id")).to_have_text(info.info.trace_id)
    expect(view.locator(".mlfm-row .mlfm-label").first).to_have_text("chat")

    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None
    assert dialogs == []

    out = artifacts_dir()
    switch_theme(page, "dark")
    panel.scroll_into_view_if_needed()
    panel.screenshot(path=str(out / "chat-dark.png"))
    low_contrast(page, "the chat panel in dark")
    switch_theme(page, "light")
    panel.screenshot(path=str(out / "chat-light.png"))
    low_contrast(page, "the chat panel in light")
