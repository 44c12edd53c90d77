"""Browser tier for the shared front-end: every view of a gallery notebook, in JupyterLab and
Notebook 7, keeps its keys to itself, reads at 4.5:1 or better in the light and dark themes in
every state, fits an 800 px notebook, and shows its last state when the saved notebook is
reopened with a new kernel.

The gallery runs on the embedded SQLite store and needs no LLM: its evaluation uses code scorers.
"""

from __future__ import annotations

import json
import urllib.request

import pytest
from servers import artifacts_dir
from test_browser import (
    KERNEL_START,
    NOTEBOOK_RUN,
    _lab_api,
    _shut_down_kernels,  # noqa: F401 - autouse: each test's kernel goes at its end
    code_cell,
    open_notebook,
    run_cells,
    write_notebook,
)

pytestmark = pytest.mark.browser

HOSTILE = '<img src=x onerror="window.__xss=1">'


def gallery(tag: str) -> list[str]:
    """The gallery's cells; ``tag`` keeps each run's experiment, dataset and prompt its own (the
    tests share one store)."""
    return [
        cell.replace("gallery-qa", f"qa-{tag}")
        .replace("'qa'", f"'qa_{tag}'")
        .replace("prompt qa ", f"prompt qa_{tag} ")
        .replace("prompts qa", f"prompts qa_{tag}")
        .replace("--experiment gallery", f"--experiment gallery-{tag}")
        for cell in GALLERY
    ]


GALLERY = [
    "%load_ext mlflow_magics\n%mlflow connect --experiment gallery",
    # a trace with a failed tool whose child succeeded, and a LangGraph-deep chain (depth 30)
    "%%mlflow trace --name gallery\n"
    "import mlflow\n"
    "with mlflow.start_span('agent', span_type='AGENT') as agent:\n"
    "    agent.set_inputs({'question': 'What is MLflow?'})\n"
    "    with mlflow.start_span('retrieve', span_type='RETRIEVER') as r:\n"
    "        r.set_outputs([{'page_content': 'MLflow is an open source platform.'}])\n"
    "    try:\n"
    "        with mlflow.start_span('lookup', span_type='TOOL'):\n"
    "            with mlflow.start_span('cache-hit', span_type='TOOL') as ok:\n"
    "                ok.set_outputs('fine')\n"
    "            raise TimeoutError('the weather service did not answer')\n"
    "    except TimeoutError:\n"
    "        pass\n"
    "    chain, parent = [], mlflow.get_current_active_span()\n"
    "    for depth in range(28):\n"
    "        parent = mlflow.start_span_no_context(f'node_{depth}_router', parent_span=parent)\n"
    "        chain.append(parent)\n"
    "    for span in reversed(chain):\n"
    "        span.end()\n"
    "    agent.set_outputs('MLflow is an open source platform for the ML lifecycle.')",
    "%%mlflow trace --name gallery --quiet\n"
    "import mlflow\n"
    "with mlflow.start_span('agent', span_type='AGENT') as agent:\n"
    "    with mlflow.start_span('retrieve', span_type='RETRIEVER'):\n"
    "        pass\n"
    "    with mlflow.start_span('rerank', span_type='RERANKER'):\n"
    "        pass",
    "mlflow.flush_trace_async_logging()\n"
    "ids = [t.info.trace_id for t in mlflow.search_traces(return_type='list', order_by=['timestamp_ms ASC'])]\n"
    "for i in range(4):\n"
    "    s = mlflow.start_span_no_context('ask', inputs={'question': f'question {i} ' + 'x' * 80})\n"
    f"    s.set_outputs({HOSTILE!r} if i == 0 else f'answer {{i}} ' + 'y' * 80)\n"
    "    s.end()\n"
    "mlflow.flush_trace_async_logging()",
    "t = %mlflow traces\nt",
    "%mlflow diff {ids[0]} {ids[1]}",
    "ds = %mlflow dataset create gallery-qa --from \"trace.name = 'ask'\"\n"
    "%mlflow dataset show gallery-qa",
    "data = [{'inputs': {'question': f'question {i}'}, 'outputs': f'answer {i}' + ' long' * (i % 3)}\n"
    "        for i in range(6)]\n"
    "def short(outputs):\n"
    "    return len(str(outputs)) < 12\n"
    "def picky(outputs):\n"
    "    if outputs.endswith('3'):\n"
    "        raise ValueError('cannot judge this one')\n"
    "    return True",
    "%%mlflow evaluate --data data --run-name base\nshort\npicky",
    "data2 = [dict(r) for r in data]\n"
    "data2[0]['outputs'] = 'answer 0 is now far too long'  # regressed\n"
    "data2[1]['outputs'] = 'answer 1'  # improved",
    "%%mlflow evaluate --data data2 --run-name candidate\nshort\npicky",
    "%mlflow compare base candidate",
    "for i in range(2):\n"
    "    mlflow.genai.register_prompt('qa', template=f'Answer briefly (v{i + 1}).\\n{{{{q}}}}',\n"
    "                                 commit_message=f'change {i + 1}')\n"
    "%mlflow alias prompt qa production 1",
    "%mlflow prompts qa",
    "x = 1  # a plain cell",
]
TRACE, TABLE, DIFF, GRID, EVAL, EVAL2, COMPARE, BOARD, PLAIN = 1, 4, 5, 6, 8, 10, 11, 13, 14
VIEWS = {
    TRACE: ".mlfm-tv",
    TABLE: ".mlfm-tt-w",
    GRID: ".mlfm-ds-w",
    EVAL: ".mlfm-ev-w",
    BOARD: ".mlfm-ab-w",
}

