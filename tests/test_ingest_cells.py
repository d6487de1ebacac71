"""Boundaries and grids become H3 cells: shares, exact population sums, owners."""

from __future__ import annotations

import geopandas as gpd
import h3
import numpy as np
import pyproj
import pytest
from shapely.geometry import box
import shapely

from grid.ingest import ingest_file
from grid.store import open_reader

UTM50 = pyproj.Transformer.from_crs(32650, 4326, always_xy=True)
X0, Y0 = 230_000, 3_380_000  # metres in UTM 50N, central Wuhan


def _square_m(x: float, y: float, size: float):
    square = box(X0 + x, Y0 + y, X0 + x + size, Y0 + y + size).segmentize(50)
    return shapely.transform(square, lambda xy: np.column_stack(UTM50.transform(xy[:, 0], xy[:, 1])))


@pytest.fixture
def communities(tmp_path):
    frame = gpd.GeoDataFrame({
        "社区编码": ["420106001001", "420106001002", "420106001003"],
        "社区名称": ["紫阳社区", "彭刘杨社区", "首义社区"],
        "街道": ["紫阳街道"] * 3, "区": ["武昌区"] * 3,
        "常住人口": [8123, 6007, 10001], "户数": [3001, 2222, 4111],
        "geometry": [_square_m(0, 0, 1200), _square_m(1200, 0, 900), _square_m(0, 1200, 2100)]}, crs=4326)
    path = tmp_path / "communities.gpkg"
    frame.to_file(path, layer="communities")
    return path, frame


def test_population_spread_over_cells_sums_exactly(settings, communities) -> None:
    path, frame = communities
    report = ingest_file("boundaries", path, settings=settings)
    assert report.rows_ok == 3
    con = open_reader(settings.db_path)
    sums = dict(con.execute("SELECT community_id, sum(population) FROM community_cells GROUP BY ALL").fetchall())
    assert sums == dict(zip(frame["社区编码"], frame["常住人口"]))
    households = con.execute("SELECT sum(households) FROM cells").fetchone()[0]
    assert households == frame["户数"].sum()


def test_cell_shares_cover_the_polygon_area(settings, communities) -> None:
    path, frame = communities
    ingest_file("boundaries", path, settings=settings)
    con = open_reader(settings.db_path)
    geod = pyproj.Geod(ellps="WGS84")
    for cid, geom in zip(frame["社区编码"], frame.geometry):
        area = abs(geod.geometry_area_perimeter(geom)[0])
        parts = con.execute("SELECT sum(area_m2), min(area_share), max(area_share) FROM community_cells "
                            "WHERE community_id = ?", [cid]).fetchone()
        assert parts[0] == pytest.approx(area, rel=0.02)
        assert 0 < parts[1] and parts[2] <= 1 + 1e-9
    stored_area = dict(con.execute("SELECT community_id, area_m2 FROM communities").fetchall())
    assert stored_area["420106001001"] == pytest.approx(1_440_000, rel=0.002)  # 1.2 km square (UTM scale ~1.0)


def test_cells_have_one_owner_and_match_h3(settings, communities) -> None:
    path, frame = communities
    ingest_file("boundaries", path, settings=settings)
    con = open_reader(settings.db_path)
    rows = con.execute("SELECT h3, community_id, lon, lat, res FROM cells").fetchall()
    assert len(rows) == len({r[0] for r in rows})
    for cell, _, lon, lat, res in rows[:50]:
        assert h3.str_to_int(h3.latlng_to_cell(lat, lon, res)) == cell
    centre = frame.geometry.iloc[2].centroid
    owner = con.execute("SELECT community_id FROM cells WHERE h3 = ?",
                        [h3.str_to_int(h3.latlng_to_cell(centre.y, centre.x, 10))]).fetchone()[0]
    assert owner == "420106001003"


def test_changed_boundary_recomputes_only_its_cells(settings, communities, tmp_path) -> None:
    path, frame = communities
    ingest_file("boundaries", path, settings=settings)
    frame.loc[1, "常住人口"] = 7000
    changed = tmp_path / "communities_v2.gpkg"
    frame.to_file(changed, layer="communities")
    report = ingest_file("boundaries", changed, settings=settings)
    assert (report.rows_inserted, report.rows_updated, report.rows_unchanged) == (0, 1, 2)
    con = open_reader(settings.db_path)
    assert con.execute("SELECT sum(population) FROM community_cells WHERE community_id = '420106001002'"
                       ).fetchone()[0] == 7000
    assert con.execute("SELECT sum(population) FROM cells").fetchone()[0] == 8123 + 7000 + 10001


def test_grids_get_cells(settings, tmp_path) -> None:
    grids = gpd.GeoDataFrame({"网格编码": ["G1", "G2"], "社区编码": ["420106001001"] * 2,
                              "geometry": [_square_m(0, 0, 600), _square_m(600, 0, 600)]}, crs=4326)
    path = tmp_path / "grids.geojson"
    grids.to_file(path)
    report = ingest_file("grids", path, settings=settings)
    assert report.rows_ok == 2
    con = open_reader(settings.db_path)
    shares = con.execute("SELECT h3, sum(area_share) FROM grid_cells GROUP BY h3").fetchall()
    # cells on the shared edge are split between the two grids, never counted twice
    assert max(s for _, s in shares) <= 1 + 1e-9
    total = con.execute("SELECT sum(area_m2) FROM grid_cells").fetchone()[0]
    assert total == pytest.approx(con.execute("SELECT sum(area_m2) FROM grids").fetchone()[0], rel=1e-6)
    assert np.isclose(total, 720_000, rtol=0.003)


def test_population_follows_residential_floor_area(settings, communities, tmp_path) -> None:
    """With land use, people live where the residential buildings are, not spread evenly by area."""
    path, frame = communities
    ingest_file("boundaries", path, settings=settings)
    landuse = gpd.GeoDataFrame({
        "用地性质": ["居住用地", "居住用地", "公园"], "层数": [6, 18, None],
        "geometry": [_square_m(100, 100, 300), _square_m(700, 700, 300), _square_m(100, 700, 400)]}, crs=4326)
    lu_path = tmp_path / "landuse.geojson"
    landuse.to_file(lu_path)
    report = ingest_file("landuse", lu_path, settings=settings)
    assert report.rows_ok == 3
    assert "1 by residential floor area (landuse), 2 by area" in report.notes[-1]
    con = open_reader(settings.db_path)
    rows = con.execute("SELECT h3, residential_floor_m2, population FROM community_cells "
                       "WHERE community_id = '420106001001'").fetchall()
    assert sum(r[2] for r in rows) == 8123
    assert all(pop == 0 for _, floor, pop in rows if floor == 0)  # no residents where nobody lives
    floor_total = sum(r[1] for r in rows)
    assert floor_total == pytest.approx(300 * 300 * (6 + 18), rel=0.003)
    big = max(rows, key=lambda r: r[1])
    assert big[2] == pytest.approx(8123 * big[1] / floor_total, abs=1)
    others = dict(con.execute("SELECT community_id, count(*) FILTER (WHERE population > 0) / count(*) "
                              "FROM community_cells WHERE community_id <> '420106001001' GROUP BY ALL").fetchall())
    assert min(others.values()) > 0.9  # spread by area: nearly every cell gets residents
