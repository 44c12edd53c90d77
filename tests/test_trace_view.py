"""Unit tier: trace data, the three rendering tiers, the markup helper and the widget's
Python side, on traces built with MLflow's own span API (no shell)."""

from __future__ import annotations

import json
import re

import pytest
from static_html import (
    ERROR_CLASSES,
    assert_ids_never_wrap,
    assert_trace_reads_without_css,
    matches,
    parse,
    rules,
    span_rows,
    specificity,
    strip_css,
)

from mlflow_magics import connection
from mlflow_magics.errors import BadInput
from mlflow_magics.trace_data import TraceData, format_duration, render_payload, trace_data
from mlflow_magics.tracing import output_value
from mlflow_magics.views import display
from mlflow_magics.views.markup import Markup, escape, percent, tag
from mlflow_magics.views.trace_view import TraceView, trace_html, trace_text
from mlflow_magics.views.trace_widget import TraceWidget


def _spec():
    return {
        "name": "agent", "type": "AGENT", "inputs": {"q": "hi"}, "outputs": "bye",
        "children": [
            {"name": "retrieve", "type": "RETRIEVER", "children": [{"name": "embed"}]},
            {
                "name": "llm", "type": "CHAT_MODEL",
                "attributes": {"mlflow.chat.tokenUsage": {"input_tokens": 7, "output_tokens": 3, "total_tokens": 10}},
            },
            {"name": "tool", "type": "TOOL", "status": "ERROR"},
        ],
    }  # fmt: skip


def test_spans_come_depth_first_in_start_order_with_parents(make_trace):
    data = trace_data(make_trace(_spec()))
    s = data.spans
    assert s["name"] == ["agent", "retrieve", "embed", "llm", "tool"]
    assert s["parent"] == [-1, 0, 1, 0, 0]
    assert data.depth() == [0, 1, 2, 1, 1]
    assert s["type"][:2] == ["AGENT", "RETRIEVER"]
    assert s["status"][4] == "ERROR"
    assert data.error_count == 1
    assert s["tokens"][3] == 10
    assert data.tokens == {"input_tokens": 7, "output_tokens": 3, "total_tokens": 10}
    assert all(a <= b for a, b in zip(s["start"][1:3], s["start"][2:4], strict=True))
    assert abs(data.duration_ms - s["dur"][0]) < 0.01  # header and root row agree


def test_text_tier_is_an_indented_tree_with_durations(make_trace):
    text = trace_text(trace_data(make_trace(_spec())))
    lines = text.splitlines()
    assert lines[0].startswith("Trace tr-") and "5 spans" in lines[0] and "10 tokens" in lines[0]
    # the app's response reads as text under the header, before the tree
    tree = next(i for i, ln in enumerate(lines) if ln.startswith("└─ agent"))
    assert "bye" in "\n".join(lines[1:tree])
    lines = [lines[0], *lines[tree:]]
    assert lines[1].startswith("└─ agent [AGENT] ")
    assert lines[2].startswith("   ├─ retrieve [RETRIEVER]")
    assert lines[3].startswith("   │  └─ embed [UNKNOWN]")
    assert lines[5].startswith("   └─ tool [TOOL]") and lines[5].endswith("✗ ERROR")
    assert all(re.search(r" \d+(\.\d)? (ms|µs)", ln) for ln in lines[1:])


def _wide_data(n: int) -> TraceData:
    """A root with n-1 children, as plain columns."""
    return TraceData(
        trace_id="tr-" + "0" * 32, name="wide", status="OK", start_ms=0.0,
        duration_ms=float(n), tokens=None,
        spans={
            "id": [format(i + 1, "016x") for i in range(n)],
            "parent": [-1] + [0] * (n - 1),
            "name": [f"s{i}" for i in range(n)],
            "type": ["TOOL"] * n,
            "status": ["OK"] * n,
            "start": [float(i) for i in range(n)],
            "dur": [1.0] * n,
            "tokens": [0] * n,
        },
    )  # fmt: skip


