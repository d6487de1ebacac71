"""Generated grids (``grid grids generate``): where a city has no grid layer, cut each
community into contiguous grids of H3 cells with balanced households and store
them as the ``grids`` and ``grid_cells`` tables.

:func:`generate_grids` takes a connection of a write session.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import shapely

from grid.store import query_frame
from grid.errors import InputError
from grid.governance.refresh import refresh_routes
from grid.governance.regions import balance_summary, grid_balance, grid_polygons, partition_cells
from grid.h3index import cells_area_m2
from grid.settings import Settings
from grid.store.loads import begin_load, finish_load

__all__ = ["GeneratedGrids", "generate_grids", "stored_grid_balance", "GENERATED_SOURCE"]

GENERATED_SOURCE = "generated"


@dataclass(frozen=True)
class GeneratedGrids:
    """Result of :func:`generate_grids`: one row per grid (balance) and the city figures."""

    load_id: int
    balance: pd.DataFrame
    summary: dict[str, float]
    routing: dict[str, int]


def _community_cells(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    cells = query_frame(con, "SELECT cc.community_id, cc.h3, cc.area_share, cc.households, cc.population, c.name "
                        "FROM community_cells cc JOIN communities c USING (community_id) ORDER BY 1, 2")
    if cells.empty:
        raise InputError("no community cells to cut into grids; load community boundaries first "
                         "(grid ingest boundaries FILE)")
    cells["h3"] = cells["h3"].astype(np.uint64)
    return cells


def _community_outlines(con: duckdb.DuckDBPyConnection) -> pd.Series:
    rows = con.execute("SELECT community_id, ST_AsWKB(geom) FROM communities").fetchall()
    return pd.Series({r[0]: shapely.from_wkb(bytes(r[1])) for r in rows}, dtype=object)


def _grid_rows(plan: pd.DataFrame, communities: pd.Series) -> pd.DataFrame:
    """One ``grids`` row per grid: its cells' outline clipped to its community (so grids of
    neighbouring communities never overlap where a border cell is shared)."""
    outlines = grid_polygons(plan).set_index("grid_id")
    border = communities.reindex(outlines["community_id"]).to_numpy(dtype=object)
    clipped = shapely.intersection(outlines.geometry.to_numpy(), border)
    keep = ~shapely.is_missing(border) & ~shapely.is_empty(clipped)
    outlines["geometry"] = np.where(keep, clipped, outlines.geometry.to_numpy())
    sums = plan.groupby("grid_id").agg(community_id=("community_id", "first"), name=("name", "first"),
                                       households=("households", "sum"), population=("population", "sum"),
                                       area_m2=("area_m2", "sum"))
    number = sums.index.str.rsplit("-G", n=1).str[-1]
    sums["name"] = sums["name"] + "第" + number + "网格"
    sums["geom_wkb"] = shapely.to_wkb(outlines.loc[sums.index, "geometry"].to_numpy())
    return sums.reset_index()


def _options_sha(settings: Settings, cells: pd.DataFrame) -> str:
    digest = hashlib.sha256(json.dumps([settings.grid_target_households, settings.grid_min_households,
                                        settings.grid_max_households]).encode())
    digest.update(pd.util.hash_pandas_object(cells[["community_id", "h3", "households"]], index=False).values.tobytes())
    return digest.hexdigest()


def generate_grids(con: duckdb.DuckDBPyConnection, settings: Settings, *, replace: bool = False) -> GeneratedGrids:
    """Partition every community into grids of ``settings.grid_*_households`` and store them.

    Refuses to overwrite stored grids unless ``replace``; complaints are routed again.
    """
    stored = con.execute("SELECT count(*) FROM grids").fetchone()[0]
    if stored and not replace:
        raise InputError(f"the database already has {stored} grids; pass --replace to overwrite them with "
                         "generated grids (the manager roster may then name grids that no longer exist)")
    cells = _community_cells(con)
    cells["area_m2"] = cells_area_m2(cells["h3"].to_numpy()) * cells["area_share"]
    bounds = {"minimum": settings.grid_min_households, "maximum": settings.grid_max_households}
    plan = partition_cells(cells, weight="households", target=settings.grid_target_households, **bounds)
    balance = grid_balance(plan, weight="households", **bounds)
    load_id = begin_load(con, kind="grids", file_name="grid grids generate", file_path=None,
                         sha256=_options_sha(settings, cells), options_json=json.dumps(bounds), source_crs="EPSG:4326",
                         encoding=None)
    rows = _grid_rows(plan, _community_outlines(con))
    con.execute("DELETE FROM grid_cells")
    con.execute("DELETE FROM grids")
    con.register("_generated", rows)
    con.execute("INSERT INTO grids SELECT grid_id, community_id, name, households::BIGINT, population::BIGINT, "
                "area_m2, ?, ?, lpad(to_hex(hash(grid_id, households, geom_wkb)), 16, '0'), "
                "ST_GeomFromWKB(geom_wkb) FROM _generated", [GENERATED_SOURCE, load_id])
    con.unregister("_generated")
    con.register("_plan", plan[["grid_id", "h3", "area_share", "area_m2"]])
    con.execute("INSERT INTO grid_cells SELECT grid_id, h3, area_share, area_m2 FROM _plan")
    con.unregister("_plan")
    routing, _ = refresh_routes(con)
    summary = balance_summary(balance, weight="households")
    message = (f"{len(rows)} grids generated: cv {summary['cv']:.3f}, {summary['share_within_bounds']:.1%} within "
               f"{bounds['minimum']}-{bounds['maximum']} households, mean compactness {summary['mean_compactness']:.2f}")
    finish_load(con, load_id, {"rows_in": len(rows), "rows_ok": len(rows), "rows_inserted": len(rows),
                               "rows_routed": routing["routed_to_grid"] + routing["routed_to_community"],
                               "rows_unrouted": routing["unrouted"]}, message)
    return GeneratedGrids(load_id=load_id, balance=balance, summary=summary, routing=routing)


def _polsby_popper(geoms: np.ndarray) -> np.ndarray:
    """4 pi area / perimeter^2 of WGS-84 polygons, area and perimeter on the ellipsoid (1 = circle)."""
    import pyproj

    geod = pyproj.Geod(ellps="WGS84")
    measured = np.array([geod.geometry_area_perimeter(g) for g in geoms], dtype=float).reshape(-1, 2)
    area, perimeter = np.abs(measured[:, 0]), measured[:, 1]
    return np.where(perimeter > 0, 4 * np.pi * area / np.maximum(perimeter, 1e-9) ** 2, np.nan)


def stored_grid_balance(con: duckdb.DuckDBPyConnection, settings: Settings) -> tuple[pd.DataFrame, dict[str, float]]:
    """Balance of the stored grids (official or generated): households per grid as the grid
    layer gives them, else estimated from its cells (a shared cell counts by area share;
    ``households_from`` says which), within the ``settings`` bounds or not, and the
    Polsby-Popper compactness of the grid polygon."""
    grids = query_frame(con, "SELECT g.grid_id, g.community_id, ST_AsWKB(g.geom) AS wkb, "
                             "coalesce(g.households, sum(c.households * gc.area_share), 0) AS households, "
                             "CASE WHEN g.households IS NULL THEN 'cells' ELSE 'grid layer' END AS households_from "
                             "FROM grids g LEFT JOIN grid_cells gc USING (grid_id) LEFT JOIN cells c USING (h3) "
                             "GROUP BY g.grid_id, g.community_id, g.geom, g.households ORDER BY g.grid_id")
    if grids.empty:
        raise InputError("no grids in the database; load them (grid ingest grids FILE) or generate them "
                         "(grid grids generate)")
    low, high = settings.grid_min_households, settings.grid_max_households
    grids["compactness"] = _polsby_popper(shapely.from_wkb([bytes(w) for w in grids.pop("wkb")]))
    grids["within_bounds"] = grids["households"].between(low, high)
    grids["reason"] = np.where(grids["households"] < low, f"below {low} households",
                               np.where(grids["households"] > high, f"above {high} households", None))
    return grids, balance_summary(grids, weight="households")
