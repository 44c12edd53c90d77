"""Unit tier: GenAI content and assessments in the static tiers (plain dicts in, HTML and text
out): message cards, tool calls, documents, safe markdown, newest turns kept, display widths,
cost and assessments."""

from __future__ import annotations

import json
import re

import pytest
from static_html import assert_cells_align_in_jupyterlab, parse, strip_css

from mlflow_magics.views.content_view import (
    assessments_html,
    assessments_text,
    clip_to_width,
    content_html,
    content_text,
    format_cost,
    markdown_html,
    pad_to_width,
    plain_line,
    text_width,
    transcript,
    wrap_to_width,
)

ARGS = '{\n  "city": "Paris",\n  "note": "say \\"hi\\" <b>&amp;"\n}'
RESULT = '{\n  "temp_c": 21,\n  "sky": "clear"\n}'


def _chat(**extra):
    return {
        "kind": "chat",
        "format": "openai",
        "model": "gpt-4o-mini",
        "input_messages": [
            {"role": "system", "text": "You are a weather bot."},
            {"role": "user", "text": "What's the weather in **Paris**?"},
            {
                "role": "assistant",
                "text": "",
                "tool_calls": [
                    {"id": "call_1", "name": "get_weather", "arguments": ARGS, "result": RESULT}
                ],
            },
        ],
        "output_messages": [{"role": "assistant", "text": "It is *21 °C* and clear."}],
        "usage": {"input_tokens": 1000, "output_tokens": 234, "total_tokens": 1234},
        "cost": {"input_cost": 0.0001, "output_cost": 0.00002, "total_cost": 0.00012},
        **extra,
    }


def _cards(markup: str):
    return parse(markup).find_all(cls="msg")


# -- chat ---------------------------------------------------------------------------------------


def test_chat_renders_cards_by_role_with_the_tool_call_and_its_result():
    html = content_html(_chat())
    cards = _cards(html)
    assert [c.find_all(cls="who")[0].text() for c in cards] == [
        "system",
        "user",
        "assistant",
        "assistant",
    ]
    assert [sorted(c.classes) for c in cards][1] == ["msg", "r-user"]
    assert "<strong>Paris</strong>" in html  # markdown, rendered
    call = cards[2].find_all(cls="tc")[0]
    assert call.find_all(cls="nm")[0].text() == "get_weather"
    assert "call_1" in call.text()
    # arguments and result read exactly as given: pretty JSON, not JSON-encoded again
    pres = [p.text() for p in call.find_all("pre")]
    assert pres == [ARGS, RESULT]
    assert "\\\\" not in html and '\\"hi\\"' in pres[0]
    chips = [c.text() for c in parse(html).find_all(cls="chip")]
    assert chips == ["model gpt-4o-mini", "1,234 tokens (in 1,000 / out 234)", "$0.00012"]


def test_chat_text_tier_reads_as_a_transcript():
    text = content_text(_chat(), width=80)
    lines = text.splitlines()
    assert lines[0] == "system: You are a weather bot."
    assert lines[1] == "user: What's the weather in **Paris**?"
    assert lines[2] == "assistant: → get_weather [call_1]"
    assert '"note": "say \\"hi\\" <b>&amp;"' in text  # as given, not re-escaped
    assert "← result" in text and '"temp_c": 21,' in text
    assert "assistant: It is *21 °C* and clear." in lines
    assert lines[-1] == "model gpt-4o-mini · 1,234 tokens (in 1,000 / out 234) · $0.00012"


def test_cut_messages_are_counted_and_tool_answers_shown_as_data():
    content = {
        "kind": "chat",
        "messages_cut": 7,
        "input_messages": [
            {"role": "user", "text": "q"},
            {"role": "tool", "text": "# not a heading\n{}", "tool_call_id": "c9"},
        ],
    }
    html = content_html(content)
    assert parse(html).find_all(cls="gap")[0].text() == "… 7 earlier messages not shown"
    tool = _cards(html)[1]
    assert "r-tool" in tool.classes and "answers c9" in tool.text()
    assert tool.find_all("pre")[0].text() == "# not a heading\n{}"
    assert "<h1" not in html
    assert content_text(content).splitlines()[0] == "… 7 earlier messages not shown"


