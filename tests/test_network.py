"""The walking network: filter, splitting, lengths, components, CSR, store round trip.

References are independent of the code under test: the fixture is parsed with
ElementTree, expected edges are written by hand, lengths are geodesic
(pyproj.Geod), shortest paths come from networkx, and the real-data recount
walks the ways with pyosmium's Python API.
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmium
import pandas as pd
import pyproj
import pytest
import shapely
from scipy.sparse.csgraph import dijkstra

from grid.errors import InputError
from grid.ingest import ingest_network
from grid.ingest.network import network_load_id, read_network
from grid.network import (Network, Ways, cached_csr, clear_csr_cache, local_metric_crs, network_from_lines,
                          network_from_osm, network_from_ways, network_to_csr, read_osm_ways)
from grid.store import open_reader, write_session

from conftest import PROJECT_ROOT, realdata

FIXTURE = Path(__file__).parent / "data" / "network" / "walk.osm"
GEOD = pyproj.Geod(ellps="WGS84")
REL_TOL = 5e-4  # 0.05 %

# Hand-derived from the fixture (see the comments in walk.osm): each edge as (way id, OSM node sequence).
EXPECTED_EDGES = [
    (101, (3, 1)), (101, (1, 6, 4)), (102, (2, 1)), (102, (1, 5)), (103, (4, 7)), (104, (9, 7)), (104, (7, 8)),
    (106, (9, 11)), (108, (3, 13, 14)), (113, (11, 27)), (115, (14, 15, 16, 14)), (118, (8, 23)), (118, (24, 2)),
    (120, (20, 21, 22)), (121, (1, 26, 2)), (122, (30, 31)), (123, (27, 33)),
]
EXPECTED_NODES = {1, 2, 3, 4, 5, 7, 8, 9, 11, 14, 20, 22, 23, 24, 27, 30, 31, 33}
EXPECTED_EXCLUDED = {"no_sidewalk": 2, "access_private": 1, "foot_no": 1, "area": 1, "highway_not_walkable": 1,
                     "highway_unknown": 1}
WALKABLE_WAYS = {way for way, _ in EXPECTED_EDGES}


def _fixture() -> tuple[dict[int, tuple[float, float]], dict[int, tuple[list[int], dict[str, str]]]]:
    """Nodes {id: (lon, lat)} and ways {id: (refs, tags)} read with ElementTree (not osmium)."""
    root = ET.parse(FIXTURE).getroot()
    nodes = {int(n.get("id")): (float(n.get("lon")), float(n.get("lat"))) for n in root.iter("node")}
    ways = {int(w.get("id")): ([int(nd.get("ref")) for nd in w.iter("nd")],
                               {t.get("k"): t.get("v") for t in w.iter("tag")}) for w in root.iter("way")}
    return nodes, ways


def _geodesic_m(coords: list[tuple[float, float]]) -> float:
    lon, lat = np.array(coords).T
    return float(GEOD.line_length(lon, lat))


def _edge_list(net: Network) -> list[tuple[int, tuple[int, int]]]:
    osm = net.node_osm_id
    return sorted((int(w), (int(osm[u]), int(osm[v]))) for w, u, v in zip(net.edge_way_id, net.edge_u, net.edge_v))


@pytest.fixture(scope="module")
def net() -> Network:
    return network_from_osm(FIXTURE)


def test_filter_keeps_walkable_ways_and_counts_the_rest() -> None:
    ways = read_osm_ways(FIXTURE)
    assert ways.ways_read == 20  # ways with a highway tag; the building is never read
    assert sorted(ways.way_id.tolist()) == sorted(WALKABLE_WAYS)
    assert dict(ways.excluded) == EXPECTED_EXCLUDED
    assert ways.highway_counts["bus_stop"] == 1 and ways.highway_counts["trunk"] == 3
    assert ways.notes == ("1 node references without a location in the file (ways leaving the extract); "
                          "the ways were cut there",)


def test_ways_are_split_at_shared_nodes_and_endpoints(net: Network) -> None:
    assert set(net.node_osm_id.tolist()) == EXPECTED_NODES
    assert net.n_nodes == 18 and net.n_edges == 17
    assert _edge_list(net) == sorted((w, (seq[0], seq[-1])) for w, seq in EXPECTED_EDGES)
    assert np.all(np.diff(net.node_osm_id) > 0)  # dense ids follow the OSM ids


def test_edge_geometry_runs_through_the_way_nodes(net: Network) -> None:
    nodes, _ = _fixture()
    expected = {(w, seq[0], seq[-1]): [nodes[n] for n in seq] for w, seq in EXPECTED_EDGES}
    for i in range(net.n_edges):
        key = (int(net.edge_way_id[i]), int(net.node_osm_id[net.edge_u[i]]), int(net.node_osm_id[net.edge_v[i]]))
        np.testing.assert_array_equal(shapely.get_coordinates(net.edge_geometry[i]), expected[key])
        assert shapely.get_coordinates(net.edge_geometry[i])[0].tolist() == [net.node_lon[net.edge_u[i]],
                                                                              net.node_lat[net.edge_u[i]]]


def test_lengths_agree_with_geodesic(net: Network) -> None:
    nodes, _ = _fixture()
    expected = {(w, seq[0], seq[-1]): _geodesic_m([nodes[n] for n in seq]) for w, seq in EXPECTED_EDGES}
    for i in range(net.n_edges):
        key = (int(net.edge_way_id[i]), int(net.node_osm_id[net.edge_u[i]]), int(net.node_osm_id[net.edge_v[i]]))
        assert net.edge_length_m[i] == pytest.approx(expected[key], rel=REL_TOL)
    # the long footway 30-31: 0.02 degrees of latitude at 31.26 N is 2,217.5 m (hand check, 110.87 km/degree)
    assert net.edge_length_m[net.edge_way_id == 122][0] == pytest.approx(2217.5, abs=1.0)


def test_names_and_classes_are_kept(net: Network) -> None:
    first = np.flatnonzero(net.edge_way_id == 101)[0]
    assert net.edge_name[first] == "人民路, East %1 = A"  # OPL escapes of , % = and CJK decoded
    assert net.edge_highway[first] == "residential"
    assert net.edge_name[np.flatnonzero(net.edge_way_id == 102)[0]] is None


def test_components_are_ordered_and_islands_flagged(net: Network) -> None:
    comps = net.components
    assert comps["component"].tolist() == [0, 1, 2]
    assert comps["nodes"].tolist() == [14, 2, 2] and comps["edges"].tolist() == [15, 1, 1]
    assert comps["is_main"].tolist() == [True, False, False]
    assert comps["is_island"].tolist() == [False, False, True]  # the 2.2 km footway is not an island
    island_nodes = set(net.node_osm_id[net.node_component == 2].tolist())
    assert island_nodes == {20, 22}
    np.testing.assert_allclose(comps["length_m"], np.bincount(net.edge_component, weights=net.edge_length_m))
    assert np.array_equal(net.node_component[net.edge_u], net.edge_component)
    graph = nx.Graph(list(zip(net.edge_u.tolist(), net.edge_v.tolist())))
    assert sorted(len(c) for c in nx.connected_components(graph)) == [2, 2, 14]


def test_island_threshold_is_a_parameter() -> None:
    strict = network_from_osm(FIXTURE, island_max_length_m=100.0)
    assert not strict.components["is_island"].any()
    loose = network_from_osm(FIXTURE, island_max_length_m=3000.0)
    assert loose.components["is_island"].tolist() == [False, True, True]


def test_compressed_xml_and_pbf_give_the_same_graph(net: Network, tmp_path: Path) -> None:
    gz = tmp_path / "walk.osm.gz"
    with open(FIXTURE, "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    pbf = tmp_path / "walk.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        osmium.apply(str(FIXTURE), writer)
    for other in (network_from_osm(gz), network_from_osm(pbf)):
        _assert_same_network(net, other)


def _assert_same_network(a: Network, b: Network, *, geometry: bool = True) -> None:
    for name in ("node_lon", "node_lat", "node_osm_id", "node_component", "edge_u", "edge_v", "edge_length_m",
                 "edge_way_id", "edge_component"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None and y is None) or np.array_equal(x, y), name
    assert a.edge_highway.tolist() == b.edge_highway.tolist() and a.edge_name.tolist() == b.edge_name.tolist()
    if geometry:
        assert shapely.equals_exact(a.edge_geometry, b.edge_geometry, tolerance=0).all()
    pd.testing.assert_frame_equal(a.components, b.components)


def _lines_frame() -> gpd.GeoDataFrame:
    """The fixture as a line layer: walkable-table classes only, ways cut where a node is missing."""
    nodes, ways = _fixture()
    rows = []
    for refs, tags in ways.values():
        if "highway" not in tags or tags["highway"] == "bus_stop":  # line layers keep unknown classes
            continue
        runs, run = [], []
        for ref in refs + [None]:
            if ref in nodes:
                run.append(nodes[ref])
            else:
                runs, run = runs + [run], []
        for coords in (r for r in runs if len(r) >= 2):
            rows.append({**{k: tags.get(k) for k in ("highway", "name", "foot", "access", "sidewalk", "area")},
                         "geometry": shapely.LineString(coords)})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")


def _edge_signature(net: Network) -> list[tuple]:
    ends = [(round(net.node_lon[u], 7), round(net.node_lat[u], 7), round(net.node_lon[v], 7), round(net.node_lat[v], 7))
            for u, v in zip(net.edge_u, net.edge_v)]
    return sorted((*e, round(float(length), 3)) for e, length in zip(ends, net.edge_length_m))


def test_line_layer_gives_the_same_graph(net: Network, tmp_path: Path) -> None:
    path = tmp_path / "walk.geojson"
    _lines_frame().to_file(path, driver="GeoJSON")
    lines = network_from_lines(path)
    assert lines.node_osm_id is None and lines.edge_way_id is None
    assert lines.n_nodes == net.n_nodes and lines.n_edges == net.n_edges
    assert _edge_signature(lines) == _edge_signature(net)
    pd.testing.assert_frame_equal(lines.components, net.components)


def test_line_layer_in_a_projected_crs(net: Network, tmp_path: Path) -> None:
    path = tmp_path / "walk_utm.gpkg"
    _lines_frame().to_crs("EPSG:32651").to_file(path, layer="streets", driver="GPKG")  # UTM 51N (Shanghai)
    lines = network_from_lines(path)  # the CRS comes from the file
    assert lines.n_nodes == net.n_nodes and lines.n_edges == net.n_edges
    np.testing.assert_allclose(np.sort(lines.edge_length_m), np.sort(net.edge_length_m), atol=1e-3)
    np.testing.assert_allclose(np.sort(lines.node_lon), np.sort(net.node_lon), atol=2e-7)


def test_line_layer_splits_at_shared_vertices_only() -> None:
    frame = gpd.GeoDataFrame({
        "class": ["城市支路", "城市支路", None, "motorway"],
        "name": ["甲路", "乙路", None, "高架"],
        "geometry": [shapely.LineString([(121.0, 31.0), (121.002, 31.0)]),
                     # crosses the first line without a shared vertex: a bridge, not joined
                     shapely.LineString([(121.001, 30.999), (121.001, 31.001)]),
                     # a MultiLineString: one part ends on the first line's end, one part stands alone
                     shapely.MultiLineString([[(121.002, 31.0), (121.003, 31.0)], [(121.01, 31.01), (121.011, 31.01)]]),
                     shapely.LineString([(121.0, 31.0), (121.0, 31.002)])]}, crs="EPSG:4326")
    ways = network_from_lines(frame)
    assert ways.n_edges == 4 and ways.n_nodes == 7
    assert len(ways.components) == 3  # the crossing is not a junction
    assert "class values not in the walkable table were kept as walkable: 城市支路 (2)" in ways.notes


def test_gcj02_line_layer_is_converted(tmp_path: Path) -> None:
    from grid.crs import wgs84_to_gcj02

    lon, lat = np.array([121.47, 121.471]), np.array([31.23, 31.23])
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    frame = pd.DataFrame({"geometry": [shapely.LineString(np.column_stack([g_lon, g_lat]))]})
    net = network_from_lines(frame, crs="gcj02")
    np.testing.assert_allclose(net.node_lon, lon, atol=1e-7)
    np.testing.assert_allclose(net.node_lat, lat, atol=1e-7)


def _ways(refs: list[list[int]], coords: dict[int, tuple[float, float]]) -> Ways:
    flat = [r for way in refs for r in way]
    return Ways(way_id=np.arange(len(refs), dtype=np.int64), highway=np.array(["footway"] * len(refs), dtype=object),
                name=np.array([None] * len(refs), dtype=object), node_count=np.array([len(w) for w in refs]),
                node_ref=np.array(flat, dtype=np.int64), node_lon=np.array([coords[r][0] for r in flat]),
                node_lat=np.array([coords[r][1] for r in flat]), refs_are_osm=True)


def test_zero_length_self_loops_dropped_parallel_edges_kept() -> None:
    coords = {1: (121.0, 31.0), 2: (121.0, 31.0), 3: (121.001, 31.0), 4: (121.0005, 31.0005)}
    net = network_from_ways(_ways([[1, 2, 1], [1, 3], [1, 4, 3], [3, 3, 1]], coords))
    assert net.n_nodes == 2 and net.n_edges == 3  # 1-2-1 has no length; 3-3-1 is 3-1 (repeat dropped)
    assert sorted(net.edge_way_id.tolist()) == [1, 2, 3]
    assert "1 zero-length self-loops dropped" in net.notes


def test_local_metric_crs_lengths() -> None:
    crs = local_metric_crs(121.47, 31.23)
    assert crs == "+proj=tmerc +lat_0=31.2300000 +lon_0=121.4700000 +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m"
    to_m = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = to_m.transform([121.47, 121.57], [31.23, 31.30])  # about 12 km apart
    geodesic = GEOD.inv(121.47, 31.23, 121.57, 31.30)[2]
    assert np.hypot(x[1] - x[0], y[1] - y[0]) == pytest.approx(geodesic, rel=1e-5)
    with pytest.raises(Exception, match=r"centre \(lon=200.0, lat=31.0\) is not a WGS-84 point"):
        local_metric_crs(200.0, 31.0)


def _raw_graph() -> nx.MultiGraph:
    """The walkable ways of the fixture, unsplit, one edge per segment with its geodesic length."""
    nodes, ways = _fixture()
    graph = nx.MultiGraph()
    for way in WALKABLE_WAYS:
        refs = ways[way][0]
        for a, b in zip(refs, refs[1:]):
            if a in nodes and b in nodes:
                graph.add_edge(a, b, weight=_geodesic_m([nodes[a], nodes[b]]))
    return graph


def test_csr_is_symmetric_with_shortest_parallel_edge(net: Network) -> None:
    csr = network_to_csr(net.edge_u, net.edge_v, net.edge_length_m, net.n_nodes)
    assert csr.shape == (18, 18) and (csr != csr.T).nnz == 0
    one, two = (int(np.flatnonzero(net.node_osm_id == i)[0]) for i in (1, 2))
    between = ((net.edge_u == one) & (net.edge_v == two)) | ((net.edge_u == two) & (net.edge_v == one))
    parallel = net.edge_length_m[between]
    assert len(parallel) == 2 and csr[one, two] == parallel.min() == csr[two, one]
    assert csr.diagonal().sum() == 0  # the loop 14-15-16-14 is left out


def test_csr_shortest_paths_equal_networkx(net: Network) -> None:
    csr = network_to_csr(net.edge_u, net.edge_v, net.edge_length_m, net.n_nodes)
    raw = _raw_graph()
    ids = net.node_osm_id.tolist()
    for source in (3, 5, 33, 20, 30):
        ours = dijkstra(csr, indices=ids.index(source))
        theirs = nx.single_source_dijkstra_path_length(raw, source)
        for target in EXPECTED_NODES:
            got = ours[ids.index(target)]
            if target in theirs:
                assert got == pytest.approx(theirs[target], rel=REL_TOL, abs=1e-9), (source, target)
            else:
                assert np.isinf(got), (source, target)
    nodes, _ = _fixture()
    by_hand = _geodesic_m([nodes[3], nodes[1]]) + _geodesic_m([nodes[1], nodes[5]])  # west arm, then south arm
    assert dijkstra(csr, indices=ids.index(3))[ids.index(5)] == pytest.approx(by_hand, rel=REL_TOL)


def test_csr_zero_length_edge_connects_and_bad_input_is_named() -> None:
    csr = network_to_csr(np.array([0, 1]), np.array([1, 2]), np.array([0.0, 5.0]), 3)
    assert dijkstra(csr, indices=0).tolist() == [0.0, 0.0, 5.0]
    with pytest.raises(ValueError, match=r"u, v and length_m differ in length \(2, 2, 1\)"):
        network_to_csr(np.array([0, 1]), np.array([1, 2]), np.array([1.0]), 3)
    with pytest.raises(ValueError, match=r"edge end nodes must be in 0..1"):
        network_to_csr(np.array([0]), np.array([2]), np.array([1.0]), 2)
    with pytest.raises(ValueError, match="edge lengths must be finite and >= 0 metres"):
        network_to_csr(np.array([0]), np.array([1]), np.array([-1.0]), 2)


def test_cached_csr_builds_once_per_key(net: Network) -> None:
    clear_csr_cache()
    calls = []

    def build():
        calls.append(1)
        return network_to_csr(net.edge_u, net.edge_v, net.edge_length_m, net.n_nodes)

    first = cached_csr(("db", 1), build)
    assert cached_csr(("db", 1), build) is first and len(calls) == 1
    cached_csr(("db", 2), build)
    assert len(calls) == 2
    clear_csr_cache()


def _tables(db: Path) -> dict[str, pd.DataFrame]:
    con = open_reader(db)
    try:
        return {"nodes": con.execute("SELECT * FROM network_nodes ORDER BY node_id").df(),
                "edges": con.execute("SELECT * EXCLUDE geom, ST_AsText(geom) AS wkt FROM network_edges "
                                     "ORDER BY edge_id").df(),
                "components": con.execute("SELECT * FROM network_components ORDER BY component").df()}
    finally:
        con.close()


def test_ingest_round_trip_and_dependent_tables_cleared(net: Network, settings) -> None:
    with write_session(settings.db_path) as con:
        con.execute("INSERT INTO cell_snaps VALUES (1, 0, 1.0, 2.0, true)")
        con.execute("INSERT INTO facility_snaps VALUES ('f1', 0, 1.0, 2.0, true)")
        con.execute("INSERT INTO cell_access VALUES (1, 'clinic', 10.0, 0.1, 'f1', 'reached')")
    report = ingest_network(FIXTURE, settings=settings, source="fixture")
    assert report.status == "loaded" and report.ways_read == 20 and report.ways_walkable == 13
    assert report.summary["components"] == 3 and report.summary["islands"] == 1
    assert report.summary["main_nodes"] == 14 and report.summary["main_edges"] == 15
    con = open_reader(settings.db_path)
    try:
        stored = read_network(con)
        assert network_load_id(con) == report.load_id
        for table in ("cell_snaps", "facility_snaps", "cell_access"):
            assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table
        load = con.execute("SELECT kind, status, rows_in, rows_ok, rows_inserted FROM loads WHERE load_id = ?",
                           [report.load_id]).fetchone()
        notes = con.execute("SELECT record_id, note FROM load_notes WHERE load_id = ?", [report.load_id]).fetchall()
    finally:
        con.close()
    _assert_same_network(net, stored)
    assert load == ("network", "loaded", 20, 13, 17)
    assert ("component 2", "island: component 2, 2 nodes, 1 edges, 146 m, centre lon 121.480500 lat 31.240000; "
            "kept and flagged, not joined; OSM ways 120") in notes
    assert any(n.startswith("18 nodes, 17 edges, 4.2 km in 3 components; main component 14 nodes, 15 edges, "
                            "1.8 km; 1 island(s)") for _, n in notes)
    assert any("access=private/no without a foot permission: 1" in n for _, n in notes)


def test_reingest_is_idempotent_and_a_new_network_replaces_the_old(settings, tmp_path: Path) -> None:
    first = ingest_network(FIXTURE, settings=settings)
    before = _tables(settings.db_path)
    again = ingest_network(FIXTURE, settings=settings)
    assert again.status == "unchanged" and again.load_id == first.load_id and "nothing changed" in again.message
    forced = ingest_network(FIXTURE, settings=settings, force=True)
    assert forced.load_id == first.load_id + 1
    after = _tables(settings.db_path)
    for name in before:
        pd.testing.assert_frame_equal(before[name], after[name])
    lines = tmp_path / "walk.geojson"
    _lines_frame().iloc[:3].to_file(lines, driver="GeoJSON")
    replaced = ingest_network(lines, settings=settings)
    tables = _tables(settings.db_path)
    assert replaced.status == "loaded" and len(tables["edges"]) == replaced.summary["edges"] < 17
    assert tables["nodes"]["osm_id"].isna().all() and tables["edges"]["osm_way_id"].isna().all()
    back = ingest_network(FIXTURE, settings=settings)  # the earlier file is loaded again, not skipped
    assert back.status == "loaded" and len(_tables(settings.db_path)["edges"]) == 17


def test_errors_say_what_is_wrong(settings, tmp_path: Path) -> None:
    none_walkable = tmp_path / "none.osm"
    none_walkable.write_text(
        '<osm version="0.6"><node id="1" lon="121.0" lat="31.0"/><node id="2" lon="121.001" lat="31.0"/>'
        '<way id="1"><nd ref="1"/><nd ref="2"/><tag k="highway" v="construction"/></way>'
        '<way id="2"><nd ref="1"/><nd ref="2"/><tag k="highway" v="bus_stop"/></way>'
        '<way id="3"><nd ref="1"/><nd ref="2"/><tag k="highway" v="construction"/></way></osm>', encoding="utf-8")
    with pytest.raises(InputError, match=r"no walkable ways: 3 ways read; highway/class values seen: "
                                         r"construction \(2\), bus_stop \(1\)\. Load a street or footpath"):
        ingest_network(none_walkable, settings=settings)
    assert not settings.db_path.exists()  # nothing was written
    unknown = tmp_path / "streets.txt"
    unknown.write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match=r"cannot read streets.txt as a street network: unknown file type; "
                                         r"supported: OSM \.osm\.pbf, \.pbf, \.osm.* or a line layer \.geojson"):
        ingest_network(unknown, settings=settings)
    broken = tmp_path / "broken.osm"
    broken.write_text("not xml", encoding="utf-8")
    with pytest.raises(InputError, match=r"broken.osm cannot be read as an OSM file: XML parsing error"):
        ingest_network(broken, settings=settings)
    with pytest.raises(InputError, match=r"walk.osm is an OSM file \(always WGS-84, one layer\); drop --crs"):
        ingest_network(FIXTURE, settings=settings, crs="gcj02")
    with pytest.raises(InputError, match=r"no file at .*missing.osm.pbf; check the path"):
        ingest_network(tmp_path / "missing.osm.pbf", settings=settings)


def test_read_network_without_a_network(settings) -> None:
    from grid.errors import GridError
    from grid.store import ensure_database

    ensure_database(settings.db_path)
    con = open_reader(settings.db_path)
    try:
        with pytest.raises(GridError, match=r"no walking network in the database; load one with `grid ingest network"):
            read_network(con)
    finally:
        con.close()


def test_cli_ingest_network(tmp_path: Path) -> None:
    grid = str(PROJECT_ROOT / ".venv" / "bin" / "grid")
    db = tmp_path / "g.duckdb"
    out = subprocess.run([grid, "--db", str(db), "ingest", "network", str(FIXTURE)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "network: walk.osm -> load 1 [loaded]" in out.stdout
    assert "18 nodes, 17 edges, 4.2 km in 3 components; main component 14 nodes, 15 edges, 1.8 km" in out.stdout
    assert "not walkable, foot=no: 1" in out.stdout
    bad = subprocess.run([grid, "--db", str(db), "ingest", "network", str(FIXTURE), "--mapping", "amap-poi"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "--mapping, --encoding, --sheet and --study-area do not apply" in bad.stderr


# ----------------------------------------------------------------------------------------------- real data

_NOT_WALKABLE = {"trunk", "trunk_link", "motorway", "motorway_link"}


def _recount(path: Path) -> tuple[dict[int, tuple[float, float]], list[tuple[int, list[int]]]]:
    """Walkable ways of the drive extract read through pyosmium's Python API (slow, simple, independent)."""
    coords, ways, keys = {}, [], Counter()
    for way in osmium.FileProcessor(str(path)).with_locations().with_filter(osmium.filter.EntityFilter(osmium.osm.WAY)):
        keys.update(tag.k for tag in way.tags)
        if way.tags.get("highway") in _NOT_WALKABLE or way.tags.get("access") in ("private", "no"):
            continue
        refs = [n.ref for n in way.nodes]
        coords.update({n.ref: (n.lon, n.lat) for n in way.nodes})
        ways.append((way.id, refs))
    assert not {"foot", "sidewalk", "area"} & set(keys)  # so the simple filter above is the whole filter
    return coords, ways


