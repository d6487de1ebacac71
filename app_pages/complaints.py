"""诉求分析 Complaints: trends, maps by cell with Gi* hotspots, counts by area, repeat complaints at
the same place, complaints over life-circle gaps and the three rates (supervisors, planners, analysts)."""

from datetime import timedelta

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from app_pages import _common as c
from grid import maps
from grid.i18n import t
from grid.queries.complaints import ComplaintFilter

lang = c.lang()
st.title(t("complaints_page", lang))
c.require_database()
who = c.require_page("complaints")
version, config = c.db_version(), c.settings()
as_of = c.as_of(version)
everything = c.complaints_for(version, who, ComplaintFilter())
if everything.empty:
    st.info(t("no_complaints", lang))
    st.stop()
st.caption(t("as_of", lang, as_of=as_of.tz_convert(config.default_timezone).strftime("%Y-%m-%d %H:%M")))
categories, request_types = c.vocabulary("category", lang), c.vocabulary("request_type", lang)
top = sorted({cat.split("/")[0] for cat in everything["category"]})
f1, f2 = st.columns(2)
chosen = f1.multiselect(t("filter_category", lang), top, key="cp_categories", format_func=lambda k: categories.get(k, k),
                        placeholder=t("all_options", lang))
local_as_of = as_of.tz_convert(config.default_timezone).date()
dates = f2.date_input(t("filter_dates", lang), (local_as_of - timedelta(days=365), local_as_of), key="cp_dates")
start = end = None
if isinstance(dates, tuple) and len(dates) == 2:
    start = pd.Timestamp(dates[0], tz=config.default_timezone)
    end = pd.Timestamp(dates[1], tz=config.default_timezone) + pd.Timedelta(days=1)
flt = ComplaintFilter(categories=tuple(chosen), start=start, end=end)

st.subheader(t("trends", lang))
by = st.radio(t("trend_by", lang), ["category", "request_type"], key="cp_trend_by", horizontal=True,
              format_func=lambda k: t(f"by_{k}", lang))
trend = c.trends(version, who, by, flt)
names = categories if by == "category" else request_types
wide = trend.assign(key=trend["key"].map(lambda k: names.get(k, k))).pivot_table(
    index="month", columns="key", values="complaints", fill_value=0)
st.line_chart(wide, height=280)

st.subheader(t("by_area_map", lang))
show = st.radio(t("map_of", lang), ["counts", "hotspots"], key="cp_map_kind", horizontal=True,
                format_func=lambda k: t(f"map_{k}", lang))
spots = c.hotspots(version, who, flt)
if show == "hotspots":
    st.caption(t("hotspot_caption", lang, alpha=0.05))
    st.caption(t("hotspots_found", lang, hot=int(spots["hotspot"].sum()), cold=int(spots["coldspot"].sum()),
                 cells=len(spots)))
    cells = spots
else:
    cells = spots[["h3", "count"]]
m = maps.count_map(cells, outlines=c.grids_of(version, who), lang=lang, title=t(f"map_{show}", lang))
st_folium(m, key="cp_map", height=480, use_container_width=True, returned_objects=[], render=False)

st.subheader(t("by_area", lang))
area = st.radio(t("area_kind", lang), ["grid", "community", "subdistrict"], key="cp_area", horizontal=True,
                format_func=lambda k: t(f"area_{k}", lang))
st.dataframe(c.labelled(c.by_area(version, who, area, flt)), hide_index=True, height=260)

st.subheader(t("repeats", lang))
st.caption(t("repeats_caption", lang, days=30, n=3))
repeats = c.repeats(version, who, flt, 30, 3)
st.dataframe(c.labelled(repeats.rename(columns={"category": "complaint_category"}).assign(
                            complaint_category=repeats["category"].map(lambda k: categories.get(k, k)),
                                       h3=repeats["h3"].map(lambda h: f"{int(h):x}"),
                                       first_at=c.local_time(repeats["first_at"]),
                                       last_at=c.local_time(repeats["last_at"]),
                                       complaint_ids=repeats["complaint_ids"].map(", ".join))), hide_index=True,
             height=240)

st.subheader(t("gap_overlay", lang))
leaves = sorted(k for k in categories if "/" in k)
facility_names, circles = c.category_labels(lang), c.circles(config)
walk = circles[circles["computable"]].set_index("circle_id")
g1, g2, g3, g4 = st.columns(4)
complaint_category = g1.selectbox(t("gap_complaint_category", lang), leaves, key="cp_gap_complaint",
                                  index=leaves.index("elderly_social/elderly_care") if "elderly_social/elderly_care" in leaves else 0,
                                  format_func=lambda k: categories.get(k, k))
circle_id = g3.selectbox(t("circle", lang), walk.index.tolist(), key="cp_gap_circle",
                         index=walk.index.tolist().index("gb-5min") if "gb-5min" in walk.index else 0,
                         format_func=lambda k: c.named(walk.loc[k], lang))
offered = walk.at[circle_id, "categories"]
facility = g2.selectbox(t("gap_facility", lang), offered, key="cp_gap_facility",
                        index=offered.index("elderly_daycare") if "elderly_daycare" in offered else 0,
                        format_func=lambda k: facility_names.get(k, k))
per = g4.radio(t("gap_per", lang), ["population_65plus", "population"], key="cp_gap_per",
               format_func=lambda k: t(f"per_{k}", lang))
overlay = c.gap_overlay(version, config, who, complaint_category, facility, circle_id, per)
fig = overlay.figures
k1, k2, k3 = st.columns(3)
k1.metric(t("gap_inside", lang), f"{fig['rate_in']:.2f}", help=t(f"per_{per}", lang))
k2.metric(t("gap_outside", lang), f"{fig['rate_out']:.2f}", help=t(f"per_{per}", lang))
k3.metric(t("gap_ratio", lang), f"{fig['ratio']:.2f}",
          delta=f"{fig['ratio_low']:.2f}–{fig['ratio_high']:.2f}", delta_color="off")
st.caption(t("gap_caption", lang, circle=c.named(walk.loc[circle_id], lang), facility=facility_names.get(facility, facility)))
gap_cells = overlay.cells
gm = maps.count_map(gap_cells.rename(columns={"complaints": "count"}), lang=lang,
                    highlight=gap_cells.loc[~gap_cells["covered"], "h3"].to_numpy(),
                    highlight_label=t("gap_cells_legend", lang), title=categories.get(complaint_category))
st_folium(gm, key="cp_gap_map", height=420, use_container_width=True, returned_objects=[], render=False)

st.subheader(t("rates_by", lang))
group = st.radio(t("rates_by", lang), ["subdistrict", "community", "grid", "manager", "month"], key="cp_rates_by",
                 horizontal=True, label_visibility="collapsed",
                 format_func=lambda k: t(f"area_{k}", lang) if k in ("grid", "community", "subdistrict")
                 else t("col_manager_id" if k == "manager" else "col_month", lang))
table = c.rates(version, config, who, (group,), flt)
keep = [table.columns[0], "complaints", "response_rate", "resolution_rate", "satisfaction_rate"]
st.dataframe(c.labelled(table[keep].assign(**{k: table[k] * 100 for k in keep[2:]})), hide_index=True, height=260,
             column_config={t(f"col_{k}", lang): st.column_config.NumberColumn(format="%.1f%%") for k in keep[2:]})
st.caption(t("rates_caption", lang))
