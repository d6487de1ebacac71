"""Writing tables and query results out: GeoParquet, GeoPackage, GeoJSON, CSV and XLSX.

Two layers of functions live here:

* bytes for downloads of cell frames (``cells_to_csv``, ``cells_to_geojson``,
  ``cells_to_geoparquet``), used by the app pages;
* files from the database (``export``, ``read_export_source``, ``write_export``), used by
  ``grid export`` and notebooks. They take a read-only connection
  (:func:`grid.store.open_reader`) and never write to the database.

H3 cells are ``UBIGINT`` (uint64) in the database. Spreadsheets and JavaScript hold
numbers as 64-bit floats, which round an H3 id, and GeoPackage has no unsigned 64-bit
integer, so every uint64 column is written as the cell's standard hexadecimal string
(``8a31aa...``; the column keeps its name; ``int(x, 16)`` gives the id back) in CSV,
XLSX, GeoJSON and GeoPackage; Parquet keeps uint64. CSV is UTF-8 with a byte-order mark
so Excel opens Chinese text correctly. Geometry is WGS-84 (EPSG:4326) throughout.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from grid.errors import InputError
from grid.h3index import cells_to_polygons
from grid.store import TABLES

__all__ = [
    "EXPORT_FORMATS", "ExportReport", "cells_to_csv", "cells_to_geodataframe", "cells_to_geojson",
    "cells_to_geoparquet", "export", "format_from_path", "h3_to_hex", "read_export_source", "write_export",
    "XLSX_MAX_ROWS",
]


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


# ---------------------------------------------------------------------------------------------
# Exporting tables and queries to files
# ---------------------------------------------------------------------------------------------

#: Export formats and the file suffixes that select them.
EXPORT_FORMATS: dict[str, tuple[str, ...]] = {
    "parquet": (".parquet", ".geoparquet"),
    "gpkg": (".gpkg",),
    "geojson": (".geojson", ".json"),
    "csv": (".csv",),
    "xlsx": (".xlsx",),
}
_FORMAT_ALIASES = {"geoparquet": "parquet", "geopackage": "gpkg", "json": "geojson", "excel": "xlsx"}
_GEO_ONLY = ("gpkg", "geojson")
_LAYERED = ("gpkg", "geojson", "xlsx")
XLSX_MAX_ROWS = 1_048_575  # 1,048,576 rows per sheet, one of them the header
_XLSX_MAX_TEXT = 32_767  # characters per cell
_READ_ONLY_START = ("SELECT", "WITH", "FROM", "VALUES", "PIVOT", "UNPIVOT", "TABLE", "DESCRIBE", "SUMMARIZE")
_LEADING_COMMENT = re.compile(r"\A\s*(?:--[^\n]*(?:\n|\Z)|/\*.*?\*/)", re.DOTALL)
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")


class _Reader(Protocol):
    """What the export needs of a DuckDB connection (a :func:`grid.store.open_reader` one)."""

    def table(self, name: str) -> Any: ...
    def sql(self, query: str) -> Any: ...
    def extract_statements(self, query: str) -> list[Any]: ...


@dataclass(frozen=True)
class ExportReport:
    """What :func:`export` wrote.

    Attributes
    ----------
    rows : int
        Data rows written (rows, features).
    columns : tuple of str
        Column names in the file, the geometry column included.
    geometry_column : str or None
        Name of the geometry column, None for a file without geometry.
    format : str
        ``geoparquet``, ``parquet``, ``gpkg``, ``geojson``, ``csv`` or ``xlsx``.
    path : pathlib.Path
        The file written.
    """

    rows: int
    columns: tuple[str, ...]
    geometry_column: str | None
    format: str
    path: Path


def format_from_path(out: Path, fmt: str | None = None) -> str:
    """Export format of ``out``: ``fmt`` when given, else from the file suffix.

    Returns one of the keys of :data:`EXPORT_FORMATS` (``parquet`` covers GeoParquet).
    """
    if fmt is not None:
        name = _FORMAT_ALIASES.get(fmt.lower(), fmt.lower())
        if name not in EXPORT_FORMATS:
            raise InputError(f"unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)} "
                             "(geoparquet is parquet with geometry)")
        return name
    suffix = Path(out).suffix.lower()
    for name, suffixes in EXPORT_FORMATS.items():
        if suffix in suffixes:
            return name
    known = ", ".join(s for suffixes in EXPORT_FORMATS.values() for s in suffixes)
    raise InputError(f"cannot tell the export format from the file name {Path(out).name!r}; "
                     f"end it with one of {known}, or pass --format ({', '.join(EXPORT_FORMATS)})")


# --- reading ---------------------------------------------------------------------------------

def _strip_leading_comments(query: str) -> str:
    text = query
    while (match := _LEADING_COMMENT.match(text)) is not None:
        text = text[match.end():]
    return text.strip()


def _is_db_error(exc: Exception) -> bool:
    return type(exc).__module__.split(".")[0] in ("duckdb", "_duckdb")


def _check_read_only_query(con: _Reader, query: str) -> None:
    """Refuse anything but one read-only statement, by its first keyword and by DuckDB's parser."""
    body = _strip_leading_comments(query)
    first = re.match(r"\(*\s*([A-Za-z]+)", body)
    keyword = first.group(1).upper() if first else body[:20]
    if keyword not in _READ_ONLY_START:
        raise InputError(f"the export source must be a table name or a read-only query; a query starting "
                         f"with {keyword!r} is refused; start it with SELECT, WITH, FROM, VALUES or PIVOT")
    try:
        statements = con.extract_statements(query)
    except Exception as exc:
        if not _is_db_error(exc):
            raise
        raise InputError(f"the export query does not parse: {exc}; check it in the DuckDB CLI") from exc
    # A PIVOT without an IN list makes DuckDB add a CREATE (of an enum type) with no text of its own.
    selects = [s for s in statements if s.type.name == "SELECT"]
    others = [s for s in statements if s.type.name != "SELECT" and (s.type.name != "CREATE" or s.query.strip())]
    if len(selects) != 1 or others:
        kinds = ", ".join(s.type.name for s in statements) or "none"
        raise InputError(f"the export query must be exactly one read-only statement (SELECT); got {kinds}; "
                         "remove any ';'-separated statements that change data")


