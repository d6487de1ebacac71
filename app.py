"""Streamlit entry point: language switch, login and the pages the user's role allows.
Pages live in app_pages/."""

import streamlit as st

from app_pages import _common as c
from grid.i18n import LANGUAGES, t

st.set_page_config(page_title="grid", layout="wide")
lang = st.sidebar.radio(t("language"), list(LANGUAGES), format_func=LANGUAGES.get, key="lang", horizontal=True)
if c.synthetic():
    st.sidebar.warning(t("synthetic_banner", lang), icon="🧪")
who = c.viewer()
if who is not None:
    st.sidebar.caption(t("logged_in_as", lang, name=who.display_name or who.username, role=c.role_label(who.role)))
    st.sidebar.button(t("logout", lang), key="logout", on_click=c.log_out)
allowed = c.allowed_pages(who)
if not allowed:
    pages = [st.Page("app_pages/login.py", title=t("login", lang), url_path="login", default=True)]
else:
    if "whatif" in allowed:
        c.warm_engine()  # the what-if engine, built in the background once per database file
    titles = {"home": "home", "complaints": "complaints_page"}
    own_grids_only = who is not None and who.grid_ids is not None  # a grid manager starts on My grid
    first = "my_grid" if own_grids_only and "my_grid" in allowed else "home" if "home" in allowed else allowed[0]
    pages = [st.Page(c.PAGE_FILES[key], title=t(titles.get(key, key), lang), url_path=key, default=key == first)
             for key in allowed]
st.navigation(pages).run()
