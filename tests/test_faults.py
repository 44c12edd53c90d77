"""The faults tier: a real ``mlflow server`` over PostgreSQL killed, frozen (SIGSTOP) and
restarted around and inside commands. Every command and widget action answers within seconds in
one sentence, a revived server is usable on the next command, and ``connect`` to a store that
cannot be opened refuses at once, changing nothing."""

from __future__ import annotations

import socket
import time

import pytest
from IPython.core.error import UsageError

pytestmark = pytest.mark.faults

#: What the issue promises for a command against a dead or frozen store.
ANSWER_WITHIN = 10.0


@pytest.fixture
def served(shell, controlled_server):
    """A shell connected to the controlled server, with three traces in a fresh experiment."""
    import uuid

    shell.run(f"%mlflow connect {controlled_server.uri} --experiment faults-{uuid.uuid4().hex[:8]}")
    for i in range(3):
        shell.run(f"%%mlflow trace --name q{i} --quiet\n{i} + 1")
    return shell


def timed(call):
    started = time.monotonic()
    try:
        result = call()
        error = None
    except BaseException as e:
        result, error = None, e
    return result, error, time.monotonic() - started


def one_sentence(error: BaseException | None) -> str:
    assert isinstance(error, UsageError), f"expected one UsageError, got {error!r}"
    message = str(error)
    assert "\n" not in message and "Traceback" not in message, message
    return message


@pytest.mark.parametrize("fault", ["kill", "freeze"])
def test_commands_against_a_dead_or_frozen_server_are_one_sentence_within_seconds(
    served, controlled_server, fault, capsys
):
    served.run("%mlflow traces")  # the health state has just seen the server answer
    served.magics_manager.registry["MlflowMagics"].tracer.recent.clear()  # `show` must ask
    getattr(controlled_server, fault)()
    for command in (
        "%mlflow traces",
        "%mlflow datasets",
        "%mlflow show last",
        "%mlflow prompts",
        "%mlflow models",
        "%mlflow dataset show qa",
        "%mlflow alias prompt qa production 1",
        "%mlflow compare a b",
        "%mlflow experiment other",
        "%mlflow status",
    ):
        _, error, took = timed(lambda: served.run(command))  # noqa: B023 - called at once
        assert took < ANSWER_WITHIN, f"{command} took {took:.1f} s against a {fault} server"
        if command == "%mlflow status":
            assert error is None  # status says where data goes, and that it does not answer
            continue
        message = one_sentence(error)
        assert controlled_server.uri in message, (command, message)
    assert "Traceback" not in capsys.readouterr().err


def test_a_revived_server_is_usable_on_the_next_command(served, controlled_server):
    served.run("%mlflow traces")
    controlled_server.kill()
    with pytest.raises(UsageError):
        served.run("%mlflow traces")
    controlled_server.start()
    table = served.run("%mlflow traces")
    assert table.count == 3


def test_next_page_after_the_server_dies_is_one_sentence(served, controlled_server, capsys):
    table = served.run("t = %mlflow traces --page-size 1\nt")
    assert table.has_next
    controlled_server.kill()
    started = time.monotonic()
    result = served.run_cell("t.next_page()")
    took = time.monotonic() - started
    assert took < ANSWER_WITHIN
    err = capsys.readouterr().err
    # From Python, the result's method refuses with the magic's one sentence, no traceback.
    assert "Cannot reach the store" in err and controlled_server.uri in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert result.error_in_exec is not None


def test_a_widget_action_against_a_frozen_server_answers_within_seconds(served, controlled_server):
    table = served.run("%mlflow traces --page-size 1")
    widget = table.widget.children[0]
    controlled_server.freeze()
    started = time.monotonic()
    widget.act({"action": "next_page", "id": 1})
    assert time.monotonic() - started < ANSWER_WITHIN
    assert controlled_server.uri in widget.error and "\n" not in widget.error


def test_a_server_frozen_in_the_middle_of_a_command_is_one_sentence(
    served, controlled_server, monkeypatch
):
    """The health check passes; the server freezes before MLflow's own request is answered."""
    from mlflow_magics.connection import StoreHealth

    original = StoreHealth.problem

    def answer_then_freeze(self, uri, fresh=False):
        answer = original(self, uri, fresh=fresh)
        controlled_server.freeze()
        return answer

    monkeypatch.setattr(StoreHealth, "problem", answer_then_freeze)
    _, error, took = timed(lambda: served.run("%mlflow traces"))
    message = one_sentence(error)
    assert "stopped answering" in message and controlled_server.uri in message, message
    assert took < ANSWER_WITHIN, took


