"""Which rendering tier a frontend gets: the display mode setting and frontend detection."""

from __future__ import annotations

import os
import sys
from typing import Any

from mlflow_magics.views.markup import visible

MODES = ("auto", "widget", "html", "text")
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
DATABRICKS_TRACE_MIME = "application/databricks.mlflow.trace"

_state = {"mode": "auto", "colab_enabled": False}


def set_mode(mode: str) -> None:
    """Set the display mode (``MlflowMagics.display`` keeps this in step)."""
    if mode not in MODES:
        raise ValueError(f"display mode must be one of {', '.join(MODES)}, not {mode!r}")
    _state["mode"] = mode


def get_mode() -> str:
    return _state["mode"]


def in_databricks() -> bool:
    """True inside a Databricks notebook (its runtime sets this variable)."""
    return "DATABRICKS_RUNTIME_VERSION" in os.environ


def in_kernel() -> bool:
    """True when a Jupyter kernel (and so a comm channel for widgets) is behind the shell."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def widgets_wanted() -> bool:
    """Whether this display should carry the interactive widget."""
    mode = get_mode()
    if mode == "widget":
        return True
    if mode != "auto":
        return False
    # Databricks ships ipywidgets 7 without a guarantee for custom widgets: the static HTML
    # tier (plus Databricks' own trace MIME) is what reliably renders there.
    if in_databricks() or not in_kernel():
        return False
    if "google.colab" in sys.modules and not _state["colab_enabled"]:
        try:  # Colab renders third-party widgets only once this is switched on
            from google.colab import output  # type: ignore[import-not-found]

            output.enable_custom_widget_manager()
        except Exception:
            return False
        _state["colab_enabled"] = True
    return True


def widget_view(widget: Any) -> dict[str, Any]:
    """The widget-view MIME payload for ``widget``. ipywidgets 8 has ``_repr_mimebundle_``;
    ipywidgets 7 (Databricks) displays through ``_ipython_display_``, so build it from the
    model id, as both frontends read it."""
    repr_bundle = getattr(widget, "_repr_mimebundle_", None)
    if repr_bundle is not None:
        data = repr_bundle()
        if isinstance(data, tuple):
            data = data[0]
        if data and WIDGET_MIME in data:
            return data[WIDGET_MIME]
    return {"version_major": 2, "version_minor": 0, "model_id": widget.model_id}


def mimebundle(
    text: str,
    html: Any = None,
    widget: Any = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Assemble a bundle for the current mode; ``html``/``widget`` are zero-arg builders.

    ``text`` reaches terminals and logs: its control and bidi characters are shown as escapes
    here too, whichever view made it."""
    mode = get_mode()
    bundle: dict[str, Any] = {"text/plain": visible(text)}
    if mode == "text":
        return bundle
    if html is not None:
        bundle["text/html"] = html()
    if widget is not None and widgets_wanted():
        bundle[WIDGET_MIME] = widget_view(widget())
    if extra:
        bundle.update(extra)
    return bundle
