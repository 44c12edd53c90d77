"""Browser tier for comparing traces and searching inside a trace view: JupyterLab runs
notebooks/compare_traces.ipynb (two runs of one agent, the second with an extra tool call and
another answer), and the tests assert on the diff table and the trace view's toolbar."""

from __future__ import annotations

import re

import nbformat
import pytest
from servers import REPO, artifacts_dir
from test_browser import (  # _shut_down_kernels: each test's kernel goes at its end
    NOTEBOOK_RUN,
    _shut_down_kernels,  # noqa: F401
    code_cell,
    no_injected_elements,
    open_notebook,
    run_cells,
    save_unexecuted,
)

pytestmark = pytest.mark.browser

# Labels of the rows the tree shows now, top to bottom (rows are absolutely positioned).
_SHOWN = """el => [...el.querySelectorAll('.mlfm-row')]
  .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))
  .map(r => [r.querySelector('.mlfm-label').textContent,
             r.classList.contains('hit') ? 'hit' : r.classList.contains('ctx') ? 'ctx' : ''])"""


def test_diff_markers_search_and_type_filter_in_jupyterlab(jupyter_lab, page):
    nb = nbformat.read(REPO / "notebooks" / "compare_traces.ipynb", as_version=4)
    name = save_unexecuted(nb, jupyter_lab.root_dir, "compare_traces.ipynb")
    open_notebook(page, jupyter_lab, name)
    run_cells(page)

    # -- %mlflow diff: one added search call; the answer and everything above it changed ----
    table = page.locator(".mlfm-diff").first
    table.wait_for(timeout=NOTEBOOK_RUN)

    def names(status: str) -> list[str]:
        rows = table.locator(f'tr.row[data-status="{status}"] td.nm')
        return [t.strip() for t in rows.all_inner_texts()]

    assert names("added") == ["search"]
    assert names("changed") == ["ask", "agent", "chat"]
    assert names("same") == ["search"]
    assert names("removed") == []
    added = table.locator('tr.row[data-status="added"]')
    assert added.locator("td.mk").inner_text() == "+"
    # a tint of the theme's success colour, not a fixed light fill (it must hold in dark themes)
    assert added.evaluate("el => getComputedStyle(el).backgroundColor") not in (
        "",
        "rgba(0, 0, 0, 0)",
    )
    assert table.locator("td.nm").first.evaluate("el => getComputedStyle(el).textAlign") == "left"
    assert table.locator("mjx-container, .MathJax").count() == 0  # "$… → $…" stays text
    summary = table.locator(".sum").inner_text()
    assert "+1 added" in summary and "~3 changed" in summary and "tokens 30 → 45, +15" in summary
    chat_outputs = table.locator("tr.detail details.outputs").last
    chat_outputs.locator("summary").click()
    sides = chat_outputs.locator("pre").all_inner_texts()
    assert "Answer v1" in sides[0] and "Answer v2" in sides[1]
    no_injected_elements(table)
    table.screenshot(path=str(artifacts_dir() / "compare-traces-diff.png"))

    # -- search in the second run's trace view ----------------------------------------------
    view = code_cell(page, 4).locator(".mlfm-tv")
    tree = view.locator(".mlfm-tree")
    assert [label for label, _ in tree.evaluate(_SHOWN)] == [
        "ask", "agent", "search", "search", "chat",
    ]  # fmt: skip
    assert view.locator(".mlfm-hdr .mlfm-cost").inner_text() == "$0.001"

    box = view.locator("input.mlfm-search")
    box.click()
    # Real keystrokes: JupyterLab's command-mode shortcuts (a, c, ...) must not take them.
    box.press_sequentially("forecast")
    count = view.locator(".mlfm-matches")
    # No span name holds "forecast": only the kernel's payload search can find the call.
    page.wait_for_function(
        "el => el.textContent === '1 match'", arg=count.element_handle(), timeout=10_000
    )
    assert tree.evaluate(_SHOWN) == [["ask", "ctx"], ["agent", "ctx"], ["search", "hit"]]
    assert code_cell(page, 4).locator(".jp-Cell-inputArea").count() == 1  # no cell was added
    view.locator(".mlfm-next").click()
    detail = view.locator(".mlfm-detail")
    detail.locator(".mlfm-dtitle").wait_for()
    assert "forecast" in detail.inner_text()

    # a name match is highlighted in the label itself
    box.fill("sea")
    page.wait_for_function(
        "el => el.textContent === '2 matches'", arg=count.element_handle(), timeout=10_000
    )
    assert view.locator(".mlfm-row.hit .mlfm-label mark").all_inner_texts() == ["sea", "sea"]
    view.screenshot(path=str(artifacts_dir() / "trace-view-search.png"))

    # -- type filter, then the subtree roll-up of the agent span ----------------------------
    box.fill("")
    box.press("Escape")
    typesel = view.locator("select.mlfm-typesel")
    assert typesel.locator("option").all_inner_texts() == [
        "All types", "AGENT", "CHAIN", "CHAT_MODEL", "TOOL",
    ]  # fmt: skip
    typesel.select_option("CHAT_MODEL")
    assert tree.evaluate(_SHOWN) == [["ask", "ctx"], ["agent", "ctx"], ["chat", "hit"]]
    assert count.inner_text() == "1 match"
    tree.locator(".mlfm-row", has=page.locator(".mlfm-label", has_text="agent")).click()
    rollup = detail.locator(".mlfm-rollup")
    rollup.wait_for()
    assert re.fullmatch(r"subtree: 45 tokens, \$0\.001 · 4 spans", rollup.inner_text())
    view.screenshot(path=str(artifacts_dir() / "trace-view-type-filter.png"))

    typesel.select_option("")
    assert len(tree.evaluate(_SHOWN)) == 5 and count.inner_text() == ""
