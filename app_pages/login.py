"""登录 Log in: username and password (argon2id), and one-click demo logins on synthetic data."""

import streamlit as st

from app_pages import _common as c
from grid.demo.load import DEMO_PASSWORD
from grid.i18n import t

lang = c.lang()
st.title(t("login", lang))
st.write(t("login_intro", lang))
with st.form("login_form"):
    username = st.text_input(t("username", lang), key="login_username")
    password = st.text_input(t("password", lang), type="password", key="login_password")
    submitted = st.form_submit_button(t("login_button", lang))
if submitted:
    if c.log_in(username.strip(), password):
        st.rerun()
    st.error(t("login_failed", lang))

demo = c.demo_logins(c.db_version()) if c.synthetic() else None
if demo is not None and len(demo):
    st.subheader(t("demo_logins", lang))
    columns = st.columns(len(demo))
    for column, row in zip(columns, demo.itertuples()):
        column.button(t("demo_login_as", lang, role=c.role_label(row.role)), key=f"demo_login_{row.role}",
                      on_click=c.log_in_demo, args=(row.username,), width="stretch")
    st.caption(t("demo_password_hint", lang, password=DEMO_PASSWORD))
