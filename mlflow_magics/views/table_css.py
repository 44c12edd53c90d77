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


# Text and fill colours of the static tier, the same formulas as widgets/lib/theme.css: status
# hues are mixed with the theme's strongest text colour, so they keep 4.5:1 on light and dark
# backgrounds; fills are translucent. CSS in the views uses these names, never a literal colour.
#: Error, success and warning text.
ERR = "color-mix(in srgb,var(--jp-error-color1,#d32f2f) 68%,var(--jp-ui-font-color0,#000))"
OK = "color-mix(in srgb,var(--jp-success-color1,#388e3c) 62%,var(--jp-ui-font-color0,#000))"
WARN = "color-mix(in srgb,var(--jp-warn-color1,#f57c00) 55%,var(--jp-ui-font-color0,#000))"
#: Secondary text (ids, captions) and a raised fill (headers, chips).
DIM = "color-mix(in srgb,var(--jp-ui-font-color1,rgba(0,0,0,.87)) 78%,transparent)"
RAISED = "color-mix(in srgb,var(--jp-ui-font-color1,rgba(0,0,0,.87)) 7%,transparent)"


def header_rules(root: str) -> str:
    """The root's font and the header every two-sided view (diff, compare) opens with: title,
    ids, the A/B side badges and the summary counts."""
    r = f".{root}"
    return (
        f"\n{r}{{font:12px/1.45 var(--jp-ui-font-family,system-ui,sans-serif);"
        f"color:var(--jp-ui-font-color1,#1f2328);max-width:100%}}\n"
        f"{r} .hdr{{display:flex;flex-wrap:wrap;gap:8px;align-items:baseline;margin:2px 0 4px}}\n"
        f"{r} .hdr b{{font-size:13px}}\n"
        f"{r} .id,{r} .dim{{color:{DIM}}}\n"
        f"{r} .side{{font-weight:600;border-radius:8px;padding:0 6px;font-size:11px;background:{RAISED}}}\n"
        f"{r} .sum{{display:flex;flex-wrap:wrap;gap:12px;margin:0 0 6px}}"
    )


#: A translucent tint of a theme colour: readable under the theme's own text in light and dark.
def tint(variable: str, fallback: str, percent: int = 14) -> str:
    """``color-mix`` of ``var(variable, fallback)`` with transparent (a row or chip fill)."""
    return f"color-mix(in srgb,var({variable},{fallback}) {percent}%,transparent)"


__all__ = ["DIM", "ERR", "OK", "RAISED", "WARN", "header_rules", "table_rules", "tint"]
