"""Walking-access benchmark: our engine vs pandana vs networkx on the same network.

Prints one JSON object. Measured in one run on one demo database:

* ``ours_end_to_end``: ``compute_access`` (read network/cells/facilities, snap,
  build the search graph, one bounded multi-source Dijkstra per category, write
  ``cell_access``) in a fresh subprocess, with its peak RSS;
* ``same_problem``: the node-to-nearest-facility problem all three tools solve
  identically (facilities on their nearest street node, undirected lengths, the
  same search bound): scipy csgraph (ours) vs pandana ``nearest_pois`` (its
  contraction-hierarchy preprocessing timed separately) vs networkx
  ``multi_source_dijkstra_path_length``; distances compared node by node;
* ``what_if``: median time of an incremental add and remove on one category.

Usage::

    .venv/bin/python benchmarks/access.py                    # default demo city
    .venv/bin/python benchmarks/access.py --scale 20          # ~1 million edges
    .venv/bin/python benchmarks/access.py --db some.duckdb    # an existing database
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from grid.settings import PROJECT_ROOT, get_settings

OUT = PROJECT_ROOT / "benchmarks" / "out"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _ensure_demo(scale: float, seed: int) -> Path:
    db = OUT / f"demo-scale{scale:g}-seed{seed}.duckdb"
    if not db.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        from grid.demo import DemoSpec, build_demo

        started = time.perf_counter()
        build_demo(get_settings(db_path=db), spec=DemoSpec(seed=seed, scale=scale),
                   out_dir=OUT / f"demo-files-scale{scale:g}-seed{seed}")
        print(f"built {db.name} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return db


def _ours_end_to_end(db: Path) -> dict:
    """compute_access in this process (called in a subprocess by main)."""
    from grid.accessibility.compute import compute_access

    settings = get_settings(db_path=db)
    started = time.perf_counter()
    report = compute_access(settings)
    return {"seconds": round(time.perf_counter() - started, 3), "seconds_build": round(report.seconds_build, 3),
            "seconds_search_all_categories": round(report.seconds_search, 3),
            "max_seconds_one_category": round(max(report.seconds_per_category.values(), default=0.0), 4),
            "cells": report.cells, "facilities": report.facilities, "categories": report.categories,
            "rows_written": report.rows_written, "bound_m": report.bound_m, "peak_rss_mb": round(_peak_rss_mb())}


def _problem(db: Path) -> dict:
    """Arrays of the same-problem comparison, read once from the database."""
    from grid.accessibility.compute import search_bound_m
    from grid.store import open_reader

    con = open_reader(db)
    try:
        nodes = con.execute("SELECT node_id, lon, lat FROM network_nodes ORDER BY node_id").to_arrow_table().to_pandas()
        edges = con.execute("SELECT u, v, length_m FROM network_edges").to_arrow_table().to_pandas()
        fac = con.execute("SELECT category, lon, lat FROM facilities").to_arrow_table().to_pandas()
    finally:
        con.close()
    from scipy.spatial import cKDTree

    from grid.accessibility.engine import to_metric
    from grid.network import local_metric_crs

    crs = local_metric_crs(float(nodes["lon"].mean()), float(nodes["lat"].mean()))
    x, y = to_metric(crs, nodes["lon"].to_numpy(), nodes["lat"].to_numpy())
    fx, fy = to_metric(crs, fac["lon"].to_numpy(), fac["lat"].to_numpy())
    fac["node"] = cKDTree(np.column_stack([x, y])).query(np.column_stack([fx, fy]))[1]
    return {"x": x, "y": y, "u": edges["u"].to_numpy(np.int64), "v": edges["v"].to_numpy(np.int64),
            "w": edges["length_m"].to_numpy(float), "fac": fac, "bound_m": search_bound_m(get_settings(db_path=db))}


def _ours_same_problem(p: dict) -> tuple[dict, dict[str, np.ndarray]]:
    from scipy.sparse.csgraph import dijkstra

    from grid.network import network_to_csr

    started = time.perf_counter()
    csr = network_to_csr(p["u"], p["v"], p["w"], len(p["x"]))
    build = time.perf_counter() - started
    out, per = {}, {}
    for category, group in p["fac"].groupby("category"):
        t0 = time.perf_counter()
        out[category] = dijkstra(csr, directed=True, indices=np.unique(group["node"]), min_only=True,
                                 limit=p["bound_m"])
        per[category] = time.perf_counter() - t0
    return {"seconds_build_csr": round(build, 3), "seconds_all_categories": round(sum(per.values()), 3),
            "max_seconds_one_category": round(max(per.values()), 4)}, out


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """pandana's C++ code prints progress to stdout; keep stdout for the JSON."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _pandana(p: dict) -> tuple[dict, dict[str, np.ndarray]]:
    import pandana

    nodes = pd.DataFrame({"x": p["x"], "y": p["y"]})
    edges = pd.DataFrame({"from": p["u"], "to": p["v"], "length_m": p["w"]})
    started = time.perf_counter()
    net = pandana.Network(nodes["x"], nodes["y"], edges["from"], edges["to"], edges[["length_m"]], twoway=True)
    prep = time.perf_counter() - started
    out, per = {}, {}
    for category, group in p["fac"].groupby("category"):
        t0 = time.perf_counter()
        net.set_pois(category, p["bound_m"], 1, p["x"][group["node"]], p["y"][group["node"]])
        found = net.nearest_pois(p["bound_m"], category, num_pois=1, max_distance=np.inf)
        per[category] = time.perf_counter() - t0
        out[category] = found[1].to_numpy(float)
    return {"seconds_preprocessing": round(prep, 3), "seconds_query_all_categories": round(sum(per.values()), 3)}, out


