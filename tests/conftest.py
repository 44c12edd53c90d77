"""Shared fixtures: a fresh IPython shell per test with the extension loaded and a real
SQLite MLflow store in ``tmp_path``. Server fixtures (PostgreSQL-backed ``mlflow server``,
JupyterLab, Chromium) live in ``servers.py``."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

pytest_plugins = ["servers"]

# A run started in the background by a non-interactive shell (scripts/test runs scripts/compat
# so) inherits SIGINT ignored, and Python then never raises KeyboardInterrupt; the tests that
# press Ctrl-C need the handler a notebook kernel has.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# No network: MLflow's model catalog (the cost of autologged LLM spans) comes from its bundle, not
# github.com, and its usage telemetry stays off. Set before anything imports MLflow.
os.environ.setdefault("MLFLOW_MODEL_CATALOG_URI", "")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")


def pytest_collection_modifyitems(items):
    """Browser tests last: Playwright's sync API keeps an asyncio loop running in this thread
    while its (session-wide) browser is open, and IPython's top-level ``await`` in the shell
    tests needs to start a loop of its own."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


class TestingShell(InteractiveShell):
    """An InteractiveShell without history whose ``run`` re-raises the cell's error."""

    def run(self, cell: str):
        """Run ``cell`` as a user would; raise what the user would see; return its value."""
        result = self.run_cell(cell, store_history=True)
        result.raise_error()
        return result.result


@pytest.fixture(scope="session")
def store_template(tmp_path_factory) -> Path:
    """An SQLite MLflow store with its schema migrated once; tests copy it (~1 s saved each)."""
    import mlflow

    path = tmp_path_factory.mktemp("template") / "mlflow.db"
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{path}")
    client.search_experiments()
    return path


@pytest.fixture
def store_uri(tmp_path, store_template) -> str:
    target = tmp_path / "mlflow.db"
    shutil.copy(store_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def shell(tmp_path, store_uri, monkeypatch):
    """A fresh shell, extension loaded, connected to a fresh SQLite store in ``tmp_path``."""
    import mlflow
    from mlflow.tracking import fluent

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    os.environ.pop("MLFLOW_EXPERIMENT_ID", None)  # mlflow.set_experiment sets it; no undo
    fluent._active_experiment_id = None
    config = Config()
    config.HistoryManager.enabled = False
    TestingShell.clear_instance()
    ip = TestingShell.instance(config=config)
    ip.run("%load_ext mlflow_magics")
    ip.run(f"%mlflow connect {store_uri}")
    yield ip
    ip.run_cell("%unload_ext mlflow_magics")
    # Each shell registers an atexit hook that holds it (and its namespace) alive and runs
    # gc.collect() at exit: a few hundred shells made interpreter exit take minutes.
    atexit.unregister(ip.atexit_operations)
    mlflow.set_tracking_uri(None)
    os.environ.pop("MLFLOW_EXPERIMENT_ID", None)
    fluent._active_experiment_id = None
    TestingShell.clear_instance()


def traces_in(uri: str) -> list:
    """Every trace in the store at ``uri``, spans included, newest first."""
    import mlflow

    mlflow.flush_trace_async_logging()
    client = mlflow.MlflowClient(tracking_uri=uri)
    exps = [e.experiment_id for e in client.search_experiments()]
    infos = client.search_traces(experiment_ids=exps, max_results=500)
    return [client.get_trace(t.info.trace_id) for t in infos]


@pytest.fixture
def make_trace(store_uri):
    """Build a real MLflow trace from a nested spec and read it back from the store.

    A node is ``{"name", "type", "inputs", "outputs", "attributes", "status", "children"}``;
    ``"ms": (start, end)`` pins its times (milliseconds from a fixed origin), so durations and
    deltas are exact.
    """
    import mlflow

    mlflow.set_tracking_uri(store_uri)
    origin = 1_700_000_000_000_000_000

    def build(spec: dict):
        def add(node, parent):
            times = node.get("ms")
            span = mlflow.start_span_no_context(
                node["name"],
                span_type=node.get("type", "UNKNOWN"),
                parent_span=parent,
                inputs=node.get("inputs"),
                attributes=node.get("attributes"),
                start_time_ns=origin + int(times[0] * 1e6) if times else None,
            )
            for child in node.get("children", []):
                add(child, span)
            if "outputs" in node:
                span.set_outputs(node["outputs"])
            end = origin + int(times[1] * 1e6) if times else None
            span.end(status=node.get("status", "OK"), end_time_ns=end)
            return span

        root = add(spec, None)
        mlflow.flush_trace_async_logging()
        return mlflow.get_trace(root.trace_id)

    yield build
    mlflow.set_tracking_uri(None)
