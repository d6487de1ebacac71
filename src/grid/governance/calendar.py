"""The Chinese working-day calendar (工作日历) as data: official holidays and 调休 makeup workdays.

The calendar file (``geodata/governance/calendar_cn.csv``, see the README there) lists
only the exceptions to "Monday-Friday work, Saturday/Sunday rest": every day of each
official holiday block (``holiday``, weekend days inside the block included) and every
makeup working weekend day (``makeup_workday``, 调休上班日). A day is a working day when
it is a makeup workday, or a Monday-Friday that is not a holiday.

The calendar covers whole years, 1 January of the file's first year to 31 December of
its last; asking about a day outside that range raises
:class:`~grid.errors.ConfigError` (the file must be extended from the State Council's
notice for that year). All functions work on numpy ``datetime64[D]`` arrays; ``NaT``
passes through as "unknown".
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from grid.errors import ConfigError

__all__ = [
    "WorkCalendar",
    "read_calendar",
    "is_working_day",
    "add_working_days",
    "working_days_between",
    "CALENDAR_FILE",
]

CALENDAR_FILE = "calendar_cn.csv"
"""Name of the shipped calendar under ``geodata/governance/``."""

_COLUMNS = ["day", "kind", "holiday", "name_zh", "name_en", "verified", "source"]
_KINDS = ("holiday", "makeup_workday")
_BOOL_TEXT = ("true", "false")
_MAX_PROBLEMS = 30
_MEMO: dict[tuple[str, str], WorkCalendar] = {}
_MEMO_MAX = 16

Days = npt.NDArray[np.datetime64]


@dataclass(frozen=True, eq=False)
class WorkCalendar:
    """Holidays, makeup workdays and all working days of a calendar file (read-only arrays).

    Attributes
    ----------
    holidays, makeup_workdays : sorted ``datetime64[D]`` days as listed in the file.
    first_day, last_day : inclusive range covered (whole years of the file).
    working_days : sorted ``datetime64[D]`` of every working day in the range.
    path : the file the calendar was read from (named in error messages).
    """

    holidays: Days
    makeup_workdays: Days
    first_day: np.datetime64
    last_day: np.datetime64
    working_days: Days
    path: Path


def read_calendar(path: Path) -> WorkCalendar:
    """Read and validate a working-day calendar CSV (days as ``YYYY-MM-DD``).

    Raises :class:`~grid.errors.ConfigError` listing every bad row (file, line, value and
    fix). The result is kept per file contents, so repeated calls only hash the file.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"calendar file {path} not found; "
                          f"pass the path of geodata/governance/{CALENDAR_FILE}")
    data = path.read_bytes()
    key = (str(path.resolve()), hashlib.blake2b(data, digest_size=16).hexdigest())
    if key not in _MEMO:
        if len(_MEMO) >= _MEMO_MAX:
            _MEMO.clear()
        _MEMO[key] = _build_calendar(path, data.decode("utf-8-sig"))
    return _MEMO[key]


def _build_calendar(path: Path, text: str) -> WorkCalendar:
    days, kinds = _parse_rows(path, text)
    holidays = np.sort(days[kinds == "holiday"])
    makeup = np.sort(days[kinds == "makeup_workday"])
    years = days.astype("datetime64[Y]")
    first = years.min().astype("datetime64[D]")
    last = (years.max() + 1).astype("datetime64[D]") - 1
    span = np.arange(first, last + 1, dtype="datetime64[D]")
    weekday = _weekday(span) < 5
    working = (weekday & ~np.isin(span, holidays)) | np.isin(span, makeup)
    arrays = [holidays, makeup, span[working]]
    for array in arrays:
        array.setflags(write=False)
    return WorkCalendar(arrays[0], arrays[1], first, last, arrays[2], path)


def _parse_rows(path: Path, text: str) -> tuple[Days, npt.NDArray[np.str_]]:
    """Days and kinds of every row; all problems are collected, then raised together."""
    rows = list(csv.reader(text.splitlines()))
    header = [h.strip() for h in rows[0]] if rows else []
    missing = [c for c in _COLUMNS if c not in header]
    if missing:
        raise ConfigError(f"{path}: missing column(s) {missing}; the header is {header}; "
                          f"use the header {','.join(_COLUMNS)}")
    problems: list[str] = []
    seen: dict[np.datetime64, tuple[int, str]] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        record = dict(zip(header, (cell.strip() for cell in row)))
        problems += [f"line {line}: {p}" for p in _row_problems(record, len(row), len(header))]
        day = _parse_day(record.get("day", ""))
        if day is not None and record.get("kind") in _KINDS:
            problems += _duplicate_problem(seen, day, line, record["kind"])
    if not seen and not problems:
        problems.append("no rows; list each holiday and makeup workday, one per line")
    if problems:
        shown = "\n  ".join(problems[:_MAX_PROBLEMS])
        more = f"\n  ... and {len(problems) - _MAX_PROBLEMS} more" if len(problems) > _MAX_PROBLEMS else ""
        raise ConfigError(f"{path}: {len(problems)} problem(s):\n  {shown}{more}")
    days = np.array(list(seen), dtype="datetime64[D]")
    return days, np.array([kind for _, kind in seen.values()], dtype=str)


