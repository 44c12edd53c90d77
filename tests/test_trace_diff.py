"""Comparing traces (``%mlflow diff``) and searching spans inside a trace view: the services on
real MLflow traces, the diff's two tiers, the widget's Python twins, and the magic."""

from __future__ import annotations

import json
import time

import mlflow
import pytest
from IPython.core.error import UsageError
from static_html import assert_cells_align_in_jupyterlab, assert_ids_never_wrap

from mlflow_magics.trace_data import SpanSearch, trace_data
from mlflow_magics.trace_diff import ADDED, CHANGED, PREVIEW_CAP, REMOVED, SAME, diff, diff_traces
from mlflow_magics.views import display
from mlflow_magics.views.diff_view import DiffView
from mlflow_magics.views.trace_view import TraceView
from mlflow_magics.views.trace_widget import TraceWidget


def _usage(total: int) -> dict:
    return {"mlflow.chat.tokenUsage": {"input_tokens": total - 2, "output_tokens": 2, "total_tokens": total}}  # fmt: skip


def _agent(version: int) -> dict:
    """Two runs of one agent: v2 makes a third search call, answers differently and slower,
    and no longer runs `format`."""
    searches = [
        {"name": "search", "type": "TOOL", "inputs": {"q": q}, "outputs": f"hits for {q}", "ms": ms}
        for q, ms in [("a", (2, 10)), ("b", (11, 20))] + ([("c", (21, 30))] if version == 2 else [])
    ]
    chat = {
        "name": "chat",
        "type": "CHAT_MODEL",
        "inputs": {"q": "weather?"},
        "outputs": f"Answer v{version}",
        "attributes": _usage(10 if version == 1 else 25),
        "ms": (21, 60) if version == 1 else (31, 110),
    }
    tail = [{"name": "format", "ms": (61, 70)}] if version == 1 else []
    end = 100 if version == 1 else 150
    return {
        "name": "ask", "type": "CHAIN", "ms": (0, end),
        "children": [{"name": "agent", "type": "AGENT", "ms": (1, end - 1), "children": [*searches, chat, *tail]}],
    }  # fmt: skip


def _shape(d):
    return [(r.status, r.depth, r.name) for r in d.rows]


def test_trees_align_by_path_with_added_removed_changed_and_same(make_trace):
    d = diff(make_trace(_agent(1)), make_trace(_agent(2)))
    assert _shape(d) == [
        (SAME, 0, "ask"),
        (SAME, 1, "agent"),
        (SAME, 2, "search"),
        (SAME, 2, "search"),
        (ADDED, 2, "search"),
        (CHANGED, 2, "chat"),
        (REMOVED, 2, "format"),
    ]
    added, chat, removed = d.rows[4], d.rows[5], d.rows[6]
    assert added.a is None and added.b.type == "TOOL" and added.delta_ms is None
    assert removed.b is None and removed.a.duration_ms == pytest.approx(9.0)
    assert chat.changes == ["outputs"] and chat.outputs_differ and not chat.inputs_differ
    assert json.loads(chat.outputs_a.text if chat.outputs_a.text.startswith('"') else '"x"')
    assert chat.outputs_a.text == "Answer v1" and chat.outputs_b.text == "Answer v2"
    assert chat.inputs_a is None  # previews only for what differs
    assert chat.delta_ms == pytest.approx(40.0)
    assert chat.delta_pct == pytest.approx(40 / 39 * 100)
    s = d.summary
    assert (s.added, s.removed, s.changed, s.same) == (1, 1, 1, 4)
    assert (s.spans_a, s.spans_b) == (6, 6)
    assert s.duration_delta_ms == pytest.approx(50.0) and s.duration_delta_pct == pytest.approx(50)
    assert (s.tokens_a, s.tokens_b, s.token_delta) == (10, 25, 15)
    assert [r.name for r in d.by_status(ADDED)] == ["search"]


def test_repeated_same_name_siblings_align_one_to_one_by_order(make_trace):
    def run(queries):
        kids = [{"name": "tool", "type": "TOOL", "inputs": {"q": q}, "ms": (i + 1, i + 2)} for i, q in enumerate(queries)]  # fmt: skip
        return make_trace({"name": "root", "ms": (0, 50), "children": kids})

    d = diff(run(["a", "b", "c"]), run(["a", "x", "c", "d"]))
    assert [(r.status, r.name) for r in d.rows[1:]] == [
        (SAME, "tool"),
        (CHANGED, "tool"),  # the 2nd call meets the 2nd call, and its inputs differ
        (SAME, "tool"),
        (ADDED, "tool"),
    ]
    assert d.rows[2].changes == ["inputs"]
    assert '"x"' in d.rows[2].inputs_b.text


