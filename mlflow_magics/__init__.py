"""IPython magics and notebook widgets for MLflow 3's GenAI loop.

Load with ``%load_ext mlflow_magics``; then ``%mlflow --help``.

The package root stays thin on purpose: loading the extension imports neither mlflow nor
anywidget, so ``%load_ext`` is instant and they load on first use.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "load_ipython_extension", "unload_ipython_extension"]


def load_ipython_extension(ipython) -> None:
    """Register ``%mlflow`` / ``%%mlflow`` and the cell tracer on ``ipython``."""
    from mlflow_magics.magics import MlflowMagics

    MlflowMagics.install(ipython)


def unload_ipython_extension(ipython) -> None:
    """Remove everything :func:`load_ipython_extension` added."""
    from mlflow_magics.magics import MlflowMagics

    MlflowMagics.uninstall(ipython)
