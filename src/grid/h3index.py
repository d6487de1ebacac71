"""H3 cell indexing: points, polygons and area-weighted shares (pure core).

H3 cells are unsigned 64-bit integers (numpy ``uint64``, DuckDB ``UBIGINT``).
``0`` is never a valid H3 index, so it marks "no cell" (missing or
out-of-range coordinates). The resolution ``res`` is always passed explicitly.

Bulk indexing uses ``h3ronpy`` (Rust, vectorised); its ids equal h3-py 4.x ids.
Areas of polygon-cell pieces are computed in a Lambert azimuthal equal-area
projection on the WGS-84 ellipsoid centred near the polygons, so planar areas
there are ellipsoidal (geodesic) areas. Polygons must not cross (or lie
within one cell of) the antimeridian.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import h3ronpy
import numpy as np
import pandas as pd
import pyarrow as pa
import pyproj
import shapely
from h3ronpy import ContainmentMode, vector

from grid.errors import CRSError

__all__ = [
    "dissolve_cells",
    "cells_to_outline",
    "points_to_cells",
    "cells_to_polygons",
    "cells_to_lonlat",
    "cells_area_m2",
    "polygons_to_cells",
    "cells_from_parts",
    "spread_counts",
]

_POLYGONAL = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)

_MIN_PIECE_M2 = 0.01
"""Polygon-cell pieces smaller than this (m²) are dropped as slivers."""

_TILE_DEG = 2.0
"""Polygons whose bounds centres fall in the same tile of this size (degrees) share a projection."""

_QUOTA_SHRINK = 1.0 - 1e-12
"""Quotas are shrunk by this factor so float rounding never lifts a floor above the true quota."""


# --------------------------------------------------------------------------- points


def points_to_cells(lon: np.ndarray, lat: np.ndarray, res: int) -> np.ndarray:
    """H3 cells (uint64) of WGS-84 points at resolution ``res``.

    Parameters
    ----------
    lon, lat : numpy.ndarray
        Longitude and latitude in degrees (WGS-84), same shape.
    res : int
        H3 resolution, 0..15.

    Returns
    -------
    numpy.ndarray
        uint64 cells, same shape as ``lon``. Rows with NaN/inf coordinates,
        ``|lat| > 90`` or ``|lon| > 180`` get 0 (never a valid H3 index);
        no exception and no warning is raised for them.
    """
    _check_res(res)
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    if lon.shape != lat.shape:
        raise ValueError(f"lon and lat differ in shape: {lon.shape} vs {lat.shape}; pass arrays of equal length")
    lon_flat, lat_flat = lon.ravel(), lat.ravel()
    valid = np.isfinite(lon_flat) & np.isfinite(lat_flat) & (np.abs(lat_flat) <= 90.0) & (np.abs(lon_flat) <= 180.0)
    if valid.all():
        cells = np.array(vector.coordinates_to_cells(lat_flat, lon_flat, res), dtype=np.uint64)
    else:
        cells = np.zeros(lon_flat.shape, dtype=np.uint64)
        if valid.any():
            cells[valid] = np.asarray(vector.coordinates_to_cells(lat_flat[valid], lon_flat[valid], res))
    return cells.reshape(lon.shape)


# --------------------------------------------------------------------------- cells


def cells_to_polygons(cells: np.ndarray) -> np.ndarray:
    """Boundaries of H3 cells as shapely Polygons in lon/lat degrees.

    Parameters
    ----------
    cells : numpy.ndarray
        uint64 H3 cells; invalid cells (e.g. 0) give ``None``.

    Returns
    -------
    numpy.ndarray
        Object array of shapely Polygons (x = lon, y = lat), same length.
    """
    cells = np.asarray(cells, dtype=np.uint64)
    out = np.full(cells.shape, None, dtype=object)
    valid = _cells_valid(cells)
    if valid.any():
        wkb = pa.array(vector.cells_to_wkb_polygons(cells[valid]))
        out[valid] = shapely.from_wkb(np.asarray(wkb.to_numpy(zero_copy_only=False), dtype=object))
    return out


def cells_to_lonlat(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre points of H3 cells as (lon, lat) in degrees; invalid cells give NaN."""
    cells = np.asarray(cells, dtype=np.uint64)
    lon, lat = np.full(cells.shape, np.nan), np.full(cells.shape, np.nan)
    valid = _cells_valid(cells)
    if valid.any():
        batch = pa.record_batch(vector.cells_to_coordinates(cells[valid]))
        lat[valid] = batch.column("lat").to_numpy()
        lon[valid] = batch.column("lng").to_numpy()
    return lon, lat


