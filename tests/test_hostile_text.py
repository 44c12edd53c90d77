"""Hostile text in every view and tier: names, tags, settings keys, span names and message
content carrying terminal escapes (ESC, BEL), bidi overrides and ``$$…$$``, built through the
real magics on the real SQLite store. No tier may pass a control or bidi character through
raw (the text tier included: an experiment name must not retitle the terminal or clear it),
each shows the visible escape instead, and every HTML root opts out of MathJax."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser

import mlflow
import pytest
from IPython.core.error import UsageError

from mlflow_magics import registry
from mlflow_magics.views import display
from mlflow_magics.views.content_view import visible
from mlflow_magics.views.markup import escape, tag

#: Retitles an xterm (OSC 0 … BEL), clears the screen (CSI 2J), typesets in MathJax, reverses.
EVIL = "evil\x1b]0;pwned\x07\x1b[2J$$x^2$$\u202eabc"
#: What every tier shows for it.
SHOWN = "evil\\x1b]0;pwned\\x07\\x1b[2J$$x^2$$\\u202eabc"
#: The other characters no tier may pass through raw.
MORE = "\x00\x7f\x85\x9b\u061c\u200e\u200f\u202a\u202d\u2066\u2069"
#: C0 (but tab, newline), DEL, C1, and the bidi controls.
RAW = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
NO_MATH = {"mathjax_ignore", "tex2jax_ignore"}


class _Roots(HTMLParser):
    """The top-level elements of an HTML fragment (``<style>`` aside) and their classes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.roots: list[tuple[str, set[str]]] = []

    def handle_starttag(self, tag, attrs):
        if self.depth == 0 and tag != "style":
            self.roots.append((tag, set((dict(attrs).get("class") or "").split())))
        if tag not in ("br", "hr", "img", "input", "meta", "link", "wbr"):
            self.depth += 1

    def handle_endtag(self, tag):
        self.depth -= 1


def assert_clean(text: str, *, shown: str = SHOWN) -> None:
    """No raw control or bidi character in ``text`` (nor a decoded one in HTML); ``shown`` is."""
    raw = RAW.findall(text) + RAW.findall(html.unescape(text))
    assert not raw, f"raw characters {sorted(set(raw))!r} in {text[:300]!r}"
    assert shown in html.unescape(text)


def assert_html(markup: str, *, shown: str = SHOWN) -> None:
    """Clean as :func:`assert_clean`, and every root element opts out of MathJax."""
    assert_clean(markup, shown=shown)
    parser = _Roots()
    parser.feed(markup)
    assert parser.roots, markup[:200]
    for name, classes in parser.roots:
        assert classes >= NO_MATH, f"<{name} class={sorted(classes)}> has no MathJax opt-out"


def assert_tiers(view, *, shown: str = SHOWN) -> None:
    """``to_text()`` / ``to_html()`` (or the bundle's text/html) and the bundle are all clean."""
    display.set_mode("html")
    try:
        bundle = view._repr_mimebundle_()
    finally:
        display.set_mode("auto")
    assert_clean(bundle["text/plain"], shown=shown)
    assert_html(bundle["text/html"], shown=shown)
    if hasattr(view, "to_text"):
        assert_clean(view.to_text(), shown=shown)
    if hasattr(view, "to_html"):
        assert_html(view.to_html(), shown=shown)


def test_one_helper_escapes_every_control_and_bidi_character_in_text_and_html():
    text = visible(EVIL + MORE + "\ttab\nline\r\nwin\rmac")
    assert not RAW.findall(text)
    assert text.startswith(SHOWN)
    assert "\\x00\\x7f\\x85\\x9b\\u061c\\u200e\\u200f\\u202a\\u202d\\u2066\\u2069" in text
    assert text.endswith("\ttab\nline\nwin\nmac")
    assert visible(text) == text
    # every value the HTML tier escapes, attribute or text, gets the same escapes
    assert escape(EVIL) == html.escape(SHOWN)
    assert tag("b", EVIL, title=EVIL) == f'<b title="{html.escape(SHOWN)}">{html.escape(SHOWN)}</b>'


# -- status ----------------------------------------------------------------------------------


def test_status_shows_a_hostile_experiment_name_as_escapes_and_is_not_typeset(shell):
    # NUL is refused in names (PostgreSQL cannot store it); every other control is stored.
    name = EVIL + MORE.replace("\x00", "")
    shell.user_ns["evil"] = name
    view = shell.run("%mlflow experiment {evil}")
    assert view.status.experiment_name == name
    assert_tiers(view)
    assert_tiers(shell.run("%mlflow status"))


def test_usage_errors_echo_hostile_input_as_escapes(shell):
    # MLflow's own refusal of the order quotes it raw; the sentence the user sees must not
    shell.user_ns["evil"] = EVIL
    with pytest.raises(UsageError, match="rejected the order") as raised:
        shell.run("%mlflow traces --order-by {evil}")
    assert_clean(str(raised.value))


def test_warnings_echo_hostile_text_as_escapes(shell, capsys):
    magics = shell.magics_manager.registry["MlflowMagics"]
    magics._warn(f"Tracing failed: {EVIL}")
    assert_clean(capsys.readouterr().err)


# -- traces ----------------------------------------------------------------------------------

CHAT_CELL = f"""
import mlflow
evil = {EVIL!r}
with mlflow.start_span(name=evil, span_type="CHAT_MODEL") as span:
    span.set_inputs({{"messages": [{{"role": "user", "content": "hi " + evil}}]}})
    span.set_outputs({{"choices": [{{"message": {{"role": "assistant", "content": "**ok** " + evil}}}}]}})
    span.set_attribute("mlflow.chat.messages", [
        {{"role": "user", "content": "hi " + evil}},
        {{"role": "assistant", "content": "**ok** " + evil}},
    ])
"""


