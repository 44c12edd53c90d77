"""Notebook tier: every notebook in notebooks/ runs top to bottom on a fresh embedded store, then
again in the same folder."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from judge_server import JudgeServer
from nbclient import NotebookClient

NOTEBOOKS = sorted(
    p
    for p in (Path(__file__).parent.parent / "notebooks").glob("*.ipynb")
    if not p.name.endswith(".executed.ipynb")
)


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom_twice_in_one_folder(path, tmp_path, monkeypatch):
    """A user runs a notebook again where it ran before (same folder, so the same
    mlflow.db): every cell must work on a store that already holds the first run's
    experiments, datasets, prompts, models and runs of the same names."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    # The LLM judges of the evaluation notebook call tests/judge_server.py, an
    # OpenAI-compatible server standing in for an LLM (none is reachable here); the kernel
    # inherits these variables. No network: MLflow's model catalog comes from its bundle.
    judge = JudgeServer().start()
    monkeypatch.setenv("OPENAI_BASE_URL", judge.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("MLFLOW_MODEL_CATALOG_URI", "")
    try:
        for run in ("first", "second"):
            _run_and_check(path, tmp_path, run)
    finally:
        judge.stop()


def _run_and_check(path: Path, folder: Path, run: str) -> None:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(folder)}}
    ).execute()
    assert (folder / "mlflow.db").exists()  # the embedded store, in the notebook's folder
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    errors = [f"{o.ename}: {o.evalue}" for o in outputs if o.output_type == "error"]
    assert not errors, f"{run} run: {errors}"
    views = [o for o in outputs if "mlfm-trace" in o.get("data", {}).get("text/html", "")]
    assert views, f"{run} run: no trace view was displayed"
    for view in views:  # every tier rides along: widget in a live kernel, HTML, text
        assert "application/vnd.jupyter.widget-view+json" in view["data"]
        assert view["data"]["text/plain"].startswith("Trace tr-")
