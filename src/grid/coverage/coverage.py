"""Population-weighted life-circle coverage per category and circle, for the city,
sub-districts and communities, from ``cell_access``.

A cell's residents are covered for a category when the walking distance to the
nearest facility is within the circle's threshold for that category (metres as
the standard writes them; minute-based local circles convert with the chosen
speed profile). Residents split across community boundaries count in each
community by ``community_cells``. 65+ residents are the community's 65+ share of
each cell's residents.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from grid.errors import InputError
from grid.settings import Settings
from grid.standards import circle_rules

__all__ = ["ALL_REQUIRED", "GROUPS", "circle_thresholds", "cell_coverage", "coverage_summary", "summarise_coverage",
           "all_required_cells", "required_categories"]

ALL_REQUIRED = "all_required"
"""Pseudo-category: residents reaching every required (must) category of the circle."""

GROUPS = {"city": ("city", "全市 city"), "subdistrict": ("subdistrict", "subdistrict"),
          "community": ("community_id", "name")}
"""Units of aggregation: column of the id and of the name (constants for the city)."""


def circle_thresholds(settings: Settings, circle_id: str, *, profile: str = "adult",
                      categories: list[str] | None = None) -> pd.DataFrame:
    """The circle's walking threshold (m) per category: category, threshold_m, requirement, clause, target."""
    rules = circle_rules(settings, profile=profile)
    rules = rules[rules["circle_id"] == circle_id]
    if rules.empty:
        known = sorted(circle_rules(settings, profile=profile)["circle_id"].unique())
        raise InputError(f"unknown circle {circle_id!r}; circles are {known} (geodata/standards/circles.csv)")
    if (rules["mode"] != "walk").all():
        raise InputError(f"circle {circle_id!r} is a {rules['mode'].iloc[0]} circle; only walking circles can be "
                         "computed on the walking network (a drive network is not loaded)")
    rules = rules[rules["mode"] == "walk"]
    if categories is not None:
        rules = rules[rules["category"].isin(categories)]
    return rules.reset_index(drop=True)


_CELLS_SQL = """
WITH cc AS (
    SELECT cc.community_id, c.name, c.subdistrict, cc.h3, cc.population::DOUBLE AS population,
           cc.population * (c.population_65plus::DOUBLE / nullif(c.population, 0)) AS population_65plus
    FROM community_cells cc JOIN communities c USING (community_id) WHERE cc.population > 0)
SELECT cc.*, r.*, a.distance_m, a.walk_min, a.facility_id,
       coalesce(a.status, 'no_facility') AS status,
       coalesce(a.distance_m <= r.threshold_m, false) AS covered
FROM cc CROSS JOIN _rules r LEFT JOIN cell_access a ON a.h3 = cc.h3 AND a.category = r.category
"""


def cell_coverage(con: duckdb.DuckDBPyConnection, rules: pd.DataFrame) -> pd.DataFrame:
    """One row per (community cell, category of ``rules``): residents, distance_m, covered."""
    con.register("_rules", rules)
    try:
        return con.execute(_CELLS_SQL).to_arrow_table().to_pandas()
    finally:
        con.unregister("_rules")


def _combine(rules: pd.DataFrame) -> str:
    return str(rules["combine"].iloc[0]) if "combine" in rules and len(rules) else "each"


def required_categories(rules: pd.DataFrame) -> list[str]:
    """The categories a circle's ``all_required`` combines: its must rows (``combine = each``
    circles that have any), else all its categories (also for ``combine = any``)."""
    must = rules["requirement"].fillna("") == "must"
    use = rules if _combine(rules) == "any" or not must.any() else rules[must]
    return list(dict.fromkeys(use["category"].tolist()))


def all_required_cells(cells: pd.DataFrame, rules: pd.DataFrame) -> pd.DataFrame:
    """Residents reached by the circle as a whole: every one of :func:`required_categories`
    (``combine = each``) or any one (``combine = any``)."""
    combine = _combine(rules)
    use = cells[cells["category"].isin(required_categories(rules))]
    keys = ["community_id", "name", "subdistrict", "h3", "population", "population_65plus"]
    merged = use.groupby(keys, as_index=False, dropna=False).agg(
        covered=("covered", "any" if combine == "any" else "all"))
    merged["category"], merged["requirement"], merged["threshold_m"] = ALL_REQUIRED, "must", np.nan
    return merged


def coverage_summary(con: duckdb.DuckDBPyConnection, settings: Settings, *, circle_id: str, by: str = "city",
                     profile: str = "adult", categories: list[str] | None = None) -> pd.DataFrame:
    """Coverage % per (unit, category) of a circle; ``by`` is city, subdistrict or community.

    Columns: unit_id, unit_name, category, requirement, threshold_m, population,
    covered_population, coverage_pct, people_in_gaps, population_65plus,
    covered_65plus, coverage_65plus_pct, target_coverage_pct, meets_target.
    Includes the pseudo-category ``all_required``: residents the circle reaches as a
    whole (every required category, or any one for circles with ``combine = any``).
    """
    rules = circle_thresholds(settings, circle_id, profile=profile, categories=categories)
    return summarise_coverage(cell_coverage(con, rules), rules, by=by)


def summarise_coverage(cells: pd.DataFrame, rules: pd.DataFrame, *, by: str = "city",
                       required: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`coverage_summary` of a :func:`cell_coverage` frame already read with ``rules`` (one circle's).

    ``required`` is :func:`all_required_cells` of the same cells when the caller has it already.
    """
    if by not in GROUPS:
        raise InputError(f"by={by!r}; choose one of {list(GROUPS)}")
    required = all_required_cells(cells, rules) if required is None else required
    cells = pd.concat([cells, required], ignore_index=True)
    unit = GROUPS[by]
    cells["unit_id"] = "city" if by == "city" else cells[unit[0]]
    cells["unit_name"] = unit[1] if by == "city" else cells[unit[1]]
    cells["covered_population"] = cells["population"].where(cells["covered"], 0.0)
    cells["covered_65plus"] = cells["population_65plus"].where(cells["covered"], 0.0)
    cells["requirement"] = cells["requirement"].astype(object).fillna("")
    out = cells.groupby(["unit_id", "unit_name", "category", "requirement"], as_index=False, dropna=False).agg(
        threshold_m=("threshold_m", "first"), population=("population", "sum"),
        covered_population=("covered_population", "sum"), population_65plus=("population_65plus", "sum"),
        covered_65plus=("covered_65plus", "sum"))
    out["coverage_pct"] = 100 * out["covered_population"] / out["population"].where(out["population"] > 0)
    out["people_in_gaps"] = out["population"] - out["covered_population"]
    out["coverage_65plus_pct"] = 100 * out["covered_65plus"] / out["population_65plus"].where(
        out["population_65plus"] > 0)
    target = rules.drop_duplicates("circle_id")["target_coverage_pct"].iloc[0]
    out["target_coverage_pct"] = target
    out["meets_target"] = out["coverage_pct"] >= target if pd.notna(target) else pd.NA
    return out.sort_values(["unit_id", "category"]).reset_index(drop=True)
