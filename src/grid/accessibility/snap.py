"""Snap points to the nearest point on the nearest street edge (not the nearest node).

Works in a local metric projection (see :func:`grid.network.local_metric_crs`):
geometries and points in metres. A point farther than ``max_snap_m`` from every
edge is *off network*: it gets no edge and, downstream, no distance (never a
false zero).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

__all__ = ["Snaps", "snap_points"]


@dataclass(frozen=True)
class Snaps:
    """Where each point joins the network.

    Attributes
    ----------
    edge_id : nearest edge per point, -1 when off network.
    along_m : metres from the edge's ``u`` end along the edge to the snap point (NaN off network).
    snap_m : straight-line metres from the point to the snap point (NaN off network).
    """

    edge_id: np.ndarray
    along_m: np.ndarray
    snap_m: np.ndarray

    @property
    def on_network(self) -> np.ndarray:
        """True where the point snapped within the maximum snap distance."""
        return self.edge_id >= 0

    def take(self, index: np.ndarray) -> "Snaps":
        """The snaps of the points at ``index``."""
        return Snaps(self.edge_id[index], self.along_m[index], self.snap_m[index])


def snap_points(edges_m: np.ndarray, edge_length_m: np.ndarray, x_m: np.ndarray, y_m: np.ndarray, *,
                max_snap_m: float, tree: shapely.STRtree | None = None,
                candidates: np.ndarray | None = None) -> Snaps:
    """Snap points (metres, local projection) to the nearest edge within ``max_snap_m`` metres.

    ``edges_m`` are the edge linestrings in the same projection, ``edge_length_m``
    their network lengths: the position along an edge is scaled to that length so
    that ``along_m`` is consistent with the graph's weights. Ties between equally
    near edges go to the lowest edge id (deterministic). ``candidates`` (edge ids)
    restricts snapping to those edges, e.g. to keep points off tiny islands; a
    given ``tree`` must then be built over ``edges_m[candidates]``.
    """
    n = len(x_m)
    edge_id = np.full(n, -1, dtype=np.int64)
    along_m = np.full(n, np.nan)
    snap_m = np.full(n, np.nan)
    if n == 0 or len(edges_m) == 0:
        return Snaps(edge_id, along_m, snap_m)
    candidates = np.arange(len(edges_m)) if candidates is None else np.asarray(candidates, dtype=np.int64)
    tree = tree if tree is not None else shapely.STRtree(edges_m[candidates])
    points = shapely.points(np.asarray(x_m, dtype=float), np.asarray(y_m, dtype=float))
    (point_idx, edge_idx), dist = tree.query_nearest(points, max_distance=max_snap_m, return_distance=True,
                                                     all_matches=True)
    if len(point_idx) == 0:  # every point is off network
        return Snaps(edge_id, along_m, snap_m)
    edge_idx = candidates[edge_idx]
    order = np.lexsort((edge_idx, point_idx))  # first match per point = lowest edge id among the nearest
    point_idx, edge_idx, dist = point_idx[order], edge_idx[order], dist[order]
    first = np.r_[True, point_idx[1:] != point_idx[:-1]]
    point_idx, edge_idx, dist = point_idx[first], edge_idx[first], dist[first]
    geoms = edges_m[edge_idx]
    projected = shapely.line_locate_point(geoms, points[point_idx])
    geom_len = shapely.length(geoms)
    share = np.divide(projected, geom_len, out=np.zeros_like(projected), where=geom_len > 0)
    edge_id[point_idx] = edge_idx
    along_m[point_idx] = np.clip(share, 0.0, 1.0) * edge_length_m[edge_idx]
    snap_m[point_idx] = dist
    return Snaps(edge_id, along_m, snap_m)
