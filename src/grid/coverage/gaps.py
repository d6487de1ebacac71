"""Gap cells (populated cells beyond a circle's threshold) and contiguous gap areas
ranked by the residents in them."""

from __future__ import annotations

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd

from grid.coverage.coverage import ALL_REQUIRED, all_required_cells, cell_coverage, circle_thresholds
from grid.h3index import cells_to_outline, dissolve_cells
from grid.settings import Settings

__all__ = ["coverage_to_gaps", "gap_cells", "gap_areas", "service_areas"]


def _category_cells(con: duckdb.DuckDBPyConnection, settings: Settings, circle_id: str, category: str,
                    profile: str) -> pd.DataFrame:
    if category == ALL_REQUIRED:
        rules = circle_thresholds(settings, circle_id, profile=profile)
        return all_required_cells(cell_coverage(con, rules), rules)
    rules = circle_thresholds(settings, circle_id, profile=profile, categories=[category])
    if rules.empty:
        rules = pd.DataFrame({"category": [category], "threshold_m": [np.nan], "requirement": ["none"]})
    return cell_coverage(con, rules.drop_duplicates("category"))


def gap_cells(con: duckdb.DuckDBPyConnection, settings: Settings, *, circle_id: str, category: str,
              profile: str = "adult") -> pd.DataFrame:
    """Populated cells not covered for ``category`` in ``circle_id``: h3, population, distance_m, communities."""
    return coverage_to_gaps(_category_cells(con, settings, circle_id, category, profile))


def coverage_to_gaps(cells: pd.DataFrame) -> pd.DataFrame:
    """The uncovered cells of a one-category :func:`cell_coverage` frame (or of :func:`all_required_cells`),
    one row per h3 (see :func:`gap_cells`)."""
    if "distance_m" not in cells:
        cells = cells.assign(distance_m=np.nan, status="not_covered")
    cells = cells[~cells["covered"]]
    out = cells.groupby("h3", as_index=False).agg(
        population=("population", "sum"), population_65plus=("population_65plus", "sum"),
        distance_m=("distance_m", "min"), status=("status", "first"))
    out["community_ids"] = _joined_ids(cells).reindex(out["h3"]).to_numpy(object)
    return out.sort_values("h3").reset_index(drop=True)


def _joined_ids(cells: pd.DataFrame) -> pd.Series:
    """Per h3: its distinct community ids, sorted, joined by commas (Python only for cells shared by several)."""
    pairs = cells[["h3", "community_id"]].drop_duplicates().sort_values(["h3", "community_id"])
    shared = pairs["h3"].duplicated(keep=False).to_numpy()
    single = pairs[~shared].set_index("h3")["community_id"].astype(object)
    several = pairs[shared].groupby("h3")["community_id"].agg(",".join).astype(object)
    return pd.concat([single, several])


def _joined(ids: pd.Series) -> str:
    return ",".join(sorted(set(",".join(ids).split(",")) - {""}))


def gap_areas(gaps: pd.DataFrame) -> gpd.GeoDataFrame:
    """Merge edge-contiguous gap cells into areas ranked by residents (rank 1 = most people affected)."""
    polygons, area = dissolve_cells(gaps["h3"].to_numpy(np.uint64))
    areas = gaps.assign(area=area).groupby("area").agg(
        cells=("h3", "size"), population=("population", "sum"), max_distance_m=("distance_m", "max"),
        community_ids=("community_ids", _joined))
    areas = gpd.GeoDataFrame(areas.reset_index(drop=True), geometry=polygons[areas.index.to_numpy()], crs="EPSG:4326")
    areas = areas.sort_values(["population", "cells"], ascending=False).reset_index(drop=True)
    areas.insert(0, "rank", np.arange(1, len(areas) + 1))
    return areas


_SERVED_SQL = """
SELECT a.facility_id, f.name, a.h3, c.population
FROM cell_access a JOIN facilities f ON f.facility_id = a.facility_id JOIN cells c ON c.h3 = a.h3
WHERE a.category = ? AND a.distance_m <= ?
ORDER BY a.facility_id, a.h3
"""


def service_areas(con: duckdb.DuckDBPyConnection, *, category: str, threshold_m: float) -> gpd.GeoDataFrame:
    """Per facility of ``category``: the populated cells it is nearest to within ``threshold_m``, as one outline."""
    served = con.execute(_SERVED_SQL, [category, threshold_m]).to_arrow_table().to_pandas()
    groups = served.groupby(["facility_id", "name"], sort=True)
    rows = groups.agg(cells=("h3", "size"), population=("population", "sum")).reset_index()
    outlines = [cells_to_outline(g["h3"].to_numpy(np.uint64)) for _, g in groups]
    return gpd.GeoDataFrame(rows, geometry=outlines, crs="EPSG:4326")