def _networkx(p: dict, categories: list[str]) -> tuple[dict, dict[str, np.ndarray]]:
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from(range(len(p["x"])))
    g.add_weighted_edges_from(zip(p["u"].tolist(), p["v"].tolist(), p["w"].tolist()), weight="w")
    out, per = {}, {}
    for category in categories:
        sources = set(p["fac"].loc[p["fac"]["category"] == category, "node"].tolist())
        t0 = time.perf_counter()
        found = nx.multi_source_dijkstra_path_length(g, sources, cutoff=p["bound_m"], weight="w")
        per[category] = time.perf_counter() - t0
        dist = np.full(len(p["x"]), np.inf)
        dist[list(found)] = list(found.values())
        out[category] = dist
    return {"seconds_categories": round(sum(per.values()), 3), "categories": len(categories)}, out


def _compare(a: dict[str, np.ndarray], b: dict[str, np.ndarray], bound_m: float) -> dict:
    """Largest distance difference where both reach a node, and nodes reached by one only.

    pandana computes in float32 (about 0.02 m at 1,500 m); a node within 0.1 m of the
    bound may fall either side of it, so those are counted apart.
    """
    worst, one_sided, at_bound = 0.0, 0, 0
    for category in b:
        x, y = a[category], b[category]
        fx, fy = np.isfinite(x), np.isfinite(y)
        worst = max(worst, float(np.max(np.abs(x[fx & fy] - y[fx & fy]), initial=0.0)))
        differ = fx != fy
        near = np.where(fx, x, y) >= bound_m - 0.1
        at_bound += int((differ & near).sum())
        one_sided += int((differ & ~near).sum())
    return {"max_abs_diff_m": worst, "nodes_reached_by_one_only": one_sided,
            "nodes_within_0.1_m_of_the_bound_reached_by_one_only": at_bound}


def _what_if(db: Path, repeats: int = 20) -> dict:
    from grid.accessibility.compute import engine_from_database
    from grid.store import open_reader

    settings = get_settings(db_path=db)
    con = open_reader(db)
    try:
        engine = engine_from_database(con, settings)
    finally:
        con.close()
    category = "kindergarten" if "kindergarten" in engine.categories() else engine.categories()[0]
    engine.node_access(category)
    rng = np.random.default_rng(0)
    cells = rng.choice(len(engine.cell_h3), repeats)
    from grid.h3index import cells_to_lonlat

    lon, lat = cells_to_lonlat(engine.cell_h3[cells])
    add, remove = [], []
    members = engine.facility_ids[engine.facility_category == category]
    for k in range(repeats):
        t0 = time.perf_counter()
        engine.what_if(category, add=[(float(lon[k]), float(lat[k]))], max_snap_m=settings.max_snap_m)
        add.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        engine.what_if(category, remove=[str(members[k % len(members)])], max_snap_m=settings.max_snap_m)
        remove.append(time.perf_counter() - t0)
    return {"category": category, "median_ms_add": round(1000 * float(np.median(add)), 1),
            "median_ms_remove": round(1000 * float(np.median(remove)), 1),
            "max_ms": round(1000 * max(add + remove), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--db", type=Path, help="Use this database instead of building a demo city.")
    parser.add_argument("--nx-categories", type=int, default=0, help="networkx on the first N categories (0 = all).")
    parser.add_argument("--ours-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ours_only:
        print(json.dumps(_ours_end_to_end(args.db)))
        return
    db = args.db or _ensure_demo(args.scale, args.seed)
    ours = subprocess.run([sys.executable, __file__, "--ours-only", "--db", str(db)], check=True,
                          capture_output=True, text=True)
    result = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count()}, "db": str(db),
              "ours_end_to_end": json.loads(ours.stdout.strip().splitlines()[-1])}
    p = _problem(db)
    result["network"] = {"nodes": len(p["x"]), "edges": len(p["u"]), "facilities": len(p["fac"]),
                         "categories": int(p["fac"]["category"].nunique()), "bound_m": p["bound_m"]}
    ours_fig, ours_d = _ours_same_problem(p)
    with _stdout_to_stderr():
        pandana_fig, pandana_d = _pandana(p)
    cats = sorted(ours_d)[: args.nx_categories or None]
    nx_fig, nx_d = _networkx(p, cats)
    result["same_problem"] = {"ours": ours_fig, "pandana": pandana_fig, "networkx": nx_fig,
                              "vs_pandana": _compare(ours_d, pandana_d, p["bound_m"]),
                              "vs_networkx": _compare(ours_d, nx_d, p["bound_m"])}
    ours_subset = sum(_time_subset(p, cats))
    result["same_problem"]["speedup_vs_networkx"] = round(nx_fig["seconds_categories"] / ours_subset, 1)
    result["same_problem"]["speedup_vs_pandana_query"] = round(
        pandana_fig["seconds_query_all_categories"] / ours_fig["seconds_all_categories"], 2)
    result["what_if"] = _what_if(db)
    print(json.dumps(result, indent=2))


def _time_subset(p: dict, categories: list[str]) -> list[float]:
    """Our time on the networkx subset of categories (for a like-for-like speed-up)."""
    from scipy.sparse.csgraph import dijkstra

    from grid.network import network_to_csr

    csr = network_to_csr(p["u"], p["v"], p["w"], len(p["x"]))
    times = []
    for category in categories:
        nodes = np.unique(p["fac"].loc[p["fac"]["category"] == category, "node"])
        t0 = time.perf_counter()
        dijkstra(csr, directed=True, indices=nodes, min_only=True, limit=p["bound_m"])
        times.append(time.perf_counter() - t0)
    return times


if __name__ == "__main__":
    main()
