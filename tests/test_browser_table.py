"""Browser tier for the trace table: notebooks/trace_browser.ipynb in a real JupyterLab, the
table widget filtered, paged, opened, ticked and compared through the DOM."""

from __future__ import annotations

import re

import nbformat
import pytest
from servers import REPO, artifacts_dir
from test_browser import (
    NOTEBOOK_RUN,
    _shut_down_kernels,  # noqa: F401 - autouse: each test's kernel goes at its end
    code_cell,
    no_injected_elements,
    open_notebook,
    run_cells,
    run_menu_item,
    save_unexecuted,
    select_cell,
)

pytestmark = pytest.mark.browser

TABLE_CELL = 2  # code cells: load, agent, `t = %mlflow traces`, `t.selected`, ...
SELECTED_CELL = 3
ERRORS = 9  # the notebook's agent fails on questions n % 7 == 3, n < 60


def test_filter_page_open_select_and_compare_in_the_table(jupyter_lab, page):
    from playwright.sync_api import expect

    nb = nbformat.read(REPO / "notebooks" / "trace_browser.ipynb", as_version=4)
    name = save_unexecuted(nb, jupyter_lab.root_dir, "trace_browser.ipynb")
    open_notebook(page, jupyter_lab, name)
    run_cells(page, timeout=2 * NOTEBOOK_RUN)

    cell = code_cell(page, TABLE_CELL)
    table = cell.locator(".mlfm-tt-w")
    table.wait_for(timeout=NOTEBOOK_RUN)
    rows = table.locator("tbody .mlfm-tt-row")
    expect(rows).to_have_count(25)
    expect(table.locator(".mlfm-tt-count")).to_have_text("rows 1–25; more match")
    assert set(rows.locator(".mlfm-tt-open").all_inner_texts()) == {"ask"}
    first_ids = [r.get_attribute("data-id") for r in rows.all()]

    # filter: Enter applies; a malformed one is one sentence inline and keeps the rows
    box = table.locator(".mlfm-tt-filter")
    box.fill("trace.status = 'ERROR'")
    box.press("Enter")
    expect(rows).to_have_count(ERRORS)
    expect(table.locator(".mlfm-tt-count")).to_have_text(f"rows 1–{ERRORS} of {ERRORS} matches")
    assert set(rows.locator(".mlfm-tt-status").all_inner_texts()) == {"ERROR"}
    box.fill("trace.bogus = 1")
    box.press("Enter")
    error = table.locator(".mlfm-tt-error")
    expect(error).to_contain_text("MLflow rejected the filter 'trace.bogus = 1'")
    expect(rows).to_have_count(ERRORS)
    box.fill("")
    box.press("Enter")
    expect(rows).to_have_count(25)
    expect(error).to_be_hidden()

    # page forward and back
    table.locator(".mlfm-tt-next").click()
    expect(table.locator(".mlfm-tt-page")).to_have_text("page 2")
    second_ids = [r.get_attribute("data-id") for r in rows.all()]
    assert len(second_ids) == 25 and not set(second_ids) & set(first_ids)
    table.locator(".mlfm-tt-prev").click()
    expect(table.locator(".mlfm-tt-page")).to_have_text("page 1")

    # open a trace: its trace view appears under the table, in the same output
    rows.nth(1).locator(".mlfm-tt-open").click()
    view = cell.locator(".mlfm-tv")
    view.wait_for(timeout=NOTEBOOK_RUN)
    assert view.locator(".mlfm-row").count() >= 3
    expect(view.locator(".mlfm-hdr .mlfm-title")).to_have_text("ask")

    # tick rows 0..2 with a shift-click range, untick row 1, compare the two left
    checks = rows.locator(".mlfm-tt-box")
    compare = table.locator(".mlfm-tt-compare")
    checks.nth(0).click()
    checks.nth(2).click(modifiers=["Shift"])
    expect(table.locator(".mlfm-tt-selcount")).to_have_text("3 selected")
    expect(compare).to_be_disabled()
    checks.nth(1).click()
    expect(table.locator(".mlfm-tt-selcount")).to_have_text("2 selected")
    expect(compare).to_be_enabled()
    compare.click()
    diff = cell.locator(".mlfm-diff")
    diff.wait_for(timeout=NOTEBOOK_RUN)
    picked = [first_ids[0], first_ids[2]]
    assert picked[0] in diff.inner_text() and picked[1] in diff.inner_text()
    no_injected_elements(table)
    table.scroll_into_view_if_needed()
    cell.screenshot(path=str(artifacts_dir() / "trace-table.png"))

    # the selection reached Python: re-run `t.selected`
    selected = code_cell(page, SELECTED_CELL)
    select_cell(selected)
    run_menu_item(page, "Run Selected Cell and Do not Advance").click()
    expect(selected.locator(".jp-OutputArea-output")).to_have_text(
        re.compile(rf"\['{picked[0]}',\s*'{picked[1]}'\]")
    )

    # select all matching: every trace the search matches, not just the page
    table.locator(".mlfm-tt-selall").click()
    expect(table.locator(".mlfm-tt-selcount")).to_have_text("60 selected")
    expect(table.locator(".mlfm-tt-count")).to_have_text("rows 1–25 of 60 matches")
    page.screenshot(path=str(artifacts_dir() / "trace-table-notebook.png"))
