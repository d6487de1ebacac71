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
from grid.governance.access import AccessError, Viewer, authenticate, viewer_for
from grid.queries import complaint_analysis as qa
from grid.queries import complaints as qc
from grid.queries import workload as qw
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


# ----------------------------------------------------------------------------- users and access

PAGE_FILES = {"home": "app_pages/home.py", "coverage": "app_pages/coverage.py", "community": "app_pages/community.py",
              "whatif": "app_pages/whatif.py", "data": "app_pages/data.py", "my_grid": "app_pages/my_grid.py",
              "complaints": "app_pages/complaints.py", "workload": "app_pages/workload.py"}
OPEN_PAGES = ("home", "coverage", "community", "whatif", "data")
"""Pages of a database without users (no personal data on them)."""


@st.cache_data(max_entries=8, show_spinner=False)
def _has_users(version: Version) -> bool:
    return len(queries.list_users(connection())) > 0


def users_exist() -> bool:
    """True when the database has users: then everyone logs in and sees what their role allows."""
    version = db_version()
    return version is not None and _has_users(version)


@st.cache_data(max_entries=8, show_spinner=False)
def demo_logins(version: Version) -> pd.DataFrame:
    return queries.demo_logins(connection())


@st.cache_data(max_entries=64, show_spinner=False)
def _viewer(version: Version, username: str) -> Viewer | None:
    try:
        return viewer_for(connection(), username)
    except AccessError:
        return None


def viewer() -> Viewer | None:
    """The logged-in user's :class:`Viewer` (rebuilt when the database changes), or None."""
    username = st.session_state.get("username")
    version = db_version()
    if not username or version is None:
        return None
    return _viewer(version, username)


def log_in(username: str, password: str) -> bool:
    """Check the password (argon2id) and remember the user in this session; False when wrong."""
    con = connection()
    found = con is not None and authenticate(con, username, password) is not None
    if found:
        st.session_state["username"] = username
    return found


def log_in_demo(username: str) -> None:
    """One-click login of a demo user: only for demo users of a synthetic (demo) database."""
    version = db_version()
    listed = demo_logins(version) if version is not None else pd.DataFrame(columns=["username"])
    if synthetic() and username in set(listed["username"]):
        st.session_state["username"] = username


def log_out() -> None:
    st.session_state.pop("username", None)


def allowed_pages(who: Viewer | None) -> list[str]:
    """Page keys to offer: the role's pages, or the open pages of a database without users."""
    if who is None:
        return [] if users_exist() else list(OPEN_PAGES)
    return [p for p in PAGE_FILES if p in who.pages]


def require_page(page: str) -> Viewer:
    """The viewer, or stop with a message when no one is logged in or the role may not open ``page``."""
    who = viewer()
    if who is None:
        st.info(t("login_intro", lang()))
        st.stop()
    if page not in who.pages:
        st.error(t("not_allowed", lang(), role=t(f"role_{who.role}", lang())))
        st.stop()
    return who


def role_label(role: str, language: str | None = None) -> str:
    return t(f"role_{role}", language or lang())


# ----------------------------------------------------------------------------- governance queries (cached)
# Keyed by the viewer too: a cached result never crosses from one user's access rules to another's.

@st.cache_data(max_entries=32, show_spinner=False)
def complaints_for(version: Version, who: Viewer, flt: qc.ComplaintFilter) -> pd.DataFrame:
    return qc.visible_complaints(connection(), who, flt)


@st.cache_data(max_entries=32, show_spinner=False)
def work_list(version: Version, who: Viewer, flt: qc.ComplaintFilter) -> pd.DataFrame:
    return qc.work_list(connection(), who, flt)


@st.cache_data(max_entries=16, show_spinner=False)
def as_of(version: Version) -> pd.Timestamp:
    return qc.complaints_as_of(connection())


@st.cache_data(max_entries=16, show_spinner=False)
def grids_of(version: Version, who: Viewer):  # noqa: ANN201 - GeoDataFrame
    return qw.visible_grids(connection(), who)


@st.cache_data(max_entries=16, show_spinner=False)
def grid_cells_of(version: Version, who: Viewer) -> pd.DataFrame:
    return qw.grid_cells_of(connection(), who)