def test_text_and_html_tiers_are_bounded_with_counts():
    data = _wide_data(50_000)
    text = trace_text(data)
    assert len(text.splitlines()) == 202
    assert text.splitlines()[-1] == "… 49,800 more spans not shown (50,000 in all)"
    html = trace_html(data)
    assert len(html.encode()) < 2 * 1024 * 1024
    assert "Showing the first 500 of 50,000 spans; 49,500 more not shown here." in html
    assert html.count("<details") == 500


def test_html_tier_needs_no_script_and_draws_bars_as_widths(make_trace):
    data = trace_data(make_trace(_spec()))
    html = trace_html(data)
    assert "<script" not in html
    assert html.count('<span class="nm">') == 5  # one row per span
    # the root's response shows as content; its raw JSON waits in one closed <details>
    raw = [d for d in parse(html).find_all("details") if "raw" in d.classes]
    assert len(raw) == 1 and "open" not in raw[0].attrs and "bye" in raw[0].text()
    assert html.count("<details") == 5 + len(raw)
    assert "width:" in html and "left:" in html
    assert '<span class="st ERROR">ERROR</span>' in html


def test_markup_escapes_text_and_attributes():
    evil = '"><script>alert(1)</script>'
    out = tag("div", evil, title=evil, class_="x")
    assert "<script>" not in out
    assert out == (
        '<div title="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" class="x">'
        "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</div>"
    )
    assert escape(Markup("<b>")) == "<b>"  # already markup: left alone
    assert percent(150) == "100.000%" and percent(-3) == "0.000%"


def test_payloads_are_cut_without_parsing_and_state_their_size():
    big = json.dumps("y" * 200_000)
    p = render_payload(big, cap=1000)
    assert p.truncated and p.size == len(big) and len(p.text) == 1000
    small = render_payload(json.dumps({"a": [1, 2]}))
    assert not small.truncated and '"a"' in small.text
    assert render_payload(json.dumps("plain")).text == "plain"


@pytest.mark.parametrize(
    ("ms", "text"), [(0.042, "42 µs"), (0.42, "0.4 ms"), (12.34, "12.3 ms"), (250, "250 ms"), (1250, "1.25 s"), (185_000, "3 m 05 s")]
)  # fmt: skip
def test_durations_read_naturally(ms, text):
    assert format_duration(ms) == text


def test_cell_output_is_kept_json_like_or_bounded():
    assert output_value({"a": 1}) == {"a": 1}
    assert output_value(3.5) == 3.5

    class Huge:
        def __repr__(self):
            return "h" * 50_000

    assert len(output_value(Huge())) == 10_001


def test_widget_answers_a_selection_with_that_spans_details(make_trace):
    trace = make_trace(_spec())
    data = trace_data(trace)
    widget = TraceWidget(trace, data)
    assert widget.trace["span_count"] == 5
    tool = data.spans["id"][4]
    widget.select(tool)  # Python twin of a click
    assert widget.selected_span_id == tool
    assert widget.detail["name"] == "tool"
    assert widget.detail["status"] == "ERROR"
    widget.select("ffffffffffffffff")
    assert "No span" in widget.detail["error"]


def test_trace_view_bundle_carries_all_tiers_in_widget_mode(make_trace):
    view = TraceView(make_trace(_spec()))
    display.set_mode("widget")
    try:
        bundle = view._repr_mimebundle_()
    finally:
        display.set_mode("auto")
    assert {"text/plain", "text/html", display.WIDGET_MIME} <= set(bundle)
    assert "Trace tr-" in repr(view) or view.trace_id in repr(view)


def test_databricks_gets_its_own_trace_mime(make_trace, monkeypatch):
    view = TraceView(make_trace(_spec()))
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "15.4")
    bundle = view._repr_mimebundle_()
    assert display.DATABRICKS_TRACE_MIME in bundle
    assert display.WIDGET_MIME not in bundle  # custom widgets are not guaranteed there
    assert "text/html" in bundle


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (None, "sqlite:///mlflow.db"),
        ("http://127.0.0.1:5000/", "http://127.0.0.1:5000"),
        ("databricks", "databricks"),
        ("databricks://prod", "databricks://prod"),
        ("postgresql://u:p@h/db", "postgresql://u:p@h/db"),
    ],
)
def test_uris_normalize(uri, expected):
    assert connection.normalize_uri(uri) == expected


