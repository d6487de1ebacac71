"""生活圈覆盖 Coverage: who is not within reach of what, for one circle, category and speed profile."""

import streamlit as st
from streamlit_folium import st_folium

from app_pages import _common as c
from grid import maps
from grid.coverage import ALL_REQUIRED
from grid.i18n import t
from grid.io import export

lang = c.lang()
st.title(t("coverage", lang))
c.require_access()
config = c.settings()
labels = c.category_labels(lang)

circles = c.circles(config).set_index("circle_id")
cols = st.columns(4)
circle_id = cols[0].selectbox(t("circle", lang), circles.index.tolist(), key="coverage_circle",
                              format_func=lambda i: c.named(circles.loc[i], lang) + ("" if circles.at[i, "computable"]
                                                                                else t("drive_suffix", lang)))
circle = circles.loc[circle_id]
category = cols[1].selectbox(t("category", lang), [ALL_REQUIRED, *circle["categories"]], key="coverage_category",
                             format_func=labels.get, disabled=not circle["computable"])
profiles = c.profiles(config).set_index("profile_id")
profile = cols[2].selectbox(t("profile", lang), profiles.index.tolist(), key="coverage_profile",
                            format_func=lambda p: f"{c.named(profiles.loc[p], lang)} "
                                                  f"({profiles.at[p, 'speed_m_per_min']:.0f} m/min)")
basemap = cols[3].selectbox(t("basemap", lang), list(maps.BASEMAPS), key="coverage_basemap",
                            format_func=lambda b: maps.basemap_label(b, lang))
if not circle["computable"]:
    st.info(t("drive_circle", lang, name=c.named(circle, lang)))
    st.stop()
tianditu_key = st.text_input(t("tianditu_key", lang), key="coverage_tianditu_key", type="password") \
    if basemap == "tianditu" else None
unavailable = maps.basemap_unavailable_reason(basemap, tianditu_key=tianditu_key, lang=lang)
if unavailable:
    st.warning(unavailable + " " + t("basemap_fallback", lang))
    basemap = "none"
if c.synthetic():
    (st.warning if basemap != "none" else st.caption)(t("synthetic_tiles", lang))

view = c.coverage_view(c.db_version(), config, circle_id, category, profile)
if view.missing_categories:
    st.warning(t("no_facilities", lang, categories=", ".join(labels[k] for k in view.missing_categories)))
m1, m2, m3 = st.columns(3)
m1.metric(t("covered_pct", lang), c.pct(view.city["coverage_pct"]))
m2.metric(t("people_in_gaps", lang), c.people(view.city["people_in_gaps"]))
level = c.level_labels(lang)[view.compliance_level] if view.compliance_level else t("all_levels", lang)
m3.metric(t("fully_compliant", lang), f"{view.fully_compliant} / {len(view.communities)}",
          help=t("fully_compliant_help", lang, level=level))
st.caption(t("coverage_caption", lang, threshold=f"{view.threshold_m:,.0f} m" if category != ALL_REQUIRED
             else t("each_threshold", lang), speed=f"{view.speed_m_per_min:.1f}"))
if category == ALL_REQUIRED:
    st.caption(t("all_required_note", lang, n=len(view.categories)))

table = view.communities  # least covered first
chosen_rows = st.session_state.get("coverage_table", {}).get("selection", {}).get("rows", [])
if chosen_rows and chosen_rows != st.session_state.get("_coverage_table_rows"):
    st.session_state["_coverage_table_rows"] = chosen_rows
    st.session_state["coverage_community"] = table.at[chosen_rows[0], "community_id"]
names = view.communities.set_index("community_id")["name"]
community = st.selectbox(t("zoom_to", lang), ["", *names.index], key="coverage_community",
                         format_func=lambda i: t("whole_city", lang) if i == "" else f"{names[i]} ({i})")

facilities = view.facilities.assign(category_label=view.facilities["category"].map(labels))


def build_map():  # noqa: ANN201 - a folium.Map; built again for the HTML export (st_folium alters the one it draws)
    return maps.coverage_map(view.cells, facilities=facilities, communities=view.boundaries, gaps=view.gaps,
                             basemap=basemap, tianditu_key=tianditu_key, lang=lang,
                             focus_bounds=view.community_bounds(community) if community else None,
                             title=f"{c.named(circle, lang)} · {labels[category]}")


st_folium(build_map(), key="coverage_map", height=560, use_container_width=True, returned_objects=[], render=False)

st.subheader(t("communities_table", lang))
shown = table[["name", "subdistrict", "population", "coverage_pct", "people_in_gaps", "pass", "partial", "fail",
               "fully_compliant"]]
st.dataframe(c.labelled(shown), hide_index=True, key="coverage_table", on_select="rerun",
             selection_mode="single-row", column_config={t("col_coverage_pct", lang): st.column_config.NumberColumn(
                 format="%.1f%%"), t("col_people_in_gaps", lang): st.column_config.NumberColumn(format="localized")})

st.subheader(t("exports", lang))
stem = f"{circle_id}_{category}_{profile}"
for what, frame in (("cells", view.cells), ("gaps", view.gaps)):
    c.download_buttons(t(f"export_{what}", lang), [
        (f"export_{what}_csv", lambda f=frame: export.cells_to_csv(f), f"{stem}_{what}.csv", "text/csv"),
        (f"export_{what}_geojson", lambda f=frame: export.cells_to_geojson(f), f"{stem}_{what}.geojson",
         "application/geo+json"),
        (f"export_{what}_parquet", lambda f=frame: export.cells_to_geoparquet(f), f"{stem}_{what}.parquet",
         "application/vnd.apache.parquet")])
c.download_buttons(t("export_map", lang), [
    ("export_map_html", lambda: maps.map_html(build_map(), standalone=True), f"{stem}_map.html", "text/html")])
