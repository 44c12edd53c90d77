"""Integration tier: the same magics against a real `mlflow server` over PostgreSQL."""

from __future__ import annotations

import mlflow
import pytest
from IPython.core.error import UsageError

pytestmark = pytest.mark.integration


@pytest.fixture
def remote(shell, mlflow_server):
    shell.run(f"%mlflow connect {mlflow_server.uri} --experiment integration")
    return shell


def test_connect_and_status_over_http(remote, mlflow_server):
    view = remote.run("%mlflow status")
    assert view.status.tracking_uri == mlflow_server.uri
    assert view.status.experiment_name == "integration"
    assert view.status.experiment_url.startswith(f"{mlflow_server.uri}/#/experiments/")
    assert f'href="{mlflow_server.uri}/#/experiments/' in view.to_html()
    assert view.status.problem is None


def test_traced_cell_lands_on_the_server_with_nested_spans(remote, mlflow_server):
    remote.run("import mlflow")
    remote.run("@mlflow.trace(span_type='TOOL')\ndef tool(x):\n    return x * 2\n")
    assert remote.run("%%mlflow trace --quiet --name remote --tag where=pg\ntool(21)\n") == 42
    trace_id = remote.run("%mlflow show last").trace_id
    mlflow.flush_trace_async_logging()
    trace = mlflow.MlflowClient(mlflow_server.uri).get_trace(trace_id)
    names = [s.name for s in trace.data.spans]
    assert sorted(names) == ["remote", "tool"]
    assert trace.info.tags["where"] == "pg"
    # and %mlflow show reads it back from the server (not from the kernel's memory)
    remote.magics_manager.registry["MlflowMagics"].tracer.recent.clear()
    view = remote.run(f"%mlflow show {trace_id}")
    assert view.data.span_count == 2
    assert "remote [CHAIN]" in view.to_text()


def test_unknown_trace_over_http_is_one_usage_error(remote):
    with pytest.raises(UsageError, match="No trace tr-0000"):
        remote.run("%mlflow show tr-00000000000000000000000000000000")


def test_mlflow_own_display_does_not_show_a_second_view(remote, capsys):
    """With a tracking server, MLflow's own post-cell hook displays traces (an iframe in
    Jupyter, ``Trace(trace_id=…)`` in a terminal). A traced cell shows our view only; a trace
    made in an untraced cell is left to MLflow."""
    from mlflow.tracing.display import IPythonTraceDisplayHandler

    # MLflow's handler is a process singleton hooked to the first shell it saw, and its
    # exporter keeps a reference: rebuild both so they belong to this test's shell.
    IPythonTraceDisplayHandler._instance = None
    IPythonTraceDisplayHandler.enable()
    mlflow.tracing.reset()
    remote.run("import mlflow")
    remote.run("@mlflow.trace\ndef f():\n    return 1\n")
    capsys.readouterr()
    remote.run("%%mlflow trace\nf()\n")
    out = capsys.readouterr().out
    assert "Trace tr-" in out  # ours
    assert out.count("Trace tr-") == 1
    assert "Trace(trace_id=" not in out and "<iframe" not in out


def test_experiment_is_created_on_the_server(remote, mlflow_server):
    remote.run("%mlflow experiment second one")
    exp = mlflow.MlflowClient(mlflow_server.uri).get_experiment_by_name("second one")
    assert exp is not None and exp.lifecycle_stage == "active"
