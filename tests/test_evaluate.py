"""Evaluation from a cell (``%%mlflow evaluate``): scorers read from the cell, MLflow's real
``mlflow.genai.evaluate`` underneath, the live grid's rows, failing rows into a dataset, and
the mistakes a user makes. Magics tier on SQLite; integration over the PostgreSQL server.

LLM judges run MLflow's real ``openai:/`` judge path against ``tests/judge_server.py``, an
OpenAI-compatible server on 127.0.0.1 that stands in for an LLM (none is reachable here): it
answers "no" when the judged text contains ``JUDGE_SAYS_NO``, "yes" otherwise.
"""

from __future__ import annotations

import os
import signal
import socket
import time

import mlflow
import pandas as pd
import pytest
from IPython.core.error import UsageError
from judge_server import FAIL_MARKER, JudgeServer
from static_html import assert_cells_align_in_jupyterlab
from test_magics import _parse_html

from mlflow_magics import scoring
from mlflow_magics.views import display

SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=2">'
JUDGE = "openai:/gpt-4o-mini"


@pytest.fixture
def judge(monkeypatch):
    """The stand-in LLM judge (see the module docstring), wired through OPENAI_BASE_URL."""
    server = JudgeServer().start()
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.delenv("OPENAI_API_BASE", raising=False)
    # MLflow looks judge models up in a remote catalog first; with no network that costs
    # ~7 s of retries once per process. Empty means "use the bundled catalog" (air-gapped).
    monkeypatch.setenv("MLFLOW_MODEL_CATALOG_URI", "")
    scoring._reachable.clear()
    yield server
    server.stop()


def records(n: int = 6) -> list[dict]:
    """Questions and answers; every third answer carries the judge's failing marker."""
    return [
        {
            "inputs": {"question": f"question {i}"},
            "outputs": f"answer {i}" + (f" {FAIL_MARKER}" if i % 3 == 0 else ""),
        }
        for i in range(n)
    ]


CODE_SCORERS = """
from mlflow.genai.scorers import scorer
from mlflow.entities import Feedback

@scorer
def short(outputs):
    return len(str(outputs)) < 12

@scorer
def words(outputs):
    return float(len(str(outputs).split()))
"""


def by_question(view) -> dict[str, object]:
    return {r.inputs["question"]: r for r in view.rows}


# -- the cell form, with a judge and code scorers -------------------------------------------


def test_cell_runs_judge_and_code_scorers_and_rows_match_mlflows_result(shell, judge):
    shell.user_ns["data"] = records(6)
    shell.run(CODE_SCORERS)
    view = shell.run(
        f"%%mlflow evaluate --data data --judge {JUDGE} --run-name first\nSafety()\nshort\nwords\n"
    )
    assert view.status == "done" and len(view.rows) == 6 and view.total == 6
    assert view.scorer_names == ["safety", "short", "words"]
    rows = by_question(view)
    for i in range(6):
        safety = rows[f"question {i}"].verdicts["safety"]
        assert safety.kind == ("fail" if i % 3 == 0 else "pass")
        assert safety.rationale  # the judge's rationale, shown when a row expands
    assert FAIL_MARKER in rows["question 0"].verdicts["safety"].rationale
    assert rows["question 1"].verdicts["words"].score == 2.0
    # the summary is MLflow's own aggregate, and the result is MLflow's EvaluationResult
    assert view.metrics == pytest.approx(
        {"safety/mean": 4 / 6, "short/mean": 4 / 6, "words/mean": 14 / 6}
    )
    assert type(view.result).__name__ == "EvaluationResult"
    assert len(view.to_pandas()) == 6
    run = mlflow.get_run(view.run_id)
    assert run.info.run_name == "first" and run.info.status == "FINISHED"
    assert run.data.metrics["safety/mean"] == pytest.approx(4 / 6)
    # the judge got the model --judge named
    assert {r["model"] for r in judge.requests} == {"gpt-4o-mini"}
    assert "safety: 67% pass (4/6)" in view._text()


