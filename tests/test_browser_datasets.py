"""Browser tier for datasets: in a real JupyterLab, tick traces in the table, add them to a new
dataset through "Add selected to dataset…", edit one expectation in the dataset grid, and see
the edit when the dataset is opened again in another cell; and a save from a grid drawn before
someone else's write is refused with the store's values shown beside the user's, then merged."""

from __future__ import annotations

import pytest
from servers import artifacts_dir
from test_browser import (
    NOTEBOOK_RUN,
    _shut_down_kernels,  # noqa: F401 - autouse: each test's kernel goes at its end
    code_cell,
    no_injected_elements,
    open_notebook,
    run_cells,
    run_menu_item,
    select_cell,
    write_notebook,
)
from test_browser_content import (
    light_at_the_end,  # noqa: F401 - the theme goes back to light for the other tests
    low_contrast,
    switch_theme,
)

pytestmark = pytest.mark.browser

CELLS = [
    "%load_ext mlflow_magics\n%mlflow connect --experiment browser-datasets",
    "import mlflow\n\n"
    "for i in range(5):\n"
    "    root = mlflow.start_span_no_context('ask', inputs={'q': f'question {i}'})\n"
    "    root.set_outputs('<img src=x onerror=\"window.__xss=1\">' if i == 0 else f'answer {i}')\n"
    "    root.end()\n"
    "mlflow.flush_trace_async_logging()",
    "t = %mlflow traces\nt",
    "ds = %mlflow dataset show picked\nds",
    "%mlflow dataset show picked",
]
TABLE, GRID, AGAIN = 2, 3, 4


def run_one(page, cell) -> None:
    select_cell(cell)
    run_menu_item(page, "Run Selected Cell and Do not Advance").click()


def test_pick_traces_into_a_dataset_and_curate_an_expectation(jupyter_lab, page):
    from playwright.sync_api import expect

    name = write_notebook(jupyter_lab.root_dir, "datasets_browser.ipynb", CELLS)
    open_notebook(page, jupyter_lab, name)
    select_cell(code_cell(page, GRID))
    run_cells(page, "Run All Above Selected Cell")

    table = code_cell(page, TABLE).locator(".mlfm-tt-w")
    table.wait_for(timeout=NOTEBOOK_RUN)
    add = table.locator(".mlfm-tt-todataset")
    expect(add).to_be_disabled()
    checks = table.locator("tbody .mlfm-tt-row .mlfm-tt-box")
    checks.nth(0).click()
    checks.nth(1).click()
    expect(table.locator(".mlfm-tt-selcount")).to_have_text("2 selected")
    add.click()
    table.locator(".mlfm-tt-dsname").fill("picked")
    table.locator(".mlfm-tt-dsadd").click()
    note = table.locator(".mlfm-tt-dsnote")
    expect(note).to_have_text("Created 'picked': 2 added, 0 already present.")
    table.locator(".mlfm-tt-dsadd").click()  # again: nothing new
    expect(note).to_have_text("Dataset 'picked': 0 added, 2 already present.")

    grid_cell = code_cell(page, GRID)
    run_one(page, grid_cell)
    grid = grid_cell.locator(".mlfm-ds-w")
    grid.wait_for(timeout=NOTEBOOK_RUN)
    rows = grid.locator("tbody .mlfm-ds-row")
    expect(rows).to_have_count(2)
    first = rows.nth(0)
    record_id = first.get_attribute("data-id")
    first.locator(".mlfm-ds-facts").fill("the answer is polite\nit cites a source")
    expect(first.locator(".mlfm-ds-state")).to_have_text("edited, not saved")
    first.locator(".mlfm-ds-save").click()
    expect(grid.locator(".mlfm-ds-note")).to_have_text(
        f"Saved the expectations of record {record_id}."
    )
    no_injected_elements(grid)
    grid_cell.screenshot(path=str(artifacts_dir() / "dataset-grid.png"))

    again_cell = code_cell(page, AGAIN)
    run_one(page, again_cell)
    again = again_cell.locator(".mlfm-ds-w")
    again.wait_for(timeout=NOTEBOOK_RUN)
    row = again.locator(f'tbody .mlfm-ds-row[data-id="{record_id}"]')
    expect(row.locator(".mlfm-ds-facts")).to_have_value("the answer is polite\nit cites a source")
    assert page.evaluate("window.__xss") is None