def _relation(con: _Reader, source: str) -> Any:
    """A DuckDB relation for a table name (allow-listed) or a read-only query."""
    name = source.strip()
    if re.fullmatch(r"\w+", name):
        if name not in TABLES:
            raise InputError(f"unknown table {name!r}; tables are {', '.join(TABLES)}; "
                             "or pass a query in quotes, e.g. \"SELECT * FROM communities\"")
        return con.table(name)
    _check_read_only_query(con, source)
    try:
        return con.sql(source)
    except Exception as exc:
        if not _is_db_error(exc):
            raise
        raise InputError(f"the export query failed: {exc}; check table and column names in docs/schema.md") from exc


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _columns_of_type(relation: Any, kind: str) -> list[str]:
    return [name for name, t in zip(relation.columns, relation.types) if str(t).split("(")[0] == kind]


def _portable(relation: Any, geometry: Sequence[str]) -> Any:
    """``relation`` with GEOMETRY as WKB and INTERVAL as text ('3 days'); names come from the relation, quoted."""
    intervals = _columns_of_type(relation, "INTERVAL")
    if not geometry and not intervals:
        return relation

    def item(c: str) -> str:
        if c in geometry:
            return f"ST_AsWKB({_quote(c)}) AS {_quote(c)}"
        return f"CAST({_quote(c)} AS VARCHAR) AS {_quote(c)}" if c in intervals else _quote(c)

    return relation.project(", ".join(item(c) for c in relation.columns))


def _plain_decimals(table: pa.Table) -> pa.Table:
    """DECIMAL/HUGEINT columns (``sum`` of BIGINT gives HUGEINT) as int64 when whole and in range, else float64."""
    for i, field in enumerate(table.schema):
        if not pa.types.is_decimal(field.type):
            continue
        column = table.column(i)
        try:
            column = pc.cast(column, pa.int64()) if field.type.scale == 0 else pc.cast(column, pa.float64())
        except pa.ArrowInvalid:
            column = pc.cast(column, pa.float64(), safe=False)
        table = table.set_column(i, field.name, column)
    return table


def _arrow_frame(relation: Any) -> pd.DataFrame:
    """The relation's rows as pandas through Arrow: UBIGINT stays UInt64 (see grid.store.query_frame)."""
    table = _plain_decimals(relation.to_arrow_table())
    return table.to_pandas(types_mapper={pa.uint64(): pd.UInt64Dtype()}.get)


def _wkb_to_shapes(values: pd.Series) -> np.ndarray:
    return shapely.from_wkb(np.asarray(values.to_numpy(dtype=object), dtype=object))


def _to_wkt(shapes: np.ndarray) -> np.ndarray:
    """WKT at full precision (shapely's default rounds to 6 decimals, about 0.1 m)."""
    return shapely.to_wkt(shapes, rounding_precision=-1)


