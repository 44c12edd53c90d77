"""The one place HTML is made: every value is escaped on the way in.

Views build markup with :func:`tag`; text children and attribute values are escaped unless
they are :class:`Markup` made by this module. Nothing else in the package writes HTML.
:func:`visible` is the text tier's half of the same rule: every view's ``text/plain``, the
magic's warnings and its one-sentence errors pass through it, and :func:`escape` applies it
before HTML-escaping.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

#: Classes on every view's root so JupyterLab's MathJax (3: ``mathjax_ignore``, 2:
#: ``tex2jax_ignore``) does not typeset "$" pairs in untrusted text ("$0.001 → $0.002") as LaTeX.
NO_MATH = "mathjax_ignore tex2jax_ignore"


# C0/C1 controls except tab and newline, and the bidi controls that reorder what follows them
# (a right-to-left override makes "exe.txt" read "txt.exe"): shown as visible escapes. An ESC
# or BEL from a name printed raw retitles a terminal or clears it.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape_char(m: re.Match) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: object) -> str:
    """``text`` with control and bidi-override characters as visible escapes (``\\x1b``,
    ``\\u202e``); newlines kept (``\\r\\n`` and lone ``\\r`` become ``\\n``), tabs kept.
    What it returns has none of those characters left, so applying it twice changes nothing."""
    s = str(text)
    if "\r" in s:
        s = s.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub(_escape_char, s)


class Markup(str):
    """A string of HTML this module built; :func:`tag` inserts it as is."""

    __slots__ = ()


def escape(value: object) -> Markup:
    """``value`` as text that HTML shows literally (quotes included, for attributes), control
    and bidi characters as :func:`visible` escapes."""
    if isinstance(value, Markup):
        return value
    return Markup(html.escape(visible(value), quote=True))


def tag(name: str, *children: object, **attrs: object) -> Markup:
    """``<name attrs>children</name>``; ``class_`` spells ``class``; None/False attrs drop.

    ``name`` and attribute names come from this package, never from data.
    """
    parts = [f"<{name}"]
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        key = key.rstrip("_").replace("_", "-")
        parts.append(f" {key}" if value is True else f' {key}="{escape(value)}"')
    parts.append(">")
    parts.extend(_children(children))
    parts.append(f"</{name}>")
    return Markup("".join(parts))


def join(items: Iterable[object]) -> Markup:
    """Concatenate escaped items."""
    return Markup("".join(_children(items)))


def _children(children: Iterable[object]) -> Iterable[str]:
    for child in children:
        if child is None:
            continue
        if isinstance(child, (list, tuple)):
            yield from _children(child)
        else:
            yield escape(child)


def percent(value: float) -> str:
    """A CSS percentage from a number: the only data-derived text in a style attribute."""
    return f"{max(0.0, min(100.0, float(value))):.3f}%"
