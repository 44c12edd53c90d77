"""Reading a view's static HTML the way hosts show it, for tests.

- :func:`strip_css`: what GitHub leaves of it (every ``style=`` attribute and ``<style>`` block
  gone), so a test can check what still reads with no CSS at all;
- :func:`parse`: an element tree (Python's ``html.parser``);
- :func:`rules`, :func:`specificity`, :func:`matches` and :func:`cascade`: just enough of CSS to
  say which of the view's own rules (plus a host rule) decides a property of an element.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

_VOID = {"br", "hr", "img", "input", "meta", "link", "wbr"}


@dataclass(eq=False)
class Node:
    """One element: its tag, attributes, children (nodes and text) and parent."""

    tag: str
    attrs: dict[str, str | None] = field(default_factory=dict)
    children: list[Node | str] = field(default_factory=list)
    parent: Node | None = None

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self):
        """This node and every element under it, in document order."""
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.iter()

    def find_all(self, tag: str | None = None, cls: str | None = None) -> list[Node]:
        return [
            n
            for n in self.iter()
            if (tag is None or n.tag == tag) and (cls is None or cls in n.classes)
        ]

    def child(self, tag: str) -> Node | None:
        return next((c for c in self.children if isinstance(c, Node) and c.tag == tag), None)


def parse(markup: str) -> Node:
    """The element tree a browser would build from ``markup`` (well-formed, as ours is)."""
    root = Node("#root")

    class Build(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.at = root

        def handle_starttag(self, tag, attrs):
            node = Node(tag, dict(attrs), parent=self.at)
            self.at.children.append(node)
            if tag not in _VOID:
                self.at = node

        def handle_endtag(self, tag):
            at = self.at
            while at is not root and at.tag != tag:
                at = at.parent
            if at is not root:
                self.at = at.parent

        def handle_data(self, data):
            self.at.children.append(data)

    Build().feed(markup)
    return root


def strip_css(markup: str) -> str:
    """``markup`` without any CSS: every ``<style>`` block and ``style="..."`` attribute gone.

    Our markup escapes quotes in attribute values, so a quoted value ends at the next quote."""
    markup = re.sub(r"<style\b[^>]*>.*?</style>", "", markup, flags=re.S | re.I)
    return re.sub(r"""\sstyle=("[^"]*"|'[^']*')""", "", markup, flags=re.I)


# -- a small CSS model -------------------------------------------------------------------------

Specificity = tuple[int, int, int]


def rules(markup: str) -> list[tuple[str, dict[str, str]]]:
    """``(selector, declarations)`` for every selector of every rule in the ``<style>`` blocks."""
    out = []
    for css in re.findall(r"<style\b[^>]*>(.*?)</style>", markup, flags=re.S | re.I):
        for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
            decls = {}
            for decl in body.split(";"):
                if ":" in decl:
                    key, value = decl.split(":", 1)
                    decls[key.strip().lower()] = value.strip()
            for sel in _split_top(selectors, ","):
                out.append((sel.strip(), decls))
    return out


