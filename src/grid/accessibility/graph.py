"""The search graph: the street network with every snap point inserted as a node.

Edges are split where cells and facilities join them, so a distance is exact:
the walk from a facility to a cell on the same street does not detour through
an intersection. Each facility becomes a leaf node hanging off its snap point by
its snap distance, so one multi-source Dijkstra from the leaves of a category
gives snap-in + network distance to every node and which facility is nearest.
Walking is undirected: the CSR matrix is symmetric; parallel edges keep the
shortest length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from grid.accessibility.snap import Snaps
from grid.network.csr import network_to_csr

__all__ = ["AccessGraph", "build_access_graph", "ENDPOINT_TOLERANCE_M"]

ENDPOINT_TOLERANCE_M = 1e-6  # a snap point this close to an edge end is that end node


@dataclass(frozen=True)
class AccessGraph:
    """Network plus inserted snap points and facility leaves, ready for Dijkstra.

    Attributes
    ----------
    csr : symmetric weights in metres, shape (n, n).
    n_street_nodes : nodes of the street network (ids 0..n_street_nodes-1 as in ``network_nodes``).
    cell_node : node of each cell's snap point, -1 off network.
    cell_snap_m : straight-line metres from each cell centroid to its snap point.
    facility_leaf : leaf node of each facility, -1 off network.
    split_edge, split_along_m, split_node : inserted points sorted by (edge, along).
    edge_u, edge_v, edge_length_m : the street edges (for placing new points).
    """

    csr: sp.csr_matrix
    n_street_nodes: int
    cell_node: np.ndarray
    cell_snap_m: np.ndarray
    facility_leaf: np.ndarray
    split_edge: np.ndarray
    split_along_m: np.ndarray
    split_node: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_length_m: np.ndarray

    @property
    def n_nodes(self) -> int:
        """All nodes: street nodes, inserted snap points and facility leaves."""
        return int(self.csr.shape[0])


def _point_nodes(edge: np.ndarray, along_m: np.ndarray, u: np.ndarray, v: np.ndarray, length_m: np.ndarray,
                 first_new: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Node of each snap point: an edge end, or a new node per distinct (edge, along)."""
    node = np.full(len(edge), -1, dtype=np.int64)
    at_u = along_m <= ENDPOINT_TOLERANCE_M
    at_v = ~at_u & (along_m >= length_m[edge] - ENDPOINT_TOLERANCE_M)
    node[at_u], node[at_v] = u[edge[at_u]], v[edge[at_v]]
    inner = np.flatnonzero(~at_u & ~at_v)
    keys = np.stack([edge[inner].astype(np.float64), along_m[inner]])
    uniq, inverse = np.unique(keys, axis=1, return_inverse=True)
    node[inner] = first_new + inverse.ravel()
    split_node = first_new + np.arange(uniq.shape[1], dtype=np.int64)
    return node, uniq[0].astype(np.int64), uniq[1], split_node


def _segments(split_edge: np.ndarray, split_along: np.ndarray, split_node: np.ndarray, u: np.ndarray,
              v: np.ndarray, length_m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Street edges cut at the inserted points: (a, b, weight_m) of every piece."""
    cut = np.unique(split_edge)
    whole = np.ones(len(u), dtype=bool)
    whole[cut] = False
    stop_edge = np.concatenate([cut, split_edge, cut])
    stop_along = np.concatenate([np.zeros(len(cut)), split_along, length_m[cut]])
    stop_rank = np.concatenate([np.zeros(len(cut)), np.ones(len(split_edge)), np.full(len(cut), 2)])
    stop_node = np.concatenate([u[cut], split_node, v[cut]])
    order = np.lexsort((stop_rank, stop_along, stop_edge))
    stop_edge, stop_along, stop_node = stop_edge[order], stop_along[order], stop_node[order]
    same = stop_edge[1:] == stop_edge[:-1]
    a = np.concatenate([u[whole], stop_node[:-1][same]])
    b = np.concatenate([v[whole], stop_node[1:][same]])
    w = np.concatenate([length_m[whole], np.diff(stop_along)[same]])
    return a, b, w


def build_access_graph(n_street_nodes: int, edge_u: np.ndarray, edge_v: np.ndarray, edge_length_m: np.ndarray,
                       cells: Snaps, facilities: Snaps) -> AccessGraph:
    """Insert cell and facility snap points into the street graph and hang facilities off as leaves."""
    u, v = edge_u.astype(np.int64), edge_v.astype(np.int64)
    length_m = edge_length_m.astype(np.float64)
    on_c, on_f = cells.on_network, facilities.on_network
    edge = np.concatenate([cells.edge_id[on_c], facilities.edge_id[on_f]])
    along = np.concatenate([cells.along_m[on_c], facilities.along_m[on_f]])
    node, split_edge, split_along, split_node = _point_nodes(edge, along, u, v, length_m, n_street_nodes)
    a, b, w = _segments(split_edge, split_along, split_node, u, v, length_m)
    cell_node = np.full(len(cells.edge_id), -1, dtype=np.int64)
    cell_node[on_c] = node[: on_c.sum()]
    fac_snap_node = node[on_c.sum():]
    first_leaf = n_street_nodes + len(split_node)
    facility_leaf = np.full(len(facilities.edge_id), -1, dtype=np.int64)
    facility_leaf[on_f] = first_leaf + np.arange(on_f.sum(), dtype=np.int64)
    a = np.concatenate([a, facility_leaf[on_f]])
    b = np.concatenate([b, fac_snap_node])
    w = np.concatenate([w, facilities.snap_m[on_f]])
    csr = network_to_csr(a, b, w, first_leaf + int(on_f.sum()))
    return AccessGraph(csr=csr, n_street_nodes=n_street_nodes, cell_node=cell_node,
                       cell_snap_m=np.where(on_c, cells.snap_m, np.nan), facility_leaf=facility_leaf,
                       split_edge=split_edge, split_along_m=split_along, split_node=split_node,
                       edge_u=u, edge_v=v, edge_length_m=length_m)