@pytest.mark.parametrize("uri", ["ftp://x", "http://", "sqlite://", "mlflow.db"])
def test_bad_uris_are_refused_in_one_sentence(uri):
    with pytest.raises(BadInput) as info:
        connection.normalize_uri(uri)
    assert "\n" not in str(info.value)


def test_dead_server_probe_names_the_reason():
    reason = connection.probe("http://127.0.0.1:9", timeout=0.5)
    assert reason and "refused" in reason
    assert connection.probe("sqlite:///x.db") is None


def test_store_health_never_makes_a_caller_wait_twice_on_a_silent_server(monkeypatch):
    """A server that does not answer costs the timeout once; later checks return the last
    answer at once and refresh it in the background."""
    import socket
    import time

    silent = socket.socket()  # listens but never accepts: requests hang until the timeout
    silent.bind(("127.0.0.1", 0))
    silent.listen(0)
    uri = f"http://127.0.0.1:{silent.getsockname()[1]}"
    health = connection.StoreHealth(timeout=0.3)
    monkeypatch.setattr(connection.StoreHealth, "BAD_FOR", 0.0)
    try:
        first = health.problem(uri)
        assert first and "0.3 s" in first
        t0 = time.perf_counter()
        for _ in range(5):
            assert health.problem(uri) == first
        assert time.perf_counter() - t0 < 0.1
    finally:
        silent.close()


def test_a_runaway_span_name_does_not_bloat_the_tree(make_trace):
    data = trace_data(make_trace({"name": "n" * 100_000, "children": [{"name": "ok"}]}))
    assert len(data.spans["name"][0]) == 300
    assert data.spans["name"][0].endswith("…")
    assert len(json.dumps(data.to_payload())) < 5_000
    assert len(data.name) <= 300


def _failing_spec():
    """A failure two levels down, under a failed parent, next to OK siblings and children."""
    return {
        "name": "agent", "type": "AGENT", "ms": (0, 100), "children": [
            {"name": "retrieve", "type": "RETRIEVER", "ms": (2, 20), "children": [{"name": "embed", "ms": (3, 9)}]},
            {"name": "plan", "type": "CHAIN", "ms": (20, 90), "children": [
                {"name": "step", "type": "CHAIN", "status": "ERROR", "ms": (21, 80), "children": [
                    {"name": "llm", "type": "CHAT_MODEL", "ms": (22, 60), "outputs": "fine",
                     "children": [{"name": "tokenize", "ms": (23, 25)}]},
                    {"name": "parse", "type": "PARSER", "status": "ERROR", "ms": (60, 79)},
                ]},
            ]},
        ],
    }  # fmt: skip


def test_error_styling_stays_on_the_failed_spans_own_row(make_trace):
    """nbconvert showed OK spans under a failed one in red: no error rule reaches them."""
    data = trace_data(make_trace(_failing_spec()))
    html = trace_html(data)
    error_rules = [
        sel for sel, _ in rules(html) if set(re.findall(r"\.([\w-]+)", sel)) & ERROR_CLASSES
    ]
    assert error_rules
    rows = span_rows(html)
    names = data.spans["name"]
    for ok in ("llm", "tokenize"):
        row = rows[names.index(ok)]
        own = [row, *row.child("summary").iter()]
        hit = [(sel, n.tag) for n in own for sel in error_rules if matches(sel, n)]
        assert not hit, f"{ok} is styled as failed by {hit}"
    failed = rows[names.index("step")].child("summary")
    assert any(matches(sel, n) for n in failed.iter() for sel in error_rules)


def _before_content(html: str, node) -> str | None:
    """The ``content`` of ``node``'s ``::before`` as the view's rules give it."""
    best = None
    for order, (sel, decls) in enumerate(rules(html)):
        if "::before" in sel and "content" in decls and matches(sel.replace("::before", ""), node):
            best = max(
                best or (specificity(sel), -1, ""), (specificity(sel), order, decls["content"])
            )
    return best[2] if best else None


