"""Stored access (``grid access compute``) against independent references, on real data:
the Shanghai OSM street network with real Amap POIs (WGS-84, see their SOURCE.md)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from access_reference import (brute_force_snap_m, read_tables, reference_distances, split_graph,
                              straight_line_m)
from conftest import realdata
from grid.accessibility.compute import compute_access
from grid.ingest import ingest_file, ingest_network
from grid.settings import Settings

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
