"""What ``%%mlflow trace`` adds to a cell, against the bare MLflow call doing the same work.

A fresh ``InteractiveShell`` (history off) in a temp dir with a fresh SQLite store runs four
cells round-robin (the order rotates every cycle, so drift and background export affect all
alike), each timed with ``time.perf_counter`` around ``shell.run_cell``:

  a  untraced         ``x = sum(range(100))``
  b  traced, quiet    ``%%mlflow trace --quiet`` + the same line
  c  bare MLflow      ``with mlflow.start_span('cell'):`` + the same line, indented
  d  traced, text     ``%%mlflow trace`` with ``MlflowMagics.display = 'text'`` (draws the view;
                      stdout is swallowed while timing)

Two passes over the same shell and store:

* back-to-back (the headline): cells run one after another, as in "Run All"; MLflow's export
  threads (batch span processor + async queue) write to SQLite while later cells run. A round is
  ``--cycles`` cycles; ``mlflow.flush_trace_async_logging()`` runs only between rounds, outside
  the timed region (each flush idles up to ~1 s: MLflow's export consumer polls its queue with
  a 1 s timeout, hence rounds of several cycles).
* settled: before each cell, outside the timed region, wait until MLflow's exporter is idle
  (force-flush its span processor, join its async queue; no ``flush_trace_async_logging``), as
  when a user pauses between cells. This isolates the kernel-side cost from export contention.

Samples per variant and pass = rounds x cycles (300 by default). Export stays on MLflow's async
queue in both passes (checked and printed). Goal from the design: (b) at most 1 ms above (c).

Run:  .venv/bin/python bench/cell_tracing.py [--rounds 30] [--cycles 10] [--warmup 3]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time

from _common import code_state  # bench/ is on sys.path when run as a script

CODE = "x = sum(range(100))"
VARIANTS = {
    "a": ("untraced", CODE),
    "b": ("%%mlflow trace --quiet", f"%%mlflow trace --quiet\n{CODE}"),
    "c": ("bare mlflow.start_span", f"with mlflow.start_span('cell'):\n    {CODE}"),
    "d": ("%%mlflow trace (text view)", f"%%mlflow trace\n{CODE}"),
}
PASSES = ("back-to-back", "settled")
GOAL_MS = 1.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def make_shell(store_uri: str):
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance(config=config)
    for cell in (
        "%load_ext mlflow_magics",
        f"%mlflow connect {store_uri}",
        "%config MlflowMagics.display = 'text'",
        "import mlflow",
    ):
        with contextlib.redirect_stdout(io.StringIO()):
            result = shell.run_cell(cell, store_history=True)
        if not result.success:
            raise SystemExit(f"setup cell failed: {cell!r}: {result.error_in_exec}")
    return shell


def settle() -> None:
    """Wait (untimed) until MLflow's exporter has written everything handed to it so far."""
    from mlflow.tracing.provider import _get_span_processor, _get_trace_exporter

    processor = _get_span_processor()
    if processor is not None:
        processor.force_flush(30_000)  # batch span processor -> exporter -> async queue
    queue = getattr(_get_trace_exporter(), "_async_queue", None)
    inner = getattr(queue, "_queue", None)
    if inner is not None and queue.is_active():
        inner.join()  # async queue -> SQLite


def export_facts() -> list[tuple[str, str]]:
    """Where traces go when a span ends: MLflow's exporter and whether it queues."""
    from mlflow.environment_variables import (
        MLFLOW_ENABLE_ASYNC_TRACE_LOGGING,
        MLFLOW_USE_BATCH_SPAN_PROCESSOR,
    )
    from mlflow.tracing.provider import _get_span_processor, _get_trace_exporter

    processor = _get_span_processor()
    exporter = _get_trace_exporter()
    should_async = getattr(exporter, "_should_log_async", None)
    return [
        ("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", str(MLFLOW_ENABLE_ASYNC_TRACE_LOGGING.get())),
        ("MLFLOW_USE_BATCH_SPAN_PROCESSOR", str(MLFLOW_USE_BATCH_SPAN_PROCESSOR.get())),
        ("span processor", type(processor).__name__),
        ("batch delegate", type(getattr(processor, "_batch_delegate", None)).__name__),
        ("exporter", type(exporter).__name__),
        ("exporter logs async", str(should_async() if should_async else None)),
    ]


