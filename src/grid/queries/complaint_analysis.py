"""Where complaints concentrate: Getis-Ord Gi* hotspots on H3 cells, repeat complaints
at the same place, and complaint rates inside vs outside a life-circle gap.

All read through :func:`~grid.queries.complaints.visible_complaints`, so a viewer's
access rules apply.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from grid.coverage import cell_coverage, circle_thresholds
from grid.errors import InputError
from grid.governance.access import Viewer
from grid.governance.hotspots import getis_ord_gi_star, rate_ratio, repeat_places
from grid.queries.complaints import ComplaintFilter, visible_complaints
from grid.settings import Settings

__all__ = ["hotspot_cells", "repeat_complaints", "GapOverlay", "complaints_over_gaps"]


def _study_cells(con: duckdb.DuckDBPyConnection, viewer: Viewer, grid_id: str | None) -> np.ndarray:
    """Cells of the study area: every populated or gridded cell the viewer may see."""
    if viewer.grid_ids is None and grid_id is None:
        sql = "SELECT h3 FROM cells UNION SELECT h3 FROM grid_cells"
        return con.execute(sql).fetchnumpy()["h3"].astype(np.uint64)
    grids = [grid_id] if grid_id is not None else sorted(viewer.grid_ids or [])
    rows = con.execute("SELECT DISTINCT h3 FROM grid_cells WHERE grid_id IN (SELECT unnest(?::VARCHAR[]))",
                       [grids]).fetchnumpy()["h3"]
    return rows.astype(np.uint64)


def hotspot_cells(con: duckdb.DuckDBPyConnection, viewer: Viewer, flt: ComplaintFilter | None = None, *,
                  k: int = 1, alpha: float = 0.05) -> pd.DataFrame:
    """Gi* per cell of the viewer's study area over the filtered complaints (zeros included):
    h3, count, z, p, q (Benjamini-Hochberg), hotspot, coldspot."""
    f = flt or ComplaintFilter()
    complaints = visible_complaints(con, viewer, f)
    cells = _study_cells(con, viewer, f.grid_id)
    if len(cells) == 0:
        return pd.DataFrame(columns=["h3", "count", "neighbours", "z", "p", "q", "hotspot", "coldspot"])
    located = complaints["h3"].dropna().astype(np.uint64)
    counts = located.value_counts().reindex(cells, fill_value=0).to_numpy(float)
    return getis_ord_gi_star(cells, counts, k=k, alpha=alpha)


def repeat_complaints(con: duckdb.DuckDBPyConnection, viewer: Viewer, flt: ComplaintFilter | None = None, *,
                      window_days: int = 30, min_count: int = 3) -> pd.DataFrame:
    """Chains of complaints of one category in one cell, each within ``window_days`` of the last."""
    frame = visible_complaints(con, viewer, flt)
    frame = frame[frame["h3"].notna()]
    return repeat_places(frame[["complaint_id", "h3", "category", "received_at"]],
                         window_days=window_days, min_count=min_count)


@dataclass(frozen=True)
class GapOverlay:
    """Complaints of one kind inside vs outside the gap of one facility category.

    ``cells``: h3, population, population_65plus, covered, complaints (for the map);
    ``figures``: :func:`~grid.governance.hotspots.rate_ratio` of inside (gap) vs outside.
    """

    complaint_category: str
    facility_category: str
    circle_id: str
    per: str
    cells: pd.DataFrame
    figures: dict[str, float]


def complaints_over_gaps(con: duckdb.DuckDBPyConnection, settings: Settings, viewer: Viewer, *,
                         complaint_category: str, facility_category: str, circle_id: str,
                         per: str = "population", flt: ComplaintFilter | None = None) -> GapOverlay:
    """Complaints of ``complaint_category`` per 1,000 residents (``per`` population or
    population_65plus) in cells outside vs inside the ``facility_category`` walking circle."""
    if per not in ("population", "population_65plus"):
        raise InputError(f"per must be population or population_65plus, not {per!r}")
    rules = circle_thresholds(settings, circle_id, categories=[facility_category]).drop_duplicates("category")
    if rules.empty:
        raise InputError(f"circle {circle_id!r} has no walking threshold for {facility_category!r}")
    cells = cell_coverage(con, rules).groupby("h3", as_index=False).agg(
        population=("population", "sum"), population_65plus=("population_65plus", "sum"), covered=("covered", "max"))
    f = flt or ComplaintFilter()
    complaints = visible_complaints(con, viewer, ComplaintFilter(**{**f.__dict__, "categories": (complaint_category,)}))
    counts = complaints["h3"].dropna().astype(np.uint64).value_counts()
    if viewer.grid_ids is not None or f.grid_id is not None:
        cells = cells[cells["h3"].isin(_study_cells(con, viewer, f.grid_id))]
    cells = cells.assign(complaints=counts.reindex(cells["h3"].to_numpy(np.uint64), fill_value=0).to_numpy())
    return GapOverlay(complaint_category, facility_category, circle_id, per, cells.reset_index(drop=True),
                      _gap_figures(cells, per))


_RATE_KEYS = ("rate_in", "rate_in_low", "rate_in_high", "rate_out", "rate_out_low", "rate_out_high",
              "ratio", "ratio_low", "ratio_high")


def _gap_figures(cells: pd.DataFrame, per: str) -> dict[str, float | str | None]:
    """:func:`rate_ratio` of gap vs covered cells; NaN with a note when one side has no residents
    (a grid manager's few cells often lie wholly inside or outside the circle)."""
    gap = ~cells["covered"].astype(bool)
    people_in, people_out = float(cells.loc[gap, per].sum()), float(cells.loc[~gap, per].sum())
    if people_in > 0 and people_out > 0:
        return rate_ratio(int(cells.loc[gap, "complaints"].sum()), people_in,
                          int(cells.loc[~gap, "complaints"].sum()), people_out)
    empty = [side for side, people in (("in the gap", people_in), ("outside the gap", people_out)) if people <= 0]
    return {**dict.fromkeys(_RATE_KEYS, float("nan")), "per": 1000.0, "confidence": 0.95,
            "note": f"no residents ({per}) {' or '.join(empty)} among the cells this viewer may see; "
                    "rates cannot be compared"}
