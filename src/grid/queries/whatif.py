"""The what-if page's data: :func:`~grid.coverage.what_if_summary` plus the facilities
and cells to draw before and after the change."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import geopandas as gpd
import pandas as pd

from grid.coverage import WhatIf, what_if_summary
from grid.queries.coverage import community_boundaries
from grid.queries.options import list_facilities
from grid.settings import Settings

__all__ = ["WhatIfView", "whatif_view"]


@dataclass(frozen=True)
class WhatIfView:
    """Result of :func:`whatif_view`.

    Attributes
    ----------
    result : the :class:`~grid.coverage.WhatIf` (summary before/after, cells, added points).
    facilities : the category's facilities after the change: existing ones not removed
        (``new = False``) and the added points on the network (``new = True``).
    existing : the category's facilities in the database (to choose removals from).
    boundaries : community outlines.
    """

    result: WhatIf
    facilities: pd.DataFrame
    existing: pd.DataFrame
    boundaries: gpd.GeoDataFrame

    def map_cells(self, *, changed_only: bool = False) -> pd.DataFrame:
        """Cells after the change for a map: h3, population, distance_m, walk_min, covered, in_gap."""
        cells = self.result.cells
        if changed_only:
            cells = cells[cells["changed"]]
        return pd.DataFrame({"h3": cells["h3"], "population": cells["population"],
                             "distance_m": cells["distance_after_m"], "walk_min": cells["walk_min_after"],
                             "covered": cells["covered_after"], "in_gap": ~cells["covered_after"]}
                            ).reset_index(drop=True)

    def centre(self) -> tuple[float, float]:
        """(lon, lat) of the middle of the communities' extent, rounded to 5 decimals (about 1 m)."""
        west, south, east, north = self.boundaries.total_bounds
        return round(float(west + east) / 2, 5), round(float(south + north) / 2, 5)

    def gaps(self) -> pd.DataFrame:
        """Populated cells beyond the threshold after the change: h3, population."""
        cells = self.result.cells[~self.result.cells["covered_after"] & (self.result.cells["population"] > 0)]
        return cells[["h3", "population"]].reset_index(drop=True)


def whatif_view(con: duckdb.DuckDBPyConnection, settings: Settings, *, circle_id: str, category: str,
                add: Sequence[tuple[float, float]] = (), remove: Sequence[str] = (),
                profile: str = "adult") -> WhatIfView:
    """:func:`what_if_summary` of adding facilities at ``add`` (lon, lat) and removing ``remove`` (ids)."""
    result = what_if_summary(con, settings, circle_id=circle_id, category=category, add=add, remove=remove,
                             profile=profile)
    existing = list_facilities(con, categories=[category])
    kept = existing[~existing["facility_id"].isin(list(remove))].assign(new=False)
    placed = result.added[result.added["on_network"]]
    new = pd.DataFrame({"facility_id": placed["facility_id"], "name": placed["facility_id"], "category": category,
                        "lon": placed["lon"], "lat": placed["lat"], "new": True})
    facilities = pd.concat([kept, new], ignore_index=True) if len(new) else kept.reset_index(drop=True)
    return WhatIfView(result, facilities, existing, community_boundaries(con))
