"""Kernel-side cost of the trace view's three tiers for big traces, against MLflow's own
serialization of the same trace.

For 1,000, 10,000 and 50,000 spans, a synthetic agent trace is built in-process with MLflow's
real API (``mlflow.start_span_no_context`` / ``set_outputs`` / ``record_exception`` / ``end``)
into a temp SQLite store, then read back with ``mlflow.get_trace(trace_id, flush=True)``. Shape:
an AGENT root; steps (CHAIN) each with an LLM call (``mlflow.chat.tokenUsage``), tools, and now
and then a retrieval chain TOOL > RETRIEVER > RERANKER > LLM, so depth reaches 5; small
inputs/outputs on every span; about 0.5 % of the tool calls fail (status ERROR, exception event).

Two forms of the same trace are measured (median of ``--repeat`` runs, default 5; garbage is
collected, untimed, before each row's runs and before each fresh read):

* in memory: the ended spans MLflow kept in the kernel when the root span ended (taken from its
  in-memory trace manager, as ``%%mlflow trace`` shows a cell's trace); one object serves
  every run.
* fresh from the store: what ``MlflowClient().get_trace`` returns (``%mlflow show ID``): MLflow
  3.17 hands back ``LazySpan`` objects that decode on first access, so each run reads the trace
  again (untimed) and times the first look.

  mlflow  trace.to_dict() / trace.to_json()   MLflow's own serialization: the ratio baselines
  ours    trace_data(trace)                   span columns
  ours    json.dumps(data.to_payload())       the widget payload (what the widget syncs), bytes
  ours    trace_html(data, trace)             static HTML tier, bytes
  ours    trace_text(data)                    text tier, bytes
  ours    TraceView(trace)._repr_mimebundle_() with display mode 'widget' (all three tiers and
          the widget; outside a kernel ipywidgets uses a dummy comm, so the sync itself is the
          json.dumps row)
  ours    span_detail(trace, id) on the last span, TraceWidget.select(id): first click on a new
          widget, then clicks on other spans; against MLflow's
          trace.search_spans(span_id=id)[0].to_dict()

Goals from the design: 50,000 spans in <= 300 ms kernel-side (columns + widget payload), widget
payload <= 10 MB, HTML tier <= 2 MB.

MLflow's defaults do not store a trace this big on SQLite: its batch span processor exports 5
spans at a time into a 1,000-task queue (a 10,000-span trace was dropped with "Trace export queue
is full"), and with larger batches its ten concurrent writers deadlock on SQLite ("database is
locked"; the 50,000-span trace read back with no spans). So the exporter is fitted the way
``%%mlflow trace`` fits it for the embedded store (``mlflow_internals.fit_exports_to_sqlite``: one
writer, 500-span batches, a longer queue) once MLflow has made it; export is still MLflow's async
path, and the "flush+get_trace" column is its time.

Run:  .venv/bin/python bench/trace_view.py [--sizes 1000,10000,50000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from _common import code_state  # bench/ is on sys.path when run as a script

GOAL_KERNEL_MS = 300.0
GOAL_PAYLOAD_BYTES = 10 * 1024 * 1024
GOAL_HTML_BYTES = 2 * 1024 * 1024
TOOLS = ("web_search", "sql_query", "calculator", "read_file", "http_get", "python_exec")


class TraceBuilder:
    """Builds one synthetic agent trace of exactly ``size`` spans with MLflow's API."""

    def __init__(self, size: int, seed: int = 7) -> None:
        self.size = size
        self.count = 0
        self.errors = 0
        self.rng = random.Random(seed)
        self.clock = time.time_ns()
        self.max_depth = 0

    def room(self) -> bool:
        return self.count < self.size

    def tick(self, low_ms: float, high_ms: float) -> int:
        self.clock += int(self.rng.uniform(low_ms, high_ms) * 1e6)
        return self.clock

    def span(
        self,
        name: str,
        span_type: str,
        parent,
        depth: int,
        inputs: Any,
        outputs: Any,
        body: Callable[[Any, int], None] | None = None,
        attributes: dict[str, Any] | None = None,
        fail: bool = False,
    ):
        import mlflow

        self.count += 1
        self.max_depth = max(self.max_depth, depth)
        span = mlflow.start_span_no_context(
            name,
            span_type=span_type,
            parent_span=parent,
            inputs=inputs,
            attributes=attributes,
            start_time_ns=self.tick(0.05, 0.5),
        )
        if body is not None:
            body(span, depth + 1)
        end = self.tick(0.2, 30.0)
        if fail:
            self.errors += 1
            span.record_exception(TimeoutError(f"{name} timed out after 30 s"))
            span.end(end_time_ns=end)
        else:
            span.set_outputs(outputs)
            span.end(end_time_ns=end)
        return span

    def llm(self, parent, depth: int, name: str = "chat_model") -> None:
        if not self.room():
            return
        prompt = self.rng.randint(200, 4000)
        completion = self.rng.randint(20, 600)
        self.span(
            name,
            "LLM",
            parent,
            depth,
            inputs={"messages": [{"role": "user", "content": "Which tool answers this?"}]},
            outputs={"role": "assistant", "content": "Call web_search with the query."},
            attributes={
                "mlflow.chat.tokenUsage": {
                    "input_tokens": prompt,
                    "output_tokens": completion,
                    "total_tokens": prompt + completion,
                }
            },
        )

    def tool(self, parent, depth: int) -> None:
        if not self.room():
            return
        name = self.rng.choice(TOOLS)
        self.span(
            name,
            "TOOL",
            parent,
            depth,
            inputs={"query": f"{name} #{self.count}", "limit": 5},
            outputs={"rows": 3, "text": "result text " * 4},
            fail=self.rng.random() < 0.005,
        )

    def retrieval(self, parent, depth: int) -> None:
        """TOOL > RETRIEVER > RERANKER > LLM: the deep branch (depth + 3)."""

        def rerank(span, d):
            self.llm(span, d, name="summarize")

        def retrieve(span, d):
            if self.room():
                self.span("rerank", "RERANKER", span, d, {"k": 3}, {"kept": [1, 4, 7]}, rerank)

        def search(span, d):
            if self.room():
                self.span(
                    "retrieve", "RETRIEVER", span, d, {"query": "docs"}, {"hits": 8}, retrieve
                )

        if self.room():
            self.span("knowledge_base", "TOOL", parent, depth, {"q": "kb"}, {"n": 1}, search)

    def step(self, parent, depth: int) -> None:
        def body(span, d):
            self.llm(span, d)
            for _ in range(self.rng.randint(1, 4)):
                if self.rng.random() < 0.15:
                    self.retrieval(span, d)
                else:
                    self.tool(span, d)
            self.llm(span, d, name="reflect")

        if self.room():
            step_no = self.count
            self.span(f"step_{step_no}", "CHAIN", parent, depth, {"step": step_no}, "ok", body)

    def build(self):
        """Build the trace; return (trace id, the trace as the kernel holds it when its root
        span ends: MLflow's ended live spans, which is what ``%%mlflow trace`` shows)."""
        from mlflow.entities import Trace, TraceData
        from mlflow.tracing.trace_manager import InMemoryTraceManager

        kept = {}

        def agent(span, d):
            while self.room():
                self.step(span, d)
            # The last moment MLflow's in-memory record of the trace exists (the root's end
            # hands it to the exporter), as CellTracer keeps it for the view.
            with InMemoryTraceManager.get_instance().get_trace(span.trace_id) as internal:
                kept["internal"] = internal

        root = self.span(
            "agent",
            "AGENT",
            None,
            0,
            inputs={"question": "Plan a trip using the tools."},
            outputs={"answer": "Done."},
            body=agent,
        )
        internal = kept["internal"]
        return root.trace_id, Trace(
            internal.info, TraceData(spans=list(internal.span_dict.values()))
        )


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median milliseconds over ``repeat`` calls, and the last result (garbage collected first,
    untimed, so one row's garbage is not collected on the next row's time)."""
    times = []
    result = None
    gc.collect()
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def mb(n: int) -> str:
    return f"{n / 1024 / 1024:.2f} MB" if n >= 100 * 1024 else f"{n / 1024:.1f} KB"


def measure_memory(trace, repeat: int) -> dict[str, tuple[float, int | None]]:
    """Every tier on a trace held in memory (MLflow's ended live spans, as for a cell traced
    in this kernel); the same object serves every run."""
    from mlflow_magics.trace_data import span_detail, trace_data
    from mlflow_magics.views import display
    from mlflow_magics.views.trace_view import TraceView, trace_html, trace_text
    from mlflow_magics.views.trace_widget import TraceWidget

    out: dict[str, tuple[float, int | None]] = {}
    out["to_dict"] = (timed(trace.to_dict, repeat)[0], None)
    ms, raw_json = timed(trace.to_json, repeat)
    out["to_json"] = (ms, len(raw_json.encode()))
    ms, data = timed(lambda: trace_data(trace), repeat)
    out["trace_data"] = (ms, None)
    ms, payload = timed(lambda: json.dumps(data.to_payload()), repeat)
    out["payload"] = (ms, len(payload.encode()))
    out["kernel"] = (out["trace_data"][0] + out["payload"][0], None)
    ms, html = timed(lambda: trace_html(data, trace), repeat)
    out["html"] = (ms, len(html.encode()))
    ms, text = timed(lambda: trace_text(data), repeat)
    out["text"] = (ms, len(text.encode()))

    display.set_mode("widget")
    try:
        ms, bundle = timed(lambda: TraceView(trace)._repr_mimebundle_(), repeat)
    finally:
        display.set_mode("auto")
    if display.WIDGET_MIME not in bundle:
        raise SystemExit("the widget mode bundle carries no widget")
    out["bundle"] = (ms, sum(len(str(v).encode()) for v in bundle.values()))
    ms, widget = timed(lambda: TraceWidget(trace, data), repeat)
    out["widget"] = (ms, None)

    # One click on a span near the end (the last one MLflow lists: the worst case of a scan).
    last_id = trace.data.spans[-1].span_id
    ms, detail = timed(lambda: span_detail(trace, last_id), repeat)
    if not detail or detail["span_id"] != last_id:
        raise SystemExit("span_detail did not find the last span")
    out["detail"] = (ms, len(json.dumps(detail).encode()))

    # Clicks in the widget: the first one on a new view, then clicks on other spans.
    first_clicks = []
    for _ in range(repeat):
        fresh = TraceWidget(trace, data)
        start = time.perf_counter()
        fresh.select(last_id)
        first_clicks.append((time.perf_counter() - start) * 1000)
        if fresh.detail.get("span_id") != last_id or "error" in fresh.detail:
            raise SystemExit(f"TraceWidget.select: {fresh.detail}")
    out["select_first"] = (statistics.median(first_clicks), None)
    others = iter([sp.span_id for sp in trace.data.spans[-2 - repeat : -1]] * 2)
    widget.select(last_id)
    out["select"] = (timed(lambda: widget.select(next(others)), repeat)[0], None)
    out["raw_detail"] = (
        timed(lambda: trace.search_spans(span_id=last_id)[0].to_dict(), repeat)[0],
        None,
    )
    out["_spans"] = (0.0, data.span_count)
    out["_errors"] = (0.0, data.error_count)
    out["_depth"] = (0.0, max(data.depth()) if data.span_count else 0)
    return out


def measure_store(
    read: Callable[[], Any], repeat: int
) -> tuple[dict[str, tuple[float, int | None]], str]:
    """The first look at a trace read from the store (``%mlflow show ID``): MLflow hands back
    lazy spans that decode on first access, so every run gets a fresh read (untimed)."""
    from mlflow_magics.trace_data import trace_data
    from mlflow_magics.views import display
    from mlflow_magics.views.trace_view import TraceView

    samples: dict[str, list[float]] = {
        k: [] for k in ("read", "to_dict", "to_json", "trace_data", "payload", "bundle")
    }
    kinds = set()

    def clock(key: str, fn: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        result = fn()
        samples[key].append((time.perf_counter() - start) * 1000)
        return result

    for _ in range(repeat):
        gc.collect()
        trace = clock("read", read)
        kinds.add(type(trace.data.spans[0]).__name__)
        clock("to_json", trace.to_json)
        clock("to_dict", trace.to_dict)
        data = clock("trace_data", lambda t=trace: trace_data(t))
        clock("payload", lambda d=data: json.dumps(d.to_payload()))
        del trace, data
        gc.collect()
        trace = clock("read", read)
        display.set_mode("widget")
        try:
            clock("bundle", lambda t=trace: TraceView(t)._repr_mimebundle_())
        finally:
            display.set_mode("auto")
    out = {k: (statistics.median(v), None) for k, v in samples.items()}
    out["kernel"] = (out["trace_data"][0] + out["payload"][0], None)
    return out, ", ".join(sorted(kinds))


MEMORY_ROWS = [
    ("mlflow trace.to_dict()", "to_dict", False),
    ("mlflow trace.to_json()", "to_json", True),
    ("trace_data(trace)", "trace_data", False),
    ("json.dumps(data.to_payload())", "payload", True),
    ("= columns + widget payload", "kernel", False),
    ("trace_html(data, trace)", "html", True),
    ("trace_text(data)", "text", True),
    ("TraceView._repr_mimebundle_ (widget)", "bundle", False),
    ("  of which TraceWidget(trace, data)", "widget", False),
    ("span_detail(trace, last span)", "detail", True),
    ("TraceWidget.select, first click", "select_first", False),
    ("TraceWidget.select, next clicks", "select", False),
    ("mlflow search_spans(id)[0].to_dict()", "raw_detail", False),
]
STORE_ROWS = [
    ("mlflow trace.to_dict()", "to_dict", False),
    ("mlflow trace.to_json()", "to_json", False),
    ("trace_data(trace), first access", "trace_data", False),
    ("json.dumps(data.to_payload())", "payload", False),
    ("= columns + widget payload", "kernel", False),
    ("TraceView._repr_mimebundle_ (widget)", "bundle", False),
]
LABEL_W = 38


def print_table(title: str, rows, r: dict[str, tuple[float, Any]]) -> None:
    base_dict, base_json = r["to_dict"][0], r["to_json"][0]
    print(title)
    print(f"{'':<{LABEL_W}}{'ms':>10}{'size':>11}{'/to_dict':>10}{'/to_json':>10}")
    for label, key, has_size in rows:
        ms, size_b = r[key]
        size_s = mb(size_b) if has_size and size_b is not None else ""
        print(
            f"{label:<{LABEL_W}}{ms:>10.2f}{size_s:>11}"
            f"{ms / base_dict:>10.2f}{ms / base_json:>10.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000", help="span counts, comma separated")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (median)")
    parser.add_argument(
        "--keep-store", action="store_true", help="keep the temp dir with the SQLite store"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    tmp = tempfile.mkdtemp(prefix="bench-view-")
    os.chdir(tmp)
    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID"):
        os.environ.pop(var, None)

    import mlflow

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    mlflow.set_tracking_uri(f"sqlite:///{tmp}/mlflow.db")
    mlflow.set_experiment("bench-trace-view")
    client = mlflow.MlflowClient()
    with mlflow.start_span("warm-up"):  # MLflow makes its exporter with the first span
        pass
    from mlflow_magics.mlflow_internals import fit_exports_to_sqlite, wait_for_exports

    fit_exports_to_sqlite()  # see the docstring
    wait_for_exports()

    memory: dict[int, dict[str, tuple[float, Any]]] = {}
    store: dict[int, dict[str, tuple[float, Any]]] = {}
    build_rows = []
    phases: list[str] = []
    span_kinds: dict[int, str] = {}
    started = time.perf_counter()
    for size in sizes:
        builder = TraceBuilder(size)
        start = time.perf_counter()
        trace_id, in_memory = builder.build()
        built_s = time.perf_counter() - start
        start = time.perf_counter()
        trace = mlflow.get_trace(trace_id, flush=True)
        flush_read_s = time.perf_counter() - start
        if trace is None or len(trace.data.spans) != size:
            got = None if trace is None else len(trace.data.spans)
            raise SystemExit(f"{size}-span trace read back with {got} spans")
        del trace
        start = time.perf_counter()
        memory[size] = measure_memory(in_memory, args.repeat)
        memory_s = time.perf_counter() - start
        del in_memory
        start = time.perf_counter()
        store[size], span_kinds[size] = measure_store(
            lambda t=trace_id: client.get_trace(t), args.repeat
        )
        store_s = time.perf_counter() - start
        read_s = store[size]["read"][0] / 1000
        build_rows.append((size, built_s, flush_read_s, read_s, builder.errors, builder.max_depth))
        phases.append(f"{size:,}: {built_s + flush_read_s + memory_s + store_s:.0f} s")
    total_s = time.perf_counter() - started

    print(
        f"trace view tiers: median of {args.repeat} runs; python {sys.version.split()[0]}, "
        f"mlflow {mlflow.__version__}, {os.cpu_count()} cores"
    )
    print(f"code {code_state()}; wall time {total_s:.0f} s ({', '.join(phases)})")
    print()
    print(
        f"{'spans':>8}{'build s':>10}{'flush+get_trace s':>19}{'get_trace s':>13}"
        f"{'errors':>8}{'max depth':>11}"
    )
    for size, built_s, flush_read_s, read_s, errors, depth in build_rows:
        print(
            f"{size:>8,}{built_s:>10.2f}{flush_read_s:>19.2f}{read_s:>13.2f}{errors:>8}{depth:>11}"
        )
    print(
        "build: create and end the spans in-process; flush+get_trace: "
        "mlflow.get_trace(id, flush=True) right after; get_trace: MlflowClient().get_trace, median"
    )
    print()

    for size in sizes:
        r = memory[size]
        print_table(
            f"{size:,} spans, spans in memory (a cell traced in this kernel): "
            f"{r['_spans'][1]:,} rows, {r['_errors'][1]} errors, depth {r['_depth'][1]}",
            MEMORY_ROWS,
            r,
        )
        print()
        print_table(
            f"{size:,} spans, fresh from the store (%mlflow show ID; spans are "
            f"{span_kinds[size]}, decoded on first access)",
            STORE_ROWS,
            store[size],
        )
        print()

    big = max(sizes)
    r, cold = memory[big], store[big]
    checks = [
        (
            f"{big:,} spans: columns + payload <= 300 ms, in memory",
            f"{r['kernel'][0]:.0f} ms",
            r["kernel"][0] <= GOAL_KERNEL_MS,
        ),
        (
            f"{big:,} spans: columns + payload <= 300 ms, from store",
            f"{cold['kernel'][0]:.0f} ms",
            cold["kernel"][0] <= GOAL_KERNEL_MS,
        ),
        (
            f"{big:,} spans: widget payload <= 10 MB",
            mb(r["payload"][1]),
            r["payload"][1] <= GOAL_PAYLOAD_BYTES,
        ),
        (f"{big:,} spans: HTML tier <= 2 MB", mb(r["html"][1]), r["html"][1] <= GOAL_HTML_BYTES),
    ]
    print("goals")
    for label, value, ok in checks:
        print(f"  {label:<52}{value:>10}  {'MET' if ok else 'MISSED'}")

    mlflow.flush_trace_async_logging()
    os.chdir(os.path.dirname(tmp))
    if args.keep_store:
        print(f"store kept: {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
