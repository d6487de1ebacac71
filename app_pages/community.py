"""社区体检 Community report: one community against GB 50180-2018 and the community standards."""

from datetime import datetime

import streamlit as st
from streamlit_folium import st_folium

from app_pages import _common as c
from grid import maps
from grid.i18n import t
from grid.reports import community_report_html

lang = c.lang()
st.title(t("community", lang))
c.require_access()
config = c.settings()
labels, levels = c.category_labels(lang), c.level_labels(lang)

listed = c.communities(c.db_version()).set_index("community_id")
community_id = st.selectbox(t("choose_community", lang), listed.index.tolist(), key="report_community",
                            format_func=lambda i: f"{listed.at[i, 'name']} · {listed.at[i, 'subdistrict']} ({i})")
report = c.community_report(c.db_version(), config, community_id)

counts = report.status_counts()
m1, m2, m3, m4, m5 = st.columns(5)
m1.metric(t("col_population", lang), c.people(report.community["population"]))
m2.metric(t("col_households", lang), c.people(report.community["households"]))
m3.metric(t("must_pass", lang), counts["pass"])
m4.metric(t("must_partial", lang), counts["partial"])
m5.metric(t("must_fail", lang), counts["fail"])

st.subheader(t("report_requirements", lang))
rows = report.requirements
shown = rows.assign(level=rows["level"].map(levels), category=rows["category"].map(labels),
                    requirement=rows["requirement"].map(lambda r: t(f"req_{r}", lang)),
                    status=rows["status"].map(lambda s: t(f"status_{s}", lang)),
                    share_covered=rows["share_covered"] * 100)
st.dataframe(c.labelled(shown[["level", "category", "requirement", "status", "share_covered", "nearest_m", "median_m",
                               "threshold_m", "clause", "verified"]]), hide_index=True,
             column_config={t("col_share_covered", lang): st.column_config.NumberColumn(format="%.1f%%"),
                            t("col_nearest_m", lang): st.column_config.NumberColumn(format="%.0f"),
                            t("col_median_m", lang): st.column_config.NumberColumn(format="%.0f")})
st.caption(t("status_policy", lang, pass_pct=f"{config.compliance_pass_share:.0%}",
             fail_pct=f"{config.compliance_fail_share:.0%}"))

st.subheader(t("report_checks", lang))
checks = report.checks
st.dataframe(c.labelled(checks.assign(check=checks["name_en" if lang == "en" else "name_zh"],
                                      status=checks["status"].map(lambda s: t(f"status_{s}", lang)))[
    ["check", "value", "required", "unit", "status", "source"]]), hide_index=True)

st.subheader(t("report_map", lang))
items = list(zip(rows["level"], rows["category"]))
item = st.selectbox(t("map_item", lang), range(len(items)), index=report.first_unmet(), key="report_item",
                    format_func=lambda i: f"{levels[items[i][0]]} · {labels[items[i][1]]}")
level, category = items[item]
facilities = report.facilities[report.facilities["category"] == category]
m = maps.coverage_map(report.map_cells(level, category), communities=report.boundary,
                      facilities=facilities.assign(category_label=labels[category]),
                      gaps=report.map_gaps(level, category), focus_bounds=report.bounds(), lang=lang,
                      title=f"{report.community['name']} · {labels[category]}")
st_folium(m, key="report_map", height=460, use_container_width=True, returned_objects=[], render=False)

st.download_button(t("report_download", lang),
                   lambda: community_report_html(report, lang=lang,
                                                 generated_at=datetime.now().strftime("%Y-%m-%d %H:%M"),
                                                 pass_share=config.compliance_pass_share,
                                                 fail_share=config.compliance_fail_share),
                   file_name=f"{t('community', lang)}_{report.community['name']}.html", mime="text/html",
                   key="report_download", on_click="ignore")
st.caption(t("report_print_hint", lang))
