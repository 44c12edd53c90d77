"""Browser tier, Notebook 7: the same trace view renders and opens span details in the
classic-style notebook interface, served by the same Jupyter server."""

from __future__ import annotations

import shutil

import pytest
from servers import REPO, artifacts_dir
from test_browser import code_cell, run_cells

pytestmark = pytest.mark.browser


def test_trace_view_works_in_notebook_7(jupyter_lab, page):
    shutil.copy(REPO / "notebooks" / "quickstart.ipynb", jupyter_lab.root_dir / "nb7.ipynb")
    page.goto(f"{jupyter_lab.url}/notebooks/nb7.ipynb?token={jupyter_lab.token}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    page.wait_for_function(
        "() => { const s = document.querySelector('.jp-Notebook-ExecutionIndicator');"
        " return !!s && s.dataset.status === 'idle'; }",
        timeout=60_000,
    )
    page.wait_for_timeout(1000)  # the kernel name settles after the indicator
    run_cells(page)
    view = code_cell(page, 2).locator(".mlfm-tv")
    view.wait_for(timeout=60_000)
    labels = view.locator(".mlfm-row .mlfm-label").all_text_contents()
    assert labels == ["ask", "agent", "retrieve", "lookup_weather", "chat"]
    view.locator(".mlfm-row", has_text="chat").click()
    detail = view.locator(".mlfm-detail")
    detail.locator(".mlfm-dtitle", has_text="chat").wait_for(timeout=10_000)
    assert "Answer, from" in detail.inner_text()
    view.screenshot(path=str(artifacts_dir() / "notebook7-trace-view.png"))
