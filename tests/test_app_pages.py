"""The coverage, community, what-if and data pages, run with AppTest from app.py on the demo
city: every widget path, the numbers shown equal the library's for the same inputs, English
labels, empty states, and downloads that read back."""

from __future__ import annotations

import io
import json
import re
import shutil

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
import shapely
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from grid import maps, queries
from grid.coverage import (ALL_REQUIRED, LEVEL_CIRCLES, community_compliance, community_standard_checks,
                           compliance_overview, coverage_summary, gap_cells, what_if_summary)
from grid.i18n import t
from grid.ingest import ingest_file, ingest_network
from grid.settings import Settings, get_settings
from grid.standards import read_circles
from grid.store import open_reader, write_session

from conftest import PROJECT_ROOT

APP = str(PROJECT_ROOT / "app.py")
MAX_MAP_BYTES = 5_000_000

# AppTest does not expose st.dataframe keys, so tables are found by their order on the page.
COVERAGE_TABLES = {"communities": 0}
COMMUNITY_TABLES = {"requirements": 0, "checks": 1}
WHATIF_TABLES = {"summary": 0, "added": 1}


def _pct(value: float) -> str:
    return f"{value:.1f}%"


def _people(value: float) -> str:
    return f"{value:,.0f}"


def _download(at: AppTest, key: str, managers: list[MediaFileManager]) -> bytes:
    """The bytes the download button ``key`` of the last run produces when clicked."""
    proto = at.get("download_button")
    button = next(b for b in proto if b.key == key)
    url = managers[-1].execute_deferred(button.proto.deferred_file_id)
    return managers[-1].read_file(url.rsplit("/", 1)[1]).content


def _page(page: str, *, lang: str = "zh", user: str = "demo_admin") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["username"] = user  # the demo database has users: everyone logs in
    at.run()
    if lang == "en":
        at.sidebar.radio(key="lang").set_value("en").run()
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def _metrics(at: AppTest) -> list[str]:
    return [m.value for m in at.metric]


def _map_script(at: AppTest, index: int = 0) -> str:
    """The Leaflet script streamlit-folium sends to the browser for the page's ``index``-th map."""
    components = at.get("component_instance")
    return json.loads(components[index].proto.json_args)["script"]


def _fit_bounds(script: str) -> list[float]:
    match = re.search(r"fitBounds\(\s*\[\[([-\d.]+), ([-\d.]+)\], \[([-\d.]+), ([-\d.]+)\]\]", script)
    assert match, "the map fits no bounds"
    return [float(v) for v in match.groups()]


def _walk_circles(settings: Settings) -> list[str]:
    circles = read_circles(settings)
    return circles.loc[circles["mode"] == "walk", "circle_id"].tolist()


# ----------------------------------------------------------------------------- coverage page

def _expected_coverage(settings: Settings, circle_id: str, category: str, profile: str) -> dict:
    con = open_reader(settings.db_path)
    city = coverage_summary(con, settings, circle_id=circle_id, profile=profile).set_index("category").loc[category]
    by_community = coverage_summary(con, settings, circle_id=circle_id, by="community", profile=profile)
    by_community = by_community[by_community["category"] == category]
    circles = (circle_id,) if circle_id in LEVEL_CIRCLES else LEVEL_CIRCLES
    fully = compliance_overview(community_compliance(con, settings, circles=circles))["fully_compliant"].sum()
    return {"metrics": [_pct(city["coverage_pct"]), _people(city["people_in_gaps"]),
                        f"{fully} / {len(by_community)}"],
            "communities": by_community, "gaps": gap_cells(con, settings, circle_id=circle_id, category=category,
                                                           profile=profile)}


