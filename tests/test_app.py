"""The Streamlit app, run with AppTest from app.py: empty states, numbers equal the library's."""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from grid import queries
from grid.i18n import t
from grid.ingest import ingest_file
from grid.store import open_reader, write_session

from conftest import PROJECT_ROOT

APP = str(PROJECT_ROOT / "app.py")


# AppTest does not expose st.dataframe keys, so tables are found by their order on the page.
HOME_TABLES = {"table_counts": 0}
DATA_TABLES = {"loads": 0, "reason_counts": 1, "quarantine": 2, "notes": 3, "sources": 4}


def _app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=60)


@pytest.fixture
def loaded(settings, tmp_path):
    path = tmp_path / "设施.csv"
    pd.DataFrame({"名称": ["紫阳幼儿园", "首义小学", "坏行"], "类别": ["幼儿园", "小学堂", "幼儿园"],
                  "经度": ["114.30", "114.31", "0"], "纬度": ["30.54", "30.55", "0"]}).to_csv(path, index=False)
    ingest_file("facilities", path, settings=settings)
    return settings


def test_no_database_says_what_to_run(settings) -> None:
    at = _app().run()
    assert not at.exception
    assert "make run" in at.info[0].value and str(settings.db_path) in at.info[0].value


def test_empty_database_says_how_to_load(settings) -> None:
    with write_session(settings.db_path):
        pass
    at = _app().run()
    assert not at.exception
    assert "grid ingest" in at.info[0].value


def test_overview_counts_equal_the_library(loaded) -> None:
    at = _app().run()
    assert not at.exception
    shown = at.dataframe[HOME_TABLES["table_counts"]].value
    expected = queries.table_counts(open_reader(loaded.db_path))
    assert shown.iloc[:, 1].tolist() == expected["rows"].tolist()
    assert dict(zip(shown.iloc[:, 0], shown.iloc[:, 1]))["facilities"] == 2


def test_data_page_shows_loads_and_quarantine(loaded) -> None:
    at = _app().run()
    at.switch_page("app_pages/data.py").run()
    assert not at.exception
    loads = at.dataframe[DATA_TABLES["loads"]].value
    assert loads[[t("col_rows_in"), t("col_rows_ok"), t("col_rows_rejected")]].iloc[0].tolist() == [3, 2, 1]
    rejected = at.dataframe[DATA_TABLES["quarantine"]].value
    assert rejected[t("col_row_number")].tolist() == [3]
    assert "placeholder coordinate (lat 0, lon 0)" in rejected[t("col_reason")].iloc[0]
    counts = at.dataframe[DATA_TABLES["reason_counts"]].value
    assert counts.values.tolist() == [["placeholder_coordinate", 1]]
    notes = at.dataframe[DATA_TABLES["notes"]].value
    assert notes[t("col_note")].tolist() == queries.list_load_notes(open_reader(loaded.db_path), 1)["note"].tolist()
    assert "category: 1 rows kept as 'unmapped'; values: '小学堂' (1)" in notes[t("col_note")].iloc[0]
    sources = at.dataframe[DATA_TABLES["sources"]].value
    assert sources[[t("col_table_name"), t("col_source"), t("col_rows"), t("col_label")]].values.tolist() == [
        ["facilities", "facilities", 2, "真实数据"]]
    assert at.info[-1].value == t("missing_network")


def test_english_toggle_changes_labels(loaded) -> None:
    at = _app().run()
    at.sidebar.radio(key="lang").set_value("en").run()
    assert not at.exception
    assert at.title[0].value == "Grid governance and life-circle analytics"
    at.switch_page("app_pages/data.py").run()
    assert [s.value for s in at.subheader][:2] == ["Loads", "Quarantine (rejected rows)"]
    assert t("col_rows_in", "en") in at.dataframe[DATA_TABLES["loads"]].value.columns
