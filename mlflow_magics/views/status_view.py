"""Results of ``%mlflow status|connect|experiment`` and short notices."""

from __future__ import annotations

from typing import Any

from mlflow_magics.connection import Status
from mlflow_magics.views import display
from mlflow_magics.views.markup import NO_MATH, Markup, escape, tag, visible
from mlflow_magics.views.table_css import DIM, ERR, table_rules

_CSS = table_rules("mlfm-status") + (
    ".mlfm-status{font:12px/1.5 var(--jp-ui-font-family,system-ui,sans-serif)}"
    ".mlfm-status th{text-align:left;padding:1px 12px 1px 0;"
    f"color:{DIM};font-weight:normal}}"
    ".mlfm-status td{padding:1px 0;font-family:var(--jp-code-font-family,monospace)}"
    f".mlfm-status .problem{{color:{ERR}}}"
)


def _link(url: str | None, text: str) -> Markup:
    # Only links we built from an http(s) base: a javascript: URL never becomes an href.
    if url and url.startswith(("http://", "https://")):
        return tag("a", text, href=url, target="_blank", rel="noopener noreferrer")
    return escape(text)


class StatusView:
    """Where MLflow data goes now: URIs, experiment, active run, links."""

    def __init__(self, status: Status, note: str | None = None):
        self.status = status
        self.note = note

    def _rows(self) -> list[tuple[str, str, str | None]]:
        s = self.status
        exp = "—"
        if s.experiment_id:
            exp = (
                f"{s.experiment_name} (id {s.experiment_id})"
                if s.experiment_name
                else s.experiment_id
            )
        run = f"{s.active_run_name} ({s.active_run_id})" if s.active_run_id else "none"
        rows = [
            ("tracking URI", s.tracking_uri, None),
            ("registry URI", s.registry_uri, None),
            ("experiment", exp, s.experiment_url),
            ("active run", run, None),
        ]
        if s.databricks_host:
            rows.append(("Databricks host", s.databricks_host, s.databricks_host))
        if s.ui_url:
            rows.append(("UI", s.ui_url, s.ui_url))
        elif s.tracking_uri.startswith("sqlite"):
            rows.append(("UI", f"mlflow ui --backend-store-uri {s.tracking_uri}", None))
        return rows

    def to_text(self) -> str:
        lines = [f"{label:>16}: {value}" for label, value, _ in self._rows()]
        if self.status.problem:
            lines.append(f"{'problem':>16}: {self.status.problem}")
        if self.note:
            lines.append(self.note)
        return visible("\n".join(lines))

    def to_html(self) -> str:
        rows = [
            tag("tr", tag("th", label), tag("td", _link(url, value)))
            for label, value, url in self._rows()
        ]
        if self.status.problem:
            rows.append(
                tag("tr", tag("th", "problem"), tag("td", self.status.problem, class_="problem"))
            )
        note = tag("div", self.note) if self.note else ""
        return tag("style", Markup(_CSS)) + tag(
            "div", tag("table", rows), note, class_=f"mlfm-status {NO_MATH}"
        )

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        return display.mimebundle(self.to_text(), html=self.to_html)

    def __repr__(self) -> str:
        return f"<StatusView {self.status.tracking_uri} experiment={self.status.experiment_id}>"


class Notice:
    """A one-line result (``%mlflow autotrace on``)."""

    def __init__(self, text: str):
        self.text = text

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        return display.mimebundle(
            visible(self.text), html=lambda: tag("div", self.text, class_=f"mlfm-notice {NO_MATH}")
        )

    def __repr__(self) -> str:
        return f"<Notice {self.text!r}>"
