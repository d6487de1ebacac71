"""Per-community compliance with GB 50180-2018: for each required facility of each
life-circle level (levels do not contain each other, so a community is checked at
every level), the share of residents within the walking radius, the distance,
and pass / partial / fail.

pass / partial / fail is project policy, not the standard's: ``pass`` when at
least ``pass_share`` of residents are covered, ``fail`` below ``fail_share``
(settings ``compliance_pass_share`` / ``compliance_fail_share``).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from grid.coverage.coverage import cell_coverage
from grid.settings import Settings
from grid.standards import circle_rules, read_community_standards

__all__ = ["LEVEL_CIRCLES", "community_compliance", "compliance_overview", "community_standard_checks"]

LEVEL_CIRCLES = ("gb-15min", "gb-10min", "gb-5min", "gb-block")
"""The GB 50180-2018 walking levels checked for every community."""


def _weighted_medians(cells: pd.DataFrame, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Population-weighted median distance per group (the first distance where half the residents are reached)."""
    dist = cells["distance_m"].to_numpy(float)
    pop = cells["population"].to_numpy(float)
    ok = ~np.isnan(dist) & (pop > 0)
    g, d, w = group[ok], dist[ok], pop[ok]
    order = np.lexsort((d, g))
    g, d, w = g[order], d[order], w[order]
    cum = pd.Series(w).groupby(g).cumsum().to_numpy()
    half = np.zeros(n_groups)
    np.maximum.at(half, g, cum)  # the last cumulative sum of a group is its largest
    reached = cum >= half[g] / 2
    first = np.full(n_groups, -1)
    hits = np.flatnonzero(reached)
    first_hit = np.r_[True, g[hits][1:] != g[hits][:-1]] if len(hits) else np.array([], bool)
    first[g[hits][first_hit]] = hits[first_hit]
    return np.where(first >= 0, d[np.maximum(first, 0)] if len(d) else np.nan, np.nan)


