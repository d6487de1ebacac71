"""``grid ingest network``: the walking network into the store, replacing the previous one.

Read (OSM PBF/XML or a line layer) -> build the graph (:mod:`grid.network`) ->
in one write session: record the load, replace ``network_nodes``,
``network_edges`` and ``network_components``, clear what depended on the old
network (``cell_snaps``, ``facility_snaps``, ``cell_access``; ``grid access
compute`` rebuilds them), and note every island. Islands are kept and flagged,
never joined or dropped. Loading the file that made the current network again,
with the same options and walkable table, changes nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from grid.crs import parse_crs
from grid.errors import GridError, InputError
from grid.io.readers import read_source
from grid.network import (LINE_SUFFIXES, OSM_SUFFIXES, REASONS, Network, Ways, is_osm_path, load_walkable_rules,
                          network_from_ways, network_summary, read_line_ways, read_osm_ways, walkable_rules_path)
from grid.settings import Settings, get_settings
from grid.store import open_reader, write_session
from grid.store.loads import begin_load, finish_load, write_notes

__all__ = ["NetworkLoadReport", "ingest_network", "read_network", "network_load_id", "write_network"]

log = logging.getLogger(__name__)

Progress = Callable[[str], None]

# Cleared by every network load, in this order (names from this allow-list only).
_REPLACED_TABLES = ("cell_access", "cell_snaps", "facility_snaps", "network_edges", "network_nodes",
                    "network_components")
_ISLAND_WAYS_SHOWN = 5
_WGS84 = parse_crs(None)


@dataclass
class NetworkLoadReport:
    """What a network load did: ways read and kept, graph size, components and islands."""

    file_name: str
    load_id: int | None
    status: str
    kind: str = "network"
    source_crs: str = _WGS84
    ways_read: int = 0
    ways_walkable: int = 0
    excluded: dict[str, int] = field(default_factory=dict)
    summary: dict[str, float | int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    message: str = ""

    def lines(self) -> list[str]:
        """The report as short lines for the command line."""
        out = [f"network: {self.file_name} -> load {self.load_id} [{self.status}]", f"  {self.message}"]
        if self.status == "unchanged":
            return out
        out.append(f"  ways read {self.ways_read:,}, walkable {self.ways_walkable:,}, datum {self.source_crs}")
        out += [f"  not walkable, {REASONS.get(code, code)}: {count:,}" for code, count in self.excluded.items()]
        return out + [f"  note: {note}" for note in self.notes]


def _source_kind(path: Path) -> str:
    """'osm' or 'lines' by the file name; InputError naming the supported formats otherwise."""
    if is_osm_path(path):
        return "osm"
    if path.suffix.lower() in LINE_SUFFIXES:
        return "lines"
    raise InputError(f"cannot read {path.name} as a street network: unknown file type; supported: OSM "
                     f"{', '.join(OSM_SUFFIXES)} or a line layer {', '.join(LINE_SUFFIXES)}")


def network_load_id(con: duckdb.DuckDBPyConnection) -> int | None:
    """Id of the load that wrote the current network (a stable cache key), or None."""
    row = con.execute("SELECT max(load_id) FROM loads WHERE kind = 'network' "
                      "AND status IN ('loaded', 'loaded_with_rejects')").fetchone()
    return None if row[0] is None else int(row[0])


def _current_load(db_path: Path) -> tuple[int, str, str] | None:
    """(load_id, sha256, options_json) of the load that wrote the current network."""
    if not db_path.exists():
        return None
    con = open_reader(db_path, spatial=False)
    try:
        load_id = network_load_id(con)
        if load_id is None:
            return None
        sha, options = con.execute("SELECT file_sha256, options_json FROM loads WHERE load_id = ?",
                                   [load_id]).fetchone()
        return load_id, sha, options
    finally:
        con.close()


def _read_ways(path: Path, kind: str, *, layer: str | None, crs: str | int | None,
               geodata_dir: Path) -> tuple[Ways, str]:
    """Walkable ways of the file and the datum its coordinates were in."""
    rules = load_walkable_rules(walkable_rules_path(geodata_dir))
    if kind == "osm":
        if layer is not None or parse_crs(crs) != _WGS84:
            raise InputError(f"{path.name} is an OSM file (always WGS-84, one layer); drop --crs and --layer")
        return read_osm_ways(path, rules=rules), _WGS84
    table = read_source(path, layer=layer)
    used = parse_crs(crs or table.crs)
    return read_line_ways(table.frame, crs=used, rules=rules), used


def _island_ways(net: Network, count: int) -> list[str]:
    """Per component, its first OSM way ids as text ('' for line layers)."""
    if net.edge_way_id is None:
        return [""] * count
    order = np.lexsort((net.edge_way_id, net.edge_component))
    comp, way = net.edge_component[order], net.edge_way_id[order]
    distinct = np.concatenate([[True], (comp[1:] != comp[:-1]) | (way[1:] != way[:-1])])
    comp, way = comp[distinct], way[distinct]
    per_comp = np.bincount(comp, minlength=count)
    rank = np.arange(len(comp)) - np.repeat(np.cumsum(per_comp) - per_comp, per_comp)
    shown = rank < _ISLAND_WAYS_SHOWN
    text = way[shown].astype(str).tolist()
    ends = np.cumsum(np.bincount(comp[shown], minlength=count)).tolist()
    return [f"; OSM ways {', '.join(text[start:end])}" + (" ..." if n > _ISLAND_WAYS_SHOWN else "")
            for start, end, n in zip([0, *ends[:-1]], ends, per_comp.tolist())]


def _island_notes(net: Network) -> pd.DataFrame:
    """One note per island: its size and where it is, with some of its OSM ways."""
    count = len(net.components)
    n_nodes = np.maximum(np.bincount(net.node_component, minlength=count), 1)
    lon = np.bincount(net.node_component, weights=net.node_lon, minlength=count) / n_nodes
    lat = np.bincount(net.node_component, weights=net.node_lat, minlength=count) / n_nodes
    ways = _island_ways(net, count)
    islands = net.components.loc[net.components["is_island"]]
    rows = zip(*(islands[c].tolist() for c in ("component", "nodes", "edges", "length_m")))
    lon, lat = lon.tolist(), lat.tolist()  # Python floats format several times faster than numpy scalars
    notes = [f"island: component {c}, {nodes} nodes, {edges} edges, {length:,.0f} m, centre lon {lon[c]:.6f} "
             f"lat {lat[c]:.6f}; kept and flagged, not joined{ways[c]}" for c, nodes, edges, length in rows]
    return pd.DataFrame({"row_number": pd.Series([None] * len(notes), dtype="Int64"),
                         "record_id": [f"component {c}" for c in islands["component"].tolist()], "note": notes})


def _message(summary: dict[str, float | int], threshold_m: float) -> str:
    s = summary
    return (f"{s['nodes']:,} nodes, {s['edges']:,} edges, {s['length_m'] / 1000:,.1f} km in "
            f"{s['components']:,} components; main component {s['main_nodes']:,} nodes, {s['main_edges']:,} "
            f"edges, {s['main_length_m'] / 1000:,.1f} km; {s['islands']:,} island(s) (< {threshold_m:,.0f} m, "
            f"{s['island_length_m'] / 1000:,.1f} km) kept and flagged, not joined")


def _arrow_ints(values: np.ndarray | None, n: int) -> pa.Array:
    return pa.nulls(n, pa.int64()) if values is None else pa.array(values, pa.int64())


def write_network(con: duckdb.DuckDBPyConnection, net: Network) -> None:
    """Replace the stored network with ``net`` and clear the snaps and access that depended on the old one."""
    for table in _REPLACED_TABLES:
        con.execute(f"DELETE FROM {table}")
    nodes = pa.table({"node_id": pa.array(np.arange(net.n_nodes), pa.int64()),
                      "osm_id": _arrow_ints(net.node_osm_id, net.n_nodes), "lon": net.node_lon,
                      "lat": net.node_lat, "component": pa.array(net.node_component, pa.int32())})
    edges = pa.table({"edge_id": pa.array(np.arange(net.n_edges), pa.int64()), "u": net.edge_u, "v": net.edge_v,
                      "length_m": net.edge_length_m, "highway": pa.array(net.edge_highway, pa.string()),
                      "name": pa.array(net.edge_name, pa.string()),
                      "osm_way_id": _arrow_ints(net.edge_way_id, net.n_edges),
                      "component": pa.array(net.edge_component, pa.int32()),
                      "geom_wkb": pa.array(shapely.to_wkb(net.edge_geometry), pa.binary())})
    for name, frame in (("_net_nodes", nodes), ("_net_edges", edges), ("_net_components", net.components)):
        con.register(name, frame)
    try:
        con.execute("INSERT INTO network_nodes SELECT node_id, osm_id, lon, lat, component FROM _net_nodes")
        con.execute("INSERT INTO network_edges SELECT edge_id, u, v, length_m, highway, name, osm_way_id, "
                    "component, ST_GeomFromWKB(geom_wkb) FROM _net_edges")
        con.execute("INSERT INTO network_components SELECT component, nodes, edges, length_m, is_main, is_island "
                    "FROM _net_components")
    finally:
        for name in ("_net_nodes", "_net_edges", "_net_components"):
            con.unregister(name)


def _notes_frame(report: NetworkLoadReport, net: Network) -> pd.DataFrame:
    """The load's notes: summary, ways left out, reading notes, then one note per island."""
    texts = [report.message, *_excluded_note(report.excluded), *report.notes]
    general = pd.DataFrame({"row_number": pd.Series([None] * len(texts), dtype="Int64"),
                            "record_id": [None] * len(texts), "note": texts})
    return pd.concat([general, _island_notes(net)], ignore_index=True)


