"""Read the files cities actually have into a raw table.

Formats: GeoJSON, GeoPackage (``layer``), zipped or plain Shapefile, GeoParquet,
CSV (UTF-8, UTF-8 with BOM, GBK/GB18030, detected or given) and XLSX. Tabular
files are read with every cell as text so that validation sees exactly what the
file holds and rejected rows can be quarantined verbatim.
"""

from __future__ import annotations

import codecs
import logging
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from grid.errors import EncodingError, InputError

__all__ = ["SourceTable", "read_source", "detect_encoding", "SUPPORTED_SUFFIXES"]

log = logging.getLogger(__name__)

_SPATIAL = {".geojson", ".json", ".gpkg", ".shp", ".zip", ".fgb"}
_PARQUET = {".parquet", ".geoparquet"}
_CSV = {".csv", ".txt", ".tsv"}
_EXCEL = {".xlsx", ".xlsm"}
SUPPORTED_SUFFIXES = tuple(sorted(_SPATIAL | _PARQUET | _CSV | _EXCEL))

# Tried in this order; GB18030 is a superset of GBK and GB2312 (the common Chinese export).
_CANDIDATE_ENCODINGS = ("utf-8", "gb18030")
_ENCODING_ALIASES = {"gbk": "gb18030", "gb2312": "gb18030", "cp936": "gb18030", "utf8": "utf-8",
                     "utf-8-bom": "utf-8-sig", "utf8-bom": "utf-8-sig", "utf8-sig": "utf-8-sig"}


@dataclass(frozen=True)
class SourceTable:
    """A file read as a table: attribute columns plus an optional ``geometry`` column.

    ``crs`` is what the file itself declares (None for CSV/XLSX), ``encoding`` the
    text encoding used (None for binary formats).
    """

    frame: pd.DataFrame
    format: str
    crs: str | None = None
    encoding: str | None = None
    layer: str | None = None


def _normalise_encoding(encoding: str) -> str:
    name = encoding.strip().lower()
    name = _ENCODING_ALIASES.get(name, name)
    try:
        codecs.lookup(name)
    except LookupError as exc:
        raise EncodingError(f"unknown encoding {encoding!r}; use utf-8, utf-8-sig or gbk") from exc
    return name


def detect_encoding(path: Path, *, sample_bytes: int = 4 << 20) -> str:
    """Text encoding of a CSV: ``utf-8-sig`` (BOM), ``utf-8`` or ``gb18030`` (GBK)."""
    with open(path, "rb") as handle:
        sample = handle.read(sample_bytes)
        at_end = not handle.read(1)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    for name in _CANDIDATE_ENCODINGS:
        decoder = codecs.getincrementaldecoder(name)()
        try:
            decoder.decode(sample, final=at_end)
            return name
        except UnicodeDecodeError:
            continue
    raise EncodingError(
        f"{path.name} is neither UTF-8 nor GBK/GB18030 text; save it as UTF-8 CSV, or pass "
        "--encoding with the file's encoding (e.g. --encoding big5)")


def _undecodable(path: Path, encoding: str, offset: int) -> EncodingError:
    return EncodingError(f"{path.name} cannot be decoded as {encoding} (byte {offset}); pass the right --encoding "
                         "(utf-8, utf-8-sig or gbk)")


def _check_decodes(path: Path, encoding: str, *, block_bytes: int = 1 << 20) -> None:
    """Raise :class:`EncodingError` unless the whole file decodes strictly as ``encoding``.

    The CSV parser (pyarrow) reports bad UTF-8 as a generic parse error, and detection
    only samples the head of the file, so the whole file is checked here first.
    """
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with open(path, "rb") as handle:
        while True:
            block = handle.read(block_bytes)
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                raise _undecodable(path, encoding, offset - pending + exc.start) from exc
            if not block:
                return
            offset += len(block)


def _read_csv(path: Path, encoding: str | None) -> SourceTable:
    used = _normalise_encoding(encoding) if encoding else detect_encoding(path)
    _check_decodes(path, used)
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=used, sep=sep,
                            engine="pyarrow" if sep == "," else "c")
    except UnicodeDecodeError as exc:
        raise _undecodable(path, used, exc.start) from exc
    except (pd.errors.ParserError, ValueError) as exc:
        raise InputError(f"{path.name} is not a well-formed CSV: {exc}") from exc
    if used == "utf-8-sig" and len(frame.columns):
        frame.columns = [str(c).lstrip("\ufeff") for c in frame.columns]
    return SourceTable(frame=frame, format="csv", encoding=used)


def _cell_to_text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.isoformat(sep=" ")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_excel(path: Path, sheet: str | None) -> SourceTable:
    try:
        with warnings.catch_warnings():  # openpyxl warns about page headers and extensions it ignores
            warnings.simplefilter("ignore", UserWarning)
            frame = pd.read_excel(path, sheet_name=sheet or 0, dtype=object, engine="openpyxl")
    except ValueError as exc:
        raise InputError(f"{path.name}: {exc}; pass --sheet with one of the workbook's sheet names") from exc
    frame = frame.map(_cell_to_text).astype(object)
    frame.columns = [str(c).strip() for c in frame.columns]
    return SourceTable(frame=frame, format="xlsx", layer=sheet)


