"""What ``%%mlflow trace`` adds to a cell, against the bare MLflow call doing the same work.

A fresh ``InteractiveShell`` (history off) in a temp dir with a fresh SQLite store runs four
cells round-robin (the order rotates every cycle, so drift and background export affect all
alike), each timed with ``time.perf_counter`` around ``shell.run_cell``:

  a  untraced         ``x = sum(range(100))``
  b  traced, quiet    ``%%mlflow trace --quiet`` + the same line
  c  bare MLflow      ``with mlflow.start_span('cell'):`` + the same line, indented
  d  traced, text     ``%%mlflow trace`` with ``MlflowMagics.display = 'text'`` (draws the view;
                      stdout is swallowed while timing)

A round is ``--cycles`` round-robin cycles (one cell of each variant per cycle). Export stays on
MLflow's async queue; ``mlflow.flush_trace_async_logging()`` runs only between rounds, outside the
timed region (each flush idles up to ~1 s: MLflow's export consumer polls its queue with a 1 s
timeout, hence rounds of several cycles). Samples per variant = rounds x cycles (300 by default).
Goal from the design: (b) at most 1 ms above (c) at the median.

Run:  .venv/bin/python bench/cell_tracing.py [--rounds 30] [--cycles 10] [--warmup 3]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import statistics
import sys
import tempfile
import time

CODE = "x = sum(range(100))"
VARIANTS = {
    "a": ("untraced", CODE),
    "b": ("%%mlflow trace --quiet", f"%%mlflow trace --quiet\n{CODE}"),
    "c": ("bare mlflow.start_span", f"with mlflow.start_span('cell'):\n    {CODE}"),
    "d": ("%%mlflow trace (text view)", f"%%mlflow trace\n{CODE}"),
}
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="measured rounds (default 30)")
    parser.add_argument("--cycles", type=int, default=10, help="cycles per round (default 10)")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured rounds (default 3)")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="bench-cell-")
    os.chdir(tmp)
    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID"):
        os.environ.pop(var, None)
    store_uri = f"sqlite:///{tmp}/mlflow.db"

    logging.getLogger("mlflow").setLevel(logging.WARNING)  # keep INFO lines out of the table
    t0 = time.perf_counter()
    shell = make_shell(store_uri)
    setup_s = time.perf_counter() - t0

    import mlflow

    from mlflow_magics.magics import _installed

    magics = _installed[shell]
    keys = list(VARIANTS)
    times: dict[str, list[float]] = {k: [] for k in keys}
    flush_ms: list[float] = []
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

    cycle = 0
    for rnd in range(args.warmup + args.rounds):
        for _ in range(args.cycles):
            shift = cycle % len(keys)
            cycle += 1
            for key in keys[shift:] + keys[:shift]:
                elapsed = run(key)
                if rnd >= args.warmup:
                    times[key].append(elapsed)
        start = time.perf_counter()
        mlflow.flush_trace_async_logging()
        if rnd >= args.warmup:
            flush_ms.append((time.perf_counter() - start) * 1000)

    # Every traced cell made its own trace, and the store holds all of them.
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
            break
    cells = (args.warmup + args.rounds) * args.cycles
    expected = 3 * cells  # b, c and d each make one trace per round
    facts = export_facts()

    med = {k: statistics.median(v) for k, v in times.items()}
    p90 = {k: percentile(v, 0.9) for k, v in times.items()}

    print(
        f"cell tracing: {len(times['a'])} samples per variant = {args.rounds} rounds x "
        f"{args.cycles} cycles (+{args.warmup} warm-up rounds), order rotated every cycle"
    )
    print(f"store {store_uri}")
    print(
        f"python {sys.version.split()[0]}, mlflow {mlflow.__version__}, "
        f"{os.cpu_count()} cores, setup {setup_s:.1f} s"
    )
    print()
    print(f"{'variant':<34}{'median ms':>11}{'p90 ms':>10}{'mean ms':>10}{'min ms':>9}")
    for key in keys:
        label = f"{key}  {VARIANTS[key][0]}"
        v = times[key]
        print(
            f"{label:<34}{med[key]:>11.3f}{p90[key]:>10.3f}"
            f"{statistics.fmean(v):>10.3f}{min(v):>9.3f}"
        )
    print()
    print(f"{'comparison':<34}{'median':>11}{'p90':>10}")
    rows = [
        ("b - a  (tracing adds to the cell)", med["b"] - med["a"], p90["b"] - p90["a"], "ms"),
        ("b - c  (over bare start_span)", med["b"] - med["c"], p90["b"] - p90["c"], "ms"),
        ("c - a  (bare start_span itself)", med["c"] - med["a"], p90["c"] - p90["a"], "ms"),
        ("d - b  (drawing the text view)", med["d"] - med["b"], p90["d"] - p90["b"], "ms"),
        ("b / c  (ratio to raw MLflow)", med["b"] / med["c"], p90["b"] / p90["c"], "x"),
        ("d / c", med["d"] / med["c"], p90["d"] / p90["c"], "x"),
    ]
    for label, m, p, unit in rows:
        print(f"{label:<34}{m:>9.3f} {unit:<2}{p:>7.3f} {unit}")
    verdict = "MET" if med["b"] - med["c"] <= GOAL_MS else "MISSED"
    print(f"goal (b - c) <= {GOAL_MS:.1f} ms at the median: {verdict}")
    print()
    print("export")
    for name, value in facts:
        print(f"  {name:<34}{value}")
    print(
        f"  {'flush between rounds, median/p90':<34}"
        f"{statistics.median(flush_ms):.2f} / {percentile(flush_ms, 0.9):.2f} ms "
        f"(mostly MLflow's 1 s queue poll; {3 * args.cycles} traces per round)"
    )
    print(
        f"  {'traces in store / expected':<34}{stored} / {expected}"
        f"  (distinct %%mlflow trace ids seen: {len(traced_ids)} / {2 * cells})"
    )
    warnings = [ln for ln in errors.getvalue().splitlines() if ln.strip()]
    print(
        f"  {'stderr lines during the run':<34}{len(warnings)}"
        + (f"  first: {warnings[0][:100]}" if warnings else "")
    )


if __name__ == "__main__":
    main()