def _write(path: Path, sha: str, options_json: str, net: Network, report: NetworkLoadReport,
           settings: Settings) -> None:
    with write_session(settings.db_path, h3_res=settings.h3_res) as con:
        load_id = begin_load(con, kind="network", file_name=path.name, file_path=str(path.resolve()), sha256=sha,
                             options_json=options_json, source_crs=report.source_crs, encoding=None)
        write_network(con, net)
        write_notes(con, load_id, _notes_frame(report, net))
        counts = {"rows_in": report.ways_read, "rows_ok": report.ways_walkable, "rows_inserted": net.n_edges}
        report.load_id = load_id
        report.status = finish_load(con, load_id, counts, report.message)


def _excluded_note(excluded: dict[str, int]) -> list[str]:
    if not excluded:
        return []
    parts = "; ".join(f"{REASONS.get(code, code)}: {count:,}" for code, count in excluded.items())
    return [f"ways not walkable (geodata/network/osm_walkable.csv): {parts}"]


def _options_json(settings: Settings, *, crs: str | int | None, layer: str | None, source: str | None) -> str:
    """Fingerprint of the load's options, including the walkable table's SHA-256."""
    from grid.ingest import file_sha256  # here: grid.ingest imports this module while it initialises

    return json.dumps({"crs": None if crs is None else str(crs), "layer": layer, "source": source,
                       "island_max_length_m": settings.island_max_length_m,
                       "walkable_sha256": file_sha256(walkable_rules_path(settings.geodata_dir))}, sort_keys=True)