def test_builtin_scorers_need_no_import_and_bare_classes_and_functions_work(shell, judge):
    assert "Safety" not in shell.user_ns and "Guidelines" not in shell.user_ns
    shell.user_ns["data"] = records(3)
    shell.run("def shouty(outputs):\n    return str(outputs).isupper()\n")
    view = shell.run(
        f"%%mlflow evaluate --data data --judge {JUDGE}\n"
        "# a comment line is skipped\n"
        "Safety\n"
        'Guidelines(name="concise", guidelines="The answer is under 100 words.")\n'
        "shouty\n"
    )
    assert view.scorer_names == ["safety", "concise", "shouty"]
    assert all(r.verdicts["shouty"].kind == "fail" for r in view.rows)
    assert [r.verdicts["concise"].kind for r in view.rows].count("fail") == 1


def test_line_form_with_predict_scores_the_functions_outputs(shell):
    shell.run(CODE_SCORERS)
    shell.run("def agent(question):\n    return question.upper()\n")
    shell.user_ns["qs"] = pd.DataFrame({"inputs": [{"question": f"q{i}"} for i in range(4)]})
    view = shell.run('%mlflow evaluate --data qs --predict agent --scorers "short, words"')
    assert sorted(r.outputs for r in view.rows) == ["Q0", "Q1", "Q2", "Q3"]
    assert all(r.verdicts["short"].kind == "pass" for r in view.rows)
    # each prediction is a trace of the run, opened from the grid
    trace_view = view.open(view.rows[0].trace_id)
    assert trace_view.data.spans["name"][0] == "agent"


def test_data_by_dataset_name_dataset_view_and_trace_table(shell):
    shell.run(CODE_SCORERS)
    for i in range(3):
        with mlflow.start_span("answer", span_type="AGENT") as span:
            span.set_inputs({"question": f"question {i}"})
            span.set_outputs(f"answer {i}")
    mlflow.flush_trace_async_logging()
    ds = shell.run("%mlflow dataset create qa --from all")
    assert ds.merge.added == 3
    shell.user_ns["ds"] = ds
    shell.run("t = %mlflow traces")  # before the runs below add their own traces
    by_table = shell.run('%mlflow evaluate --data t --scorers "short"')
    by_name = shell.run('%mlflow evaluate --data qa --scorers "short"')
    by_view = shell.run('%mlflow evaluate --data ds --scorers "short"')
    for view in (by_name, by_view, by_table):
        assert view.total == 3 and len(view.rows) == 3
        assert sorted(r.outputs for r in view.rows) == ["answer 0", "answer 1", "answer 2"]
    assert by_name.data_label == "qa" and by_table.data_label == "t"


# -- rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Safty()", r"line 1: unknown name `Safty` in `Safty\(\)`; did you mean `Safety`\?"),
        ("short\nshort(", r"line 2 `short\(` is not a Python expression"),
        ("Guidelines(nme='x')", r"line 1 `Guidelines\(nme='x'\)` raised"),
        ("42", r"line 1 `42` is a int, not a scorer"),
        ("short\nshort", r"Two scorers are named 'short'"),
        ("# only a comment", r"No scorers"),
    ],
)
def test_bad_scorer_lines_are_one_sentence_naming_the_line(shell, body, message):
    shell.run(CODE_SCORERS)
    shell.user_ns["data"] = records(2)
    with pytest.raises(UsageError, match=message):
        shell.run(f"%%mlflow evaluate --data data\n{body}\n")
    assert mlflow.search_runs(search_all_experiments=True).empty  # nothing ran


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            '--data nope --scorers "short"',
            r"--data nope: no variable of that name in this notebook, and no dataset 'nope'",
        ),
        ('--data n --scorers "short"', r"`n` is a int; --data takes a dataset name"),
        ('--data empty --scorers "short"', r"`empty` is an empty list"),
        ('--data data --predict missing --scorers "short"', r"--predict missing: no function"),
        ('--data data --predict n --scorers "short"', r"\(it is a int\)"),
        ("--data data", r"needs --scorers"),
        ('--data data --scorers "short,"', None),
        ('--data data --scorers "short(("', r"is not a comma-separated list"),
        ('--data data --max-workers 0 --scorers "short"', r"--max-workers"),
    ],
)
def test_bad_evaluate_lines(shell, line, message):
    shell.run(CODE_SCORERS)
    shell.user_ns.update(data=records(2), n=3, empty=[])
    if message is None:  # a trailing comma is still a list of one scorer
        assert len(shell.run(f"%mlflow evaluate {line}").rows) == 2
        return
    with pytest.raises(UsageError, match=message):
        shell.run(f"%mlflow evaluate {line}")


