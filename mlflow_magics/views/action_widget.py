"""The widgets' base classes: bundles from ``mlflow_magics/static`` and action messages.

Front-end sources live in the top-level ``widgets/`` folder (one entry per widget, a shared
``lib/``); the build bundles them into ``mlflow_magics/static/<name>.js`` and ``.css``, which a
wheel ships. Each widget's contract (synced traits and action messages) is written once, in
``widgets/<name>/model.d.ts``, and ``tests/test_widget_contracts.py`` holds the classes here to it.

A front-end click arrives as ``{"action": name, "id": n, ...}`` and calls the same result
methods a script would (the Python twin of the click), through the widget's ``_do_<name>``
method. The reply ``{"done": name, "id": n, "error": sentence}`` ends the front-end's busy
state, also for actions that change no trait. A user mistake becomes the one-sentence ``error``
trait; anything else shows its traceback in the kernel too, rather than vanishing in the comm
handler.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, ClassVar

import anywidget
import traitlets

from mlflow_magics.errors import BadInput

#: The widgets' bundled ES modules and CSS (build output of ``widgets/``), inside the package.
STATIC = Path(__file__).resolve().parent.parent / "static"


def bundle(name: str) -> tuple[Path, Path]:
    """The built ``(js, css)`` of widget ``name``; a missing build is one clear sentence."""
    js, css = STATIC / f"{name}.js", STATIC / f"{name}.css"
    if not js.is_file() or not css.is_file():
        raise RuntimeError(
            f"The {name} widget's bundle is missing from {STATIC}: this is a source checkout "
            "that was not built. Run `pip install -e .` (or `npm run build` in widgets/)."
        )
    return js, css


class BundledWidget(anywidget.AnyWidget):
    """Base of every view's widget: its front-end is ``widgets/<bundle_name>/``."""

    #: The widget's folder under ``widgets/`` and its bundle's name under ``static/``.
    bundle_name: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        if cls.__dict__.get("bundle_name"):
            cls._esm, cls._css = bundle(cls.bundle_name)
        super().__init_subclass__(**kwargs)


class ActionWidget(BundledWidget):
    """Base of the widgets whose controls send action messages: dispatch and error reporting."""

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
            self.send({"done": content.get("action"), "id": content.get("id"), "error": self.error})

    @classmethod
    def actions(cls) -> frozenset[str]:
        """The action names the front-end may send: one ``_do_<name>`` method each."""
        return frozenset(name[4:] for name in dir(cls) if name.startswith("_do_"))

    #: What the widget is, in an error sentence ("Unknown table action …").
    noun: ClassVar[str] = "widget"

    #: Actions whose view keeps what the store did not take (a dataset edit stays unsaved,
    #: with the reason) instead of being refused up front.
    keeps_unsaved: frozenset[str] = frozenset()

    def act(self, content: dict[str, Any]) -> None:
        """Do what one front-end message asks, as a click would."""
        from mlflow_magics.connection import bounded_requests, transport_failure

        self._before_action()
        try:
            if content.get("action") not in self.keeps_unsaved:
                self._check_store()
            with bounded_requests():
                self._act(content)
        except BadInput as e:
            self._refused(str(e))
        except Exception as e:
            reason = transport_failure(e)
            if reason is not None:
                self._refused(
                    f"The store stopped answering ({reason}); what it finished is kept — "
                    "try again once it answers."
                )
                return
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
        action = str(content.get("action"))
        handler = getattr(self, f"_do_{action}", None)
        if handler is None:
            known = ", ".join(sorted(self.actions()))
            raise BadInput(f"Unknown {self.noun} action {action!r}; the actions are {known}.")
        handler(content)


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
