"""The trace table (``%mlflow traces``): unit (filters, durations, tiers), magics (a real SQLite
store of 30 traces) and integration (the same table over a PostgreSQL-backed server)."""

from __future__ import annotations

import re
import shutil
import time

import mlflow
import pytest
from IPython.core.error import UsageError
from static_html import assert_cells_align_in_jupyterlab, assert_ids_never_wrap

from mlflow_magics import commands
from mlflow_magics.errors import BadInput
from mlflow_magics.trace_search import (
    TraceQuery,
    TraceRow,
    build_filter,
    order_for,
    parse_duration,
    quote_value,
)
from mlflow_magics.views import display
from mlflow_magics.views.trace_table import PREVIEW_CAP, TAGS_CAP, row_payload

SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=2">'
NAMES = ("plan", "search", "answer")
N = 30
OLD = 5  # traces dated three days back, for --last


def make_traces(n: int = N, old: int = OLD, experiment_id: str | None = None) -> None:
    """``n`` small traces on the current tracking URI: names cycle plan/search/answer, every
    fifth fails, odd ones are tagged env=prod, each has an LLM child with token usage, and the
    first ``old`` are three days old. Trace 0's request and response are hostile markup."""
    now_ns = time.time_ns()
    for i in range(n):
        age_s = 3 * 86_400 + i if i < old else (n - i)
        start = now_ns - age_s * 1_000_000_000
        root = mlflow.start_span_no_context(
            NAMES[i % 3],
            span_type="AGENT",
            inputs={"q": SCRIPT if i == 0 else f"question {i}"},
            tags={"env": "prod" if i % 2 else "dev", "i": str(i)},
            experiment_id=experiment_id,
            start_time_ns=start,
        )
        llm = mlflow.start_span_no_context(
            "chat",
            span_type="LLM",
            parent_span=root,
            attributes={
                "mlflow.chat.tokenUsage": {
                    "input_tokens": 10,
                    "output_tokens": i,
                    "total_tokens": 10 + i,
                }
            },
            start_time_ns=start + 1_000_000,
        )
        llm.end(end_time_ns=start + (2 + i) * 1_000_000)
        root.set_outputs(IMG if i == 0 else f"answer {i}")
        root.end(status="ERROR" if i % 5 == 0 else "OK", end_time_ns=start + (3 + i) * 1_000_000)
    mlflow.flush_trace_async_logging()


@pytest.fixture(scope="module")
def store_template(store_template, tmp_path_factory):
    """This module's stores start with the 30 traces (made once, copied per test), plus an
    experiment ``agents`` holding 3 more."""
    path = tmp_path_factory.mktemp("traces") / "mlflow.db"
    shutil.copy(store_template, path)
    mlflow.set_tracking_uri(f"sqlite:///{path}")
    try:
        make_traces()
        agents = mlflow.MlflowClient().create_experiment("agents")
        make_traces(3, old=0, experiment_id=agents)
    finally:
        mlflow.set_tracking_uri(None)
    return path


@pytest.fixture(autouse=True)
def _text_mode_restored():
    yield
    display.set_mode("auto")


# --- unit ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("30s", 30_000),
        ("20m", 1_200_000),
        ("2h", 7_200_000),
        ("7d", 604_800_000),
        (" 1.5h", 5_400_000),
    ],
)
def test_parse_duration(text, ms):
    assert parse_duration(text) == ms


@pytest.mark.parametrize("text", ["5x", "", "h", "-2h", "0m", "2 hours"])
def test_parse_duration_refuses_quoting_the_bad_part(text):
    with pytest.raises(BadInput, match=f"duration {text!r}"):
        parse_duration(text)


