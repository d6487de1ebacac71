"""网格工作量 Workload: households, complaints and overdue per manager, how unevenly the load is
spread, and a proposal to redraw grids that evens it (supervisors)."""

import streamlit as st
from streamlit_folium import st_folium

from app_pages import _common as c
from grid import maps
from grid.i18n import t
from grid.queries.workload import imbalance

lang = c.lang()
st.title(t("workload", lang))
c.require_database()
who = c.require_page("workload")
version, config = c.db_version(), c.settings()
months = 12
table = c.workload(version, config, who, months)
if table.empty:
    st.info(t("no_grids", lang))
    st.stop()

st.subheader(t("imbalance", lang))
spread_h, spread_c = imbalance(table["households"]), imbalance(table["complaints"])
m1, m2, m3, m4 = st.columns(4)
m1.metric(t("cv_households", lang), f"{spread_h['cv']:.2f}")
m2.metric(t("cv_complaints", lang), f"{spread_c['cv']:.2f}")
m3.metric(f"{t('col_households', lang)} {t('max_min', lang)}", f"{spread_h['max_min_ratio']:.1f}")
m4.metric(f"{t('col_complaints', lang)} {t('max_min', lang)}", f"{spread_c['max_min_ratio']:.1f}")

st.subheader(t("workload_table", lang, months=months))
shown = table.rename(columns={"name": "manager_name"})
rates = ["response_rate", "resolution_rate", "satisfaction_rate"]
st.dataframe(c.labelled(shown.assign(**{k: shown[k] * 100 for k in rates})), hide_index=True, height=320,
             column_config={**{t(f"col_{k}", lang): st.column_config.NumberColumn(format="%.1f%%") for k in rates},
                            t("col_complaints_per_100_households", lang): st.column_config.NumberColumn(format="%.1f")})

st.subheader(t("redraw", lang))
st.caption(t("redraw_intro", lang))
weight = st.slider(t("redraw_weight", lang), 0.0, 1.0, 0.5, 0.1, key="redraw_weight")
view = c.redraw(version, who, months, float(weight))
fig = view.figures
r1, r2, r3, r4 = st.columns(4)
r1.metric(t("cv_load", lang), f"{fig['cv_after']:.3f}", delta=f"{fig['cv_after'] - fig['cv_before']:+.3f}",
          delta_color="inverse", help=f"{t('before', lang)}: {fig['cv_before']:.3f}")
r2.metric(t("max_min", lang), f"{fig['max_min_ratio_after']:.2f}",
          delta=f"{fig['max_min_ratio_after'] - fig['max_min_ratio_before']:+.2f}", delta_color="inverse",
          help=f"{t('before', lang)}: {fig['max_min_ratio_before']:.2f}")
r3.metric(t("within_bounds", lang), c.pct(100 * fig["share_within_bounds_after"]),
          delta=f"{100 * (fig['share_within_bounds_after'] - fig['share_within_bounds_before']):+.1f} pp")
r4.metric(t("grids_count", lang), f"{fig['grids_after']:.0f}", delta=f"{fig['grids_after'] - fig['grids_before']:+.0f}",
          delta_color="off", help=f"{t('before', lang)}: {fig['grids_before']:.0f}")
if fig["cv_after"] >= fig["cv_before"]:
    st.info(t("redraw_no_gain", lang))
else:
    st.success(t("redraw_gain", lang, before=fig["cv_before"], after=fig["cv_after"]))
left, right = st.columns(2)
for column, frame, outlines, key, grid_column in (
        (left, view.before, view.outlines_before, "before", "current_grid_id"),
        (right, view.after, view.outlines_after, "after", "proposed_grid_id")):
    column.markdown(f"**{t(key, lang)}**")
    loads = frame.set_index("grid_id")["load"]
    drawn = view.cells.assign(count=view.cells[grid_column].map(loads).round(2)).drop_duplicates("h3")
    m = maps.count_map(drawn[["h3", "count"]], outlines=outlines, lang=lang, breaks=(0.85, 1.0, 1.15),
                       title=f"{t('col_load', lang)} · {t(key, lang)}")
    with column:
        st_folium(m, key=f"redraw_map_{key}", height=380, use_container_width=True, returned_objects=[], render=False)
