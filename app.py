"""Streamlit entry point: language switch and page router. Pages live in app_pages/."""

import streamlit as st

from app_pages._common import connection
from grid import queries
from grid.i18n import LANGUAGES, t

st.set_page_config(page_title="grid", layout="wide")
lang = st.sidebar.radio(t("language"), list(LANGUAGES), format_func=LANGUAGES.get, key="lang", horizontal=True)
con = connection()
if con is not None and queries.has_synthetic_data(con):
    st.sidebar.warning(t("synthetic_banner", lang), icon="🧪")
pages = [
    st.Page("app_pages/home.py", title=t("home", lang), url_path="home", default=True),
    st.Page("app_pages/data.py", title=t("data", lang), url_path="data"),
]
st.navigation(pages).run()