def _built_report(path: Path, ways: Ways, net: Network, source_crs: str, threshold_m: float) -> NetworkLoadReport:
    summary = network_summary(net)
    return NetworkLoadReport(file_name=path.name, load_id=None, status="running", source_crs=source_crs,
                             ways_read=ways.ways_read, ways_walkable=ways.n_ways, excluded=dict(ways.excluded),
                             summary=summary, notes=list(net.notes), message=_message(summary, threshold_m))


def ingest_network(path: Path | str, *, settings: Settings | None = None, source: str | None = None,
                   layer: str | None = None, crs: str | int | None = None, force: bool = False,
                   progress: Progress | None = None) -> NetworkLoadReport:
    """Load the walking network of ``path`` (OSM or line layer), replacing the stored one.

    The same file with the same options and walkable table as the current
    network is not loaded again (status 'unchanged') unless ``force``.

    Raises
    ------
    InputError
        If the file type is not supported, the file cannot be read, or it holds no walkable way.
    """
    from grid.ingest import file_sha256  # here: grid.ingest imports this module while it initialises

    settings = settings or get_settings()
    step = progress or (lambda _name: None)
    path = Path(path)
    if not path.exists():
        raise InputError(f"no file at {path}; check the path")
    kind = _source_kind(path)
    step("hash")
    sha, options_json = file_sha256(path), _options_json(settings, crs=crs, layer=layer, source=source)
    current = _current_load(settings.db_path)
    if current and current[1:] == (sha, options_json) and not force:
        return NetworkLoadReport(file_name=path.name, load_id=current[0], status="unchanged",
                                 message=f"{path.name} with these options is the current network (load "
                                         f"{current[0]}); nothing changed. Use --force to load it again")
    step("read")
    ways, used_crs = _read_ways(path, kind, layer=layer, crs=crs, geodata_dir=settings.geodata_dir)
    step("build")
    net = network_from_ways(ways, island_max_length_m=settings.island_max_length_m)
    report = _built_report(path, ways, net, used_crs, settings.island_max_length_m)
    step("write")
    _write(path, sha, options_json, net, report, settings)
    log.info("network load %s of %s: %s", report.load_id, path.name, report.message)
    return report


