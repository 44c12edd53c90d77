"""Browser tier for the alias board: in a real JupyterLab, open a prompt's board, diff two
versions, move `production` through the confirm step, read its history and undo the move.
The template and commit messages carry markup that must stay text."""

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
    write_notebook,
)

pytestmark = pytest.mark.browser

SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=2">'
CELLS = [
    "%load_ext mlflow_magics\n%mlflow connect --experiment browser-aliases",
    "import mlflow\n\n"
    "for i in range(3):\n"
    "    mlflow.genai.register_prompt(\n"
    f"        'qa', template=f'Version {{i + 1}}\\n{SCRIPT}\\nQuestion: {{{{{{{{q}}}}}}}}',\n"
    f"        commit_message=f'change {{i + 1}} {IMG}',\n"
    "        model_config={'temperature': i / 10},\n"
    "    )",
    "%mlflow alias prompt qa production 2",
    "board = %mlflow prompts qa\nboard",
]
BOARD = 3


def test_diff_move_with_confirm_history_and_undo(jupyter_lab, page):
    from playwright.sync_api import expect

    name = write_notebook(jupyter_lab.root_dir, "aliases_browser.ipynb", CELLS)
    open_notebook(page, jupyter_lab, name)
    run_cells(page)
    cell = code_cell(page, BOARD)
    board = cell.locator(".mlfm-ab-w")
    board.wait_for(timeout=NOTEBOOK_RUN)
    expect(board.locator(".mlfm-ab-title")).to_have_text("Prompt qa · 3 versions")
    expect(board.locator(".mlfm-ab-row")).to_have_count(3)
    row3 = board.locator('.mlfm-ab-row[data-n="3"]')
    expect(row3.locator(".mlfm-ab-msg")).to_have_text(f"change 3 {IMG}")
    production = board.locator('.mlfm-ab-alias[data-alias="production"]')
    expect(production.locator(".mlfm-ab-chip")).to_have_text("production → v2")

    # diff two versions
    board.locator(".mlfm-ab-diff-a").select_option("1")
    board.locator(".mlfm-ab-diff-b").select_option("3")
    board.locator(".mlfm-ab-diff-btn").click()
    diff = board.locator(".mlfm-ab-diff")
    expect(diff.locator(".mlfm-ab-ln.rem")).to_have_text("-Version 1")
    expect(diff.locator(".mlfm-ab-ln.add")).to_have_text("+Version 3")
    expect(diff.locator(".mlfm-ab-ln.same").first).to_have_text(f" {SCRIPT}")
    expect(diff.locator(".mlfm-ab-setting")).to_have_count(1)

    # move production: Move shows the change and waits; Confirm does it
    board.locator(".mlfm-ab-alias-input").fill("production")
    board.locator(".mlfm-ab-version").select_option("3")
    board.locator(".mlfm-ab-move-btn").click()
    expect(board.locator(".mlfm-ab-pending-text")).to_have_text("production: v2 → v3")
    expect(production.locator(".mlfm-ab-chip")).to_have_text("production → v2")
    board.locator(".mlfm-ab-confirm").click()
    expect(board.locator(".mlfm-ab-note")).to_have_text("prompt 'qa': production: v2 → v3 (moved).")
    expect(board.locator(".mlfm-ab-pending")).to_be_hidden()
    expect(production.locator(".mlfm-ab-chip")).to_have_text("production → v3")
    expect(board.locator('.mlfm-ab-row[data-n="3"] .mlfm-ab-labels')).to_contain_text("production")

    # its history, then undo (again through Confirm)
    production.locator(".mlfm-ab-history-btn").click()
    moves = production.locator(".mlfm-ab-history li")
    expect(moves).to_have_count(2)
    expect(moves.nth(0)).to_contain_text("v2 → v3 by ")
    expect(moves.nth(1)).to_contain_text("(none) → v2 by ")
    production.locator(".mlfm-ab-undo").click()
    expect(board.locator(".mlfm-ab-pending-text")).to_have_text("production: v3 → v2")
    board.locator(".mlfm-ab-confirm").click()
    expect(board.locator(".mlfm-ab-note")).to_have_text(
        "prompt 'qa': production: v3 → v2 (undone)."
    )
    expect(production.locator(".mlfm-ab-chip")).to_have_text("production → v2")
    expect(production.locator(".mlfm-ab-history li")).to_have_count(3)

    # a refused alias name is one sentence in the board, and nothing is pending
    board.locator(".mlfm-ab-alias-input").fill("latest")
    board.locator(".mlfm-ab-move-btn").click()
    expect(board.locator(".mlfm-ab-error")).to_contain_text("'latest' is reserved")
    expect(board.locator(".mlfm-ab-pending")).to_be_hidden()

    row3.click()  # the full template opens under its row, as text
    expect(board.locator(".mlfm-ab-full pre")).to_contain_text(SCRIPT)
    no_injected_elements(board)
    cell.screenshot(path=str(artifacts_dir() / "alias-board.png"))
    assert page.evaluate("window.__xss") is None
