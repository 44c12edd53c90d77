"""The trace view's widget: span columns synced once, span details on request.

The front-end is ``mlflow_magics/widgets/trace_view.js``. The browser sets
``selected_span_id``; Python answers with that span's bounded details in ``_detail``. So the
kernel sends a 50,000-span trace's payloads one span at a time, never all at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget
import traitlets

from mlflow_magics.trace_data import TraceData, span_detail, span_index

_HERE = Path(__file__).resolve().parent.parent / "widgets"


class TraceWidget(anywidget.AnyWidget):
    """Span tree + waterfall + details pane for one trace."""

    _esm = _HERE / "trace_view.js"
    _css = _HERE / "trace_view.css"

    trace = traitlets.Dict(
        help="Trace facts and span columns in depth-first order (sent once)."
    ).tag(sync=True)
    selected_span_id = traitlets.Unicode(
        "", help="Hex id of the span whose details are shown; set by a click or select()."
    ).tag(sync=True)
    _detail = traitlets.Dict(
        help="Bounded details of the selected span, computed in Python on selection."
    ).tag(sync=True)

    def __init__(self, trace, data: TraceData, **kwargs: Any) -> None:
        self._trace = trace
        self._index: dict[str, Any] | None = None
        super().__init__(trace=data.to_payload(), **kwargs)

    @traitlets.observe("selected_span_id")
    def _on_select(self, change) -> None:
        span_id = change["new"]
        if not span_id:
            self._detail = {}
            return
        try:
            if self._index is None:  # built on the first click, not for views never clicked
                self._index = span_index(self._trace)
            detail = span_detail(self._trace, span_id, index=self._index)
        except Exception as e:  # shown in the pane rather than lost in the kernel log
            detail = {"span_id": span_id, "error": f"Could not read span {span_id}: {e}"}
        self._detail = detail or {"span_id": span_id, "error": f"No span {span_id} in trace."}

    def select(self, span_id: str) -> None:
        """Python twin of clicking a span row."""
        if span_id == self.selected_span_id:
            self._on_select({"new": span_id})
        else:
            self.selected_span_id = span_id

    @property
    def detail(self) -> dict[str, Any]:
        """What the details pane shows now."""
        return dict(self._detail)
