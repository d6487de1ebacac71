"""Build the walking graph from walkable ways: split at shared nodes, measure, find components.

A way is a sequence of node references (OSM node ids, or coordinate keys for a
line layer). Graph nodes are way endpoints and nodes used two or more times
(by two ways, or twice by one way); the nodes in between become vertices of the
edge geometry (OSMnx's "simplified" graph). Everything is vectorised over the
concatenated node references, with no loop over ways or edges.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from grid.errors import CRSError, InputError

__all__ = ["Ways", "Network", "local_metric_crs", "network_from_ways", "segment_lengths_m", "network_summary"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Ways:
    """Walkable ways as flat arrays (the node references of all ways concatenated in way order).

    Attributes
    ----------
    way_id : int64 per way (OSM way id), or None for a line layer.
    highway, name : object per way (str or None).
    node_count : int64 per way, number of node references.
    node_ref : int64 per reference: node identity (OSM node id, or a coordinate key).
    node_lon, node_lat : float64 per reference, degrees WGS-84; NaN where the file has no location.
    refs_are_osm : True when ``node_ref`` holds OSM node ids.
    ways_read : ways read from the source (OSM: ways with a ``highway`` tag; lines: line features).
    highway_counts : how often each highway value was seen among the ways read.
    excluded : ways left out, per reason code.
    notes : human-readable notes on the reading (missing locations, skipped geometries...).
    """

    way_id: np.ndarray | None
    highway: np.ndarray
    name: np.ndarray
    node_count: np.ndarray
    node_ref: np.ndarray
    node_lon: np.ndarray
    node_lat: np.ndarray
    refs_are_osm: bool
    ways_read: int = 0
    highway_counts: Mapping[str, int] = field(default_factory=dict)
    excluded: Mapping[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def n_ways(self) -> int:
        """Number of walkable ways."""
        return len(self.node_count)


@dataclass(frozen=True, eq=False)
class Network:
    """An undirected walking network in WGS-84; node and edge ids are the array positions.

    Attributes
    ----------
    node_lon, node_lat : float64 degrees per node.
    node_osm_id : int64 OSM node id per node, or None (line layer).
    node_component : int32 component per node (0 = largest).
    edge_u, edge_v : int64 end nodes per edge; the geometry runs from u to v.
    edge_length_m : float64 metres along the geometry (local transverse Mercator).
    edge_highway, edge_name : object per edge (str or None).
    edge_way_id : int64 OSM way id per edge, or None (line layer).
    edge_geometry : shapely LineStrings (WGS-84) per edge.
    edge_component : int32 component per edge.
    components : one row per component: component, nodes, edges, length_m, is_main, is_island.
    notes : how the network was read and built (for the load's notes).
    """

    node_lon: np.ndarray
    node_lat: np.ndarray
    node_osm_id: np.ndarray | None
    node_component: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_length_m: np.ndarray
    edge_highway: np.ndarray
    edge_name: np.ndarray
    edge_way_id: np.ndarray | None
    edge_geometry: np.ndarray
    edge_component: np.ndarray
    components: pd.DataFrame
    notes: tuple[str, ...] = ()

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_lon)

    @property
    def n_edges(self) -> int:
        """Number of edges."""
        return len(self.edge_u)


def local_metric_crs(lon: float, lat: float) -> str:
    """PROJ string of a transverse Mercator in metres centred on (lon, lat) degrees WGS-84.

    Scale error is below 0.001 % within 15 km of the centre (k = 1 + d²/2R²), so
    lengths measured in it match geodesic lengths across a city.

    Raises
    ------
    CRSError
        If the centre is not a finite point in lon -180..180, lat -90..90.
    """
    if not (np.isfinite(lon) and np.isfinite(lat) and -180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise CRSError(f"centre (lon={lon}, lat={lat}) is not a WGS-84 point; pass degrees, lon first")
    return f"+proj=tmerc +lat_0={lat:.7f} +lon_0={lon:.7f} +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m"


def segment_lengths_m(lon: np.ndarray, lat: np.ndarray, crs: str) -> np.ndarray:
    """Length in metres of each segment i -> i+1 of a coordinate sequence, measured in ``crs``."""
    x, y = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
    return np.hypot(np.diff(np.asarray(x)), np.diff(np.asarray(y)))


def _no_walkable_ways(ways: Ways) -> InputError:
    seen = ", ".join(f"{k} ({v:,})" for k, v in sorted(ways.highway_counts.items(), key=lambda kv: -kv[1]))
    return InputError(
        f"no walkable ways: {ways.ways_read:,} ways read; highway/class values seen: "
        f"{seen or 'none'}. Load a street or footpath extract (footway, residential, tertiary...), or mark the "
        "values you need walkable in geodata/network/osm_walkable.csv")


def _clean_pieces(ways: Ways) -> tuple[np.ndarray, np.ndarray]:
    """Positions of usable node references and their piece id (dense, in order).

    A way is cut where a node has no location; repeated consecutive references are
    dropped; pieces with fewer than two references are dropped.
    """
    counts = np.asarray(ways.node_count, dtype=np.int64)
    total = int(counts.sum())
    valid = np.isfinite(ways.node_lon) & np.isfinite(ways.node_lat)
    first = np.zeros(total, dtype=bool)
    first[(np.cumsum(counts) - counts)[counts > 0]] = True
    prev_valid = np.concatenate([[False], valid[:-1]])
    new_piece = first | ~prev_valid
    repeat = ~new_piece & (ways.node_ref == np.concatenate([[0], ways.node_ref[:-1]]))
    keep = valid & ~repeat
    piece = _dense((np.cumsum(new_piece) - 1)[keep])
    pos = np.flatnonzero(keep)
    long_enough = np.bincount(piece)[piece] >= 2
    return pos[long_enough], _dense(piece[long_enough])


def _dense(labels: np.ndarray) -> np.ndarray:
    """Non-decreasing labels renumbered 0, 1, 2... without gaps."""
    if len(labels) == 0:
        return labels.astype(np.int64)
    return np.concatenate([[0], np.cumsum(labels[1:] != labels[:-1])]).astype(np.int64)


def _piece_way(ways: Ways, pos: np.ndarray, piece: np.ndarray) -> np.ndarray:
    """Way index of each piece."""
    way_of_ref = np.repeat(np.arange(ways.n_ways), ways.node_count)
    starts = np.flatnonzero(np.concatenate([[True], piece[1:] != piece[:-1]]))
    return way_of_ref[pos[starts]]


def _split(ref: np.ndarray, piece: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edges as (start, end) positions in the references, and the unique-node index per reference."""
    _, node_of_ref, uses = np.unique(ref, return_inverse=True, return_counts=True)
    start = np.concatenate([[True], piece[1:] != piece[:-1]])
    end = np.concatenate([piece[1:] != piece[:-1], [True]])
    is_node = (uses[node_of_ref] >= 2) | start | end
    node_pos = np.flatnonzero(is_node)
    a, b = node_pos[:-1], node_pos[1:]
    same_piece = piece[a] == piece[b]
    return a[same_piece], b[same_piece], node_of_ref


def _edge_lengths_m(lon: np.ndarray, lat: np.ndarray, a: np.ndarray, b: np.ndarray, crs: str) -> np.ndarray:
    """Sum of the segment lengths between positions a and b (b > a) of each edge, metres."""
    seg = np.append(segment_lengths_m(lon, lat, crs), 0.0)
    bounds = np.empty(2 * len(a), dtype=np.int64)
    bounds[0::2], bounds[1::2] = a, b
    # reduceat over [a0, b0, a1, b1, ...]: even entries are sum(seg[a_i:b_i]), odd ones are discarded
    return np.add.reduceat(seg, bounds)[0::2] if len(a) else np.zeros(0)


def _edge_geometries(lon: np.ndarray, lat: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """LineStrings through positions a..b (inclusive) of each edge, built in one call."""
    sizes = b - a + 1
    offsets = np.cumsum(sizes) - sizes
    pos = np.arange(int(sizes.sum())) + np.repeat(a - offsets, sizes)
    return shapely.linestrings(lon[pos], lat[pos], indices=np.repeat(np.arange(len(a)), sizes))


def _components(u: np.ndarray, v: np.ndarray, length_m: np.ndarray, n_nodes: int,
                island_max_length_m: float) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Component per node and edge, renumbered by size (nodes, then length; 0 = largest), and their table."""
    graph = csr_matrix((np.ones(len(u), dtype=np.float32), (u, v)), shape=(n_nodes, n_nodes))
    count, labels = connected_components(graph, directed=False)
    nodes = np.bincount(labels, minlength=count)
    edge_label = labels[u]
    edges = np.bincount(edge_label, minlength=count)
    length = np.bincount(edge_label, weights=length_m, minlength=count)
    order = np.lexsort((np.arange(count), -length, -nodes))  # labels follow the lowest node id: a stable tie-break
    rank = np.empty(count, dtype=np.int32)
    rank[order] = np.arange(count, dtype=np.int32)
    is_main = np.arange(count) == 0
    frame = pd.DataFrame({"component": np.arange(count, dtype=np.int32), "nodes": nodes[order].astype(np.int64),
                          "edges": edges[order].astype(np.int64), "length_m": length[order],
                          "is_main": is_main, "is_island": ~is_main & (length[order] < island_max_length_m)})
    return rank[labels], rank[edge_label], frame


def _take(values: np.ndarray | None, index: np.ndarray) -> np.ndarray | None:
    return None if values is None else np.asarray(values)[index]


def _number_nodes(node_of_ref: np.ndarray, eu: np.ndarray, ev: np.ndarray) -> tuple[np.ndarray, ...]:
    """Dense ids (in reference order: OSM id, or coordinate key) of the nodes the edges use.

    Returns a reference position of each node, and the edges' ends as node ids.
    """
    is_used = np.zeros(node_of_ref.max() + 1, dtype=bool)
    is_used[eu], is_used[ev] = True, True
    new_id = np.cumsum(is_used) - 1
    any_pos = np.empty(len(is_used), dtype=np.int64)
    any_pos[node_of_ref] = np.arange(len(node_of_ref))  # every reference of a node has the same coordinates
    return any_pos[is_used], new_id[eu].astype(np.int64), new_id[ev].astype(np.int64)


def network_from_ways(ways: Ways, *, island_max_length_m: float = 2000.0) -> Network:
    """The walking network of ``ways``: split at shared nodes, lengths in metres, components.

    Edge lengths sum the segments in :func:`local_metric_crs` centred on the bbox
    of the ways. Self-loops of zero length are dropped; parallel edges are kept
    (their geometries may differ). Components shorter than ``island_max_length_m``
    (total street length, metres) other than the largest are flagged as islands.

    Raises
    ------
    InputError
        If there is no walkable way with at least two located nodes.
    """
    pos, piece = _clean_pieces(ways)
    if len(pos) == 0:
        raise _no_walkable_ways(ways)
    lon, lat, ref = ways.node_lon[pos], ways.node_lat[pos], ways.node_ref[pos]
    crs = local_metric_crs((lon.min() + lon.max()) / 2.0, (lat.min() + lat.max()) / 2.0)
    a, b, node_of_ref = _split(ref, piece)
    length_m = _edge_lengths_m(lon, lat, a, b, crs)
    loop = (node_of_ref[a] == node_of_ref[b]) & (length_m == 0.0)
    a, b, length_m = a[~loop], b[~loop], length_m[~loop]
    if len(a) == 0:
        raise InputError(f"the {ways.n_ways:,} walkable ways are all zero-length loops; check the file's coordinates")
    node_pos, u, v = _number_nodes(node_of_ref, node_of_ref[a], node_of_ref[b])
    node_comp, edge_comp, table = _components(u, v, length_m, len(node_pos), island_max_length_m)
    way = _piece_way(ways, pos, piece)[piece[a]]
    notes = ways.notes + ((f"{int(loop.sum()):,} zero-length self-loops dropped",) if loop.any() else ())
    log.info("network: %d nodes, %d edges, %d components", len(node_pos), len(u), len(table))
    return Network(node_lon=lon[node_pos], node_lat=lat[node_pos],
                   node_osm_id=ref[node_pos].astype(np.int64) if ways.refs_are_osm else None,
                   node_component=node_comp, edge_u=u, edge_v=v, edge_length_m=length_m,
                   edge_highway=np.asarray(ways.highway, dtype=object)[way],
                   edge_name=np.asarray(ways.name, dtype=object)[way], edge_way_id=_take(ways.way_id, way),
                   edge_geometry=_edge_geometries(lon, lat, a, b), edge_component=edge_comp,
                   components=table, notes=notes)


def network_summary(net: Network) -> dict[str, float | int]:
    """Counts of a network: nodes, edges, length_m, components, islands, and the main component's figures."""
    comps = net.components
    main = comps[comps["is_main"]]
    islands = comps[comps["is_island"]]
    return {"nodes": net.n_nodes, "edges": net.n_edges, "length_m": float(net.edge_length_m.sum()),
            "components": len(comps), "islands": len(islands),
            "island_length_m": float(islands["length_m"].sum()),
            "main_nodes": int(main["nodes"].sum()), "main_edges": int(main["edges"].sum()),
            "main_length_m": float(main["length_m"].sum())}
