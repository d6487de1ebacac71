"""The coverage page's data for one (circle, category, speed profile): city and community
figures, the cells to colour, the gaps to outline, facilities and community boundaries.

Everything comes from one read of ``cell_access`` through :mod:`grid.coverage`, so the
numbers equal :func:`~grid.coverage.coverage_summary`, :func:`~grid.coverage.gap_cells`
and :func:`~grid.coverage.compliance_overview` for the same inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from grid.coverage import (ALL_REQUIRED, LEVEL_CIRCLES, all_required_cells, cell_coverage, circle_thresholds,
                           community_compliance, compliance_overview, coverage_to_gaps, required_categories,
                           summarise_coverage)
from grid.errors import InputError
from grid.queries.options import list_facilities
from grid.settings import Settings
from grid.standards import speed_m_per_min

__all__ = ["CoverageView", "coverage_view", "community_boundaries"]

_SIMPLIFY_DEG = 0.00002
"""Tolerance (degrees, about 2 m) of the community outlines sent to the map."""

_FIGURES = ["population", "covered_population", "coverage_pct", "people_in_gaps"]


@dataclass(frozen=True)
class CoverageView:
    """One (circle, category, profile) of the coverage page.

    Attributes
    ----------
    city : the city row of :func:`coverage_summary` for the category (population,
        covered_population, coverage_pct, people_in_gaps, threshold_m, target_coverage_pct).
    communities : per community, least covered first: community_id, name, subdistrict, population, covered_population,
        coverage_pct, people_in_gaps, and the GB 50180 check at ``compliance_level`` (pass,
        partial, fail counts of must items, fully_compliant).
    compliance_level : the GB 50180 level the compliance columns check (the circle's), or None for all levels.
    cells : one row per populated cell: h3, population, distance_m, walk_min (at the profile's
        speed; for ``all_required`` the slowest required category, or the quickest for
        ``combine = any`` circles), covered, in_gap.
    gaps : :func:`gap_cells` rows.
    facilities : facilities of the view's categories (see :func:`list_facilities`).
    boundaries : community outlines (WGS-84, simplified to about 2 m), indexed by community_id.
    categories : the categories the view covers; ``missing_categories`` those without any facility.
    """

    circle_id: str
    category: str
    profile: str
    categories: tuple[str, ...]
    missing_categories: tuple[str, ...]
    threshold_m: float
    speed_m_per_min: float
    city: pd.Series
    communities: pd.DataFrame
    compliance_level: str | None
    cells: pd.DataFrame
    gaps: pd.DataFrame
    facilities: pd.DataFrame
    boundaries: gpd.GeoDataFrame

    @property
    def fully_compliant(self) -> int:
        """Communities whose every must item of the checked level(s) passes."""
        return int(self.communities["fully_compliant"].sum())

    def community_bounds(self, community_id: str) -> tuple[float, float, float, float]:
        """(min lon, min lat, max lon, max lat) of one community's outline."""
        return tuple(float(v) for v in self.boundaries.loc[[community_id]].total_bounds)  # type: ignore[return-value]


def community_boundaries(con: duckdb.DuckDBPyConnection) -> gpd.GeoDataFrame:
    """Community outlines simplified for drawing: community_id (index), name, subdistrict, geometry."""
    frame = con.execute("SELECT community_id, name, subdistrict, ST_AsWKB(ST_SimplifyPreserveTopology(geom, ?)) AS wkb "
                        "FROM communities ORDER BY community_id", [_SIMPLIFY_DEG]).to_arrow_table().to_pandas()
    geometry = shapely.from_wkb(frame.pop("wkb").to_numpy(object))
    return gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326").set_index("community_id")


def _view_rules(settings: Settings, circle_id: str, category: str, profile: str) -> pd.DataFrame:
    rules = circle_thresholds(settings, circle_id, profile=profile)
    if category == ALL_REQUIRED:
        return rules
    chosen = rules[rules["category"] == category]
    if chosen.empty:
        raise InputError(f"category {category!r} is not part of circle {circle_id!r}; choose one of "
                         f"{rules['category'].tolist()} or {ALL_REQUIRED!r}")
    return chosen.reset_index(drop=True)


def _map_cells(cells: pd.DataFrame, required: pd.DataFrame, rules: pd.DataFrame, category: str,
               speed: float) -> pd.DataFrame:
    """One row per h3: residents, the distance to colour by, covered (``required``: :func:`all_required_cells`)."""
    if category == ALL_REQUIRED:
        use = cells[cells["category"].isin(required_categories(rules))]
        grouped = use.groupby("h3")["distance_m"]
        # each: the slowest required category decides (unreached anywhere -> unreached); any: the quickest
        if rules["combine"].iloc[0] == "any":
            per_cell = grouped.min()
        else:
            per_cell = grouped.max().where(~use["distance_m"].isna().groupby(use["h3"]).any())
        covered = required.groupby("h3")["covered"].first()
    else:
        per_cell = cells.groupby("h3")["distance_m"].first()
        covered = cells.groupby("h3")["covered"].first()
    population = cells.drop_duplicates(["community_id", "h3"]).groupby("h3")["population"].sum()
    out = pd.DataFrame({"population": population, "distance_m": per_cell.astype(float), "covered": covered})
    out["walk_min"] = out["distance_m"] / speed
    out = out.rename_axis("h3").reset_index()
    out["h3"] = out["h3"].astype(np.uint64)
    return out[["h3", "population", "distance_m", "walk_min", "covered"]]


def _communities(summary: pd.DataFrame, compliance: pd.DataFrame, category: str) -> pd.DataFrame:
    rows = summary[summary["category"] == category].rename(columns={"unit_id": "community_id", "unit_name": "name"})
    checks = compliance_overview(compliance)
    out = rows[["community_id", "name", *_FIGURES]].merge(
        checks.drop(columns="name"), on="community_id", how="left")
    out["fully_compliant"] = out["fully_compliant"].fillna(False).astype(bool)
    out = out.sort_values(["coverage_pct", "community_id"], na_position="first").reset_index(drop=True)
    return out[["community_id", "name", "subdistrict", *_FIGURES, "pass", "partial", "fail", "fully_compliant"]]


def coverage_view(con: duckdb.DuckDBPyConnection, settings: Settings, *, circle_id: str, category: str,
                  profile: str = "adult") -> CoverageView:
    """Everything the coverage page shows for ``category`` (or ``all_required``) of ``circle_id`` at ``profile``."""
    rules = _view_rules(settings, circle_id, category, profile)
    cells = cell_coverage(con, rules)
    required = all_required_cells(cells, rules)
    city = summarise_coverage(cells, rules, by="city", required=required).set_index("category").loc[category]
    level = str(rules["level"].iloc[0]) if circle_id in LEVEL_CIRCLES else None
    compliance = community_compliance(con, settings, circles=(circle_id,) if level else LEVEL_CIRCLES)
    communities = _communities(summarise_coverage(cells, rules, by="community", required=required), compliance,
                               category)
    gaps = coverage_to_gaps(required if category == ALL_REQUIRED else cells)
    speed = speed_m_per_min(settings, profile)
    map_cells = _map_cells(cells, required, rules, category, speed)
    map_cells["in_gap"] = map_cells["h3"].isin(gaps["h3"].to_numpy(np.uint64))
    categories = tuple(required_categories(rules)) if category == ALL_REQUIRED else (category,)
    facilities = list_facilities(con, categories=list(categories))
    missing = tuple(c for c in categories if c not in set(facilities["category"]))
    threshold = float(rules["threshold_m"].iloc[0]) if category != ALL_REQUIRED else float("nan")
    return CoverageView(circle_id, category, profile, categories, missing, threshold, speed, city, communities, level,
                        map_cells, gaps, facilities, community_boundaries(con))
