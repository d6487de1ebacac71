"""Login and the governance pages (My grid, Complaints, Workload) with AppTest on the demo city:
one-click demo logins, passwords, pages per role, figures equal the query layer's for the
same viewer, the work-list export, English labels, and a page refusing a role even when run
directly."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from grid.demo.load import DEMO_PASSWORD
from grid.governance.access import viewer_for
from grid.i18n import t
from grid.queries import complaint_analysis as qa
from grid.queries import complaints as qc
from grid.queries import workload as qw
from grid.settings import Settings
from grid.store import open_reader, write_session

from conftest import PROJECT_ROOT

APP = str(PROJECT_ROOT / "app.py")


def _as(user: str | None, page: str | None = None, *, lang: str = "zh") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    if user:
        at.session_state["username"] = user
    at.run()
    if lang == "en":
        at.sidebar.radio(key="lang").set_value("en").run()
    if page:
        at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def _metric(at: AppTest, label_start: str) -> str:
    return next(m.value for m in at.metric if m.label.startswith(label_start))


def test_login_page_offers_one_click_demo_logins_and_checks_passwords(demo) -> None:
    at = _as(None)
    assert at.title[0].value == t("login")
    roles = {b.key.removeprefix("demo_login_") for b in at.button if b.key and b.key.startswith("demo_login_")}
    assert roles == {"admin", "planner", "supervisor", "grid_manager", "analyst"}
    at.text_input(key="login_username").input("demo_supervisor")
    at.text_input(key="login_password").input("wrong-password")
    at.button[0].click().run()
    assert at.error and at.error[0].value == t("login_failed")
    at.text_input(key="login_password").input(DEMO_PASSWORD)
    at.button[0].click().run()
    assert at.session_state["username"] == "demo_supervisor" and at.title[0].value == t("app_title")


def test_one_click_grid_manager_lands_on_my_grid_with_only_their_pages(demo) -> None:
    at = _as(None)
    at.button(key="demo_login_grid_manager").click().run()
    assert not at.exception and at.title[0].value == t("my_grid")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("app_pages/complaints.py")
    at.sidebar.button(key="logout").click().run()
    assert at.title[0].value == t("login")


def test_a_page_refuses_a_role_even_when_run_directly(demo) -> None:
    at = AppTest.from_file(str(PROJECT_ROOT / "app_pages" / "workload.py"), default_timeout=120)
    at.session_state["username"] = "demo_manager"
    at.run()
    assert at.error and at.error[0].value == t("not_allowed", role=t("role_grid_manager"))
    at = AppTest.from_file(str(PROJECT_ROOT / "app_pages" / "my_grid.py"), default_timeout=120).run()
    assert at.info and at.info[0].value == t("login_intro")  # nobody logged in: nothing shown


def test_my_grid_figures_equal_the_query_layer(demo) -> None:
    at = _as("demo_manager")
    con = open_reader(demo.db_path)
    who = viewer_for(con, "demo_manager")
    grid_id = sorted(who.grid_ids)[0]
    mine = qc.visible_complaints(con, who, qc.ComplaintFilter(grid_id=grid_id))
    open_now = mine[mine["is_open"]]
    assert _metric(at, t("open_now")) == f"{len(open_now):,}"
    assert _metric(at, t("overdue_now")) == f"{int(open_now['overdue'].sum()):,}"
    work = at.dataframe[0].value
    expected = qc.work_list(con, who, qc.ComplaintFilter(
        grid_id=grid_id, open_only=True, start=_start(at, demo), end=_end(at, demo)))
    assert work[t("col_complaint_id")].tolist() == expected["complaint_id"].tolist()
    assert len(work) == len(open_now[open_now["received_at"] >= _start(at, demo)])
    month = (qc.complaints_as_of(con) - pd.Timedelta(seconds=1)).tz_convert(demo.default_timezone).strftime("%Y-%m")
    rates = qw.rates(con, demo, who, by=["month"], flt=qc.ComplaintFilter(grid_id=grid_id))
    row = rates[rates["month"] == month].iloc[0]
    assert _metric(at, f"{t('response_rate')} {month}") == f"{100 * row['response_rate']:.1f}%"
    assert _metric(at, f"{t('satisfaction_rate')} {month}") == f"{100 * row['satisfaction_rate']:.1f}%"


def _start(at: AppTest, settings: Settings) -> pd.Timestamp:
    return pd.Timestamp(at.session_state["my_grid_dates"][0], tz=settings.default_timezone)


def _end(at: AppTest, settings: Settings) -> pd.Timestamp:
    return pd.Timestamp(at.session_state["my_grid_dates"][1], tz=settings.default_timezone) + pd.Timedelta(days=1)


def test_my_grid_filters_timeline_and_export(demo, media) -> None:
    at = _as("demo_manager")
    at.toggle(key="my_grid_open").set_value(False).run()
    at.date_input(key="my_grid_dates").set_value((pd.Timestamp("2025-07-01").date(),
                                                  pd.Timestamp("2026-06-30").date())).run()
    at.multiselect(key="my_grid_categories").set_value(["property_management"]).run()
    assert not at.exception
    shown = at.dataframe[0].value
    con = open_reader(demo.db_path)
    who = viewer_for(con, "demo_manager")
    flt = qc.ComplaintFilter(grid_id=sorted(who.grid_ids)[0], categories=("property_management",),
                             start=pd.Timestamp("2025-07-01", tz=demo.default_timezone),
                             end=pd.Timestamp("2026-07-01", tz=demo.default_timezone))
    expected = qc.work_list(con, who, flt)
    assert len(expected) > 0 and shown[t("col_complaint_id")].tolist() == expected["complaint_id"].tolist()
    first = expected["complaint_id"].iloc[0]
    at.selectbox(key="my_grid_complaint").set_value(first).run()
    steps = at.dataframe[1].value
    assert steps[t("col_step")].iloc[0] == t("step_received")
    assert len(steps) == len(qc.complaint_timeline(con, who, first))
    button = next(b for b in at.get("download_button") if b.key == "download_csv")
    url = media[-1].execute_deferred(button.proto.deferred_file_id)
    csv = pd.read_csv(io.BytesIO(media[-1].read_file(url.rsplit("/", 1)[1]).content), encoding="utf-8-sig")
    assert csv["complaint_id"].tolist() == expected["complaint_id"].tolist()


def test_complaints_page_equals_the_query_layer(demo) -> None:
    at = _as("demo_supervisor", "complaints")
    con = open_reader(demo.db_path)
    who = viewer_for(con, "demo_supervisor")
    local = qc.complaints_as_of(con).tz_convert(demo.default_timezone).date()
    flt = qc.ComplaintFilter(start=pd.Timestamp(local - pd.Timedelta(days=365), tz=demo.default_timezone),
                             end=pd.Timestamp(local, tz=demo.default_timezone) + pd.Timedelta(days=1))
    at.radio(key="cp_map_kind").set_value("hotspots").run()
    spots = qa.hotspot_cells(con, who, flt)
    assert t("hotspots_found", hot=int(spots["hotspot"].sum()), cold=int(spots["coldspot"].sum()),
             cells=len(spots)) in [c.value for c in at.caption]
    overlay = qa.complaints_over_gaps(con, demo, who, complaint_category="elderly_social/elderly_care",
                                      facility_category="elderly_daycare", circle_id="gb-5min",
                                      per="population_65plus")
    assert _metric(at, t("gap_inside")) == f"{overlay.figures['rate_in']:.2f}"
    assert _metric(at, t("gap_ratio")) == f"{overlay.figures['ratio']:.2f}"
    rates = qw.rates(con, demo, who, by=["subdistrict"], flt=flt)
    table = at.dataframe[-1].value
    assert table[t("col_complaints")].tolist() == rates["complaints"].tolist()
    area = at.dataframe[0].value
    assert area[t("col_complaints")].sum() == qc.complaints_by_area(con, who, area="grid", flt=flt)["complaints"].sum()


def test_workload_page_equals_the_query_layer(demo) -> None:
    at = _as("demo_supervisor", "workload")
    con = open_reader(demo.db_path)
    who = viewer_for(con, "demo_supervisor")
    load = qw.workload(con, demo, who, months=12)
    assert _metric(at, t("cv_complaints")) == f"{qw.imbalance(load['complaints'])['cv']:.2f}"
    view = qw.redraw_view(con, who, months=12, complaint_weight=0.5)
    assert _metric(at, t("cv_load")) == f"{view.figures['cv_after']:.3f}"
    households = qw.redraw_view(con, who, months=12, complaint_weight=0.0)  # "now" is the grid layer itself
    grids = qw.visible_grids(con, who)
    assert households.figures["cv_before"] == pytest.approx(qw.imbalance(grids["households"])["cv"], rel=1e-9)
    at.slider(key="redraw_weight").set_value(1.0).run()
    other = qw.redraw_view(con, who, months=12, complaint_weight=1.0)
    assert _metric(at, t("cv_load")) == f"{other.figures['cv_after']:.3f}"
    assert other.figures["cv_after"] < other.figures["cv_before"]  # complaints are uneven: a redraw evens them
    assert at.success and at.success[0].value == t("redraw_gain", before=other.figures["cv_before"],
                                                   after=other.figures["cv_after"])


def test_governance_pages_in_english(demo) -> None:
    for user, page, title in (("demo_manager", None, "My grid"), ("demo_supervisor", "complaints", "Complaints"),
                              ("demo_supervisor", "workload", "Workload")):
        at = _as(user, page, lang="en")
        assert at.title[0].value == title


def test_database_without_users_hides_the_governance_pages(settings) -> None:
    with write_session(settings.db_path):
        pass
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception and at.title[0].value == t("app_title")
    assert t("no_users") in [c.value for c in at.caption]
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("app_pages/my_grid.py")
