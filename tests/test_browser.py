"""Browser tier: a real JupyterLab in headless Chromium runs notebooks, and the tests assert on
the trace view's rendered DOM, click spans, and save screenshots to ``test-artifacts/``."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import nbformat
import pytest
from servers import REPO, artifacts_dir

pytestmark = pytest.mark.browser

KERNEL_START = 60_000  # ms; the first kernel of a session also pays for importing mlflow
NOTEBOOK_RUN = 60_000  # ms

# The kernel is ready once the toolbar names it and its execution indicator says idle. The
# indicator alone reads "idle" while the status bar still says "No Kernel | Initializing", and
# running then brings up the "Select Kernel" dialog.
_KERNEL_IDLE = """() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  const name = panel && panel.querySelector('.jp-KernelName');
  const state = panel && panel.querySelector('.jp-Notebook-ExecutionIndicator');
  return !!name && !!state && name.textContent.trim() !== ''
    && name.textContent !== 'No Kernel' && state.dataset.status === 'idle';
}"""

# Every code cell (optionally only those before the selected one) shows an execution count.
_CELLS_RAN = """(upToActive) => {
  const cells = [...document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell')];
  const end = upToActive ? cells.findIndex(c => c.classList.contains('jp-mod-active')) : -1;
  const code = (end >= 0 ? cells.slice(0, end) : cells)
    .filter(c => c.classList.contains('jp-CodeCell'));
  return code.every(c => /\\[\\d+\\]/.test(c.querySelector('.jp-InputPrompt').textContent));
}"""

# Stamps performance.now() on window as things happen, for timing one cell from the browser:
# __mlfmRunAt at the next pointer release (the click on a Run menu item), __mlfmStdoutAt when the
# cell's printed "kernel ... ms" line appears (the kernel finished `%mlflow show`), __mlfmRowsAt
# when a trace-view row exists in `cell`. Event listeners and a MutationObserver, so polling adds
# nothing to the measurement.
_WATCH_CELL = """(cell) => {
  for (const k of ['__mlfmRunAt', '__mlfmStdoutAt', '__mlfmRowsAt']) delete window[k];
  document.addEventListener('pointerup', () => { window.__mlfmRunAt = performance.now(); },
    {capture: true, once: true});
  new MutationObserver((_, obs) => {
    const now = performance.now();
    if (window.__mlfmStdoutAt === undefined && /kernel \\d+ ms/.test(cell.textContent))
      window.__mlfmStdoutAt = now;
    if (cell.querySelector('.mlfm-tv .mlfm-row')) { window.__mlfmRowsAt = now; obs.disconnect(); }
  }).observe(cell, {childList: true, subtree: true, characterData: true});
}"""


# --- helpers ---------------------------------------------------------------------------------


def write_notebook(root: Path, name: str, cells: list[str]) -> str:
    """A notebook of code cells on the venv's ``python3`` kernelspec."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    return save_unexecuted(nb, root, name)


def save_unexecuted(nb, root: Path, name: str) -> str:
    """Save ``nb`` without outputs or execution counts (``run_cells`` waits for fresh ones), on
    the venv's ``python3`` kernelspec (no "Select Kernel" dialog)."""
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(nb, root / name)
    return name


def open_notebook(page, lab, name: str) -> None:
    """Open ``name`` from the lab's root dir and wait until its kernel is idle."""
    page.goto(lab.notebook_url(name))
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=KERNEL_START)
    page.wait_for_function(_KERNEL_IDLE, timeout=KERNEL_START)


def run_cells(page, item: str = "Run All Cells", timeout: float = NOTEBOOK_RUN) -> None:
    """Click ``Run > item`` in the menu bar; wait until the cells ran and the kernel is idle.

    ``item`` is "Run All Cells" or "Run All Above Selected Cell"."""
    run_menu(page, item)
    page.wait_for_function(
        _CELLS_RAN, arg=item == "Run All Above Selected Cell", polling=250, timeout=timeout
    )
    page.wait_for_function(_KERNEL_IDLE, timeout=timeout)


def run_menu(page, item: str) -> None:
    run_menu_item(page, item).click()


def run_menu_item(page, item: str):
    """Open the Run menu; return its entry ``item``."""
    page.get_by_role("menuitem", name="Run", exact=True).click()
    # The accessible name ends with the item's shortcut, if it has one.
    return page.get_by_role("menuitem", name=re.compile(f"^{re.escape(item)}"))


def code_cell(page, index: int):
    """The ``index``-th code cell (negative counts from the end)."""
    cells = page.locator(".jp-NotebookPanel .jp-Notebook .jp-CodeCell")
    return cells.nth(index)


def select_cell(cell) -> None:
    """Make ``cell`` the active cell, in command mode."""
    cell.locator(".jp-InputPrompt").click()


def width_percent(bar) -> float:
    style = bar.get_attribute("style") or ""
    match = re.search(r"width:\s*([\d.]+)%", style)
    assert match, f"no percentage width in {style!r}"
    return float(match[1])