def _summarise(cells: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per group of ``keys``: residents, covered residents, share, nearest / median / farthest distance."""
    pop = cells["population"].astype(float)
    cells = cells.assign(population=pop, _covered=pop.where(cells["covered"].astype(bool), 0.0),
                         _unreached=pop.where(cells["distance_m"].isna(), 0.0))
    grouped = cells.groupby(keys, dropna=False, sort=True)
    out = grouped.agg(population=("population", "sum"), covered_population=("_covered", "sum"),
                      nearest_m=("distance_m", "min"), farthest_m=("distance_m", "max"),
                      unreached_population=("_unreached", "sum")).reset_index()
    out["share_covered"] = out["covered_population"] / out["population"].where(out["population"] > 0)
    out["median_m"] = _weighted_medians(cells, grouped.ngroup().to_numpy(), len(out))
    return out[[*keys, "population", "covered_population", "share_covered", "nearest_m", "median_m",
                "farthest_m", "unreached_population"]]


def community_compliance(con: duckdb.DuckDBPyConnection, settings: Settings, *,
                         community_id: str | None = None, circles: tuple[str, ...] = LEVEL_CIRCLES) -> pd.DataFrame:
    """One row per (community, level, category) of the standard's required facilities.

    ``circles`` limits the check to some of the levels' circles (default all of :data:`LEVEL_CIRCLES`).

    Columns: community_id, name, subdistrict, level, category, requirement, clause,
    threshold_m, population, covered_population, share_covered, nearest_m,
    median_m (population-weighted), farthest_m (within the search bound),
    unreached_population, status (pass/partial/fail), has_facilities, verified.
    """
    rules = circle_rules(settings)
    rules = rules[rules["circle_id"].isin([c for c in circles if c in LEVEL_CIRCLES])].reset_index(drop=True)
    cells = cell_coverage(con, rules)
    if community_id is not None:
        cells = cells[cells["community_id"] == community_id]
    keys = ["community_id", "name", "subdistrict", "level", "category", "requirement", "clause", "threshold_m",
            "verified"]
    out = _summarise(cells, keys)
    present = set(con.execute("SELECT DISTINCT category FROM facilities").fetchnumpy()["category"].tolist())
    out["has_facilities"] = out["category"].isin(present)
    share = out["share_covered"].fillna(0.0)
    out["status"] = np.where(share >= settings.compliance_pass_share, "pass",
                             np.where(share < settings.compliance_fail_share, "fail", "partial"))
    return out.sort_values(["community_id", "level", "requirement", "category"]).reset_index(drop=True)


def compliance_overview(compliance: pd.DataFrame, *, requirement: str = "must") -> pd.DataFrame:
    """Per community: counts of pass / partial / fail over ``requirement`` rows and whether all pass."""
    rows = compliance[compliance["requirement"] == requirement]
    keys = ["community_id", "name", "subdistrict"]  # dropna=False keeps communities without a sub-district
    counts = rows.groupby(keys, dropna=False, sort=True)["status"].value_counts().unstack(fill_value=0)
    for status in ("pass", "partial", "fail"):
        if status not in counts:
            counts[status] = 0
    counts = counts[["pass", "partial", "fail"]].reset_index()
    counts.columns.name = None
    counts["fully_compliant"] = (counts["partial"] == 0) & (counts["fail"] == 0)
    return counts


_COMMUNITY_SQL = """
SELECT c.community_id, c.name, c.subdistrict, c.population, c.households, c.workers, c.social_organisations,
       c.service_space_m2,
       (SELECT max(f.floor_area_m2) FROM facilities f
        WHERE f.category = 'community_service_station' AND ST_Contains(c.geom, f.geom)) AS station_floor_area_m2,
       (SELECT count(*) FROM facilities f
        WHERE f.category = 'community_service_station' AND ST_Contains(c.geom, f.geom)) AS stations
FROM communities c ORDER BY c.community_id
"""


def _required(check: pd.Series, communities: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(value, required) per community for one community-standard row."""
    threshold = float(check["threshold"])
    if check["check_id"] == "service_space_per_residents":
        return communities["service_space_m2"], communities["population"] / float(check["per_quantity"]) * threshold
    if check["check_id"] == "service_centre_floor_area":
        return communities["station_floor_area_m2"], pd.Series(threshold, index=communities.index)
    if check["check_id"] == "community_workers_per_households":
        need = np.ceil(communities["households"].astype(float) / float(check["per_quantity"])) * threshold
        return communities["workers"], need
    return communities["social_organisations"], pd.Series(threshold, index=communities.index)


_COMMUNITY_CHECKS = ("service_space_per_residents", "service_centre_floor_area", "community_workers_per_households")


def community_standard_checks(con: duckdb.DuckDBPyConnection, settings: Settings, *,
                              community_id: str | None = None) -> pd.DataFrame:
    """The seeds' community standards per community: value, required value, pass / fail / no_data.

    Applies rows of ``community_standards.csv`` whose region is unspecified or
    ``settings.standards_region``; ``no_data`` where the community's figure is missing.
    """
    rules = read_community_standards(settings)
    applies = rules["region"].isin(["unspecified", settings.standards_region])
    rules = rules[applies & (rules["role"] == "check")]
    rules = rules[rules["check_id"].isin(_COMMUNITY_CHECKS) | (rules["measure"] == "social_organisations")]
    communities = con.execute(_COMMUNITY_SQL).to_arrow_table().to_pandas()
    if community_id is not None:
        communities = communities[communities["community_id"] == community_id]
    frames = []
    for _, check in rules.iterrows():
        value, required = _required(check, communities)
        value = pd.to_numeric(value, errors="coerce").astype(float)
        status = np.where(value.isna() | required.isna(), "no_data", np.where(value >= required, "pass", "fail"))
        frames.append(pd.DataFrame({
            "community_id": communities["community_id"], "name": communities["name"],
            "check_id": check["check_id"], "name_zh": check["name_zh"], "name_en": check["name_en"],
            "value": value, "required": required.astype(float), "unit": check["unit"], "status": status,
            "source": check["source"], "verified": check["verified"]}))
    if not frames:
        return pd.DataFrame(columns=["community_id", "name", "check_id", "value", "required", "status"])
    return pd.concat(frames, ignore_index=True).sort_values(["community_id", "check_id"]).reset_index(drop=True)
