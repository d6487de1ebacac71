"""Tables derived from polygons: community/grid cells with area shares, and the
``cells`` table with population and households spread over cells by area."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import shapely

from grid.h3index import cells_area_m2, cells_to_lonlat, cells_from_parts, polygons_to_cells, spread_counts

__all__ = ["residential_floor_by_cell", "refresh_community_cells", "refresh_all_communities", "refresh_grid_cells",
           "rebuild_cells"]


def _parts(geoms: np.ndarray, ids: pd.Series, res: int) -> pd.DataFrame:
    return polygons_to_cells(geoms, ids.to_numpy(dtype=object), res)


def residential_floor_by_cell(con: duckdb.DuckDBPyConnection, ids: pd.Series, geoms: np.ndarray,
                              res: int) -> pd.DataFrame:
    """Residential floor area (m², area x floors, floors default 1) of each community in each cell.

    Uses ``landuse`` rows of class 'residential' (parcels or buildings; load one or
    the other, overlapping residential polygons would count twice).
    """
    empty = pd.DataFrame({"id": pd.Series(dtype=object), "h3": pd.Series(dtype=np.uint64),
                          "residential_floor_m2": pd.Series(dtype=float)})
    rows = con.execute("SELECT coalesce(floors, 1), ST_AsWKB(geom) FROM landuse WHERE class = 'residential'"
                       ).fetchall()
    if not rows or len(geoms) == 0:
        return empty
    floors = np.array([r[0] for r in rows], dtype=float)
    landuse = shapely.from_wkb([bytes(r[1]) for r in rows])
    community_idx, landuse_idx = shapely.STRtree(landuse).query(geoms, predicate="intersects")
    pieces = shapely.intersection(geoms[community_idx], landuse[landuse_idx])
    parts, pair = shapely.get_parts(pieces, return_index=True)
    polygonal = np.isin(shapely.get_type_id(parts), (3, 6)) & (shapely.area(parts) > 0)
    if not polygonal.any():
        return empty
    cells = polygons_to_cells(parts[polygonal], pair[polygonal], res)
    pair_of_cell = cells["id"].to_numpy(dtype=np.int64)
    cells["residential_floor_m2"] = cells["area_m2"] * floors[landuse_idx[pair_of_cell]]
    cells["id"] = ids.to_numpy(dtype=object)[community_idx[pair_of_cell]]
    return cells.groupby(["id", "h3"], as_index=False)["residential_floor_m2"].sum()


def refresh_community_cells(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, geoms: np.ndarray,
                            changed: list[str], res: int) -> tuple[int, int]:
    """Recompute ``community_cells`` of the changed communities.

    Population and households are spread over a community's cells by residential
    floor area where ``landuse`` gives residential parcels or buildings inside it,
    else by the community's area in each cell (largest remainder: the
    per-community sums equal the community's figures exactly). Returns rows
    written and how many communities were spread by residential floor area.
    """
    if not changed:
        return 0, 0
    take = rows["community_id"].isin(changed).to_numpy()
    ids = rows["community_id"][take]
    parts = _parts(geoms[take], ids, res)
    floor = residential_floor_by_cell(con, ids, geoms[take], res)
    parts = parts.merge(floor, on=["id", "h3"], how="left").fillna({"residential_floor_m2": 0.0})
    has_floor = parts.groupby("id")["residential_floor_m2"].transform("sum") > 0
    weights = np.where(has_floor, parts["residential_floor_m2"], parts["area_m2"])
    totals = rows[take].set_index("community_id")
    for column in ("population", "households"):
        parts[column] = spread_counts(parts["id"].to_numpy(), weights, totals[column].astype("float64"))
    frame = parts.rename(columns={"id": "community_id"})[
        ["community_id", "h3", "area_share", "area_m2", "residential_floor_m2", "population", "households"]]
    con.execute("DELETE FROM community_cells WHERE community_id IN (SELECT unnest(?::VARCHAR[]))", [changed])
    con.register("_community_cells", frame)
    con.execute("INSERT INTO community_cells SELECT * FROM _community_cells")
    con.unregister("_community_cells")
    return len(frame), int(parts.loc[has_floor, "id"].nunique())


def refresh_all_communities(con: duckdb.DuckDBPyConnection, res: int) -> tuple[int, int]:
    """Recompute ``community_cells`` and ``cells`` for every stored community (after land use changed).

    Returns the number of communities and how many were spread by residential floor area.
    """
    stored = con.execute("SELECT community_id, population, households, ST_AsWKB(geom) AS wkb FROM communities"
                         ).to_arrow_table().to_pandas()
    if stored.empty:
        return 0, 0
    geoms = shapely.from_wkb([bytes(w) for w in stored.pop("wkb")])
    _, by_floor = refresh_community_cells(con, stored, geoms, stored["community_id"].tolist(), res)
    rebuild_cells(con, res)
    return len(stored), by_floor


def refresh_grid_cells(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, geoms: np.ndarray,
                       changed: list[str], res: int) -> int:
    """Recompute ``grid_cells`` of the changed grids; return rows written."""
    if not changed:
        return 0
    take = rows["grid_id"].isin(changed).to_numpy()
    parts = _parts(geoms[take], rows["grid_id"][take], res)
    frame = parts.rename(columns={"id": "grid_id"})[["grid_id", "h3", "area_share", "area_m2"]]
    con.execute("DELETE FROM grid_cells WHERE grid_id IN (SELECT unnest(?::VARCHAR[]))", [changed])
    con.register("_grid_cells", frame)
    con.execute("INSERT INTO grid_cells SELECT * FROM _grid_cells")
    con.unregister("_grid_cells")
    return len(frame)


def rebuild_cells(con: duckdb.DuckDBPyConnection, res: int) -> int:
    """Rebuild ``cells`` from ``community_cells``: one row per cell, owned by the community
    with the largest share, population and households summed over communities."""
    parts = con.execute("SELECT community_id AS id, h3, area_share, population, households "
                        "FROM community_cells").to_arrow_table().to_pandas()
    con.execute("DELETE FROM cells")
    if parts.empty:
        return 0
    sums = parts.groupby("h3")[["population", "households"]].sum()
    owners = cells_from_parts(parts[["id", "h3", "area_share"]]).set_index("h3")
    h3 = sums.index.to_numpy(dtype=np.uint64)
    lon, lat = cells_to_lonlat(h3)
    frame = pd.DataFrame({"h3": h3, "res": res, "community_id": owners.loc[sums.index, "id"].to_numpy(),
                          "population": sums["population"].to_numpy(), "households": sums["households"].to_numpy(),
                          "area_m2": cells_area_m2(h3), "lon": lon, "lat": lat})
    con.register("_cells", frame)
    con.execute("INSERT INTO cells SELECT * FROM _cells")
    con.unregister("_cells")
    return len(frame)
