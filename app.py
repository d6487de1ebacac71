"""Streamlit entry point: language switch and page router. Pages live in app_pages/."""

import streamlit as st

from app_pages import _common as c
from grid.i18n import LANGUAGES, t

st.set_page_config(page_title="grid", layout="wide")
lang = st.sidebar.radio(t("language"), list(LANGUAGES), format_func=LANGUAGES.get, key="lang", horizontal=True)
if c.synthetic():
    st.sidebar.warning(t("synthetic_banner", lang), icon="🧪")
c.warm_engine()  # the what-if engine, built in the background once per database file
pages = [
    st.Page("app_pages/home.py", title=t("home", lang), url_path="home", default=True),
    st.Page("app_pages/coverage.py", title=t("coverage", lang), url_path="coverage"),
    st.Page("app_pages/community.py", title=t("community", lang), url_path="community"),
    st.Page("app_pages/whatif.py", title=t("whatif", lang), url_path="whatif"),
    st.Page("app_pages/data.py", title=t("data", lang), url_path="data"),
]
st.navigation(pages).run()
