"""Magics tier: what a user of a real agent meets in the loop — the request a traced cell records,
fresh reads right after traced cells, the newest trace, latency and numbers the root span states,
MLflow's whole refusal. A real shell on a real SQLite store; no network."""

from __future__ import annotations

import time

import mlflow
import pytest

from mlflow_magics.content import call_request


def _root(trace):
    return trace.data._get_root_span()


AGENT = """
import mlflow

@mlflow.trace(span_type="AGENT")
def agent(question: str, style: str = "short") -> str:
    return f"Answer ({style}): {question}"

def untraced(question: str) -> dict:
    with mlflow.start_span("llm", span_type="CHAT_MODEL") as s:
        s.set_inputs({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": question}]})
        s.set_attribute("mlflow.llm.model", "gpt-4o-mini")
        s.set_attribute(
            "mlflow.chat.tokenUsage",
            {"input_tokens": 1000, "output_tokens": 200, "total_tokens": 1200},
        )
        out = {"choices": [{"message": {"role": "assistant", "content": "Hi " + question}}]}
        s.set_outputs(out)
    return out
"""


def test_a_cell_calling_one_function_records_its_arguments_as_the_request(shell):
    """Before: a dataset of traced cells held {"cell": source}, which --predict refused; and a
    function around one autologged call gave the LLM call's {"model", "messages"}."""
    shell.run(AGENT)
    shell.run('%%mlflow trace --tag t=1\nagent("What is MLflow?")')
    shell.run('%%mlflow trace --tag t=1\nagent("What is a span?", style="long")')
    shell.run('%%mlflow trace --tag t=2\nuntraced(question="Why?")')
    # no call: the cell is the request (its value a dict too: MLflow's dataset schema code
    # raises on outputs that mix dicts and numbers, a fault of its own)
    shell.run("%%mlflow trace --tag t=2\nx = 1\n{'sum': x + 1}")
    other = shell.run("%mlflow dataset create other --from \"tag.t = '2'\"")
    inputs = sorted((r.inputs for r in other.records), key=str)
    assert inputs == [{"cell": "x = 1\n{'sum': x + 1}"}, {"question": "Why?"}]
    why = next(r for r in other.records if r.inputs == {"question": "Why?"})
    assert why.outputs["choices"][0]["message"]["content"] == "Hi Why?"
    ds = shell.run("%mlflow dataset create calls --from \"tag.t = '1'\"")
    assert sorted((r.inputs for r in ds.records), key=str) == [
        {"question": "What is MLflow?"},
        {"question": "What is a span?", "style": "long"},
    ]
    # and the records run: --predict agent takes them as keyword arguments
    shell.run("def exact(outputs) -> bool:\n    return 'Answer' in str(outputs)")
    view = shell.run("%%mlflow evaluate --data calls --predict agent\nexact")
    assert [r.error for r in view.rows] == [None, None]
    assert {r.verdicts["exact"].kind for r in view.rows} == {"pass"}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('agent("q")', {"question": "q"}),
        ('answer = agent("q", style="long")', {"question": "q", "style": "long"}),
        ('bot.reply(question="q")', {"question": "q"}),
        ("agent(question)", None),  # a variable, not a literal: nothing is evaluated
        ('agent("a")\nagent("b")', None),  # two calls: no one entry call
        ('missing("q")', None),
        ('agent(*["q"])', None),
        ('%time agent("q")', None),  # a magic line is not a call of the notebook's
    ],
)
def test_call_request_binds_only_literal_single_calls(source, expected):
    def agent(question, style="short"):
        return question

    class Bot:
        def reply(self, question):
            return question

    assert call_request(source, {"agent": agent, "bot": Bot()}) == expected


