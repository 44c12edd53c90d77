"""The embedded store's file: is the SQLite file this kernel opened still the one on disk?

MLflow keeps an engine per SQLite URI whose pooled connections hold the file open. When the
file is deleted (``rm mlflow.db``) those connections keep reading and writing the old, now
nameless file, while each new connection creates an empty ``mlflow.db`` without tables: views
list data that is gone and traces are lost with pages of MLflow errors. A ``stat`` per check
(microseconds) notices, so commands and traced cells can say so in one sentence, and
``%mlflow connect`` (:func:`reopen`) opens the file afresh.
"""

from __future__ import annotations

import os
import threading

# Absolute path -> (device, inode) of the file first seen behind that path.
_seen: dict[str, tuple[int, int]] = {}
_lock = threading.Lock()


def problem(uri: str) -> str | None:
    """Why the SQLite file behind ``uri`` is not the store this kernel opened, else None.

    The first look at a path remembers its file; a missing file, or another file (an empty
    one, as MLflow creates after a delete, or a copy put in its place) is reported."""
    from mlflow_magics.mlflow_internals import sqlite_file

    path = sqlite_file(uri)
    if path is None:
        return None
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return _deleted(uri, path) if path in _seen else None
    except OSError:
        return None
    with _lock:
        first = _seen.setdefault(path, (st.st_dev, st.st_ino))
    if first == (st.st_dev, st.st_ino):
        return None
    if st.st_size == 0:  # MLflow's next connection made an empty file in its place
        return _deleted(uri, path)
    return (
        f"the store file {path} was replaced by another file since this kernel opened it; "
        f"run `%mlflow connect {uri}` to open the new one"
    )


def _deleted(uri: str, path: str) -> str:
    return (
        f"the store file {path} was deleted, with the traces in it; "
        f"run `%mlflow connect {uri}` to start a new store"
    )


def reopen(uri: str) -> bool:
    """Before connecting to ``uri``: when its SQLite file was deleted or replaced, drop what
    MLflow holds open for the old file, so the store is opened (or created) afresh. Returns
    whether it did."""
    from mlflow_magics.mlflow_internals import forget_sqlite_store, sqlite_file

    path = sqlite_file(uri)
    if path is None or problem(uri) is None:
        return False
    forget_sqlite_store(path)
    with _lock:
        _seen.pop(path, None)
    problem(uri)  # a file already there (a replacement) is the store from now on
    return True
