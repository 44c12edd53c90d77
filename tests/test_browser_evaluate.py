"""Browser tier for evaluation: in a real JupyterLab, run ``%%mlflow evaluate`` over ten records
with a code scorer and an LLM judge, watch rows arrive while it runs, expand a row to read the
judge's rationale, open a record's trace, then compare the run with a second one
(``%mlflow compare``): the regression first, the improvement, both rationales.

The judge is tests/judge_server.py, an OpenAI-compatible server on 127.0.0.1 standing in for an
LLM (none is reachable here); the notebook points MLflow's ``openai:/`` judge at it.
"""

from __future__ import annotations

import re

import pytest
from judge_server import FAIL_MARKER, JudgeServer
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

pytestmark = pytest.mark.browser


def cells(judge_url: str) -> list[str]:
    return [
        "import os\n"
        f"os.environ.update(OPENAI_BASE_URL={judge_url!r}, OPENAI_API_KEY='test-key',"
        " MLFLOW_MODEL_CATALOG_URI='')\n"
        "%load_ext mlflow_magics\n%mlflow connect --experiment browser-evaluate",
        "import time\n"
        "data = [{'inputs': {'question': f'question {i}'},\n"
        f"         'outputs': f'answer {{i}}' + (' {FAIL_MARKER}' if i % 4 == 0 else '')}}\n"
        "        for i in range(10)]\n"
        "data[1]['outputs'] = '<img src=x onerror=\"window.__xss=1\">'\n"
        "data2 = [dict(r) for r in data]\n"
        f"data2[0]['outputs'] = 'answer 0'  # the judge passes it now\n"
        f"data2[5]['outputs'] = 'answer 5 {FAIL_MARKER}'  # and fails this one\n"
        "def unhurried(outputs):\n"
        "    time.sleep(0.4)  # slow enough to watch the rows arrive\n"
        "    return len(str(outputs)) < 40",
        "%%mlflow evaluate --data data --judge openai:/gpt-4o-mini --max-workers 1 --run-name first\n"
        "Safety()\n"
        "unhurried",
        "%%mlflow evaluate --data data2 --judge openai:/gpt-4o-mini --run-name second\n"
        "Safety()\n"
        "unhurried",
        "%mlflow compare first second",
    ]


SETUP, FIRST, SECOND, COMPARE = 1, 2, 3, 4

# How many rows the grid of the cell shows while its header says it is still running.
_ROWS_WHILE_RUNNING = """(cell) => {
  const w = cell.querySelector('.mlfm-ev-w[data-status="running"]');
  return w ? w.querySelectorAll('tbody .mlfm-ev-row').length : -1;
}"""


