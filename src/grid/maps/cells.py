"""H3 cells for drawing: walking-minute classes, roll-up to coarser resolutions,
and compact GeoJSON (one FeatureCollection, coordinates rounded to 6 decimals,
about 0.1 m) in the datum of the chosen base map. Pure: frames in, dicts out.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import h3ronpy
import numpy as np
import pandas as pd
import shapely

from grid.h3index import cells_to_polygons, dissolve_cells
from grid.maps.basemaps import wgs84_to_basemap

__all__ = [
    "COORD_DECIMALS",
    "UNREACHABLE_COLOUR",
    "WALK_MIN_BREAKS",
    "WALK_MIN_COLOURS",
    "aggregate_cells",
    "cells_feature_collection",
    "coarsen_to_fit",
    "geometries_feature_collection",
    "outline_cells",
    "walk_min_classes",
]

WALK_MIN_BREAKS = (5.0, 10.0, 15.0, 20.0)
"""Upper bounds (min, inclusive) of the walking-time classes 0-5, 5-10, 10-15, 15-20; above 20 is the last class."""

WALK_MIN_COLOURS = ("#253494", "#2c7fb8", "#41b6c4", "#a1dab4", "#ffffcc")
"""ColorBrewer YlGnBu (5 classes, colour-blind safe), dark = near, pale = far, one per class."""

UNREACHABLE_COLOUR = "#9e9e9e"
"""Grey for cells with no facility within the search bound (``walk_min`` NaN)."""

COORD_DECIMALS = 6
"""Decimals kept in drawn coordinates (1e-6 degree is about 0.1 m)."""


def walk_min_classes(walk_min: np.ndarray | pd.Series) -> np.ndarray:
    """Class (0..4) of each walking time in minutes, 5 for NaN (unreachable).

    Classes are (0, 5], (5, 10], (10, 15], (15, 20] and above 20 minutes: a cell at
    exactly 15 minutes is inside the 15-minute circle and in class 2.
    """
    values = np.asarray(walk_min, dtype=np.float64)
    classes = np.searchsorted(np.asarray(WALK_MIN_BREAKS), values, side="left").astype(np.int8)
    return np.where(np.isnan(values), np.int8(len(WALK_MIN_COLOURS)), classes)


def aggregate_cells(cells: pd.DataFrame, res: int) -> pd.DataFrame:
    """Cells rolled up to their parent at H3 resolution ``res`` (for city views).

    Parameters
    ----------
    cells : pandas.DataFrame
        Columns ``h3`` (uint64, resolution >= ``res``), ``walk_min`` (min, NaN =
        unreachable) and optionally ``population``.
    res : int
        Target H3 resolution.

    Returns
    -------
    pandas.DataFrame
        One row per parent: ``h3``, ``walk_min`` (population-weighted mean over the
        reachable children; plain mean without population; NaN when more than half
        of the residents, or of the children, are unreachable), ``cells`` (children),
        and with population also ``population`` and ``unreachable_population`` (sums).
    """
    h3 = cells["h3"].to_numpy(np.uint64)
    resolutions = np.asarray(h3ronpy.cells_resolution(h3)) if len(h3) else np.array([], dtype=np.uint8)
    if (resolutions < res).any():
        raise ValueError(f"cannot aggregate to res {res}: cells go down to res {int(resolutions.min())}; "
                         "pass a resolution no finer than the coarsest cell")
    weight = (np.nan_to_num(cells["population"].to_numpy(np.float64)) if "population" in cells
              else np.ones(len(cells)))
    walk = cells["walk_min"].to_numpy(np.float64)
    reach = ~np.isnan(walk)
    frame = pd.DataFrame({"h3": np.asarray(h3ronpy.change_resolution(h3, res), dtype=np.uint64),
                          "weight": weight, "reach_weight": np.where(reach, weight, 0.0),
                          "weighted": np.where(reach, walk * weight, 0.0), "reach": reach,
                          "walk": np.where(reach, walk, 0.0), "one": 1})
    out = frame.groupby("h3", sort=True).sum()
    mean = np.where(out["reach_weight"] > 0, out["weighted"] / out["reach_weight"].where(out["reach_weight"] > 0),
                    out["walk"] / out["reach"].where(out["reach"] > 0))
    share = out["reach_weight"] / out["weight"].where(out["weight"] > 0)
    mostly_reached = np.where(out["weight"] > 0, share >= 0.5, out["reach"] >= out["one"] / 2)
    result = pd.DataFrame({"h3": out.index.to_numpy(np.uint64), "walk_min": np.where(mostly_reached, mean, np.nan),
                           "cells": out["one"].to_numpy(np.int64)})
    if "population" in cells:
        result["population"] = out["weight"].to_numpy()
        result["unreachable_population"] = (out["weight"] - out["reach_weight"]).to_numpy()
    return result


def coarsen_to_fit(cells: pd.DataFrame, *, max_cells: int) -> tuple[pd.DataFrame, int | None]:
    """``cells`` as they are when at most ``max_cells``, else aggregated to the finest
    resolution with at most ``max_cells`` parents.

    Returns
    -------
    (pandas.DataFrame, int or None)
        The cells to draw and the resolution aggregated to (None when not aggregated).
    """
    if len(cells) <= max_cells:
        return cells, None
    h3 = cells["h3"].to_numpy(np.uint64)
    res = int(np.asarray(h3ronpy.cells_resolution(h3)).min())
    for target in range(res - 1, -1, -1):
        if len(np.unique(np.asarray(h3ronpy.change_resolution(h3, target), dtype=np.uint64))) <= max_cells:
            return aggregate_cells(cells, target), target
    return aggregate_cells(cells, 0), 0


def cells_feature_collection(h3: np.ndarray, properties: dict[str, np.ndarray], *,
                             basemap: str = "none") -> dict:
    """H3 cell hexagons as one GeoJSON FeatureCollection in ``basemap``'s datum.

    Parameters
    ----------
    h3 : numpy.ndarray
        uint64 cells (invalid ones are left out).
    properties : dict of str to numpy.ndarray
        Per-cell property columns (NaN becomes JSON null); keep names short, they
        are repeated in every feature.
    basemap : str
        Base map id; coordinates are shifted to GCJ-02 for ``amap``.

    Returns
    -------
    dict
        A FeatureCollection of Polygons with coordinates rounded to 6 decimals and
        its ``bbox`` [west, south, east, north] (absent when there are no cells).
    """
    polys = cells_to_polygons(np.asarray(h3, dtype=np.uint64))
    keep = np.flatnonzero(polys != None)  # noqa: E711 - elementwise test of an object array
    coords, index = shapely.get_coordinates(polys[keep], return_index=True)
    lon, lat = wgs84_to_basemap(basemap, coords[:, 0], coords[:, 1])
    lon, lat = np.round(lon, COORD_DECIMALS), np.round(lat, COORD_DECIMALS)
    pairs = np.column_stack([lon, lat]).tolist()
    ends = np.cumsum(np.bincount(index, minlength=len(keep))).tolist()
    columns = {name: _json_values(np.asarray(values)[keep]) for name, values in properties.items()}
    features, start = [], 0
    for row, end in enumerate(ends):
        props = {name: values[row] for name, values in columns.items()}
        features.append({"type": "Feature", "properties": props,
                         "geometry": {"type": "Polygon", "coordinates": [pairs[start:end]]}})
        start = end
    collection = {"type": "FeatureCollection", "features": features}
    if len(coords):
        collection["bbox"] = [float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())]
    return collection


def outline_cells(h3: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Edge-contiguous cells dissolved into polygons (WGS-84), with the summed weight of the cells in each.

    Parameters
    ----------
    h3 : numpy.ndarray
        uint64 cells of one resolution.
    weights : numpy.ndarray, optional
        A weight per cell (e.g. residents); NaN counts as 0. Default 1 (cell counts).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Polygons (holes kept) and the total weight of the cells whose centre lies in each.
    """
    polygons, area = dissolve_cells(h3)
    weights = np.ones(len(area)) if weights is None else np.nan_to_num(np.asarray(weights, dtype=np.float64))
    return polygons, np.bincount(area, weights=weights, minlength=len(polygons)).astype(np.float64)