def test_a_scorer_raising_on_one_record_marks_that_cell_and_the_run_completes(shell):
    shell.run(
        "from mlflow.genai.scorers import scorer\n"
        "@scorer\n"
        "def picky(inputs, outputs):\n"
        "    if inputs['question'] == 'question 2':\n"
        "        raise ValueError('cannot judge question 2')\n"
        "    return True\n"
    )
    shell.user_ns["data"] = records(5)
    view = shell.run("%%mlflow evaluate --data data\npicky\n")
    assert view.status == "done" and len(view.rows) == 5
    bad = by_question(view)["question 2"].verdicts["picky"]
    assert bad.kind == "error" and "cannot judge question 2" in bad.error
    assert [r.verdicts["picky"].kind for r in view.rows].count("pass") == 4
    assert view.summary[0].errors == 1
    assert "⚠ error" in view._text()
    assert mlflow.get_run(view.run_id).info.status == "FINISHED"


def test_unreachable_judge_is_one_sentence_before_anything_runs(shell, monkeypatch):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{dead}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    shell.user_ns["data"] = records(3)
    started = time.monotonic()
    with pytest.raises(
        UsageError,
        match=rf"The judge {JUDGE} at http://127.0.0.1:{dead}/v1 is unreachable \(.*refused.*\)",
    ):
        shell.run(f"%%mlflow evaluate --data data --judge {JUDGE}\nSafety()\n")
    assert time.monotonic() - started < 5
    assert mlflow.search_runs(search_all_experiments=True).empty
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(UsageError, match=rf"The judge {JUDGE} needs OPENAI_API_KEY"):
        shell.run(f"%%mlflow evaluate --data data --judge {JUDGE}\nSafety()\n")


def test_explicit_judge_model_wins_over_the_judge_flag(shell, judge):
    shell.user_ns["data"] = records(2)
    shell.run(
        f"%%mlflow evaluate --data data --judge {JUDGE}\n"
        "Safety(model='openai:/gpt-4.1-nano')\n"
        "RelevanceToQuery()\n"
    )
    assert {r["model"] for r in judge.requests} == {"gpt-4.1-nano", "gpt-4o-mini"}


# -- failing rows → dataset ---------------------------------------------------------------------


def test_failing_rows_grow_a_dataset_idempotently(shell, judge):
    shell.user_ns["data"] = records(6)
    shell.run(CODE_SCORERS)
    view = shell.run(f"%%mlflow evaluate --data data --judge {JUDGE}\nSafety()\nwords\n")
    failing = view.failing()
    assert sorted(r.inputs["question"] for r in failing) == ["question 0", "question 3"]
    merge = view.add_failing_to_dataset("hard-cases")
    assert (merge.added, merge.already_present) == (2, 0)
    assert "2 failing rows added" in view.note
    shown = shell.run("%mlflow dataset show hard-cases")
    assert sorted(r.inputs["question"] for r in shown.records) == ["question 0", "question 3"]
    again = view.add_failing_to_dataset("hard-cases")
    assert (again.added, again.already_present) == (0, 2)
    with pytest.raises(Exception, match="No scorer named 'nope'"):
        view.failing(["nope"])
    # the widget's button is the same call
    view.widget  # noqa: B018 - builds the widget
    view._control_widget.act({"action": "failing_to_dataset", "name": "hard-cases-2"})
    assert view._control_widget.error == ""
    assert "hard-cases-2" in view._control_widget.note


# -- interrupting ----------------------------------------------------------------------------------