def cells_area_m2(cells: np.ndarray) -> np.ndarray:
    """Exact spherical area of H3 cells in m² (as ``h3.cell_area(c, unit='m^2')``).

    Agrees with h3-py to 1e-9 relative up to res 10 (5e-8 at res 15: float
    round-off in the spherical-triangle sum differs between h3o and h3's C).

    Parameters
    ----------
    cells : numpy.ndarray
        uint64 H3 cells; invalid cells (e.g. 0) give NaN.

    Returns
    -------
    numpy.ndarray
        float64 area in m² on the H3 authalic sphere.
    """
    cells = np.asarray(cells, dtype=np.uint64)
    out = np.full(cells.shape, np.nan)
    valid = _cells_valid(cells)
    if valid.any():
        out[valid] = np.asarray(h3ronpy.cells_area_m2(cells[valid]))
    return out


def _cells_valid(cells: np.ndarray) -> np.ndarray:
    """Boolean mask of valid H3 cell indexes (h3ronpy reports invalid ones as null)."""
    if cells.size == 0:
        return np.zeros(cells.shape, dtype=bool)
    return pa.array(h3ronpy.cells_valid(cells)).is_valid().to_numpy(zero_copy_only=False)


def _check_res(res: int) -> None:
    """Refuse a resolution outside H3's 0..15."""
    if isinstance(res, bool) or not isinstance(res, (int, np.integer)) or not 0 <= res <= 15:
        raise ValueError(f"res must be an integer H3 resolution 0..15; got {res!r}")


# --------------------------------------------------------------------------- polygons


def polygons_to_cells(
    geoms: Sequence[shapely.Geometry] | np.ndarray, ids: Sequence | np.ndarray, res: int
) -> pd.DataFrame:
    """Split WGS-84 polygons into H3 cell pieces with areas in m² and cell shares.

    Every cell that intersects a polygon with positive area (piece >= 0.01 m²)
    appears, not only cells whose centre is inside. Areas are ellipsoidal,
    computed in a local Lambert azimuthal equal-area projection.

    Parameters
    ----------
    geoms : array-like of shapely Polygon/MultiPolygon, or GeoSeries
        Polygons in lon/lat degrees (WGS-84); holes are respected. Empty
        geometries give no rows.
    ids : array-like
        One id per geometry.
    res : int
        H3 resolution, 0..15.

    Returns
    -------
    pandas.DataFrame
        Columns ``id``, ``h3`` (uint64), ``area_m2`` (m² of the polygon inside
        the cell) and ``area_share`` (fraction of the cell's area inside the
        polygon, in (0, 1]); sorted by input order of the polygon, then h3.
    """
    _check_res(res)
    polys = _polygon_array(geoms)
    ids = np.asarray(ids)
    if len(ids) != len(polys):
        raise ValueError(f"ids has {len(ids)} values but geoms has {len(polys)}; pass one id per geometry")
    frames = [_pieces(polys, idx, res) for idx in _projection_groups(polys)]
    parts = pd.concat(frames, ignore_index=True) if frames else _empty_parts()
    parts = parts.sort_values(["poly", "h3"], kind="stable", ignore_index=True)
    out = pd.DataFrame({"id": ids[parts["poly"].to_numpy()]})
    return pd.concat([out, parts.drop(columns="poly")], axis=1)