def test_connect_to_a_closed_postgres_port_fails_at_once_changing_nothing(shell, store_uri):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends
    _, error, took = timed(
        lambda: shell.run(f"%mlflow connect postgresql://u:secret@127.0.0.1:{port}/db")
    )
    message = one_sentence(error)
    assert "nothing changed" in message and "secret" not in message
    assert took < ANSWER_WITHIN
    import mlflow

    assert mlflow.get_tracking_uri() == store_uri


def test_connect_to_a_frozen_postgres_fails_at_once(shell, store_uri):
    """A port that accepts connections and never answers, as a stopped database does."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    try:
        _, error, took = timed(
            lambda: shell.run(f"%mlflow connect postgresql://u:p@127.0.0.1:{port}/db")
        )
    finally:
        listener.close()
    one_sentence(error)
    assert took < ANSWER_WITHIN
    import mlflow

    assert mlflow.get_tracking_uri() == store_uri


def test_connect_to_an_sqlite_file_that_cannot_be_opened_fails_at_once(shell, store_uri):
    _, error, took = timed(lambda: shell.run("%mlflow connect sqlite:////proc/nope.db"))
    message = one_sentence(error)
    assert "nothing changed" in message
    assert took < ANSWER_WITHIN
    import mlflow

    assert mlflow.get_tracking_uri() == store_uri


def test_an_evaluation_whose_server_dies_stops_keeps_its_rows_and_fails_its_run(
    served, controlled_server
):
    import mlflow

    served.user_ns["data"] = [
        {"inputs": {"question": f"q{i}"}, "outputs": f"a{i}"} for i in range(60)
    ]
    served.user_ns["killed"] = {"at": None}
    served.user_ns["server"] = controlled_server
    served.run(
        "import time\n"
        "from mlflow.genai.scorers import scorer\n"
        "seen = []\n"
        "@scorer\n"
        "def slow(outputs):\n"
        "    seen.append(outputs)\n"
        "    if len(seen) == 8 and killed['at'] is None:\n"
        "        killed['at'] = time.monotonic()\n"
        "        server.kill()\n"
        "    time.sleep(0.1)\n"
        "    return True\n"
    )
    magics = served.magics_manager.registry["MlflowMagics"]
    with pytest.raises(UsageError) as refused:
        served.run("%%mlflow evaluate --data data --max-workers 2 --run-name dies\nslow\n")
    stopped_after = time.monotonic() - served.user_ns["killed"]["at"]
    message = one_sentence(refused.value)
    assert stopped_after < 30, stopped_after
    view = magics.last_evaluation
    assert view.status == "failed"
    assert 0 < len(view.rows) < 60
    assert "stopped answering" in message and "of 60 were left" in message, message
    assert mlflow.active_run() is None
    run_id = view.run_id
    # Once the server is back, the run is marked FAILED without anyone asking.
    controlled_server.start()
    deadline = time.monotonic() + 30
    status = None
    while time.monotonic() < deadline:
        status = mlflow.MlflowClient().get_run(run_id).info.status
        if status == "FAILED":
            break
        time.sleep(1)
    assert status == "FAILED"


def test_ctrl_c_stops_an_evaluation_against_a_frozen_server(served, controlled_server):
    served.user_ns["data"] = [{"inputs": {"q": str(i)}, "outputs": str(i)} for i in range(20)]
    served.user_ns["server"] = controlled_server
    served.run(
        "import os, signal, threading\n"
        "from mlflow.genai.scorers import scorer\n"
        "count = []\n"
        "@scorer\n"
        "def freezing(outputs):\n"
        "    count.append(1)\n"
        "    if len(count) == 3:\n"
        "        server.freeze()\n"
        "        threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT)).start()\n"
        "    return True\n"
    )
    started = time.monotonic()
    with pytest.raises((KeyboardInterrupt, UsageError)):
        served.run("%%mlflow evaluate --data data --max-workers 1\nfreezing\n")
    assert time.monotonic() - started < 30
