"""Browser tier for hostile text: in a real JupyterLab (dark theme), a trace whose span name and
chat messages carry terminal escapes, a right-to-left override and ``$$…$$`` shows each control
character as a visible escape in the widget and in the static HTML, none of them raw, and
MathJax typesets nothing: every root the package draws opts out of it.

Screenshots go to ``test-artifacts/hostile-text-*.png``.
"""

from __future__ import annotations

import pytest
from servers import artifacts_dir
from test_browser import (
    NOTEBOOK_RUN,
    _shut_down_kernels,  # noqa: F401 - autouse: each test's kernel goes at its end
    code_cell,
    open_notebook,
    run_cells,
    write_notebook,
)
from test_browser_frontend import THEMES, set_theme
from test_hostile_text import CHAT_CELL, EVIL, SHOWN

pytestmark = pytest.mark.browser

CELL = "%%mlflow trace --quiet\n" + CHAT_CELL

# Every text node and title under `el` holding a control or bidi character, raw.
_RAW = r"""el => { const raw = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
  const out = []; const walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) if (raw.test(n.data)) out.push(JSON.stringify(n.data));
  for (const e of el.querySelectorAll('[title], [aria-label]'))
    if (raw.test((e.getAttribute('title') || '') + (e.getAttribute('aria-label') || ''))) out.push(e.outerHTML.slice(0, 120));
  return out; }"""
# The package's roots under `el` (its outermost mlfm elements) without both MathJax opt-outs.
_TYPESET = """el => [...el.querySelectorAll("[class*='mlfm']:not([class*='mlfm'] *)")]
  .filter(r => !(r.classList.contains('mathjax_ignore') && r.classList.contains('tex2jax_ignore')))
  .map(r => r.className)"""

SHOW_WIDGET, SHOW_HTML, STATUS = 3, 4, 5


@pytest.fixture
def dark(jupyter_lab):
    set_theme(jupyter_lab, THEMES["dark"])
    yield
    set_theme(jupyter_lab, THEMES["light"])


def test_hostile_span_names_and_messages_show_escapes_and_nothing_is_typeset(
    jupyter_lab, page, dark
):
    from playwright.sync_api import expect

    name = write_notebook(
        jupyter_lab.root_dir,
        "hostile-text.ipynb",
        [
            "import os\n"
            "os.environ.update(MLFLOW_MODEL_CATALOG_URI='', MLFLOW_DISABLE_TELEMETRY='true',"
            " DO_NOT_TRACK='true')\n"
            "%load_ext mlflow_magics\n%mlflow connect --experiment hostile-text",
            f"evil = {EVIL!r}",
            CELL,
            "%mlflow show last",
            "%config MlflowMagics.display = 'html'\n%mlflow show last",
            "%mlflow experiment {evil}",
        ],
    )
    open_notebook(page, jupyter_lab, name)
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
    run_cells(page)

    cell = code_cell(page, SHOW_WIDGET)
    view = cell.locator(".mlfm-tv")
    view.wait_for(timeout=NOTEBOOK_RUN)
    root_classes = set((view.get_attribute("class") or "").split())
    assert {"mlfm", "mathjax_ignore", "tex2jax_ignore"} <= root_classes, root_classes

    label = view.locator(".mlfm-row .mlfm-label").nth(1)
    expect(label).to_have_text(SHOWN)
    view.locator(".mlfm-row").nth(1).click()
    pane = view.locator(".mlfm-spanpanel")
    expect(pane.locator(".mlfm-dtitle b")).to_have_text(SHOWN)
    expect(pane.locator(".mlfm-msg.role-user")).to_contain_text("hi " + SHOWN)
    reply = pane.locator(".mlfm-msg.role-assistant").last
    expect(reply.locator("strong")).to_have_text("ok")  # markdown still rendered
    expect(reply).to_contain_text(SHOWN)

    text = view.evaluate("el => el.textContent")
    assert "\u202e" not in text and "\x1b" not in text and "\x07" not in text
    assert SHOWN in text
    assert view.evaluate(_RAW) == []

    static = code_cell(page, SHOW_HTML).locator(".mlfm-trace")
    static.wait_for()
    assert SHOWN in static.inner_text()
    status = code_cell(page, STATUS).locator(".mlfm-status")
    status.wait_for()
    assert SHOWN in status.inner_text()
    outputs = page.locator(".jp-Notebook")
    for scope in (view, static, status):
        assert scope.evaluate(_RAW) == []
    assert outputs.evaluate(_TYPESET) == []
    # MathJax left every "$$x^2$$" as text: nothing typeset in any output
    page.wait_for_timeout(500)
    assert (
        page.locator(".jp-OutputArea-output mjx-container, .jp-OutputArea-output .MathJax").count()
        == 0
    )

    out = artifacts_dir()
    view.scroll_into_view_if_needed()
    view.screenshot(path=str(out / "hostile-text-widget-dark.png"))
    static.scroll_into_view_if_needed()
    static.screenshot(path=str(out / "hostile-text-html-dark.png"))
    status.screenshot(path=str(out / "hostile-text-status-dark.png"))
