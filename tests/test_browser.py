"""Browser tier: a real JupyterLab in headless Chromium runs notebooks; the tests assert on the
trace view's rendered DOM, click spans, and save screenshots to ``test-artifacts/``."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import nbformat
import pytest
from servers import REPO, artifacts_dir

pytestmark = pytest.mark.browser

KERNEL_START = 60_000  # ms: first kernel start imports mlflow
NOTEBOOK_RUN = 60_000  # ms


# --- helpers ---------------------------------------------------------------------------------


def write_notebook(root: Path, name: str, cells: list[str]) -> str:
    """A code-cell notebook on the venv's ``python3`` kernelspec (no "Select Kernel" dialog)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nbformat.write(nb, root / name)
    return name


def open_notebook(page, lab, name: str) -> None:
    """Open ``name`` and wait until its kernel is idle."""
    page.goto(lab.notebook_url(name))
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=KERNEL_START)
    wait_idle(page, KERNEL_START)


def wait_idle(page, timeout: float = NOTEBOOK_RUN) -> None:
    """Wait until the notebook's kernel is idle with nothing queued."""
    page.wait_for_selector(
        '.jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status="idle"]', timeout=timeout
    )


def run_menu(page, item: str) -> None:
    """Click ``Run > item`` in the menu bar ("Run All Cells", "Run Selected Cell", ...)."""
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name=item, exact=True).click()


def run_all(page) -> None:
    """Run every cell and wait for the kernel to finish."""
    run_menu(page, "Run All Cells")
    # The indicator turns busy only once the first request reaches the kernel.
    page.wait_for_selector(
        '.jp-NotebookPanel .jp-Notebook-ExecutionIndicator:not([data-status="idle"])',
        timeout=10_000,
    )
    wait_idle(page)


def screenshot(target, name: str) -> Path:
    path = artifacts_dir() / name
    target.screenshot(path=str(path))
    return path


# --- tests -----------------------------------------------------------------------------------


def test_quickstart_trace_view_renders_and_span_details_open(jupyter_lab, page):
    shutil.copy(REPO / "notebooks" / "quickstart.ipynb", jupyter_lab.root_dir / "quickstart.ipynb")
    page.goto(jupyter_lab.notebook_url("quickstart.ipynb"))
    t0 = time.time()
    for i in range(40):
        time.sleep(0.1)
        print(round(time.time()-t0,2), page.evaluate("""() => [
          [...document.querySelectorAll('.jp-Notebook-ExecutionIndicator')].map(e => e.dataset.status),
          [...document.querySelectorAll('.jp-KernelName, .jp-Toolbar-kernelName')].map(e => e.textContent),
          [...document.querySelectorAll('.jp-StatusBar-TextItem')].map(e => e.textContent).join('|'),
          [...document.querySelectorAll('.jp-Toolbar-kernelStatus, .jp-KernelStatus')].map(e => e.className + e.title)]"""))
    run_all(page)

    view = page.locator(".mlfm-tv").first
    view.wait_for(timeout=NOTEBOOK_RUN)
    labels = view.locator(".mlfm-row .mlfm-label").all_inner_texts()
    print(labels)