def test_ctrl_c_keeps_finished_rows_and_marks_the_run_killed(shell):
    shell.user_ns["data"] = records(40)
    shell.user_ns["interrupt_after"] = {"n": 0}
    shell.run(
        "import os, signal, time\n"
        "from mlflow.genai.scorers import scorer\n"
        "@scorer\n"
        "def slow(outputs):\n"
        "    interrupt_after['n'] += 1\n"
        "    if interrupt_after['n'] == 6:\n"
        "        os.kill(os.getpid(), signal.SIGINT)  # what Jupyter's interrupt button does\n"
        "    time.sleep(0.05)\n"
        "    return True\n"
    )
    magics = shell.magics_manager.registry["MlflowMagics"]
    with pytest.raises(KeyboardInterrupt):
        shell.run("%%mlflow evaluate --data data --max-workers 2 --run-name stopped\nslow\n")
    view = magics.last_evaluation
    assert view.status == "interrupted"
    assert 0 < len(view.rows) < 40
    assert f"{len(view.rows)} records scored, {40 - len(view.rows)} left unscored" in view.note
    assert all(r.verdicts["slow"].kind == "pass" for r in view.rows)
    run = mlflow.get_run(view.run_id)
    assert run.info.status == "KILLED" and run.info.run_name == "stopped"
    assert mlflow.active_run() is None
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    os.environ.pop("MLFLOW_GENAI_EVAL_MAX_WORKERS", None)


# -- tiers ---------------------------------------------------------------------------------------


def test_hostile_outputs_and_rationales_are_escaped_in_every_tier(shell):
    shell.user_ns["data"] = [
        {"inputs": {"question": SCRIPT}, "outputs": IMG},
        {"inputs": {"question": "fine"}, "outputs": "fine"},
    ]
    shell.run(
        "from mlflow.genai.scorers import scorer\n"
        "from mlflow.entities import Feedback\n"
        "@scorer\n"
        "def hostile(outputs):\n"
        f"    return Feedback(value=False, rationale={SCRIPT!r} + {IMG!r})\n"
    )
    view = shell.run("%%mlflow evaluate --data data\nhostile\n")
    html = view._html()
    tags, attrs = _parse_html(html)
    assert tags <= {"style", "div", "strong", "table", "tr", "th", "td", "details", "summary", "a"}
    assert not [a for a, _ in attrs if a.startswith("on")]
    assert "&lt;script&gt;" in html and "&lt;img" in html
    assert "mathjax_ignore" in html  # "$5 and $10" in an output is not typeset as LaTeX
    payload = view.widget.children[0].rows  # the widget sets these as textContent
    assert any(SCRIPT in r["v"]["hostile"][2] for r in payload)


def test_tiers_bound_long_runs_and_text_mode_has_no_widget(shell):
    shell.run(CODE_SCORERS)
    shell.user_ns["data"] = records(70)
    view = shell.run('%mlflow evaluate --data data --scorers "short"')
    assert "… 20 more rows" in view._html()
    assert "… 50 more rows" in view._text()
    assert len(view._text().splitlines()) < 30
    display.set_mode("text")
    try:
        assert set(view._repr_mimebundle_()) == {"text/plain"}
    finally:
        display.set_mode("auto")
    assert repr(view).startswith("<EvalView done 70/70")


def test_widget_rows_and_summary_follow_the_run(shell, judge):
    shell.user_ns["data"] = records(4)
    view = shell.run(f"%%mlflow evaluate --data data --judge {JUDGE}\nSafety()\n")
    w = view.widget.children[0]
    assert w.header["status"] == "done" and w.header["done"] == 4 and w.header["total"] == 4
    assert w.scorers[0]["name"] == "safety" and w.scorers[0]["failed"] == 2
    assert len(w.rows) == 4
    first_fail = next(r for r in w.rows if r["v"]["safety"][0] == "fail")
    assert FAIL_MARKER in first_fail["v"]["safety"][2]
    # a question and its answer read as a conversation when the row opens
    asked = first_fail["content"]["input_messages"][0]
    assert asked["role"] == "user" and asked["text"] == first_fail["inputs"]
    assert first_fail["content"]["output_messages"][0]["role"] == "assistant"
    w.act({"action": "open", "trace_id": first_fail["trace_id"]})
    assert w.error == "" and len(view.detail_children) == 1
    w.act({"action": "nope"})
    assert "Unknown evaluation action" in w.error


