"""grid.governance.calendar: the shipped calendar against chinese_calendar, hand-counted
working days across holiday blocks and makeup days, and validation messages."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from conftest import PROJECT_ROOT
from grid.errors import ConfigError
from grid.governance.calendar import (
    WorkCalendar,
    add_working_days,
    is_working_day,
    read_calendar,
    working_days_between,
)

CALENDAR = PROJECT_ROOT / "geodata" / "governance" / "calendar_cn.csv"
HEADER = "day,kind,holiday,name_zh,name_en,verified,source\n"


def days(*texts: str) -> np.ndarray:
    return np.array(texts, dtype="datetime64[D]")


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return read_calendar(CALENDAR)


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "calendar.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def test_range_is_whole_years_of_the_file(cal: WorkCalendar) -> None:
    assert cal.first_day == np.datetime64("2024-01-01")
    assert cal.last_day == np.datetime64("2027-12-31")
    assert cal.working_days[0] == np.datetime64("2024-01-02")  # Jan 1 is 元旦
    assert np.all(np.diff(cal.working_days).astype(int) > 0)


def test_makeup_weekends_of_2025_spring_festival_are_working_days(cal: WorkCalendar) -> None:
    # Sun 2025-01-26 and Sat 2025-02-08 are 调休上班日; the Saturday/Sunday after them rest.
    assert is_working_day(cal, days("2025-01-26", "2025-02-08")).tolist() == [True, True]
    assert is_working_day(cal, days("2025-01-25", "2025-02-09")).tolist() == [False, False]


def test_2025_national_day_block_is_all_rest(cal: WorkCalendar) -> None:
    block = np.arange(np.datetime64("2025-10-01"), np.datetime64("2025-10-09"))
    assert len(block) == 8
    assert not is_working_day(cal, block).any()
    assert np.isin(block, cal.holidays).all()
    # Sun 09-28 and Sat 10-11 are makeup days; Thu 10-09 is back to work.
    assert is_working_day(cal, days("2025-09-28", "2025-10-09", "2025-10-11")).all()


def test_2027_holds_only_statutory_days_marked_unverified() -> None:
    text = CALENDAR.read_text(encoding="utf-8").splitlines()
    rows_2027 = [line for line in text if line.startswith("2027-")]
    assert len(rows_2027) == 13  # 1 + 4 + 1 + 2 + 1 + 1 + 3
    assert all(",holiday," in r and ",false," in r and "State Council's 2027 notice" in r for r in rows_2027)
    assert all(",false," in line for line in text[1:])


def test_every_day_2024_to_2026_agrees_with_chinese_calendar(cal: WorkCalendar) -> None:
    chinese_calendar = pytest.importorskip(
        "chinese_calendar", reason="chinese_calendar (dev dependency) is not installed; cannot cross-check")
    every = np.arange(np.datetime64("2024-01-01"), np.datetime64("2027-01-01"))
    expected = [chinese_calendar.is_workday(day) for day in every.astype(dt.date)]
    ours = is_working_day(cal, every)
    differ = every[ours != np.array(expected)]
    assert differ.size == 0, f"days that disagree with chinese_calendar: {differ}"


def test_add_working_days_across_the_2025_spring_festival(cal: WorkCalendar) -> None:
    start = days("2025-01-24", "2025-01-24", "2025-01-24")  # Friday
    got = add_working_days(cal, start, np.array([1, 2, 3]))
    # +1 Sun 01-26 (makeup), +2 Mon 01-27, then 01-28..02-04 holiday, +3 Wed 02-05
    assert got.tolist() == days("2025-01-26", "2025-01-27", "2025-02-05").tolist()


def test_add_working_days_across_national_day_and_a_makeup_saturday(cal: WorkCalendar) -> None:
    # From Tue 2025-09-30: Thu 10-09 1, Fri 10-10 2, Sat 10-11 (makeup) 3, Mon 10-13 4
    got = add_working_days(cal, days("2025-09-30"), 4)
    assert got[0] == np.datetime64("2025-10-13")
    # Starting on a holiday counts from the next working day: 10-03 + 1 -> Thu 10-09.
    assert add_working_days(cal, days("2025-10-03"), 1)[0] == np.datetime64("2025-10-09")
    # Starting on a working day counts strictly after it: Mon 2025-03-03 + 1 -> Tue 03-04.
    assert add_working_days(cal, days("2025-03-03"), 1)[0] == np.datetime64("2025-03-04")


def test_nat_passes_through(cal: WorkCalendar) -> None:
    got = add_working_days(cal, np.array(["NaT", "2025-01-24"], dtype="datetime64[D]"), 1)
    assert np.isnat(got[0]) and got[1] == np.datetime64("2025-01-26")
    assert is_working_day(cal, np.array(["NaT"], dtype="datetime64[D]")).tolist() == [False]


def test_working_days_between_counts_half_open_interval(cal: WorkCalendar) -> None:
    # (Fri 01-24, Wed 02-05]: Sun 01-26, Mon 01-27, Wed 02-05 = 3; reversed = -3; same day = 0
    got = working_days_between(cal, days("2025-01-24", "2025-02-05", "2025-02-05"),
                               days("2025-02-05", "2025-01-24", "2025-02-05"))
    assert got.tolist() == [3, -3, 0]


def test_days_outside_the_calendar_raise(cal: WorkCalendar) -> None:
    with pytest.raises(ConfigError, match=r"outside the working-day calendar 2024-01-01\.\.2027-12-31 .*"
                                          r"calendar_cn\.csv.*extend the calendar file"):
        is_working_day(cal, days("2023-12-31"))
    with pytest.raises(ConfigError, match=r"\['2028-01-03'\] outside"):
        add_working_days(cal, days("2028-01-03"), 1)
    with pytest.raises(ConfigError, match=r"runs past the end of the working-day calendar.*extend the calendar"):
        add_working_days(cal, days("2027-12-30"), 5)


def test_n_below_one_is_rejected(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError, match=r"n must be at least 1 working day; saw \[0\]"):
        add_working_days(cal, days("2025-01-24"), 0)


def test_a_small_file_builds_the_expected_working_days(tmp_path: Path) -> None:
    path = write(tmp_path, "2030-01-01,holiday,new_years_day,元旦,New Year,false,test\n"
                           "2030-01-05,makeup_workday,new_years_day,调休,makeup,false,test\n")
    cal = read_calendar(path)
    assert (cal.first_day, cal.last_day) == (np.datetime64("2030-01-01"), np.datetime64("2030-12-31"))
    # 2030-01-01 is a Tuesday: first week works Wed 2, Thu 3, Fri 4, Sat 5 (makeup), then Mon 7
    assert cal.working_days[:5].tolist() == days("2030-01-02", "2030-01-03", "2030-01-04",
                                                 "2030-01-05", "2030-01-07").tolist()
    assert len(cal.working_days) == 261 - 1 + 1  # 261 weekdays in 2030, minus Jan 1, plus Jan 5


@pytest.mark.parametrize(("body", "message"), [
    ("2025-02-30,holiday,x,x,x,false,s\n",
     r"line 2: day '2025-02-30' is not a date; write it as YYYY-MM-DD"),
    ("2025-10-01,vacation,x,x,x,false,s\n",
     r"line 2: kind 'vacation' is unknown; use one of \['holiday', 'makeup_workday'\]"),
    ("2025-10-01,holiday,x,x,x,false,s\n2025-10-01,holiday,x,x,x,false,s\n",
     r"line 3: day 2025-10-01 is listed twice \(also line 2\); delete one of the rows"),
    ("2025-09-29,makeup_workday,x,x,x,false,s\n",
     r"line 2: makeup_workday 2025-09-29 is a weekday, not a Saturday or Sunday"),
    ("2025-09-28,holiday,x,x,x,false,s\n2025-09-28,makeup_workday,x,x,x,false,s\n",
     r"line 3: day 2025-09-28 is both a holiday and a makeup_workday \(line 2\)"),
    ("2025-10-01,holiday,x,x,x,maybe,s\n",
     r"line 2: verified 'maybe' must be true or false"),
])
def test_bad_rows_are_rejected_with_line_value_and_fix(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        read_calendar(write(tmp_path, body))
    assert "calendar.csv" in str(info.value)


def test_all_problems_of_a_file_are_listed_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, "2025-13-01,holiday,x,x,x,false,s\n2025-10-01,feast,x,x,x,no,s\n")
    with pytest.raises(ConfigError, match=r"3 problem\(s\)") as info:
        read_calendar(path)
    assert "line 2: day '2025-13-01'" in str(info.value) and "line 3: kind 'feast'" in str(info.value)


def test_missing_column_and_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("day,kind\n2025-10-01,holiday\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"missing column\(s\) \['holiday', 'name_zh'"):
        read_calendar(path)
    with pytest.raises(ConfigError, match=r"no rows"):
        read_calendar(write(tmp_path, ""))


def test_reading_is_memoised_by_content(tmp_path: Path) -> None:
    path = write(tmp_path, "2030-01-01,holiday,x,x,x,false,s\n")
    first = read_calendar(path)
    assert read_calendar(path) is first
    path.write_text(HEADER + "2030-01-02,holiday,x,x,x,false,s\n", encoding="utf-8")
    changed = read_calendar(path)
    assert changed is not first and changed.holidays.tolist() == days("2030-01-02").tolist()
    with pytest.raises(ValueError):
        changed.working_days[0] = np.datetime64("2000-01-01")  # shared arrays are read-only
