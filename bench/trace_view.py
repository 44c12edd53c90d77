"""Kernel-side cost of the trace view's three tiers for big traces, against MLflow's own
serialization of the same trace.

For 1,000, 10,000 and 50,000 spans, a synthetic agent trace is built in-process with MLflow's
real API (``mlflow.start_span_no_context`` / ``set_outputs`` / ``record_exception`` / ``end``)
into a temp SQLite store, then read back with ``mlflow.get_trace(trace_id, flush=True)``. Shape:
an AGENT root; steps (CHAIN) each with an LLM call (``mlflow.chat.tokenUsage``), tools, and now
and then a retrieval chain TOOL > RETRIEVER > RERANKER > LLM, so depth reaches 5; small
inputs/outputs on every span; about 0.5 % of the tool calls fail (status ERROR, exception event).

Measured on the read-back ``Trace`` (median of ``--repeat`` runs, default 5):

  mlflow  trace.to_dict()      MLflow's own serialization: the baseline of every ratio
  mlflow  trace.to_json()      idem, to a JSON string
  ours    trace_data(trace)    span columns
  ours    json.dumps(data.to_payload())   the widget payload (what the widget syncs), bytes
  ours    trace_html(data, trace)         static HTML tier, bytes
  ours    trace_text(data)                text tier, bytes
  ours    TraceView(trace)._repr_mimebundle_() with display mode 'widget' (all of it, widget
          included; outside a kernel ipywidgets uses a dummy comm, so the sync itself is the
          json.dumps row above)
  ours    span_detail(trace, id) / TraceWidget.select(id) for the last span (one click)

Goals from the design: 50,000 spans in <= 300 ms kernel-side (columns + widget payload), widget
payload <= 10 MB, HTML tier <= 2 MB.

MLflow's defaults cannot store a trace this big (its batch span processor queue holds 2,048
spans and exports 5 at a time into a 1,000-task queue: a 10,000-span trace is dropped), so this
script raises MLFLOW_ASYNC_TRACE_LOGGING_MAX_SPAN_BATCH_SIZE before importing MLflow, which also
raises that queue's size; export is still MLflow's async path.

Run:  .venv/bin/python bench/trace_view.py [--sizes 1000,10000,50000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

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

    def build(self) -> str:
        def agent(span, d):
            while self.room():
                self.step(span, d)

        root = self.span(
            "agent",
            "AGENT",
            None,
            0,
            inputs={"question": "Plan a trip using the tools."},
            outputs={"answer": "Done."},
            body=agent,
        )
        return root.trace_id


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median milliseconds over ``repeat`` calls, and the last result."""
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def mb(n: int) -> str:
    return f"{n / 1024 / 1024:.2f} MB" if n >= 100 * 1024 else f"{n / 1024:.1f} KB"


def measure(trace, repeat: int) -> dict[str, tuple[float, int | None]]:
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

    def click():
        widget.select(last_id)
        return widget.detail

    out["select"] = (timed(click, repeat)[0], None)
    out["raw_detail"] = (
        timed(lambda: trace.search_spans(span_id=last_id)[0].to_dict(), repeat)[0],
        None,
    )
    out["_spans"] = (0.0, data.span_count)
    out["_errors"] = (0.0, data.error_count)
    out["_depth"] = (0.0, max(data.depth()) if data.span_count else 0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000", help="span counts, comma separated")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (median)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    # Before MLflow is imported: see the docstring. Spans per export batch = span-queue size.
    os.environ.setdefault("MLFLOW_ASYNC_TRACE_LOGGING_MAX_SPAN_BATCH_SIZE", "65536")
    tmp = tempfile.mkdtemp(prefix="bench-view-")
    os.chdir(tmp)
    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID"):
        os.environ.pop(var, None)

    import mlflow

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    mlflow.set_tracking_uri(f"sqlite:///{tmp}/mlflow.db")
    mlflow.set_experiment("bench-trace-view")

    results: dict[int, dict[str, tuple[float, int | None]]] = {}
    build_rows = []
    for size in sizes:
        builder = TraceBuilder(size)
        start = time.perf_counter()
        trace_id = builder.build()
        built_s = time.perf_counter() - start
        start = time.perf_counter()
        trace = mlflow.get_trace(trace_id, flush=True)
        read_s = time.perf_counter() - start
        if trace is None or len(trace.data.spans) != size:
            got = None if trace is None else len(trace.data.spans)
            raise SystemExit(f"{size}-span trace read back with {got} spans")
        build_rows.append((size, built_s, read_s, builder.errors, builder.max_depth))
        results[size] = measure(trace, args.repeat)
        del trace

    print(
        f"trace view tiers: median of {args.repeat} runs; python {sys.version.split()[0]}, "
        f"mlflow {mlflow.__version__}, {os.cpu_count()} cores"
    )
    print()
    print(f"{'spans':>8}{'build s':>10}{'get_trace s':>13}{'errors':>8}{'max depth':>11}")
    for size, built_s, read_s, errors, depth in build_rows:
        print(f"{size:>8,}{built_s:>10.2f}{read_s:>13.2f}{errors:>8}{depth:>11}")
    print("(build: creating and ending the spans in-process; get_trace: flush + read from SQLite)")
    print()

    rows = [
        ("mlflow trace.to_dict()", "to_dict", False),
        ("mlflow trace.to_json()", "to_json", True),
        ("trace_data(trace)", "trace_data", False),
        ("json.dumps(data.to_payload())", "payload", True),
        ("trace_html(data, trace)", "html", True),
        ("trace_text(data)", "text", True),
        ("TraceView._repr_mimebundle_ (widget)", "bundle", False),
        ("  of which TraceWidget(trace, data)", "widget", False),
        ("span_detail(trace, last span)", "detail", True),
        ("TraceWidget.select(last span)", "select", False),
        ("mlflow search_spans(id)+to_dict()", "raw_detail", False),
    ]
    label_w = 38
    for size in sizes:
        r = results[size]
        base = r["to_dict"][0]
        base_json = r["to_json"][0]
        print(
            f"{size:,} spans (read back: {r['_spans'][1]:,} rows, {r['_errors'][1]} errors, "
            f"depth {r['_depth'][1]})"
        )
        print(f"{'':<{label_w}}{'ms':>10}{'size':>12}{'/to_dict':>10}{'/to_json':>10}")
        for label, key, has_size in rows:
            ms, size_b = r[key]
            size_s = mb(size_b) if has_size and size_b is not None else ""
            print(
                f"{label:<{label_w}}{ms:>10.2f}{size_s:>12}{ms / base:>10.3f}{ms / base_json:>10.3f}"
            )
        kernel = r["trace_data"][0] + r["payload"][0]
        print(
            f"{'columns + widget payload':<{label_w}}{kernel:>10.2f}{'':>12}"
            f"{kernel / base:>10.3f}{kernel / base_json:>10.3f}"
        )
        print()

    big = max(sizes)
    r = results[big]
    kernel = r["trace_data"][0] + r["payload"][0]
    checks = [
        (f"{big:,} spans: columns + payload <= 300 ms", f"{kernel:.0f} ms", kernel <= 300),
        (
            f"{big:,} spans: widget payload <= 10 MB",
            mb(r["payload"][1]),
            r["payload"][1] <= GOAL_PAYLOAD_BYTES,
        ),
        (
            f"{big:,} spans: HTML tier <= 2 MB",
            mb(r["html"][1]),
            r["html"][1] <= GOAL_HTML_BYTES,
        ),
    ]
    print("goals")
    for label, value, ok in checks:
        print(f"  {label:<44}{value:>10}  {'MET' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
