"""Writing cell frames out: CSV, GeoJSON and GeoParquet bytes (for downloads and files).

H3 cells are written as their standard hexadecimal string (``8a31aa...``, column
``h3``): spreadsheets and JavaScript cannot hold a 64-bit integer exactly. CSV is
UTF-8 with a byte-order mark so Excel opens Chinese text correctly; GeoJSON and
GeoParquet carry the cell polygons in WGS-84 (EPSG:4326).
"""

from __future__ import annotations

import io

import geopandas as gpd
import numpy as np
import pandas as pd

from grid.h3index import cells_to_polygons

__all__ = ["cells_to_csv", "cells_to_geodataframe", "cells_to_geojson", "cells_to_geoparquet", "h3_to_hex"]


def h3_to_hex(cells: np.ndarray) -> np.ndarray:
    """H3 cells (uint64) as their hexadecimal strings."""
    return np.array([format(int(c), "x") for c in np.asarray(cells, dtype=np.uint64)], dtype=object)


def _hex_frame(cells: pd.DataFrame) -> pd.DataFrame:
    out = cells.copy()
    out["h3"] = h3_to_hex(cells["h3"].to_numpy(np.uint64))
    return out


def cells_to_geodataframe(cells: pd.DataFrame) -> gpd.GeoDataFrame:
    """``cells`` (an ``h3`` uint64 column and any others) with their hexagons as WGS-84 geometry."""
    polygons = cells_to_polygons(cells["h3"].to_numpy(np.uint64))
    return gpd.GeoDataFrame(_hex_frame(cells).reset_index(drop=True), geometry=list(polygons), crs="EPSG:4326")


def cells_to_csv(cells: pd.DataFrame) -> bytes:
    """CSV bytes (UTF-8 with BOM), h3 as hex, no geometry."""
    return _hex_frame(cells).to_csv(index=False).encode("utf-8-sig")


def cells_to_geojson(cells: pd.DataFrame) -> bytes:
    """GeoJSON FeatureCollection bytes (UTF-8) of the cells' hexagons."""
    return cells_to_geodataframe(cells).to_json(ensure_ascii=False, drop_id=True).encode("utf-8")


def cells_to_geoparquet(cells: pd.DataFrame) -> bytes:
    """GeoParquet bytes of the cells' hexagons."""
    buffer = io.BytesIO()
    cells_to_geodataframe(cells).to_parquet(buffer, index=False)
    return buffer.getvalue()
