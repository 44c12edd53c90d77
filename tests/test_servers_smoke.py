"""The server fixtures work: a trace round-trips through mlflow server + PostgreSQL, and JupyterLab
renders in headless Chromium."""

from __future__ import annotations

import os
import uuid

import pytest


@pytest.mark.integration
def test_trace_round_trips_through_mlflow_server(mlflow_server, monkeypatch):
    import mlflow

    # set_tracking_uri mirrors itself into this variable; None restores "unset" exactly.
    previous = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(mlflow_server.uri)
    try:
        experiment_id = mlflow.create_experiment(f"smoke-{uuid.uuid4().hex[:8]}")
        # Through the environment rather than set_experiment, which has no public undo.
        monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", experiment_id)
        with mlflow.start_span(name="smoke") as span:
            span.set_inputs({"question": "ping"})
            span.set_outputs({"answer": "pong"})
        mlflow.flush_trace_async_logging()

        traces = mlflow.search_traces(locations=[experiment_id], return_type="list")

        assert [t.info.trace_id for t in traces] == [span.trace_id]
        assert traces[0].data.spans[0].outputs == {"answer": "pong"}
    finally:
        mlflow.set_tracking_uri(previous)


@pytest.mark.browser
def test_jupyterlab_renders_in_chromium(jupyter_lab, page):
    page.goto(f"{jupyter_lab.url}/lab?reset&token={jupyter_lab.token}")

    page.wait_for_selector("#jp-main-dock-panel", state="visible", timeout=60_000)
    page.wait_for_selector(".jp-Launcher", state="visible", timeout=60_000)
