"""``%mlflow compare`` of two 200-record evaluation runs, against the raw
``mlflow.search_traces(run_id=...)`` calls a user would make to read the same runs.

The store: two ``mlflow.genai.evaluate`` runs (``before``, ``after``) over the same 200
questions, three code scorers each, with an agent whose trace is a root AGENT span over a
RETRIEVER (five ~400-character documents) and a CHAT_MODEL span, cached at
``/tmp/mlflow-magics-bench/compare-<N>.db`` (``--rebuild`` makes it anew).

Measured (median of ``--repeat`` runs, default 5; the three alternate so drift hits all alike):

  raw        mlflow.search_traces(locations=[exp], run_id=R) for both runs: the DataFrame
             with spans, which is what carries inputs, outputs and assessments by default
  raw-lean   the same with include_spans=False (previews only; no pairing, no verdicts)
  floor      MlflowClient.search_traces(..., include_spans=False) for both runs, as a list:
             the least any reader of both runs' assessments must do
  ours       what `%mlflow compare before after` does: resolve both names, read both runs
             (no spans unless a preview is cut), pair records, read verdicts, summarise

With ``--long`` every question carries 1,300 characters of context, so MLflow cuts every
request preview and the comparison reads each record's spans (one more search, with spans).

Run:  .venv/bin/python bench/compare.py [--records 200] [--repeat 5] [--rebuild] [--long]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import time
from pathlib import Path

from _common import code_state  # bench/ is on sys.path when run as a script

CACHE = Path("/tmp/mlflow-magics-bench")
DOC = "MLflow is an open source platform for the machine learning lifecycle. " * 6


def build_store(path: Path, records: int, long: bool = False) -> None:
    import mlflow
    from mlflow.genai.scorers import scorer

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".building.db")
    tmp.unlink(missing_ok=True)
    mlflow.set_tracking_uri(f"sqlite:///{tmp}")

    @mlflow.trace(span_type="RETRIEVER")
    def retrieve(q: str) -> list[str]:
        return [f"{DOC} ({q}, doc {i})" for i in range(5)]

    @mlflow.trace(span_type="CHAT_MODEL")
    def llm(q: str, docs: list[str], variant: str) -> str:
        return f"{variant} answer to {q} from {len(docs)} documents"

    def agent(variant):
        @mlflow.trace(span_type="AGENT")
        def predict(q: str) -> str:
            return llm(q, retrieve(q), variant)

        return predict

    @scorer
    def mentions_question(inputs, outputs):
        return inputs["q"] in outputs

    @scorer
    def length(outputs):
        return len(outputs)

    @scorer
    def concise(outputs):
        return "yes" if len(outputs) < 60 else "no"

    context = DOC * 3 if long else ""  # over 1,000 characters: MLflow cuts the preview
    data = [
        {"inputs": {"q": f"{context}question {i} about release {i % 17}"}} for i in range(records)
    ]
    t0 = time.perf_counter()
    for name, variant in (("before", "short"), ("after", "a much longer")):
        with mlflow.start_run(run_name=name, experiment_id="0"):
            mlflow.genai.evaluate(
                data=data, predict_fn=agent(variant), scorers=[mentions_question, length, concise]
            )
    client = mlflow.MlflowClient()
    for run in client.search_runs(["0"]):
        linked = client.search_traces(locations=["0"], run_id=run.info.run_id, max_results=1000)
        if len(linked) != records:
            raise SystemExit(f"run {run.info.run_name} holds {len(linked)} traces, not {records}")
    mlflow.set_tracking_uri(None)
    tmp.rename(path)
    print(f"built two {records}-record runs in {time.perf_counter() - t0:.0f} s: {path}")


def run_raw(client, runs, include_spans: bool) -> int:
    import mlflow

    frames = [
        mlflow.search_traces(locations=["0"], run_id=r, include_spans=include_spans) for r in runs
    ]
    return sum(len(f) for f in frames)


def run_floor(client, runs, include_spans=None) -> int:
    from mlflow_magics.trace_search import MAX_PAGE

    pages = [
        client.search_traces(locations=["0"], run_id=r, include_spans=False, max_results=MAX_PAGE)
        for r in runs
    ]
    return sum(len(p) for p in pages)


def run_ours(client, runs, include_spans=None) -> int:
    from mlflow_magics.compare import compare_runs, resolve_run

    a, b = (resolve_run(client, name, "0") for name in ("before", "after"))
    return len(compare_runs(client, a, b).rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument(
        "--long",
        action="store_true",
        help="inputs over 1,000 characters: every record's spans load",
    )
    args = parser.parse_args()
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    os.environ.setdefault("TQDM_DISABLE", "1")
    # Few workers: SQLite's connection pool runs dry under evaluate's default ten, and traces
    # that fail to save would leave the runs incomplete.
    os.environ.setdefault("MLFLOW_GENAI_EVAL_MAX_WORKERS", "2")
    os.environ.setdefault("MLFLOW_GENAI_EVAL_MAX_SCORER_WORKERS", "1")
    import mlflow

    store = CACHE / f"compare-{args.records}{'-long' if args.long else ''}.db"
    if args.rebuild or not store.exists():
        build_store(store, args.records, args.long)
    mlflow.set_tracking_uri(f"sqlite:///{store}")
    client = mlflow.MlflowClient()
    runs = [
        client.search_runs(["0"], filter_string=f"attributes.run_name = '{n}'")[0].info.run_id
        for n in ("before", "after")
    ]
    cases = (
        ("raw", run_raw, True),
        ("raw-lean", run_raw, False),
        ("floor", run_floor, None),
        ("ours", run_ours, None),
    )
    for _, fn, spans in cases:  # warm caches and imports once
        fn(client, runs, spans)
    times: dict[str, list[float]] = {label: [] for label, _, _ in cases}
    counts: dict[str, int] = {}
    for i in range(args.repeat):
        for label, fn, spans in cases[:: 1 if i % 2 == 0 else -1]:
            t0 = time.perf_counter()
            counts[label] = fn(client, runs, spans)
            times[label].append(time.perf_counter() - t0)
    raw, lean, floor, ours = (
        statistics.median(times[k]) for k in ("raw", "raw-lean", "floor", "ours")
    )
    print(
        f"code: {code_state()}; mlflow {mlflow.__version__}; records per run: {args.records}"
        + ("; inputs over 1,000 characters" if args.long else "")
    )
    print(f"raw       search_traces x2 (spans)      {raw * 1000:8.1f} ms  ({counts['raw']} traces)")
    print(f"raw-lean  search_traces x2 (no spans)   {lean * 1000:8.1f} ms")
    print(f"floor     client.search_traces x2 list  {floor * 1000:8.1f} ms")
    print(
        f"ours      %mlflow compare               {ours * 1000:8.1f} ms  ({counts['ours']} rows)"
        f"  ratio {ours / raw:.2f}x raw, {ours / lean:.2f}x raw-lean, {ours / floor:.2f}x floor"
    )


if __name__ == "__main__":
    main()
