"""Walkable ways from a line layer (GeoJSON, GeoPackage, Shapefile, GeoParquet) in any CRS.

Nodes are line vertices, identified by their WGS-84 coordinates rounded to
1e-7 degrees (about 1 cm, OSM's own precision); a line is split at every vertex
it shares with another line (or with itself) and at its ends. MultiLineStrings
are exploded into their parts.

Lines that cross without a shared vertex are **not** joined: that is how
bridges, tunnels and flyovers are drawn, and joining them would invent
crossings that do not exist. Add a vertex at real crossings in the source.

Optional attributes (case-insensitive column names): the class in ``highway``,
``class`` or ``fclass``; ``name``; ``foot``; ``access``; ``sidewalk``; ``area``. They go
through the same walkable table as OSM, except that a missing class or one the
table does not list is kept (the layer was given as a street network).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from grid.crs import parse_crs, to_wgs84
from grid.errors import InputError
from grid.network.build import Network, Ways, network_from_ways
from grid.network.osm import WalkableRules, load_walkable_rules, walkable_reasons

__all__ = ["LINE_SUFFIXES", "CLASS_COLUMNS", "read_line_ways", "network_from_lines"]

log = logging.getLogger(__name__)

LINE_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".zip", ".fgb", ".parquet", ".geoparquet")
CLASS_COLUMNS = ("highway", "class", "fclass")
_ATTRIBUTES = {"name": ("name",), "foot": ("foot",), "access": ("access",), "sidewalk": ("sidewalk",),
               "area": ("area",)}
_SCALE = 1e7  # coordinates rounded to 1e-7 degrees


def _read_frame(source: pd.DataFrame | Path | str, layer: str | None) -> tuple[pd.DataFrame, str | None]:
    """The table and the CRS it declares (a GeoDataFrame's ``crs``, or the file's).

    Files are read with pyogrio/geopandas here (this core sits below ``grid.io``);
    ``grid ingest network`` reads them with :func:`grid.io.readers.read_source` and passes the frame.
    """
    if not isinstance(source, pd.DataFrame):
        source = _read_file(Path(source), layer)
    crs = getattr(source, "crs", None)
    epsg = crs.to_epsg() if crs is not None else None
    return source, (f"EPSG:{epsg}" if epsg else (None if crs is None else str(crs)))


def _read_file(path: Path, layer: str | None) -> pd.DataFrame:
    import geopandas as gpd
    import pyogrio

    if not path.exists():
        raise InputError(f"no file at {path}; check the path")
    if path.suffix.lower() in (".parquet", ".geoparquet"):
        return gpd.read_parquet(path)
    try:
        return pyogrio.read_dataframe(path, layer=layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InputError(f"{path.name} cannot be read as a line layer: {exc}; give a GeoJSON, GeoPackage "
                         "(--layer), zipped Shapefile or GeoParquet") from exc


def _attribute(frame: pd.DataFrame, names: tuple[str, ...]) -> np.ndarray:
    """First column of ``names`` present (case-insensitive) as str or None per row; all None if absent."""
    lower = {str(c).lower(): c for c in frame.columns}
    column = next((lower[n] for n in names if n in lower), None)
    if column is None:
        return np.full(len(frame), None, dtype=object)
    values = frame[column].to_numpy(dtype=object)
    present = pd.notna(values)
    text = np.full(len(values), None, dtype=object)
    text[present] = [str(v).strip() or None for v in values[present]]
    return text


def _parts(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Line parts of the geometries and the row of each; plus how many rows had no line at all."""
    parts, row = shapely.get_parts(geoms, return_index=True)
    is_line = np.isin(shapely.get_type_id(parts), (1, 2)) & ~shapely.is_empty(parts)
    lines_per_row = np.bincount(row[is_line], minlength=len(geoms))
    return parts[is_line], row[is_line], int((lines_per_row == 0).sum())