def _expected_edges(ways: list[tuple[int, list[int]]]) -> list[tuple[int, list[int]]]:
    uses = Counter(ref for _, refs in ways for ref in refs)
    edges = []
    for way_id, refs in ways:
        start = 0
        for i in range(1, len(refs)):
            if i == len(refs) - 1 or uses[refs[i]] >= 2:
                edges.append((way_id, refs[start:i + 1]))
                start = i
    return edges


@pytest.mark.realdata
def test_realdata_shanghai_drive_network(settings) -> None:
    folder = realdata("osm-shanghai-central-drive")
    xml, pbf = folder / "shanghai_central_drive.osm", folder / "shanghai_central_drive.osm.pbf"
    net = network_from_osm(xml)
    _assert_same_network(net, network_from_osm(pbf))
    coords, ways = _recount(pbf)
    edges = _expected_edges(ways)
    assert {n for _, seq in edges for n in (seq[0], seq[-1])} == set(net.node_osm_id.tolist())
    assert _edge_list(net) == sorted((w, (seq[0], seq[-1])) for w, seq in edges)
    assert np.sort(net.edge_length_m) == pytest.approx(
        np.sort([_geodesic_m([coords[n] for n in seq]) for _, seq in edges]), rel=REL_TOL)
    raw = nx.MultiGraph()
    for _, refs in ways:
        for a, b in zip(refs, refs[1:]):
            raw.add_edge(a, b, weight=_geodesic_m([coords[a], coords[b]]))
    assert nx.number_connected_components(raw) == len(net.components)
    # SOURCE.md: 2,458 graph nodes with trunks, 76 components; without trunks fewer of both
    assert raw.number_of_nodes() < 2458 and len(net.components) <= 76
    assert net.n_nodes < raw.number_of_nodes()  # simplified: only junctions and way ends remain
    assert 60_000 < net.components["length_m"].iloc[0] < 101_400  # main component vs SOURCE.md's 64.7 / 101.4 km
    csr = network_to_csr(net.edge_u, net.edge_v, net.edge_length_m, net.n_nodes)
    ids = net.node_osm_id.tolist()
    main = np.flatnonzero(net.node_component == 0)
    for source in main[:: max(1, len(main) // 4)][:4]:
        ours = dijkstra(csr, indices=source)
        theirs = nx.single_source_dijkstra_path_length(raw, ids[source])
        for target in main[::37]:
            assert ours[target] == pytest.approx(theirs[ids[target]], rel=REL_TOL, abs=1e-6)
    report = ingest_network(pbf, settings=settings)
    assert report.summary["components"] == len(net.components)
    con = open_reader(settings.db_path)
    try:
        _assert_same_network(net, read_network(con))
    finally:
        con.close()