def _assert_coverage_shown(at: AppTest, settings: Settings, circle_id: str, category: str, profile: str) -> None:
    expected = _expected_coverage(settings, circle_id, category, profile)
    assert _metrics(at) == expected["metrics"]
    table = at.dataframe[COVERAGE_TABLES["communities"]].value
    shown = dict(zip(table[t("col_name")], zip(table[t("col_coverage_pct")], table[t("col_people_in_gaps")])))
    library = expected["communities"]
    assert len(shown) == len(library)
    for name, pct, gaps in zip(library["unit_name"], library["coverage_pct"], library["people_in_gaps"]):
        assert shown[name][0] == pytest.approx(pct, abs=1e-9, nan_ok=True)
        assert shown[name][1] == pytest.approx(gaps, abs=1e-9)


def test_coverage_default_view_equals_the_library(demo: Settings) -> None:
    at = _page("coverage")
    circle_id, category, profile = (at.selectbox(key=k).value for k in
                                    ("coverage_circle", "coverage_category", "coverage_profile"))
    assert (circle_id, category, profile) == (_walk_circles(demo)[0], ALL_REQUIRED, "adult")
    assert at.selectbox(key="coverage_basemap").value == "none"
    _assert_coverage_shown(at, demo, circle_id, category, profile)
    assert any(t("synthetic_tiles") in c.value for c in at.caption), "the page says why tiles are off"
    script = _map_script(at)
    assert len(script.encode("utf-8")) <= MAX_MAP_BYTES
    assert not maps.external_urls(script)


@pytest.mark.parametrize("circle_id", ["gb-15min", "gb-10min", "gb-5min", "gb-block", "wuhan-15min",
                                       "wuhan-12min-culture-sport", "wuhan-10min-public-activity",
                                       "yueyang-15min-health", "example-10min-fitness"])
def test_every_walking_circle_equals_the_library(demo: Settings, circle_id: str) -> None:
    assert circle_id in _walk_circles(demo)
    at = _page("coverage")
    at.selectbox(key="coverage_circle").set_value(circle_id).run()
    assert not at.exception
    categories = read_circles(demo).set_index("circle_id").at[circle_id, "categories"].split(";")
    assert len(at.selectbox(key="coverage_category").options) == 1 + len(categories)
    for category in (ALL_REQUIRED, categories[0]):
        at.selectbox(key="coverage_category").set_value(category).run()
        assert not at.exception
        _assert_coverage_shown(at, demo, circle_id, category, "adult")


@pytest.mark.parametrize("category", ["kindergarten", "elderly_daycare", "community_health_station", "nursery",
                                      "supermarket", "public_toilet"])
def test_five_minute_categories_equal_the_library(demo: Settings, category: str) -> None:
    at = _page("coverage")
    at.selectbox(key="coverage_circle").set_value("gb-5min").run()
    at.selectbox(key="coverage_category").set_value(category).run()
    assert not at.exception
    _assert_coverage_shown(at, demo, "gb-5min", category, "adult")


@pytest.mark.parametrize("circle_id", ["wuhan-12min-culture-sport", "gb-5min"])
def test_elderly_profile_changes_minute_circles_only(demo: Settings, circle_id: str) -> None:
    at = _page("coverage")
    at.selectbox(key="coverage_circle").set_value(circle_id).run()
    adult = _metrics(at)
    at.selectbox(key="coverage_profile").set_value("elderly").run()
    assert not at.exception
    _assert_coverage_shown(at, demo, circle_id, ALL_REQUIRED, "elderly")
    if circle_id.startswith("gb-"):  # metre radii do not depend on the walking speed
        assert _metrics(at) == adult
    else:  # 12 minutes at 50 m/min reach less far than at 66.7 m/min
        assert float(_metrics(at)[0].rstrip("%")) < float(adult[0].rstrip("%"))


def test_drive_circles_are_listed_and_explained(demo: Settings) -> None:
    at = _page("coverage")
    assert sum(o.endswith(t("drive_suffix")) for o in at.selectbox(key="coverage_circle").options) == 2
    at.selectbox(key="coverage_circle").set_value("wuhan-emergency-central").run()
    assert not at.exception
    assert "驾车" in at.info[0].value and not at.metric