def _polygon_array(geoms: Sequence[shapely.Geometry] | np.ndarray) -> np.ndarray:
    """Object array of Polygons/MultiPolygons in lon/lat, or a ValueError naming the problem."""
    crs = getattr(geoms, "crs", None)
    if crs is not None and not pyproj.CRS(crs).is_geographic:
        raise CRSError(
            f"geoms are in projected CRS {pyproj.CRS(crs).name!r}; pass WGS-84 lon/lat, e.g. geoms.to_crs(4326)"
        )
    polys = np.empty(len(geoms), dtype=object)
    polys[:] = list(geoms)
    types = shapely.get_type_id(polys)
    bad = np.flatnonzero(~np.isin(types, _POLYGONAL))
    if bad.size:
        raise ValueError(f"geoms[{bad[0]}] is {polys[bad[0]]!r:.60}, not a Polygon/MultiPolygon; {bad.size} such rows")
    invalid = np.flatnonzero(~shapely.is_valid(polys))
    if invalid.size:
        raise ValueError(f"geoms{invalid[:5].tolist()} are invalid polygons; repair them with shapely.make_valid")
    _check_lonlat(polys)
    return polys


def _check_lonlat(polys: np.ndarray) -> None:
    """Refuse geometries whose coordinates cannot be lon/lat degrees (projected input)."""
    xmin, ymin, xmax, ymax = _bounds(polys[~shapely.is_empty(polys)])
    if xmin.size and (xmin.min() < -180 or xmax.max() > 180 or ymin.min() < -90 or ymax.max() > 90):
        raise CRSError(
            f"coordinates outside lon/lat range (x {xmin.min():.6g}..{xmax.max():.6g}, "
            f"y {ymin.min():.6g}..{ymax.max():.6g}); pass WGS-84 degrees, e.g. geoms.to_crs(4326)"
        )