def _long_chat(turns: int, earlier: int = 0) -> dict:
    msgs = [{"role": "system", "text": "sys " * 50}]
    for k in range(turns):
        msgs += [
            {"role": "user", "text": f"question {k} " + "blah " * 60},
            {"role": "assistant", "text": f"answer {k} " + "yada " * 60},
        ]
    msgs.append({"role": "user", "text": "THE LAST QUESTION"})
    return {
        "kind": "chat",
        "messages_cut": earlier,
        "input_messages": msgs,
        "output_messages": [{"role": "assistant", "text": "THE FINAL ANSWER"}],
    }


def test_a_cut_transcript_keeps_the_newest_turns_and_counts_the_rest():
    content = _long_chat(20, earlier=5)
    items = transcript(content, 1000)
    assert isinstance(items[0], int)
    shown = items[1:]
    assert all(isinstance(m, dict) for m in shown)
    assert [m["text"] for m in shown[-2:]] == ["THE LAST QUESTION", "THE FINAL ANSWER"]
    assert items[0] == 5 + 43 - len(shown)  # every message is shown or counted
    html = content_html(content, budget=1000)
    gap = parse(html).find_all(cls="gap")[0].text()
    assert gap == f"… {items[0]} earlier messages not shown"
    texts = [c.text() for c in _cards(html)]
    assert "THE LAST QUESTION" in texts[-2] and "THE FINAL ANSWER" in texts[-1]
    assert "question 0 " not in html and "sys sys" not in html
    text = content_text(content, budget=1000)
    assert text.splitlines()[0] == f"… {items[0]} earlier messages not shown"
    assert "user: THE LAST QUESTION" in text and "assistant: THE FINAL ANSWER" in text


def test_a_question_and_answer_larger_than_the_budget_are_both_kept_clipped():
    content = {
        "kind": "chat",
        "input_messages": [
            {"role": "user", "text": "old"},
            {"role": "user", "text": "Q" * 5000},
        ],
        "output_messages": [{"role": "assistant", "text": "A" * 5000}],
    }
    items = transcript(content, 1200)
    assert items[0] == 1
    question, answer = items[1:]
    assert question["text"].startswith("QQQ") and answer["text"].startswith("AAA")
    assert len(question["text"]) + len(answer["text"]) < 1400
    assert len(answer["text"]) > len(question["text"])  # the answer gets the larger share
    html = content_html(content, budget=1200)
    notes = [n.text() for n in parse(html).find_all(cls="cut")]
    assert len(notes) == 2 and all(
        re.match(r"\([\d,]+ more characters not shown\)", n) for n in notes
    )


def test_the_steps_between_question_and_answer_give_way_before_the_answer():
    steps = [
        {"role": "assistant", "text": "", "tool_calls": [{"name": f"t{k}", "arguments": "x" * 400}]}
        for k in range(10)
    ]
    content = {
        "kind": "chat",
        "input_messages": [{"role": "user", "text": "do it"}, *steps],
        "output_messages": [{"role": "assistant", "text": "done"}],
    }
    items = transcript(content, 1000)
    assert items[0]["text"] == "do it" and items[-1]["text"] == "done"
    gap = next(i for i in items if isinstance(i, int))
    kept_steps = [i for i in items[1:-1] if isinstance(i, dict)]
    assert gap + len(kept_steps) == 10 and kept_steps  # the newest steps, the rest counted
    assert kept_steps[-1]["tool_calls"][0]["name"] == "t9"
    html = content_html(content, budget=1000)
    assert f"… {gap} messages not shown" in html


# -- retrieval, tool, text ----------------------------------------------------------------------


