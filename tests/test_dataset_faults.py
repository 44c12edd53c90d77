"""Datasets under races and a dying server (faults tier).

- Two kernels (real processes, each an IPython shell with the extension) run
  ``%mlflow dataset create NAME`` at the same moment, on the embedded SQLite store and on a real
  ``mlflow server`` over PostgreSQL: afterwards exactly one dataset NAME exists, holding each
  record once; each kernel either reports the records (the loser says it added to the dataset
  the other kernel created) or is refused with "already exists" in one sentence.
- The server dies while a create writes its records: one sentence, and the same create run
  again once the server is back makes the dataset, once.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import mlflow
import pytest
from IPython.core.error import UsageError
from servers import _libpq
from test_datasets import make_traces

pytestmark = pytest.mark.faults

ROUNDS = 3
KERNELS = 2

#: One racing kernel: connects, warms up, then for each round waits at the start line and runs
#: the create, writing what the user saw to a file.
RACER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    uri, experiment, work, me, rounds = sys.argv[1:6]
    work = Path(work)
    config = Config()
    config.HistoryManager.enabled = False
    ip = InteractiveShell.instance(config=config)

    def run(cell):
        result = ip.run_cell(cell, store_history=False)
        return result

    run("%load_ext mlflow_magics").raise_error()
    run(f"%mlflow connect {uri} --experiment {experiment}").raise_error()
    run("%mlflow datasets").raise_error()  # everything imported before the start line
    for n in range(int(rounds)):
        (work / f"ready-{n}-{me}").touch()
        go = work / f"go-{n}"
        while not go.exists():
            time.sleep(0.0005)
        result = run(f"%mlflow dataset create race-{n} --from all")
        error = result.error_in_exec or result.error_before_exec
        if error is not None:
            seen = {"error": f"{type(error).__name__}: {error}"}
        else:
            seen = {"sentence": result.result.merge.sentence()}
        (work / f"seen-{n}-{me}.json").write_text(json.dumps(seen))
    """
)


def _wait_for(paths: list[Path], procs: list[subprocess.Popen], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not all(p.exists() for p in paths):
        for proc in procs:
            if proc.poll() is not None:
                out, err = proc.communicate()
                raise AssertionError(f"a racing kernel ended early:\n{out}\n{err[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"racing kernels did not reach {[str(p) for p in paths]}")
        time.sleep(0.01)


def race(uri: str, experiment: str, work: Path) -> list[list[dict]]:
    """Run ROUNDS races of KERNELS processes creating ``race-N``; what each kernel saw."""
    script = work / "racer.py"
    script.write_text(RACER)
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), uri, experiment, str(work), str(i), str(ROUNDS)],
            cwd=work,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(KERNELS)
    ]
    seen = []
    try:
        for n in range(ROUNDS):
            _wait_for([work / f"ready-{n}-{i}" for i in range(KERNELS)], procs, 180)
            (work / f"go-{n}").touch()
            outcome = [work / f"seen-{n}-{i}.json" for i in range(KERNELS)]
            _wait_for(outcome, procs, 120)
            seen.append([json.loads(p.read_text()) for p in outcome])
        for proc in procs:
            proc.communicate(timeout=60)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    return seen


def assert_one_dataset_each_record_once(uri: str, seen: list[list[dict]], trace_ids: set[str]):
    client = mlflow.MlflowClient(tracking_uri=uri)
    for n, outcomes in enumerate(seen):
        name = f"race-{n}"
        found = [
            d for d in client.search_datasets(filter_string=f"name = '{name}'") if d.name == name
        ]
        assert len(found) == 1, (
            f"round {n}: {len(found)} datasets named {name}; kernels saw {outcomes}"
        )
        records = client.get_dataset(found[0].dataset_id).records
        sources = [r.source_id for r in records]
        assert sorted(sources) == sorted(trace_ids), f"round {n}: {sources}"
        for outcome in outcomes:
            if "error" in outcome:  # the loser may be refused, in one sentence
                assert outcome["error"].startswith("UsageError: Dataset "), outcome
                assert "already exists" in outcome["error"] and "\n" not in outcome["error"]
            else:
                assert outcome["sentence"].startswith(("Created 'race-", "Dataset 'race-"))
        assert any(o.get("sentence", "").startswith("Created") for o in outcomes), outcomes


def test_two_kernels_creating_one_name_on_sqlite_make_one_dataset(shell, store_uri, tmp_path):
    ids = set(make_traces(5))
    seen = race(store_uri, "Default", tmp_path)
    assert_one_dataset_each_record_once(store_uri, seen, ids)


def test_two_kernels_creating_one_name_on_the_server_make_one_dataset(
    shell, mlflow_server, tmp_path
):
    experiment = f"race-{time.time_ns()}"
    shell.run(f"%mlflow connect {mlflow_server.uri} --experiment {experiment}")
    ids = set(make_traces(5))
    seen = race(mlflow_server.uri, experiment, tmp_path)
    assert_one_dataset_each_record_once(mlflow_server.uri, seen, ids)


def test_a_create_whose_record_write_dies_with_the_server_leaves_one_sentence_and_runs_again(
    shell, controlled_server
):
    import psycopg

    stamp = time.time_ns()
    shell.run(f"%mlflow connect {controlled_server.uri} --experiment killed-{stamp}")
    ids = set(make_traces(4))
    name = f"killed-{stamp}"
    # The records' table is locked, so the server's write of them waits; the dataset itself is
    # made. Once it exists, the server is killed in the middle of the write.
    lock = psycopg.connect(_libpq(controlled_server.backend_store_uri), connect_timeout=10)
    # SHARE: reads go on (a dataset's record count), writes wait
    lock.execute("LOCK TABLE evaluation_dataset_records IN SHARE MODE")
    failures: list[BaseException] = []

    def kill_mid_write():
        try:
            uri = _libpq(controlled_server.backend_store_uri)
            with psycopg.connect(uri, autocommit=True, connect_timeout=10) as watch:
                deadline = time.monotonic() + 60
                made = "SELECT 1 FROM evaluation_datasets WHERE name = %s"
                waiting = (
                    "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query ILIKE '%%evaluation_dataset_records%%'"
                )
                while not (
                    watch.execute(made, (name,)).fetchone() and watch.execute(waiting).fetchone()
                ):
                    assert time.monotonic() < deadline, "the records' write never started"
                    time.sleep(0.02)
            controlled_server.kill()  # the dataset is made; its records' write waits on the lock
        except BaseException as e:  # reported by the test, not lost in the thread
            failures.append(e)
        finally:
            lock.rollback()
            lock.close()

    killer = threading.Thread(target=kill_mid_write)
    killer.start()
    try:
        with pytest.raises(UsageError) as info:
            shell.run(f"%mlflow dataset create {name} --from all")
    finally:
        killer.join(timeout=90)
    assert not failures, failures
    # One sentence: the create's own (the write failed), or the command's (the store stopped
    # answering, whichever notices first); either way the next create of the name works.
    message = str(info.value)
    assert "\n" not in message, message
    assert message.startswith(f"Could not write the 4 records of new dataset '{name}'") or (
        "stopped answering during the command" in message
    ), message
    assert re.search(r"(command can be|run the command) (run )?again", message), message

    controlled_server.start()
    ds = shell.run(f"%mlflow dataset create {name} --from all")
    assert {r.source_trace for r in ds.records} == ids
    client = mlflow.MlflowClient()
    same = [d for d in client.search_datasets(filter_string=f"name = '{name}'") if d.name == name]
    assert len(same) == 1