def test_failed_spans_and_their_ancestors_start_open_and_every_toggle_shows_a_marker(make_trace):
    data = trace_data(make_trace(_failing_spec()))
    html = trace_html(data)
    rows = span_rows(html)
    names = data.spans["name"]
    for name in ("agent", "plan", "step", "parse"):  # the failures and every span above them
        assert "open" in rows[names.index(name)].attrs, name
    assert "open" not in rows[names.index("llm")].attrs  # an OK subtree three levels down
    # the summary is a grid (no native marker): a drawn one says closed ▸ / open ▾
    markers = set()
    for row in rows:
        kids = any(c.tag == "details" for c in row.children if not isinstance(c, str))
        if not kids and not row.find_all("pre"):
            continue
        label = row.child("summary").find_all(cls="lbl")[0]
        content = _before_content(html, label)
        assert content, f"{label.text()} shows no disclosure marker"
        markers.add(("open" in row.attrs, content))
    assert len({c for _, c in markers}) == 2 and len(markers) == 2, markers


def test_static_tree_reads_with_every_style_stripped(make_trace):
    """GitHub strips style= and <style>: depth, bars, error marks and open state survive."""
    data = trace_data(make_trace(_failing_spec()))
    html = trace_html(data)
    assert_trace_reads_without_css(html, data)
    bare = strip_css(html)
    assert "style=" not in bare and "<style" not in bare
    step = span_rows(bare)[data.spans["name"].index("step")].child("summary").text()
    assert re.search(r"\d+(\.\d)? ms", step)  # the duration stays in the row's text


def test_deep_trees_cap_the_indent_and_say_the_depth(make_trace):
    node = {"name": "d30", "ms": (30, 31), "outputs": "x"}
    for k in range(29, -1, -1):
        node = {"name": f"d{k}", "ms": (k, 100 - k), "children": [node]}
    data = trace_data(make_trace(node))
    html = trace_html(data)
    assert_trace_reads_without_css(html, data)
    rows = span_rows(strip_css(html))
    assert len(rows) == 31
    rails = [r.child("summary").find_all(cls="rail") for r in rows]
    widths = {len(r[0].text()) for r in rails if r}
    assert max(widths) <= 2 * 12, widths  # names start no further right than 12 levels
    assert "⋯30" in rows[30].child("summary").text()
    assert "⋯12" not in html and "⋯13" in rows[13].child("summary").text()
    pads = [int(p) for p in re.findall(r"padding-left:(\d+)px", html)]
    assert pads and max(pads) <= 200  # the details under a deep span are capped too


def test_trace_id_never_wraps(make_trace):
    html = trace_html(trace_data(make_trace(_spec())))
    assert assert_ids_never_wrap(html) == 1
    tree = parse(html)
    assert tree.find_all(cls="id")[0].text().startswith("tr-")


def _chat_spec(turns: int = 12):
    """An OpenAI-style chat app: a long conversation whose newest question is the last input."""
    history = []
    for k in range(turns):
        history += [
            {"role": "user", "content": f"question {k} " + "blah " * 60},
            {"role": "assistant", "content": f"answer {k} " + "yada " * 60},
        ]
    history.append({"role": "user", "content": "What is the **newest** question? 最新"})
    reply = {"choices": [{"message": {"role": "assistant", "content": "This *is* the answer."}}]}
    return {
        "name": "chat_app", "type": "CHAT_MODEL", "inputs": {"messages": history}, "outputs": reply,
        "children": [{"name": "llm", "type": "CHAT_MODEL"}],
    }  # fmt: skip


ASSESSMENTS = [
    {"id": "a-1", "name": "correct", "kind": "feedback", "value": "yes", "rationale": "Fine <script>x</script>",
     "source_type": "LLM_JUDGE", "source_id": "openai:/gpt-4o", "time_ms": 1_700_000_000_000},
    {"id": "a-2", "name": "safe", "kind": "feedback", "value": False, "source_type": "CODE"},
]  # fmt: skip