def test_documents_show_as_rows_with_text_uri_score_and_metadata():
    content = {
        "kind": "retrieval",
        "query": "what is mlflow",
        "documents": [
            {
                "text": "MLflow is an\nopen source platform. " * 40,
                "uri": "https://mlflow.org/docs",
                "id": "doc-1",
                "score": 0.91234,
                "metadata": {"page": 3},
            },
            {"text": "evil", "uri": "javascript:alert(1)"},
        ],
    }
    html = content_html(content)
    rows = parse(html).find_all("tr")
    assert len(rows) == 2
    first = rows[0].text()
    assert "0.912" in first and "id doc-1" in first and "page=3" in first
    assert "more characters" in first  # long text folded
    assert "MLflow is an open source platform." in first  # newlines folded
    links = parse(html).find_all("a")
    assert [a.attrs["href"] for a in links] == ["https://mlflow.org/docs"]
    assert links[0].attrs["rel"] == "noopener noreferrer nofollow"
    assert "javascript:alert(1)" in rows[1].text()  # shown as text, not a link
    assert "what is mlflow" in parse(html).text()
    text = content_text(content, width=70)
    lines = text.splitlines()
    assert lines[:2] == ["query: what is mlflow", "2 documents"]
    assert lines[2].startswith("  1. [0.912] MLflow is an open source platform.")
    assert lines[3].strip() == "https://mlflow.org/docs  id doc-1  page=3"
    assert all(text_width(ln) <= 70 for ln in lines)


def test_tool_and_text_content():
    tool = {
        "kind": "tool",
        "tool_call": {"name": "search", "arguments": ARGS, "result": "boom", "error": True},
    }
    html = content_html(tool)
    assert [p.text() for p in parse(html).find_all("pre")] == [ARGS, "boom"]
    assert parse(html).find_all(cls="bad")[0].text() == "error"
    assert content_text(tool).splitlines()[:2] == ["tool search", "    {"]
    assert "✗ error" in content_text(tool)
    text = {"kind": "text", "input_text": "hi <b>", "output_text": "bye\nsecond line"}
    html = content_html(text)
    assert [p.text() for p in parse(html).find_all("pre")] == ["hi <b>", "bye\nsecond line"]
    assert content_text(text).splitlines() == ["in: hi <b>", "out: bye", "     second line"]


def test_content_reads_without_css_and_its_tables_keep_left_aligned_in_jupyterlab():
    html = content_html(_chat())
    bare = parse(strip_css(html)).text()
    for words in ("system", "user", "assistant", "get_weather", "result", "$0.00012"):
        assert words in bare
    assert "model gpt-4o-mini 1,234 tokens" in bare  # chips keep spaces between them
    docs = content_html({"kind": "retrieval", "documents": [{"text": "t", "score": 1}]})
    assert_cells_align_in_jupyterlab(docs)


# -- safe markdown ------------------------------------------------------------------------------