def test_build_filter_ands_the_conveniences_onto_the_users_filter():
    query = TraceQuery(
        filter="  tag.env = 'prod' ",
        name="it's",
        status="error",
        tags=(("team", "ml"), ("my key", 'say "hi"')),
        last="20m",
    )
    assert build_filter(query, now_ms=10_000_000) == (
        "tag.env = 'prod' AND trace.name = \"it's\" AND trace.status = 'ERROR' AND "
        "tag.team = 'ml' AND tag.`my key` = 'say \"hi\"' AND trace.timestamp_ms > 8800000"
    )
    assert build_filter(TraceQuery(), now_ms=0) is None
    assert build_filter(TraceQuery(filter="trace.status = 'OK'"), 0) == "trace.status = 'OK'"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (TraceQuery(status="maybe"), "Status 'maybe'"),
        (TraceQuery(name="a'b\"c"), "both kinds of quote"),
        (TraceQuery(tags=(("a`b", "v"),)), "backtick"),
        (TraceQuery(last="soon"), "duration 'soon'"),
    ],
)
def test_build_filter_refuses_what_mlflow_cannot_express(query, message):
    with pytest.raises(BadInput, match=message):
        build_filter(query, now_ms=0)


def test_quote_value_and_sort_orders():
    assert quote_value("plain") == "'plain'"
    assert quote_value("it's") == '"it\'s"'
    assert order_for("time", True) == ("timestamp_ms DESC",)
    assert order_for("duration", False) == ("execution_time_ms ASC", "timestamp_ms DESC")
    with pytest.raises(BadInput, match="Cannot sort by 'cost'"):
        order_for("cost", True)


def test_row_payload_is_bounded():
    row = TraceRow(
        trace_id="tr-" + "a" * 32,
        time_ms=0,
        name="n",
        status="OK",
        duration_ms=1.0,
        tokens=None,
        request_preview="x" * 5000,
        response_preview="line1\nline2",
        tags={f"k{i}": "v" * 500 for i in range(10)},
    )
    payload = row_payload(row)
    assert len(payload["request"]) == PREVIEW_CAP
    assert payload["response"] == "line1 line2"
    assert len(payload["tags"]) == TAGS_CAP
    assert payload["more_tags"] == 10 - TAGS_CAP
    assert all(len(v) <= 60 for _, v in payload["tags"])


@pytest.mark.parametrize(
    ("line", "filter_text", "extra"),
    [
        ("trace.status = 'ERROR' --max 5", "trace.status = 'ERROR'", {"max_results": 5}),
        ("\"trace.name = 'a b'\" --name 'my agent'", "trace.name = 'a b'", {"name": "my agent"}),
        ("--tag k='v w' tag.x = \"it's\"", 'tag.x = "it\'s"', {"tags": (("k", "v w"),)}),
        ("--order-by 'execution_time_ms DESC' --status error", None, {"status": "ERROR"}),
    ],
)
def test_traces_parser_keeps_the_filters_quotes(line, filter_text, extra):
    args = commands.parse_traces(line)
    assert args.query.filter == filter_text
    for key, value in extra.items():
        assert getattr(args.query, key) == value


# --- magics tier -----------------------------------------------------------------------------


def test_pages_through_the_store_newest_first(shell):
    t = shell.run("t = %mlflow traces --page-size 10\nt")
    first = t.trace_ids
    assert len(first) == 10
    times = [r.time_ms for r in t.rows]
    assert times == sorted(times, reverse=True)
    assert t.count is None and t.has_next and not t.has_prev
    t.next_page()
    second = t.trace_ids
    assert len(second) == 10 and not set(first) & set(second)
    t.next_page()
    t.next_page()  # the third page was full, so the store handed out one more token
    assert t.page_number == 3 and not t.has_next
    assert t.count == N
    assert "rows 21–30 of 30 matches" in repr(t)
    t.prev_page()
    t.prev_page()
    assert t.trace_ids == first  # from the cache


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("trace.status = 'ERROR'", 6),
        ("\"trace.status = 'ERROR'\"", 6),
        ("--status error", 6),
        ("--name answer", 10),
        ("--tag env=prod", 15),
        ("--last 1d", N - OLD),
        ("trace.status = 'OK' --tag env=prod --name plan", 4),
        ("--experiment agents", 3),
        ("--max 7", 7),
    ],
)
def test_filter_and_conveniences(shell, args, expected):
    t = shell.run(f"%mlflow traces {args} --page-size 50")
    assert len(t.trace_ids) == expected


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "trace.bogus = 1",
            r"rejected the filter 'trace\.bogus = 1': Invalid attribute key 'bogus'",
        ),
        (
            "trace.status == 'OK'",
            r"rejected the filter \"trace\.status == 'OK'\": Invalid comparator",
        ),
        ("--last 5x", "duration '5x'"),
        ("--experiment agnets", "No experiment 'agnets'.*Did you mean 'agents'"),
        ("--order-by bogus", "rejected the order 'bogus'"),
        ("--status maybe", "invalid choice: 'MAYBE'"),
        ("--page-size 0", "'0' is not a whole number"),
        ("--page-size 501", "between 1 and 500, not 501"),
    ],
)
def test_bad_input_is_one_usage_error_quoting_it(shell, line, message):
    with pytest.raises(UsageError, match=message):
        shell.run(f"%mlflow traces {line}")


