"""What-if: add or remove one facility and update one category's distances incrementally.

Adding runs a bounded Dijkstra from the new facility's street segment only and
keeps the smaller distance per node. Removing recomputes only the nodes whose
nearest facility was the removed one: a small search seeded from their
neighbours that keep their (unchanged) distance. Both equal a full recompute
(tests check that).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from grid.accessibility.dijkstra import NodeAccess
from grid.accessibility.graph import AccessGraph

__all__ = ["segment_of", "add_facility", "remove_facility"]


def segment_of(graph: AccessGraph, edge: int, along_m: float) -> tuple[int, int, float, float]:
    """The search-graph segment holding a point on street ``edge``: (node a, node b, m to a, m to b)."""
    lo, hi = np.searchsorted(graph.split_edge, [edge, edge + 1])
    positions = np.concatenate([[0.0], graph.split_along_m[lo:hi], [graph.edge_length_m[edge]]])
    nodes = np.concatenate([[graph.edge_u[edge]], graph.split_node[lo:hi], [graph.edge_v[edge]]])
    k = int(np.clip(np.searchsorted(positions, along_m, side="right"), 1, len(positions) - 1))
    return int(nodes[k - 1]), int(nodes[k]), float(along_m - positions[k - 1]), float(positions[k] - along_m)


def add_facility(graph: AccessGraph, nodes: NodeAccess, *, edge: int, along_m: float, snap_m: float,
                 facility: int) -> np.ndarray:
    """Add facility number ``facility`` snapped at (``edge``, ``along_m``) ``snap_m`` m off the street.

    Updates ``nodes`` in place; returns the indices of nodes whose distance changed.
    """
    a, b, to_a, to_b = segment_of(graph, edge, along_m)
    dist = dijkstra(graph.csr, directed=True, indices=[a, b], limit=nodes.bound_m)
    new = np.minimum(dist[0] + snap_m + to_a, dist[1] + snap_m + to_b)
    better = np.flatnonzero((new < nodes.dist_m) & (new <= nodes.bound_m))
    nodes.dist_m[better] = new[better]
    nodes.facility[better] = facility
    return better


def _first_hops(pred: np.ndarray, source: int) -> np.ndarray:
    """For each node of a search from ``source``: the node where its path left ``source`` (-1 unreached)."""
    hop = np.arange(len(pred))
    parent = pred.copy()
    open_ = (parent >= 0) & (parent != source)
    while open_.any():
        hop[open_] = parent[open_]
        parent[open_] = pred[parent[open_]]
        open_ = (parent >= 0) & (parent != source)
    return np.where(pred >= 0, hop, -1)


def remove_facility(graph: AccessGraph, nodes: NodeAccess, *, facility: int) -> np.ndarray:
    """Remove facility number ``facility``; updates ``nodes`` in place and returns the changed node indices."""
    affected = np.flatnonzero(nodes.facility == facility)
    if len(affected) == 0:
        return affected
    local = np.full(graph.n_nodes, -1, dtype=np.int64)
    local[affected] = np.arange(len(affected))
    rows = graph.csr[affected].tocoo()
    r, c, w = rows.row, rows.col, rows.data
    inside = local[c] >= 0
    entry = nodes.dist_m[c] + w
    outside = ~inside & np.isfinite(entry)
    best = np.full(len(affected), np.inf)
    best_from = np.full(len(affected), -1, dtype=np.int64)
    order = np.lexsort((entry[outside], r[outside]))[::-1]  # the smallest entry per row is written last
    best[r[outside][order]] = entry[outside][order]
    best_from[r[outside][order]] = nodes.facility[c[outside][order]]
    s = len(affected)
    has_entry = np.isfinite(best)
    sub = sp.csr_matrix((np.concatenate([w[inside], best[has_entry]]),
                         (np.concatenate([r[inside], np.full(has_entry.sum(), s)]),
                          np.concatenate([local[c[inside]], np.flatnonzero(has_entry)]))), shape=(s + 1, s + 1))
    dist, pred = dijkstra(sub, directed=True, indices=s, limit=nodes.bound_m, return_predecessors=True)
    hop = _first_hops(pred[:s], s)
    reached = hop >= 0
    nodes.dist_m[affected] = np.where(reached, dist[:s], np.inf)
    nodes.facility[affected] = np.where(reached, best_from[np.maximum(hop, 0)], -1)
    return affected
