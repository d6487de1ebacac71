"""概览 Overview: what the database holds, and where to go next."""

import streamlit as st

from app_pages import _common as c
from grid import queries
from grid.i18n import t

lang = c.lang()
st.title(t("app_title", lang))
con = c.require_database()
summary = queries.database_summary(con)
counts = queries.table_counts(con)
loaded = counts.set_index("table")["rows"]
if loaded[["communities", "facilities", "complaints", "grids"]].sum() == 0:
    st.info(t("empty_database", lang))
if not c.users_exist():
    st.caption(t("no_users", lang))
cols = st.columns(2)
cols[0].metric(t("schema_version", lang), summary.get("schema_version", "?"))
cols[1].metric(t("h3_res", lang), summary.get("h3_res", "?"))
allowed = c.allowed_pages(c.viewer())
for key in ("coverage", "community", "whatif"):
    if key in allowed:
        st.page_link(c.PAGE_FILES[key], label=f"{t(key, lang)}: {t(f'{key}_intro', lang)}")
st.subheader(t("tables", lang))
st.dataframe(counts.rename(columns={"table": t("table", lang), "rows": t("rows", lang)}),
             hide_index=True, key="table_counts")