def test_help_and_completion(shell, capsys):
    assert shell.run("%mlflow traces --help") is None
    out = capsys.readouterr().out
    assert "%mlflow traces" in out and "--last D" in out and "FILTER" in out
    assert "traces" in commands.SUBCOMMANDS
    assert "--order-by" in commands.completions("%mlflow traces ")


def test_selection_twins(shell):
    t = shell.run("%mlflow traces --page-size 10")
    a, b, c = t.trace_ids[:3]
    t.select([a, b])
    t.select(c, add=True)
    assert t.selected == [a, b, c]
    t.deselect([b])
    assert t.selected == [a, c]
    t.select([b])
    assert t.selected == [b]
    assert t.select_all_matching() == N
    assert len(set(t.selected)) == N and t.count == N
    t.clear_selection()
    assert t.selected == []
    capped = shell.run("%mlflow traces --max 12 --page-size 5")
    assert capped.select_all_matching() == 12
    assert capped.count is None and capped.capped


def test_to_pandas_page_and_every_match(shell):
    t = shell.run("%mlflow traces --page-size 10 --tag env=prod")
    page = t.to_pandas()
    assert list(page.columns) == [
        "trace_id", "time", "name", "status", "duration_ms", "tokens",
        "request_preview", "response_preview", "tags",
    ]  # fmt: skip
    assert list(page.trace_id) == t.trace_ids
    every = t.to_pandas(all=True)
    assert len(every) == 15 and set(every.status) == {"OK", "ERROR"}
    assert all(tags["env"] == "prod" for tags in every.tags)
    assert every.tokens.notna().all() and (every.tokens >= 10).all()


def test_open_loads_spans_on_demand_and_shows_them_under_the_table(shell):
    from mlflow_magics.views.trace_widget import TraceWidget

    t = shell.run("%mlflow traces --name search --page-size 5")
    widget = t.widget
    view = t.open(t.trace_ids[0])
    assert view.data.span_count == 2
    # by name: unloading the extension in other tests may have re-imported the module
    assert [type(w).__name__ for w in t.detail_children] == [TraceWidget.__name__]
    assert widget.children[1].children[0] is view.widget
    with pytest.raises(BadInput, match="not a trace id"):
        t.open("nope")


def test_widget_messages_drive_the_same_twins(shell):
    t = shell.run("%mlflow traces --page-size 10")
    t.widget  # noqa: B018 - builds the widget
    w = t.widget.children[0]
    assert len(w.page["rows"]) == 10 and w.page["page"] == 1
    first = t.trace_ids

    w.act({"action": "filter", "text": "trace.bogus = 1"})
    assert w.error.startswith("MLflow rejected the filter 'trace.bogus = 1'")
    assert t.error == w.error and t.trace_ids == first  # the rows stay

    w.act({"action": "filter", "text": "trace.status = 'ERROR'"})
    assert w.error == "" and len(w.page["rows"]) == 6 and w.page["count"] == 6
    assert w.filter == "trace.status = 'ERROR'"

    w.act({"action": "filter", "text": ""})
    w.act({"action": "next"})
    assert w.page["page"] == 2 and w.page["start"] == 10
    w.act({"action": "sort", "column": "name", "descending": False})
    assert w.order == {"column": "name", "descending": False} and w.page["page"] == 1
    assert [r["name"] for r in w.page["rows"]] == ["answer"] * 10

    ids = [r["id"] for r in w.page["rows"][:2]]
    w.act({"action": "select", "ids": ids, "on": True})
    assert w.selection == {"count": 2, "on_page": ids}
    w.act({"action": "compare"})
    html = t.detail_children[0].value
    assert "mlfm-diff" in html and ids[0] in html
    w.act({"action": "open", "trace_id": ids[1]})
    assert t.opened.trace_id == ids[1]
    w.act({"action": "select", "ids": ids[:1], "on": False})
    w.act({"action": "compare"})
    assert w.error.startswith("Compare needs exactly two selected traces; 1 are")
    w.act({"action": "select_all"})
    assert w.selection["count"] == N
    w.act({"action": "clear"})
    assert w.selection == {"count": 0, "on_page": []}


