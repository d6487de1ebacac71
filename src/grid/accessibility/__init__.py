"""Walking access: snapping, the search graph, multi-source Dijkstra per category, what-if updates.

Pure cores over numpy arrays (``snap``, ``graph``, ``dijkstra``, ``whatif``);
:mod:`grid.accessibility.compute` reads the database and writes ``cell_access``.
"""

from grid.accessibility.dijkstra import STATUS, CellAccess, NodeAccess, cells_from_nodes, nearest_facility
from grid.accessibility.graph import AccessGraph, build_access_graph
from grid.accessibility.snap import Snaps, snap_points
from grid.accessibility.whatif import add_facility, remove_facility

__all__ = ["STATUS", "AccessGraph", "CellAccess", "NodeAccess", "Snaps", "add_facility", "build_access_graph",
           "cells_from_nodes", "nearest_facility", "remove_facility", "snap_points"]
