"""Compute and store walking access for every populated cell and facility category.

``grid access compute``: read the network, populated cells and facilities,
build the :class:`~grid.accessibility.engine.AccessEngine`, run one bounded
multi-source Dijkstra per category, and replace ``cell_snaps``,
``facility_snaps`` and ``cell_access`` in one write session.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

import duckdb
import numpy as np
import pandas as pd
import shapely

from grid.accessibility.dijkstra import STATUS
from grid.accessibility.engine import AccessEngine, build_engine
from grid.errors import InputError
from grid.settings import Settings
from grid.standards import max_walk_threshold_m, speed_m_per_min
from grid.store import open_reader, write_session

__all__ = ["AccessReport", "cached_engine", "compute_access", "engine_from_database", "search_bound_m"]

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


@dataclass
class AccessReport:
    """What a compute run did: sizes, off-network counts, timings in seconds."""

    cells: int = 0
    cells_off_network: int = 0
    facilities: int = 0
    facilities_off_network: int = 0
    categories: int = 0
    rows_written: int = 0
    bound_m: float = 0.0
    seconds_build: float = 0.0
    seconds_search: float = 0.0
    seconds_per_category: dict[str, float] = field(default_factory=dict)


def search_bound_m(settings: Settings) -> float:
    """Search bound (m): the largest walking threshold in use plus ``settings.access_margin_m``."""
    return max_walk_threshold_m(settings) + settings.access_margin_m


def _fetch(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    return con.execute(sql).to_arrow_table().to_pandas()


def engine_from_database(con: duckdb.DuckDBPyConnection, settings: Settings) -> AccessEngine:
    """Build the engine from the network, populated cells and facilities in ``con``."""
    n_nodes = con.execute("SELECT count(*) FROM network_nodes").fetchone()[0]
    if n_nodes == 0:
        raise InputError("the database has no street network: load one with `grid ingest network FILE` "
                         "(an OSM .osm.pbf/.osm extract or a line layer), then run `grid access compute`")
    edges = _fetch(con, "SELECT e.u, e.v, e.length_m, ST_AsWKB(e.geom) AS wkb, NOT c.is_island AS snappable "
                        "FROM network_edges e JOIN network_components c USING (component) ORDER BY e.edge_id")
    geoms = shapely.from_wkb(edges.pop("wkb").to_numpy(object))  # drop the WKB bytes as soon as parsed
    cells = _fetch(con, "SELECT h3, lon, lat FROM cells WHERE population > 0 ORDER BY h3")
    fac = _fetch(con, "SELECT facility_id, category, lon, lat FROM facilities ORDER BY facility_id")
    return build_engine(
        n_nodes=int(n_nodes), edge_u=edges["u"].to_numpy(np.int64), edge_v=edges["v"].to_numpy(np.int64),
        edge_length_m=edges["length_m"].to_numpy(float),
        edges_wgs84=geoms,
        cell_h3=cells["h3"].to_numpy(np.uint64), cell_lon=cells["lon"].to_numpy(float),
        cell_lat=cells["lat"].to_numpy(float), facility_ids=fac["facility_id"].to_numpy(object),
        facility_category=fac["category"].to_numpy(object), facility_lon=fac["lon"].to_numpy(float),
        facility_lat=fac["lat"].to_numpy(float), max_snap_m=settings.max_snap_m, bound_m=search_bound_m(settings),
        snappable=np.flatnonzero(edges["snappable"].to_numpy(bool)))


def _snap_frames(engine: AccessEngine) -> tuple[pd.DataFrame, pd.DataFrame]:
    frames = []
    for key, ids, snaps in (("h3", engine.cell_h3, engine.cell_snaps),
                            ("facility_id", engine.facility_ids, engine.facility_snaps)):
        on = snaps.on_network
        frames.append(pd.DataFrame({key: ids, "edge_id": pd.array(np.where(on, snaps.edge_id, 0), dtype="Int64"),
                                    "along_m": snaps.along_m, "snap_m": snaps.snap_m, "on_network": on}))
        frames[-1].loc[~on, "edge_id"] = pd.NA
    return frames[0], frames[1]


def _category_frame(engine: AccessEngine, category: str, speed: float) -> pd.DataFrame:
    access = engine.cell_access(category, cache=False)
    reached = access.facility >= 0
    facility_id = np.where(reached, engine.facility_ids[np.maximum(access.facility, 0)], None)
    return pd.DataFrame({"h3": engine.cell_h3, "category": category, "distance_m": access.distance_m,
                         "walk_min": access.distance_m / speed, "facility_id": facility_id,
                         "status": np.array(STATUS, dtype=object)[access.status]})


def _replace(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    con.execute(f"DELETE FROM {table}")  # table names from the fixed list in _write
    con.register("_frame", frame)
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _frame")
    con.unregister("_frame")


def _write(con: duckdb.DuckDBPyConnection, engine: AccessEngine, access: pd.DataFrame, speed: float) -> None:
    cell_snaps, facility_snaps = _snap_frames(engine)
    for table, frame in (("cell_snaps", cell_snaps), ("facility_snaps", facility_snaps), ("cell_access", access)):
        _replace(con, table, frame)
    network_load = con.execute("SELECT max(load_id) FROM loads WHERE kind = 'network' AND status = 'ok'").fetchone()[0]
    meta = {"access_bound_m": f"{engine.bound_m:g}", "access_speed_m_per_min": f"{speed:g}",
            "access_computed_at": datetime.now(timezone.utc).isoformat(),
            "access_network_load_id": str(network_load), "access_metric_crs": engine.metric_crs}
    con.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(meta.items()))


def compute_access(settings: Settings, *, progress: Progress | None = None) -> AccessReport:
    """Compute ``cell_access`` for every category with facilities; all-or-nothing."""
    step = progress or (lambda _name: None)
    report = AccessReport()
    speed = speed_m_per_min(settings, "adult")
    with write_session(settings.db_path, h3_res=settings.h3_res) as con:
        started = time.perf_counter()
        step("snapping cells and facilities to the network")
        engine = engine_from_database(con, settings)
        report.seconds_build = time.perf_counter() - started
        frames = []
        categories = engine.categories()
        for i, category in enumerate(categories, 1):
            step(f"category {i}/{len(categories)}: {category}")
            t0 = time.perf_counter()
            frames.append(_category_frame(engine, category, speed))
            report.seconds_per_category[category] = time.perf_counter() - t0
        report.seconds_search = sum(report.seconds_per_category.values())
        access = pd.concat(frames, ignore_index=True) if frames else _category_frame(engine, "none", speed)[:0]
        step("writing cell_access")
        _write(con, engine, access, speed)
    report.cells, report.facilities = len(engine.cell_h3), len(engine.facility_ids)
    report.cells_off_network = int((~engine.cell_snaps.on_network).sum())
    report.facilities_off_network = int((~engine.facility_snaps.on_network).sum())
    report.categories, report.rows_written, report.bound_m = len(categories), len(access), engine.bound_m
    log.info("access computed: %d cells x %d categories in %.2f s", report.cells, report.categories,
             report.seconds_build + report.seconds_search)
    return report


_engines: dict[tuple[str, int, int], AccessEngine] = {}
_engines_lock = threading.Lock()
_build_lock = threading.Lock()


def cached_engine(settings: Settings) -> AccessEngine:
    """The engine of the current database file, built once per file version (path, inode, mtime).

    A writer replaces the file atomically, so a new version gets a new engine; the
    previous one is dropped. What-if changes work on copies and never alter it.
    """
    stat = os.stat(settings.db_path)
    key = (str(settings.db_path), stat.st_ino, stat.st_mtime_ns)
    with _build_lock:  # one build at a time: a second caller waits for the first's engine
        with _engines_lock:
            if key in _engines:
                return _engines[key]
        con = open_reader(settings.db_path)
        try:
            engine = engine_from_database(con, settings)
        finally:
            con.close()
        with _engines_lock:
            for old in [k for k in _engines if k[0] == key[0]]:
                del _engines[old]
            _engines[key] = engine
    return engine
