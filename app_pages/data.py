import streamlit as st

from app_pages._common import connection, lang
from grid import queries
from grid.i18n import t
from grid.settings import get_settings

st.title(t("data", lang()))
con = connection()
if con is None:
    st.info(t("no_database", lang(), path=get_settings().db_path))
    st.stop()
st.subheader(t("loads", lang()))
loads = queries.list_loads(con)
if loads.empty:
    st.info(t("no_loads", lang()))
    st.stop()
st.dataframe(loads, hide_index=True, key="loads_table")
st.subheader(t("quarantine", lang()))
load_id = st.selectbox(t("choose_load", lang()), loads["load_id"].tolist(), key="quarantine_load",
                       format_func=lambda i: f"{i}: {loads.set_index('load_id').at[i, 'file_name']}")
rejected = queries.list_quarantine(con, load_id=int(load_id), limit=200)
if rejected.empty:
    st.success(t("no_rejects", lang()))
else:
    st.caption(t("reason_counts", lang()))
    st.dataframe(queries.quarantine_reason_counts(con, int(load_id)), hide_index=True, key="reason_counts")
    st.dataframe(rejected[["row_number", "reason", "raw_json"]], hide_index=True, key="quarantine_rows")
notes = queries.list_load_notes(con, int(load_id))
if not notes.empty:
    st.caption(t("load_notes", lang()))
    st.dataframe(notes, hide_index=True, key="load_notes")
st.subheader(t("sources", lang()))
sources = queries.list_sources(con)
sources["label"] = sources["synthetic"].map({True: t("synthetic_label", lang()), False: t("real_label", lang())})
st.dataframe(sources.drop(columns="synthetic"), hide_index=True, key="sources_table")
