"""The demo city: deterministic files, loaded with zero rejections, with the distributions,
designed gaps and barriers it promises (asserted on the loaded default-scale database)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path

import networkx as nx
import numpy as np
import osmium
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely
from click.testing import CliRunner
from scipy.spatial import cKDTree

from grid.categories import read_table
from grid.cli import cli
from grid.demo import DemoSpec, generate_demo
from grid.settings import get_settings
from grid.store import open_reader

_TO_METRES = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:4547", always_xy=True)


def _metres(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    x, y = _TO_METRES.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.stack([x, y], axis=1)


def _metric(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(geom, lambda xy: _metres(xy[:, 0], xy[:, 1]))


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def design(demo_db) -> dict:
    return json.loads(demo_db[1].design.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def walking(demo_db) -> tuple[nx.Graph, dict[int, np.ndarray]]:
    return _walking_graph(demo_db[1].streets)


@pytest.fixture(scope="module")
def con(demo_db):
    connection = open_reader(demo_db[0].db_path)
    yield connection
    connection.close()


def _frame(con, sql: str, params: list | None = None) -> pd.DataFrame:
    return con.execute(sql, params or []).to_arrow_table().to_pandas()


# --------------------------------------------------------------------------- files


def test_same_seed_gives_byte_identical_files_and_another_seed_differs(tmp_path: Path) -> None:
    settings = get_settings()
    first = generate_demo(tmp_path / "a", settings=settings, spec=DemoSpec(seed=7, scale=0.1))
    generate_demo(tmp_path / "b", settings=settings, spec=DemoSpec(seed=7, scale=0.1))
    generate_demo(tmp_path / "c", settings=settings, spec=DemoSpec(seed=8, scale=0.1))
    a, b, c = (_digests(tmp_path / x) for x in "abc")
    assert set(a) == {p.name for p in first.all()}
    assert a == b
    differing = {name for name in a if a[name] != c[name]}
    assert {"communities.gpkg", "complaints.csv", "streets.osm.pbf", "facilities.csv"} <= differing


def test_files_have_the_promised_formats_and_say_they_are_synthetic(demo_db) -> None:
    files = demo_db[1]
    assert "SYNTHETIC" in files.readme.read_text(encoding="utf-8")
    for path in (files.facilities, files.complaints):
        raw = path.read_bytes()
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
        assert "演示数据（合成）" in raw.decode("gbk")
    assert files.managers.read_bytes().startswith("\ufeff".encode("utf-8"))
    for path in (files.communities, files.landuse):
        info = pyogrio.read_info(path)
        assert info["crs"] == "EPSG:4547"
        assert "synthetic" in info["layer_metadata"]["DESCRIPTION"]
    header = osmium.io.Reader(str(files.streets), osmium.osm.osm_entity_bits.NOTHING).header()
    assert "synthetic" in header.get("generator")
    assert json.loads(files.design.read_text(encoding="utf-8"))["synthetic"] is True


def test_cli_writes_files_and_refuses_to_overwrite_a_database(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["demo", "--scale", "0.05", "--files-only", "--out", str(tmp_path / "f"),
                                 "--db", str(tmp_path / "g.duckdb")])
    assert result.exit_code == 0, result.output
    assert "complaints.csv" in result.output and (tmp_path / "f" / "streets.osm.pbf").exists()
    (tmp_path / "g.duckdb").write_bytes(b"")
    refused = runner.invoke(cli, ["demo", "--scale", "0.05", "--out", str(tmp_path / "f"),
                                  "--db", str(tmp_path / "g.duckdb")])
    assert refused.exit_code != 0
    assert "already exists; pass --replace" in refused.output


# --------------------------------------------------------------------------- the load


def test_every_file_loads_with_zero_rejected_rows(con) -> None:
    loads = _frame(con, "SELECT kind, status, rows_in, rows_ok, rows_rejected, rows_unmapped FROM loads")
    assert set(loads["kind"]) == {"boundaries", "landuse", "grids", "managers", "facilities", "complaints", "network"}
    assert (loads["status"] == "loaded").all(), loads
    assert loads["rows_rejected"].sum() == 0
    assert loads.loc[loads["kind"] != "network", "rows_unmapped"].sum() == 0
    assert con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0
    for table in ("communities", "grids", "facilities", "complaints", "landuse"):
        sources = con.execute(f"SELECT DISTINCT source FROM {table}").fetchall()
        assert sources == [("synthetic-demo",)], table


def test_communities_and_grids_have_real_sizes(con) -> None:
    c = _frame(con, "SELECT community_id, subdistrict, population, households, population_65plus, workers, "
                    "social_organisations, service_space_m2, area_m2 FROM communities")
    assert 25 <= len(c) <= 35
    assert c["subdistrict"].nunique() in (5, 6)
    assert c["households"].between(2000, 4500).all(), c["households"].describe()
    assert abs(c["population"].sum() / 250_000 - 1) <= 0.15
    assert abs(c["area_m2"].sum() / 25e6 - 1) <= 0.20
    share = c["population_65plus"] / c["population"]
    assert share.between(0.05, 0.30).all() and share.max() - share.min() > 0.08
    assert (c["workers"] < c["households"] / 600).any() and (c["workers"] >= c["households"] / 600).any()
    assert (c["social_organisations"] < 10).any() and (c["social_organisations"] >= 10).any()
    assert (c["service_space_m2"] < c["population"] * 0.05).any()
    g = _frame(con, "SELECT grid_id, community_id, households FROM grids")
    assert g["households"].between(150, 500).all(), g["households"].describe()
    assert set(g["community_id"]) == set(c["community_id"])
    assert 6 <= len(g) / len(c) <= 11
    per_community = g.groupby("community_id")["households"].sum()
    assert (per_community == c.set_index("community_id")["households"].loc[per_community.index]).all()


def test_population_is_spread_by_residential_floor_area(con) -> None:
    note = con.execute("SELECT note FROM load_notes JOIN loads USING (load_id) WHERE kind = 'landuse' "
                       "AND note LIKE 'population and households spread%'").fetchone()[0]
    communities = con.execute("SELECT count(*) FROM communities").fetchone()[0]
    assert f"{communities} by residential floor area" in note
    sums = _frame(con, "SELECT c.population, sum(cc.population) AS spread FROM communities c "
                       "JOIN community_cells cc USING (community_id) GROUP BY c.community_id, c.population")
    assert (sums["population"] == sums["spread"]).all()
    floors = _frame(con, "SELECT floors FROM landuse WHERE class = 'residential'")["floors"]
    assert floors.min() <= 3 and floors.max() >= 30


def test_every_facility_category_is_present_in_plausible_numbers(demo_db, con) -> None:
    categories = read_table("facility_categories", demo_db[0].categories_dir)
    counts = _frame(con, "SELECT category, count(*) AS n FROM facilities GROUP BY category").set_index("category")["n"]
    assert set(categories["category"]) <= set(counts.index)
    assert {"15", "10", "5", "block"} <= set(categories.loc[categories["category"].isin(counts.index), "level"])
    residents = con.execute("SELECT sum(population) FROM communities").fetchone()[0]
    assert 5000 <= residents / counts["kindergarten"] <= 9000  # Wuhan: ~2,100 kindergartens, 13.7 M residents
    assert 12000 <= residents / counts["primary_school"] <= 30000
    assert counts["bus_stop"] > 100 and 2 <= counts["metro_station"] <= 10
    assert counts["community_health_center"] == con.execute(
        "SELECT count(DISTINCT subdistrict) FROM communities").fetchone()[0]
    stations = _frame(con, "SELECT floor_area_m2 FROM facilities WHERE category = 'community_service_station'")
    assert (stations["floor_area_m2"] < 600).any() and (stations["floor_area_m2"] >= 600).any()


# --------------------------------------------------------------------------- designed gaps


def test_new_development_has_no_kindergarten_or_day_care_nearby(con, design) -> None:
    gap = next(g for g in design["gaps"] if g["kind"] == "new_development_without_services")
    cells = _frame(con, "SELECT c.lon, c.lat FROM community_cells cc JOIN cells c USING (h3) "
                        "WHERE cc.community_id = ? AND cc.population > 0", [gap["community_id"]])
    assert len(cells) >= 5
    for category in ("kindergarten", "elderly_daycare"):
        assert category in gap["categories"]
        fac = _frame(con, "SELECT lon, lat FROM facilities WHERE category = ?", [category])
        distance, _ = cKDTree(_metres(fac["lon"], fac["lat"])).query(_metres(cells["lon"], cells["lat"]))
        assert distance.min() >= 500, (category, distance.min())


def test_cut_off_community_has_its_health_station_across_the_river(con, design) -> None:
    gap = next(g for g in design["gaps"] if g["kind"] == "cut_off_by_river")
    river = _metric(shapely.from_wkt(design["river"]["water_wkt"]))
    wkb = con.execute("SELECT ST_AsWKB(geom) FROM communities WHERE community_id = ?",
                      [gap["community_id"]]).fetchone()[0]
    community = _metric(shapely.from_wkb(bytes(wkb)))
    home = shapely.point_on_surface(community)
    fac = _frame(con, "SELECT lon, lat FROM facilities WHERE category = 'community_health_station'")
    points = shapely.points(_metres(fac["lon"], fac["lat"]))
    across = shapely.intersects(shapely.linestrings(
        np.stack([np.repeat(shapely.get_coordinates(home), len(points), axis=0),
                  shapely.get_coordinates(points)], axis=1)), river)
    near = shapely.distance(community, points) < gap["clear_on_its_side_m"]
    assert near.any() and across[near].all()
    assert across[np.argmin(shapely.distance(home, points))]
    bridges = shapely.points(_metres(*np.array([b["lonlat"] for b in design["river"]["walkable_bridges"]]).T))
    assert shapely.distance(shapely.centroid(community), bridges).min() >= 700


def test_river_makes_walking_far_longer_than_straight_line(walking, design) -> None:
    graph, xy = walking
    river = _metric(shapely.from_wkt(design["river"]["water_wkt"]))
    bridges = _metres(*np.array([b["lonlat"] for b in design["river"]["walkable_bridges"]]).T)
    ids = np.array(list(graph.nodes))
    coords = np.array([xy[i] for i in ids])
    near_river = shapely.distance(river, shapely.points(coords)) < 300
    ids, coords = ids[near_river], coords[near_river]
    pairs = np.array(sorted(cKDTree(coords).query_pairs(300.0)))
    crossing = shapely.intersects(shapely.linestrings(np.stack([coords[pairs[:, 0]], coords[pairs[:, 1]]], axis=1)),
                                  river)
    pairs = pairs[crossing]
    middle = (coords[pairs[:, 0]] + coords[pairs[:, 1]]) / 2
    pairs = pairs[cKDTree(bridges).query(middle)[0] > 400]
    assert len(pairs) >= 20
    for a, b in pairs[np.linspace(0, len(pairs) - 1, 40).astype(int)]:
        straight = float(np.hypot(*(coords[a] - coords[b])))
        reach = nx.single_source_dijkstra_path_length(graph, ids[a], cutoff=1.5 * straight, weight="length")
        assert ids[b] not in reach, (ids[a], ids[b], straight)


def test_gated_compounds_open_to_the_street_only_through_their_gates(demo_db, walking) -> None:
    graph = walking[0].copy()
    gates = _gate_nodes(demo_db[1].streets)
    assert len(gates) > 300
    main = max(nx.connected_components(graph), key=len)
    assert len(main) > 0.99 * graph.number_of_nodes()
    graph.remove_nodes_from(gates)
    enclosed = [c for c in nx.connected_components(graph) if 8 <= len(c) < 2000]
    assert len(enclosed) > 150  # each a compound's (or campus's) paths, cut off once its gates are shut


def _gate_nodes(path: Path) -> set[int]:
    gates: set[int] = set()

    class Reader(osmium.SimpleHandler):
        def node(self, n) -> None:  # noqa: ANN001
            if n.tags.get("barrier") == "gate":
                gates.add(n.id)

    Reader().apply_file(str(path))
    return gates


def _walking_graph(path: Path) -> tuple[nx.Graph, dict[int, np.ndarray]]:
    """The walkable street graph read straight from the PBF (an independent reading from grid.network)."""
    nodes: dict[int, tuple[float, float]] = {}
    ways: list[list[int]] = []

    class Reader(osmium.SimpleHandler):
        def node(self, n) -> None:  # noqa: ANN001
            nodes[n.id] = (n.location.lon, n.location.lat)

        def way(self, w) -> None:  # noqa: ANN001
            tags = dict(w.tags)
            walkable = "highway" in tags and tags.get("foot") != "no" and tags.get("access") != "private"
            if walkable and tags["highway"] != "trunk":
                ways.append([n.ref for n in w.nodes])

    Reader().apply_file(str(path))
    ids = np.array(list(nodes))
    xy = dict(zip(ids.tolist(), _metres(*np.array([nodes[i] for i in ids]).T)))
    graph = nx.Graph()
    for refs in ways:
        for a, b in zip(refs[:-1], refs[1:]):
            graph.add_edge(a, b, length=float(np.hypot(*(xy[a] - xy[b]))))
    return graph, xy


def test_street_network_is_loaded_and_has_the_expected_parts(con, demo_db) -> None:
    edges = con.execute("SELECT count(*) FROM network_edges").fetchone()[0]
    assert 25_000 <= edges <= 80_000
    highways = {r[0] for r in con.execute("SELECT DISTINCT highway FROM network_edges").fetchall()}
    assert {"primary", "secondary", "tertiary", "residential", "service", "footway", "steps", "living_street",
            "path"} <= highways
    assert "trunk" not in highways
    main = con.execute("SELECT max(edges) FROM network_components").fetchone()[0]
    assert main / edges > 0.99


# --------------------------------------------------------------------------- complaints


def test_complaints_look_like_a_year_of_12345(con, design) -> None:
    c = _frame(con, "SELECT request_type, category, status, received_at, closed_at, source_due_at, satisfaction, "
                    "lon, address, description, phone_masked, complainant_masked FROM complaints")
    assert 45_000 <= len(c) <= 55_000
    assert set(c["request_type"]) == {"enquiry", "help", "complaint", "report", "suggestion"}
    assert {"closed", "in_progress", "reopened", "duplicate"} <= set(c["status"])
    as_of = pd.Timestamp(datetime.fromisoformat(design["as_of"])).tz_localize("Asia/Shanghai")
    handled = ~c["status"].isin(("duplicate", "cancelled"))
    late = (c["closed_at"] > c["source_due_at"]) | (c["closed_at"].isna() & (c["source_due_at"] < as_of))
    assert 0.05 <= (late & handled).mean() <= 0.15
    assert set(c["satisfaction"].dropna()) == {"满意", "基本满意", "不满意"}
    no_point = c["lon"].isna()
    assert 0.01 <= no_point.mean() <= 0.05 and c.loc[no_point, "address"].str.contains("社区").all()
    assert c["phone_masked"].dropna().str.contains(r"\*\*\*\*").all()
    assert not c["description"].str.contains(r"1[3-9]\d{9}").any()
    month = c["received_at"].dt.tz_convert("Asia/Shanghai").dt.month
    assert (month[c["category"] == "water_power/heating"].isin((12, 1, 2))).mean() > 0.6
    assert (month[c["category"].str.startswith("noise")].isin((6, 7, 8))).mean() > 0.3
    hour = c["received_at"].dt.tz_convert("Asia/Shanghai").dt.hour
    assert hour.between(8, 17).mean() > 0.6


def test_complaints_cluster_where_service_is_missing(con, design) -> None:
    gap = {g["kind"]: g["community_id"] for g in design["gaps"]}
    counts = _frame(con, """
        SELECT x.community_id, k.category, count(*) AS n FROM complaints k JOIN community_cells x ON k.h3 = x.h3
        WHERE k.category IN ('education_health/childcare', 'elderly_social/elderly_care',
                             'education_health/medical_services')
        GROUP BY x.community_id, k.category""").pivot(index="community_id", columns="category", values="n")
    households = _frame(con, "SELECT community_id, households FROM communities").set_index("community_id")
    rate = counts.fillna(0).div(households["households"], axis=0).fillna(0)
    new_dev, cut_off = gap["new_development_without_services"], gap["cut_off_by_river"]
    assert rate.loc[new_dev, "education_health/childcare"] > 3 * rate["education_health/childcare"].median()
    assert rate.loc[new_dev, "elderly_social/elderly_care"] > 2 * rate["elderly_social/elderly_care"].median()
    assert rate.loc[cut_off, "education_health/medical_services"] > 2 * rate["education_health/medical_services"].median()