def _with_content(data: TraceData, content: dict | None, assessments: list) -> TraceData:
    import dataclasses

    return dataclasses.replace(data, root_content=content, assessments=assessments)


def test_the_apps_chat_shows_as_cards_with_the_newest_turn_and_raw_json_one_click_away(make_trace):
    trace = make_trace(_chat_spec())
    data = trace_data(trace)
    assert data.root_content and data.root_content["kind"] == "chat"
    html = trace_html(data, trace)
    root = span_rows(html)[0]
    cards = root.find_all(cls="msg")
    assert "newest" in cards[-2].text() and "This is the answer." in cards[-1].text()
    assert "<strong>newest</strong>" in html and "<em>is</em>" in html
    gap = root.find_all(cls="gap")[0].text()
    shown = len(cards)
    assert gap == f"… {26 - shown} earlier messages not shown"
    raw = [d for d in root.find_all("details") if "raw" in d.classes]
    assert len(raw) == 1 and "open" not in raw[0].attrs
    assert '"messages"' in raw[0].text() and "inputs" in raw[0].text()
    assert "mlfm-content" in html and "<script" not in html
    # the text tier: the same newest turn, under the header, before the tree
    text = trace_text(data)
    lines = text.splitlines()
    tree = next(i for i, ln in enumerate(lines) if ln.startswith("└─ chat_app"))
    block = lines[1:tree]
    assert block[0].startswith("  … ") and "earlier messages not shown" in block[0]
    assert any(ln.startswith("  user: What is the **newest** question? 最新") for ln in block)
    assert any(ln.startswith("  assistant: This *is* the answer.") for ln in block)
    assert "question 0 " not in text


def test_assessments_show_in_both_static_tiers(make_trace):
    trace = make_trace(_spec())
    data = _with_content(trace_data(trace), None, ASSESSMENTS)
    html = trace_html(data, trace)
    section = parse(html).find_all(cls="asmt")[0]
    assert section.find_all("b")[0].text() == "Assessments (2)"
    values = [r.find_all("td")[1] for r in section.find_all("tbody")[0].find_all("tr")]
    assert [(v.text(), v.classes) for v in values] == [
        ("✓ yes", {"v-pass"}),
        ("✗ false", {"v-fail"}),
    ]
    assert "&lt;script&gt;" in html and "<script" not in html
    assert_trace_reads_without_css(html, data)  # the span rows are unchanged
    lines = trace_text(data).splitlines()
    assert lines[1] == "  2 assessments:"
    assert lines[2].startswith("    ✓ correct: yes  LLM judge openai:/gpt-4o  ")
    assert lines[3] == "        Fine <script>x</script>"
    assert lines[4] == "    ✗ safe: false  code"
    assert lines[5].startswith("└─ agent [AGENT]")


def test_trace_views_work_on_data_without_content_fields():
    """Data from before the content fields existed (no root_content / assessments)."""
    from types import SimpleNamespace

    wide = _wide_data(3)
    fields = ("trace_id", "name", "status", "duration_ms", "tokens", "spans", "cost")
    old = SimpleNamespace(
        **{k: getattr(wide, k) for k in fields},
        span_objects=[],
        span_count=3,
        error_count=0,
        depth=wide.depth,
    )
    assert trace_text(old).splitlines()[1].startswith("└─ s0 [TOOL]")
    assert trace_html(old).count('<span class="nm">') == 3


def test_cut_payload_sizes_are_utf8_bytes(make_trace):
    trace = make_trace({"name": "root", "children": [{"name": "big", "outputs": "日本" * 3000}]})
    html = trace_html(trace_data(trace), trace)
    note = re.search(r"outputs \(showing ([\d.]+ [KM]?B) of ([\d.]+ [KM]?B)\)", html)
    assert note, "no size note"
    # 6,000 three-byte characters (plus quotes): 17.6 KB, not the 5.9 KB a character count gives
    assert note.group(2) == "17.6 KB"
    assert note.group(1).endswith("KB") and float(note.group(1).split()[0]) > 1.5