def no_injected_elements(scope) -> None:
    """Nothing the trace's strings could have injected exists under ``scope``."""
    for tag in ("script", "img", "svg", "iframe", "a"):
        assert scope.locator(tag).count() == 0, f"<{tag}> inside {scope}"


@pytest.fixture(autouse=True)
def _shut_down_kernels(jupyter_lab):
    """Each test's kernel goes at its end (the big trace's one holds 50,000 spans)."""
    yield
    for session in _lab_api(jupyter_lab, "GET", "/api/sessions"):
        _lab_api(jupyter_lab, "DELETE", f"/api/sessions/{session['id']}")


def _lab_api(lab, method: str, path: str):
    request = urllib.request.Request(
        f"{lab.url}{path}", method=method, headers={"Authorization": f"token {lab.token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
    return json.loads(body) if body else None


# --- tests -----------------------------------------------------------------------------------


def test_quickstart_trace_view_renders_and_span_details_open(jupyter_lab, page):
    quickstart = nbformat.read(REPO / "notebooks" / "quickstart.ipynb", as_version=4)
    name = save_unexecuted(quickstart, jupyter_lab.root_dir, "quickstart.ipynb")
    open_notebook(page, jupyter_lab, name)
    run_cells(page)

    view = page.locator(".mlfm-tv").first
    view.wait_for(timeout=NOTEBOOK_RUN)
    rows = view.locator(".mlfm-row")
    labels = rows.locator(".mlfm-label").all_inner_texts()
    assert labels == ["ask", "agent", "retrieve", "lookup_weather", "chat"]

    def row(label: str):
        return rows.filter(has=page.locator(".mlfm-label", has_text=re.compile(f"^{label}$")))

    assert "err" in (row("lookup_weather").get_attribute("class") or "").split()
    assert view.locator(".mlfm-row.err").count() == 1
    for r in rows.all():
        bar = r.locator(".mlfm-wf > .mlfm-bar")
        assert width_percent(bar) > 0
        assert bar.bounding_box()["width"] >= 1
    assert view.locator(".mlfm-hdr .mlfm-title").inner_text() == "ask"
    assert view.locator(".mlfm-hdr .mlfm-count").inner_text() == "5 spans"
    assert re.fullmatch(r"59 tokens \(in 42 / out 17\)", view.locator(".mlfm-tokens").inner_text())
    assert view.locator(".mlfm-errjump").inner_text().startswith("1 error")

    detail = view.locator(".mlfm-detail")
    row("chat").click()
    detail.locator(".mlfm-dtitle").wait_for()
    assert detail.locator(".mlfm-dtitle b").inner_text() == "chat"
    # the chat span reads as message cards; its raw outputs are one click away
    assert "Answer, from" in detail.locator(".mlfm-msg.role-assistant").first.inner_text()
    assert "sel" in (row("chat").get_attribute("class") or "").split()

    row("lookup_weather").click()
    detail.locator(".mlfm-exc").wait_for()
    assert detail.locator(".mlfm-dtitle b").inner_text() == "lookup_weather"
    assert "TimeoutError" in detail.locator(".mlfm-exc").inner_text()

    # `%mlflow show last` renders the same trace as a second view; MLflow's own display (an
    # iframe to a tracking server) must not appear anywhere.
    assert page.locator(".mlfm-tv").count() >= 2
    assert page.locator(".jp-OutputArea iframe").count() == 0
    view.scroll_into_view_if_needed()
    view.screenshot(path=str(artifacts_dir() / "quickstart-trace-view.png"))
    page.screenshot(path=str(artifacts_dir() / "quickstart-notebook.png"))


IMG = "<img src=x onerror=window.__xss=1>"
SVG = '"><svg onload=window.__xss=2>'
HREF = "javascript:window.__xss=3"
SCRIPT = '<script>window.__xss=4</script><img src=x onerror="window.__xss=5">'


def test_hostile_span_content_executes_nothing(jupyter_lab, page):
    name = write_notebook(
        jupyter_lab.root_dir,
        "hostile.ipynb",
        [
            "%load_ext mlflow_magics\n%mlflow connect",
            f"%%mlflow trace --name '{IMG}'\n"
            "import mlflow\n"
            f"with mlflow.start_span({SVG!r}) as span:\n"
            f"    span.set_inputs({{'u': {HREF!r}}})\n"
            f"    span.set_outputs({SCRIPT!r})",
            "%config MlflowMagics.display = 'html'\n%mlflow show last",
        ],
    )
    open_notebook(page, jupyter_lab, name)
    run_cells(page)

    view = page.locator(".mlfm-tv")
    view.wait_for(timeout=NOTEBOOK_RUN)
    assert view.count() == 1  # the html-mode cell renders without the widget
    assert view.locator(".mlfm-hdr .mlfm-title").inner_text() == IMG
    assert view.locator(".mlfm-row .mlfm-label").all_inner_texts() == [IMG, SVG]
    view.locator(".mlfm-row").nth(1).click()
    detail = view.locator(".mlfm-detail")
    detail.locator(".mlfm-dtitle").wait_for()
    assert detail.locator(".mlfm-dtitle b").inner_text() == SVG
    shown = detail.inner_text()
    for text in (HREF, "<script>window.__xss=4</script><img src=x onerror=", "window.__xss=5"):
        assert text in shown

    static = page.locator(".mlfm-trace")
    static.wait_for()
    assert IMG in static.locator(".hdr b").inner_text()
    assert SVG in static.inner_text()

    page.wait_for_timeout(300)  # give an onerror/onload that slipped through time to fire
    assert page.evaluate("window.__xss") is None
    no_injected_elements(view)
    no_injected_elements(static)
    view.screenshot(path=str(artifacts_dir() / "hostile-trace-view.png"))
    static.screenshot(path=str(artifacts_dir() / "hostile-trace-html.png"))


BIG_SPANS = 50_000


def test_large_trace_opens_virtualized(jupyter_lab, page):
    # root -> 50,000 leaf children: big traces open two levels deep, so every row stays visible.
    name = write_notebook(
        jupyter_lab.root_dir,
        "big.ipynb",
        [
            "%load_ext mlflow_magics\n%mlflow connect",
            "%%mlflow trace --quiet --name big\n"
            "import time, mlflow\n"
            "t0 = time.time()\n"
            "root = mlflow.get_current_active_span()\n"
            f"for i in range({BIG_SPANS}):\n"
            "    mlflow.start_span_no_context(f'step {i}', parent_span=root).end()\n"
            "print(f'created in {time.time() - t0:.1f} s')",
            # Let MLflow's export thread finish, so it does not compete with the measured cell.
            "mlflow.flush_trace_async_logging()",
            "import time\n"
            "t0 = time.time()\n"
            "v = %mlflow show last\n"
            "print(f'kernel {(time.time() - t0) * 1000:.0f} ms')\n"
            "v",
        ],
    )
    open_notebook(page, jupyter_lab, name)
    last = code_cell(page, -1)
    select_cell(last)
    # The export of 50,000 spans to SQLite (one writer, MLflow's only safe setting there) is
    # waited out before the measured cell: minutes on a loaded 2-core machine.
    run_cells(page, "Run All Above Selected Cell", timeout=400_000)

    item = run_menu_item(page, "Run Selected Cell and Do not Advance")
    item.wait_for()
    page.evaluate(_WATCH_CELL, last.element_handle())
    item.click()
    page.wait_for_function("() => window.__mlfmRowsAt", timeout=NOTEBOOK_RUN)
    started, stdout_at, rows_at = page.evaluate(
        "[window.__mlfmRunAt, window.__mlfmStdoutAt, window.__mlfmRowsAt]"
    )
    paint_ms = rows_at - started

    tree = last.locator(".mlfm-tree")
    assert last.locator(".mlfm-count").inner_text() == f"{BIG_SPANS + 1:,} spans"
    assert 0 < last.locator(".mlfm-row").count() < 200
    kernel = last.locator(".jp-OutputArea-output", has_text="kernel").inner_text()

    tree.evaluate("el => { el.scrollTop = el.scrollHeight; }")
    page.wait_for_function(
        "el => [...el.querySelectorAll('.mlfm-row')].some(r => Number(r.dataset.row) > 1000)",
        arg=tree.element_handle(),
    )
    rows_at_bottom = [
        int(r)
        for r in tree.locator(".mlfm-row").evaluate_all("rows => rows.map(r => r.dataset.row)")
    ]
    assert max(rows_at_bottom) == BIG_SPANS
    assert len(rows_at_bottom) < 200
    assert tree.locator(f'.mlfm-row[data-row="{BIG_SPANS}"] .mlfm-label').inner_text() == (
        f"step {BIG_SPANS - 1}"
    )
    last.locator(".mlfm-tv").screenshot(path=str(artifacts_dir() / "big-trace-view.png"))

    created = code_cell(page, 1).locator(".jp-OutputArea-output", has_text="created in")
    printed = "?" if stdout_at is None else f"{stdout_at - started:.0f} ms"
    report = (
        f"{BIG_SPANS + 1:,} spans ({created.inner_text().strip()}): rows painted "
        f"{paint_ms:.0f} ms after the cell was run; `%mlflow show last` took "
        f"{kernel.strip().removeprefix('kernel ')} in the kernel, printed at {printed}"
    )
    print(report)
    (artifacts_dir() / "browser-paint.txt").write_text(report + "\n")
    # The figure is reported (and bench/trace_view.py holds the ratios); the bound only catches
    # a view a user would call broken, also on a loaded machine running two test workers.
    assert paint_ms < 15_000, report
