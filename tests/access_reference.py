"""An independent reference for stored access: networkx Dijkstra on the stored
network with every stored snap point inserted by plain Python, and a brute-force
nearest-edge check with shapely. Used by the demo-city and real-data tests."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely

from grid.store import open_reader

GEOD = pyproj.Geod(ellps="WGS84")


def read_tables(db_path) -> dict[str, pd.DataFrame]:
    con = open_reader(db_path)
    try:
        q = lambda sql: con.execute(sql).to_arrow_table().to_pandas()  # noqa: E731
        return {
            "edges": q("SELECT e.edge_id, e.u, e.v, e.length_m, ST_AsWKB(e.geom) AS wkb, c.is_island "
                       "FROM network_edges e JOIN network_components c USING (component) ORDER BY edge_id"),
            "cells": q("SELECT s.h3, s.edge_id, s.along_m, s.snap_m, s.on_network, c.lon, c.lat "
                       "FROM cell_snaps s JOIN cells c USING (h3)"),
            "facilities": q("SELECT s.*, f.category, f.lon, f.lat FROM facility_snaps s JOIN facilities f "
                            "USING (facility_id)"),
            "access": q("SELECT * FROM cell_access"),
            "meta": q("SELECT * FROM meta"),
        }
    finally:
        con.close()


def split_graph(tables: dict[str, pd.DataFrame]) -> nx.Graph:
    """The street graph with each on-network cell and facility snap point inserted as its own node."""
    edges = tables["edges"]
    g = nx.Graph()
    for u, v, w in zip(edges["u"], edges["v"], edges["length_m"]):
        if u != v and (not g.has_edge(u, v) or g[u][v]["w"] > w):
            g.add_edge(int(u), int(v), w=float(w))
    points: dict[int, list] = {}
    for kind, frame, key in (("c", tables["cells"], "h3"), ("f", tables["facilities"], "facility_id")):
        on = frame[frame["on_network"]]
        for item, edge, along in zip(on[key], on["edge_id"], on["along_m"]):
            points.setdefault(int(edge), []).append((float(along), (kind, item)))
    for edge, pts in points.items():
        u, v, w = (edges.loc[edge, c] for c in ("u", "v", "length_m"))
        chain = [(0.0, int(u))] + sorted(pts, key=lambda p: p[0]) + [(float(w), int(v))]
        for (p0, k0), (p1, k1) in zip(chain[:-1], chain[1:]):
            if k0 != k1 and (not g.has_edge(k0, k1) or g[k0][k1]["w"] > p1 - p0):
                g.add_edge(k0, k1, w=p1 - p0)
    return g


def reference_distances(tables: dict[str, pd.DataFrame], g: nx.Graph, category: str, bound_m: float) -> pd.Series:
    """networkx distance (m) per cell h3 to the nearest facility of ``category``; NaN beyond ``bound_m``."""
    fac = tables["facilities"]
    fac = fac[(fac["category"] == category) & fac["on_network"]]
    graph = g.copy()
    sources = []
    for fid, snap in zip(fac["facility_id"], fac["snap_m"]):
        graph.add_edge(("leaf", fid), ("f", fid), w=float(snap))
        sources.append(("leaf", fid))
    dist = nx.multi_source_dijkstra_path_length(graph, sources, cutoff=bound_m, weight="w") if sources else {}
    cells = tables["cells"]
    out = [dist.get(("c", h), np.inf) + s if on else np.nan
           for h, s, on in zip(cells["h3"], cells["snap_m"], cells["on_network"])]
    values = np.array(out, dtype=float)
    return pd.Series(np.where(values <= bound_m, values, np.nan), index=cells["h3"].to_numpy())


def straight_line_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


def brute_force_snap_m(tables: dict[str, pd.DataFrame], sample: pd.DataFrame) -> np.ndarray:
    """Distance (m) from each sampled point to the nearest edge outside islands, measuring every edge."""
    crs = tables["meta"].set_index("key").loc["access_metric_crs", "value"]
    to_m = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    edges = tables["edges"][~tables["edges"]["is_island"]]
    geoms = shapely.from_wkb(edges["wkb"].to_numpy(object))
    edges_m = shapely.transform(geoms, lambda xy: np.column_stack(to_m.transform(xy[:, 0], xy[:, 1])))
    x, y = to_m.transform(sample["lon"].to_numpy(), sample["lat"].to_numpy())
    return np.array([shapely.distance(edges_m, shapely.Point(px, py)).min() for px, py in zip(x, y)])
