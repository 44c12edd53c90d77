"""Issue 12, item 1: whatever a traced cell does — raise, be interrupted, leave a value that
can't be recorded — its root span ends and leaves the context, so later traces land. A real
shell on a real SQLite store."""

from __future__ import annotations

import pytest
from conftest import traces_in


def _names_and_states(store_uri):
    return [(t.info.tags.get("mlflow.traceName"), t.info.state.value) for t in traces_in(store_uri)]


@pytest.mark.parametrize("how", ["raise KeyboardInterrupt", "raise SystemExit(3)"])
def test_an_interrupted_cell_does_not_poison_the_cells_after_it(shell, store_uri, how):
    """Before: MLflow's record_exception refused a KeyboardInterrupt, the root span stayed open
    and current, and the next three traced cells nested under it: 0 of 3 reached the store."""
    result = shell.run_cell(f"%%mlflow trace --quiet --name stopped\n{how}")
    assert isinstance(result.error_in_exec, BaseException)  # the cell's own outcome, unchanged
    for i in range(3):
        shell.run(f"%%mlflow trace --quiet --name after{i}\n{i}")
    got = _names_and_states(store_uri)
    assert sorted(got) == [
        ("after0", "OK"),
        ("after1", "OK"),
        ("after2", "OK"),
        ("stopped", "ERROR"),
    ]
    stopped = next(t for t in traces_in(store_uri) if t.info.tags["mlflow.traceName"] == "stopped")
    (root,) = stopped.data.spans  # the later cells did not nest under it
    assert root.status.description.startswith(how.split()[1].split("(")[0])
    assert [e.name for e in root.events] == ["exception"]


def test_a_value_that_cannot_be_recorded_is_a_placeholder_that_says_why(shell, store_uri):
    shell.run("class Bad:\n    def __repr__(self):\n        raise RuntimeError('no repr')")
    shell.run("%%mlflow trace --quiet --name loop\nx = []\nx.append(x)\nx")
    shell.run_cell("%%mlflow trace --quiet --name bad\nBad()")  # IPython's own repr fails too
    shell.run("%%mlflow trace --quiet --name after\n1")
    outputs = {
        t.info.tags["mlflow.traceName"]: t.data.spans[0].outputs for t in traces_in(store_uri)
    }
    assert outputs["after"] == 1
    assert "not recorded" in outputs["loop"] and "Circular reference" in outputs["loop"]
    assert "not recorded" in outputs["bad"] and "no repr" in outputs["bad"]