# --- what a notebook is, seen from the page ---------------------------------------------------

# Every cell's type, source, prompt and output count: what a leaked shortcut would change.
_NOTEBOOK_STATE = """() => [...document.querySelectorAll('.jp-Notebook .jp-Cell')].map(c => ({
  type: c.classList.contains('jp-CodeCell') ? 'code' : c.classList.contains('jp-MarkdownCell') ? 'markdown' : 'raw',
  source: (c.querySelector('.jp-InputArea-editor .cm-content') || {}).textContent || '',
  prompt: (c.querySelector('.jp-InputPrompt') || {}).textContent || '',
  outputs: c.querySelectorAll('.jp-OutputArea-output').length,
  editing: c.classList.contains('jp-mod-editMode') || !!c.querySelector('.cm-focused'),
}))"""

# The WCAG contrast of every visible text in the views under `sel`, against the colour it is
# painted on (translucent backgrounds composited up to the first opaque one). Colours are
# normalized through a canvas, so color-mix() and named colours read like rgb().
_CONTRAST = """(sel) => {
  const ctx = document.createElement('canvas').getContext('2d', {willReadFrequently: true});
  const rgba = (c) => { ctx.clearRect(0, 0, 1, 1); ctx.fillStyle = '#000'; ctx.fillStyle = c;
    ctx.fillRect(0, 0, 1, 1); const d = ctx.getImageData(0, 0, 1, 1).data;
    return [d[0], d[1], d[2], d[3] / 255]; };
  const over = (top, under) => { const a = top[3];
    return [0, 1, 2].map(i => top[i] * a + under[i] * (1 - a)).concat([1]); };
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const background = (el) => { const layers = [];
    for (let e = el; e; e = e.parentElement) { const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) { layers.push(c); if (c[3] >= 1) break; } }
    let bg = [255, 255, 255, 1];
    if (!layers.length || layers[layers.length - 1][3] < 1) bg = rgba(getComputedStyle(document.body).backgroundColor);
    for (const c of layers.reverse()) bg = over(c, bg);
    return bg; };
  const out = [];
  for (const root of document.querySelectorAll(sel)) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (!n.textContent.trim()) continue;
      const el = n.parentElement;
      if (!el || el.closest('[disabled], option, select, [aria-hidden="true"] .mlfm-none')) continue;
      const r = el.getBoundingClientRect();
      const st = getComputedStyle(el);
      if (!r.width || !r.height || st.visibility === 'hidden' || !el.checkVisibility({opacityProperty: true})) continue;
      let alpha = 1; for (let e = el; e; e = e.parentElement) alpha *= Number(getComputedStyle(e).opacity);
      const bg = background(el);
      const fgc = rgba(st.color); const fg = over([fgc[0], fgc[1], fgc[2], fgc[3] * alpha], bg);
      const L1 = lum(fg), L2 = lum(bg);
      const ratio = (Math.max(L1, L2) + 0.05) / (Math.min(L1, L2) + 0.05);
      out.push({ratio: Math.round(ratio * 100) / 100, text: n.textContent.trim().slice(0, 40),
                cls: el.className && String(el.className).slice(0, 60), tag: el.tagName,
                fg: st.color, bg: `rgb(${bg.slice(0, 3).map(Math.round).join(',')})`});
    }
  }
  return out;
}"""


