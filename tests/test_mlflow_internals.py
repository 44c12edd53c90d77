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


def _exporters():
    """The current tracer provider's processors and exporters (older providers' batch
    processors linger in MLflow's registry until collected)."""
    from mlflow.tracing.provider import provider

    return [(p, p.span_exporter) for p in provider.get()._active_span_processor._span_processors]


def test_reading_the_processors_makes_no_new_ones(store):
    import threading

    with mlflow.start_span("makes the exporter"):
        pass
    internals.wait_for_exports()
    before = threading.active_count()
    for _ in range(20):
        internals.wait_for_exports()
    assert threading.active_count() <= before  # each read once started a batch thread


def test_exports_to_sqlite_are_fitted_to_one_writer_in_batches(store):
    with mlflow.start_span("makes the exporter"):
        pass
    assert internals.fit_exports_to_sqlite()
    ((processor, exporter),) = _exporters()
    assert exporter._async_queue._max_workers == 1
    assert exporter._async_queue._queue.maxsize == internals.SQLITE_QUEUE_BOUND
    batch = processor._batch_delegate._batch_processor
    assert batch._max_export_batch_size == internals.SQLITE_SPAN_BATCH
    assert batch._max_export_batch_size <= batch._max_queue_size // 4
    assert not internals.fit_exports_to_sqlite()  # already fitted: nothing to change
    with mlflow.start_span("still exported") as span:
        pass
    assert internals.wait_for_exports(timeout=10)
    assert store.get_trace(span.trace_id).data.spans[0].name == "still exported"


def test_a_users_export_settings_are_kept(store, monkeypatch):
    monkeypatch.setenv("MLFLOW_ASYNC_TRACE_LOGGING_MAX_WORKERS", "3")
    monkeypatch.setenv("MLFLOW_ASYNC_TRACE_LOGGING_MAX_SPAN_BATCH_SIZE", "7")
    mlflow.tracing.reset()  # MLflow reads them when it makes its exporter
    try:
        with mlflow.start_span("makes the exporter"):
            pass
        internals.fit_exports_to_sqlite()
        ((processor, exporter),) = _exporters()
        assert exporter._async_queue._max_workers == 3
        assert processor._batch_delegate._batch_processor._max_export_batch_size == 7
    finally:
        monkeypatch.undo()
        mlflow.tracing.reset()


def test_sqlite_file_names_the_file_behind_a_uri(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert internals.sqlite_file("sqlite:///mlflow.db") == str(tmp_path / "mlflow.db")
    assert internals.sqlite_file(f"sqlite:///{tmp_path}/x.db") == str(tmp_path / "x.db")
    assert internals.sqlite_file("sqlite:///x.db?timeout=5") == str(tmp_path / "x.db")
    for uri in ("sqlite://", "sqlite:///:memory:", "http://127.0.0.1:5000", "postgresql://h/db"):
        assert internals.sqlite_file(uri) is None


def test_forgetting_a_deleted_sqlite_store_opens_it_afresh(store_uri, tmp_path):
    import os

    client = mlflow.MlflowClient(tracking_uri=store_uri, registry_uri=store_uri)
    client.create_experiment("gone-with-the-file")
    client.create_registered_model("gone-too")
    os.remove(tmp_path / "mlflow.db")
    # MLflow's cached engine still reads the deleted file through its pooled connections
    internals.forget_sqlite_store(str(tmp_path / "mlflow.db"))
    client = mlflow.MlflowClient(tracking_uri=store_uri, registry_uri=store_uri)
    assert [e.name for e in client.search_experiments()] == ["Default"]  # a new store
    assert client.search_registered_models() == []
    assert (tmp_path / "mlflow.db").stat().st_size > 0