HOSTILE = [
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=2">',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1))",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![pixel](https://tracker.example/p.gif)",
    "![inline](data:image/png;base64,iVBORw0KGgo=)",
    "<javascript:alert(1)>",
    '<a href="javascript:alert(1)" onclick="x()">raw</a>',
    "* <b onmouseover=alert(1)>list</b>\n\n> <iframe src=https://evil.example></iframe>",
    "```html\n<script>alert(1)</script>\n```",
    "[ref]\n\n[ref]: javascript:alert(1)",
    '<svg onload="alert(1)"><style>*{display:none}</style>',
    "[rel](../api/contents?x=1)",
    "<div>**bold in html**</div>",
]


def _assert_inert(markup: str) -> None:
    low = re.sub(r"^<style>.*?</style>", "", markup, flags=re.S).lower()  # the view's own
    assert "<script" not in low and "<img" not in low and "<iframe" not in low
    assert "<svg" not in low and "<style" not in low
    for node in parse(markup).iter():
        for attr, value in node.attrs.items():
            assert not attr.lower().startswith("on"), (node.tag, attr)
            if attr in ("href", "src"):
                assert re.match(r"(https?:|mailto:)", value or ""), value
    for a in parse(markup).find_all("a"):
        assert a.attrs.get("rel") == "noopener noreferrer nofollow"


@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_markdown_executes_and_loads_nothing(source):
    html = markdown_html(source)
    _assert_inert(html)
    assert "javascript:" not in re.sub(r">[^<]*<", "><", html).lower()  # only in text
    card = content_html({"kind": "chat", "input_messages": [{"role": "user", "text": source}]})
    _assert_inert(card)


def test_markdown_keeps_formatting_and_turns_images_into_links():
    html = markdown_html(
        "# Title\n**b** _i_ ~~s~~ `code`\n\n| a | b |\n|---|--:|\n| 1 | 2 |\n\n"
        "[site](https://example.com) ![chart](https://example.com/c.png)"
    )
    for piece in (
        "<h1>",
        "<strong>b</strong>",
        "<em>i</em>",
        "<s>s</s>",
        "<code>code</code>",
        "<table>",
        "<td>2</td>",
    ):
        assert piece in html, piece
    assert "<br" in markdown_html("line one\nline two")  # single newlines are line breaks
    links = {a.text(): a.attrs["href"] for a in parse(html).find_all("a")}
    assert links == {"site": "https://example.com", "image: chart": "https://example.com/c.png"}
    assert "&lt;b&gt;" in markdown_html("<b>") and "<b>" not in markdown_html("<b>")


def test_control_and_bidi_characters_show_as_escapes_in_both_tiers():
    evil = "ok\x1b[31m red\x07 \u202etxt.exe\x00"
    content = {"kind": "chat", "input_messages": [{"role": "user", "text": evil}]}
    text = content_text(content)
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]", text)
    assert "\\x1b[31m" in text and "\\u202e" in text
    html = content_html(content)
    assert "\u202e" not in html and "\x1b" not in html and "\\u202e" in html


# -- display width ------------------------------------------------------------------------------


def test_wide_characters_count_two_columns():
    assert text_width("abc") == 3 and text_width("東京") == 4 and text_width("e\u0301") == 1
    assert clip_to_width("東京タワー", 5) == "東京…"
    assert text_width(clip_to_width("東京タワー", 6)) <= 6
    assert pad_to_width("東京", 6) == "東京  "
    assert plain_line("a\nb\tc", 10) == "a b c"
    lines = wrap_to_width("東京の天気は晴れです。明日も晴れでしょう。", 10)
    assert all(text_width(ln) <= 10 for ln in lines) and "".join(lines).startswith("東京の天気")
    assert wrap_to_width("one two three four", 9) == ["one two", "three", "four"]


def test_text_tier_lines_fit_the_width_with_wide_characters():
    content = {
        "kind": "chat",
        "input_messages": [{"role": "user", "text": "東京の天気を教えてください。" * 10}],
        "output_messages": [{"role": "assistant", "text": "晴れです。" * 30}],
        "model": "モデル" * 20,
    }
    text = content_text(content, width=40)
    assert all(text_width(ln) <= 40 for ln in text.splitlines()), text
    assert text.splitlines()[0].startswith("user: 東京の天気")


# -- cost ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("usd", "text"),
    [
        (0, "$0"),
        (0.0, "$0"),
        (0.0000048, "$0.0000048"),
        (0.00000483, "$0.0000048"),
        (0.00042, "$0.00042"),
        (0.012, "$0.012"),
        (0.0996, "$0.1"),
        (0.53, "$0.53"),
        (0.5, "$0.5"),
        (0.999, "$1.00"),
        (1, "$1.00"),
        (1.234, "$1.23"),
        (12345.678, "$12,345.68"),
        (1e-12, "$0.000000000001"),
    ],
)
def test_cost_is_a_plain_decimal(usd, text):
    assert format_cost(usd) == text
    assert "e" not in format_cost(usd)