def notebook_state(page) -> list[dict]:
    return page.evaluate(_NOTEBOOK_STATE)


def run_gallery(page, lab, name: str, notebook7: bool = False) -> None:
    write_notebook(lab.root_dir, name, gallery(name.removesuffix(".ipynb")))
    if notebook7:
        open_notebook7(page, lab, name)
    else:
        open_notebook(page, lab, name)
    run_cells(page, timeout=3 * NOTEBOOK_RUN)
    for index, sel in VIEWS.items():
        code_cell(page, index).locator(sel).first.wait_for(timeout=NOTEBOOK_RUN)
    code_cell(page, COMPARE).locator(".mlfm-cmp").first.wait_for(timeout=NOTEBOOK_RUN)
    code_cell(page, EVAL).locator('.mlfm-ev-w[data-status="done"]').wait_for(timeout=NOTEBOOK_RUN)
    code_cell(page, EVAL2).locator('.mlfm-ev-w[data-status="done"]').wait_for(timeout=NOTEBOOK_RUN)


def open_notebook7(page, lab, name: str) -> None:
    page.goto(f"{lab.url}/notebooks/{name}?token={lab.token}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=KERNEL_START)
    page.wait_for_function(
        "() => { const s = document.querySelector('.jp-Notebook-ExecutionIndicator');"
        " return !!s && s.dataset.status === 'idle'; }",
        timeout=KERNEL_START,
    )
    page.wait_for_timeout(1000)  # the kernel name settles after the indicator


def show_states(page) -> None:
    """Put each view in the states that paint fills: a selected span and a search match, a
    selected table row, an expanded failing evaluation row, a version diff and a pending move."""
    tree = code_cell(page, TRACE).locator(".mlfm-tv")
    tree.locator(".mlfm-row", has_text="lookup").click()
    tree.locator(".mlfm-exc").wait_for()
    tree.locator(".mlfm-exc summary").click()
    tree.locator(".mlfm-search").fill("node_2")
    tree.locator(".mlfm-row.hit").first.wait_for()
    table = code_cell(page, TABLE).locator(".mlfm-tt-w")
    table.locator(".mlfm-tt-box").first.click()
    table.locator(".mlfm-tt-row.sel").wait_for()
    grid = code_cell(page, EVAL).locator(".mlfm-ev-w")
    grid.locator(".mlfm-ev-row").filter(has=page.locator(".mlfm-ev-v.fail")).first.click()
    grid.locator(".mlfm-ev-detail").wait_for()
    board = code_cell(page, BOARD).locator(".mlfm-ab-w")
    board.locator(".mlfm-ab-diff-btn").click()
    board.locator(".mlfm-ab-ln.add").first.wait_for()
    board.locator(".mlfm-ab-alias-input").fill("production")
    board.locator(".mlfm-ab-move-btn").click()
    board.locator(".mlfm-ab-pending:not([hidden])").wait_for()


# --- keys ------------------------------------------------------------------------------------

KEYS = ["m", "b", "a", "d", "d", "z", "y", "Enter", "Shift+Enter", "Escape", "ArrowUp",
        "ArrowDown", "ArrowLeft", "ArrowRight", "Space", "Home", "End"]  # fmt: skip


def targets(page) -> list[tuple[str, object]]:
    """One place to put the focus in, per widget: what a user clicks before typing."""
    return [
        ("trace row", code_cell(page, TRACE).locator(".mlfm-row").nth(1)),
        ("trace search", code_cell(page, TRACE).locator(".mlfm-search")),
        ("table header", code_cell(page, TABLE).locator("th.mlfm-tt-h-name")),
        ("table filter", code_cell(page, TABLE).locator(".mlfm-tt-filter")),
        ("dataset editor", code_cell(page, GRID).locator(".mlfm-ds-resp").first),
        ("eval row", code_cell(page, EVAL).locator(".mlfm-ev-row").first),
        ("alias board", code_cell(page, BOARD).locator(".mlfm-ab-refresh")),
    ]


def press_everything(page, target) -> None:
    target.click()
    for key in KEYS:
        page.keyboard.press(key)
    page.wait_for_timeout(150)


@pytest.mark.parametrize("frontend", ["lab", "notebook7"])
def test_keys_stay_inside_every_widget(jupyter_lab, page, frontend):
    run_gallery(page, jupyter_lab, f"keys-{frontend}.ipynb", notebook7=frontend == "notebook7")
    before = notebook_state(page)
    assert [c["type"] for c in before] == ["code"] * len(GALLERY)

    # The harness can see a leak: the same keys pressed on a cell's prompt (command mode) do
    # turn it into Markdown.
    code_cell(page, PLAIN).locator(".jp-InputPrompt").click()
    page.keyboard.press("Escape")
    page.keyboard.press("m")
    page.wait_for_function(
        "() => document.querySelectorAll('.jp-Notebook .jp-MarkdownCell').length === 1"
    )
    page.keyboard.press("y")
    page.wait_for_function(
        "() => document.querySelectorAll('.jp-Notebook .jp-MarkdownCell').length === 0"
    )
    before = notebook_state(page)

    for name, target in targets(page):
        press_everything(page, target)
        after = notebook_state(page)
        changed = [
            (i, {k: (b[k], a[k]) for k in b if k != "editing" and b[k] != a[k]})
            for i, (b, a) in enumerate(zip(before, after, strict=False))
            if {k: v for k, v in b.items() if k != "editing"}
            != {k: v for k, v in a.items() if k != "editing"}
        ]
        assert len(after) == len(before), f"keys in the {name} added or removed cells"
        assert not changed, f"keys in the {name} changed the notebook: {changed}"
        assert not any(c["editing"] for c in after), f"keys in the {name} opened a cell's editor"
    assert page.evaluate("window.__xss") is None


def test_the_tree_moves_with_the_keyboard(jupyter_lab, page):
    run_gallery(page, jupyter_lab, "tree-keys.ipynb")
    view = code_cell(page, TRACE).locator(".mlfm-tv")
    tree = view.locator(".mlfm-tree")
    view.locator(".mlfm-row").first.click()
    title = view.locator(".mlfm-dtitle b")
    title.wait_for()
    assert title.inner_text() == "gallery"
    page.keyboard.press("ArrowDown")
    page.wait_for_function("el => el.textContent === 'agent'", arg=title.element_handle())
    page.keyboard.press("ArrowLeft")  # agent is open: Left folds it
    assert view.locator(".mlfm-row").count() == 2
    page.keyboard.press("ArrowRight")  # and Right opens it again
    assert view.locator(".mlfm-row").count() > 30
    page.keyboard.press("End")
    page.wait_for_function("el => el.textContent === 'node_27_router'", arg=title.element_handle())
    assert tree.get_attribute("aria-activedescendant")
    selected = view.locator(".mlfm-row.sel")
    assert selected.get_attribute("aria-selected") == "true"
    assert selected.get_attribute("aria-level") == "30"
    page.keyboard.press("Home")
    page.wait_for_function("el => el.textContent === 'gallery'", arg=title.element_handle())
    # the sortable headers of the table are reachable and say how they sort
    header = code_cell(page, TABLE).locator("th.mlfm-tt-h-name")
    header.focus()
    page.keyboard.press("Enter")
    code_cell(page, TABLE).locator('th.mlfm-tt-h-name[aria-sort="ascending"]').wait_for()


# --- themes ----------------------------------------------------------------------------------

THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}


