"""What-if: coverage of one category before and after adding or removing facilities.

Uses the access engine of the database file (:func:`~grid.accessibility.compute.cached_engine`)
and its incremental update (a bounded search around each change), never a city recompute.
Residents are the populated cells' (``cells.population``), as in :func:`coverage_summary`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from grid.accessibility.compute import cached_engine
from grid.accessibility.engine import AccessEngine
from grid.coverage.coverage import circle_thresholds
from grid.errors import InputError
from grid.settings import Settings
from grid.standards import speed_m_per_min

__all__ = ["WhatIf", "what_if_summary"]


@dataclass(frozen=True)
class WhatIf:
    """Result of :func:`what_if_summary`.

    Attributes
    ----------
    summary : index ``before``/``after``; population, covered_population, coverage_pct, people_in_gaps.
    cells : every populated cell: h3, population, distance_before_m, distance_after_m,
        walk_min_before, walk_min_after, covered_before, covered_after, changed.
    added : the points asked for: lon, lat, on_network, snap_m, facility_id (``new-k``, None off network).
    removed : facility ids removed.
    threshold_m : the circle's walking threshold for the category (m).
    """

    summary: pd.DataFrame
    cells: pd.DataFrame
    added: pd.DataFrame
    removed: tuple[str, ...]
    threshold_m: float


def _figures(population: np.ndarray, covered: np.ndarray) -> dict[str, float]:
    total = float(population.sum())
    reached = float(population[covered].sum())
    return {"population": total, "covered_population": reached,
            "coverage_pct": 100 * reached / total if total > 0 else np.nan, "people_in_gaps": total - reached}


def _check_removals(engine: AccessEngine, category: str, remove: Sequence[str]) -> None:
    own = set(engine.facility_ids[engine.facility_category == category].tolist())
    unknown = [f for f in remove if f not in own]
    if unknown:
        raise InputError(f"facilities {unknown} are not {category} facilities of this database; "
                         f"{category} facilities are {sorted(own)[:20]}{' ...' if len(own) > 20 else ''}")


def _added(engine: AccessEngine, add: Sequence[tuple[float, float]], max_snap_m: float) -> pd.DataFrame:
    lon = np.array([float(p[0]) for p in add], dtype=float)
    lat = np.array([float(p[1]) for p in add], dtype=float)
    snaps = engine.snap(lon, lat, max_snap_m=max_snap_m)
    on = snaps.on_network
    ids = np.full(len(add), None, dtype=object)
    ids[on] = [f"new-{k + 1}" for k in range(int(on.sum()))]  # the engine's names, in order
    return pd.DataFrame({"lon": lon, "lat": lat, "on_network": on, "snap_m": snaps.snap_m, "facility_id": ids})


def _population(con: duckdb.DuckDBPyConnection, h3: np.ndarray) -> np.ndarray:
    cells = con.execute("SELECT h3, population::DOUBLE AS population FROM cells WHERE population > 0").fetchnumpy()
    lookup = pd.Series(cells["population"], index=cells["h3"].astype(np.uint64))
    return lookup.reindex(h3).fillna(0.0).to_numpy(float)


def what_if_summary(con: duckdb.DuckDBPyConnection, settings: Settings, *, circle_id: str, category: str,
                    add: Sequence[tuple[float, float]] = (), remove: Sequence[str] = (),
                    profile: str = "adult") -> WhatIf:
    """Coverage % and people in gaps for ``category`` in ``circle_id`` before and after a change.

    ``add`` are (lon, lat) WGS-84 points of new facilities; points farther than
    ``settings.max_snap_m`` from any street are reported (``added.on_network``) and
    left out. ``remove`` are facility ids of ``category``. The threshold is the
    circle's for the category (GB 50180-2018 Appendix B radius, or the local circle's
    minutes at ``profile``).
    """
    rules = circle_thresholds(settings, circle_id, profile=profile, categories=[category])
    if rules.empty:
        raise InputError(f"category {category!r} is not part of circle {circle_id!r}; choose one of "
                         f"{circle_thresholds(settings, circle_id, profile=profile)['category'].tolist()}")
    threshold_m = float(rules["threshold_m"].iloc[0])
    engine = cached_engine(settings)
    _check_removals(engine, category, remove)
    added = _added(engine, add, settings.max_snap_m)
    points = list(zip(added.loc[added["on_network"], "lon"], added.loc[added["on_network"], "lat"]))
    result = engine.what_if(category, add=points, remove=list(remove), max_snap_m=settings.max_snap_m)
    before = engine.cell_access(category).distance_m
    after = result.cells.distance_m
    population = _population(con, engine.cell_h3)
    speed = speed_m_per_min(settings, profile)
    cells = pd.DataFrame({"h3": engine.cell_h3, "population": population, "distance_before_m": before,
                          "distance_after_m": after, "walk_min_before": before / speed, "walk_min_after": after / speed,
                          "covered_before": np.nan_to_num(before, nan=np.inf) <= threshold_m,
                          "covered_after": np.nan_to_num(after, nan=np.inf) <= threshold_m})
    cells["changed"] = False
    cells.loc[result.changed_cells, "changed"] = True
    summary = pd.DataFrame([_figures(population, cells["covered_before"].to_numpy()),
                            _figures(population, cells["covered_after"].to_numpy())], index=["before", "after"])
    return WhatIf(summary, cells, added, tuple(remove), threshold_m)