def _split_top(text: str, sep: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == sep and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    return [*parts, cur]


_PSEUDO = re.compile(r"(::?)([a-zA-Z-]+)(\((?:[^()]|\([^()]*\))*\))?")


def specificity(selector: str) -> Specificity:
    """(ids, classes + attributes + pseudo-classes, elements + pseudo-elements); ``:not()``,
    ``:is()`` and ``:has()`` count their argument, ``:where()`` nothing."""
    a = b = c = 0

    def pseudo(m: re.Match) -> str:
        nonlocal a, b, c
        colons, name, arg = m.groups()
        if colons == "::":
            c += 1
        elif name in ("not", "is", "has") and arg:
            inner = max(specificity(s) for s in _split_top(arg[1:-1], ","))
            a, b, c = a + inner[0], b + inner[1], c + inner[2]
        elif name != "where":
            b += 1
        return " "

    rest = _PSEUDO.sub(pseudo, selector)
    a += len(re.findall(r"#[\w-]+", rest))
    b += len(re.findall(r"\.[\w-]+|\[[^\]]*\]", rest))
    c += len(re.findall(r"(?:^|[\s>+~])([a-zA-Z][\w-]*)", rest))
    return (a, b, c)


def _compounds(selector: str) -> tuple[list[str], list[str]]:
    sel = _PSEUDO.sub("", selector).strip()  # pseudo-classes are taken to match (hover, open...)
    tokens = re.findall(r"\s*>\s*|\s+|[^\s>]+", sel)
    parts, combs = [], []
    for t in tokens:
        if t.strip() == ">":
            combs.append(">")
        elif not t.strip():
            combs.append(" ")
        else:
            if len(combs) < len(parts):
                combs.append(" ")
            parts.append(t)
    return parts, combs[: max(0, len(parts) - 1)]


def _compound_matches(compound: str, node: Node) -> bool:
    m = re.match(r"([a-zA-Z*][\w-]*)?", compound)
    name = m.group(1) if m else None
    if name and name != "*" and name != node.tag:
        return False
    if not set(re.findall(r"\.([\w-]+)", compound)) <= node.classes:
        return False
    for attr, value in re.findall(r"\[([\w-]+)(?:=\"?([^\]\"]*)\"?)?\]", compound):
        if attr not in node.attrs or (value and node.attrs[attr] != value):
            return False
    return True


def matches(selector: str, node: Node) -> bool:
    """Whether ``selector`` (descendant and child combinators) selects ``node``."""
    parts, combs = _compounds(selector)

    def at(k: int, n: Node | None) -> bool:
        if n is None or n.tag == "#root" or not _compound_matches(parts[k], n):
            return False
        if k == 0:
            return True
        if combs[k - 1] == ">":
            return at(k - 1, n.parent)
        up = n.parent
        while up is not None:
            if at(k - 1, up):
                return True
            up = up.parent
        return False

    return bool(parts) and at(len(parts) - 1, node)


#: JupyterLab's (and nbconvert's lab template's) own rule for rendered HTML table cells.
JUPYTERLAB_CELL_RULE = (":not(.jp-RenderedMarkdown).jp-RenderedHTMLCommon td", "right")


def cascade(
    markup: str, node: Node, prop: str, host: list[tuple[str, str]] = ()
) -> tuple[str | None, str | None]:
    """``(value, selector)`` of ``prop`` the cascade gives ``node`` directly (no inheritance)
    from the view's rules and ``host`` rules ``(selector, value)``, which load *after* the
    view's (the worst case: they win ties)."""
    candidates = []
    for order, (sel, decls) in enumerate(rules(markup)):
        if prop in decls and matches(sel, node):
            candidates.append((specificity(sel), order, decls[prop], sel))
    for extra, (sel, value) in enumerate(host):
        if matches(sel, node):
            candidates.append((specificity(sel), 10**6 + extra, value, sel))
    if not candidates:
        return None, None
    best = max(candidates)
    return best[2], best[3]


def inside_jupyterlab(markup: str) -> Node:
    """The view's tree as JupyterLab nests it: in an output area's rendered-HTML element."""
    tree = parse(markup)
    host = Node("div", {"class": "jp-OutputArea-output jp-RenderedHTMLCommon"})
    for c in tree.children:
        if isinstance(c, Node):
            c.parent = host
        host.children.append(c)
    tree.children = [host]
    host.parent = tree
    return tree


# -- the trace view without CSS ------------------------------------------------------------------

ERROR_CLASSES = {"err", "error", "ERROR"}


def span_rows(markup: str) -> list[Node]:
    """The trace view's span ``<details>``, in row order (not the raw-JSON and reasoning folds
    inside a span's content)."""
    return [
        d
        for d in parse(markup).find_all("details")
        if d.child("summary") is not None and not d.classes & {"raw", "fold"}
    ]


def drawn_depth(row: Node) -> int:
    """A row's depth as its text shows it: two characters of rail a level, or "⋯N" past the cap."""
    rail = next(iter(row.child("summary").find_all(cls="rail")), None)
    if rail is None:
        return 0
    text = rail.text()
    deep = re.match(r"⋯(\d+)", text)
    return int(deep.group(1)) if deep else len(text) // 2


def drawn_bar(row: Node) -> float | None:
    """The fraction of the trace a row's bar covers, as it survives without CSS: a
    ``<meter>``/``<progress>`` value or the share of full blocks in a text bar."""
    summary = row.child("summary")
    for gauge in summary.find_all("meter") + summary.find_all("progress"):
        return float(gauge.attrs["value"]) / float(gauge.attrs.get("max") or 1)
    for bar in summary.find_all("samp", cls="tb"):
        text = bar.text()
        return text.count("█") / len(text)
    return None


def assert_trace_reads_without_css(markup: str, data) -> None:
    """With every ``style=`` and ``<style>`` stripped, the trace view still shows each span's
    depth and bar length, keeps error classes off an OK span under a failed one, and opens the
    failed spans and their ancestors."""
    bare = strip_css(markup)
    assert "style" not in {n.tag for n in parse(bare).iter()}
    rows = span_rows(bare)
    s, depth = data.spans, data.depth()
    assert rows, "no span rows"
    total = max(data.duration_ms, *(a + b for a, b in zip(s["start"], s["dur"], strict=True)))
    err_below = [st == "ERROR" for st in s["status"]]
    for i in range(len(s["parent"]) - 1, -1, -1):
        if err_below[i] and s["parent"][i] >= 0:
            err_below[s["parent"][i]] = True
    for i, row in enumerate(rows):
        name = s["name"][i]
        assert name in row.child("summary").text()
        assert drawn_depth(row) == depth[i], (name, drawn_depth(row), depth[i])
        bar = drawn_bar(row)
        assert bar is not None, f"{name}: no bar without CSS"
        assert abs(bar - s["dur"][i] / total) <= 0.051, (name, bar, s["dur"][i] / total)
        if err_below[i]:
            assert "open" in row.attrs, f"{name}: a failed span or its ancestor starts closed"
        p = s["parent"][i]
        if s["status"][i] == "OK" and p >= 0 and s["status"][p] == "ERROR":
            own = [row, *row.child("summary").iter()]
            assert not [n for n in own if n.classes & ERROR_CLASSES], f"{name} is marked failed"


# -- tables inside JupyterLab --------------------------------------------------------------------

#: JupyterLab's rendered-HTML rules that fight a view's tables: right-aligned cells, fixed
#: table layout, wrapping cells.
JUPYTERLAB_TABLE_RULES = {
    "text-align": [
        (":not(.jp-RenderedMarkdown).jp-RenderedHTMLCommon td", "right"),
        (":not(.jp-RenderedMarkdown).jp-RenderedHTMLCommon th", "right"),
    ],
    "table-layout": [(".jp-RenderedHTMLCommon table", "fixed")],
    "white-space": [
        (".jp-RenderedHTMLCommon td", "normal"),
        (".jp-RenderedHTMLCommon th", "normal"),
    ],
}


def assert_cells_align_in_jupyterlab(markup: str, layout: str = "auto") -> None:
    """Inside JupyterLab (its rules loading last), text cells are left-aligned, ``.num`` cells
    right-aligned, ``.mk`` cells centred, and tables keep ``layout``."""
    tree = inside_jupyterlab(markup)
    cells = [n for n in tree.iter() if n.tag in ("td", "th")]
    assert cells, "no table cells"
    for cell in cells:
        want = "right" if "num" in cell.classes else "center" if "mk" in cell.classes else "left"
        got, by = cascade(markup, cell, "text-align", JUPYTERLAB_TABLE_RULES["text-align"])
        assert got == want, (cell.tag, cell.classes, cell.text()[:40], got, by)
    for table in tree.find_all("table"):
        got, by = cascade(markup, table, "table-layout", JUPYTERLAB_TABLE_RULES["table-layout"])
        assert got == layout, (got, by)


_TRACE_ID = re.compile(r"\btr-[0-9a-f]{8,}")


def assert_ids_never_wrap(markup: str) -> int:
    """Every element showing a trace id gets ``white-space:nowrap`` (its own or inherited)
    inside JupyterLab; returns how many there are."""
    tree = inside_jupyterlab(markup)
    shown = [
        n
        for n in tree.iter()
        if n.tag not in ("style", "#root")
        and any(isinstance(c, str) and _TRACE_ID.search(c) for c in n.children)
    ]
    for node in shown:
        at, got = node, None
        while at is not None and at.tag != "#root" and got is None:
            got, _ = cascade(markup, at, "white-space", JUPYTERLAB_TABLE_RULES["white-space"])
            at = at.parent
        assert got == "nowrap", (node.tag, node.classes, node.text()[:40], got)
    return len(shown)