def read_network(con: duckdb.DuckDBPyConnection) -> Network:
    """The stored network (needs the spatial extension on ``con``, as :func:`grid.store.open_reader` loads it).

    Raises
    ------
    GridError
        If no network is stored, or its node ids are not 0..n-1.
    """
    nodes = con.execute("SELECT node_id, osm_id, lon, lat, component FROM network_nodes ORDER BY node_id"
                        ).to_arrow_table()
    if nodes.num_rows == 0:
        raise GridError("no walking network in the database; load one with `grid ingest network FILE.osm.pbf`")
    if not np.array_equal(nodes["node_id"].to_numpy(), np.arange(nodes.num_rows)):
        raise GridError("network_nodes ids are not 0..n-1; load the network again with `grid ingest network FILE`")
    edges = con.execute("SELECT u, v, length_m, highway, name, osm_way_id, component, ST_AsWKB(geom) AS wkb "
                        "FROM network_edges ORDER BY edge_id").to_arrow_table()
    components = con.execute("SELECT component, nodes, edges, length_m, is_main, is_island FROM network_components "
                             "ORDER BY component").to_arrow_table().to_pandas()

    def ints(column: pa.ChunkedArray) -> np.ndarray | None:
        return None if column.null_count == len(column) else column.to_numpy()

    return Network(node_lon=nodes["lon"].to_numpy(), node_lat=nodes["lat"].to_numpy(),
                   node_osm_id=ints(nodes["osm_id"]), node_component=nodes["component"].to_numpy(),
                   edge_u=edges["u"].to_numpy(), edge_v=edges["v"].to_numpy(),
                   edge_length_m=edges["length_m"].to_numpy(),
                   edge_highway=edges["highway"].to_numpy(zero_copy_only=False).astype(object),
                   edge_name=edges["name"].to_numpy(zero_copy_only=False).astype(object),
                   edge_way_id=ints(edges["osm_way_id"]), edge_component=edges["component"].to_numpy(),
                   edge_geometry=shapely.from_wkb(edges["wkb"].to_numpy(zero_copy_only=False)),
                   components=components)
