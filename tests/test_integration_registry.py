"""Integration tier for the alias board: the same commands against a real `mlflow server` over
PostgreSQL, including two clients racing to move the same alias."""

from __future__ import annotations

import secrets

import mlflow
import pytest
from IPython.core.error import UsageError

from mlflow_magics import registry
from mlflow_magics.views.alias_board import AliasBoard

pytestmark = pytest.mark.integration

SCRIPT = "<script>window.__xss=1</script>"


@pytest.fixture
def remote(shell, mlflow_server):
    shell.run(f"%mlflow connect {mlflow_server.uri} --experiment registry-it")
    return shell


@pytest.fixture
def prompt(remote) -> str:
    """A prompt of three versions on the server (a fresh name per test: the server is shared),
    versions 1 and 2 evaluated in runs MLflow links them to; v2's scorer mean is lower."""
    from mlflow.genai.scorers import scorer

    name = f"qa-{secrets.token_hex(3)}"
    for i in range(3):
        mlflow.genai.register_prompt(
            name,
            template=f"Version {i + 1}\n{SCRIPT}\nQuestion: {{{{question}}}}",
            commit_message=f"v{i + 1}",
            model_config={"temperature": i / 10},
        )

    @scorer
    def correct(outputs) -> bool:
        return outputs == "right"

    for version, answer in ((1, "right"), (2, "wrong")):

        def predict(question: str, _v=version, _a=answer) -> str:
            mlflow.genai.load_prompt(f"prompts:/{name}/{_v}")
            return _a

        with mlflow.start_run(run_name=f"eval-v{version}"):
            mlflow.genai.evaluate(
                data=[{"inputs": {"question": "q"}}], predict_fn=predict, scorers=[correct]
            )
    return name


def test_board_diff_gate_and_undo_over_http(remote, prompt, mlflow_server):
    client = mlflow.MlflowClient(mlflow_server.uri)
    assert remote.run(f"%mlflow alias prompt {prompt} production 1").after == 1
    board = remote.run(f"%mlflow prompts {prompt}")
    assert board.versions == [3, 2, 1]
    assert board.aliases == {"production": 1}
    diff = remote.run(f"%mlflow diff prompt {prompt} 1 2")
    assert ("-", "Version 1") in diff.lines and ("+", "Version 2") in diff.lines
    with pytest.raises(UsageError, match=r"(?s)Gate refused production: v1 → v2.*correct"):
        remote.run(f"%mlflow alias prompt {prompt} production 2 --gate")
    with pytest.raises(UsageError, match="no evaluation run with scorer means is linked to v3"):
        remote.run(f"%mlflow alias prompt {prompt} production 3 --gate")
    board.move("production", 2, gate=True, force=True)
    board.confirm()
    assert int(client.get_prompt_version_by_alias(prompt, "production").version) == 2
    last = board.history("production")[0]
    assert (last.before, last.after, last.forced) == (1, 2, True)
    board.undo("production")
    board.confirm()
    assert int(client.get_prompt_version_by_alias(prompt, "production").version) == 1
    last = board.history("production")[0]
    assert (last.before, last.after, last.undo) == (2, 1, True)
    assert "<script" not in board.to_html() and "&lt;script&gt;" in board.to_html()


def test_two_clients_race_to_move_the_same_alias(remote, prompt, mlflow_server):
    first = mlflow.MlflowClient(mlflow_server.uri)
    second = mlflow.MlflowClient(mlflow_server.uri)
    registry.move_alias(first, "prompt", prompt, "production", 1)
    boards = [AliasBoard(first, "prompt", prompt), AliasBoard(second, "prompt", prompt)]
    assert boards[0].aliases == boards[1].aliases == {"production": 1}
    boards[0].move("production", 2)
    boards[1].move("production", 3)
    boards[0].confirm()
    with pytest.raises(registry.StaleAlias, match="it points at v2 now, not v1"):
        boards[1].confirm()
    assert int(second.get_prompt_version_by_alias(prompt, "production").version) == 2
    assert boards[1].aliases == {"production": 2}  # the loser's board refreshed
    moves = registry.read_board(second, "prompt", prompt).history("production")
    assert [(m.before, m.after) for m in moves] == [(1, 2), (None, 1)]
    # the line command checks nothing it was not shown, but a board drawn now goes through
    boards[1].move("production", 3)
    boards[1].confirm()
    assert int(first.get_prompt_version_by_alias(prompt, "production").version) == 3


def test_history_records_of_concurrent_writers_are_all_kept(remote, prompt, mlflow_server):
    """Each move is its own tag: two clients recording moves of different aliases at the same
    time never overwrite each other's record."""
    import threading

    clients = [mlflow.MlflowClient(mlflow_server.uri) for _ in range(4)]
    barrier = threading.Barrier(len(clients))
    errors: list[BaseException] = []

    def move(client, alias):
        try:
            barrier.wait(timeout=30)
            registry.move_alias(client, "prompt", prompt, alias, 2)
        except BaseException as e:
            errors.append(e)

    threads = [
        threading.Thread(target=move, args=(c, f"canary-{i}")) for i, c in enumerate(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    board = registry.read_board(clients[0], "prompt", prompt)
    assert sorted(m.alias for m in board.moves) == [f"canary-{i}" for i in range(4)]


def test_model_champion_over_http(remote, mlflow_server):
    name = f"clf-{secrets.token_hex(3)}"
    client = mlflow.MlflowClient(mlflow_server.uri)
    client.create_registered_model(name)
    for score in (0.9, 0.95):
        with mlflow.start_run() as run:
            mlflow.log_metric("correct/mean", score)
        client.create_model_version(
            name, source=f"{run.info.artifact_uri}/model", run_id=run.info.run_id
        )
    remote.run(f"%mlflow alias model {name} champion 1")
    moved = remote.run(f"%mlflow alias model {name} champion 2 --gate")
    assert "gate passed" in moved.to_text()
    board = remote.run(f"%mlflow models {name}")
    assert board.aliases == {"champion": 2}
    assert dict(board.board.version(2).metrics)["correct/mean"] == pytest.approx(0.95)
    remote.run(f"%mlflow alias model {name} champion --undo")
    assert client.get_model_version_by_alias(name, "champion").version == "1"


def test_unknown_names_over_http_are_one_usage_error(remote, prompt):
    with pytest.raises(UsageError, match=rf"Did you mean '{prompt}'\?"):
        remote.run(f"%mlflow prompts {prompt}x")
    with pytest.raises(UsageError, match="no version 7"):
        remote.run(f"%mlflow alias prompt {prompt} production 7")
