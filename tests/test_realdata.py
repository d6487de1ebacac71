"""Real data from ../shared/realdata loads through the real pipeline (skipped where absent)."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pyproj
import pytest

from grid.ingest import ingest_file
from grid.settings import get_settings
from grid.store import open_reader

from conftest import realdata

pytestmark = pytest.mark.realdata

AMAP_FILES = {  # file -> (category expected for most rows, minimum share)
    "shanghai_kindergarten.csv": ("kindergarten", 0.95),
    "shanghai_primary_school.csv": ("primary_school", 0.95),
    "shanghai_middle_school.csv": ("middle_school", 0.95),
    "shanghai_metro_station.csv": ("metro_station", 0.95),
}


@pytest.mark.parametrize("file_name", sorted(AMAP_FILES))
def test_amap_poi_categories_from_the_type_column(settings, file_name) -> None:
    path = realdata("shanghai-amap-poi", file_name)
    report = ingest_file("facilities", path, settings=settings, mapping="amap-poi", crs=4326)
    assert report.rows_ok + report.rows_rejected == report.rows_in == len(pd.read_csv(path))
    category, share = AMAP_FILES[file_name]
    con = open_reader(settings.db_path)
    shares = dict(con.execute("SELECT category, count(*) / sum(count(*)) OVER () FROM facilities "
                              "GROUP BY category").fetchall())
    assert shares[category] >= share
    assert con.execute("SELECT count(*) FROM facilities WHERE h3 = 0 OR lon NOT BETWEEN 120.8 AND 122.0"
                       ).fetchone()[0] == 0


def test_amap_hospitals_keep_unmapped_types_and_account_for_every_row(settings) -> None:
    path = realdata("shanghai-amap-poi", "shanghai_hospital.csv")
    report = ingest_file("facilities", path, settings=settings, mapping="amap-poi", crs=4326)
    con = open_reader(settings.db_path)
    stored = con.execute("SELECT count(*) FROM facilities").fetchone()[0]
    rejected = con.execute("SELECT count(*) FROM quarantine").fetchone()[0]
    assert stored + rejected == report.rows_in == 7513
    unmapped = con.execute("SELECT count(*) FROM facilities WHERE category = 'unmapped'").fetchone()[0]
    assert report.rows_unmapped == unmapped > 0
    # what stays unmapped is veterinary and disease-control places, kept with their Amap type
    other = con.execute("SELECT count(*) FROM facilities WHERE category = 'unmapped' AND NOT "
                        "(source_category LIKE '%动物医疗%' OR source_category LIKE '%疾病预防%')").fetchone()[0]
    assert other == 0
    health = con.execute("SELECT count(*) FROM facilities WHERE category IN "
                         "('hospital', 'specialist_hospital', 'clinic', 'community_health_center')").fetchone()[0]
    assert health / stored > 0.85


def _baltimore_placeholders(path) -> pd.Series:
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    lat, lon = pd.to_numeric(raw["Latitude"], errors="coerce"), pd.to_numeric(raw["Longitude"], errors="coerce")
    return raw.loc[(lat % 1 == 0) & (lon % 1 == 0), "ServiceRequestNum"]


def test_baltimore_311_every_row_accounted_for(settings) -> None:
    path = realdata("baltimore-311-sample", "baltimore_311_sample.csv")
    report = ingest_file("complaints", path, settings=settings, mapping="baltimore-311")
    placeholders = _baltimore_placeholders(path)
    assert report.rows_in == 10_000
    assert report.rows_ok + report.rows_rejected == report.rows_in
    assert report.rows_rejected == len(placeholders) > 0
    con = open_reader(settings.db_path)
    reasons = con.execute("SELECT DISTINCT reason_codes FROM quarantine").fetchall()
    assert reasons == [("placeholder_coordinate",)]
    sample = con.execute("SELECT reason, raw_json FROM quarantine ORDER BY row_number LIMIT 1").fetchone()
    assert "placeholder coordinate (lat 39, lon -77)" in sample[0] and '"Latitude": "39"' in sample[1]
    assert con.execute("SELECT count(*) FROM complaints WHERE category = 'unmapped'").fetchone()[0] == 0


def test_baltimore_local_times_become_utc(settings) -> None:
    path = realdata("baltimore-311-sample", "baltimore_311_sample.csv")
    ingest_file("complaints", path, settings=settings, mapping="baltimore-311")
    con = open_reader(settings.db_path)
    con.execute("SET TimeZone = 'UTC'")
    # 18-00838880 was created 11/13/2018 01:06:56 PM Baltimore time (EST, UTC-5)
    received = con.execute("SELECT strftime(received_at, '%Y-%m-%d %H:%M:%S') FROM complaints "
                           "WHERE complaint_id = '18-00838880'").fetchone()[0]
    assert received == "2018-11-13 18:06:56"


@pytest.mark.parametrize("city", ["wuhan", "changsha", "yueyang"])
def test_gcj02_districts_match_the_converted_copies(tmp_path, monkeypatch, city) -> None:
    monkeypatch.setenv("GRID_DB", str(tmp_path / "districts.duckdb"))
    monkeypatch.setenv("GRID_H3_RES", "8")  # whole cities: res 8 keeps the test quick; areas are exact anyway
    settings = get_settings()
    gcj = realdata("cn-admin-districts-amap", f"{city}_districts_gcj02.geojson")
    converted = gpd.read_file(realdata("cn-admin-districts-amap", f"{city}_districts_wgs84_converted.geojson"))
    report = ingest_file("boundaries", gcj, settings=settings, crs="gcj02")
    assert report.rows_ok == len(converted) and report.rows_rejected == 0
    geod = pyproj.Geod(ellps="WGS84")
    expected = {n: abs(geod.geometry_area_perimeter(g)[0]) for n, g in zip(converted["name"], converted.geometry)}
    con = open_reader(settings.db_path)
    stored = dict(con.execute("SELECT name, area_m2 FROM communities").fetchall())
    for name, area in expected.items():
        assert stored[name] == pytest.approx(area, rel=0.005)
    cells = dict(con.execute("SELECT c.name, sum(cc.area_m2) FROM community_cells cc "
                             "JOIN communities c USING (community_id) GROUP BY c.name").fetchall())
    for name, area in expected.items():
        assert cells[name] == pytest.approx(area, rel=0.02)