def test_every_tier_escapes_hostile_previews(shell):
    t = shell.run("%mlflow traces --max 60 --page-size 50")
    display.set_mode("html")
    bundle = t._repr_mimebundle_()
    html = bundle["text/html"]
    assert "<script>window" not in html and "<img" not in html
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=" in html
    assert 'class="mlfm-tt mathjax_ignore' in html and "mlfm-trace" not in html
    assert SCRIPT[:22] in bundle["text/plain"]  # text is text (clipped to its column)
    assert display.WIDGET_MIME not in bundle
    # The widget gets the raw text: its front-end sets textContent only.
    row = next(r for r in t.widget.children[0].page["rows"] if SCRIPT in r["request"])
    assert "<img src=x onerror=" in row["response"]


def test_static_tiers_are_bounded_and_say_how_many_more_matched(shell):
    t = shell.run("%mlflow traces --page-size 10")
    assert t.more_line() == "More traces matched; page on with t.next_page() or open the widget."
    t.select_all_matching()  # counting every match makes the count known
    assert t.more_line() == "20 more matched."
    display.set_mode("html")
    html = t._repr_mimebundle_()["text/html"]
    assert html.count("<tr>") == 11 and "20 more matched." in html
    display.set_mode("text")
    bundle = t._repr_mimebundle_()
    assert list(bundle) == ["text/plain"]
    lines = bundle["text/plain"].splitlines()
    assert lines[0].startswith("Traces (rows 1–10 of 30 matches)")
    assert len(lines) == 1 + 1 + 10 + 1 and lines[-1] == "20 more matched."


def test_widget_tier_in_widget_mode(shell):
    t = shell.run("%mlflow traces --page-size 5")
    display.set_mode("widget")
    bundle = t._repr_mimebundle_()
    assert display.WIDGET_MIME in bundle and "text/html" in bundle and "text/plain" in bundle
    assert bundle[display.WIDGET_MIME]["model_id"] == t.widget.model_id


def test_payload_per_page_stays_small(shell):
    import json

    t = shell.run("%mlflow traces --page-size 50")
    assert len(json.dumps(t.page_payload())) < 50_000


def _rated_traces(experiment_id: str) -> list[str]:
    """Three traces with assessments (a judge's yes, a code scorer's False, a failed judge, a
    number) and East Asian wide names and previews."""
    from mlflow.entities import AssessmentError, AssessmentSource

    judge = AssessmentSource(source_type="LLM_JUDGE", source_id="openai:/gpt-4o")
    code = AssessmentSource(source_type="CODE", source_id="my_scorer")
    ids = []
    for i, name in enumerate(["東京の天気", "plain", "混合mixed名前"]):
        root = mlflow.start_span_no_context(
            name, inputs={"q": f"質問{i}です" if i != 1 else "ascii"}, experiment_id=experiment_id
        )
        root.set_outputs("答え" * (i + 1))
        root.end()
        ids.append(root.trace_id)
    mlflow.flush_trace_async_logging()
    mlflow.log_feedback(trace_id=ids[0], name="correct", value="yes", source=judge)
    mlflow.log_feedback(trace_id=ids[0], name="score", value=0.75, source=code)
    mlflow.log_feedback(trace_id=ids[1], name="correct", value=False, source=code)
    mlflow.log_feedback(
        trace_id=ids[2],
        name="correct",
        error=AssessmentError(error_code="TIMEOUT", error_message="judge timed out"),
        source=judge,
    )
    return ids


