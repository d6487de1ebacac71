"""Stored access (``grid access compute``) against independent references (networkx, shapely,
geodesic straight lines): on the real Shanghai OSM network with real Amap POIs (WGS-84, see
their SOURCE.md) and on the demo city, whose designed gaps and river must show in the distances."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely

from access_reference import (brute_force_snap_m, read_tables, reference_distances, split_graph,
                              straight_line_m)
from conftest import realdata
from grid.accessibility.compute import cached_engine, compute_access
from grid.accessibility.engine import build_engine
from grid.h3index import cells_to_lonlat
from grid.ingest import ingest_file, ingest_network
from grid.settings import Settings
from grid.store import open_reader

SH_BBOX = [[121.46113, 31.21961], [121.48631, 31.21961], [121.48631, 31.24119], [121.46113, 31.24119]]
POI_FILES = ("kindergarten", "primary_school", "middle_school", "hospital", "metro_station")


def _bbox_community(path: Path) -> Path:
    """One test 'community' covering the OSM extract, so every cell with streets is populated."""
    feature = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [SH_BBOX + [SH_BBOX[0]]]},
               "properties": {"community_id": "SH", "name": "上海测试范围", "population": 60000, "households": 22000,
                              "population_65plus": 12000}}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def shanghai(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    from grid.settings import get_settings

    tmp = tmp_path_factory.mktemp("shanghai")
    settings = get_settings(db_path=tmp / "sh.duckdb", hash_key_path=tmp / "key")
    network = realdata("osm-shanghai-central-drive", "shanghai_central_drive.osm.pbf")
    ingest_network(network, settings=settings)
    ingest_file("boundaries", _bbox_community(tmp / "bbox.geojson"), settings=settings, source="test-bbox")
    for name in POI_FILES:
        ingest_file("facilities", realdata("shanghai-amap-poi", f"shanghai_{name}.csv"), settings=settings,
                    mapping="amap-poi", crs="4326")
    compute_access(settings)
    return settings


@pytest.mark.realdata
def test_shanghai_distances_equal_networkx_for_every_cell(shanghai: Settings) -> None:
    tables = read_tables(shanghai.db_path)
    bound = float(tables["meta"].set_index("key").loc["access_bound_m", "value"])
    graph = split_graph(tables)
    access = tables["access"]
    checked = 0
    for category in ("kindergarten", "primary_school", "middle_school", "hospital", "metro_station"):
        ours = access[access["category"] == category].set_index("h3")["distance_m"]
        ref = reference_distances(tables, graph, category, bound).reindex(ours.index)
        assert (ours.isna() == ref.isna()).all(), category
        assert np.nanmax(np.abs(ours - ref)) < 0.1, category
        checked += int(ours.notna().sum())
    assert checked > 1000


@pytest.mark.realdata
def test_shanghai_no_cell_closer_than_straight_line(shanghai: Settings) -> None:
    tables = read_tables(shanghai.db_path)
    reached = tables["access"].dropna(subset=["distance_m"]).merge(
        tables["cells"][["h3", "lon", "lat"]], on="h3").merge(
        tables["facilities"][["facility_id", "lon", "lat"]], on="facility_id", suffixes=("", "_f"))
    straight = straight_line_m(reached["lon"], reached["lat"], reached["lon_f"], reached["lat_f"])
    assert len(reached) > 1000
    assert (reached["distance_m"].to_numpy() >= straight - 0.01 - 1e-5 * straight).all()


@pytest.mark.realdata
def test_shanghai_snaps_are_the_nearest_edge(shanghai: Settings) -> None:
    tables = read_tables(shanghai.db_path)
    sample = tables["cells"].sample(80, random_state=1)
    brute = brute_force_snap_m(tables, sample)
    on = sample["on_network"].to_numpy()
    np.testing.assert_allclose(sample["snap_m"].to_numpy()[on], brute[on], atol=1e-6)
    assert (brute[~on] > shanghai.max_snap_m).all()
    assert not tables["edges"].set_index("edge_id").loc[tables["cells"]["edge_id"].dropna(), "is_island"].any()
    off = tables["facilities"][~tables["facilities"]["on_network"]]
    assert len(off) > 1000 and off["edge_id"].isna().all()  # POIs of all Shanghai: far ones are off network
    assert set(tables["access"].loc[tables["access"]["distance_m"].isna(), "status"]) <= {"beyond_bound",
                                                                                          "off_network"}


# ----------------------------------------------------------------------------- the demo city


@pytest.fixture(scope="module")
def demo_tables(demo_db) -> dict:
    return read_tables(demo_db[0].db_path)


@pytest.fixture(scope="module")
def demo_design(demo_db) -> dict:
    return json.loads(demo_db[1].design.read_text(encoding="utf-8"))


def _gap(design: dict, kind: str) -> dict:
    return next(g for g in design["gaps"] if g["kind"] == kind)


def test_demo_distances_equal_networkx_for_every_cell(demo_tables: dict) -> None:
    bound = float(demo_tables["meta"].set_index("key").loc["access_bound_m", "value"])
    graph = split_graph(demo_tables)
    access = demo_tables["access"]
    for category in ("kindergarten", "elderly_daycare", "primary_school", "community_health_station"):
        ours = access[access["category"] == category].set_index("h3")["distance_m"]
        ref = reference_distances(demo_tables, graph, category, bound).reindex(ours.index)
        assert len(ours) > 1000 and (ours.isna() == ref.isna()).all(), category
        assert np.nanmax(np.abs(ours - ref)) < 0.1, category


def test_demo_no_cell_closer_than_straight_line(demo_tables: dict) -> None:
    reached = demo_tables["access"].dropna(subset=["distance_m"]).merge(
        demo_tables["cells"][["h3", "lon", "lat"]], on="h3").merge(
        demo_tables["facilities"][["facility_id", "lon", "lat"]], on="facility_id", suffixes=("", "_f"))
    straight = straight_line_m(reached["lon"], reached["lat"], reached["lon_f"], reached["lat_f"])
    assert len(reached) > 30000
    assert (reached["distance_m"].to_numpy() >= straight - 0.01 - 1e-5 * straight).all()


def _community_cells(demo_db, community_id: str) -> list[int]:
    con = open_reader(demo_db[0].db_path)
    try:
        rows = con.execute("SELECT h3 FROM community_cells WHERE community_id = ? AND population > 0",
                           [community_id]).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


def test_demo_designed_gaps_show_in_walking_distance(demo_db, demo_tables: dict, demo_design: dict) -> None:
    access = demo_tables["access"].set_index(["category", "h3"])["distance_m"]
    new_town = _community_cells(demo_db, _gap(demo_design, "new_development_without_services")["community_id"])
    kg = access.loc["kindergarten"].reindex(new_town)
    # every populated cell of the new development is beyond 300 m of a kindergarten (or beyond the bound)
    assert len(new_town) >= 5 and (kg.isna() | (kg > 300)).all()
    city_kg = access.loc["kindergarten"]
    assert (city_kg.isna() | (city_kg > 300)).sum() > 100 and (city_kg <= 300).sum() > 100


def test_demo_river_makes_the_nearest_health_station_a_long_walk(demo_db, demo_tables: dict,
                                                                 demo_design: dict) -> None:
    gap = _gap(demo_design, "cut_off_by_river")
    cells = demo_tables["cells"].set_index("h3").loc[_community_cells(demo_db, gap["community_id"])]
    stations = demo_tables["facilities"]
    stations = stations[stations["category"] == "community_health_station"]
    # straight line to the nearest station (whatever the river) vs walking to the nearest station
    straight = np.array([straight_line_m(np.full(len(stations), lon), np.full(len(stations), lat),
                                         stations["lon"], stations["lat"]).min()
                         for lon, lat in zip(cells["lon"], cells["lat"])])
    walk = demo_tables["access"].set_index(["category", "h3"])["distance_m"].loc["community_health_station"]
    walk = walk.reindex(cells.index).to_numpy()
    ratio = np.where(np.isnan(walk), np.inf, walk) / straight
    assert np.median(ratio) >= 1.5


def test_demo_what_if_equals_full_recompute(demo_db, demo_design: dict) -> None:
    settings = demo_db[0]
    engine = cached_engine(settings)
    cells = _community_cells(demo_db, _gap(demo_design, "new_development_without_services")["community_id"])
    lon, lat = cells_to_lonlat(np.array(cells[:1], dtype=np.uint64))
    removed = str(engine.facility_ids[engine.facility_category == "kindergarten"][0])
    result = engine.what_if("kindergarten", add=[(float(lon[0]), float(lat[0]))], remove=[removed],
                            max_snap_m=settings.max_snap_m)
    assert len(result.changed_cells) > 0
    # full recompute: a new engine with the facility added and the other one gone
    keep = engine.facility_ids != removed
    graph_edges = engine.graph
    con = open_reader(settings.db_path)
    try:
        edges = con.execute("SELECT ST_AsWKB(geom) FROM network_edges ORDER BY edge_id").fetchall()
        n_nodes = con.execute("SELECT count(*) FROM network_nodes").fetchone()[0]
        fac = con.execute("SELECT facility_id, lon, lat FROM facilities ORDER BY facility_id").to_arrow_table(
            ).to_pandas()
        cell_ll = con.execute("SELECT h3, lon, lat FROM cells WHERE population > 0 ORDER BY h3").to_arrow_table(
            ).to_pandas()
    finally:
        con.close()
    fresh = build_engine(
        n_nodes=n_nodes, edge_u=graph_edges.edge_u, edge_v=graph_edges.edge_v,
        edge_length_m=graph_edges.edge_length_m, edges_wgs84=shapely.from_wkb([bytes(e[0]) for e in edges]),
        cell_h3=cell_ll["h3"].to_numpy(np.uint64), cell_lon=cell_ll["lon"].to_numpy(), cell_lat=cell_ll["lat"].to_numpy(),
        facility_ids=np.r_[engine.facility_ids[keep], ["new-1"]].astype(object),
        facility_category=np.r_[engine.facility_category[keep], ["kindergarten"]].astype(object),
        facility_lon=np.r_[fac["lon"].to_numpy()[keep], lon], facility_lat=np.r_[fac["lat"].to_numpy()[keep], lat],
        max_snap_m=settings.max_snap_m, bound_m=engine.bound_m, snappable=engine.snappable)
    expect = fresh.cell_access("kindergarten")
    np.testing.assert_allclose(np.nan_to_num(result.cells.distance_m, nan=-1),
                               np.nan_to_num(expect.distance_m, nan=-1), atol=1e-6)
    got_ids = result.facility_ids[np.maximum(result.cells.facility, 0)]
    want_ids = fresh.facility_ids[np.maximum(expect.facility, 0)]
    assert (got_ids[result.cells.facility >= 0] == want_ids[expect.facility >= 0]).all()
