"""Alias moves under faults and races: no move without its record, one winner of two boards
confirming at once, and an undo that cannot undo itself."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import mlflow
import pytest
from IPython.core.error import UsageError

from mlflow_magics import registry


def prompt_with_versions(name: str, n: int = 3) -> None:
    for i in range(n):
        mlflow.genai.register_prompt(name=name, template=f"Answer {{{{q}}}} ({i + 1}).")


@pytest.fixture
def qa(shell):
    prompt_with_versions("qa")
    shell.run("%mlflow alias prompt qa production 1")
    return shell


def history(name: str = "qa", alias: str = "production") -> list[registry.Move]:
    board = registry.read_board(mlflow.MlflowClient(), "prompt", name)
    return board.history(alias)


def aliases(name: str = "qa") -> dict[str, int]:
    return registry.read_board(mlflow.MlflowClient(), "prompt", name).aliases


def test_a_move_whose_record_cannot_be_written_does_not_happen(qa, monkeypatch):
    def refuse(*args):
        raise mlflow.exceptions.MlflowException("tag store is read-only")

    monkeypatch.setattr(registry, "_set_tag", refuse)
    with pytest.raises(UsageError) as refused:
        qa.run("%mlflow alias prompt qa production 2")
    assert "could not be recorded" in str(refused.value) and "nothing moved" in str(refused.value)
    assert "\n" not in str(refused.value)
    assert aliases()["production"] == 1


def test_a_move_whose_completion_mark_is_lost_still_reads_as_done_and_undoes(qa, monkeypatch):
    real, calls = registry._set_tag, []

    def lose_the_second_write(*args):
        calls.append(args)
        if len(calls) == 2:
            raise mlflow.exceptions.MlflowException("connection dropped")
        return real(*args)

    monkeypatch.setattr(registry, "_set_tag", lose_the_second_write)
    qa.run("%mlflow alias prompt qa production 2")
    monkeypatch.setattr(registry, "_set_tag", real)
    assert aliases()["production"] == 2
    newest = history()[0]
    assert (newest.before, newest.after) == (1, 2)
    qa.run("%mlflow alias prompt qa production --undo")
    assert aliases()["production"] == 1


def test_a_move_that_fails_leaves_no_record(qa, monkeypatch):
    def fail(*args):
        raise mlflow.exceptions.MlflowException("store failed the write")

    monkeypatch.setattr(registry, "_set_alias", fail)
    with pytest.raises(Exception, match="store failed the write"):
        qa.run("%mlflow alias prompt qa production 3")
    monkeypatch.undo()
    assert aliases()["production"] == 1
    assert [(m.before, m.after) for m in history()] == [(None, 1)]
    tags = mlflow.MlflowClient().get_prompt("qa").tags
    assert not any("pending" in v for k, v in tags.items() if k.startswith(registry.HISTORY_PREFIX))


def test_the_boards_confirm_refuses_in_one_sentence_when_the_record_cannot_be_written(
    qa, monkeypatch
):
    board = qa.run("%mlflow prompts qa")
    control = board.widget

    def refuse(*args):
        raise mlflow.exceptions.MlflowException("tag store is read-only")

    monkeypatch.setattr(registry, "_set_tag", refuse)
    control.act({"action": "move", "alias": "production", "version": 3})
    control.act({"action": "confirm", "id": 1})
    assert "could not be recorded" in control.error and "\n" not in control.error
    assert aliases()["production"] == 1


def test_a_second_undo_says_there_is_nothing_left_to_undo(qa):
    qa.run("%mlflow alias prompt qa production 3")
    qa.run("%mlflow alias prompt qa production --undo")
    assert aliases()["production"] == 1
    with pytest.raises(UsageError, match="Nothing left to undo"):
        qa.run("%mlflow alias prompt qa production --undo")
    assert aliases()["production"] == 1


def test_a_stale_claim_of_a_dead_writer_does_not_block_moves(qa):
    """A pending record older than a minute is a writer that died mid-move."""
    client = mlflow.MlflowClient()
    old = int(time.time() * 1000) - registry.CLAIM_LIFETIME_MS - 1000
    dead = registry.Move("production", 1, 3, "ghost", "", pending=True)
    client.set_prompt_tag("qa", registry._history_key(old), json.dumps(dead.to_json()))
    qa.run("%mlflow alias prompt qa production 2")
    assert aliases()["production"] == 2
    assert [(m.before, m.after) for m in history()][:2] == [(1, 2), (None, 1)]


RACER = textwrap.dedent(
    """
    import json, sys, time
    import mlflow
    from mlflow_magics.views.alias_board import AliasBoard
    from mlflow_magics.errors import BadInput

    uri, name, target, plan = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = mlflow.MlflowClient()
    out = []
    for alias, at in plan:
        board = AliasBoard(client, "prompt", name)
        assert board.board.aliases[alias] == 1, board.board.aliases
        board.move(alias, target)
        while time.time() < at:
            time.sleep(0.0005)
        try:
            board.confirm()
            out.append({"alias": alias, "won": True})
        except BadInput as e:
            out.append({"alias": alias, "won": False, "why": str(e)})
    print(json.dumps(out))
    """
)


@pytest.mark.faults
def test_two_boards_confirming_5_ms_apart_have_exactly_one_winner(shell, mlflow_server, tmp_path):
    shell.run(f"%mlflow connect {mlflow_server.uri}")
    name = f"race-{int(time.time() * 1000)}"
    prompt_with_versions(name)
    rounds = [f"r{i}" for i in range(5)]
    client = mlflow.MlflowClient()
    for alias in rounds:
        client.set_prompt_alias(name, alias, 1)
    start = time.time() + 25  # both processes imported and drew their boards by then
    first = [[alias, start + 3 * i] for i, alias in enumerate(rounds)]
    # The second writer confirms 5 ms after the first; who goes first alternates.
    second = [[alias, at + 0.005] for alias, at in first]
    plans = {
        2: [p if i % 2 == 0 else q for i, (p, q) in enumerate(zip(first, second, strict=True))]
    }
    plans[3] = [q if i % 2 == 0 else p for i, (p, q) in enumerate(zip(first, second, strict=True))]
    procs = {
        target: subprocess.Popen(
            [sys.executable, "-c", RACER, mlflow_server.uri, name, str(target), json.dumps(plan)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for target, plan in plans.items()
    }
    results = {}
    for target, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results[target] = json.loads(out.strip().splitlines()[-1])
    board = registry.read_board(client, "prompt", name)
    # Exactly one winner each round. Which one is the writer that reached its record first:
    # on a loaded machine a process can wake a few milliseconds after its planned instant.
    for i, alias in enumerate(rounds):
        two, three = results[2][i], results[3][i]
        assert [two["won"], three["won"]].count(True) == 1, (alias, two, three)
        winner, loser = (2, three) if two["won"] else (3, two)
        assert board.aliases[alias] == winner
        assert f"v{winner}" in loser["why"], loser
        newest = board.history(alias)[0]
        assert (newest.before, newest.after) == (1, winner)