def _h3_hexagons(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    if "h3" not in frame.columns:
        raise InputError(f"--h3-hexagons needs an 'h3' column; the columns are {', '.join(map(str, frame.columns))}")
    if not pd.api.types.is_integer_dtype(frame["h3"].dtype):
        raise InputError(f"--h3-hexagons needs H3 cell ids (UBIGINT) in column 'h3'; it holds {frame['h3'].dtype}; "
                         "cast it in the query (h3::UBIGINT) or export without --h3-hexagons")
    cells = frame["h3"].astype("UInt64").fillna(0).to_numpy(np.uint64)  # 0 (and NULL) give no geometry
    return gpd.GeoDataFrame(frame, geometry=list(cells_to_polygons(cells)), crs="EPSG:4326")


def read_export_source(con: _Reader, source: str, *, h3_geometry: bool = False) -> pd.DataFrame | gpd.GeoDataFrame:
    """Rows of a table or a read-only query, with geometry in WGS-84 when the result has any.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A read-only connection from :func:`grid.store.open_reader` (spatial extension loaded).
    source : str
        A table name from :data:`grid.store.TABLES`, or one read-only SQL statement (starting with
        SELECT, WITH, FROM, VALUES or PIVOT after comments); anything else raises InputError.
    h3_geometry : bool
        For a result without a GEOMETRY column but with an ``h3`` column: use the cells' hexagons
        as geometry.

    Returns
    -------
    pandas.DataFrame or geopandas.GeoDataFrame
        A GeoDataFrame (EPSG:4326) when the result has a GEOMETRY column: the first one is the
        geometry, further ones become WKT text. UBIGINT stays ``UInt64``; TIMESTAMP WITH TIME ZONE
        stays time-zone aware; HUGEINT/DECIMAL become int64 when whole and in range, else float64.
    """
    relation = _relation(con, source)
    geometry = _columns_of_type(relation, "GEOMETRY")
    frame = _arrow_frame(_portable(relation, geometry))
    for extra in geometry[1:]:
        frame[extra] = _to_wkt(_wkb_to_shapes(frame[extra]))
    if geometry:
        frame[geometry[0]] = _wkb_to_shapes(frame[geometry[0]])
        return gpd.GeoDataFrame(frame, geometry=geometry[0], crs="EPSG:4326")
    return _h3_hexagons(frame) if h3_geometry else frame


# --- writing ---------------------------------------------------------------------------------

def _geometry_name(frame: pd.DataFrame) -> str | None:
    if isinstance(frame, gpd.GeoDataFrame) and frame.active_geometry_name is not None:
        return str(frame.active_geometry_name)
    return None


def _uint64_to_hex(values: pd.Series) -> pd.Series:
    """uint64 (H3) values as hexadecimal strings, missing values as None."""
    present = values.notna().to_numpy()
    out = np.full(len(values), None, dtype=object)
    out[present] = h3_to_hex(values[present].to_numpy(np.uint64))
    return pd.Series(out, index=values.index, dtype=object)


def _iso_instants(values: pd.Series) -> pd.Series:
    """Time-zone aware timestamps as ISO 8601 text with their offset (``2024-05-01T09:30:00+08:00``)."""
    return values.map(lambda t: None if pd.isna(t) else t.isoformat()).astype(object)


def _is_nested(value: object) -> bool:
    return isinstance(value, (list, dict, tuple, np.ndarray, bytes))


def _json_text(value: object) -> object:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, np.ndarray):
        value = value.tolist()
    return json.dumps(value, ensure_ascii=False, default=str) if _is_nested(value) else value


