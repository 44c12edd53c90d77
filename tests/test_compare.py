"""Two evaluation runs compared per record (``%mlflow compare``): unit (pairing, order, tiers)
and magics (real ``mlflow.genai.evaluate`` runs with code scorers on a SQLite store)."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import mlflow
import pandas as pd
import pytest
from IPython.core.error import UsageError
from mlflow.entities import Feedback
from mlflow.genai.scorers import scorer
from packaging.version import Version
from static_html import assert_cells_align_in_jupyterlab

from mlflow_magics import commands, compare, datasets
from mlflow_magics.compare import EvalRecord, RunRef, compare_records, record_key
from mlflow_magics.verdicts import read_value
from mlflow_magics.views import display
from mlflow_magics.views.compare_view import CompareView, compare_html

SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=2">'
RUNS: dict[str, str] = {}


# -- the evaluations -------------------------------------------------------------------------


@scorer
def exact(outputs, expectations):
    return outputs == expectations["expected_response"]


@scorer
def length(outputs):
    return len(outputs)


@scorer
def polite(outputs):
    return "yes" if "please" in outputs else "no"


@scorer
def fragile(outputs):
    if outputs == "boom":
        raise ValueError("cannot score boom")
    return True


@scorer
def judged(outputs):
    good = outputs.startswith("answer")
    return Feedback(value="yes" if good else "no", rationale=f"{IMG} reads {outputs[:20]!r}")


SCORERS = [exact, length, polite, fragile, judged]
#: What B answers where it differs from the expected "answer <q>".
B_ANSWERS = {"q2": "boom", "q3": "answer q3 please", "q4": SCRIPT}


def _data(questions):
    return [
        {"inputs": {"q": q}, "expectations": {"expected_response": f"answer {q}"}}
        for q in questions
    ]


def predict_a(q):
    return "wrong" if q == "q5" else f"answer {q}"


def predict_b(q):
    return B_ANSWERS.get(q, f"answer {q}")


def _evaluate(name: str, questions, predict) -> str:
    with mlflow.start_run(run_name=name, experiment_id="0") as run:
        mlflow.genai.evaluate(data=_data(questions), predict_fn=predict, scorers=SCORERS)
    return run.info.run_id


@pytest.fixture(scope="module")
def store_template(store_template, tmp_path_factory):
    """Stores of this module hold two evaluation runs of the Default experiment: ``baseline``
    (q0–q5 and "dup" twice) and ``candidate`` (q1–q6 and "dup" twice), a run that is not an
    evaluation, one holding a trace but no feedback, and two runs both named ``twin``. Made once, copied per test."""
    path = tmp_path_factory.mktemp("compare-runs") / "mlflow.db"
    shutil.copy(store_template, path)
    mlflow.set_tracking_uri(f"sqlite:///{path}")
    try:
        RUNS["baseline"] = _evaluate(
            "baseline", ["q0", "q1", "q2", "q3", "q4", "q5"] + ["dup"] * 2, predict_a
        )
        RUNS["candidate"] = _evaluate("candidate", ["q1", "q2", "q3", "q4", "q5", "q6"] + ["dup"] * 2, predict_b)  # fmt: skip
        with mlflow.start_run(run_name="plain", experiment_id="0"):
            mlflow.log_param("lr", 0.1)
        with (
            mlflow.start_run(run_name="traced", experiment_id="0"),
            mlflow.start_span("side") as span,
        ):
            span.set_inputs({"q": "q1"})
        mlflow.flush_trace_async_logging()
        for _ in range(2):
            with mlflow.start_run(run_name="twin", experiment_id="0"):
                pass
    finally:
        mlflow.set_tracking_uri(None)
    return path


# -- unit ------------------------------------------------------------------------------------


def _record(q, verdicts: dict, n: int = 0) -> EvalRecord:
    inputs = {"q": q}
    return EvalRecord(
        trace_id=f"tr-{q}-{n}",
        inputs=inputs,
        outputs=f"out {q} {n}",
        verdicts={k: read_value(v) for k, v in verdicts.items()},
        request_time=n,
        key=record_key(inputs),
    )


def test_records_pair_by_inputs_in_order_with_added_and_removed_listed():
    a = [
        _record("x", {"ok": True}, 0),
        _record("dup", {"ok": True}, 1),
        _record("dup", {"ok": False}, 2),
        _record("gone", {"ok": True}, 3),
    ]
    b = [
        _record("dup", {"ok": False}, 0),
        _record("x", {"ok": True}, 1),
        _record("new", {"ok": True}, 2),
        _record("dup", {"ok": True}, 3),
    ]
    c = compare_records(RunRef("a" * 32, "A", "0"), RunRef("b" * 32, "B", "0"), a, b)
    pairs = {
        (r.a.trace_id if r.a else None, r.b.trace_id if r.b else None): r.status for r in c.rows
    }
    assert pairs == {
        ("tr-x-0", "tr-x-1"): "same",
        ("tr-dup-1", "tr-dup-0"): "regressed",  # first dup meets first dup
        ("tr-dup-2", "tr-dup-3"): "improved",
        ("tr-gone-3", None): "removed",
        (None, "tr-new-2"): "added",
    }
    assert [r.status for r in c.rows] == ["regressed", "improved", "added", "removed", "same"]
    (ok,) = c.scorers
    assert (ok.mean_a, ok.mean_b, ok.delta) == (0.75, 0.75, 0.0)
    assert (ok.regressed, ok.improved) == (1, 1)


def test_key_is_canonical_json_of_the_inputs():
    assert record_key({"b": 1, "a": [1, "é"]}) == record_key({"a": [1, "é"], "b": 1})
    assert record_key({"a": 1}) != record_key({"a": "1"})


def test_rows_with_more_regressed_scorers_come_first():
    a = [_record(q, {"s1": True, "s2": True, "s3": 1.0}, i) for i, q in enumerate("pqr")]
    b = [
        _record("p", {"s1": False, "s2": True, "s3": 1.0}),
        _record("q", {"s1": False, "s2": False, "s3": 0.5}),
        _record("r", {"s1": True, "s2": False, "s3": 2.0}),
    ]
    c = compare_records(RunRef("a" * 32, "A", "0"), RunRef("b" * 32, "B", "0"), a, b)
    assert [r.inputs["q"] for r in c.rows] == ["q", "r", "p"]
    assert c.rows[0].regressed == ("s1", "s2", "s3")
    assert c.rows[1].regressed == ("s2",) and c.rows[1].improved == ("s3",)
    # the summary leads with the scorer that regressed most
    assert [s.name for s in c.scorers] == ["s1", "s2", "s3"]


def test_text_verdicts_change_and_a_scorer_new_in_b_has_no_delta():
    a = [_record("p", {"tone": "formal"}, 0), _record("q", {"tone": "formal"}, 1)]
    b = [
        _record("p", {"tone": "casual", "new": 0.5}, 0),
        _record("q", {"tone": "formal", "new": 1.0}, 1),
    ]
    c = compare_records(RunRef("a" * 32, "A", "0"), RunRef("b" * 32, "", "0"), a, b)
    assert [r.status for r in c.rows] == ["changed", "same"]
    new = next(s for s in c.scorers if s.name == "new")
    assert (new.mean_a, new.mean_b, new.delta) == (None, 0.75, None)
    view = CompareView(c)
    assert "tone formal → casual" in view.to_text()
    html = view.to_html()
    assert "tone: formal → casual" in html and 'data-status="changed"' in html
    assert view.to_pandas()["new/a"].isna().all()


@pytest.mark.parametrize(
    "argv, message",
    [
        ([], "the following arguments are required"),
        (["a"], "the following arguments are required"),
        (["a", "b", "c"], "unrecognized arguments"),
        (["a", "b", "--experiment"], "expected one argument"),
    ],
)
def test_compare_flags_that_do_not_parse_are_one_usage_error(argv, message):
    with pytest.raises(UsageError, match=message):
        commands.parse_compare(argv)


# -- magics ----------------------------------------------------------------------------------


def test_compare_by_name_puts_regressions_first_with_correct_deltas(shell):
    cmp = shell.run("cmp = %mlflow compare baseline candidate\ncmp")
    assert (cmp.run_a.run_id, cmp.run_b.run_id) == (RUNS["baseline"], RUNS["candidate"])
    # q2 got worse on four scorers (boom: wrong, shorter, an error, judged no), q4 on two,
    # q3 on one (it is also longer and polite)
    assert [r.inputs["q"] for r in cmp.regressions] == ["q2", "q4", "q3"]
    q2 = cmp.regressions[0]
    assert set(q2.regressed) == {"exact", "fragile", "judged", "length"}
    assert q2.verdict("fragile", "b").kind == "error"
    assert "cannot score boom" in q2.verdict("fragile", "b").error
    assert set(cmp.regressions[2].improved) == {"length", "polite"}
    assert [r.inputs["q"] for r in cmp.improvements] == ["q5"]
    statuses = [r.status for r in cmp.rows]
    assert statuses == sorted(statuses, key=["regressed", "improved", "changed", "added", "removed", "same"].index)  # fmt: skip
    assert [r.inputs["q"] for r in cmp.rows if r.status in ("added", "removed")] == ["q6", "q0"]
    # "dup" is asked twice in each run: both pairs meet, nothing is added or removed for it
    assert [r.status for r in cmp.rows if r.inputs["q"] == "dup"] == ["same", "same"]

    scorers = {s.name: s for s in cmp.scorers}
    assert cmp.scorers[0].name == "exact"  # three regressions, the most
    exact_ = scorers["exact"]
    assert (exact_.mean_a, exact_.mean_b) == (7 / 8, 5 / 8)
    assert exact_.delta == pytest.approx(-0.25)
    assert (exact_.pass_rate_a, exact_.pass_rate_b) == (7 / 8, 5 / 8)
    assert (exact_.regressed, exact_.improved) == (3, 1)
    # the logged <scorer>/mean metrics are what the summary reports
    metrics = mlflow.MlflowClient().get_run(RUNS["candidate"]).data.metrics
    assert scorers["length"].mean_b == pytest.approx(metrics["length/mean"])
    assert (scorers["fragile"].errors_a, scorers["fragile"].errors_b) == (0, 1)
    assert scorers["fragile"].mean_b == 1.0  # MLflow leaves errors out of the mean
    assert scorers["polite"].pass_rate_b == pytest.approx(1 / 8)


def test_rationales_outputs_and_a_table_a_user_can_filter(shell):
    cmp = shell.run("%mlflow compare baseline candidate")
    q4 = next(r for r in cmp.regressions if r.inputs["q"] == "q4")
    assert q4.b.outputs == SCRIPT and q4.a.outputs == "answer q4"
    assert q4.verdict("judged", "a").rationale == f"{IMG} reads 'answer q4'"
    frame = cmp.to_pandas()
    assert len(frame) == 9  # 7 paired (q1–q5, dup twice), q6 added, q0 removed
    assert list(frame.columns[:4]) == ["status", "inputs", "outputs_a", "outputs_b"]
    row = frame[frame["inputs"] == {"q": "q2"}].iloc[0]
    assert (row["exact/a"], row["exact/b"], row["exact/change"]) == ("pass", "fail", "regressed")
    assert (row["length/a"], row["length/b"]) == (9.0, 4.0)
    assert row["fragile/b"] == "error"
    added = frame[frame["status"] == "added"].iloc[0]
    assert added["inputs"] == {"q": "q6"} and pd.isna(added["outputs_a"])


def test_text_tier_has_the_summary_and_regressions_first(shell):
    text = shell.run("%mlflow compare baseline candidate").to_text()
    lines = text.splitlines()
    assert (
        lines[0] == f"Compare A baseline ({RUNS['baseline']}) → B candidate ({RUNS['candidate']})"
    )
    assert "3 regressed" in lines[1] and "1 added" in lines[1] and "1 removed" in lines[1]
    exact_line = next(ln for ln in lines if ln.startswith("exact "))
    assert "0.875" in exact_line and "0.625" in exact_line and "-0.25" in exact_line
    first = lines.index("Regressed (3):")
    # the record's question as a user reads it, then both answers
    assert lines[first + 1].startswith("  v q2  ") and "exact pass → fail" in lines[first + 1]
    assert lines[first + 2].startswith("      A: ") and lines[first + 3].startswith("      B: ")
    assert lines.index("Improved (1):") > first


def _parse_html(markup: str) -> tuple[set[str], list[tuple[str, str | None]]]:
    """Elements and attributes a browser would create from ``markup``."""
    from html.parser import HTMLParser

    tags: set[str] = set()
    attrs: list[tuple[str, str | None]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, tag_attrs):
            tags.add(tag)
            attrs.extend(tag_attrs)

    Collect().feed(markup)
    return tags, attrs


def test_hostile_outputs_and_rationales_are_escaped_in_html(shell):
    view = shell.run("%mlflow compare baseline candidate")
    html = view.to_html()
    tags, attrs = _parse_html(html)
    assert tags <= {"style", "div", "span", "b", "table", "thead", "tbody", "tr", "th", "td", "details", "summary"}, tags  # fmt: skip
    assert not [a for a in attrs if a[0].startswith("on")]
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&quot;window.__xss=2&quot;&gt;" in html  # the rationale
    assert "<details><summary>rationales</summary>" in html
    assert html.index('data-status="regressed"') < html.index('data-status="improved"')


def test_html_is_bounded_and_states_the_rest(shell):
    view = shell.run("%mlflow compare baseline candidate")
    html = compare_html(view.comparison, max_rows=3)
    assert html.count("data-status=") == 3
    assert "Showing the first 3 of 9 records; 6 more not shown" in html


def test_bundle_carries_html_and_text_and_a_short_repr(shell):
    view = shell.run("%mlflow compare baseline candidate")
    bundle = view._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    assert repr(view).startswith(
        f"<CompareView {RUNS['baseline']} → {RUNS['candidate']}: 3 regressed"
    )
    display.set_mode("text")
    try:
        assert set(view._repr_mimebundle_()) == {"text/plain"}
    finally:
        display.set_mode("auto")


def test_runs_by_id_and_by_variable(shell):
    by_id = shell.run(f"%mlflow compare {RUNS['baseline']} {RUNS['candidate']}")
    shell.user_ns["before"] = SimpleNamespace(run_id=RUNS["baseline"])  # an EvalView, say
    shell.user_ns["after"] = mlflow.get_run(RUNS["candidate"])
    by_var = shell.run("%mlflow compare before after --experiment Default")
    assert [r.inputs for r in by_var.rows] == [r.inputs for r in by_id.rows]
    assert by_var.run_b.name == "candidate"


@pytest.mark.parametrize(
    "line, message",
    [
        ("basline candidate", r"No run 'basline' .*Did you mean 'baseline'\?"),
        ("baseline " + "0" * 32, r"No run '0{32}'"),
        ("baseline plain", r"Run plain \(\w+\) is not an evaluation run: it has no traces"),
        ("traced candidate", r"Run traced \(\w+\) is not an evaluation run: it has 1 trace but no"),
        # two runs named twin: the newest is taken (here a plain run, not an evaluation)
        ("twin candidate", r"Run twin \(\w{32}\) is not an evaluation run"),
        ("baseline baseline", r"Both sides are run baseline"),
        ("baseline candidate --experiment Defualt", r"No experiment 'Defualt'.*Did you mean"),
    ],
)
def test_compare_mistakes_are_one_usage_error(shell, line, message):
    with pytest.raises(UsageError, match=message):
        shell.run(f"%mlflow compare {line}")


def test_same_run_by_name_and_by_id_is_refused(shell):
    with pytest.raises(UsageError, match="Both sides are run baseline"):
        shell.run(f"%mlflow compare baseline {RUNS['baseline']}")


def test_unreachable_store_is_one_usage_error(shell):
    shell.run("%mlflow connect http://127.0.0.1:9")
    with pytest.raises(
        UsageError, match=r"Cannot read runs: http://127\.0\.0\.1:9 is not reachable"
    ):
        shell.run("%mlflow compare baseline candidate")


def test_compare_is_listed_and_completes(shell, capsys):
    shell.run("%mlflow --help")
    assert "compare" in capsys.readouterr().out
    assert shell.run("%mlflow compare --help") is None
    assert "RUN_A RUN_B" in capsys.readouterr().out
    assert "--experiment" in commands.completions("%mlflow compare ")


@pytest.mark.parametrize("by", ["id", "search"])
def test_records_whose_previews_are_not_whole_are_keyed_on_their_spans(shell, monkeypatch, by):
    """A preview holds 1,000 characters and, for a chat request, only the last user message:
    those records are read from their spans (by id when few, else by one more search), so
    near-identical inputs stay apart."""
    monkeypatch.setattr(compare, "SEARCH_SPANS_SHARE", 0 if by == "id" else 1_000)
    by_id: list[int] = []
    load_traces = datasets.load_traces
    monkeypatch.setattr(
        datasets,
        "load_traces",
        lambda client, ids: by_id.append(len(ids)) or load_traces(client, ids),
    )
    long = "x" * 1500

    def chat(history):
        return [
            {"role": "user", "content": history},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "and now?"},
        ]

    data = [{"inputs": {"q": long + end}} for end in "ab"]
    data += [{"inputs": {"q": "short", "messages": chat(h)}} for h in ("first", "second")]

    def predict(q, messages=None):
        return f"answer {len(messages or [])} {q[-1]}"

    def judge_run(name, verdict):
        @scorer(name="ok")
        def ok(inputs):
            return verdict(inputs)

        with mlflow.start_run(run_name=name, experiment_id="0"):
            mlflow.genai.evaluate(data=data, predict_fn=predict, scorers=[ok])

    judge_run("before", lambda inputs: True)
    judge_run("after", lambda inputs: inputs["q"].endswith("b") or "second" in str(inputs))
    cmp = shell.run("%mlflow compare before after")
    assert cmp.comparison.spans_loaded == 8  # every record here, in both runs
    assert by_id == ([4, 4] if by == "id" else [])
    assert [r.status for r in cmp.rows] == ["regressed", "regressed", "same", "same"]
    regressed = [(r.inputs["q"], r.inputs.get("messages")) for r in cmp.regressions]
    assert sorted(regressed, key=str) == sorted(
        [(long + "a", None), ("short", chat("first"))], key=str
    )


def test_traces_scored_by_both_runs_count_only_each_runs_own_feedback(shell):
    """``evaluate(data=traces)`` links the same traces to both runs; each trace then carries
    both runs' feedback, and each side reads only the feedback its run logged."""
    for i in range(3):
        with mlflow.start_span("agent") as span:
            span.set_inputs({"q": f"t{i}"})
            span.set_outputs(f"answer t{i}")
    mlflow.flush_trace_async_logging()
    traces = mlflow.search_traces(locations=["0"], filter_string="trace.name = 'agent'")

    def judge_run(name, verdict):
        @scorer(name="ok")
        def ok(inputs):
            return verdict(inputs)

        with mlflow.start_run(run_name=name, experiment_id="0"):
            mlflow.genai.evaluate(data=traces, scorers=[ok])

    judge_run("old judge", lambda inputs: True)
    judge_run("new judge", lambda inputs: inputs["q"] != "t1")
    cmp = shell.run("%mlflow compare 'old judge' 'new judge'")
    assert [(r.status, r.inputs["q"]) for r in cmp.rows][:1] == [("regressed", "t1")]
    assert [r.status for r in cmp.rows[1:]] == ["same", "same"]
    # MLflow 3.17 links the very same traces to both runs (3.5 on SQLite copies them instead)
    if Version(mlflow.__version__) >= Version("3.17"):
        assert all(r.a.trace_id == r.b.trace_id for r in cmp.rows)
    (ok,) = cmp.scorers
    assert (ok.mean_a, ok.mean_b) == (1.0, pytest.approx(2 / 3))


def test_cells_stay_left_aligned_in_jupyterlab_and_numbers_right(shell):
    html = shell.run("%mlflow compare baseline candidate").to_html()
    assert 'class="num"' in html
    assert_cells_align_in_jupyterlab(html)