def test_assessments_get_a_column_each_in_every_tier(shell):
    exp = mlflow.MlflowClient().create_experiment("rated")
    ids = _rated_traces(exp)
    t = shell.run("%mlflow traces --experiment rated")
    assert set(t.trace_ids) == set(ids)
    page = t.page_payload()
    assert page["assessment_names"] == ["correct", "score"]
    by_id = {r["id"]: r for r in page["rows"]}
    assert by_id[ids[0]]["assessments"] == {
        "correct": {"text": "yes", "verdict": "pass"},
        "score": {"text": "0.75", "verdict": None},
    }
    assert by_id[ids[1]]["assessments"]["correct"] == {"text": "false", "verdict": "fail"}
    assert by_id[ids[2]]["assessments"]["correct"]["verdict"] == "error"

    from static_html import parse

    html = t.to_html()
    assert_cells_align_in_jupyterlab(html)
    heads = [th.text() for th in parse(html).find_all("th")]
    assert heads[-3:] == ["correct", "score", "tags"]
    cells = {
        tr.find_all("div", cls="id")[0].text(): [
            td for td in tr.find_all("td") if "mk" in td.classes
        ]
        for tr in parse(html).find_all("tbody")[0].find_all("tr")
    }
    assert [(c.text(), c.classes - {"mk"}) for c in cells[ids[0]]] == [
        ("✓ yes", {"v-pass"}),
        ("0.75", set()),
    ]
    assert [(c.text(), c.classes - {"mk"}) for c in cells[ids[1]]] == [
        ("✗ false", {"v-fail"}),
        ("", set()),
    ]
    assert cells[ids[2]][0].classes == {"mk", "v-error"}

    lines = t.to_text().splitlines()
    head = lines[1]
    assert "correct" in head and "score" in head
    rows = {next(i for i in ids if t.rows[k].trace_id == i): lines[2 + k] for k in range(3)}
    assert "✓" in rows[ids[0]] and "0.75" in rows[ids[0]]
    assert "✗" in rows[ids[1]] and "! error" in rows[ids[2]]


def test_text_table_columns_line_up_with_wide_characters(shell):
    from mlflow_magics.views.content_view import text_width

    exp = mlflow.MlflowClient().create_experiment("wide")
    _rated_traces(exp)
    lines = shell.run("%mlflow traces --experiment wide").to_text().splitlines()
    head, rows = lines[1], lines[2:5]
    starts = [text_width(head[: head.index(title)]) for title in ("status", "request", "correct")]
    for row in rows:
        # the display column where each of those cells starts is the same in every row
        cols = [m.start() for m in re.finditer(r"(?<=  )\S", row)]
        at = {text_width(row[:c]) for c in cols}
        assert set(starts) <= at, (row, starts, sorted(at))


# --- integration tier ------------------------------------------------------------------------


@pytest.mark.integration
def test_the_table_over_a_tracking_server(shell, mlflow_server):
    shell.run(f"%mlflow connect {mlflow_server.uri} --experiment trace-table")
    exp = mlflow.get_experiment_by_name("trace-table").experiment_id
    make_traces(12, old=2, experiment_id=exp)
    t = shell.run("%mlflow traces --page-size 5")
    assert len(t.trace_ids) == 5
    t.next_page()
    t.next_page()
    assert len(t.trace_ids) == 2 and t.count == 12
    assert len(shell.run("%mlflow traces trace.status = 'ERROR' --page-size 50").trace_ids) == 3
    assert len(shell.run("%mlflow traces --last 1d --tag env=prod").trace_ids) == 5
    errors = shell.run("%mlflow traces --status ERROR --page-size 2")
    assert errors.select_all_matching() == 3
    assert errors.open(errors.selected[0]).data.span_count == 2
    assert "&lt;script&gt;" in shell.run("%mlflow traces --max 20").to_html()
    with pytest.raises(
        UsageError, match=r"rejected the filter 'trace\.bogus = 1': Invalid attribute key 'bogus'"
    ):
        shell.run("%mlflow traces trace.bogus = 1")
    with pytest.raises(
        UsageError, match=r"No experiment 'trace-tabel'.*Did you mean 'trace-table'"
    ):
        shell.run("%mlflow traces --experiment trace-tabel")


def test_table_cells_stay_left_aligned_in_jupyterlab_and_ids_do_not_wrap(shell):
    """nbconvert's lab template right-aligns every cell; the table's own rules win."""
    html = shell.run("%mlflow traces --max 20").to_html()
    assert_cells_align_in_jupyterlab(html)
    assert assert_ids_never_wrap(html) == 20