def _traced(shell, times: int = 1) -> list[str]:
    ids = []
    for _ in range(times):
        shell.run("%%mlflow trace --quiet\n" + CHAT_CELL)
        mlflow.flush_trace_async_logging()
        ids.append(mlflow.get_last_active_trace_id())
    return ids


def test_trace_view_shows_hostile_span_names_and_messages_as_escapes(shell):
    _traced(shell)
    view = shell.run("%mlflow show last")
    assert EVIL in view.data.spans["name"]
    assert_tiers(view)
    html = view.to_html()
    assert "hi " + SHOWN in html.replace("&#x27;", "'")  # the message card, not only the tree
    assert "ok** " + SHOWN in view.to_text()


def test_trace_table_shows_hostile_names_tags_and_filter_as_escapes(shell):
    (trace_id,) = _traced(shell)
    mlflow.MlflowClient().set_trace_tag(trace_id, "note", EVIL)
    mlflow.log_feedback(trace_id=trace_id, name=f"judge {EVIL}", value=True, rationale=EVIL)
    shell.user_ns["evil"] = EVIL
    table = shell.run("%mlflow traces \"tag.note = '{evil}'\"")
    assert [r.trace_id for r in table.page.rows] == [trace_id]
    assert_tiers(table)
    html = table.to_html()
    assert f'title="judge {SHOWN}"'.replace("'", "&#x27;") in html.replace("'", "&#x27;")


def test_trace_diff_shows_hostile_span_names_as_escapes(shell):
    a, b = _traced(shell, 2)
    view = shell.run(f"%mlflow diff {a} {b}")
    assert_tiers(view)


# -- datasets, evaluation, compare -----------------------------------------------------------


def test_dataset_views_show_hostile_records_as_escapes(shell):
    _traced(shell)
    shell.run("t = %mlflow traces")
    view = shell.run("%mlflow dataset create evil_ds --traces t")
    assert_tiers(view)
    assert_tiers(shell.run("%mlflow dataset show evil_ds"))


SCORERS = f"""
from mlflow.genai.scorers import scorer
from mlflow.entities import Feedback

@scorer
def hostile(outputs):
    return Feedback(value=False, rationale={EVIL!r})

@scorer
def short(outputs) -> bool:
    return len(str(outputs)) < 10
"""


def _evaluate(shell, run_name: str, answer: str):
    shell.user_ns["data"] = [
        {"inputs": {"question": EVIL}, "outputs": answer},
        {"inputs": {"question": "fine"}, "outputs": "fine"},
    ]
    return shell.run(f"%%mlflow evaluate --data data --run-name {run_name}\nhostile\nshort\n")


def test_evaluation_shows_hostile_inputs_and_rationales_as_escapes(shell):
    shell.run(SCORERS)
    view = _evaluate(shell, "first", EVIL)
    assert_clean(view._text())
    assert_html(view._html())
    assert_tiers(view)


def test_compare_shows_hostile_records_as_escapes(shell):
    shell.run(SCORERS)
    _evaluate(shell, "baseline", "a long answer " + EVIL)
    _evaluate(shell, "candidate", "ok")
    view = shell.run("%mlflow compare baseline candidate")
    assert view.comparison.rows
    assert_tiers(view)


# -- registry --------------------------------------------------------------------------------


def _hostile_prompt(shell, uri: str) -> None:
    """Prompt `evil` with two versions whose messages and model_config keys are hostile, and a
    recorded alias move whose tag (user, time, gate) is hostile."""
    mlflow.set_registry_uri(uri)
    for i in range(2):
        mlflow.genai.register_prompt(
            "evil",
            template=f"Answer {{{{question}}}} ({i}) {EVIL}",
            commit_message=f"v{i + 1} {EVIL}",
            model_config={f"{EVIL} key": i, "temperature": 0.1 * i},
        )
    mlflow.MlflowClient().set_prompt_alias("evil", "production", 1)
    move = {"alias": "production", "from": None, "to": 1, "user": EVIL, "time": EVIL}
    move["gate"] = EVIL
    mlflow.MlflowClient().set_prompt_tag(
        "evil", f"{registry.HISTORY_PREFIX}0000000000001.abcd1234", json.dumps(move)
    )
    client = mlflow.MlflowClient()
    client.create_registered_model("evil_model", description=f"model {EVIL}")


def test_alias_board_and_listings_show_hostile_history_and_settings_as_escapes(shell, store_uri):
    _hostile_prompt(shell, store_uri)
    board = shell.run("%mlflow prompts evil")
    assert board.board.history("production")
    assert_tiers(board)
    text = board.to_text()
    assert f"at {SHOWN}; gate: {SHOWN}" in text  # the history line, from the move's tag
    moved = shell.run("%mlflow alias prompt evil production 2")
    assert_tiers(moved, shown="production")
    # the listings (names and descriptions only) were clean already; they stay so
    assert_tiers(shell.run("%mlflow models"), shown=f"model {SHOWN}")
    prompts = shell.run("%mlflow prompts")
    assert "evil" in prompts.names
    assert_tiers(prompts, shown="evil")


def test_version_diff_shows_hostile_model_config_keys_as_escapes(shell, store_uri):
    _hostile_prompt(shell, store_uri)
    view = shell.run("%mlflow diff prompt evil 1 2")
    assert any(EVIL in key for key, _, _ in view.settings)
    assert_tiers(view)
    assert f"~ model_config.{SHOWN} key: 0 → 1" in view._repr_mimebundle_()["text/plain"]
