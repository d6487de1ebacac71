"""Tables derived from polygons: community/grid cells with area shares, and the
``cells`` table with population and households spread over cells by area."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from grid.h3index import cells_area_m2, cells_to_lonlat, cells_from_parts, polygons_to_cells, spread_counts

__all__ = ["refresh_community_cells", "refresh_grid_cells", "rebuild_cells"]


def _parts(geoms: np.ndarray, ids: pd.Series, res: int) -> pd.DataFrame:
    return polygons_to_cells(geoms, ids.to_numpy(dtype=object), res)


def refresh_community_cells(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, geoms: np.ndarray,
                            changed: list[str], res: int) -> int:
    """Recompute ``community_cells`` of the changed communities; return rows written.

    Population and households are spread over a community's cells by the area of
    the community inside each cell (largest remainder: the per-community sums
    equal the community's figures exactly).
    """
    if not changed:
        return 0
    take = rows["community_id"].isin(changed).to_numpy()
    parts = _parts(geoms[take], rows["community_id"][take], res)
    totals = rows[take].set_index("community_id")
    for column in ("population", "households"):
        parts[column] = spread_counts(parts["id"].to_numpy(), parts["area_m2"].to_numpy(),
                                      totals[column].astype("float64"))
    frame = parts.rename(columns={"id": "community_id"})[
        ["community_id", "h3", "area_share", "area_m2", "population", "households"]]
    con.execute("DELETE FROM community_cells WHERE community_id IN (SELECT unnest(?::VARCHAR[]))", [changed])
    con.register("_community_cells", frame)
    con.execute("INSERT INTO community_cells SELECT * FROM _community_cells")
    con.unregister("_community_cells")
    return len(frame)


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