def _row_problems(record: dict[str, str], n_fields: int, n_header: int) -> list[str]:
    """Every problem of one row (empty list when the row is fine)."""
    if n_fields != n_header:
        return [f"has {n_fields} fields but the header has {n_header}; quote cells that contain commas"]
    problems = []
    day = _parse_day(record["day"])
    if day is None:
        problems.append(f"day {record['day']!r} is not a date; write it as YYYY-MM-DD, e.g. 2025-10-01")
    if record["kind"] not in _KINDS:
        problems.append(f"kind {record['kind']!r} is unknown; use one of {list(_KINDS)}")
    elif record["kind"] == "makeup_workday" and day is not None and _weekday(day) < 5:
        problems.append(f"makeup_workday {record['day']} is a weekday, not a Saturday or Sunday; "
                        "a makeup workday (调休上班日) is always a weekend day: check the notice")
    if record["verified"].lower() not in _BOOL_TEXT:
        problems.append(f"verified {record['verified']!r} must be true or false")
    return problems


def _duplicate_problem(seen: dict[np.datetime64, tuple[int, str]], day: np.datetime64, line: int,
                       kind: str) -> list[str]:
    if day not in seen:
        seen[day] = (line, kind)
        return []
    first_line, first_kind = seen[day]
    if first_kind != kind:
        return [f"line {line}: day {day} is both a holiday and a makeup_workday (line {first_line}); "
                "keep only the one the State Council notice gives"]
    return [f"line {line}: day {day} is listed twice (also line {first_line}); delete one of the rows"]


def _parse_day(text: str) -> np.datetime64 | None:
    if len(text) != 10:
        return None
    try:
        return np.datetime64(text, "D")
    except ValueError:
        return None


def _weekday(days: Days | np.datetime64) -> npt.NDArray[np.int64]:
    """Day of the week, Monday 0 ... Sunday 6 (1970-01-01 was a Thursday)."""
    return (np.asarray(days, dtype="datetime64[D]").astype(np.int64) + 3) % 7


def _as_days(days: npt.ArrayLike) -> Days:
    return np.asarray(days, dtype="datetime64[D]")


def _check_range(cal: WorkCalendar, days: Days, *, what: str) -> None:
    """Raise ConfigError when any (non-NaT) day lies outside the calendar's range."""
    outside = ~np.isnat(days) & ((days < cal.first_day) | (days > cal.last_day))
    if outside.any():
        seen = np.unique(days[outside])[:5].astype(str).tolist()
        raise ConfigError(
            f"{what} {seen} outside the working-day calendar {cal.first_day}..{cal.last_day} "
            f"({cal.path}); extend the calendar file with that year's holidays and makeup "
            "workdays from the State Council notice"
        )


def is_working_day(cal: WorkCalendar, days: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Whether each day (``datetime64[D]``) is a working day; ``NaT`` gives False."""
    days = _as_days(days)
    _check_range(cal, days, what="day(s)")
    index = np.searchsorted(cal.working_days, days)
    found = np.take(cal.working_days, np.minimum(index, len(cal.working_days) - 1))
    return (index < len(cal.working_days)) & (found == days)


def add_working_days(cal: WorkCalendar, start_days: npt.ArrayLike, n: npt.ArrayLike) -> Days:
    """The ``n``-th working day strictly after each start day, in ``datetime64[D]``.

    ``n`` counts working days (``n >= 1``). A start on a holiday or weekend counts from
    the next working day; ``NaT`` starts give ``NaT``.
    """
    start = _as_days(start_days)
    steps = np.broadcast_to(np.asarray(n, dtype=np.int64), start.shape)
    if (steps < 1).any():
        raise ValueError(f"n must be at least 1 working day; saw {np.unique(steps[steps < 1])[:5].tolist()}")
    _check_range(cal, start, what="start day(s)")
    known = ~np.isnat(start)
    index = np.searchsorted(cal.working_days, start, side="right") + steps - 1
    beyond = known & (index >= len(cal.working_days))
    if beyond.any():
        starts = np.unique(start[beyond])[:5].astype(str).tolist()
        raise ConfigError(
            f"counting {int(steps[beyond].max())} working day(s) from {starts} "
            f"runs past the end of the working-day calendar {cal.first_day}..{cal.last_day} ({cal.path}); "
            "extend the calendar file with the next year's holidays and makeup workdays"
        )
    result = np.take(cal.working_days, np.where(known, np.minimum(index, len(cal.working_days) - 1), 0))
    return np.where(known, result, np.datetime64("NaT", "D"))


def working_days_between(cal: WorkCalendar, start_days: npt.ArrayLike,
                         end_days: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Number of working days in ``(start, end]``, negative when end is before start.

    Raises ``ValueError`` on ``NaT`` (an integer count cannot say "unknown").
    """
    start, end = np.broadcast_arrays(_as_days(start_days), _as_days(end_days))
    if np.isnat(start).any() or np.isnat(end).any():
        raise ValueError("working_days_between got NaT days; drop rows without both dates first")
    _check_range(cal, start, what="start day(s)")
    _check_range(cal, end, what="end day(s)")
    after_end = np.searchsorted(cal.working_days, end, side="right")
    after_start = np.searchsorted(cal.working_days, start, side="right")
    return (after_end - after_start).astype(np.int64)
