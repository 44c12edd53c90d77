"""Unit tier: trace data, the three rendering tiers, the markup helper and the widget's
Python side, on traces built with MLflow's own span API (no shell)."""

from __future__ import annotations

import json
import re

import pytest

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
    assert html.count("<details") == 5
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
