"""Notebook tier: every notebook in notebooks/ runs top to bottom on a fresh embedded store."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted(
    p
    for p in (Path(__file__).parent.parent / "notebooks").glob("*.ipynb")
    if not p.name.endswith(".executed.ipynb")
)


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path, tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    assert (tmp_path / "mlflow.db").exists()  # the embedded store, in the notebook's folder
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    views = [o for o in outputs if "mlfm-trace" in o.get("data", {}).get("text/html", "")]
    assert views, "no trace view was displayed"
    for view in views:  # every tier rides along: widget in a live kernel, HTML, text
        assert "application/vnd.jupyter.widget-view+json" in view["data"]
        assert view["data"]["text/plain"].startswith("Trace tr-")
