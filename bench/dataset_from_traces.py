"""5,000 traces into a new evaluation dataset, against raw ``mlflow.search_traces`` +
``merge_records`` doing the same.

The store: 5,000 small traces (an AGENT root over a RETRIEVER child, each with its own
question) made with MLflow's real tracing API, cached at
``/tmp/mlflow-magics-bench/datasets-5k.db`` (``--rebuild`` makes it anew). Every run starts
from a fresh copy of it, so no run sees another's dataset.

Measured (median of ``--repeat`` runs, default 3; runs alternate so drift hits both alike):

  raw   mlflow.search_traces(locations=[exp], max_results=N) (with spans), create_dataset,
        merge_records(the DataFrame)
  ours  what `%mlflow dataset create NAME --from all --max N` does: search_traces (a
        one-id filter check, then one search with spans), add_traces (name check, create,
        records_from_traces, one merge)

Goal from the issue: ours <= 1.15x raw.

Run:  .venv/bin/python bench/dataset_from_traces.py [--traces 5000] [--repeat 3] [--rebuild]
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

CACHE = Path("/tmp/mlflow-magics-bench")
EXPERIMENT = "bench-datasets"


def build_store(path: Path, total: int) -> None:
    import mlflow

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".building.db")
    tmp.unlink(missing_ok=True)
    mlflow.set_tracking_uri(f"sqlite:///{tmp}")
    mlflow.set_experiment(EXPERIMENT)

    @mlflow.trace(span_type="RETRIEVER")
    def retrieve(q: str) -> list[str]:
        return [w for w in q.split() if len(w) > 4]

    @mlflow.trace(span_type="AGENT")
    def agent(q: str) -> str:
        return f"answer about {', '.join(retrieve(q))}"

    t0 = time.perf_counter()
    for n in range(total):
        agent(f"Question {n}: what changed in release {n % 17} of component {n % 101}?")
    mlflow.flush_trace_async_logging()
    mlflow.set_tracking_uri(None)
    tmp.rename(path)
    print(f"built {total:,} traces in {time.perf_counter() - t0:.0f} s: {path}")


def run_raw(total: int, name: str) -> int:
    import mlflow
    from mlflow.genai.datasets import create_dataset

    exp = mlflow.get_experiment_by_name(EXPERIMENT).experiment_id
    df = mlflow.search_traces(locations=[exp], max_results=total)
    ds = create_dataset(name=name, experiment_id=exp)
    ds.merge_records(df)
    return len(df)


def run_ours(total: int, name: str) -> int:
    import mlflow

    from mlflow_magics.datasets import add_traces, search_traces

    client = mlflow.MlflowClient()
    result = add_traces(client, name, search_traces(client, None, None, total), create=True)
    return result.added


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    # Export each trace as it ends: the async queue drops traces when 5,000 arrive at once.
    os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = "false"
    import mlflow

    store = CACHE / f"datasets-{args.traces // 1000}k.db"
    if args.rebuild or not store.exists():
        build_store(store, args.traces)
    times: dict[str, list[float]] = {"raw": [], "ours": []}
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            for label, fn in (("raw", run_raw), ("ours", run_ours))[:: 1 if i % 2 == 0 else -1]:
                copy = Path(tmp) / f"{label}-{i}.db"
                shutil.copy(store, copy)
                mlflow.set_tracking_uri(f"sqlite:///{copy}")
                mlflow.set_experiment(EXPERIMENT)
                t0 = time.perf_counter()
                counts[label] = fn(args.traces, f"bench-{label}-{i}")
                times[label].append(time.perf_counter() - t0)
                mlflow.set_tracking_uri(None)
    raw, ours = (statistics.median(times[k]) for k in ("raw", "ours"))
    print(f"traces: {args.traces:,}; records added: raw {counts['raw']:,}, ours {counts['ours']:,}")
    print(f"raw   search_traces + merge_records   {raw:7.2f} s (median of {args.repeat})")
    print(
        f"ours  dataset create --from all        {ours:7.2f} s  ratio {ours / raw:.2f}x (goal <= 1.15x)"
    )


if __name__ == "__main__":
    main()
