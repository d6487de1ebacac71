"""SLA clocks for the stored complaints: rule-based deadlines with the working-day
calendar, the deadline in force (``due_at``) and the reference tables written
beside them (``calendar_days``, ``sla_rules``) so the database explains itself.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from grid.governance.calendar import CALENDAR_FILE, WorkCalendar, read_calendar
from grid.governance.sla import SLA_RULES_FILE, due_times, read_sla_rules
from grid.settings import Settings

__all__ = ["compute_sla_rows", "write_sla_reference", "weekdays_calendar", "read_governance_rules"]

_END_MARGIN_DAYS = 60
"""Complaints received this close to the calendar's end are clocked Mon-Fri (a deadline may run past it)."""


def read_governance_rules(settings: Settings) -> tuple[pd.DataFrame, WorkCalendar]:
    """The SLA rules and the working-day calendar named by ``settings``."""
    rules = read_sla_rules(settings.governance_dir / SLA_RULES_FILE, categories_dir=settings.categories_dir)
    return rules, read_calendar(settings.governance_dir / CALENDAR_FILE)


def weekdays_calendar(first_year: int, last_year: int) -> WorkCalendar:
    """A Mon-Fri calendar without holidays for years the official calendar does not cover."""
    first = np.datetime64(f"{first_year}-01-01", "D")
    last = np.datetime64(f"{last_year + 1}-01-01", "D") - 1
    span = np.arange(first, last + 1, dtype="datetime64[D]")
    weekday = ((span.astype("datetime64[D]").view("int64") - 4) % 7) < 5
    empty = np.array([], dtype="datetime64[D]")
    return WorkCalendar(empty, empty, first, last, span[weekday], Path("(Mon-Fri, no holidays)"))


def _outside(received: pd.Series, calendar: WorkCalendar, timezone: str) -> np.ndarray:
    local_day = received.dt.tz_convert(timezone).dt.tz_localize(None).to_numpy().astype("datetime64[D]")
    return (local_day < calendar.first_day) | (local_day > calendar.last_day - _END_MARGIN_DAYS)


def _rule_times(complaints: pd.DataFrame, rules: pd.DataFrame, calendar: WorkCalendar,
                timezone: str) -> pd.DataFrame:
    """Due times of complaints whose local times are in ``timezone``."""
    outside = _outside(complaints["received_at"], calendar, timezone)
    parts = [due_times(complaints[~outside], rules, calendar, timezone=timezone)]
    if outside.any():
        years = complaints.loc[outside, "received_at"].dt.year
        fallback = weekdays_calendar(int(years.min()), int(years.max()) + 1)
        parts.append(due_times(complaints[outside], rules, fallback, timezone=timezone))
    return pd.concat(parts)


def _zones(frame: pd.DataFrame, default: str) -> pd.Series:
    zone = frame["time_zone"] if "time_zone" in frame else pd.Series(pd.NA, index=frame.index)
    return zone.astype("string").fillna(default)


def compute_sla_rows(complaints: pd.DataFrame, settings: Settings) -> tuple[pd.DataFrame, list[str]]:
    """``complaint_sla`` rows and notes for complaints (complaint_id, received_at, category,
    request_type, urgency, source_due_at, time_zone: the zone of the record's local times,
    default ``settings.default_timezone``).

    ``rule_due_at`` comes from the rules; ``due_at`` is the record's own deadline where it
    has one and ``settings.sla_prefer_source_due`` (``due_basis`` 'source'), else the rule's
    ('rule', or 'rule_weekdays' outside the calendar's years).
    """
    if complaints.empty:
        empty = pd.DataFrame(columns=["complaint_id", "rule_id", "response_due_at", "rule_due_at", "due_at",
                                      "due_basis"])
        return empty, []
    rules, calendar = read_governance_rules(settings)
    frame = complaints.reset_index(drop=True)
    zones = _zones(frame, settings.default_timezone)
    outside = np.zeros(len(frame), dtype=bool)
    parts = []
    for zone in zones.unique():
        rows = (zones == zone).to_numpy()
        parts.append(_rule_times(frame[rows], rules, calendar, str(zone)))
        outside[rows] = _outside(frame.loc[rows, "received_at"], calendar, str(zone))
    times, n_outside = pd.concat(parts).reindex(frame.index), int(outside.sum())
    source = frame["source_due_at"].notna().to_numpy() & settings.sla_prefer_source_due
    times["due_at"] = times["rule_due_at"].where(~source, frame["source_due_at"])
    times["due_basis"] = np.where(source, "source", np.where(outside, "rule_weekdays", "rule"))
    notes = []
    if n_outside:
        notes.append(f"{n_outside} complaints were received outside the working-day calendar "
                     f"{calendar.first_day}..{calendar.last_day - _END_MARGIN_DAYS} ({calendar.path.name}): their "
                     "working-day limits count Mon-Fri without holidays; extend the calendar for exact clocks")
    if source.any():
        notes.append(f"{int(source.sum())} complaints carry their own deadline (办理时限), used as due_at; "
                     "the rule's deadline is kept as rule_due_at")
    return times, notes


def write_sla_reference(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Replace ``calendar_days`` and ``sla_rules`` with the files in ``settings.governance_dir``."""
    rules, _ = read_governance_rules(settings)
    days = pd.read_csv(settings.governance_dir / CALENDAR_FILE, dtype=str, keep_default_na=False)
    days["verified"] = days["verified"].str.lower().eq("true")
    days["day"] = pd.to_datetime(days["day"]).dt.date
    con.execute("DELETE FROM calendar_days")
    con.register("_days", days)
    con.execute("INSERT INTO calendar_days SELECT day, kind, holiday, name_zh, name_en, verified, source FROM _days")
    con.unregister("_days")
    con.execute("DELETE FROM sla_rules")
    con.register("_rules", rules)
    con.execute("INSERT INTO sla_rules SELECT rule_id, category, request_type, urgency, response_limit, "
                "response_unit, completion_limit, completion_unit, priority, verified, source, note FROM _rules")
    con.unregister("_rules")