@st.cache_data(max_entries=32, show_spinner=False)
def rates(version: Version, config: Settings, who: Viewer, by: tuple[str, ...], flt: qc.ComplaintFilter) -> pd.DataFrame:
    return qw.rates(connection(), config, who, by=list(by), flt=flt)


@st.cache_data(max_entries=16, show_spinner=False)
def workload(version: Version, config: Settings, who: Viewer, months: int) -> pd.DataFrame:
    return qw.workload(connection(), config, who, months=months)


@st.cache_data(max_entries=16, show_spinner=False)
def redraw(version: Version, who: Viewer, months: int, complaint_weight: float) -> qw.RedrawView:
    return qw.redraw_view(connection(), who, months=months, complaint_weight=complaint_weight)


@st.cache_data(max_entries=32, show_spinner=False)
def trends(version: Version, who: Viewer, by: str, flt: qc.ComplaintFilter) -> pd.DataFrame:
    return qc.complaint_trends(connection(), who, by=by, flt=flt)


@st.cache_data(max_entries=32, show_spinner=False)
def by_area(version: Version, who: Viewer, area: str, flt: qc.ComplaintFilter) -> pd.DataFrame:
    return qc.complaints_by_area(connection(), who, area=area, flt=flt)


@st.cache_data(max_entries=32, show_spinner=False)
def hotspots(version: Version, who: Viewer, flt: qc.ComplaintFilter) -> pd.DataFrame:
    return qa.hotspot_cells(connection(), who, flt)


@st.cache_data(max_entries=32, show_spinner=False)
def repeats(version: Version, who: Viewer, flt: qc.ComplaintFilter, window_days: int, min_count: int) -> pd.DataFrame:
    return qa.repeat_complaints(connection(), who, flt, window_days=window_days, min_count=min_count)


@st.cache_data(max_entries=32, show_spinner=False)
def gap_overlay(version: Version, config: Settings, who: Viewer, complaint_category: str, facility_category: str,
                circle_id: str, per: str) -> qa.GapOverlay:
    return qa.complaints_over_gaps(connection(), config, who, complaint_category=complaint_category,
                                   facility_category=facility_category, circle_id=circle_id, per=per)


@st.cache_data(max_entries=8, show_spinner=False)
def _vocabulary(config: Settings, kind: str, language: str) -> dict[str, str]:
    names = queries.complaint_vocabulary(config, kind)
    return names["name_en" if language == "en" else "name_zh"].to_dict()


def vocabulary(kind: str, language: str | None = None) -> dict[str, str]:
    """Names of complaint categories, statuses, request types, urgencies or channels by id."""
    return _vocabulary(settings(), kind, language or lang())


def local_time(values: pd.Series) -> pd.Series:
    """UTC timestamps as local 'YYYY-MM-DD HH:MM' text (the settings' time zone)."""
    return values.dt.tz_convert(settings().default_timezone).dt.strftime("%Y-%m-%d %H:%M")


@st.cache_data(max_entries=64, show_spinner=False)
def timeline(version: Version, who: Viewer, complaint_id: str) -> pd.DataFrame:
    return qc.complaint_timeline(connection(), who, complaint_id)


def timeline_labels(steps: pd.DataFrame) -> pd.DataFrame:
    """A :func:`~grid.queries.complaints.complaint_timeline` in the UI language: step names,
    local times, and clock states / due bases as words (other notes as they are)."""
    language = lang()
    categories, requests = vocabulary("category", language), vocabulary("request_type", language)

    def note(step: str, text: object) -> object:
        if pd.isna(text):
            return text
        if step in ("responded", "closed"):
            return t(f"state_{text}", language)
        if step == "due":
            return t(f"basis_{text}", language)
        if step == "received":
            parts = str(text).split(" · ")
            return " · ".join([requests.get(parts[0], parts[0]), categories.get(parts[1], parts[1]), *parts[2:]])
        return text

    return steps.assign(note=[note(s, n) for s, n in zip(steps["step"], steps["note"])],
                        step=steps["step"].map(lambda s: t(f"step_{s}", language)), at=local_time(steps["at"]))
