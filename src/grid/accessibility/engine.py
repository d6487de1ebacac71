"""An access engine over one network: snapped cells and facilities, the search
graph, per-category node distances, and what-if changes on copies of them.

Pure: built from arrays (:func:`build_engine`); :mod:`grid.accessibility.compute`
feeds it from the database. The app keeps one per database file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyproj
import shapely

from grid.accessibility.dijkstra import CellAccess, NodeAccess, cells_from_nodes, nearest_facility
from grid.accessibility.graph import AccessGraph, build_access_graph
from grid.accessibility.snap import Snaps, snap_points
from grid.accessibility.whatif import add_facility, remove_facility
from grid.network import local_metric_crs

__all__ = ["AccessEngine", "WhatIfResult", "build_engine", "to_metric"]


def to_metric(crs: str, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 lon/lat (degrees) to x/y metres in ``crs``."""
    transformer = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = transformer.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x), np.asarray(y)


@dataclass
class WhatIfResult:
    """Cells of one category after a change: their access, and which cells changed."""

    category: str
    cells: CellAccess
    changed_cells: np.ndarray
    facility_ids: np.ndarray


@dataclass
class AccessEngine:
    """Everything needed to answer "how far is the nearest X" for every populated cell.

    ``facility_ids``/``facility_category`` index the facilities; ``cell_h3`` the cells
    in the order of :attr:`AccessGraph.cell_node`.
    """

    graph: AccessGraph
    cell_h3: np.ndarray
    cell_snaps: Snaps
    facility_ids: np.ndarray
    facility_category: np.ndarray
    facility_snaps: Snaps
    metric_crs: str
    edges_m: np.ndarray
    bound_m: float
    snappable: np.ndarray | None = None
    _tree: shapely.STRtree | None = None
    _nodes: dict[str, NodeAccess] = field(default_factory=dict)

    def categories(self) -> list[str]:
        """Categories with at least one facility, sorted."""
        return sorted(set(self.facility_category.tolist()))

    def node_access(self, category: str, *, cache: bool = True) -> NodeAccess:
        """Node distances to the nearest facility of ``category`` (kept for later what-ifs if ``cache``)."""
        if category in self._nodes:
            return self._nodes[category]
        members = np.flatnonzero(self.facility_category == category)
        nodes = nearest_facility(self.graph, members, bound_m=self.bound_m)
        if cache:
            self._nodes[category] = nodes
        return nodes

    def cell_access(self, category: str, *, cache: bool = True) -> CellAccess:
        """Every cell's distance (m) to the nearest facility of ``category``.

        ``cache=False`` does not keep the per-node arrays (16 bytes a node per
        category): what a city-wide batch run wants.
        """
        return cells_from_nodes(self.graph, self.node_access(category, cache=cache))

    def snap(self, lon: np.ndarray, lat: np.ndarray, *, max_snap_m: float) -> Snaps:
        """Snap WGS-84 points to the network (see :func:`snap_points`)."""
        candidates = np.arange(len(self.edges_m)) if self.snappable is None else self.snappable
        if self._tree is None:
            self._tree = shapely.STRtree(self.edges_m[candidates])
        x, y = to_metric(self.metric_crs, lon, lat)
        return snap_points(self.edges_m, self.graph.edge_length_m, x, y, max_snap_m=max_snap_m, tree=self._tree,
                           candidates=candidates)

    def what_if(self, category: str, *, add: list[tuple[float, float]] = (), remove: list[str] = (),
                max_snap_m: float) -> WhatIfResult:
        """Cells' access to ``category`` after adding facilities at (lon, lat) and removing facility ids.

        Incremental: a bounded search around each change, never a city recompute.
        Added facilities get ids ``new-1``, ``new-2``...; a point off the network is refused.
        """
        base = self.node_access(category)
        nodes = NodeAccess(base.dist_m.copy(), base.facility.copy(), base.bound_m)
        ids = list(self.facility_ids)
        changed: list[np.ndarray] = []
        for facility_id in remove:
            index = ids.index(facility_id) if facility_id in ids else -1
            if index < 0 or self.facility_category[index] != category:
                raise ValueError(f"facility {facility_id!r} is not a {category} facility of this database")
            changed.append(remove_facility(self.graph, nodes, facility=index))
        if add:
            snaps = self.snap(np.array([p[0] for p in add]), np.array([p[1] for p in add]), max_snap_m=max_snap_m)
            for k in range(len(add)):
                if snaps.edge_id[k] < 0:
                    raise ValueError(f"point {add[k]} is more than {max_snap_m:g} m from any street: off network")
                ids.append(f"new-{k + 1}")
                changed.append(add_facility(self.graph, nodes, edge=int(snaps.edge_id[k]),
                                            along_m=float(snaps.along_m[k]), snap_m=float(snaps.snap_m[k]),
                                            facility=len(ids) - 1))
        before = self.cell_access(category)
        after = cells_from_nodes(self.graph, nodes)
        moved = ~np.isclose(np.nan_to_num(before.distance_m, nan=-1.0), np.nan_to_num(after.distance_m, nan=-1.0))
        return WhatIfResult(category, after, np.flatnonzero(moved), np.array(ids, dtype=object))


def build_engine(*, n_nodes: int, edge_u: np.ndarray, edge_v: np.ndarray, edge_length_m: np.ndarray,
                 edges_wgs84: np.ndarray, cell_h3: np.ndarray, cell_lon: np.ndarray, cell_lat: np.ndarray,
                 facility_ids: np.ndarray, facility_category: np.ndarray, facility_lon: np.ndarray,
                 facility_lat: np.ndarray, max_snap_m: float, bound_m: float,
                 snappable: np.ndarray | None = None) -> AccessEngine:
    """Project the network to a local metric CRS, snap cells and facilities, and build the search graph.

    ``snappable`` (edge ids) limits where points may join the network: the
    database passes the edges outside small islands, so a cell next to a stray
    fragment joins the real network instead of being stranded on the fragment.
    """
    bounds = shapely.total_bounds(edges_wgs84)
    crs = local_metric_crs((bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2)
    transformer = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    edges_m = shapely.transform(edges_wgs84, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))
    candidates = np.arange(len(edges_m)) if snappable is None else np.asarray(snappable, dtype=np.int64)
    tree = shapely.STRtree(edges_m[candidates])
    snaps = []
    for lon, lat in ((cell_lon, cell_lat), (facility_lon, facility_lat)):
        x, y = to_metric(crs, lon, lat)
        snaps.append(snap_points(edges_m, edge_length_m, x, y, max_snap_m=max_snap_m, tree=tree,
                                 candidates=candidates))
    graph = build_access_graph(n_nodes, edge_u, edge_v, edge_length_m, snaps[0], snaps[1])
    return AccessEngine(graph=graph, cell_h3=cell_h3, cell_snaps=snaps[0], facility_ids=facility_ids,
                        facility_category=facility_category, facility_snaps=snaps[1], metric_crs=crs,
                        edges_m=edges_m, bound_m=bound_m, snappable=candidates, _tree=tree)
