"""Results whose widget is a control (the trace table, the dataset grid) above a detail area
where an opened trace or a comparison appears, in the same output."""

from __future__ import annotations

from typing import Any


class WithDetailArea:
    """The widget composite and ``open`` shared by results with a detail area.

    Subclasses set ``self._client`` and implement ``_control()`` (their own widget) and
    ``_sync()`` (push their state to it)."""

    _client: Any
    _widget: Any = None
    _control_widget: Any = None
    _detail: Any = None
    opened: Any = None

    def _control(self):
        raise NotImplementedError

    def _sync(self) -> None:
        raise NotImplementedError

    @property
    def widget(self):
        """The interactive control above its detail area (created on first use)."""
        if self._widget is None:
            import ipywidgets

            self._control_widget = self._control()
            self._detail = ipywidgets.VBox()
            self._widget = ipywidgets.VBox([self._control_widget, self._detail])
            self._sync()
        return self._widget

    @property
    def detail_children(self) -> tuple:
        """What the detail area under the widget shows (a trace widget or a diff)."""
        return tuple(self._detail.children) if self._detail is not None else ()

    def _show(self, view, child) -> Any:
        """Remember ``view`` as the opened result and put ``child`` in the detail area."""
        self.opened = view
        if self._detail is not None:
            self._detail.children = (child,)
        return view

    def open(self, trace_id: str):
        """Load ``trace_id`` with its spans; return its trace view (shown in the detail area)."""
        from mlflow_magics.traces import get_trace
        from mlflow_magics.views.trace_view import TraceView

        view = TraceView(get_trace(self._client, trace_id))
        return self._show(view, view.widget)
