"""The access engine against independent references: a hand-drawn network with
distances written here, and networkx Dijkstra on a jittered lattice with edges
split at every snap point by plain Python."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import shapely

from grid.accessibility import (NodeAccess, Snaps, add_facility, build_access_graph, cells_from_nodes,
                                nearest_facility, remove_facility, snap_points)

# ----------------------------------------------------------------- hand-drawn: a street 0-1-2 and a spur 1-3
#   0 (0,0) ---- 1 (100,0) ---- 2 (300,0)
#                 |
#                 3 (100,50)
XY = np.array([[0.0, 0.0], [100.0, 0.0], [300.0, 0.0], [100.0, 50.0]])
U, V = np.array([0, 1, 1]), np.array([1, 2, 3])


def _lines(u: np.ndarray, v: np.ndarray, xy: np.ndarray) -> np.ndarray:
    return shapely.linestrings(np.stack([xy[u], xy[v]], axis=1))


def test_hand_drawn_distances_are_snap_in_plus_network_plus_snap_out() -> None:
    edges = _lines(U, V, XY)
    length = shapely.length(edges)
    facility = snap_points(edges, length, np.array([250.0]), np.array([10.0]), max_snap_m=250)
    cells = snap_points(edges, length, np.array([20.0, 280.0, 110.0, 5000.0]), np.array([-30.0, 5.0, 40.0, 0.0]),
                        max_snap_m=250)
    assert facility.edge_id.tolist() == [1] and facility.along_m[0] == pytest.approx(150.0)
    graph = build_access_graph(4, U, V, length, cells, facility)
    access = cells_from_nodes(graph, nearest_facility(graph, np.array([0]), bound_m=1500))
    # cell 0: 30 m snap to (20,0), 80 m to node 1, 150 m to the facility's snap point, 10 m snap = 270 m
    # cell 1: same street, 30 m apart along it: 5 + 30 + 10 = 45 m (no detour through an intersection)
    # cell 2: snaps to the spur at (100,40): 10 + 40 + 150 + 10 = 210 m
    # cell 3: 4,700 m from the network: off network, no distance (never 0)
    np.testing.assert_allclose(access.distance_m[:3], [270.0, 45.0, 210.0])
    assert np.isnan(access.distance_m[3]) and access.status.tolist() == [0, 0, 0, 2]
    assert access.facility.tolist() == [0, 0, 0, -1]


def test_bound_gives_null_not_a_distance() -> None:
    edges = _lines(U, V, XY)
    length = shapely.length(edges)
    facility = snap_points(edges, length, np.array([300.0]), np.array([0.0]), max_snap_m=250)
    cells = snap_points(edges, length, np.array([0.0]), np.array([0.0]), max_snap_m=250)
    graph = build_access_graph(4, U, V, length, cells, facility)
    assert cells_from_nodes(graph, nearest_facility(graph, np.array([0]), bound_m=1000)).distance_m[0] == 300.0
    bounded = cells_from_nodes(graph, nearest_facility(graph, np.array([0]), bound_m=299.0))
    assert np.isnan(bounded.distance_m[0]) and bounded.status[0] == 1 and bounded.facility[0] == -1


# ----------------------------------------------------------------- networkx reference on a jittered lattice

@pytest.fixture(scope="module")
def lattice() -> dict:
    rng = np.random.default_rng(7)
    n = 40
    gx, gy = np.meshgrid(np.arange(n) * 100.0, np.arange(n) * 100.0)
    xy = np.column_stack([(gx + rng.normal(0, 20, gx.shape)).ravel(), (gy + rng.normal(0, 20, gy.shape)).ravel()])
    idx = np.arange(n * n).reshape(n, n)
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    keep = rng.random(len(u)) > 0.2  # missing links make detours
    u, v = u[keep], v[keep]
    edges = _lines(u, v, xy)
    length = shapely.length(edges)
    cxy = rng.uniform(-150, 4050, (2500, 2))
    fxy = rng.uniform(0, 3900, (30, 2))
    cells = snap_points(edges, length, cxy[:, 0], cxy[:, 1], max_snap_m=60)
    facilities = snap_points(edges, length, fxy[:, 0], fxy[:, 1], max_snap_m=60)
    return dict(n=n * n, u=u, v=v, edges=edges, length=length, cxy=cxy, fxy=fxy, cells=cells, facilities=facilities)


def _reference(lat: dict, facilities: Snaps, members: np.ndarray, bound_m: float) -> np.ndarray:
    """networkx: split every edge at its snap points by hand, hang facilities off, multi-source Dijkstra."""
    g = nx.Graph()
    for a, b, w in zip(lat["u"], lat["v"], lat["length"]):
        g.add_edge(int(a), int(b), w=float(w))
    points: dict[int, list] = {}
    cells = lat["cells"]
    for i in np.flatnonzero(cells.on_network):
        points.setdefault(int(cells.edge_id[i]), []).append((float(cells.along_m[i]), ("c", int(i))))
    for j in np.flatnonzero(facilities.on_network):
        points.setdefault(int(facilities.edge_id[j]), []).append((float(facilities.along_m[j]), ("f", int(j))))
    for e, pts in points.items():
        a, b, total = int(lat["u"][e]), int(lat["v"][e]), float(lat["length"][e])
        g.remove_edge(a, b)
        chain = [(0.0, a)] + sorted(pts, key=lambda p: p[0]) + [(total, b)]
        for (p0, k0), (p1, k1) in zip(chain[:-1], chain[1:]):
            g.add_edge(k0, k1, w=p1 - p0)
    sources = []
    for j in members:
        if facilities.on_network[j]:
            g.add_edge(("leaf", int(j)), ("f", int(j)), w=float(facilities.snap_m[j]))
            sources.append(("leaf", int(j)))
    dist = nx.multi_source_dijkstra_path_length(g, sources, weight="w") if sources else {}
    out = np.array([dist.get(("c", i), np.inf) + cells.snap_m[i] if cells.on_network[i] else np.nan
                    for i in range(len(cells.edge_id))])
    return np.where(out <= bound_m, out, np.nan)


def test_distances_equal_networkx_for_every_cell(lattice: dict) -> None:
    graph = build_access_graph(lattice["n"], lattice["u"], lattice["v"], lattice["length"], lattice["cells"],
                               lattice["facilities"])
    members = np.arange(30)
    ours = cells_from_nodes(graph, nearest_facility(graph, members, bound_m=800.0)).distance_m
    ref = _reference(lattice, lattice["facilities"], members, 800.0)
    assert (np.isnan(ours) == np.isnan(ref)).all()
    assert np.nanmax(np.abs(ours - ref)) < 0.1
    assert np.isfinite(ours).sum() > 1000 and np.isnan(ours).sum() > 50  # both cases exercised


def test_never_closer_than_straight_line(lattice: dict) -> None:
    graph = build_access_graph(lattice["n"], lattice["u"], lattice["v"], lattice["length"], lattice["cells"],
                               lattice["facilities"])
    access = cells_from_nodes(graph, nearest_facility(graph, np.arange(30), bound_m=1500.0))
    ok = access.facility >= 0
    straight = np.hypot(*(lattice["cxy"][ok] - lattice["fxy"][access.facility[ok]]).T)
    assert (access.distance_m[ok] >= straight - 1e-6).all()


def test_what_if_equals_full_recompute(lattice: dict) -> None:
    cells, fac = lattice["cells"], lattice["facilities"]
    args = (lattice["n"], lattice["u"], lattice["v"], lattice["length"], cells)
    graph = build_access_graph(*args, fac)
    base = nearest_facility(graph, np.arange(29), bound_m=1000.0)  # facility 29 is the one we will add
    added = NodeAccess(base.dist_m.copy(), base.facility.copy(), base.bound_m)
    add_facility(graph, added, edge=int(fac.edge_id[29]), along_m=float(fac.along_m[29]),
                 snap_m=float(fac.snap_m[29]), facility=29)
    full = nearest_facility(graph, np.arange(30), bound_m=1000.0)
    a, f = cells_from_nodes(graph, added), cells_from_nodes(graph, full)
    np.testing.assert_allclose(np.nan_to_num(a.distance_m, nan=-1), np.nan_to_num(f.distance_m, nan=-1), atol=1e-9)
    assert (a.facility == f.facility).all() and (a.facility == 29).sum() > 10
    for gone in (0, 29):
        removed = NodeAccess(full.dist_m.copy(), full.facility.copy(), full.bound_m)
        remove_facility(graph, removed, facility=gone)
        again = cells_from_nodes(graph, nearest_facility(graph, np.setdiff1d(np.arange(30), [gone]), bound_m=1000.0))
        r = cells_from_nodes(graph, removed)
        np.testing.assert_allclose(np.nan_to_num(r.distance_m, nan=-1), np.nan_to_num(again.distance_m, nan=-1),
                                   atol=1e-9)
        assert (r.facility == again.facility).all()


def test_what_if_on_a_point_not_in_the_graph_equals_a_rebuilt_graph(lattice: dict) -> None:
    cells, fac = lattice["cells"], lattice["facilities"]
    args = (lattice["n"], lattice["u"], lattice["v"], lattice["length"], cells)
    graph = build_access_graph(*args, fac)
    new = snap_points(lattice["edges"], lattice["length"], np.array([1234.0]), np.array([2345.0]), max_snap_m=60)
    nodes = nearest_facility(graph, np.arange(30), bound_m=1000.0)
    add_facility(graph, nodes, edge=int(new.edge_id[0]), along_m=float(new.along_m[0]),
                 snap_m=float(new.snap_m[0]), facility=30)
    rebuilt_snaps = Snaps(*(np.r_[getattr(fac, k), getattr(new, k)] for k in ("edge_id", "along_m", "snap_m")))
    rebuilt = build_access_graph(*args, rebuilt_snaps)
    expect = cells_from_nodes(rebuilt, nearest_facility(rebuilt, np.arange(31), bound_m=1000.0))
    got = cells_from_nodes(graph, nodes)
    np.testing.assert_allclose(np.nan_to_num(got.distance_m, nan=-1), np.nan_to_num(expect.distance_m, nan=-1),
                               atol=1e-9)
    assert (got.facility == expect.facility).all()
