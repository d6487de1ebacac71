"""我的网格 My grid: a grid manager's cells, complaints, what is due and overdue, a complaint's
timeline, this month's three rates, and the work list to export. Only the viewer's grids."""

from datetime import timedelta

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from app_pages import _common as c
from grid import maps
from grid.i18n import t
from grid.queries.complaints import ComplaintFilter
from grid.queries.workload import export_work_list

lang = c.lang()
st.title(t("my_grid", lang))
c.require_database()
who = c.require_page("my_grid")
version, config = c.db_version(), c.settings()
grids = c.grids_of(version, who)
if grids.empty:
    st.info(t("no_grids", lang))
    st.stop()
grid_id = st.selectbox(t("choose_grid", lang), grids["grid_id"].tolist(), key="my_grid_id",
                       format_func=lambda g: f"{grids.set_index('grid_id').at[g, 'name']} ({g})")
as_of = c.as_of(version)
st.caption(t("as_of", lang, as_of=as_of.tz_convert(config.default_timezone).strftime("%Y-%m-%d %H:%M")))

everything = c.complaints_for(version, who, ComplaintFilter(grid_id=grid_id))
month = (as_of - pd.Timedelta(seconds=1)).tz_convert(config.default_timezone).strftime("%Y-%m")  # the last month with data
open_now = everything[everything["is_open"]]
m1, m2, m3, m4, m5, m6 = st.columns(6)
m1.metric(t("open_now", lang), f"{len(open_now):,}")
m2.metric(t("overdue_now", lang), f"{int(open_now['overdue'].sum()):,}")
m3.metric(t("due_24h", lang), f"{int(((open_now['hours_left'] >= 0) & (open_now['hours_left'] <= 24)).sum()):,}")
rates = c.rates(version, config, who, ("month",), ComplaintFilter(grid_id=grid_id))
this_month = rates[rates["month"] == month]
for column, key in zip((m4, m5, m6), ("response_rate", "resolution_rate", "satisfaction_rate")):
    value = this_month[key].iloc[0] if len(this_month) else float("nan")
    column.metric(f"{t(key, lang)} {month}", c.pct(100 * value))
st.caption(t("rates_caption", lang))

categories = c.vocabulary("category", lang)
statuses = c.vocabulary("status", lang)
top = sorted({cat.split("/")[0] for cat in everything["category"]})
f1, f2, f3 = st.columns([2, 2, 2])
chosen = f1.multiselect(t("filter_category", lang), top, key="my_grid_categories",
                        format_func=lambda k: categories.get(k, k), placeholder=t("all_options", lang))
status = f2.multiselect(t("filter_status", lang), list(statuses), key="my_grid_statuses",
                        format_func=lambda k: statuses.get(k, k), placeholder=t("all_options", lang))
local_as_of = as_of.tz_convert(config.default_timezone).date()
dates = f3.date_input(t("filter_dates", lang), (local_as_of - timedelta(days=90), local_as_of), key="my_grid_dates")
g1, g2 = st.columns(2)
open_only = g1.toggle(t("filter_open", lang), value=True, key="my_grid_open")
overdue_only = g2.toggle(t("filter_overdue", lang), value=False, key="my_grid_overdue")
start = end = None
if isinstance(dates, tuple) and len(dates) == 2:
    start = pd.Timestamp(dates[0], tz=config.default_timezone)
    end = pd.Timestamp(dates[1], tz=config.default_timezone) + pd.Timedelta(days=1)
flt = ComplaintFilter(grid_id=grid_id, categories=tuple(chosen), statuses=tuple(status), start=start, end=end,
                      open_only=open_only, overdue_only=overdue_only)
work = c.work_list(version, who, flt)

shown = c.complaints_for(version, who, flt)
points = shown.assign(category_label=shown["category"].map(lambda k: categories.get(k, k)),
                      status_label=shown["status"].map(lambda k: statuses.get(k, k)),
                      due_label=c.local_time(shown["due_at"]))
cells = c.grid_cells_of(version, who)
cells = cells[cells["grid_id"] == grid_id]
outline = grids[grids["grid_id"] == grid_id]
m = maps.grid_map(cells, outline, points, lang=lang, title=f"{outline['name'].iloc[0]} · {len(points):,}")
st_folium(m, key="my_grid_map", height=460, use_container_width=True, returned_objects=[], render=False)

st.subheader(t("work_list", lang))
requests, urgencies = c.vocabulary("request_type", lang), c.vocabulary("urgency", lang)
table = work.assign(category=work["category"].map(lambda k: categories.get(k, k)),
                    request_type=work["request_type"].map(lambda k: requests.get(k, k)),
                    urgency=work["urgency"].map(lambda k: urgencies.get(k, k)),
                    status=work["status"].map(lambda k: statuses.get(k, k)),
                    received_at=c.local_time(work["received_at"]), due_at=c.local_time(work["due_at"]),
                    hours_left=work["hours_left"].round(1) + 0.0)
table = table.drop(columns=["completion_state", "response_state", "community_id"]).rename(
    columns={"category": "complaint_category"})
st.dataframe(c.labelled(table), hide_index=True,
             column_config={t("col_hours_left", lang): st.column_config.NumberColumn(format="%.1f")})
c.download_buttons(t("export_work_list", lang), [
    ("download_csv", lambda: export_work_list(c.connection(), who, flt, fmt="csv"), f"work_list_{grid_id}.csv",
     "text/csv"),
    ("download_xlsx", lambda: export_work_list(c.connection(), who, flt, fmt="xlsx"), f"work_list_{grid_id}.xlsx",
     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")])

st.subheader(t("timeline", lang))
if len(work):
    ids = work["complaint_id"].head(300).tolist()
    complaint_id = st.selectbox(t("choose_complaint", lang), ids, key="my_grid_complaint")
    steps = c.timeline(version, who, complaint_id)
    st.dataframe(c.labelled(c.timeline_labels(steps)), hide_index=True)
else:
    st.info(t("no_complaints", lang) if everything.empty else "—")