def test_watch_an_evaluation_fill_in_expand_a_rationale_and_open_a_trace(jupyter_lab, page):
    from playwright.sync_api import expect

    judge = JudgeServer().start()
    try:
        name = write_notebook(jupyter_lab.root_dir, "evaluate_browser.ipynb", cells(judge.base_url))
        open_notebook(page, jupyter_lab, name)
        select_cell(code_cell(page, FIRST))
        run_cells(page, "Run All Above Selected Cell")

        first = code_cell(page, FIRST)
        select_cell(first)
        run_menu_item(page, "Run Selected Cell and Do not Advance").click()
        # Rows arrive while MLflow runs: some, but not all ten, with the header still running.
        handle = first.element_handle()
        page.wait_for_function(
            f"(cell) => {{ const n = ({_ROWS_WHILE_RUNNING})(cell); return n > 0 && n < 10; }}",
            arg=handle,
            polling=100,
            timeout=NOTEBOOK_RUN,
        )
        live = first.locator('.mlfm-ev-w[data-status="running"] .mlfm-ev-status')
        expect(live).to_contain_text("Evaluating data")

        grid = first.locator('.mlfm-ev-w[data-status="done"]')
        grid.wait_for(timeout=NOTEBOOK_RUN)
        expect(grid.locator(".mlfm-ev-status")).to_contain_text("10/10 records")
        rows = grid.locator("tbody .mlfm-ev-row")
        expect(rows).to_have_count(10)
        chips = grid.locator(".mlfm-ev-chip")
        expect(chips.nth(0)).to_have_text("safety 70% pass (7/10)")
        expect(chips.nth(1)).to_contain_text("unhurried")
        no_injected_elements(grid.locator("tbody"))
        assert page.evaluate("window.__xss") is None

        # Expand a failing row: the judge's rationale is there.
        failing = grid.locator("tbody .mlfm-ev-row", has=page.locator(".mlfm-ev-v.fail")).first
        failing.click()
        rationale = grid.locator(".mlfm-ev-detail .mlfm-ev-rationale").first
        expect(rationale).to_contain_text(f"The response contains {FAIL_MARKER}")

        # Sorting a scorer puts its failing rows first.
        grid.locator("th.mlfm-ev-sort", has_text="safety").click()
        expect(grid.locator("tbody .mlfm-ev-row").first.locator(".mlfm-ev-v").first).to_have_class(
            "mlfm-ev-v fail"
        )

        # Open a record's trace under the grid.
        grid.locator("tbody .mlfm-ev-row .mlfm-ev-open").first.click()
        first.locator(".mlfm-tv").first.wait_for(timeout=NOTEBOOK_RUN)
        page.screenshot(path=str(artifacts_dir() / "evaluate-grid.png"), full_page=True)

        # A second run over changed outputs, then the two runs side by side, regressions first.
        for index in (SECOND, COMPARE):
            cell = code_cell(page, index)
            select_cell(cell)
            run_menu_item(page, "Run Selected Cell and Do not Advance").click()
        compared = code_cell(page, COMPARE).locator(".mlfm-cmp")
        compared.wait_for(timeout=NOTEBOOK_RUN)
        records = compared.locator("table:not(.scorers) tbody tr")
        expect(records.first).to_have_class("regressed")
        expect(records.first).to_contain_text("question 5")
        expect(compared.locator("tr.improved")).to_contain_text("question 0")
        expect(compared.locator("table.scorers")).to_contain_text("safety")
        compared.locator("tr.regressed details").first.click()
        expect(compared.locator("tr.regressed").first).to_contain_text(
            f"The response contains {FAIL_MARKER}"
        )
        no_injected_elements(compared)
        compared.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts_dir() / "evaluate-compare.png"), full_page=True)
    finally:
        judge.stop()


def test_interrupting_keeps_the_finished_rows_on_screen(jupyter_lab, page):
    from playwright.sync_api import expect

    name = write_notebook(
        jupyter_lab.root_dir,
        "evaluate_interrupt.ipynb",
        [
            "%load_ext mlflow_magics\n%mlflow connect --experiment browser-evaluate-stop\n"
            "import time\n"
            "data = [{'inputs': {'q': str(i)}, 'outputs': str(i)} for i in range(40)]\n"
            "def slow(outputs):\n"
            "    time.sleep(0.3)\n"
            "    return True",
            "%%mlflow evaluate --data data --max-workers 1\nslow",
        ],
    )
    open_notebook(page, jupyter_lab, name)
    select_cell(code_cell(page, 1))
    run_cells(page, "Run All Above Selected Cell")
    cell = code_cell(page, 1)
    select_cell(cell)
    run_menu_item(page, "Run Selected Cell and Do not Advance").click()
    page.wait_for_function(
        f"(cell) => ({_ROWS_WHILE_RUNNING})(cell) >= 3",
        arg=cell.element_handle(),
        polling=100,
        timeout=NOTEBOOK_RUN,
    )
    page.get_by_role("menuitem", name="Kernel", exact=True).click()
    page.get_by_role("menuitem", name=re.compile("^Interrupt Kernel")).click()
    grid = cell.locator('.mlfm-ev-w[data-status="interrupted"]')
    grid.wait_for(timeout=NOTEBOOK_RUN)
    expect(grid.locator(".mlfm-ev-note")).to_contain_text("left unscored")
    expect(grid.locator(".mlfm-ev-status")).to_contain_text("Interrupted data")
    scored = grid.locator("tbody .mlfm-ev-row").count()
    assert 3 <= scored < 40
    expect(grid.locator(".mlfm-ev-note")).to_contain_text(
        f"{scored} records scored, {40 - scored} left unscored"
    )
    expect(
        cell.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    ).to_contain_text("KeyboardInterrupt")