def _crs_string(crs: object) -> str | None:
    if crs is None:
        return None
    epsg = crs.to_epsg() if hasattr(crs, "to_epsg") else None
    return f"EPSG:{epsg}" if epsg else str(crs)


def _split_geometry(gdf: pd.DataFrame, fmt: str, encoding: str | None, layer: str | None) -> SourceTable:
    crs = _crs_string(getattr(gdf, "crs", None))
    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    frame["geometry"] = np.asarray(gdf.geometry.values, dtype=object)
    return SourceTable(frame=frame, format=fmt, crs=crs, encoding=encoding, layer=layer)


def _shapefile_parts(path: Path) -> tuple[bytes | None, bool]:
    """The .dbf bytes of a plain or zipped Shapefile and whether it declares its encoding (.cpg)."""
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            dbf = next((n for n in names if n.lower().endswith(".dbf")), None)
            has_cpg = any(n.lower().endswith(".cpg") for n in names)
            return (archive.read(dbf) if dbf else None), has_cpg
    dbf_path = next((p for p in (path.with_suffix(".dbf"), path.with_suffix(".DBF")) if p.exists()), None)
    has_cpg = path.with_suffix(".cpg").exists() or path.with_suffix(".CPG").exists()
    return (dbf_path.read_bytes() if dbf_path else None), has_cpg


def _dbf_encoding(dbf: bytes) -> str | None:
    """Encoding of a .dbf's text records when not plain ASCII: UTF-8 if it decodes, else GB18030 (GBK)."""
    if len(dbf) < 32:
        return None
    records = dbf[int.from_bytes(dbf[8:10], "little"):]
    if records.isascii():
        return None
    for name in _CANDIDATE_ENCODINGS:
        try:
            records.decode(name)
            return name
        except UnicodeDecodeError:
            continue
    return None


def _shapefile_encoding(path: Path) -> str | None:
    """Encoding to read a Shapefile without a .cpg with (Chinese exports are often GBK without one)."""
    if path.suffix.lower() not in (".shp", ".zip"):
        return None
    dbf, has_cpg = _shapefile_parts(path)
    if dbf is None or has_cpg:
        return None
    detected = _dbf_encoding(dbf)
    if detected:
        log.info("%s has no .cpg; its attribute text decodes as %s", path.name, detected)
    return detected


def _read_spatial(path: Path, layer: str | None, encoding: str | None) -> SourceTable:
    import pyogrio

    suffix = path.suffix.lower()
    encoding = encoding or _shapefile_encoding(path)
    if suffix == ".gpkg" and layer is None:
        layers = [name for name, _ in pyogrio.list_layers(path)]
        if len(layers) > 1:
            raise InputError(f"{path.name} has {len(layers)} layers {layers}; choose one with --layer")
    kwargs: dict[str, object] = {"layer": layer} if layer else {}
    if encoding:
        kwargs["encoding"] = _normalise_encoding(encoding)
    try:
        gdf = pyogrio.read_dataframe(path, **kwargs)
    except pyogrio.errors.DataLayerError as exc:
        raise InputError(f"{path.name}: {exc}; list layers with `ogrinfo` or pass --layer") from exc
    except pyogrio.errors.DataSourceError as exc:
        raise InputError(f"{path.name} cannot be opened as a vector file: {exc}") from exc
    fmt = {".zip": "shapefile-zip", ".shp": "shapefile", ".gpkg": "geopackage"}.get(suffix, suffix.lstrip("."))
    return _split_geometry(gdf, fmt, kwargs.get("encoding"), layer)  # type: ignore[arg-type]


def _read_parquet(path: Path) -> SourceTable:
    import geopandas as gpd
    import pyarrow.parquet as pq

    metadata = pq.read_schema(path).metadata or {}
    if b"geo" in metadata:
        return _split_geometry(gpd.read_parquet(path), "geoparquet", None, None)
    frame = pd.read_parquet(path)
    return SourceTable(frame=frame.astype(object).where(frame.notna(), ""), format="parquet")


def read_source(path: Path | str, *, layer: str | None = None, encoding: str | None = None,
                sheet: str | None = None) -> SourceTable:
    """Read ``path`` by its suffix into a :class:`SourceTable`.

    Parameters
    ----------
    layer : GeoPackage layer (required when the file has several).
    encoding : text encoding of CSV / Shapefile attributes; detected for CSV when None.
    sheet : XLSX sheet name; the first sheet when None.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"no file at {path}; check the path")
    suffix = path.suffix.lower()
    if suffix in _CSV:
        table = _read_csv(path, encoding)
    elif suffix in _EXCEL:
        table = _read_excel(path, sheet)
    elif suffix in _PARQUET:
        table = _read_parquet(path)
    elif suffix in _SPATIAL:
        table = _read_spatial(path, layer, encoding)
    else:
        raise InputError(
            f"cannot read {path.name}: unknown file type {suffix!r}; supported: {', '.join(SUPPORTED_SUFFIXES)} "
            "(zip a Shapefile with its .dbf/.shx/.prj, or export the table as CSV or XLSX)")
    log.info("read %s: %d rows, format %s", path.name, len(table.frame), table.format)
    return table