def test_reads_right_after_traced_cells_see_them(shell):
    """Before: `%mlflow traces` right after traced cells said "No traces match" while MLflow's
    batch (about 5 s on SQLite) still held them."""
    shell.run(AGENT)
    for q in ("a", "b", "c"):
        shell.run(f'%%mlflow trace --tag fresh=yes --quiet\nagent("{q}")')
    started = time.monotonic()
    table = shell.run("%mlflow traces --tag fresh=yes")
    assert table.count == 3
    assert time.monotonic() - started < 3  # waited for the queue, not for MLflow's 5 s batch
    assert sorted(r.request_preview for r in table.rows) == ["a", "b", "c"]
    ds = shell.run("%mlflow dataset create fresh --from \"tag.fresh = 'yes'\"")
    assert ds.merge.added == 3


def test_show_last_is_the_newest_trace_of_the_kernel(shell):
    """Before: `show last` was the last traced cell, not a trace made after it."""
    shell.run(AGENT)
    shell.run('%%mlflow trace --quiet\nagent("in a cell")')
    shell.run('agent("outside a traced cell")')
    view = shell.run("%mlflow show last")
    assert view.data.request_text == "outside a traced cell"


def test_the_root_span_states_the_cell_and_its_time(shell, monkeypatch):
    """Before: the recorded execution_count was one higher than the cell's [n]; a raising cell
    ended after IPython had printed the traceback (seconds over a 20 ms call)."""
    shell.run("%%mlflow trace --quiet\n1 + 1")
    finished = shell.run("_mlflow_last = None")
    n = shell.execution_count
    shell.run("%%mlflow trace --quiet\n2 + 2")
    root = _root(shell.magics_manager.registry["MlflowMagics"].tracer.last.trace)
    assert root.get_attribute("mlflow_magics.execution_count") == n
    tb = shell.InteractiveTB

    def slow_traceback(*args, **kwargs):
        time.sleep(0.6)
        return original(*args, **kwargs)

    original = tb.structured_traceback
    monkeypatch.setattr(tb, "structured_traceback", slow_traceback)
    result = shell.run_cell("%%mlflow trace --quiet\nraise ValueError('boom')")
    assert isinstance(result.error_in_exec, ValueError)
    trace = shell.magics_manager.registry["MlflowMagics"].tracer.last.trace
    root = _root(trace)
    assert (root.end_time_ns - root.start_time_ns) / 1e6 < 400  # the 600 ms print excluded
    assert finished is None


def test_a_traced_cell_shows_the_cost_the_store_will_record(shell):
    """Before: the view under a cell showed no cost (the store prices spans when it gets them)."""
    shell.run(AGENT)
    shell.run("%%mlflow trace --quiet\nuntraced('q')")
    magics = shell.magics_manager.registry["MlflowMagics"]
    from mlflow_magics.trace_data import trace_data

    in_cell = trace_data(magics.tracer.last.trace).cost
    mlflow.flush_trace_async_logging()
    stored = mlflow.MlflowClient().get_trace(magics.tracer.last.trace_id).info.cost
    assert in_cell and stored and in_cell == pytest.approx(stored["total_cost"])


def test_mlflow_refusals_keep_their_correct_example(shell):
    """Before: MLflow's refusal was cut at its first line, "… Correct example:"."""
    shell.run(AGENT)
    shell.run("rows = [{'inputs': {'query': 'q'}}]")
    shell.run("def exact(outputs) -> bool:\n    return True")
    with pytest.raises(Exception) as refused:
        shell.run("%%mlflow evaluate --data rows --predict agent\nexact")
    assert '"question"' in str(refused.value) or "'question'" in str(refused.value)


def test_the_prompt_listing_shows_aliases_and_the_latest_version_as_models_do(shell):
    """Before: `%mlflow prompts` listed names only, while `%mlflow models` had aliases."""
    import mlflow.genai

    mlflow.genai.register_prompt(name="qa-prompt", template="Answer {{q}}")
    mlflow.genai.register_prompt(name="qa-prompt", template="Answer briefly {{q}}")
    mlflow.genai.set_prompt_alias("qa-prompt", alias="production", version=1)
    board = shell.run("%mlflow prompts")
    line = next(ln for ln in board.to_text().splitlines() if "qa-prompt" in ln)
    assert "production→v1" in line and "latest v2" in line
    assert "latest → v2" in board.to_html()
