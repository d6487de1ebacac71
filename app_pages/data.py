"""数据 Data: what was loaded, what was rejected and why, where the data came from, and the
walking network and access run the life-circle pages use."""

import streamlit as st

from app_pages import _common as c
from grid import queries
from grid.i18n import t

lang = c.lang()
st.title(t("data", lang))
con = c.require_database()
st.subheader(t("loads", lang))
loads = queries.list_loads(con)
if loads.empty:
    st.info(t("no_loads", lang))
    st.stop()
st.dataframe(c.labelled(loads), hide_index=True, key="loads_table")
st.subheader(t("quarantine", lang))
load_id = st.selectbox(t("choose_load", lang), loads["load_id"].tolist(), key="quarantine_load",
                       format_func=lambda i: f"{i}: {loads.set_index('load_id').at[i, 'file_name']}")
rejected = queries.list_quarantine(con, load_id=int(load_id), limit=200)
if rejected.empty:
    st.success(t("no_rejects", lang))
else:
    st.caption(t("reason_counts", lang))
    st.dataframe(c.labelled(queries.quarantine_reason_counts(con, int(load_id))), hide_index=True, key="reason_counts")
    st.dataframe(c.labelled(rejected[["row_number", "reason", "raw_json"]]), hide_index=True, key="quarantine_rows")
notes = queries.list_load_notes(con, int(load_id))
if not notes.empty:
    st.caption(t("load_notes", lang))
    st.dataframe(c.labelled(notes), hide_index=True, key="load_notes")
st.subheader(t("sources", lang))
sources = queries.list_sources(con)
sources["label"] = sources["synthetic"].map({True: t("synthetic_label", lang), False: t("real_label", lang)})
st.dataframe(c.labelled(sources.drop(columns="synthetic")), hide_index=True, key="sources_table")
st.subheader(t("network_access", lang))
ready = c.readiness(c.db_version())
if not ready.network_edges or not ready.access_rows:
    st.info(t("missing_network" if not ready.network_edges else "missing_access", lang))
else:
    summary = queries.access_summary(con)
    summary["item"] = summary["item"].map(lambda i: t(f"item_{i}", lang))
    st.dataframe(c.labelled(summary), hide_index=True, key="access_summary")
