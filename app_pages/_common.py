"""Shared helpers of the pages: the current language, a read-only connection that is
reopened when a writer has swapped in a new database file, the query functions cached
per database file version, the empty states, labels and number formats."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

import pandas as pd
import streamlit as st

from grid import queries
from grid.accessibility.compute import cached_engine
from grid.coverage import ALL_REQUIRED
from grid.i18n import t
from grid.settings import Settings, get_settings

log = logging.getLogger(__name__)

Version = tuple[str, int, int]


def lang() -> str:
    """Current UI language ('zh' or 'en')."""
    return st.session_state.get("lang", "zh")


def settings() -> Settings:
    """Settings of this run (defaults, then ``GRID_*`` environment)."""
    return get_settings()


def db_version() -> Version | None:
    """(path, inode, mtime) of the database file, the cache key of everything read from it; None without one."""
    path = settings().db_path
    if not path.exists():
        return None
    stat = os.stat(path)
    return str(path), stat.st_ino, stat.st_mtime_ns


@st.cache_resource(max_entries=2)
def _connection(path: str, inode: int, mtime_ns: int):  # noqa: ANN202 - cached per file version
    return queries.open_database(path)


def connection():  # noqa: ANN201
    """Read-only connection to the current database file, or None if there is none."""
    version = db_version()
    return None if version is None else _connection(*version)


# ----------------------------------------------------------------------------- cached queries
# Each takes the file version (and settings) so a new file or other settings never see old results.

@st.cache_data(max_entries=8, show_spinner=False)
def readiness(version: Version) -> queries.Readiness:
    return queries.readiness(connection())


@st.cache_data(max_entries=64, show_spinner=False)
def coverage_view(version: Version, config: Settings, circle_id: str, category: str,
                  profile: str) -> queries.CoverageView:
    return queries.coverage_view(connection(), config, circle_id=circle_id, category=category, profile=profile)


@st.cache_data(max_entries=64, show_spinner=False)
def community_report(version: Version, config: Settings, community_id: str) -> queries.CommunityReport:
    return queries.community_report(connection(), config, community_id=community_id)


@st.cache_data(max_entries=64, show_spinner=False)
def whatif_view(version: Version, config: Settings, circle_id: str, category: str, profile: str,
                add: tuple[tuple[float, float], ...], remove: tuple[str, ...]) -> queries.WhatIfView:
    return queries.whatif_view(connection(), config, circle_id=circle_id, category=category, profile=profile,
                               add=add, remove=remove)


@st.cache_data(max_entries=8, show_spinner=False)
def synthetic_data(version: Version) -> bool:
    return queries.has_synthetic_data(connection())


def synthetic() -> bool:
    """True when the database holds synthetic (demo) data."""
    version = db_version()
    return version is not None and synthetic_data(version)


@st.cache_data(max_entries=64, show_spinner=False)
def facilities(version: Version, category: str) -> pd.DataFrame:
    return queries.list_facilities(connection(), categories=[category])


@st.cache_data(max_entries=8, show_spinner=False)
def communities(version: Version) -> pd.DataFrame:
    return queries.list_communities(connection())


@st.cache_data(max_entries=8, show_spinner=False)
def circles(config: Settings) -> pd.DataFrame:
    return queries.list_circles(config)


@st.cache_data(max_entries=8, show_spinner=False)
def profiles(config: Settings) -> pd.DataFrame:
    return queries.list_profiles(config)


# ----------------------------------------------------------------------------- empty states

def require_database():  # noqa: ANN201
    """The connection, or an info saying how to create a database, and stop."""
    con = connection()
    if con is None:
        st.info(t("no_database", lang(), path=settings().db_path))
        st.stop()
    return con


def require_access() -> queries.Readiness:
    """Stop with what to run when communities, facilities, the network or access are missing."""
    require_database()
    ready = readiness(db_version())
    if ready.missing:
        st.info(t(f"missing_{ready.missing}", lang()))
        st.stop()
    if ready.stale_categories:
        st.warning(t("stale_access", lang(), categories=", ".join(ready.stale_categories)))
    return ready


def _warm(config: Settings) -> None:
    try:
        cached_engine(config)
    except Exception:  # a failed warm-up is only a missed speed-up; the page reports real errors itself
        log.exception("warming the access engine failed")


@st.cache_resource(max_entries=2)
def _warm_engine(version: Version, config: Settings) -> threading.Thread:
    thread = threading.Thread(target=_warm, args=(config,), name="grid-engine-warmup", daemon=True)
    thread.start()
    return thread


def warm_engine() -> None:
    """Build the what-if engine in the background once per database file (about 2 s on the demo city)."""
    version = db_version()
    if version is not None and readiness(version).missing is None:
        _warm_engine(version, settings())


# ----------------------------------------------------------------------------- labels and formats

@st.cache_data(max_entries=8, show_spinner=False)
def _category_labels(config: Settings, language: str) -> dict[str, str]:
    names = queries.category_names(config)
    return {**names["name_en" if language == "en" else "name_zh"].to_dict(), ALL_REQUIRED: t("all_required", language)}


def category_labels(language: str | None = None) -> dict[str, str]:
    """Names of the facility categories (and of 'all required') in the UI language, by category id."""
    return _category_labels(settings(), language or lang())


@st.cache_data(max_entries=8, show_spinner=False)
def _level_labels(config: Settings, language: str) -> dict[str, str]:
    return queries.level_names(config)["name_en" if language == "en" else "name_zh"].to_dict()


def level_labels(language: str | None = None) -> dict[str, str]:
    """Names of the GB 50180 life-circle levels (15min, 10min, 5min, block) in the UI language, by level id."""
    return _level_labels(settings(), language or lang())


def named(row: pd.Series, language: str) -> str:
    """``name_en`` or ``name_zh`` of a row, by ``language``."""
    return str(row["name_en"] if language == "en" else row["name_zh"])


def pct(value: float) -> str:
    """A percentage as shown: one decimal, '–' when undefined."""
    return "–" if pd.isna(value) else f"{value:.1f}%"


def people(value: float) -> str:
    """A count of residents as shown: whole number with thousands separators."""
    return "–" if pd.isna(value) else f"{value:,.0f}"


def labelled(frame: pd.DataFrame, language: str | None = None) -> pd.DataFrame:
    """``frame`` with its column ids replaced by their UI labels (``col_<id>`` texts)."""
    return frame.rename(columns={c: t(f"col_{c}", language or lang()) for c in frame.columns})


def download_buttons(label: str, items: list[tuple[str, Callable[[], bytes | str], str, str]]) -> None:
    """A labelled row of download buttons, one per (key, make the data, file name, MIME type).

    The data is made only when a button is clicked (deferred), so reruns stay fast; each
    button's text is its ``key``'s UI text.
    """
    columns = st.columns([2, 1, 1, 1, 2], vertical_alignment="center")
    columns[0].markdown(label)
    for column, (key, data, file_name, mime) in zip(columns[1:], items):
        column.download_button(t(key, lang()), data, file_name=file_name, mime=mime, key=key, on_click="ignore",
                               width="stretch")