@pytest.mark.parametrize("basemap", ["osm", "amap", "tianditu"])
def test_base_maps(demo: Settings, basemap: str) -> None:
    at = _page("coverage")
    before = _metrics(at)
    at.selectbox(key="coverage_basemap").set_value(basemap).run()
    assert not at.exception
    assert _metrics(at) == before
    script = _map_script(at)
    if basemap == "tianditu":  # no key yet: the page says how to get one and draws no tiles
        assert any("console.tianditu.gov.cn" in w.value for w in at.warning) and "tianditu.gov.cn/vec" not in script
        at.text_input(key="coverage_tianditu_key").set_value("0123456789abcdef0123456789abcdef").run()
        assert not at.exception
        assert "tk=0123456789abcdef0123456789abcdef" in _map_script(at)
    else:
        assert ("tile.openstreetmap.org" if basemap == "osm" else "autonavi.com") in script
        assert any(t("synthetic_tiles") in w.value for w in at.warning), "the demo is synthetic: tiles do not match"


def test_choosing_a_community_zooms_the_map(demo: Settings) -> None:
    at = _page("coverage")
    city = _fit_bounds(_map_script(at))
    boundaries = queries.community_boundaries(open_reader(demo.db_path))
    community_id = boundaries.index[3]
    at.selectbox(key="coverage_community").set_value(community_id).run()
    assert not at.exception
    west, south, east, north = boundaries.loc[[community_id]].total_bounds
    assert _fit_bounds(_map_script(at)) == pytest.approx([south, west, north, east], abs=1e-6)
    assert _fit_bounds(_map_script(at)) != city


def test_choosing_a_table_row_zooms_the_map(demo: Settings) -> None:
    at = _page("coverage")
    table = at.dataframe[COVERAGE_TABLES["communities"]].value
    assert table[t("col_coverage_pct")].tolist() == sorted(table[t("col_coverage_pct")]), "least covered first"
    at.session_state["coverage_table"] = {"selection": {"rows": [2], "columns": []}}  # what a click on row 3 sends
    at.run()
    assert not at.exception
    communities = queries.list_communities(open_reader(demo.db_path)).set_index("name")
    community_id = communities.at[table[t("col_name")].iloc[2], "community_id"]
    assert at.selectbox(key="coverage_community").value == community_id
    west, south, east, north = queries.community_boundaries(open_reader(demo.db_path)).loc[[community_id]].total_bounds
    assert _fit_bounds(_map_script(at)) == pytest.approx([south, west, north, east], abs=1e-6)


def test_coverage_in_english(demo: Settings) -> None:
    zh = _page("coverage")
    at = _page("coverage", lang="en")
    assert at.title[0].value == "Life-circle coverage"
    assert [m.label for m in at.metric] == ["Residents covered", "People in gaps", "Communities fully compliant"]
    assert _metrics(at) == _metrics(zh)
    assert at.selectbox(key="coverage_category").options[0] == "all required facilities"
    assert t("col_coverage_pct", "en") in at.dataframe[COVERAGE_TABLES["communities"]].value.columns


