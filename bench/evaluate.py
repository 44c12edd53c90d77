"""``%%mlflow evaluate`` against raw ``mlflow.genai.evaluate`` on the same data.

1. Code scorers: 200 records (inputs + outputs), two ``@scorer`` functions, on a fresh copy of
   a migrated SQLite store per run; runs alternate raw / ours so drift hits both alike.

     raw   mlflow.genai.evaluate(data=records, scorers=[...]) in a run, same workers as ours
     ours  what the magic does: build the scorers from cell lines, the EvalView with its
           widget and live ticker, run_evaluation (per-record hook) and finish

   Goal from the issue: ours <= 1.1x raw. On SQLite both use 6 workers: MLflow's default of
   10 makes SQLite's single writer thrash (``--raw-default`` measures that once).

2. Judges: the stand-in judge server (tests/judge_server.py, OpenAI-compatible, on 127.0.0.1)
   answers each call after 100 ms. Effective concurrency = judge calls x 0.1 s / wall time.
   Goal: at least 8. On SQLite the store is the bottleneck, not the judge: MLflow writes each
   record (trace, spans, assessments) in ~70 ms of serialized SQLite commits, so 200 records
   cost ~15 s whatever the judge does. ``--server URI`` runs this part against an MLflow
   tracking server (PostgreSQL-backed), where writes run in parallel and the flag
   ``--max-workers`` is MLflow's default.

Run:  .venv/bin/python bench/evaluate.py [--records 200] [--repeat 3] [--raw-default]
                                         [--server http://127.0.0.1:5000]
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from _common import code_state

CODE_BODY = "short\nwords\n"


def records(n: int, fail_every: int = 0) -> list[dict]:
    from judge_server import FAIL_MARKER

    return [
        {
            "inputs": {"question": f"question number {i}"},
            "outputs": f"answer {i}"
            + (f" {FAIL_MARKER}" if fail_every and i % fail_every == 0 else ""),
        }
        for i in range(n)
    ]


def code_scorers() -> dict:
    from mlflow.genai.scorers import scorer

    @scorer
    def short(outputs):
        return len(str(outputs)) < 12

    @scorer
    def words(outputs):
        return float(len(str(outputs).split()))

    return {"short": short, "words": words}


def fresh_store(template: Path, tmp: Path, tag: str, server: str | None = None) -> str:
    import mlflow

    if server:
        mlflow.set_tracking_uri(server)
        mlflow.set_experiment(f"bench-evaluate-{tag}-{time.time_ns()}")
        return server

    target = tmp / f"{tag}-{time.time_ns()}.db"
    shutil.copy(template, target)
    uri = f"sqlite:///{target}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("bench-evaluate")
    return uri


def run_raw(data: list[dict], scorers: list, workers: int | None) -> float:
    import mlflow

    if workers:
        os.environ["MLFLOW_GENAI_EVAL_MAX_WORKERS"] = str(workers)
    started = time.perf_counter()
    with mlflow.start_run():
        mlflow.genai.evaluate(data=data, scorers=scorers)
    took = time.perf_counter() - started
    os.environ.pop("MLFLOW_GENAI_EVAL_MAX_WORKERS", None)
    return took


def run_ours(data: list[dict], namespace: dict, body: str, judge: str | None = None):
    import mlflow

    from mlflow_magics import scoring
    from mlflow_magics.views.eval_view import EvalView

    started = time.perf_counter()
    client = mlflow.MlflowClient()
    scorers = scoring.build_scorers(scoring.cell_scorers(body), namespace, judge=judge)
    prepared = scoring.eval_data(client, data, "data")
    scoring.check_judges(scorers)
    view = EvalView(client, [s.name for s in scorers], prepared.total, prepared.label)
    view.widget  # noqa: B018 - the live grid's widget, synced by the ticker as in a kernel
    view._ticker = threading.Thread(target=view._tick, daemon=True)
    view._ticker.start()
    outcome = scoring.run_evaluation(prepared, scorers, on_record=view.add, on_run=view.set_run)
    view.finish(outcome)
    took = time.perf_counter() - started
    assert len(view.rows) == len(data), (len(view.rows), len(data))
    return took, view


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--raw-default", action="store_true", help="also time MLflow's 10 workers")
    parser.add_argument("--server", help="judge part on this tracking server instead of SQLite")
    parser.add_argument("--judge-delay", type=float, default=0.1, help="seconds per judge call")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    os.environ["MLFLOW_MODEL_CATALOG_URI"] = ""  # no network: MLflow's bundled model catalog

    import mlflow

    from mlflow_magics import scoring

    print(f"code: {code_state()}, mlflow {mlflow.__version__}")
    tmp = Path(tempfile.mkdtemp(prefix="bench-evaluate-"))
    template = tmp / "template.db"
    mlflow.MlflowClient(tracking_uri=f"sqlite:///{template}").search_experiments()

    # -- 1. code scorers -------------------------------------------------------------------
    data = records(args.records)
    namespace = code_scorers()
    scorers = list(namespace.values())
    fresh_store(template, tmp, "warm")
    run_raw(data[:10], scorers, scoring.SQLITE_WORKERS)  # imports and first-use costs
    raw_times, our_times = [], []
    for _ in range(args.repeat):
        fresh_store(template, tmp, "raw")
        raw_times.append(run_raw(data, scorers, scoring.SQLITE_WORKERS))
        fresh_store(template, tmp, "ours")
        took, _view = run_ours(data, namespace, CODE_BODY)
        our_times.append(took)
    raw, ours = statistics.median(raw_times), statistics.median(our_times)
    print(
        f"\n1. {args.records} records, 2 code scorers, {scoring.SQLITE_WORKERS} workers, median of {args.repeat}"
    )
    print(
        f"   raw mlflow.genai.evaluate  {raw:6.2f} s   ({', '.join(f'{t:.2f}' for t in raw_times)})"
    )
    print(
        f"   %%mlflow evaluate          {ours:6.2f} s   ({', '.join(f'{t:.2f}' for t in our_times)})"
    )
    print(f"   ratio                      {ours / raw:6.2f}x   (goal <= 1.1x)")
    if args.raw_default:
        fresh_store(template, tmp, "raw-default")
        print(f"   raw with MLflow's default 10 workers: {run_raw(data, scorers, None):.1f} s")

    # -- 2. judges ---------------------------------------------------------------------------
    from judge_server import JudgeServer

    delay = args.judge_delay
    server = JudgeServer(delay=delay).start()
    os.environ.update(OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY="bench")
    fresh_store(template, tmp, "judge-warm", args.server)
    run_ours(data[:4], {}, "Safety()\n", judge="openai:/gpt-4o-mini")
    where = args.server or f"SQLite, {scoring.SQLITE_WORKERS} workers"
    print(
        f"\n2. {args.records} records, stand-in judge answering in {delay * 1000:.0f} ms, store: {where}"
    )
    for body in ("Safety()\n", "Safety()\nRelevanceToQuery()\n"):
        fresh_store(template, tmp, "judge", args.server)
        server.requests.clear()
        server.peak_concurrency = 0
        took, _view = run_ours(data, {}, body, judge="openai:/gpt-4o-mini")
        calls = len(server.requests)
        serial = calls * delay
        judges = " + ".join(line.rstrip("()") for line in body.split())
        print(
            f"   {judges:<26} {calls} calls, wall {took:5.2f} s, serial {serial:5.1f} s, "
            f"effective concurrency {serial / took:4.1f} (peak {server.peak_concurrency}; goal >= 8)"
        )
    server.stop()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
