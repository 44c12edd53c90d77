"""Widgets whose front-end sends clicks as messages (``{"action": …}``).

Each message calls the same result methods a script would (the Python twin of the click);
the reply ``{"done": action}`` ends the front-end's busy state, also for actions that change
no trait. A user mistake becomes the one-sentence ``error`` trait; anything else shows its
traceback in the kernel too, rather than vanishing in the comm handler.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from mlflow_magics.errors import BadInput

#: The widgets' ES modules and CSS, shipped inside the package.
WIDGETS = Path(__file__).resolve().parent.parent / "widgets"


class ActionWidget(anywidget.AnyWidget):
    """Base of the table and dataset widgets: message plumbing and error reporting."""

    error = traitlets.Unicode(
        "", help="One sentence when the last action failed (e.g. a malformed filter); else empty."
    ).tag(sync=True)

    def __init__(self, view, **kwargs: Any) -> None:
        self._view = view  # the result object whose methods the actions call
        super().__init__(**kwargs)
        self.on_msg(self._on_msg)

    def _on_msg(self, _widget, content: dict[str, Any], _buffers) -> None:
        try:
            self.act(content)
        finally:
            self.send({"done": content.get("action")})

    #: Actions whose view keeps what the store did not take (a dataset edit stays unsaved,
    #: with the reason) instead of being refused up front.
    keeps_unsaved: frozenset[str] = frozenset()

    def act(self, content: dict[str, Any]) -> None:
        """Do what one front-end message asks, as a click would."""
        self._before_action()
        try:
            if content.get("action") not in self.keeps_unsaved:
                self._check_store()
            self._act(content)
        except BadInput as e:
            self._refused(str(e))
        except Exception as e:
            self.error = f"{type(e).__name__}: {e}"
            show_traceback()

    def _check_store(self) -> None:
        """A dead tracking server is one sentence at once, not minutes of MLflow's retries."""
        from mlflow_magics.connection import store_unreachable

        problem = store_unreachable(getattr(self._view, "_client", None))
        if problem:
            raise BadInput(f"Cannot reach the tracking server: {problem}; nothing was changed.")

    def _before_action(self) -> None:
        self.error = ""

    def _refused(self, sentence: str) -> None:
        self.error = sentence

    def _act(self, content: dict[str, Any]) -> None:
        raise NotImplementedError


def show_traceback() -> None:
    """The current exception's traceback, where the user sees kernel errors."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return
    shell = get_ipython()
    if shell is not None:
        shell.showtraceback()
    else:
        import traceback

        traceback.print_exc(file=sys.stderr)