def test_exports_read_back(demo: Settings, media: list[MediaFileManager]) -> None:
    at = _page("coverage")
    at.selectbox(key="coverage_circle").set_value("gb-5min").run()
    at.selectbox(key="coverage_category").set_value("kindergarten").run()
    view = queries.coverage_view(open_reader(demo.db_path), demo, circle_id="gb-5min", category="kindergarten")
    gaps = gap_cells(open_reader(demo.db_path), demo, circle_id="gb-5min", category="kindergarten")
    cells_csv = pd.read_csv(io.BytesIO(_download(at, "export_cells_csv", media)), encoding="utf-8-sig")
    assert len(cells_csv) == len(view.cells) and cells_csv["population"].sum() == view.cells["population"].sum()
    assert cells_csv["in_gap"].sum() == len(gaps)
    assert [h3.str_to_int(c) for c in cells_csv["h3"]] == view.cells["h3"].tolist()
    gaps_csv = pd.read_csv(io.BytesIO(_download(at, "export_gaps_csv", media)), encoding="utf-8-sig")
    assert len(gaps_csv) == len(gaps) and gaps_csv["population"].sum() == gaps["population"].sum()
    for key, expected in (("export_cells_geojson", view.cells), ("export_gaps_geojson", gaps)):
        frame = gpd.read_file(io.BytesIO(_download(at, key, media)))
        assert len(frame) == len(expected) and frame.crs.to_epsg() == 4326
        assert frame["population"].sum() == expected["population"].sum()
        centres = np.array([h3.cell_to_latlng(c)[::-1] for c in frame["h3"]])
        assert np.allclose(shapely.get_coordinates(shapely.centroid(frame.geometry.to_numpy())), centres, atol=1e-5)
    for key, expected in (("export_cells_parquet", view.cells), ("export_gaps_parquet", gaps)):
        frame = gpd.read_parquet(io.BytesIO(_download(at, key, media)))
        assert len(frame) == len(expected) and frame["population"].sum() == expected["population"].sum()
        assert frame.geometry.geom_type.eq("Polygon").all()
    html = _download(at, "export_map_html", media).decode("utf-8")
    assert "L.map(" in html and "<script>" in html and not maps.external_urls(html)


# ----------------------------------------------------------------------------- community page

def _assert_report_shown(at: AppTest, settings: Settings, community_id: str, lang: str = "zh") -> None:
    con = open_reader(settings.db_path)
    rows = community_compliance(con, settings, community_id=community_id)
    must = rows[rows["requirement"] == "must"]
    assert _metrics(at)[2:] == [str(int((must["status"] == s).sum())) for s in ("pass", "partial", "fail")]
    table = at.dataframe[COMMUNITY_TABLES["requirements"]].value
    assert len(table) == len(rows)
    names = queries.category_names(settings)["name_en" if lang == "en" else "name_zh"]
    shown = {(c, s): (status, share) for c, s, status, share in zip(
        table[t("col_category", lang)], table[t("col_requirement", lang)], table[t("col_status", lang)],
        table[t("col_share_covered", lang)])}
    for r in rows.itertuples():
        key = (names[r.category], t(f"req_{r.requirement}", lang))
        matches = [v for k, v in shown.items() if k == key]
        assert matches, key
    by_level = table.groupby(t("col_status", lang)).size().to_dict()
    assert by_level == {t(f"status_{s}", lang): n for s, n in rows["status"].value_counts().items()}
    assert sorted(table[t("col_share_covered", lang)].round(9).fillna(-1)) == sorted(
        (rows["share_covered"] * 100).round(9).fillna(-1))
    checks = at.dataframe[COMMUNITY_TABLES["checks"]].value
    expected = community_standard_checks(con, settings, community_id=community_id)
    assert checks[t("col_value", lang)].fillna(-1).tolist() == expected["value"].fillna(-1).tolist()
    assert checks[t("col_status", lang)].tolist() == [t(f"status_{s}", lang) for s in expected["status"]]


def test_community_report_equals_the_library(demo: Settings) -> None:
    at = _page("community")
    community_id = at.selectbox(key="report_community").value
    assert community_id == queries.list_communities(open_reader(demo.db_path))["community_id"].iloc[0]
    assert _metrics(at)[0] == _people(queries.list_communities(open_reader(demo.db_path))["population"].iloc[0])
    _assert_report_shown(at, demo, community_id)


@pytest.mark.parametrize("position", [5, 17, -1])
def test_every_community_choice(demo: Settings, position: int) -> None:
    at = _page("community")
    community_id = queries.list_communities(open_reader(demo.db_path))["community_id"].iloc[position]
    at.selectbox(key="report_community").set_value(community_id).run()
    assert not at.exception
    _assert_report_shown(at, demo, community_id)