def _text_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns the text and GIS formats cannot hold exactly, as text.

    uint64 (H3) -> hex strings; aware timestamps -> ISO 8601 with offset; lists, structs and
    blobs -> JSON / hex text. The geometry column is left alone.
    """
    out = frame.copy()
    geometry = _geometry_name(frame)
    for column in out.columns:
        values = out[column]
        if column == geometry:
            continue
        if pd.api.types.is_unsigned_integer_dtype(values.dtype) and values.dtype.itemsize == 8:
            out[column] = _uint64_to_hex(values)
        elif isinstance(values.dtype, pd.DatetimeTZDtype):
            out[column] = _iso_instants(values)
        elif values.dtype == object and values.map(_is_nested).any():
            out[column] = values.map(_json_text)
    return out


def _geometry_as_wkt(frame: pd.DataFrame) -> pd.DataFrame:
    """A plain frame with the geometry column (if any) as full-precision WKT under its own name."""
    geometry = _geometry_name(frame)
    if geometry is None:
        return pd.DataFrame(frame)
    plain = pd.DataFrame(frame).copy()
    plain[geometry] = _to_wkt(np.asarray(frame.geometry.values, dtype=object))
    return plain


def _write_parquet(frame: pd.DataFrame, path: Path, layer: str | None) -> None:
    try:
        frame.to_parquet(path, index=False)  # GeoParquet for a GeoDataFrame; uint64 and timestamp[tz] kept
    except (pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise InputError(f"a column type cannot be written to Parquet: {exc}; cast that column in the query "
                         "(e.g. col::VARCHAR) or export to .csv") from exc


def _write_ogr(driver: str) -> Callable[[pd.DataFrame, Path, str | None], None]:
    def write(frame: pd.DataFrame, path: Path, layer: str | None) -> None:
        options = {"GEOMETRY_NAME": _geometry_name(frame)} if driver == "GPKG" else {}
        _text_ready(frame).to_file(path, driver=driver, layer=layer or "data", engine="pyogrio",
                                   promote_to_multi=False, layer_options=options)
    return write


def _write_csv(frame: pd.DataFrame, path: Path, layer: str | None) -> None:
    _text_ready(_geometry_as_wkt(frame)).to_csv(path, index=False, encoding="utf-8-sig")


def _check_xlsx(plain: pd.DataFrame, sheet: str) -> None:
    """Refuse what one Excel sheet cannot hold, before any file is opened."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if len(plain) > XLSX_MAX_ROWS:
        raise InputError(f"{len(plain):,} rows do not fit one Excel sheet ({XLSX_MAX_ROWS:,} data rows at most); "
                         "export to .csv or .parquet, or narrow the query")
    if len(sheet) > 31 or _SHEET_NAME_BAD.search(sheet) or not sheet.strip():
        raise InputError(f"{sheet!r} cannot name an Excel sheet (1-31 characters, none of [ ] : * ? / \\); "
                         "pass another --layer")
    for column in plain.columns:
        text = plain[column][plain[column].map(lambda v: isinstance(v, str))].astype(str)
        if len(text) and text.str.len().max() > _XLSX_MAX_TEXT:
            raise InputError(f"column {column!r} holds a value of {text.str.len().max():,} characters; an Excel "
                             f"cell holds {_XLSX_MAX_TEXT:,} at most (detailed geometries do this); export to .gpkg, "
                             ".parquet or .csv, or simplify the geometry in the query (ST_SimplifyPreserveTopology)")
        if len(text) and text.str.contains(ILLEGAL_CHARACTERS_RE).any():
            raise InputError(f"column {column!r} holds control characters an Excel file cannot store; "
                             "export to .csv or .parquet, or replace them in the query (regexp_replace)")


def _xlsx_column(sheet: Any, values: pd.Series) -> list[object]:
    """Cell values of one column for openpyxl: None for missing, Python scalars, and text kept as
    text even when it starts with '=' (openpyxl would store it as a formula)."""
    from openpyxl.cell import WriteOnlyCell

    def cell(value: object) -> object:
        if isinstance(value, str):
            if not value.startswith("="):
                return value
            text = WriteOnlyCell(sheet, value=value)
            text.data_type = "s"
            return text
        if value is None or pd.isna(value):
            return None
        if isinstance(value, np.generic):
            return value.item()
        return value if isinstance(value, (int, float, bool, datetime.date, datetime.time)) else str(value)

    return [cell(v) for v in values.astype(object)]


def _write_xlsx(frame: pd.DataFrame, path: Path, layer: str | None) -> None:
    from openpyxl import Workbook

    sheet_name = layer or "data"
    plain = _text_ready(_geometry_as_wkt(frame))
    _check_xlsx(plain, sheet_name)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(sheet_name)
    sheet.append([str(c) for c in plain.columns])
    for row in zip(*(_xlsx_column(sheet, plain[c]) for c in plain.columns)):
        sheet.append(list(row))
    book.save(path)


_WRITERS: dict[str, Callable[[pd.DataFrame, Path, str | None], None]] = {
    "parquet": _write_parquet, "gpkg": _write_ogr("GPKG"), "geojson": _write_ogr("GeoJSON"),
    "csv": _write_csv, "xlsx": _write_xlsx,
}