def _node_keys(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates rounded to 1e-7 degrees and a node reference per distinct rounded point.

    Non-finite coordinates stay NaN (the line is cut there) with reference -1.
    """
    finite = np.isfinite(lon) & np.isfinite(lat)
    lon_i, lat_i = (np.rint(np.where(finite, c, 0.0) * _SCALE).astype(np.int64) for c in (lon, lat))
    key = ((lon_i + (1 << 31)).astype(np.uint64) << np.uint64(32)) | (lat_i + (1 << 31)).astype(np.uint64)
    ref = np.full(len(key), -1, dtype=np.int64)
    ref[finite] = np.unique(key[finite], return_inverse=True)[1]
    return np.where(finite, lon_i / _SCALE, np.nan), np.where(finite, lat_i / _SCALE, np.nan), ref


def _value_counts(values: np.ndarray) -> dict[str, int]:
    return {str(k): int(v) for k, v in pd.Series(values, dtype=object).dropna().value_counts().items()}


def _filter_notes(skipped: int, unknown: dict[str, int]) -> tuple[str, ...]:
    notes = []
    if skipped:
        notes.append(f"{skipped:,} features without a line geometry skipped (points, polygons or empty)")
    if unknown:
        seen = ", ".join(f"{k} ({v:,})" for k, v in sorted(unknown.items(), key=lambda kv: -kv[1])[:20])
        notes.append(f"class values not in the walkable table were kept as walkable: {seen}")
    return tuple(notes)


def read_line_ways(source: pd.DataFrame | Path | str, *, layer: str | None = None, crs: str | int | None = None,
                   rules: WalkableRules | None = None) -> Ways:
    """Walkable ways of a line layer: a file path or a frame with a ``geometry`` column.

    ``crs`` says what the coordinates are (EPSG code, ``gcj02``, ``bd09``) and
    overrides the file's declaration; WGS-84 when neither is given.

    Raises
    ------
    InputError
        If the table has no ``geometry`` column or the file cannot be read.
    """
    frame, declared = _read_frame(source, layer)
    if "geometry" not in frame:
        raise InputError(f"the line layer has no geometry column (columns: {list(frame.columns)}); "
                         "give a GeoJSON, GeoPackage, Shapefile or GeoParquet of lines")
    rules = rules or load_walkable_rules()
    tags = {"highway": _attribute(frame, CLASS_COLUMNS),
            **{key: _attribute(frame, names) for key, names in _ATTRIBUTES.items()}}
    reasons = walkable_reasons(tags, rules, unknown_walkable=True)
    keep = reasons == ""
    parts, row, skipped = _parts(np.asarray(frame["geometry"].to_numpy(), dtype=object)[keep])
    row = np.flatnonzero(keep)[row]
    coords, part_of_coord = shapely.get_coordinates(parts, return_index=True)
    lon, lat = to_wgs84(coords[:, 0], coords[:, 1], parse_crs(crs or declared))
    lon, lat, ref = _node_keys(lon, lat)
    highway = tags["highway"]
    unlisted = keep & ~pd.Series(highway, dtype=object).isin(list(rules.highway)).to_numpy()
    return Ways(way_id=None, highway=highway[row], name=tags["name"][row],
                node_count=np.bincount(part_of_coord, minlength=len(parts)).astype(np.int64), node_ref=ref,
                node_lon=lon, node_lat=lat, refs_are_osm=False, ways_read=len(frame),
                highway_counts=_value_counts(highway), excluded=_value_counts(reasons[~keep]),
                notes=_filter_notes(skipped, _value_counts(highway[unlisted])))


def network_from_lines(source: pd.DataFrame | Path | str, *, layer: str | None = None,
                       crs: str | int | None = None, rules: WalkableRules | None = None,
                       island_max_length_m: float = 2000.0) -> Network:
    """The walking network of a line layer (see :func:`read_line_ways` and :func:`network_from_ways`).

    Raises
    ------
    InputError
        If the layer cannot be read or holds no walkable line.
    """
    ways = read_line_ways(source, layer=layer, crs=crs, rules=rules)
    log.info("line layer: %d features, %d walkable line parts", ways.ways_read, ways.n_ways)
    return network_from_ways(ways, island_max_length_m=island_max_length_m)
