"""Terminal IPython: a ``%%mlflow trace`` cell is read to its end before it runs, like
``%%timeit``. Terminal IPython (and a kernel answering ``is_complete``) asks the shell's
``check_complete`` after every Enter; the cell must stay incomplete until a blank line, so that
the body runs inside the cell's span instead of on its own, untraced."""

from __future__ import annotations

import os
import sys
import time

import pytest
from conftest import traces_in

pexpect = pytest.importorskip("pexpect")


@pytest.mark.parametrize(
    "cell",
    [
        "%%mlflow trace\n",
        "%%mlflow trace --name answer --tag env=dev\n",
        "%%mlflow trace --quiet\nanswer = 6 * 7\n",
        "%%mlflow trace --nope\n",  # flags that do not parse: still a cell, refused when run
    ],
)
def test_a_traced_cell_is_incomplete_until_a_blank_line_like_timeit(shell, cell):
    check = shell.input_transformer_manager.check_complete
    assert check("%%timeit\n")[0] == "incomplete"  # the behaviour to match
    assert check(cell)[0] == "incomplete"
    assert check(cell + "\n")[0] == "complete"


def test_a_cell_completed_by_its_blank_line_runs_traced(shell, store_uri):
    check = shell.input_transformer_manager.check_complete
    typed = "%%mlflow trace --quiet --name typed\nanswer = 6 * 7\n"
    assert check(typed)[0] == "incomplete"
    assert check(typed + "\n")[0] == "complete"
    shell.run(typed + "\n")
    assert shell.user_ns["answer"] == 42
    (trace,) = traces_in(store_uri)
    root = trace.data.spans[0]
    assert root.name == "typed"
    assert "answer = 6 * 7" in root.inputs["cell"]


def test_unload_removes_the_transformer(shell):
    magics = shell.magics_manager.registry["MlflowMagics"]
    assert magics._transformer in shell.input_transformers_cleanup
    shell.run("%unload_ext mlflow_magics")
    assert magics._transformer not in shell.input_transformers_cleanup
    assert shell.input_transformer_manager.check_complete("%%mlflow trace\n")[0] == "incomplete"
    shell.run("%load_ext mlflow_magics")


def test_terminal_ipython_reads_the_body_then_runs_it_traced(tmp_path, store_uri):
    """Real terminal IPython (prompt_toolkit) in a pty. The keys typed are those that run a
    ``%%timeit`` cell there: the magic line, Enter, a body line, Enter, then Enter on blank
    lines until the cell is complete (IPython wants the cell to end in a blank line)."""
    env = {
        **os.environ,
        "IPYTHONDIR": str(tmp_path / "ipython"),
        "PROMPT_TOOLKIT_NO_CPR": "1",
        "TERM": "xterm",
        "MLFLOW_TRACKING_URI": "",
    }
    child = pexpect.spawn(
        sys.executable,
        [
            "-m",
            "IPython",
            "--no-banner",
            "--no-confirm-exit",
            "--colors=NoColor",
            "--HistoryManager.enabled=False",
            "--TerminalInteractiveShell.autosuggestions_provider=None",
        ],
        cwd=str(tmp_path),
        env=env,
        encoding="utf-8",
        dimensions=(40, 200),
        timeout=90,
    )

    def type_cell(first: str, body: str) -> None:
        for keys in (first, body, "", ""):
            child.send(keys + "\r")
            time.sleep(0.3)  # one key press after another, as a person types

    try:
        child.expect(r"In \[1\]")
        child.send("%load_ext mlflow_magics\r")
        child.expect(r"In \[2\]")
        child.send(f"_ = %mlflow connect {store_uri}\r")
        child.expect(r"In \[3\]")
        type_cell("%%timeit -n1 -r1", "timed = 1")
        child.expect(r"In \[4\]")
        assert "loop" in child.before  # the reference: %%timeit ran its body, once
        type_cell("%%mlflow trace --quiet --name typed", "answer = 6 * 7")
        child.expect(r"In \[5\]")
        child.send("import mlflow; mlflow.flush_trace_async_logging(); print('answer', answer)\r")
        child.expect(r"In \[6\]")
        assert "answer 42" in child.before
        child.send("exit\r")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    traces = traces_in(store_uri)
    assert [t.data.spans[0].name for t in traces] == ["typed"]
    assert "answer = 6 * 7" in traces[0].data.spans[0].inputs["cell"]