def test_community_map_follows_the_item(demo: Settings) -> None:
    at = _page("community")
    report = queries.community_report(open_reader(demo.db_path), demo,
                                      community_id=at.selectbox(key="report_community").value)
    assert at.selectbox(key="report_item").value == report.first_unmet()
    west, south, east, north = report.bounds()
    assert _fit_bounds(_map_script(at)) == pytest.approx([south, west, north, east], abs=1e-6)
    at.selectbox(key="report_item").set_value(0).run()
    assert not at.exception
    category = report.requirements["category"].iloc[0]
    assert f"{report.community['name']} · {report.names.at[category, 'name_zh']}" in _map_script(at)


def test_printable_report(demo: Settings, media: list[MediaFileManager]) -> None:
    at = _page("community")
    community_id = at.selectbox(key="report_community").value
    report = queries.community_report(open_reader(demo.db_path), demo, community_id=community_id)
    html = _download(at, "report_download", media).decode("utf-8")
    counts = report.status_counts()
    assert html.startswith("<!DOCTYPE html>") and '<html lang="zh-CN">' in html
    assert t("report_title", name=report.community["name"]) in html
    assert t("report_summary", passed=counts["pass"], partial=counts["partial"], failed=counts["fail"]) in html
    assert html.count("<tr class=") == len(report.requirements) + len(report.checks)
    assert "<script" not in html and not maps.external_urls(html)
    assert "@media print" in html and "Noto Sans CJK SC" in html and "<svg" in html
    assert t("report_print_hint") in [c.value for c in at.main.caption][-1]


def test_community_in_english(demo: Settings) -> None:
    at = _page("community", lang="en")
    assert at.title[0].value == "Community report"
    assert [m.label for m in at.metric][2:] == ["Must items passing", "Must items partial", "Must items failing"]
    _assert_report_shown(at, demo, at.selectbox(key="report_community").value, lang="en")


# ----------------------------------------------------------------------------- what-if page

def _gap_point(settings: Settings, circle_id: str, category: str) -> tuple[float, float]:
    """Centre of the most populated gap cell: a place where a new facility helps."""
    gaps = gap_cells(open_reader(settings.db_path), settings, circle_id=circle_id, category=category)
    lat, lon = h3.cell_to_latlng(h3.int_to_str(int(gaps.sort_values("population").iloc[-1]["h3"])))
    return round(lon, 5), round(lat, 5)


def _assert_whatif_shown(at: AppTest, settings: Settings, circle_id: str, category: str, *,
                         add: list = (), remove: list = ()) -> None:
    result = what_if_summary(open_reader(settings.db_path), settings, circle_id=circle_id, category=category,
                             add=add, remove=remove)
    before, after = result.summary.loc["before"], result.summary.loc["after"]
    assert _metrics(at) == [_pct(after["coverage_pct"]), _people(after["people_in_gaps"]),
                            f"{int(result.cells['changed'].sum()):,}"]
    if add or remove:
        assert at.metric[0].delta == f"{after['coverage_pct'] - before['coverage_pct']:+.1f} pp"
        assert at.metric[1].delta == f"{after['people_in_gaps'] - before['people_in_gaps']:+,.0f}"
    table = at.dataframe[WHATIF_TABLES["summary"]].value
    assert table[t("col_coverage_pct")].tolist() == [before["coverage_pct"], after["coverage_pct"]]
    assert table[t("col_people_in_gaps")].tolist() == [before["people_in_gaps"], after["people_in_gaps"]]


def _whatif(circle_id: str = "gb-5min", category: str = "kindergarten") -> AppTest:
    at = _page("whatif")
    at.selectbox(key="whatif_circle").set_value(circle_id).run()
    at.selectbox(key="whatif_category").set_value(category).run()
    assert not at.exception
    return at


