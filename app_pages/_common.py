"""Shared helpers of the pages: the current language and a read-only connection
that is reopened when a writer has swapped in a new database file."""

from __future__ import annotations

import os

import streamlit as st

from grid import queries
from grid.settings import get_settings


def lang() -> str:
    """Current UI language ('zh' or 'en')."""
    return st.session_state.get("lang", "zh")


@st.cache_resource(max_entries=2)
def _connection(path: str, inode: int, mtime_ns: int):  # noqa: ANN202 - cached per file version
    return queries.open_database(path)


def connection():  # noqa: ANN201
    """Read-only connection to the current database file, or None if there is none."""
    path = get_settings().db_path
    if not path.exists():
        return None
    stat = os.stat(path)
    return _connection(str(path), stat.st_ino, stat.st_mtime_ns)