def count_traces() -> int:
    import mlflow

    client = mlflow.MlflowClient()
    experiments = [e.experiment_id for e in client.search_experiments()]
    stored, token = 0, None
    while True:
        page = client.search_traces(
            locations=experiments, max_results=500, page_token=token, include_spans=False
        )
        stored += len(page)
        token = page.token
        if not token:
            return stored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="measured rounds (default 30)")
    parser.add_argument("--cycles", type=int, default=10, help="cycles per round (default 10)")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured rounds (default 3)")
    parser.add_argument(
        "--keep-store", action="store_true", help="keep the temp dir with the SQLite store"
    )
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="bench-cell-")
    os.chdir(tmp)
    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID"):
        os.environ.pop(var, None)
    store_uri = f"sqlite:///{tmp}/mlflow.db"

    import mlflow

    from mlflow_magics.magics import _installed

    logging.getLogger("mlflow").setLevel(logging.WARNING)  # keep INFO lines out of the table
    t0 = time.perf_counter()
    shell = make_shell(store_uri)
    setup_s = time.perf_counter() - t0

    magics = _installed[shell]
    keys = list(VARIANTS)
    sink = io.StringIO()
    errors = io.StringIO()
    traced_ids: set[str] = set()

    def run(key: str) -> float:
        sink.seek(0)
        sink.truncate()
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(errors):
            start = time.perf_counter()
            result = shell.run_cell(VARIANTS[key][1], store_history=True)
            elapsed = time.perf_counter() - start
        if not result.success:
            raise SystemExit(f"cell {key} failed: {result.error_in_exec!r}")
        if key == "d" and "Trace tr-" not in sink.getvalue():
            raise SystemExit(f"cell d drew no text view: {sink.getvalue()[:200]!r}")
        if key in ("b", "d") and magics.tracer.last is not None:
            traced_ids.add(magics.tracer.last.trace_id)
        return elapsed * 1000

    times = {p: {k: [] for k in keys} for p in PASSES}
    flush_ms: list[float] = []
    pass_s: dict[str, float] = {}
    cycle = 0
    for pass_name in PASSES:
        started = time.perf_counter()
        for rnd in range(args.warmup + args.rounds):
            for _ in range(args.cycles):
                shift = cycle % len(keys)
                cycle += 1
                for key in keys[shift:] + keys[:shift]:
                    if pass_name == "settled":
                        settle()
                    elapsed = run(key)
                    if rnd >= args.warmup:
                        times[pass_name][key].append(elapsed)
            if pass_name == "back-to-back":
                start = time.perf_counter()
                mlflow.flush_trace_async_logging()
                if rnd >= args.warmup:
                    flush_ms.append((time.perf_counter() - start) * 1000)
        pass_s[pass_name] = time.perf_counter() - started

    mlflow.flush_trace_async_logging()
    stored = count_traces()
    cells = len(PASSES) * (args.warmup + args.rounds) * args.cycles
    facts = export_facts()
    n = len(times[PASSES[0]]["a"])

    print(
        f"cell tracing: {n} samples per variant and pass = {args.rounds} rounds x "
        f"{args.cycles} cycles (+{args.warmup} warm-up rounds), order rotated every cycle"
    )
    print(
        f"python {sys.version.split()[0]}, mlflow {mlflow.__version__}, {os.cpu_count()} cores; "
        f"setup {setup_s:.1f} s; passes " + ", ".join(f"{p} {s:.0f} s" for p, s in pass_s.items())
    )
    print(f"store {store_uri} (removed at exit unless --keep-store); code {code_state()}")
    print()

    med = {p: {k: statistics.median(v) for k, v in times[p].items()} for p in PASSES}
    p90 = {p: {k: percentile(v, 0.9) for k, v in times[p].items()} for p in PASSES}
    head = "".join(f"{p + ' med':>20}{'p90':>10}" for p in PASSES)
    print(f"{'ms per cell':<32}{head}")
    for key in keys:
        cells_ = "".join(f"{med[p][key]:>20.3f}{p90[p][key]:>10.3f}" for p in PASSES)
        print(f"{key + '  ' + VARIANTS[key][0]:<32}{cells_}")
    print()
    comparisons = [
        ("b - a  tracing adds to the cell", "b", "a", "-"),
        ("b - c  over bare start_span", "b", "c", "-"),
        ("c - a  bare start_span itself", "c", "a", "-"),
        ("d - b  drawing the text view", "d", "b", "-"),
        ("b / c  ratio to raw MLflow", "b", "c", "/"),
        ("d / c", "d", "c", "/"),
    ]
    print(f"{'comparison':<32}{head}")
    for label, x, y, op in comparisons:
        row = ""
        for p in PASSES:
            for stat in (med[p], p90[p]):
                value = stat[x] - stat[y] if op == "-" else stat[x] / stat[y]
                unit = " ms" if op == "-" else " x "
                width = 17 if stat is med[p] else 7
                row += f"{value:>{width}.3f}{unit}"
        print(f"{label:<32}{row}")
    for p in PASSES:
        gap = med[p]["b"] - med[p]["c"]
        verdict = "MET" if gap <= GOAL_MS else "MISSED"
        print(f"goal: b - c <= {GOAL_MS:.1f} ms at the median, {p}: {gap:.3f} ms, {verdict}")
    print()
    print("export")
    for name, value in facts:
        print(f"  {name:<34}{value}")
    print(
        f"  {'flush between rounds, median/p90':<34}"
        f"{statistics.median(flush_ms):.0f} / {percentile(flush_ms, 0.9):.0f} ms "
        f"(back-to-back; mostly MLflow's 1 s queue poll; {3 * args.cycles} traces per round)"
    )
    print(
        f"  {'traces in store / expected':<34}{stored} / {3 * cells}"
        f"  (distinct %%mlflow trace ids seen: {len(traced_ids)} / {2 * cells})"
    )
    warnings = [ln for ln in errors.getvalue().splitlines() if ln.strip()]
    print(
        f"  {'stderr lines during the runs':<34}{len(warnings)}"
        + (f"  first: {warnings[0][:100]}" if warnings else "")
    )

    mlflow.flush_trace_async_logging()
    os.chdir(os.path.dirname(tmp))
    if args.keep_store:
        print(f"store kept: {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
