"""CSS that every static table view shares: rules that hold inside the host's own stylesheet.

JupyterLab and nbconvert's lab template right-align every cell of rendered HTML with
``:not(.jp-RenderedMarkdown).jp-RenderedHTMLCommon td`` — specificity (0,2,1), one more class
than it looks — and give tables ``table-layout: fixed``; GitHub-like styles let an id wrap after
its ``tr-``. These rules repeat the view's root class three times, (0,3,1) and up, so they win
whichever order the stylesheets load in.
"""

from __future__ import annotations


def table_rules(root: str, *, layout: str = "auto") -> str:
    """Left-aligned text cells, right-aligned ``.num`` cells, centred ``.mk`` cells and ids
    that never wrap, for tables inside the element with class ``root``."""
    r = f".{root}" * 3
    return (
        f"{r} table{{table-layout:{layout};border-collapse:collapse}}\n"
        f"{r} td,{r} th{{text-align:left}}\n"
        f"{r} td.num,{r} th.num{{text-align:right;font-variant-numeric:tabular-nums}}\n"
        f"{r} td.mk,{r} th.mk{{text-align:center}}\n"
        f"{r} .id{{white-space:nowrap}}\n"
    )


#: A translucent tint of a theme colour: readable under the theme's own text in light and dark.
def tint(variable: str, fallback: str, percent: int = 14) -> str:
    """``color-mix`` of ``var(variable, fallback)`` with transparent (a row or chip fill)."""
    return f"color-mix(in srgb,var({variable},{fallback}) {percent}%,transparent)"


__all__ = ["table_rules", "tint"]
