"""情景模拟 What-if: place a new facility (click the map or enter lon/lat) or remove one, and see
coverage and people in gaps before and after, from the engine's incremental update."""

import streamlit as st
from streamlit_folium import st_folium

from app_pages import _common as c
from grid import maps
from grid.i18n import t

lang = c.lang()
st.title(t("whatif", lang))
c.require_access()
config = c.settings()
labels = c.category_labels(lang)
st.session_state.setdefault("whatif_points", [])


def add_typed_point() -> None:
    st.session_state["whatif_points"] = [*st.session_state["whatif_points"],
                                         (float(st.session_state["whatif_lon"]), float(st.session_state["whatif_lat"]))]


def add_clicked_point() -> None:
    clicked = (st.session_state.get("whatif_map") or {}).get("last_clicked")
    if clicked:
        st.session_state["whatif_points"] = [*st.session_state["whatif_points"],
                                             (round(clicked["lng"], 6), round(clicked["lat"], 6))]


def clear() -> None:
    st.session_state["whatif_points"] = []
    st.session_state["whatif_remove"] = []


circles = c.circles(config)
circles = circles[circles["computable"]].set_index("circle_id")
cols = st.columns(3)
circle_id = cols[0].selectbox(t("circle", lang), circles.index.tolist(), key="whatif_circle",
                              format_func=lambda i: c.named(circles.loc[i], lang))
category = cols[1].selectbox(t("category", lang), circles.at[circle_id, "categories"], key="whatif_category",
                             format_func=labels.get)
profiles = c.profiles(config).set_index("profile_id")
profile = cols[2].selectbox(t("profile", lang), profiles.index.tolist(), key="whatif_profile",
                            format_func=lambda p: c.named(profiles.loc[p], lang))
existing = c.facilities(c.db_version(), category).set_index("facility_id")
remove = st.multiselect(t("whatif_remove", lang), existing.index.tolist(), key="whatif_remove",
                        format_func=lambda f: f"{existing.at[f, 'name']} ({f})")
points = tuple(st.session_state["whatif_points"])
view = c.whatif_view(c.db_version(), config, circle_id, category, profile, points, tuple(remove))
result = view.result
if existing.empty:
    st.info(t("whatif_no_facilities", lang, category=labels[category]))
off = result.added[~result.added["on_network"]]
if len(off):
    points_text = "; ".join(f"{x:.5f}, {y:.5f}" for x, y in zip(off["lon"], off["lat"]))
    st.warning(t("whatif_off_network", lang, points=points_text,
                 max_snap_m=f"{config.max_snap_m:g}"))

b, a = result.summary.loc["before"], result.summary.loc["after"]
changed = bool(points or remove)
m1, m2, m3 = st.columns(3)
m1.metric(t("covered_pct", lang), c.pct(a["coverage_pct"]),
          delta=f"{a['coverage_pct'] - b['coverage_pct']:+.1f} pp" if changed else None)
m2.metric(t("people_in_gaps", lang), c.people(a["people_in_gaps"]),
          delta=f"{a['people_in_gaps'] - b['people_in_gaps']:+,.0f}" if changed else None, delta_color="inverse")
m3.metric(t("changed_cells", lang), f"{int(result.cells['changed'].sum()):,}")
st.dataframe(c.labelled(result.summary[["coverage_pct", "people_in_gaps", "covered_population", "population"]]
                        .rename(index=lambda s: t(f"whatif_{s}", lang)).rename_axis("scenario").reset_index()),
             hide_index=True,
             column_config={t("col_coverage_pct", lang): st.column_config.NumberColumn(format="%.2f%%")})
st.caption(t("whatif_caption", lang, threshold=f"{result.threshold_m:,.0f}", category=labels[category]))

show = st.radio(t("whatif_show", lang), ["after", "changed"], key="whatif_show", horizontal=True,
                format_func=lambda s: t(f"whatif_show_{s}", lang))
kinds = view.facilities["new"].map({True: t("whatif_new", lang), False: labels[category]})
m = maps.coverage_map(view.map_cells(changed_only=show == "changed"), communities=view.boundaries,
                      facilities=view.facilities.assign(category_label=kinds), gaps=view.gaps(), lang=lang,
                      title=f"{c.named(circles.loc[circle_id], lang)} · {labels[category]}")
st_folium(m, key="whatif_map", height=520, use_container_width=True, returned_objects=["last_clicked"],
          on_change=add_clicked_point, render=False)
st.caption(t("whatif_click_hint", lang))

lon, lat = view.centre()
p1, p2, p3, p4 = st.columns([2, 2, 1, 1], vertical_alignment="bottom")
p1.number_input(t("lon", lang), value=lon, format="%.5f", step=0.001, key="whatif_lon")
p2.number_input(t("lat", lang), value=lat, format="%.5f", step=0.001, key="whatif_lat")
p3.button(t("whatif_add", lang), key="whatif_add", on_click=add_typed_point)
p4.button(t("whatif_clear", lang), key="whatif_clear", on_click=clear)
if points:
    st.dataframe(c.labelled(result.added[["lon", "lat", "on_network", "snap_m", "facility_id"]]), hide_index=True)