def _check_writable(frame: pd.DataFrame, out: Path, fmt: str, layer: str | None) -> None:
    if fmt in _GEO_ONLY and _geometry_name(frame) is None:
        raise InputError(f"{fmt} needs geometry and this result has none (columns: "
                         f"{', '.join(map(str, frame.columns))}); export to .csv or .xlsx, add a geometry column "
                         "to the query, or pass --h3-hexagons for a result with an h3 column")
    if layer is not None and fmt not in _LAYERED:
        raise InputError(f"--layer names a GeoPackage layer or an Excel sheet; {fmt} has none: drop --layer")
    if not out.parent.is_dir():
        raise InputError(f"the folder {out.parent} does not exist; create it first or choose another path")


def write_export(frame: pd.DataFrame, out: Path, *, fmt: str | None = None, layer: str | None = None) -> Path:
    """Write ``frame`` to ``out`` as GeoParquet/Parquet, GeoPackage, GeoJSON, CSV or XLSX.

    The format comes from ``fmt`` or the suffix (.parquet/.geoparquet, .gpkg, .geojson/.json,
    .csv, .xlsx). The file is written to a temporary file in the same folder and renamed over
    ``out``, so a failed export never leaves half a file (an existing ``out`` is replaced whole).

    Parameters
    ----------
    frame : pandas.DataFrame or geopandas.GeoDataFrame
        Rows to write, e.g. from :func:`read_export_source`; geometry in EPSG:4326.
    out : pathlib.Path
        File to write; its folder must exist.
    fmt : str, optional
        ``parquet`` (``geoparquet``), ``gpkg``, ``geojson``, ``csv`` or ``xlsx``; overrides the suffix.
    layer : str, optional
        GeoPackage layer, GeoJSON ``name`` or Excel sheet; default ``data``.

    Returns
    -------
    pathlib.Path
        ``out``.

    Notes
    -----
    * GeoPackage and GeoJSON need geometry; Parquet without geometry is plain Parquet; CSV and
      XLSX carry geometry as full-precision WKT text in the geometry column.
    * uint64 (H3) columns: hexadecimal strings (column name kept; ``int(x, 16)`` restores the id)
      in CSV, XLSX, GeoJSON and GeoPackage, because Excel and JavaScript round 64-bit integers and
      GeoPackage has no unsigned 64-bit type; uint64 in Parquet.
    * Time-zone aware timestamps: ISO 8601 text with the offset in CSV, XLSX, GeoJSON and
      GeoPackage (XLSX cannot hold aware times); ``timestamp[tz]`` in Parquet.
    * CSV is UTF-8 with a byte-order mark. XLSX is one sheet of at most 1,048,575 rows; text is
      stored as text (a value starting with '=' never becomes a formula); numbers keep 16
      significant digits (Excel shows 15).
    """
    out = Path(out)
    kind = format_from_path(out, fmt)
    _check_writable(frame, out, kind, layer)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as folder:
        part = Path(folder) / f"part{out.suffix or '.' + kind}"
        _WRITERS[kind](frame, part, layer)
        os.replace(part, out)
    return out


def _source_name(source: str) -> str:
    name = source.strip()
    return name if name in TABLES else "query"


def export(con: _Reader, source: str, out: Path, *, fmt: str | None = None, layer: str | None = None,
           h3_geometry: bool = False) -> ExportReport:
    """Write a table or a read-only query result to a file (see :func:`write_export` for the formats).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A read-only connection from :func:`grid.store.open_reader`.
    source : str
        Table name from :data:`grid.store.TABLES`, or one read-only SQL statement.
    out : pathlib.Path
        File to write.
    fmt : str, optional
        Format; default from the suffix of ``out``.
    layer : str, optional
        GeoPackage layer (default the table name, or ``query``), GeoJSON name, or Excel sheet
        (default ``data``).
    h3_geometry : bool
        Use H3 cell hexagons as geometry for a result with an ``h3`` column and no GEOMETRY.

    Returns
    -------
    ExportReport
        Rows, columns, geometry column, format and path written.
    """
    out = Path(out)
    kind = format_from_path(out, fmt)  # an unknown format fails before the query runs
    frame = read_export_source(con, source, h3_geometry=h3_geometry)
    if kind == "gpkg" and layer is None:
        layer = _source_name(source)
    path = write_export(frame, out, fmt=kind, layer=layer)
    geometry = _geometry_name(frame)
    label = "geoparquet" if kind == "parquet" and geometry else kind
    return ExportReport(rows=len(frame), columns=tuple(map(str, frame.columns)), geometry_column=geometry,
                        format=label, path=path)
