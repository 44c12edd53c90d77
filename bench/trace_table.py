"""The trace table on a store of 100,000 traces, against a raw ``MlflowClient.search_traces``.

The store: 300 seed traces are made with MLflow's real tracing API (a small AGENT > RETRIEVER /
TOOL / LLM agent, token usage on the LLM span, a tag, about 1 in 7 failing, some requests near
MLflow's 1,000-character preview limit), then their rows in MLflow's own SQLite tables
(``trace_info``, ``trace_tags``, ``trace_request_metadata``) are cloned with fresh ids and
timestamps one second apart until there are 100,000. Cloning takes seconds where exporting
100,000 traces through the tracing API takes many minutes; the clones carry no spans (only the
seeds open), which the table never reads anyway: it searches with ``include_spans=False``. The
file is cached at ``/tmp/mlflow-magics-bench/traces-100k.db`` (``--rebuild`` makes it anew).

Measured (median of ``--repeat`` runs, default 15; runs alternate so drift hits both alike):

  raw    MlflowClient().search_traces(locations=[exp], max_results=50, include_spans=False)
  table  TraceTable(client, TraceQuery(), page_size=50): the first page as `%mlflow traces
         --page-size 50` gets it (active experiment, newest first), plus its widget payload
  next   TraceTable.next_page() on pages 2..11 (each page fetched from the store once)
  filter first page of `trace.status = 'ERROR'` and of `--tag topic=billing`
  ids    select_all_matching(): every id of 100,000 matches, ids only
  bytes  json.dumps(page_payload()) of a 50-row page (what the widget syncs per page)

Goals from the issue: first page <= 1.3x raw; payload per page < 1 MB.

Run:  .venv/bin/python bench/trace_table.py [--traces 100000] [--repeat 15] [--rebuild]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sqlite3
import statistics
import time
import uuid
from pathlib import Path

CACHE = Path("/tmp/mlflow-magics-bench")
SEEDS = 300
EXPERIMENT = "bench-traces"


def build_store(path: Path, total: int) -> None:
    import mlflow

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".building.db")
    tmp.unlink(missing_ok=True)
    mlflow.set_tracking_uri(f"sqlite:///{tmp}")
    mlflow.set_experiment(EXPERIMENT)

    @mlflow.trace(span_type="RETRIEVER")
    def retrieve(q: str) -> list[str]:
        return [w for w in q.split() if len(w) > 5][:5]

    @mlflow.trace(span_type="TOOL")
    def tool(n: int) -> int:
        if n % 7 == 3:
            raise RuntimeError(f"tool failed on {n}")
        return n * 2

    @mlflow.trace(span_type="LLM")
    def llm(prompt: str) -> str:
        mlflow.get_current_active_span().set_attribute(
            "mlflow.chat.tokenUsage",
            {
                "input_tokens": len(prompt) // 4,
                "output_tokens": 30,
                "total_tokens": len(prompt) // 4 + 30,
            },
        )
        return "An answer. " * 8

    @mlflow.trace(span_type="AGENT", name="agent")
    def agent(n: int, q: str) -> str:
        mlflow.update_current_trace(tags={"topic": ["billing", "search", "weather"][n % 3]})
        docs = retrieve(q)
        tool(n)
        return llm(q + " ".join(docs))

    t0 = time.perf_counter()
    for n in range(SEEDS):
        filler = " lorem ipsum dolor" * (50 if n % 10 == 0 else 2)  # some near the preview cap
        with contextlib.suppress(RuntimeError):  # the failed trace is recorded all the same
            agent(n, f"Question {n}: what changed in release {n % 5}?{filler}")
    mlflow.flush_trace_async_logging()
    seeded = time.perf_counter() - t0

    t0 = time.perf_counter()
    db = sqlite3.connect(tmp)
    db.row_factory = sqlite3.Row
    infos = [dict(r) for r in db.execute("SELECT * FROM trace_info")]
    tags: dict[str, list[tuple]] = {}
    for r in db.execute("SELECT key, value, request_id FROM trace_tags"):
        tags.setdefault(r["request_id"], []).append((r["key"], r["value"]))
    meta: dict[str, list[tuple]] = {}
    for r in db.execute("SELECT key, value, request_id FROM trace_request_metadata"):
        meta.setdefault(r["request_id"], []).append((r["key"], r["value"]))
    columns = list(infos[0])
    newest = max(i["timestamp_ms"] for i in infos)
    info_rows, tag_rows, meta_rows = [], [], []
    for k in range(total - len(infos)):
        seed = infos[k % len(infos)]
        new_id = f"tr-{uuid.uuid4().hex}"
        row = dict(seed, request_id=new_id, timestamp_ms=newest - (k + 1) * 1000)
        info_rows.append(tuple(row[c] for c in columns))
        tag_rows += [(key, value, new_id) for key, value in tags.get(seed["request_id"], [])]
        meta_rows += [(key, value, new_id) for key, value in meta.get(seed["request_id"], [])]
    with db:
        db.executemany(
            f"INSERT INTO trace_info ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            info_rows,
        )
        db.executemany("INSERT INTO trace_tags (key, value, request_id) VALUES (?, ?, ?)", tag_rows)
        db.executemany(
            "INSERT INTO trace_request_metadata (key, value, request_id) VALUES (?, ?, ?)",
            meta_rows,
        )
    db.execute("ANALYZE")
    db.close()
    tmp.rename(path)
    mlflow.set_tracking_uri(None)
    print(
        f"built {path}: {SEEDS} traces through MLflow's API in {seeded:.1f} s, "
        f"{total - len(infos):,} cloned in {time.perf_counter() - t0:.1f} s"
    )


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    path = CACHE / f"traces-{args.traces // 1000}k.db"
    if args.rebuild or not path.exists():
        build_store(path, args.traces)

    import mlflow

    from mlflow_magics.trace_search import TraceQuery
    from mlflow_magics.views.trace_table import TraceTable

    mlflow.set_tracking_uri(f"sqlite:///{path}")
    mlflow.set_experiment(EXPERIMENT)
    client = mlflow.MlflowClient()
    exp = client.get_experiment_by_name(EXPERIMENT).experiment_id
    count = sqlite3.connect(path).execute("SELECT count(*) FROM trace_info").fetchone()[0]

    def raw():
        return client.search_traces(locations=[exp], max_results=50, include_spans=False)

    def table():
        t = TraceTable(client, TraceQuery(), page_size=50)
        t.page_payload()
        return t

    raw()
    table()  # warm both (imports, SQLAlchemy engine, statement caches)
    raw_s, table_s = [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        raw()
        raw_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        table()
        table_s.append(time.perf_counter() - t0)

    t = table()
    next_s = []
    for _ in range(10):
        t0 = time.perf_counter()
        t.next_page()
        next_s.append(time.perf_counter() - t0)
    page_bytes = max(len(json.dumps(table().page_payload())), len(json.dumps(t.page_payload())))

    filt = {}
    for label, query in (
        ("filter trace.status = 'ERROR'", TraceQuery(filter="trace.status = 'ERROR'")),
        ("filter --tag topic=billing", TraceQuery(tags=(("topic", "billing"),))),
    ):
        samples = []
        for _ in range(max(3, args.repeat // 3)):
            t0 = time.perf_counter()
            TraceTable(client, query, page_size=50).page_payload()
            samples.append(time.perf_counter() - t0)
        filt[label] = median_ms(samples)

    t0 = time.perf_counter()
    selected = table().select_all_matching()
    ids_s = time.perf_counter() - t0

    raw_ms, table_ms = median_ms(raw_s), median_ms(table_s)
    print(f"\nstore: {path} ({count:,} traces), page size 50, median of {args.repeat}\n")
    rows = [
        ("raw search_traces, first 50", f"{raw_ms:.1f} ms", ""),
        (
            "TraceTable first page + payload",
            f"{table_ms:.1f} ms",
            f"{table_ms / raw_ms:.2f}x raw (goal <= 1.3x)",
        ),
        ("next page (pages 2-11)", f"{median_ms(next_s):.1f} ms", ""),
        *[(label, f"{ms:.1f} ms", "first page") for label, ms in filt.items()],
        ("select_all_matching (ids only)", f"{ids_s * 1000:.0f} ms", f"{selected:,} ids"),
        ("widget payload per page", f"{page_bytes / 1024:.1f} KB", "goal < 1 MB"),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>10}  {note}")


if __name__ == "__main__":
    main()
