"""One community's check against GB 50180-2018 and the community standards (社区体检):
every required facility at every level, the community-standard checks, and its cells."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd

from grid.coverage import LEVEL_CIRCLES, cell_coverage, community_compliance, community_standard_checks
from grid.errors import InputError
from grid.queries.coverage import community_boundaries
from grid.queries.options import category_names, level_names, list_facilities
from grid.settings import Settings
from grid.standards import circle_rules, speed_m_per_min

__all__ = ["CommunityReport", "community_report"]

_COMMUNITY_SQL = ("SELECT community_id, name, subdistrict, district, population, households, population_65plus, "
                  "workers, social_organisations, service_space_m2, area_m2, source FROM communities "
                  "WHERE community_id = ?")


@dataclass(frozen=True)
class CommunityReport:
    """Result of :func:`community_report`.

    Attributes
    ----------
    community : the community's row (name, subdistrict, population, households, source ...).
    requirements : :func:`community_compliance` rows of the community, one per (level, category).
    checks : :func:`community_standard_checks` rows of the community.
    cells : the community's cells per (level, category): h3, level, category, population,
        distance_m, walk_min, covered.
    boundary : the community's outline (WGS-84, one row).
    facilities : every facility of the categories checked (for the map): see :func:`list_facilities`.
    names : category names (name_zh, name_en) indexed by category.
    levels : level names (name_zh, name_en) indexed by level.
    """

    community: pd.Series
    requirements: pd.DataFrame
    checks: pd.DataFrame
    cells: pd.DataFrame
    boundary: gpd.GeoDataFrame
    facilities: pd.DataFrame
    names: pd.DataFrame
    levels: pd.DataFrame

    def status_counts(self, *, requirement: str = "must") -> dict[str, int]:
        """pass / partial / fail counts over the ``requirement`` rows."""
        rows = self.requirements[self.requirements["requirement"] == requirement]
        return {s: int((rows["status"] == s).sum()) for s in ("pass", "partial", "fail")}

    def map_cells(self, level: str, category: str) -> pd.DataFrame:
        """The cells of one (level, category) row for a map: h3, population, distance_m, walk_min, covered, in_gap."""
        rows = self.cells[(self.cells["level"] == level) & (self.cells["category"] == category)]
        return rows.drop(columns=["level", "category"]).assign(in_gap=~rows["covered"]).reset_index(drop=True)

    def map_gaps(self, level: str, category: str) -> pd.DataFrame:
        """The cells of one (level, category) row beyond its threshold: h3, population."""
        cells = self.map_cells(level, category)
        return cells.loc[cells["in_gap"], ["h3", "population"]].reset_index(drop=True)

    def first_unmet(self) -> int:
        """Position in :attr:`requirements` of the first must row that does not pass (0 when all pass)."""
        unmet = (self.requirements["requirement"] == "must") & (self.requirements["status"] != "pass")
        return int(np.argmax(unmet.to_numpy())) if unmet.any() else 0

    def bounds(self) -> tuple[float, float, float, float]:
        """(min lon, min lat, max lon, max lat) of the community."""
        return tuple(float(v) for v in self.boundary.total_bounds)  # type: ignore[return-value]

    def must_share_per_cell(self) -> pd.DataFrame:
        """Per cell: share of the must rows (all levels) whose facility is within reach (0..1)."""
        must = self.requirements.loc[self.requirements["requirement"] == "must", ["level", "category"]]
        rows = self.cells.merge(must, on=["level", "category"])
        return rows.groupby("h3", as_index=False).agg(population=("population", "first"),
                                                      must_share=("covered", "mean"))


def _cells(con: duckdb.DuckDBPyConnection, settings: Settings, community_id: str) -> pd.DataFrame:
    rules = circle_rules(settings)
    rules = rules[rules["circle_id"].isin(LEVEL_CIRCLES)].reset_index(drop=True)
    cells = cell_coverage(con, rules)
    cells = cells[cells["community_id"] == community_id]
    out = cells[["h3", "level", "category", "population", "distance_m", "covered"]].astype(
        {"level": object, "category": object})
    out["walk_min"] = out["distance_m"] / speed_m_per_min(settings, "adult")
    out["h3"] = out["h3"].astype(np.uint64)
    return out.reset_index(drop=True)


def _in_level_order(rows: pd.DataFrame) -> pd.DataFrame:
    """15-minute level first, down to the residential block; must before should; then category."""
    order = {circle.removeprefix("gb-"): i for i, circle in enumerate(LEVEL_CIRCLES)}
    key = rows["level"].map(order).fillna(len(order)) * 2 + (rows["requirement"] != "must")
    return rows.assign(_key=key).sort_values(["_key", "category"], kind="stable").drop(columns="_key").reset_index(
        drop=True)


def community_report(con: duckdb.DuckDBPyConnection, settings: Settings, *, community_id: str) -> CommunityReport:
    """Everything the community report shows for ``community_id`` (walk minutes at the adult profile)."""
    community = con.execute(_COMMUNITY_SQL, [community_id]).to_arrow_table().to_pandas()
    if community.empty:
        known = con.execute("SELECT community_id FROM communities ORDER BY 1 LIMIT 10").fetchall()
        raise InputError(f"community {community_id!r} not found; ids look like {[k[0] for k in known]}")
    requirements = _in_level_order(community_compliance(con, settings, community_id=community_id))
    checks = community_standard_checks(con, settings, community_id=community_id)
    boundary = community_boundaries(con).loc[[community_id]]
    facilities = list_facilities(con, categories=sorted(set(requirements["category"])))
    return CommunityReport(community.iloc[0], requirements, checks, _cells(con, settings, community_id), boundary,
                           facilities, category_names(settings), level_names(settings))
