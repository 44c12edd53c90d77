"""Integration tier for ``%mlflow compare``: two evaluation runs on a real `mlflow server` over
PostgreSQL, read back over HTTP (paged trace search, spans in batches where a preview is cut)."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError

pytestmark = pytest.mark.integration

EVALUATIONS = """
import mlflow
from mlflow.genai.scorers import scorer

@scorer
def exact(outputs, expectations):
    return outputs == expectations["expected_response"]

@scorer
def length(outputs):
    return len(outputs)

questions = ["q0", "q1", "q2", "x" * 1500]
data = [{"inputs": {"q": q}, "expectations": {"expected_response": q[:2]}} for q in questions]
for name, predict in [("before", lambda q: q[:2]), ("after", lambda q: "no" if q == "q1" else q[:2])]:
    with mlflow.start_run(run_name=name) as run:
        mlflow.genai.evaluate(data=data, predict_fn=predict, scorers=[exact, length])
    globals()[name] = run.info.run_id
"""


@pytest.fixture
def remote(shell, mlflow_server):
    shell.run(f"%mlflow connect {mlflow_server.uri} --experiment compare-integration")
    return shell


def test_compare_two_evaluation_runs_over_http(remote):
    remote.run(EVALUATIONS)
    cmp = remote.run("%mlflow compare before after")
    assert cmp.run_a.run_id == remote.user_ns["before"]
    assert [r.inputs["q"] for r in cmp.regressions] == ["q1"]
    assert cmp.regressions[0].regressed == ("exact",)
    assert [r.status for r in cmp.rows[1:]] == ["same"] * 3
    assert cmp.comparison.spans_loaded == 2  # only the record whose preview is cut, per run
    exact = next(s for s in cmp.scorers if s.name == "exact")
    assert (exact.mean_a, exact.mean_b, exact.delta) == (1.0, 0.75, -0.25)
    assert "1 regressed" in cmp.to_text()


def test_unknown_run_over_http_is_one_usage_error(remote):
    with pytest.raises(UsageError, match="No run 'nope'"):
        remote.run("%mlflow compare nope " + "0" * 32)