def test_single_roots_pair_even_when_renamed_and_status_type_changes_count(make_trace):
    a = make_trace({"name": "v1", "ms": (0, 10), "children": [{"name": "step", "type": "TOOL", "ms": (1, 2)}]})  # fmt: skip
    b = make_trace({"name": "v2", "ms": (0, 10), "children": [{"name": "step", "type": "LLM", "status": "ERROR", "ms": (1, 2)}]})  # fmt: skip
    d = diff(a, b)
    assert _shape(d) == [(CHANGED, 0, "v2"), (CHANGED, 1, "step")]
    assert d.rows[0].changes == ["name"]
    assert d.rows[1].changes == ["type", "status"]
    assert d.rows[1].delta_ms == 0


def test_diff_of_a_trace_with_itself_is_all_same(make_trace):
    trace = make_trace(_agent(2))
    d = diff(trace, trace)
    assert {r.status for r in d.rows} == {SAME}
    assert d.summary.duration_delta_ms == 0 and d.summary.token_delta == 0


def test_diff_traces_loads_from_the_store_and_refuses_bad_ids(make_trace, store_uri):
    a, b = make_trace(_agent(1)), make_trace(_agent(2))
    client = mlflow.MlflowClient(store_uri)
    d = diff_traces(client, a.info.trace_id, b.info.trace_id)
    assert (d.trace_id_a, d.trace_id_b) == (a.info.trace_id, b.info.trace_id)
    assert d.summary.added == 1
    from mlflow_magics.errors import BadInput

    with pytest.raises(BadInput, match="is not a trace id"):
        diff_traces(client, "nope", b.info.trace_id)
    with pytest.raises(BadInput, match="No trace tr-0123"):
        diff_traces(client, a.info.trace_id, "tr-0123456789abcdef0123456789abcdef")


SCRIPT = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'


def _markup_of(html: str) -> tuple[set[str], set[str]]:
    """The element and attribute names a browser would build from ``html``."""
    from html.parser import HTMLParser

    tags: set[str] = set()
    attrs: set[str] = set()

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attributes):
            tags.add(tag)
            attrs.update(name for name, _ in attributes)

    Collect().feed(html)
    return tags, attrs


def test_diff_tiers_escape_hostile_names_and_outputs_and_bound_previews(make_trace):
    def run(out):
        return make_trace(
            {"name": SCRIPT, "ms": (0, 20), "children": [
                {"name": IMG, "type": "TOOL", "outputs": out, "ms": (1, 5)},
                {"name": "big", "outputs": out * 400, "ms": (6, 7)},
            ]}
        )  # fmt: skip

    view = DiffView(diff(run(IMG), run(SCRIPT)))
    html = view.to_html()
    tags, attrs = _markup_of(html)
    assert tags <= {"style", "div", "b", "span", "table", "thead", "tbody", "tr", "th", "td", "details", "summary", "pre"}  # fmt: skip
    assert not [a for a in attrs if a.startswith("on")]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count('data-status="changed"') == 2
    assert html.count("<details") == 2 and "outputs differ" in html
    big = view.rows[2]
    assert big.outputs_a.truncated and len(big.outputs_a.text) == PREVIEW_CAP
    assert f"first {PREVIEW_CAP} of " in html

    text = view.to_text()
    lines = text.splitlines()
    assert lines[1].startswith("+0 added  -0 removed  ~2 changed  1 same")
    assert lines[3].startswith(f"~   {IMG} [TOOL]") and "changed: outputs" in lines[3]
    bundle = view._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    assert "+0 -0 ~2 =1" in repr(view)


