"""The one exception services raise for a user mistake."""

from __future__ import annotations


class BadInput(Exception):
    """A user mistake, described in one sentence with the next step.

    Services raise this; the magic boundary re-raises it as IPython's ``UsageError`` so the
    user sees the sentence and no traceback.
    """
