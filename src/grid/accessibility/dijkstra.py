"""Multi-source Dijkstra from all facilities of a category, bounded, on the search graph.

One ``scipy.sparse.csgraph.dijkstra`` call per category with ``min_only=True``
gives every node's distance to the nearest facility leaf and which leaf it is
(``sources``, only returned with predecessors). Unreached nodes come back as
``inf`` / ``-9999``: they become NaN distance and facility -1, never 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse.csgraph import dijkstra

from grid.accessibility.graph import AccessGraph

__all__ = ["NodeAccess", "CellAccess", "STATUS", "nearest_facility", "cells_from_nodes"]

STATUS = ("reached", "beyond_bound", "off_network")


@dataclass
class NodeAccess:
    """Per node of the search graph: metres to the nearest facility (inf if beyond the bound) and its index."""

    dist_m: np.ndarray
    facility: np.ndarray
    bound_m: float


@dataclass(frozen=True)
class CellAccess:
    """Per cell: ``distance_m`` (NaN when none within the bound or off network), facility index (-1), status code."""

    distance_m: np.ndarray
    facility: np.ndarray
    status: np.ndarray  # index into STATUS


def _leaf_owner(graph: AccessGraph) -> np.ndarray:
    owner = np.full(graph.n_nodes, -1, dtype=np.int64)
    on = graph.facility_leaf >= 0
    owner[graph.facility_leaf[on]] = np.flatnonzero(on)
    return owner


def nearest_facility(graph: AccessGraph, facilities: np.ndarray, *, bound_m: float) -> NodeAccess:
    """Distance (m, snap-in + network) from every node to the nearest of ``facilities`` (indices), up to ``bound_m``."""
    leaves = graph.facility_leaf[np.asarray(facilities, dtype=np.int64)]
    leaves = np.unique(leaves[leaves >= 0])
    n = graph.n_nodes
    if len(leaves) == 0:
        return NodeAccess(np.full(n, np.inf), np.full(n, -1, dtype=np.int64), bound_m)
    dist, _pred, source = dijkstra(graph.csr, directed=True, indices=leaves, min_only=True, limit=bound_m,
                                   return_predecessors=True)
    reached = source >= 0
    facility = np.full(n, -1, dtype=np.int64)
    facility[reached] = _leaf_owner(graph)[source[reached]]
    dist = np.where(reached, dist, np.inf)
    return NodeAccess(dist, facility, bound_m)


def cells_from_nodes(graph: AccessGraph, nodes: NodeAccess) -> CellAccess:
    """Cell distances: node distance at the cell's snap point + the cell's snap distance (m), bounded."""
    on = graph.cell_node >= 0
    node = np.where(on, graph.cell_node, 0)
    distance_m = np.where(on, nodes.dist_m[node] + np.nan_to_num(graph.cell_snap_m), np.inf)
    within = np.isfinite(distance_m) & (distance_m <= nodes.bound_m)
    status = np.where(~on, 2, np.where(within, 0, 1)).astype(np.int8)
    return CellAccess(distance_m=np.where(within, distance_m, np.nan),
                      facility=np.where(within, nodes.facility[node], -1), status=status)