def set_theme(lab, theme: str) -> None:
    body = json.dumps({"raw": json.dumps({"theme": theme})}).encode()
    request = urllib.request.Request(
        f"{lab.url}/lab/api/settings/@jupyterlab/apputils-extension:themes",
        data=body,
        method="PUT",
        headers={"Authorization": f"token {lab.token}", "Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=10).close()


@pytest.fixture
def dark_then_light(jupyter_lab):
    yield lambda theme: set_theme(jupyter_lab, THEMES[theme])
    set_theme(jupyter_lab, THEMES["light"])


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_text_reads_at_4_5_to_1(jupyter_lab, page, dark_then_light, theme):
    dark_then_light(theme)
    run_gallery(page, jupyter_lab, f"contrast-{theme}.ipynb")
    light = "false" if theme == "dark" else "true"
    page.wait_for_function(f"() => document.body.dataset.jpThemeLight === '{light}'")
    show_states(page)
    page.wait_for_timeout(300)
    roots = ".jp-OutputArea-output [class*='mlfm']:not([class*='mlfm'] *)"
    measured = page.evaluate(_CONTRAST, roots)
    assert len(measured) > 300, f"only {len(measured)} texts measured"
    low = sorted((m for m in measured if m["ratio"] < 4.5), key=lambda m: m["ratio"])
    (artifacts_dir() / f"contrast-{theme}.json").write_text(json.dumps(low, indent=1))
    for index in (TRACE, TABLE, GRID, EVAL, COMPARE, DIFF, BOARD):
        code_cell(page, index).screenshot(
            path=str(artifacts_dir() / f"theme-{theme}-cell{index}.png")
        )
    assert not low, f"{len(low)} texts under 4.5:1 in {theme}: " + json.dumps(low[:12], indent=1)


# --- width -----------------------------------------------------------------------------------


def _overlaps(boxes: list[dict]) -> list[tuple[int, int]]:
    return [
        (i, i + 1) for i in range(len(boxes) - 1) if boxes[i]["right"] > boxes[i + 1]["left"] + 0.5
    ]


def test_everything_fits_an_800px_notebook(jupyter_lab, page):
    run_gallery(page, jupyter_lab, "narrow.ipynb")
    show_states(page)
    # Size the window so the output area is 800 px wide.
    width = page.evaluate(
        "() => document.querySelector('.jp-OutputArea-output').getBoundingClientRect().width"
    )
    page.set_viewport_size({"width": int(1400 - (width - 800)), "height": 900})
    page.wait_for_timeout(500)
    out = page.evaluate(
        "() => document.querySelector('.jp-OutputArea-output').getBoundingClientRect().width"
    )
    assert 780 <= out <= 820, out

    def in_view(locator, what: str) -> None:
        """Inside the output area and inside its own scroll box: no horizontal scrolling."""
        box = locator.evaluate(
            """el => { const r = el.getBoundingClientRect();
              const out = el.closest('.jp-OutputArea-output').getBoundingClientRect();
              let clip = out;
              for (let e = el.parentElement; e; e = e.parentElement) {
                const s = getComputedStyle(e);
                if (/(auto|scroll|hidden)/.test(s.overflowX)) { clip = e.getBoundingClientRect(); break; } }
              return {left: r.left, right: r.right, width: r.width, min: Math.max(out.left, clip.left),
                      max: Math.min(out.right, clip.right)}; }"""
        )
        assert box["width"] > 0, f"{what} is not shown"
        assert box["left"] >= box["min"] - 1 and box["right"] <= box["max"] + 1, (
            f"{what} is off-screen: {box}"
        )

    in_view(code_cell(page, GRID).locator(".mlfm-ds-save").first, "the dataset grid's Save")
    in_view(
        code_cell(page, EVAL).locator(".mlfm-ev-open").first, "the evaluation grid's trace link"
    )
    table = code_cell(page, TABLE)
    in_view(table.locator("th.mlfm-tt-h-request"), "the table's Request column")
    in_view(table.locator("th.mlfm-tt-h-response"), "the table's Response column")
    in_view(table.locator(".mlfm-tt-compare"), "the table's Compare")
    in_view(code_cell(page, BOARD).locator(".mlfm-ab-confirm"), "the alias board's Confirm")

    view = code_cell(page, TRACE).locator(".mlfm-tv")
    for line in [view.locator(".mlfm-cols"), *view.locator(".mlfm-row").all()[:40]]:
        boxes = line.evaluate(
            "el => [...el.children].map(c => { const r = c.getBoundingClientRect();"
            " return {left: r.left, right: r.right}; })"
        )
        assert not _overlaps(boxes), f"columns overlap in {line.inner_text()!r}: {boxes}"
    deepest = view.locator(".mlfm-row", has_text="node_27_router")
    assert deepest.locator(".mlfm-label").evaluate("el => el.getBoundingClientRect().width") > 80
    marker = deepest.locator(".mlfm-deep")
    assert marker.text_content() == "⋯29", deepest.evaluate("el => el.outerHTML")
    assert marker.evaluate("el => el.getBoundingClientRect().width") > 10
    for index in (TRACE, TABLE, GRID, EVAL, BOARD):
        code_cell(page, index).screenshot(path=str(artifacts_dir() / f"narrow-cell{index}.png"))


# --- reopen ----------------------------------------------------------------------------------


def reveal(page, index: int, sel: str) -> None:
    """Scroll until code cell ``index`` shows ``sel``: a reopened notebook draws only the cells
    in view (JupyterLab's windowed notebook)."""
    page.evaluate(
        "() => { const s = document.querySelector('.jp-WindowedPanel-outer') ||"
        " document.querySelector('.jp-NotebookPanel .jp-Notebook'); s.scrollTop = 0; }"
    )
    for _ in range(80):
        view = code_cell(page, index).locator(sel)
        if view.count():
            view.first.scroll_into_view_if_needed()
            view.first.wait_for(timeout=NOTEBOOK_RUN)
            return
        page.evaluate(
            "() => { const s = document.querySelector('.jp-WindowedPanel-outer') ||"
            " document.querySelector('.jp-NotebookPanel .jp-Notebook'); s.scrollTop += 400; }"
        )
        page.wait_for_timeout(150)
    raise AssertionError(f"cell {index} never showed {sel}")


@pytest.mark.parametrize("frontend", ["lab", "notebook7"])
def test_a_saved_notebook_reopens_with_every_view(jupyter_lab, page, frontend):
    notebook7 = frontend == "notebook7"
    name = f"reopen-{frontend}.ipynb"
    run_gallery(page, jupyter_lab, name, notebook7=notebook7)
    show_states(page)
    page.keyboard.press("Escape")
    page.keyboard.press("Control+s")
    page.wait_for_function(
        "() => !document.querySelector('.jp-mod-dirty, .jp-NotebookPanel .jp-mod-dirty')"
        " && !document.title.startsWith('*')",
        timeout=10_000,
    )
    page.wait_for_timeout(500)
    saved = json.loads((jupyter_lab.root_dir / name).read_text())
    assert "application/vnd.jupyter.widget-state+json" in saved["metadata"].get("widgets", {})

    for session in _lab_api(jupyter_lab, "GET", "/api/sessions"):
        _lab_api(jupyter_lab, "DELETE", f"/api/sessions/{session['id']}")
    page.goto("about:blank")
    if notebook7:
        open_notebook7(page, jupyter_lab, name)
    else:
        open_notebook(page, jupyter_lab, name)
    for index, sel in VIEWS.items():
        reveal(page, index, sel)
    page.wait_for_timeout(1000)
    assert "model not found" not in page.locator(".jp-Notebook").inner_text()
    assert page.locator(".jp-Notebook").get_by_text("Error displaying widget").count() == 0
    reveal(page, TRACE, ".mlfm-tv")
    view = code_cell(page, TRACE).locator(".mlfm-tv")
    assert view.locator(".mlfm-row").count() > 3
    assert view.locator(".mlfm-row.sel .mlfm-label").inner_text() == "lookup"  # the last state
    assert "TimeoutError" in view.locator(".mlfm-exc").inner_text()
    reveal(page, TABLE, ".mlfm-tt-w")
    assert code_cell(page, TABLE).locator(".mlfm-tt-row").count() >= 4
    assert code_cell(page, TABLE).locator(".mlfm-tt-row.sel").count() == 1  # the last state
    reveal(page, EVAL, ".mlfm-ev-w")
    assert code_cell(page, EVAL).locator(".mlfm-ev-row").count() == 6
    reveal(page, GRID, ".mlfm-ds-w")
    assert code_cell(page, GRID).locator(".mlfm-ds-row").count() == 4
    reveal(page, BOARD, ".mlfm-ab-w")
    assert "production" in code_cell(page, BOARD).locator(".mlfm-ab-aliases").text_content()
    # nothing ran: the cells keep their old execution counts and the kernel is fresh
    assert page.evaluate("window.__xss") is None
    page.screenshot(path=str(artifacts_dir() / f"reopened-{frontend}.png"), full_page=True)