def test_diff_text_marks_rows_and_states_deltas(make_trace):
    view = DiffView(diff(make_trace(_agent(1)), make_trace(_agent(2))))
    lines = view.to_text().splitlines()
    assert lines[0].startswith("Diff A tr-") and " → B tr-" in lines[0]
    assert "duration 100 ms → 150 ms, +50.0 ms (+50.0%)" in lines[1]
    assert "tokens 10 → 25, +15" in lines[1]
    marks = [ln[:2] for ln in lines[2:]]
    assert marks == ["  ", "  ", "  ", "  ", "+ ", "~ ", "- "]
    assert "+40.0 ms (+102.6%)" in lines[7]
    assert "— → 9.0 ms" in lines[6]
    html = view.to_html()
    assert [m for m in ("added", "removed", "changed") if f'data-status="{m}"' in html] == [
        "added", "removed", "changed",
    ]  # fmt: skip
    assert 'class="num slower"' in html


# --- search inside a trace view ---------------------------------------------------------------


def _searchable():
    return {
        "name": "agent", "type": "AGENT", "inputs": {"question": 'say "Hi" to Zoë'},
        "children": [
            {"name": "Lookup_Weather", "type": "TOOL", "outputs": {"temp": "Sunny and 21C"}},
            {"name": "chat", "type": "CHAT_MODEL", "outputs": "The weather is sunny",
             "attributes": {"mlflow.llm.cost": {"input_cost": 0.001, "output_cost": 0.0025, "total_cost": 0.0035}}},
        ],
    }  # fmt: skip


def test_span_search_finds_names_types_and_payload_text_case_insensitively(make_trace):
    trace = make_trace(_searchable())
    search = SpanSearch(trace, trace_data(trace))
    assert search.find("lookup_w").rows == [1]  # name
    assert search.find("chat_model").rows == [2]  # type
    assert search.find("SUNNY").rows == [1, 2]  # outputs
    assert search.find('say "hi"').rows == [0]  # inputs, as stored (JSON-escaped quotes)
    assert search.find("zoë").rows == [0]
    assert search.find("nothing like this").rows == []
    assert search.find("").rows == []


def test_cost_column_and_trace_total(make_trace):
    data = trace_data(make_trace(_searchable()))
    assert data.spans["cost"] == [0.0, 0.0, 0.0035]
    assert data.cost == pytest.approx(0.0035)
    assert data.to_payload()["cost"] == pytest.approx(0.0035)


def test_widget_search_and_type_filter_have_python_twins(make_trace):
    trace = make_trace(_searchable())
    data = trace_data(trace)
    widget = TraceWidget(trace, data)
    ids = data.spans["id"]
    assert widget.search("sunny") == [ids[1], ids[2]]
    assert widget.query == "sunny"
    assert widget._matches == {
        "query": "sunny",
        "rows": [1, 2],
        "where": ["outputs", "outputs"],
        "capped": False,
    }
    widget.filter_type("TOOL")
    assert widget.span_type_filter == "TOOL"
    assert widget.matches == [ids[1]]  # search and type filter together
    assert widget.next_match() == ids[1] and widget.selected_span_id == ids[1]
    widget.filter_type("")
    assert widget.next_match() == ids[2]
    assert widget.next_match() == ids[1]  # wraps around
    assert widget.search("") == [] and widget._matches == {}
    assert TraceView(trace).search("weather") == [ids[1], ids[2]]


def _synthetic_trace(n: int):
    """A root and n-1 children as real MLflow spans over OpenTelemetry spans, made directly:
    50,000 spans through the tracing API and the store take minutes on a small machine."""
    from mlflow.entities import Span, Trace, TraceData, TraceInfo, TraceLocation, TraceState
    from opentelemetry.attributes import BoundedAttributes
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.trace import SpanContext, Status, StatusCode

    hex_id = "ab" * 16
    trace_id = f"tr-{hex_id}"
    t0 = 1_700_000_000_000_000_000
    resource = Resource.get_empty()

    def context(i):
        return SpanContext(int(hex_id, 16), i + 1, is_remote=False)

    spans = []
    for i in range(n):
        attrs = {
            "mlflow.traceRequestId": json.dumps(trace_id),
            "mlflow.spanType": '"LLM"' if i % 3 == 0 else '"TOOL"',
            "mlflow.spanInputs": json.dumps({"q": f"question {i}"}),
            "mlflow.spanOutputs": json.dumps({"answer": f"result number {i}"}),
        }
        otel = ReadableSpan(
            f"step {i}",
            context=context(i),
            parent=context(0) if i else None,
            resource=resource,
            attributes=BoundedAttributes(attributes=attrs, immutable=False, max_value_len=None),
            start_time=t0 + i * 1000,
            end_time=t0 + i * 1000 + 500,
            status=Status(StatusCode.OK),
        )
        spans.append(Span(otel))
    info = TraceInfo(
        trace_id=trace_id,
        trace_location=TraceLocation.from_experiment_id("0"),
        request_time=t0 // 1_000_000,
        state=TraceState.OK,
    )
    return Trace(info, TraceData(spans=spans))