def _bounds(polys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Bounds columns (xmin, ymin, xmax, ymax), NaN for empty geometries."""
    b = shapely.bounds(polys).reshape(-1, 4)
    return b[:, 0], b[:, 1], b[:, 2], b[:, 3]


def _projection_groups(polys: np.ndarray) -> list[np.ndarray]:
    """Indexes of non-empty polygons grouped by the 2° tile holding their bounds centre."""
    xmin, ymin, xmax, ymax = _bounds(polys)
    keep = np.flatnonzero(~shapely.is_empty(polys))
    tile_x = np.floor((xmin[keep] + xmax[keep]) / 2 / _TILE_DEG)
    tile_y = np.floor((ymin[keep] + ymax[keep]) / 2 / _TILE_DEG)
    _, group = np.unique(np.column_stack([tile_x, tile_y]), axis=0, return_inverse=True)
    return [keep[group.ravel() == g] for g in range(int(group.max()) + 1)] if keep.size else []


def _equal_area(lon0: float, lat0: float) -> pyproj.Transformer:
    """Lon/lat degrees -> metres in a WGS-84 Lambert azimuthal equal-area centred at (lon0, lat0)."""
    return pyproj.Transformer.from_pipeline(
        "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad "
        f"+step +proj=laea +lat_0={lat0!r} +lon_0={lon0!r} +ellps=WGS84"
    )


def _project(geoms: np.ndarray, transformer: pyproj.Transformer) -> np.ndarray:
    """Geometries transformed vertex-wise (all at once) with ``transformer``."""
    return shapely.transform(geoms, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


def _candidate_pairs(polys: np.ndarray, res: int) -> tuple[np.ndarray, np.ndarray]:
    """Unique (polygon index, cell) pairs: covering cells of each polygon plus their neighbours."""
    covers = pa.array(vector.wkb_to_cells(shapely.to_wkb(polys), res, ContainmentMode.Covers))
    counts = np.diff(np.asarray(covers.offsets))
    cells = np.asarray(covers.values, dtype=np.uint64)
    if cells.size == 0:
        return np.array([], dtype=np.int64), cells
    disk = pa.array(h3ronpy.grid_disk(cells, 1))
    disk_counts = np.diff(np.asarray(disk.offsets))
    poly = np.repeat(np.repeat(np.arange(len(polys)), counts), disk_counts)
    cells = np.asarray(disk.values, dtype=np.uint64)
    order = np.lexsort((cells, poly))
    poly, cells = poly[order], cells[order]
    first = np.ones(len(cells), dtype=bool)
    first[1:] = (poly[1:] != poly[:-1]) | (cells[1:] != cells[:-1])
    return poly[first], cells[first]


def _pieces(polys: np.ndarray, idx: np.ndarray, res: int) -> pd.DataFrame:
    """Polygon-cell pieces (poly, h3, area_m2, area_share) of ``polys[idx]`` in one projection."""
    xmin, ymin, xmax, ymax = _bounds(polys[idx])
    transformer = _equal_area((xmin.min() + xmax.max()) / 2, (ymin.min() + ymax.max()) / 2)
    geom_m = _project(polys[idx], transformer)
    shapely.prepare(geom_m)
    local, cells = _candidate_pairs(polys[idx], res)
    uniq, inverse = np.unique(cells, return_inverse=True)
    cell_m = _project(cells_to_polygons(uniq), transformer)[inverse]
    cell_area = shapely.area(cell_m)
    inside = shapely.contains_properly(geom_m[local], cell_m)
    area = cell_area.copy()
    edge = ~inside
    area[edge] = shapely.area(shapely.intersection(cell_m[edge], geom_m[local[edge]]))
    keep = area >= _MIN_PIECE_M2
    share = np.minimum(area[keep] / cell_area[keep], 1.0)
    return pd.DataFrame({"poly": idx[local[keep]], "h3": cells[keep], "area_m2": area[keep], "area_share": share})


def _empty_parts() -> pd.DataFrame:
    """A pieces frame with no rows and the right dtypes."""
    return pd.DataFrame(
        {
            "poly": np.array([], dtype=np.int64),
            "h3": np.array([], dtype=np.uint64),
            "area_m2": np.array([], dtype=np.float64),
            "area_share": np.array([], dtype=np.float64),
        }
    )


# --------------------------------------------------------------------------- parts


def cells_from_parts(parts: pd.DataFrame) -> pd.DataFrame:
    """One row per H3 cell: the part with the largest ``area_share`` (ties -> smallest id).

    Parameters
    ----------
    parts : pandas.DataFrame
        Rows with at least ``id``, ``h3`` and ``area_share`` (fraction 0..1);
        a cell may appear under several ids.

    Returns
    -------
    pandas.DataFrame
        The winning row of each cell (all columns of ``parts``), sorted by h3,
        with a fresh index.
    """
    missing = [c for c in ("id", "h3", "area_share") if c not in parts.columns]
    if missing:
        raise ValueError(f"parts lacks columns {missing}; columns are {list(parts.columns)}")
    ranked = parts.sort_values(["h3", "area_share", "id"], ascending=[True, False, True], kind="stable")
    return ranked.drop_duplicates("h3", keep="first").reset_index(drop=True)


def spread_counts(
    parts_id: np.ndarray, weights: np.ndarray, totals_by_id: Mapping | pd.Series
) -> np.ndarray:
    """Split each id's integer total (count) over its parts by weight, preserving sums exactly.

    Largest-remainder (Hamilton) method: each part gets the floor of its
    quota ``total * w / sum(w)``; the units left over go one each to the parts
    with the largest fractional remainders. Equal remainders are served in
    input row order (earlier rows first), so 10 over weights 1, 1, 1 gives
    4, 3, 3.

    Parameters
    ----------
    parts_id : numpy.ndarray
        Id of each part.
    weights : numpy.ndarray
        Finite non-negative weight of each part (e.g. area_share or
        population); NaN counts as 0. Ids whose weights sum to 0 are split equally.
    totals_by_id : dict or pandas.Series
        Non-negative integer total per id; missing or NaN totals give 0.

    Returns
    -------
    numpy.ndarray
        int64 count per part; per id they sum exactly to the total.
    """
    codes, uniques = pd.factorize(np.asarray(parts_id), use_na_sentinel=False)
    weights = _clean_weights(weights, len(codes))
    totals = _totals_for(uniques, totals_by_id)
    n_groups = len(uniques)
    weight_sum = np.bincount(codes, weights, minlength=n_groups)
    equal = weight_sum[codes] == 0
    weights = np.where(equal, 1.0, weights)
    weight_sum = np.bincount(codes, weights, minlength=n_groups)
    quota = totals[codes] * (weights / weight_sum[codes]) * _QUOTA_SHRINK
    floor = np.floor(quota).astype(np.int64)
    left = totals - np.bincount(codes, floor, minlength=n_groups).astype(np.int64)
    rank = _rank_within_group(codes, quota - floor)
    return floor + (rank < left[codes])


def _clean_weights(weights: np.ndarray, n: int) -> np.ndarray:
    """Float weights with NaN as 0; refuses negative or wrongly sized weights."""
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != (n,):
        raise ValueError(f"weights has shape {weights.shape} but parts_id has {n} rows; pass one weight per part")
    weights = np.where(np.isnan(weights), 0.0, weights)
    bad = np.flatnonzero((weights < 0) | ~np.isfinite(weights))
    if bad.size:
        raise ValueError(f"weights must be finite and >= 0; got {float(weights[bad[0]])!r} at row {bad[0]}")
    return weights


def _totals_for(uniques: np.ndarray | pd.Index, totals_by_id: Mapping | pd.Series) -> np.ndarray:
    """int64 total per unique id; missing/NaN -> 0, refuses negative or fractional totals."""
    series = totals_by_id if isinstance(totals_by_id, pd.Series) else pd.Series(dict(totals_by_id), dtype=object)
    totals = pd.to_numeric(series, errors="coerce").reindex(pd.Index(uniques))
    totals = totals.to_numpy(dtype=np.float64, na_value=np.nan)
    totals = np.where(np.isnan(totals), 0.0, totals)
    bad = np.flatnonzero((totals < 0) | (totals != np.round(totals)) | ~np.isfinite(totals))
    if bad.size:
        bad_id = np.asarray(uniques, dtype=object)[bad[0]]
        raise ValueError(f"total for id {bad_id!r} is {float(totals[bad[0]])!r}; totals must be non-negative integers")
    return totals.astype(np.int64)


def _rank_within_group(codes: np.ndarray, remainder: np.ndarray) -> np.ndarray:
    """0-based rank of each row within its group by remainder descending, ties by row order."""
    n = len(codes)
    order = np.lexsort((np.arange(n), -remainder, codes))
    sorted_codes = codes[order]
    group_start = np.searchsorted(sorted_codes, sorted_codes, side="left")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - group_start
    return rank


def dissolve_cells(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edge-contiguous cells of one resolution dissolved into polygons (WGS-84, holes kept).

    Returns the polygons and, for each input cell, the index of the polygon it lies in.
    Cells tile the plane with identical shared vertices, so a coverage union is exact
    and far faster than a general union.
    """
    cells = np.asarray(cells, dtype=np.uint64)
    if cells.size == 0:
        return np.array([], dtype=object), np.array([], dtype=np.int64)
    polygons = shapely.get_parts(shapely.coverage_union_all(cells_to_polygons(np.unique(cells))))
    lon, lat = cells_to_lonlat(cells)
    cell, polygon = shapely.STRtree(polygons).query(shapely.points(lon, lat), predicate="within")
    area = np.full(len(cells), -1, dtype=np.int64)
    area[cell] = polygon
    return polygons, area


def cells_to_outline(cells: np.ndarray) -> shapely.Geometry:
    """The union of ``cells`` as one (multi)polygon in WGS-84, for drawing a service area or gap."""
    polys = cells_to_polygons(np.asarray(cells, dtype=np.uint64))
    if len(polys) == 0:
        return shapely.Polygon()
    return shapely.coverage_union_all(polys)  # H3 cells tile the plane: a coverage union is exact and fast