def test_the_widgets_print_every_cost_as_the_static_tiers_do():
    """One rule in every tier: the widgets' lib/format.js, run by Node, against format_cost."""
    import subprocess
    from pathlib import Path

    values = [0, 4.8e-06, 4.83e-06, 0.00042, 0.001, 0.012, 0.0996, 0.5, 0.999, 1.234, 12345.678]
    script = (
        "import('./lib/format.js').then((m) => "
        f"console.log(JSON.stringify({json.dumps(values)}.map(m.cost))))"
    )
    widgets = Path(__file__).resolve().parent.parent / "widgets"
    out = subprocess.run(
        ["node", "-e", script], cwd=widgets, capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == [format_cost(v) for v in values]


def test_every_view_formats_cost_the_same_way():
    from mlflow_magics.views import trace_view

    assert trace_view.format_cost is format_cost


# -- assessments --------------------------------------------------------------------------------

ASSESSMENTS = [
    {
        "id": "a-1",
        "name": "correctness",
        "kind": "feedback",
        "value": "yes",
        "rationale": "The answer **matches** <script>x()</script> [a](javascript:x)",
        "source_type": "LLM_JUDGE",
        "source_id": "openai:/gpt-4o",
        "time_ms": 1_700_000_000_000,
    },
    {"id": "a-2", "name": "safe", "kind": "feedback", "value": False, "source_type": "CODE", "source_id": "my_scorer"},
    {"id": "a-3", "name": "judge", "kind": "feedback", "value": None, "error": "Timeout after 30 s", "source_type": "LLM_JUDGE"},
    {"id": "a-4", "name": "relevance", "kind": "feedback", "value": 0.75, "source_type": "HUMAN", "source_id": "alice"},
    {"id": "a-5", "name": "expected", "kind": "expectation", "value": {"facts": ["Paris"]}, "source_type": "HUMAN"},
]  # fmt: skip


def test_assessments_html_marks_and_colours_verdicts():
    html = assessments_html(ASSESSMENTS)
    rows = parse(html).find_all("tbody")[0].find_all("tr")
    cells = [[td.text() for td in r.find_all("td")] for r in rows]
    values = [r.find_all("td")[1] for r in rows]
    assert [v.text() for v in values] == [
        "✓ yes",
        "✗ false",
        "! error",
        "0.75",
        '{"facts": ["Paris"]}',
    ]
    assert [sorted(v.classes) for v in values[:3]] == [["v-pass"], ["v-fail"], ["v-error"]]
    assert not values[3].classes
    assert cells[0][3] == "LLM judgeopenai:/gpt-4o" and cells[1][3] == "codemy_scorer"
    assert cells[3][3] == "humanalice"
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", cells[0][4])
    assert "Timeout after 30 s" in cells[2][2]
    assert "expectation" in cells[4][0]
    _assert_inert(html)  # the rationale is markdown made safe
    assert "<strong>matches</strong>" in html
    assert_cells_align_in_jupyterlab(html)
    css = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
    assert "#" not in re.sub(r"var\([^()]*\)", "", css)  # colours only from theme variables


def test_assessments_text_has_one_line_each_and_the_reason_below():
    lines = assessments_text(ASSESSMENTS, width=60).splitlines()
    assert lines[0].startswith("✓ correctness: yes  LLM judge openai:/gpt-4o  ")
    assert lines[1].startswith("    The answer **matches**")
    assert lines[2] == "✗ safe: false  code my_scorer"
    assert lines[3] == "! judge: error  LLM judge"
    assert lines[4] == "    error: Timeout after 30 s"
    assert lines[5] == "· relevance: 0.75  human alice"
    assert lines[6] == '· expected: {"facts": ["Paris"]} (expectation)  human'
    assert all(text_width(ln) <= 60 for ln in lines)
    assert assessments_html([]) == "" and assessments_text([]) == ""
