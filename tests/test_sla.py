"""grid.governance.sla: rule validation, specificity, hand-counted due times around weekends,
holidays and makeup days (Asia/Shanghai), every clock state, and hand-computed three rates."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import PROJECT_ROOT
from grid.errors import ConfigError
from grid.governance.calendar import WorkCalendar, read_calendar
from grid.governance.sla import (
    clock_states,
    due_times,
    match_rules,
    read_satisfaction,
    read_sla_rules,
    three_rates,
)

GOVERNANCE = PROJECT_ROOT / "geodata" / "governance"
CATEGORIES = PROJECT_ROOT / "geodata" / "categories"
HEADER = ("rule_id,category,request_type,urgency,response_limit,response_unit,completion_limit,"
          "completion_unit,priority,verified,source,note\n")
CATCH_ALL = "any,*,*,*,24,hours,5,working_days,0,false,test,\n"
TZ = "Asia/Shanghai"
CLOSED, VOID = {"closed"}, {"duplicate", "cancelled"}


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return read_calendar(GOVERNANCE / "calendar_cn.csv")


@pytest.fixture(scope="module")
def rules() -> pd.DataFrame:
    return read_sla_rules(GOVERNANCE / "sla_rules.csv", categories_dir=CATEGORIES)


def write_rules(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "sla_rules.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def complaints(*rows: tuple[str, str, str | None, str | None, str | None]) -> pd.DataFrame:
    """Rows of (complaint_id, received_at with offset, category, request_type, urgency)."""
    frame = pd.DataFrame(rows, columns=["complaint_id", "received_at", "category", "request_type", "urgency"])
    frame["received_at"] = pd.to_datetime(frame["received_at"], utc=True)
    return frame


# --- shipped rules and validation ------------------------------------------------------------

def test_shipped_rules_pin_the_wuhan_based_limits(rules: pd.DataFrame) -> None:
    table = rules.set_index("rule_id")
    assert list(table.loc["emergency", ["response_limit", "response_unit", "completion_limit",
                                        "completion_unit"]]) == [2.0, "hours", 3.0, "working_days"]
    assert list(table.loc["default", ["category", "request_type", "urgency"]]) == ["*", "*", "*"]
    assert table.loc["normal", "response_limit"] == 24.0 and table.loc["normal", "completion_limit"] == 5.0
    assert table.loc["urgent", "completion_limit"] == 3.0
    assert not table["verified"].any()  # no row is backed as a whole (see the README)
    assert str(rules["priority"].dtype) == "int64" and str(rules["response_limit"].dtype) == "float64"


@pytest.mark.parametrize(("row", "message"), [
    ("r1,*,*,normal,24,minutes,5,working_days,0,false,s,\n",
     r"line 3 \(rule 'r1'\): response_unit 'minutes' is unknown; use one of \['hours', 'working_days'\]"),
    ("r1,*,*,normal,0,hours,5,working_days,0,false,s,\n",
     r"line 3 \(rule 'r1'\): response_limit '0' must be a positive number"),
    ("r1,*,*,normal,24,hours,-2,working_days,0,false,s,\n",
     r"completion_limit '-2' must be a positive number"),
    ("r1,*,*,normal,24,hours,2.5,working_days,0,false,s,\n",
     r"completion_limit '2.5' working days must be a whole number; use hours"),
    ("r1,*,*,emergncy,2,hours,3,working_days,0,false,s,\n",
     r"urgency 'emergncy' is unknown; did you mean \['emergency'\]\?"),
    ("r1,*,complain,*,2,hours,3,working_days,0,false,s,\n",
     r"request_type 'complain' is unknown; did you mean \['complaint'\]\?"),
    ("r1,noisey,*,*,2,hours,3,working_days,0,false,s,\n",
     r"category 'noisey' is unknown; did you mean \['noise'"),
    ("r1,*,*,normal,24,hours,5,working_days,high,false,s,\n",
     r"priority 'high' is not a whole number"),
    ("any,*,*,normal,24,hours,5,working_days,0,false,s,\n",
     r"rule_id 'any' is used on lines \[2, 3\]; give each rule its own id"),
])
def test_bad_rules_are_rejected_with_line_value_and_fix(tmp_path: Path, row: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        read_sla_rules(write_rules(tmp_path, CATCH_ALL + row), categories_dir=CATEGORIES)
    assert "sla_rules.csv" in str(info.value)


def test_a_file_without_catch_all_is_rejected(tmp_path: Path) -> None:
    path = write_rules(tmp_path, "n,*,*,normal,24,hours,5,working_days,0,false,s,\n")
    with pytest.raises(ConfigError, match=r"no catch-all rule \(category, request_type and urgency all '\*'\)"):
        read_sla_rules(path, categories_dir=CATEGORIES)


def test_all_problems_of_a_row_are_listed(tmp_path: Path) -> None:
    path = write_rules(tmp_path, CATCH_ALL + "r1,*,*,soon,x,days,5,weeks,0,yes,s,\n")
    with pytest.raises(ConfigError, match=r"5 problem\(s\)") as info:
        read_sla_rules(path, categories_dir=CATEGORIES)
    for part in ("urgency 'soon'", "response_unit 'days'", "response_limit 'x' is not a number",
                 "completion_unit 'weeks'", "verified 'yes'"):
        assert part in str(info.value)


def test_rules_are_memoised_by_content_and_handed_out_as_copies(tmp_path: Path) -> None:
    path = write_rules(tmp_path, CATCH_ALL)
    first = read_sla_rules(path, categories_dir=CATEGORIES)
    first.loc[0, "response_limit"] = 999.0
    assert read_sla_rules(path, categories_dir=CATEGORIES).loc[0, "response_limit"] == 24.0
    path.write_text(HEADER + CATCH_ALL.replace(",24,", ",12,"), encoding="utf-8")
    assert read_sla_rules(path, categories_dir=CATEGORIES).loc[0, "response_limit"] == 12.0


# --- specificity -----------------------------------------------------------------------------

SPECIFIC = CATCH_ALL + """\
noise,noise,*,*,24,hours,5,working_days,0,false,s,
noise_c,noise/construction,*,*,24,hours,5,working_days,0,false,s,
noise_c_emerg,noise/construction,*,emergency,2,hours,3,working_days,0,false,s,
noise_c_complaint,noise/construction,complaint,*,24,hours,5,working_days,0,false,s,
emerg,*,*,emergency,2,hours,3,working_days,0,false,s,
enq,*,enquiry,*,24,hours,1,working_days,0,false,s,
san_p5,environment_sanitation,*,*,24,hours,5,working_days,5,false,s,
san_p1,environment_sanitation,*,*,24,hours,4,working_days,1,false,s,
green_first,greening,*,*,24,hours,5,working_days,0,false,s,
green_second,greening,*,*,24,hours,5,working_days,0,false,s,
"""


def test_most_specific_rule_wins(tmp_path: Path) -> None:
    rules = read_sla_rules(write_rules(tmp_path, SPECIFIC), categories_dir=CATEGORIES)
    cases = [  # (category, request_type, urgency) -> expected rule
        (("noise/construction", "complaint", "emergency"), "noise_c_complaint"),  # request type before urgency
        (("noise/construction", "help", "emergency"), "noise_c_emerg"),
        (("noise/construction", "help", "normal"), "noise_c"),
        (("noise/commercial", "complaint", "emergency"), "noise"),  # longer category beats any urgency
        (("noisey", "complaint", "normal"), "any"),  # prefixes only on '/' boundaries
        (("unmapped", "help", "emergency"), "emerg"),
        (("unmapped", "enquiry", "emergency"), "enq"),  # exact request type before exact urgency
        ((None, None, None), "any"),
        (("environment_sanitation/garbage", "help", "normal"), "san_p1"),  # lower priority
        (("greening/parks", "help", "normal"), "green_first"),  # file order
    ]
    frame = pd.DataFrame([key for key, _ in cases], columns=["category", "request_type", "urgency"],
                         index=pd.Index(range(100, 100 + len(cases))))
    got = match_rules(pd.concat([frame, frame]), rules)  # repeated rows share one lookup
    expected = [rule for _, rule in cases] * 2
    assert got.tolist() == expected
    assert got.index.tolist() == frame.index.tolist() * 2


def test_match_rules_on_no_complaints(rules: pd.DataFrame) -> None:
    empty = pd.DataFrame({"category": [], "request_type": [], "urgency": []}, dtype="string")
    assert match_rules(empty, rules).tolist() == []


# --- due times -------------------------------------------------------------------------------

def test_due_times_around_weekends_holidays_and_makeup_days(rules: pd.DataFrame, cal: WorkCalendar) -> None:
    frame = complaints(
        # Fri 2025-09-26 15:00, normal 5 wd: Sun 09-28 (makeup) 1, Mon 09-29 2, Tue 09-30 3,
        # 10-01..10-08 holidays, Thu 10-09 4, Fri 10-10 5.
        ("fri_before_national_day", "2025-09-26 15:00+08:00", "noise/construction", "complaint", "normal"),
        # Sat 2025-01-25 10:00, normal: Sun 01-26 (makeup) 1, Mon 01-27 2, 01-28..02-04 holidays,
        # Wed 02-05 3, Thu 02-06 4, Fri 02-07 5.
        ("saturday_before_spring_festival", "2025-01-25 10:00+08:00", "roads_traffic", "help", "normal"),
        # Received on the makeup Sunday 2025-01-26, urgent 3 wd: Mon 01-27 1, Wed 02-05 2, Thu 02-06 3.
        ("on_makeup_sunday", "2025-01-26 09:00+08:00", "noise", "complaint", "urgent"),
        # 17:30 UTC = 01:30 local on the holiday 2025-10-01; normal: Thu 10-09 1, Fri 10-10 2,
        # Sat 10-11 (makeup) 3, Mon 10-13 4, Tue 10-14 5.
        ("local_date_is_next_day", "2025-09-30 17:30+00:00", "unmapped", None, "normal"),
    )
    got = due_times(frame, rules, cal, timezone=TZ)
    assert got.columns.tolist() == ["complaint_id", "rule_id", "response_due_at", "rule_due_at"]
    assert got["rule_id"].tolist() == ["normal", "normal", "urgent", "normal"]
    assert got["rule_due_at"].tolist() == [
        ts("2025-10-10 23:59:59+08:00"), ts("2025-02-07 23:59:59+08:00"),
        ts("2025-02-06 23:59:59+08:00"), ts("2025-10-14 23:59:59+08:00")]
    # 24 clock hours, weekends and holidays included
    assert got["response_due_at"].tolist() == [
        ts("2025-09-27 15:00+08:00"), ts("2025-01-26 10:00+08:00"),
        ts("2025-01-27 09:00+08:00"), ts("2025-10-01 17:30+00:00")]
    assert str(got["rule_due_at"].dt.tz) == "UTC" and str(got["response_due_at"].dt.tz) == "UTC"


def test_emergency_two_hours_across_midnight(rules: pd.DataFrame, cal: WorkCalendar) -> None:
    # Mon 2025-03-03 23:00 local: response 01:00 next day; 3 wd: Tue 03-04, Wed 03-05, Thu 03-06.
    frame = complaints(("e1", "2025-03-03 23:00+08:00", "public_safety/facility_hazards", "report", "emergency"))
    got = due_times(frame, rules, cal, timezone=TZ).iloc[0]
    assert got["rule_id"] == "emergency"
    assert got["response_due_at"] == ts("2025-03-04 01:00+08:00") == ts("2025-03-03 17:00+00:00")
    assert got["rule_due_at"] == ts("2025-03-06 23:59:59+08:00")


def test_working_days_due_follows_the_given_timezone(rules: pd.DataFrame, cal: WorkCalendar) -> None:
    # 2025-03-03 23:00+08:00 is still Monday 03-03 in UTC: 3 wd -> Thu 03-06 23:59:59 UTC.
    frame = complaints(("e1", "2025-03-03 23:00+08:00", "noise", "report", "emergency"))
    assert due_times(frame, rules, cal, timezone="UTC")["rule_due_at"].iloc[0] == ts("2025-03-06 23:59:59+00:00")


def test_due_times_refuse_naive_timestamps_and_days_past_the_calendar(rules: pd.DataFrame,
                                                                     cal: WorkCalendar) -> None:
    frame = complaints(("a", "2025-03-03 23:00+08:00", "noise", "report", "normal"))
    naive = frame.assign(received_at=frame["received_at"].dt.tz_localize(None))
    with pytest.raises(ValueError, match=r"column 'received_at' has dtype datetime64.*not tz-aware"):
        due_times(naive, rules, cal, timezone=TZ)
    late = complaints(("b", "2027-12-30 10:00+08:00", "noise", "report", "normal"))
    with pytest.raises(ConfigError, match=r"runs past the end of the working-day calendar"):
        due_times(late, rules, cal, timezone=TZ)


# --- clock states ----------------------------------------------------------------------------

def test_clock_states_cover_every_state() -> None:
    r, d = "2025-03-05 00:00+00:00", "2025-03-08 00:00+00:00"
    as_of = ts("2025-03-10 12:00+00:00")
    rows = [  # id, status, responded_at, closed_at, response_due_at, due_at, expected (response, completion)
        ("on_time", "closed", "2025-03-04", "2025-03-07", r, d, ("on_time", "on_time")),
        ("late", "closed", "2025-03-06", "2025-03-09", r, d, ("late", "late")),
        ("waiting", "in_progress", None, None, "2025-03-11", "2025-03-12", ("pending", "open")),
        ("overdue", "in_progress", None, None, r, d, ("overdue", "open_overdue")),
        ("duplicate", "duplicate", "2025-03-04", "2025-03-04", r, d, ("not_applicable", "not_applicable")),
        ("cancelled", "cancelled", None, None, r, d, ("not_applicable", "not_applicable")),
        ("closed_is_response", "closed", None, "2025-03-04 12:00", r, d, ("on_time", "on_time")),
        ("closed_late_is_late_response", "closed", None, "2025-03-06", r, d, ("late", "on_time")),
        ("no_rule", "received", None, None, None, None, ("not_applicable", "not_applicable")),
        ("closed_without_time", "closed", "2025-03-04", None, r, d, ("on_time", "not_applicable")),
        ("due_exactly_now", "dispatched", None, None, "2025-03-10 12:00", "2025-03-10 12:00", ("pending", "open")),
        ("responded_at_due", "replied", r, None, r, "2025-03-20", ("on_time", "open")),
        ("reopened", "reopened", "2025-03-04", "2025-03-06", r, d, ("on_time", "open_overdue")),
    ]
    frame = pd.DataFrame([row[:6] for row in rows],
                         columns=["id", "status", "responded_at", "closed_at", "response_due_at", "due_at"])
    for column in ("responded_at", "closed_at", "response_due_at", "due_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    got = clock_states(frame, as_of=as_of, closed_statuses=CLOSED, void_statuses=VOID)
    assert list(zip(got["response_state"], got["completion_state"])) == [row[6] for row in rows]
    assert got["overdue"].tolist() == [row[6][1] in ("late", "open_overdue") for row in rows]
    assert got.index.equals(frame.index)


def test_clock_states_refuse_a_naive_as_of() -> None:
    frame = pd.DataFrame({c: [pd.NaT] for c in ("responded_at", "closed_at", "response_due_at", "due_at")})
    frame["status"] = "received"
    with pytest.raises(ValueError, match=r"as_of 2025-03-10 00:00:00 has no time zone"):
        clock_states(frame, as_of=ts("2025-03-10"), closed_statuses=CLOSED, void_statuses=VOID)


# --- three rates -----------------------------------------------------------------------------

def rated_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "grid_id": ["g1"] * 5 + ["g2"] * 2,
        "response_state": ["on_time", "on_time", "late", "overdue", "pending", "pending", "not_applicable"],
        "completion_state": ["on_time", "late", "open_overdue", "open", "not_applicable", "open", "not_applicable"],
        "satisfaction": ["满意", "基本满意", "不满意", "", None, " Satisfied ", "非常好"],
    })


def test_three_rates_per_group_by_hand(caplog: pytest.LogCaptureFixture) -> None:
    satisfaction = read_satisfaction(GOVERNANCE / "satisfaction.csv")
    with caplog.at_level(logging.WARNING, logger="grid.governance.sla"):
        got = three_rates(rated_frame(), by=["grid_id"], satisfaction=satisfaction).set_index("grid_id")
    assert "非常好" in caplog.text
    g1, g2 = got.loc["g1"], got.loc["g2"]
    # g1: response on time 2 of (2 + 1 late + 1 overdue) = 0.5; the pending one waits.
    assert (g1["complaints"], g1["response_on_time"], g1["response_late"], g1["response_overdue"],
            g1["response_pending"]) == (5, 2, 1, 1, 1)
    assert g1["response_rate"] == 0.5
    # completion on time 1 of (1 + 1 late + 1 open_overdue); the open one waits.
    assert (g1["completion_on_time"], g1["completion_late"], g1["completion_open_overdue"],
            g1["completion_open"]) == (1, 1, 1, 1)
    assert g1["resolution_rate"] == pytest.approx(1 / 3)
    # 满意 and 基本满意 satisfied, 不满意 not, '' and None unrated: 2 / 3
    assert (g1["satisfied"], g1["rated"], g1["satisfaction_unrecognised"]) == (2, 3, 0)
    assert g1["satisfaction_rate"] == pytest.approx(2 / 3)
    # g2: nothing due yet -> NaN rates; ' Satisfied ' counts (case and spaces ignored), 非常好 is unknown.
    assert np.isnan(g2["response_rate"]) and np.isnan(g2["resolution_rate"])
    assert (g2["satisfied"], g2["rated"], g2["satisfaction_unrecognised"]) == (1, 1, 1)
    assert g2["satisfaction_rate"] == 1.0


def test_three_rates_overall_row() -> None:
    satisfaction = read_satisfaction(GOVERNANCE / "satisfaction.csv")
    got = three_rates(rated_frame(), by=[], satisfaction=satisfaction)
    assert len(got) == 1
    row = got.iloc[0]
    assert row["complaints"] == 7
    assert row["response_rate"] == 0.5  # 2 / 4
    assert row["resolution_rate"] == pytest.approx(1 / 3)
    assert row["satisfaction_rate"] == 0.75  # 3 satisfied of 4 rated


def test_satisfaction_vocabulary_counts_jiben_manyi_as_satisfied(tmp_path: Path) -> None:
    table = read_satisfaction(GOVERNANCE / "satisfaction.csv").set_index("value")
    assert table.loc["基本满意", "satisfied"] and table.loc["满意", "satisfied"]
    assert not table.loc["不满意", "satisfied"]
    path = tmp_path / "satisfaction.csv"
    path.write_text("value,satisfied,verified,source\n满意,true,false,s\n Satisfied,yes,false,s\n"
                    "satisfied,false,false,s\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"line 3: satisfied 'yes' must be true or false") as info:
        read_satisfaction(path)
    assert "value 'satisfied' appears on lines [3, 4] (case ignored); keep one row" in str(info.value)