def geometries_feature_collection(geoms: np.ndarray, properties: dict[str, np.ndarray] | None = None, *,
                                  basemap: str = "none", simplify_deg: float = 0.0) -> dict:
    """Shapely geometries (WGS-84) as a GeoJSON FeatureCollection in ``basemap``'s datum.

    ``simplify_deg`` > 0 simplifies (topology-preserving) before drawing; coordinates
    are rounded to 6 decimals; the collection carries its ``bbox``. NaN properties
    become null.
    """
    geoms = np.asarray(geoms, dtype=object)
    if simplify_deg > 0:
        geoms = shapely.simplify(geoms, simplify_deg, preserve_topology=True)
    drawn = shapely.transform(geoms, _display_rounded(basemap))
    keep = np.flatnonzero(~shapely.is_missing(drawn) & ~shapely.is_empty(drawn))
    # GEOS writes the shortest repr of each double, so rounded coordinates stay short.
    geometries = [json.loads(text) for text in shapely.to_geojson(drawn[keep])]
    columns = {name: _json_values(np.asarray(v)[keep]) for name, v in (properties or {}).items()}
    features = [{"type": "Feature", "properties": {name: values[i] for name, values in columns.items()},
                 "geometry": geometry} for i, geometry in enumerate(geometries)]
    collection = {"type": "FeatureCollection", "features": features}
    if features:
        collection["bbox"] = [float(v) for v in shapely.total_bounds(drawn[keep])]
    return collection


def _display_rounded(basemap: str) -> Callable[[np.ndarray], np.ndarray]:
    def transform(xy: np.ndarray) -> np.ndarray:
        lon, lat = wgs84_to_basemap(basemap, xy[:, 0], xy[:, 1])
        return np.column_stack([np.round(lon, COORD_DECIMALS), np.round(lat, COORD_DECIMALS)])
    return transform


def _json_values(values: np.ndarray) -> list:
    """Python values for JSON: NaN, None and pd.NA become None, numpy scalars plain numbers."""
    if values.dtype.kind == "f":
        return [None if v != v else v for v in values.tolist()]
    return [None if pd.isna(v) else v for v in values.tolist()]
