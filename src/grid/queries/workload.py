"""Grids, managers and their load as a viewer may see them: grid cells for the map,
the three rates (response, resolution, satisfaction), workload per manager and a
proposal to redraw grids so the load evens out.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from grid.store import query_frame
from grid.governance.access import Viewer
from grid.governance.regions import grid_polygons, redraw_proposal
from grid.io.export import write_export
from grid.governance.sla import SATISFACTION_FILE, read_satisfaction, three_rates
from grid.queries.complaints import ComplaintFilter, check_grid_access, complaints_as_of, visible_complaints, work_list
from grid.settings import Settings

__all__ = ["visible_grids", "grid_cells_of", "rates", "workload", "imbalance", "RedrawView", "redraw_view",
           "export_work_list", "RATE_GROUPS", "REDRAW_BOUNDS"]

RATE_GROUPS = {"grid": "grid_id", "manager": "manager_id", "community": "community_id",
               "subdistrict": "subdistrict", "month": "month"}


def _grid_filter(viewer: Viewer, grid_id: str | None) -> tuple[bool, list[str]]:
    check_grid_access(viewer, grid_id)
    if grid_id is not None:
        return False, [grid_id]
    return viewer.grid_ids is None, sorted(viewer.grid_ids or [])


def visible_grids(con: duckdb.DuckDBPyConnection, viewer: Viewer, *, grid_id: str | None = None) -> gpd.GeoDataFrame:
    """Grids ``viewer`` may see with outline, community, households, population and manager(s)."""
    every, grids = _grid_filter(viewer, grid_id)
    frame = query_frame(con,
        "SELECT g.grid_id, g.name, g.community_id, c.name AS community_name, c.subdistrict, g.households, "
        "g.population, g.area_m2, g.source, (SELECT string_agg(manager_id, ';' ORDER BY manager_id) FROM manager_grids m "
        "WHERE m.grid_id = g.grid_id) AS manager_ids, ST_AsWKB(g.geom) AS wkb FROM grids g "
        "LEFT JOIN communities c USING (community_id) WHERE ? OR g.grid_id IN (SELECT unnest(?::VARCHAR[])) "
        "ORDER BY g.grid_id", [every, grids])
    geoms = shapely.from_wkb([bytes(w) for w in frame.pop("wkb")]) if len(frame) else []
    return gpd.GeoDataFrame(frame, geometry=list(geoms), crs="EPSG:4326")


def grid_cells_of(con: duckdb.DuckDBPyConnection, viewer: Viewer, *, grid_id: str | None = None) -> pd.DataFrame:
    """H3 cells of the viewer's grids: grid_id, h3, area_share, households, population (cell figures
    shared by area where a cell straddles grids)."""
    every, grids = _grid_filter(viewer, grid_id)
    return query_frame(con,
        "SELECT gc.grid_id, gc.h3, gc.area_share, round(coalesce(c.households, 0) * gc.area_share)::BIGINT AS households, "
        "round(coalesce(c.population, 0) * gc.area_share)::BIGINT AS population FROM grid_cells gc "
        "LEFT JOIN cells c USING (h3) WHERE ? OR gc.grid_id IN (SELECT unnest(?::VARCHAR[])) "
        "ORDER BY gc.grid_id, gc.h3", [every, grids])


def _satisfaction(settings: Settings) -> pd.DataFrame:
    return read_satisfaction(settings.governance_dir / SATISFACTION_FILE)


def rates(con: duckdb.DuckDBPyConnection, settings: Settings, viewer: Viewer, *, by: list[str],
          flt: ComplaintFilter | None = None) -> pd.DataFrame:
    """The three rates (响应率 response, 解决率 resolution, 满意率 satisfaction) per group.

    ``by``: any of grid, manager, community, subdistrict, month.
    """
    unknown = sorted(set(by) - set(RATE_GROUPS))
    if unknown:
        raise ValueError(f"cannot group rates by {unknown}; use {sorted(RATE_GROUPS)}")
    frame = visible_complaints(con, viewer, flt)
    columns = [RATE_GROUPS[b] for b in by]
    frame = frame.dropna(subset=[c for c in columns if c != "month"])
    return three_rates(frame, by=columns, satisfaction=_satisfaction(settings))


def workload(con: duckdb.DuckDBPyConnection, settings: Settings, viewer: Viewer, *, months: int = 12) -> pd.DataFrame:
    """Per manager: grids, households, population, complaints in the last ``months`` before the
    as-of time, open, overdue, complaints per 100 households and the three rates."""
    as_of = complaints_as_of(con)
    recent = ComplaintFilter(start=as_of - pd.DateOffset(months=months))
    complaints = visible_complaints(con, viewer, recent)
    grids = visible_grids(con, viewer)
    owners = query_frame(con, "SELECT m.manager_id, m.name, mg.grid_id FROM manager_grids mg JOIN managers m "
                         "USING (manager_id)")
    owners = owners[owners["grid_id"].isin(grids["grid_id"])]
    per_manager = owners.merge(grids[["grid_id", "households", "population"]], on="grid_id").groupby(
        ["manager_id", "name"], as_index=False).agg(grids=("grid_id", "size"), households=("households", "sum"),
                                                    population=("population", "sum"))
    load = complaints.groupby("manager_id", as_index=False).agg(
        complaints=("complaint_id", "size"), open=("is_open", "sum"), overdue=("overdue", "sum"))
    out = per_manager.merge(load, on="manager_id", how="left").fillna({"complaints": 0, "open": 0, "overdue": 0})
    out["complaints_per_100_households"] = 100 * out["complaints"] / out["households"].where(out["households"] > 0)
    rate = three_rates(complaints.dropna(subset=["manager_id"]), by=["manager_id"], satisfaction=_satisfaction(settings))
    keep = ["manager_id", "response_rate", "resolution_rate", "satisfaction_rate"]
    return out.merge(rate[keep], on="manager_id", how="left").sort_values("complaints", ascending=False,
                                                                          ignore_index=True)


def imbalance(values: pd.Series) -> dict[str, float]:
    """Spread of a load over managers or grids: cv (std/mean), max/min ratio, max/mean."""
    v = values.astype(float)
    mean = v.mean()
    return {"cv": float(v.std(ddof=0) / mean) if mean else float("nan"),
            "max_min_ratio": float(v.max() / v.min()) if v.min() > 0 else float("inf"),
            "max_mean_ratio": float(v.max() / mean) if mean else float("nan")}


@dataclass(frozen=True)
class RedrawView:
    """A proposal to redraw grids: the cells with current and proposed grid, per-grid loads
    before and after, and the balance figures before/after."""

    cells: pd.DataFrame
    before: pd.DataFrame
    after: pd.DataFrame
    outlines_before: gpd.GeoDataFrame
    outlines_after: gpd.GeoDataFrame
    figures: dict[str, float]


def _cell_load(con: duckdb.DuckDBPyConnection, viewer: Viewer, months: int) -> pd.DataFrame:
    """Each cell whole, with all its households, in the grid holding most of it (the redraw moves
    whole cells); complaints of the last ``months`` per cell."""
    cells = query_frame(con,
        "SELECT g.community_id, gc.grid_id, gc.h3, coalesce(c.households, 0) AS households "
        "FROM grid_cells gc JOIN grids g USING (grid_id) LEFT JOIN cells c USING (h3) "
        "QUALIFY row_number() OVER (PARTITION BY gc.h3 ORDER BY gc.area_share DESC, gc.grid_id) = 1")
    if viewer.grid_ids is not None:
        cells = cells[cells["grid_id"].isin(viewer.grid_ids)]
    as_of = complaints_as_of(con)
    complaints = visible_complaints(con, viewer, ComplaintFilter(start=as_of - pd.DateOffset(months=months)))
    counts = complaints["h3"].dropna().astype(np.uint64).value_counts()
    cells["complaints"] = counts.reindex(cells["h3"].to_numpy(np.uint64), fill_value=0).to_numpy()
    return cells


def _loads(frame: pd.DataFrame, n_grids: int, weight: float, totals: tuple[float, float]) -> pd.Series:
    """Workload = n_grids x ((1 - w) x share of households + w x share of complaints): 1.0 for the mean grid."""
    households, complaints = totals
    return n_grids * ((1 - weight) * frame["households"] / (households or 1)
                      + weight * frame["complaints"] / (complaints or 1))


REDRAW_BOUNDS = (0.9, 1.1)
"""Workload per grid the redraw aims within (mean grid = 1.0): tight bounds make the search even
the load (on the demo, CV 0.171 -> 0.073 at w = 0.5; with 0.5-1.5 it stopped at 0.186)."""


def _load_figures(load: pd.Series, low: float = REDRAW_BOUNDS[0], high: float = REDRAW_BOUNDS[1]) -> dict[str, float]:
    spread = imbalance(load)
    return {"grids": float(len(load)), "cv": spread["cv"], "max_min_ratio": spread["max_min_ratio"],
            "share_within_bounds": float(load.between(low, high).mean()) if len(load) else float("nan")}


def _current_grids(con: duckdb.DuckDBPyConnection, viewer: Viewer, months: int) -> gpd.GeoDataFrame:
    """The grids as they are: households from the grid layer (else their cells), complaints routed
    to them in the last ``months``."""
    grids = visible_grids(con, viewer)
    estimate = grid_cells_of(con, viewer).groupby("grid_id")["households"].sum()
    grids["households"] = grids["households"].fillna(grids["grid_id"].map(estimate)).fillna(0).astype(float)
    as_of = complaints_as_of(con)
    recent = visible_complaints(con, viewer, ComplaintFilter(start=as_of - pd.DateOffset(months=months)))
    grids["complaints"] = grids["grid_id"].map(recent["grid_id"].value_counts()).fillna(0).astype(float)
    return grids


def redraw_view(con: duckdb.DuckDBPyConnection, viewer: Viewer, *, months: int = 12,
                complaint_weight: float = 0.5) -> RedrawView:
    """Redraw grids within each community so the workload evens out.

    Workload = (1 - w) x share of households + w x share of complaints (last
    ``months``), scaled so the mean grid carries 1.0; ``w`` is ``complaint_weight``.
    *Before* is the grids as they are (their households and routed complaints);
    *after* moves whole H3 cells, each community keeping its number of grids, and
    every grid stays contiguous. Figures: cv, max/min and the share of grids with a
    load within :data:`REDRAW_BOUNDS`, before and after.
    """
    current = _current_grids(con, viewer, months)
    cells = _cell_load(con, viewer, months)
    n_grids = max(len(current), 1)
    current["load"] = _loads(current, n_grids, complaint_weight,
                             (current["households"].sum(), current["complaints"].sum()))
    cells["load"] = _loads(cells, n_grids, complaint_weight, (cells["households"].sum(), cells["complaints"].sum()))
    low, high = REDRAW_BOUNDS
    plan, _ = redraw_proposal(cells, cells["grid_id"], weight="load", minimum=low, maximum=high,
                              grids_by_community=current.groupby("community_id")["grid_id"].nunique())
    plan = plan.rename(columns={"grid_id": "proposed_grid_id"}).assign(current_grid_id=cells["grid_id"])
    sums = ["households", "complaints", "load"]
    after = plan.groupby("proposed_grid_id", as_index=False)[sums].sum().rename(columns={"proposed_grid_id": "grid_id"})
    figures = {f"{k}_before": v for k, v in _load_figures(current["load"]).items()}
    figures |= {f"{k}_after": v for k, v in _load_figures(after["load"]).items()}
    outlines_after = grid_polygons(plan.rename(columns={"proposed_grid_id": "grid_id"})[["grid_id", "community_id", "h3"]])
    return RedrawView(cells=plan, before=pd.DataFrame(current[["grid_id", *sums]]), after=after,
                      outlines_before=current[["grid_id", "name", "community_id", "geometry"]],
                      outlines_after=outlines_after, figures=figures)


def export_work_list(con: duckdb.DuckDBPyConnection, viewer: Viewer, flt: ComplaintFilter | None = None, *,
                     fmt: str = "csv") -> bytes:
    """The viewer's work list as CSV (UTF-8 with BOM, opens in Excel) or XLSX bytes."""
    frame = work_list(con, viewer, flt)
    for column in frame.select_dtypes(include=["datetimetz"]).columns:
        frame[column] = frame[column].dt.tz_convert("Asia/Shanghai").dt.strftime("%Y-%m-%d %H:%M")
    if fmt == "csv":
        return frame.to_csv(index=False).encode("utf-8-sig")
    if fmt == "xlsx":  # through write_export: text stays text (a description starting with '=' is no formula)
        with tempfile.TemporaryDirectory() as folder:
            return write_export(frame, Path(folder) / "work_list.xlsx", layer="work_list").read_bytes()
    raise ValueError(f"unknown export format {fmt!r}; use csv or xlsx")
