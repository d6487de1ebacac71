import streamlit as st

from app_pages._common import connection, lang
from grid import queries
from grid.i18n import t
from grid.settings import get_settings

st.title(t("app_title", lang()))
con = connection()
if con is None:
    st.info(t("no_database", lang(), path=get_settings().db_path))
    st.stop()
summary = queries.database_summary(con)
counts = queries.table_counts(con)
loaded = counts.set_index("table")["rows"]
if loaded[["communities", "facilities", "complaints", "grids"]].sum() == 0:
    st.info(t("empty_database", lang()))
cols = st.columns(2)
cols[0].metric(t("schema_version", lang()), summary.get("schema_version", "?"))
cols[1].metric(t("h3_res", lang()), summary.get("h3_res", "?"))
st.subheader(t("tables", lang()))
st.dataframe(counts.rename(columns={"table": t("table", lang()), "rows": t("rows", lang())}),
             hide_index=True, key="table_counts")