def test_records_arrive_one_by_one_while_mlflow_runs(store_uri):
    """The service's per-record callback: each record is reported once, before the run ends."""
    from mlflow.genai.scorers import scorer

    mlflow.set_tracking_uri(store_uri)
    seen: list[tuple[float, str]] = []

    @scorer
    def slowish(outputs):
        time.sleep(0.02)
        return True

    data = scoring.EvalData(records(8), 8, "data")
    outcome = scoring.run_evaluation(
        data,
        [slowish],
        max_workers=2,
        on_record=lambda r: seen.append((time.monotonic(), r.inputs["question"])),
    )
    ended = time.monotonic()
    assert sorted(q for _, q in seen) == sorted(f"question {i}" for i in range(8))
    assert seen[0][0] < ended - 0.02  # the first row came before the run ended
    assert outcome.result is not None and not outcome.interrupted
    assert mlflow.get_run(outcome.run_id).info.status == "FINISHED"
    mlflow.set_tracking_uri(None)


# -- integration -----------------------------------------------------------------------------


@pytest.mark.integration
def test_evaluate_over_the_server(shell, mlflow_server, judge):
    shell.run(f"%mlflow connect {mlflow_server.uri} --experiment evaluate-it")
    shell.run(CODE_SCORERS)
    shell.user_ns["data"] = records(6)
    view = shell.run(f"%%mlflow evaluate --data data --judge {JUDGE}\nSafety()\nshort\n")
    assert len(view.rows) == 6 and view.status == "done"
    assert view.run_url and view.run_url.startswith(mlflow_server.uri)
    assert mlflow.get_run(view.run_id).data.metrics["safety/mean"] == pytest.approx(4 / 6)
    merge = view.add_failing_to_dataset(f"it-hard-{time.time_ns()}")
    assert merge.added == 2


def test_sqlite_store_evaluates_a_few_records_at_a_time(monkeypatch):
    """MLflow's default of 10 workers thrashes SQLite's single writer (70 records: 122 s
    instead of 6 s); on SQLite we default lower unless the user said otherwise."""
    monkeypatch.delenv("MLFLOW_GENAI_EVAL_MAX_WORKERS", raising=False)
    assert scoring.workers_for(None, "sqlite:///mlflow.db") == scoring.SQLITE_WORKERS
    assert scoring.workers_for(3, "sqlite:///mlflow.db") == 3
    assert scoring.workers_for(None, "http://127.0.0.1:5000") is None
    monkeypatch.setenv("MLFLOW_GENAI_EVAL_MAX_WORKERS", "12")
    assert scoring.workers_for(None, "sqlite:///mlflow.db") is None


def test_predict_errors_show_on_their_row_and_mlflow_refusals_are_one_sentence(shell):
    shell.run(CODE_SCORERS)
    shell.run(
        "def agent(question):\n"
        "    if question == 'q1':\n"
        "        raise RuntimeError('the model timed out')\n"
        "    return 'ok'\n"
    )
    shell.user_ns["qs"] = [{"inputs": {"question": f"q{i}"}} for i in range(3)]
    view = shell.run('%mlflow evaluate --data qs --predict agent --scorers "short"')
    assert len(view.rows) == 3
    broken = next(r for r in view.rows if r.inputs == {"question": "q1"})
    assert "the model timed out" in broken.error
    assert "predict error: " in view._text() and "the model timed out" in view._html()
    shell.user_ns["bad"] = ["just a string", "another"]
    with pytest.raises(UsageError, match=r"^MLflow refused: .*dictionar"):
        shell.run('%mlflow evaluate --data bad --scorers "short"')
    magics = shell.magics_manager.registry["MlflowMagics"]
    assert magics.last_evaluation.status == "failed"
    assert mlflow.active_run() is None


def test_a_dead_tracking_server_is_one_sentence_before_anything_runs(shell):
    shell.run(CODE_SCORERS)
    shell.user_ns["data"] = records(2)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    shell.run(f"%mlflow connect http://127.0.0.1:{dead}")
    with pytest.raises(
        UsageError, match=rf"^Cannot evaluate: http://127.0.0.1:{dead} is not reachable"
    ):
        shell.run("%%mlflow evaluate --data data\nshort\n")


def test_grid_cells_stay_left_aligned_in_jupyterlab(shell):
    shell.run(CODE_SCORERS)
    shell.user_ns["data"] = records(4)
    view = shell.run('%mlflow evaluate --data data --scorers "short, words"')
    assert_cells_align_in_jupyterlab(view._html())