CONFLICT_CELLS = [
    "%load_ext mlflow_magics\n%mlflow connect --experiment browser-dataset-conflict",
    "import mlflow\n\n"
    "for i in range(3):\n"
    "    root = mlflow.start_span_no_context('ask', inputs={'q': f'question {i}'})\n"
    "    root.set_outputs(f'answer {i}')\n"
    "    root.end()\n"
    "mlflow.flush_trace_async_logging()",
    "ds = %mlflow dataset create contested --from all\nds",
    # someone else's write, straight to the store: no grid of this kernel hears of it
    "from mlflow_magics import datasets\n"
    "rid = ds.records[0].record_id\n"
    "datasets.set_expectations(datasets.find_dataset(mlflow.MlflowClient(), 'contested'), rid,\n"
    "    expected_facts=['theirs <img src=x onerror=\"window.__xss=3\">', 'second'])\n"
    "print(rid)",
]
CONTESTED, ELSEWHERE = 2, 3


@pytest.mark.usefixtures("light_at_the_end")
def test_a_stale_save_shows_the_stores_values_and_merges(jupyter_lab, page):
    from playwright.sync_api import expect

    name = write_notebook(jupyter_lab.root_dir, "datasets_conflict.ipynb", CONFLICT_CELLS)
    open_notebook(page, jupyter_lab, name)
    select_cell(code_cell(page, ELSEWHERE))
    run_cells(page, "Run All Above Selected Cell")
    grid = code_cell(page, CONTESTED).locator(".mlfm-ds-w")
    grid.wait_for(timeout=NOTEBOOK_RUN)
    expect(grid.locator(".mlfm-ds-saveall")).to_be_disabled()

    elsewhere = code_cell(page, ELSEWHERE)
    run_one(page, elsewhere)
    rid = elsewhere.locator(".jp-OutputArea-output").inner_text(timeout=NOTEBOOK_RUN).strip()
    row = grid.locator(f'tbody .mlfm-ds-row[data-id="{rid}"]')
    row.locator(".mlfm-ds-facts").fill("mine")
    expect(grid.locator(".mlfm-ds-saveall")).to_have_text("Save all (1)")
    row.locator(".mlfm-ds-save").click()

    panel = grid.locator(f'tbody .mlfm-ds-conflict[data-id="{rid}"]')
    expect(panel).to_be_visible()
    expect(panel.locator(".mlfm-ds-theirs .mlfm-ds-val")).to_have_text(
        ['theirs <img src=x onerror="window.__xss=3">', "second"]
    )
    expect(panel.locator(".mlfm-ds-mine .mlfm-ds-val")).to_have_text("mine")
    expect(row.locator(".mlfm-ds-facts")).to_have_value("mine")  # the user's edit, kept
    expect(grid.locator(".mlfm-ds-note")).to_contain_text("changed in the store")
    no_injected_elements(grid)

    switch_theme(page, "dark")
    low_contrast(page, "the dataset grid's refused edit in dark")
    grid.screenshot(path=str(artifacts_dir() / "dataset-conflict-dark.png"))
    switch_theme(page, "light")

    panel.locator(".mlfm-ds-merge").click()
    expect(panel).to_have_count(0)
    expect(row.locator(".mlfm-ds-facts")).to_have_value(
        'theirs <img src=x onerror="window.__xss=3">\nsecond\nmine'
    )
    expect(grid.locator(".mlfm-ds-note")).to_have_text(f"Saved the expectations of record {rid}.")
    assert page.evaluate("window.__xss") is None