def test_whatif_without_change_equals_coverage(demo: Settings) -> None:
    at = _whatif()
    _assert_whatif_shown(at, demo, "gb-5min", "kindergarten")
    city = coverage_summary(open_reader(demo.db_path), demo, circle_id="gb-5min").set_index("category")
    assert _metrics(at)[:2] == [_pct(city.at["kindergarten", "coverage_pct"]),
                                _people(city.at["kindergarten", "people_in_gaps"])]


def test_whatif_add_by_coordinates(demo: Settings) -> None:
    at = _whatif()
    before = _metrics(at)
    lon, lat = _gap_point(demo, "gb-5min", "kindergarten")
    at.number_input(key="whatif_lon").set_value(lon)
    at.number_input(key="whatif_lat").set_value(lat)
    at.button(key="whatif_add").click().run()
    assert not at.exception
    _assert_whatif_shown(at, demo, "gb-5min", "kindergarten", add=[(lon, lat)])
    assert _metrics(at) != before
    added = at.dataframe[WHATIF_TABLES["added"]].value
    assert added[t("col_facility_id")].tolist() == ["new-1"]
    assert "new-1" in _map_script(at)
    at.radio(key="whatif_show").set_value("changed").run()
    assert not at.exception
    at.button(key="whatif_clear").click().run()
    assert _metrics(at)[:2] == before[:2]


def test_whatif_remove_and_off_network(demo: Settings) -> None:
    at = _whatif()
    removed = queries.list_facilities(open_reader(demo.db_path), categories=["kindergarten"])["facility_id"].iloc[0]
    at.multiselect(key="whatif_remove").set_value([removed]).run()
    assert not at.exception
    _assert_whatif_shown(at, demo, "gb-5min", "kindergarten", remove=[removed])
    at.number_input(key="whatif_lon").set_value(113.5)
    at.number_input(key="whatif_lat").set_value(30.0)
    at.button(key="whatif_add").click().run()
    assert not at.exception
    assert any("113.50000, 30.00000" in w.value for w in at.warning)
    _assert_whatif_shown(at, demo, "gb-5min", "kindergarten", add=[(113.5, 30.0)], remove=[removed])


def test_whatif_local_circle_and_english(demo: Settings) -> None:
    at = _page("whatif", lang="en")
    assert at.title[0].value == "What-if"
    at.selectbox(key="whatif_circle").set_value("wuhan-12min-culture-sport").run()
    at.selectbox(key="whatif_category").set_value("cultural_station").run()
    at.selectbox(key="whatif_profile").set_value("elderly").run()
    assert not at.exception
    assert [m.label for m in at.metric][:2] == ["Residents covered", "People in gaps"]
    result = what_if_summary(open_reader(demo.db_path), demo, circle_id="wuhan-12min-culture-sport",
                             category="cultural_station", profile="elderly")
    assert _metrics(at)[0] == _pct(result.summary.at["after", "coverage_pct"])
    assert result.threshold_m == pytest.approx(600.0)  # 12 min x 50 m/min


# ----------------------------------------------------------------------------- data page

def test_data_page_on_the_demo(demo: Settings) -> None:
    at = _page("data")
    con = open_reader(demo.db_path)
    loads = at.dataframe[0].value
    assert loads[t("col_load_id")].tolist() == queries.list_loads(con)["load_id"].tolist()
    sources = at.dataframe[-2].value
    assert set(sources[t("col_label")]) == {t("synthetic_label")}
    access = at.dataframe[-1].value
    expected = queries.access_summary(con)
    assert access[t("col_value")].tolist() == expected["value"].tolist()
    assert access[t("col_item")].tolist() == [t(f"item_{i}") for i in expected["item"]]


# ----------------------------------------------------------------------------- empty states

PAGES = ["coverage", "community", "whatif"]