def test_search_on_50k_spans_is_fast_and_capped():
    trace = _synthetic_trace(50_000)
    data = trace_data(trace)
    t0 = time.perf_counter()
    search = SpanSearch(trace, data)
    one = search.find("RESULT NUMBER 49999")
    elapsed = time.perf_counter() - t0
    assert one.rows == [49_999] and not one.capped
    assert elapsed < 2.0, f"index + first search took {elapsed:.2f} s"  # smoke check
    many = search.find("step", cap=5000)
    assert many.capped and len(many.rows) == 5000
    assert search.find("llm", cap=100_000).rows == list(range(0, 50_000, 3))


# --- the magic --------------------------------------------------------------------------------


def test_diff_magic_compares_two_traced_cells(shell):
    shell.run("import mlflow")
    first = shell.run(
        "%%mlflow trace --quiet --name ask\n"
        "with mlflow.start_span('search', span_type='TOOL') as s:\n"
        "    s.set_outputs('hits')\n"
        "'Answer one'"
    )
    del first
    a = shell.run("%mlflow show last").trace_id
    shell.run(
        "%%mlflow trace --quiet --name ask\n"
        "for q in ('x', 'y'):\n"
        "    with mlflow.start_span('search', span_type='TOOL') as s:\n"
        "        s.set_outputs('hits')\n"
        "'Answer two'"
    )
    view = shell.run(f"%mlflow diff {a} last")
    assert isinstance(view, DiffView)
    statuses = [(r.status, r.name) for r in view.rows]
    assert statuses == [(CHANGED, "ask"), (SAME, "search"), (ADDED, "search")]
    assert view.rows[0].changes == ["inputs", "outputs"]  # the cell source and its value
    assert "Answer two" in view.rows[0].outputs_b.text
    # ids read back from the store give the same diff
    b = shell.run("%mlflow show last").trace_id
    shell.run("%config MlflowMagics.display = 'html'")
    again = shell.run(f"%mlflow diff {a} {b}")
    assert [(r.status, r.name) for r in again.rows] == statuses
    assert display.WIDGET_MIME not in again._repr_mimebundle_()


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("%mlflow diff", "the following arguments are required: trace_a, trace_b"),
        ("%mlflow diff last", "the following arguments are required: trace_b"),
        ("%mlflow diff nope last", "'nope' is not a trace id"),
        ("%mlflow diff last tr-0123456789abcdef0123456789abcdef", "No trace yet in this session"),
        (
            "%mlflow diff tr-0123456789abcdef0123456789abcdef tr-0123456789abcdef0123456789abcdee",
            "No trace tr-0123456789abcdef0123456789abcdef in",
        ),
        ("%mlflow diff a b c", "unrecognized arguments: c"),
    ],
)
def test_diff_magic_bad_input_is_one_usage_error(shell, line, match, monkeypatch):
    # MLflow remembers the last trace process-wide; this shell has traced nothing.
    monkeypatch.setattr("mlflow.tracing.fluent._LAST_ACTIVE_TRACE_ID_GLOBAL", None)
    with pytest.raises(UsageError, match=match) as info:
        shell.run(line)
    assert type(info.value) is UsageError
    assert "\n" not in str(info.value)


def test_diff_is_listed_and_completes(shell, capsys):
    shell.run("%mlflow --help")
    assert "diff" in capsys.readouterr().out
    _, matches = shell.complete("", line="%mlflow di", cursor_pos=10)
    assert "diff" in matches


def test_diff_cells_stay_left_aligned_in_jupyterlab_and_ids_do_not_wrap(make_trace):
    def run(ms):
        return make_trace(
            {"name": "agent", "ms": (0, 20), "children": [{"name": "tool", "ms": (1, ms)}]}
        )

    html = DiffView(diff(run(5), run(15))).to_html()
    assert_cells_align_in_jupyterlab(html, layout="fixed")  # fixed on purpose: width:100%
    assert assert_ids_never_wrap(html) == 2
