"""Every private MLflow name the package uses (mlflow_magics/mlflow_internals.py), each checked
against the installed MLflow, so an upgrade that moves one fails here by name."""

from __future__ import annotations

import time

import mlflow
import pytest

from mlflow_magics import mlflow_internals as internals


@pytest.fixture
def store(store_uri):
    mlflow.set_tracking_uri(store_uri)
    yield mlflow.MlflowClient()
    mlflow.set_tracking_uri(None)


def test_waiting_for_exports_takes_only_what_is_pending(store):
    with mlflow.start_span("warm-up"):
        pass
    internals.wait_for_exports()
    with mlflow.start_span("queued") as span:
        span.set_inputs({"q": 1})
    assert internals.pending_exports()  # MLflow batches it: not in the store yet
    started = time.monotonic()
    assert internals.wait_for_exports(timeout=10)
    assert time.monotonic() - started < 2  # MLflow's own batch waits up to 5 s
    assert internals.pending_exports() == 0
    assert store.get_trace(span.trace_id).data.spans[0].inputs == {"q": 1}
    started = time.monotonic()
    internals.wait_for_exports()
    assert time.monotonic() - started < 0.05  # nothing pending: no flush's thread restart


def test_a_partial_trace_is_read_as_far_as_it_goes(store):
    with mlflow.start_span("root") as root:
        pass
    internals.wait_for_exports()
    trace = internals.partial_trace(store, root.trace_id)
    assert trace is not None and trace.data.spans[0].name == "root"
    assert internals.partial_trace(store, "tr-" + "0" * 32) is None


def test_trace_info_sees_assessments_logged_since(store):
    with mlflow.start_span("root") as root:
        pass
    internals.wait_for_exports()
    mlflow.log_feedback(trace_id=root.trace_id, name="ok", value=True)
    info = internals.trace_info(store, root.trace_id)
    assert [a.name for a in info.assessments] == ["ok"]


def test_restarting_a_span_clock_moves_its_start_to_now(store):
    span = mlflow.start_span_no_context("late")
    before = span.start_time_ns
    time.sleep(0.05)
    internals.restart_span_clock(span)
    assert span.start_time_ns - before >= 40_000_000
    span.end()


def test_price_uses_mlflows_model_catalog():
    cost = internals.price("gpt-4o-mini", {"input_tokens": 1000, "output_tokens": 0})
    assert cost is not None and cost > 0
    assert internals.price("no-such-model-xyz", {"input_tokens": 10}) is None
    assert internals.price(None, {"input_tokens": 10}) is None