@pytest.mark.parametrize("page", PAGES + ["data"])
def test_no_database_says_what_to_run(settings: Settings, page: str) -> None:
    at = _page(page)
    assert "make run" in at.info[0].value and str(settings.db_path) in at.info[0].value


@pytest.fixture
def partial_city(settings: Settings, demo_db: tuple[Settings, object]) -> Settings:
    """The demo's communities and facilities, no street network."""
    files = demo_db[1]
    ingest_file("boundaries", files.communities, settings=settings, source="synthetic-demo")
    ingest_file("facilities", files.facilities, settings=settings, source="synthetic-demo")
    return settings


@pytest.mark.parametrize("page", PAGES)
def test_no_network_says_what_to_run(partial_city: Settings, page: str) -> None:
    at = _page(page)
    assert at.info[0].value == t("missing_network") and "grid ingest network" in at.info[0].value


def test_no_network_on_the_data_page(partial_city: Settings) -> None:
    at = _page("data")
    assert at.info[-1].value == t("missing_network")


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_no_access_says_what_to_run(partial_city: Settings, demo_db: tuple[Settings, object], page: str) -> None:
    ingest_network(demo_db[1].streets, settings=partial_city, source="synthetic-demo")
    at = _page(page)
    assert at.info[0].value == t("missing_access") and "grid access compute" in at.info[0].value


@pytest.fixture
def without_kindergartens(demo_db: tuple[Settings, object], tmp_path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A copy of the demo city whose kindergartens were never loaded, and whose nurseries have no access yet."""
    source = demo_db[0]
    path = tmp_path / "grid.duckdb"
    shutil.copy(source.db_path, path)
    monkeypatch.setenv("GRID_DB", str(path))
    monkeypatch.setenv("GRID_HASH_KEY_FILE", str(source.hash_key_path))
    with write_session(path) as con:
        con.execute("DELETE FROM facility_snaps WHERE facility_id IN "
                    "(SELECT facility_id FROM facilities WHERE category = ?)", ["kindergarten"])
        con.execute("DELETE FROM facilities WHERE category = ?", ["kindergarten"])
        con.execute("DELETE FROM cell_access WHERE category IN (?, ?)", ["kindergarten", "nursery"])
    return get_settings()


def test_category_without_facilities(without_kindergartens: Settings) -> None:
    at = _page("coverage")
    at.selectbox(key="coverage_circle").set_value("gb-5min").run()
    assert not at.exception
    assert t("stale_access", categories="nursery") in [w.value for w in at.warning]
    at.selectbox(key="coverage_category").set_value("kindergarten").run()
    assert not at.exception
    warning = t("no_facilities", categories=queries.category_names(without_kindergartens).at["kindergarten", "name_zh"])
    assert warning in [w.value for w in at.warning] and "grid access compute" in warning
    _assert_coverage_shown(at, without_kindergartens, "gb-5min", "kindergarten", "adult")
    assert _metrics(at)[0] == "0.0%"


def test_whatif_first_facility_of_a_category(without_kindergartens: Settings) -> None:
    at = _whatif()
    name = queries.category_names(without_kindergartens).at["kindergarten", "name_zh"]
    assert at.info[0].value == t("whatif_no_facilities", category=name)
    assert _metrics(at)[:2] == ["0.0%", _people(what_if_summary(
        open_reader(without_kindergartens.db_path), without_kindergartens, circle_id="gb-5min",
        category="kindergarten").summary.at["before", "population"])]
    lon, lat = _gap_point(without_kindergartens, "gb-5min", "kindergarten")
    at.number_input(key="whatif_lon").set_value(lon)
    at.number_input(key="whatif_lat").set_value(lat)
    at.button(key="whatif_add").click().run()
    assert not at.exception
    _assert_whatif_shown(at, without_kindergartens, "gb-5min", "kindergarten", add=[(lon, lat)])
    assert _metrics(at)[0] != "0.0%"
