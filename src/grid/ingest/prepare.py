"""Turn a mapped source frame into rows of our tables, with a reason for every
rejected row and a note for every kept row that needed attention.

Pure functions over frames; no database here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import shapely

from grid import categories as cat
from grid.crs import geometries_to_wgs84, to_wgs84
from grid.h3index import points_to_cells
from grid.io import privacy
from grid.io.mappings import Mapping
from grid.io.validation import (Problems, check_coordinate_values, check_duplicates, check_within,
                                parse_numbers, parse_points, parse_polygons, parse_timestamps,
                                require_text, text_field)

__all__ = ["Context", "Prepared", "prepare", "UNMAPPED"]

UNMAPPED = "unmapped"
_GEOD = pyproj.Geod(ellps="WGS84")


@dataclass(frozen=True)
class Context:
    """Everything a preparation needs besides the rows."""

    mapping: Mapping
    crs: str
    timezone: str
    h3_res: int
    categories_dir: Path
    max_repair_area_change: float
    source: str
    study_area: shapely.Geometry | None = None
    study_area_name: str = ""
    hash_key: bytes | None = None


@dataclass
class Prepared:
    """Validated rows (our table's columns, ``geom_wkb`` for geometry) and what happened to the rest."""

    rows: pd.DataFrame
    problems: Problems
    notes: list[tuple[object, str | None, str]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    geometries: np.ndarray | None = None  # WGS-84 shapely geometries of ``rows`` (polygons)


def _is_geographic(crs: str) -> bool:
    if crs in ("gcj02", "bd09"):
        return True
    return pyproj.CRS.from_user_input(crs).is_geographic


def _geometry_text(frame: pd.DataFrame) -> pd.Series:
    if "geometry" in frame:
        wkb = shapely.to_wkb(np.asarray(frame["geometry"].to_numpy(), dtype=object), hex=True)
        return pd.Series(wkb, index=frame.index, dtype="string")
    return text_field(frame, "wkt")


def _derived_ids(frame: pd.DataFrame, fields: tuple[str, ...], prefix: str) -> pd.Series:
    parts = [(_geometry_text(frame) if f == "geometry" else text_field(frame, f)).fillna("") for f in fields]
    joined = parts[0].str.cat(parts[1:], sep="|") if len(parts) > 1 else parts[0]
    return joined.map(lambda s: prefix + hashlib.sha1(s.encode("utf-8")).hexdigest()[:16]).astype("string")


def _ids(frame: pd.DataFrame, ctx: Context, field_name: str, prefix: str, problems: Problems) -> pd.Series:
    if field_name in frame:
        return require_text(frame, field_name, problems)
    return _derived_ids(frame, ctx.mapping.id_from, prefix)


def _vocabulary(values: pd.Series, table: str, id_column: str, ctx: Context) -> pd.Series:
    return cat.lookup_aliases(values, cat.read_table(table, ctx.categories_dir), id_column)


def _note_unmapped(prepared: Prepared, field_name: str, raw: pd.Series, mapped: pd.Series,
                   gap: pd.Series | None = None) -> pd.Series:
    """Set rows in ``gap`` (default: unmapped rows) to 'unmapped' and summarise their raw values in a note."""
    gap = mapped.isna() if gap is None else gap
    if gap.any():
        counts = raw[gap].fillna("(empty)").value_counts().head(10)
        listing = ", ".join(f"'{v}' ({n})" for v, n in counts.items())
        prepared.notes.append((None, None, f"{field_name}: {int(gap.sum())} rows kept as '{UNMAPPED}'; "
                               f"values: {listing}; add them to geodata/categories or a mapping table"))
    return mapped.astype("string").mask(gap, UNMAPPED)


def _points_to_wgs84(frame: pd.DataFrame, ctx: Context, problems: Problems,
                     *, required: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    points = parse_points(frame, problems, required=required)
    geographic = _is_geographic(ctx.crs)
    check_coordinate_values(points, problems, geographic=geographic)
    finite = np.isfinite(points.x) & np.isfinite(points.y)
    lon, lat = np.full(len(frame), np.nan), np.full(len(frame), np.nan)
    if finite.any():
        lon[finite], lat[finite] = to_wgs84(points.x[finite], points.y[finite], ctx.crs)
    if not geographic:
        bad = finite & ~((np.abs(lon) <= 180) & (np.abs(lat) <= 90))
        problems.add(bad, "coordinate_not_convertible", f"coordinate does not convert from {ctx.crs} to a valid lon/lat; check --crs")
    check_within(lon, lat, ctx.study_area, ctx.study_area_name, problems)
    return lon, lat, points.present


def _point_wkb(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    points = shapely.points(lon, lat)
    return np.asarray(shapely.to_wkb(points), dtype=object)


def _categories(raw: pd.Series, ctx: Context, vocabulary: str) -> pd.Series:
    """Our categories for raw values: a ``table:NAME`` pattern table, else the vocabulary's aliases."""
    method = ctx.mapping.category
    if method.startswith("table:"):
        return cat.patterns_to_categories(raw, cat.read_table(method.split(":", 1)[1], ctx.categories_dir))
    return _vocabulary(raw, vocabulary, "category", ctx)


def _facility_categories(frame: pd.DataFrame, ctx: Context) -> tuple[pd.Series, pd.Series]:
    raw = text_field(frame, "source_category")
    if ctx.mapping.category != "amap":
        return raw, _categories(raw, ctx, "facility_categories")
    table = cat.read_table("amap_to_category", ctx.categories_dir)
    code = text_field(frame, "source_code")
    mapped = cat.amap_codes_to_categories(code, table).fillna(cat.amap_types_to_categories(raw, table))
    return (raw.fillna(code) if "source_code" in frame else raw), mapped


def prepare_facilities(frame: pd.DataFrame, ctx: Context) -> Prepared:
    """Facilities: id (given or derived), name, category, point in WGS-84 with its H3 cell."""
    problems = Problems(frame.index)
    prepared = Prepared(rows=pd.DataFrame(), problems=problems)
    ids = _ids(frame, ctx, "facility_id", "f-", problems)
    name = require_text(frame, "name", problems)
    raw, mapped = _facility_categories(frame, ctx)
    floor_area = parse_numbers(frame, "floor_area_m2", problems)
    lon, lat, _ = _points_to_wgs84(frame, ctx, problems, required=True)
    check_duplicates(ids, ~problems.rejected(), problems, "facility_id")
    keep = ~problems.rejected()
    category = _note_unmapped(prepared, "category", raw[keep], mapped[keep])
    prepared.counts["rows_unmapped"] = int((category == UNMAPPED).sum())
    prepared.rows = pd.DataFrame({
        "facility_id": ids[keep], "name": name[keep], "category": category,
        "source_category": raw[keep], "address": text_field(frame, "address")[keep],
        "floor_area_m2": floor_area[keep], "source": ctx.source, "source_type": ctx.mapping.source_type,
        "lon": lon[keep], "lat": lat[keep], "h3": points_to_cells(lon[keep], lat[keep], ctx.h3_res),
        "geom_wkb": _point_wkb(lon[keep], lat[keep])})
    return prepared


def _complaint_vocabularies(frame: pd.DataFrame, ctx: Context, prepared: Prepared,
                            keep: np.ndarray, closed_at: pd.Series) -> dict[str, pd.Series]:
    out: dict[str, pd.Series] = {}
    unmapped = np.zeros(int(keep.sum()), dtype=bool)
    specs = (("request_type", "request_types", "request_type"), ("urgency", "urgencies", "urgency"),
             ("status", "complaint_statuses", "status"), ("channel", "channels", "channel"))
    for field_name, table, id_column in specs:
        raw = text_field(frame, field_name)[keep]
        mapped = _vocabulary(raw, table, id_column, ctx)
        if field_name == "urgency":
            mapped = mapped.mask(raw.isna(), "normal")
        elif field_name == "status":
            mapped = mapped.mask(raw.isna(), pd.Series(np.where(closed_at[keep].notna(), "closed", "received"),
                                                       index=raw.index))
        gap = mapped.isna() & (raw.notna() if field_name == "channel" else True)
        out[field_name] = _note_unmapped(prepared, field_name, raw, mapped, gap)
        out["source_" + field_name] = raw
        unmapped |= gap.to_numpy()
    raw_cat = text_field(frame, "source_category")[keep]
    mapped = _categories(raw_cat, ctx, "complaint_categories")
    unmapped |= mapped.isna().to_numpy()
    out["category"] = _note_unmapped(prepared, "category", raw_cat, mapped)
    out["source_category"] = raw_cat
    prepared.counts["rows_unmapped"] = int(unmapped.sum())
    return out


def _personal_data(frame: pd.DataFrame, keep: np.ndarray, key: bytes | None) -> dict[str, pd.Series]:
    name, phone = text_field(frame, "complainant_name")[keep], text_field(frame, "complainant_phone")[keep]
    if key is None:
        empty = pd.Series(pd.NA, index=name.index, dtype="string")
        return {c: empty for c in ("complainant_masked", "complainant_hash", "phone_masked", "phone_hash")}
    name_masked, name_hash = privacy.protect_names(name, key)
    phone_masked, phone_hash = privacy.protect_phones(phone, key)
    return {"complainant_masked": name_masked, "complainant_hash": name_hash,
            "phone_masked": phone_masked, "phone_hash": phone_hash}


def prepare_complaints(frame: pd.DataFrame, ctx: Context) -> Prepared:
    """12345 records: id, times (UTC), vocabularies, optional point, personal data hashed and masked."""
    problems = Problems(frame.index)
    prepared = Prepared(rows=pd.DataFrame(), problems=problems)
    ids = require_text(frame, "complaint_id", problems)
    fmt, tz = ctx.mapping.timestamp_format, ctx.timezone
    received = parse_timestamps(frame, "received_at", problems, timezone=tz, fmt=fmt, required=True)
    closed = parse_timestamps(frame, "closed_at", problems, timezone=tz, fmt=fmt)
    due = parse_timestamps(frame, "source_due_at", problems, timezone=tz, fmt=fmt)
    responded = parse_timestamps(frame, "responded_at", problems, timezone=tz, fmt=fmt)
    reopen_count = parse_numbers(frame, "reopen_count", problems, integer=True)
    before = closed < received
    problems.add(before, "closed_before_received", lambda m: "closed_at " + closed[m].astype(str)
                 + " is before received_at " + received[m].astype(str) + "; check both times and their time zone")
    future = received > pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=1)
    problems.add(future, "received_in_future",
                 lambda m: "received_at " + received[m].astype(str) + " is in the future; check the date format")
    lon, lat, present = _points_to_wgs84(frame, ctx, problems, required=False)
    check_duplicates(ids, ~problems.rejected(), problems, "complaint_id")
    keep = ~problems.rejected()
    prepared.counts["rows_without_location"] = int((keep & ~present).sum())
    vocab = _complaint_vocabularies(frame, ctx, prepared, keep, closed)
    h3 = points_to_cells(lon[keep], lat[keep], ctx.h3_res)
    prepared.rows = pd.DataFrame({
        "complaint_id": ids[keep], "received_at": received[keep], **vocab,
        "closed_at": closed[keep], "source_due_at": due[keep], "responded_at": responded[keep],
        "reopen_count": reopen_count[keep].astype("Int64"),
        "satisfaction": text_field(frame, "satisfaction")[keep],
        "description": privacy.mask_free_text(text_field(frame, "description")[keep]),
        "address": text_field(frame, "address")[keep], "area_name": text_field(frame, "area_name")[keep],
        "lon": lon[keep], "lat": lat[keep], "h3": pd.array(np.where(h3 == 0, None, h3), dtype="UInt64"),
        **_personal_data(frame, keep, ctx.hash_key), "time_zone": ctx.timezone, "source": ctx.source})
    return prepared


def _geodesic_area_m2(geoms: np.ndarray) -> np.ndarray:
    return np.array([abs(_GEOD.geometry_area_perimeter(g)[0]) if g is not None else np.nan for g in geoms])


def _prepare_polygons(frame: pd.DataFrame, ctx: Context, problems: Problems,
                      prepared: Prepared) -> np.ndarray:
    geoms, repaired = parse_polygons(frame, problems, max_area_change=ctx.max_repair_area_change)
    for label, note in repaired.items():
        prepared.notes.append((label, None, note))
    prepared.counts["rows_repaired"] = len(repaired)
    ok = ~shapely.is_missing(geoms)
    wgs = np.full(len(geoms), None, dtype=object)
    if ok.any():
        wgs[ok] = geometries_to_wgs84(geoms[ok], ctx.crs)
        xmin, ymin, xmax, ymax = shapely.bounds(wgs[ok]).T
        bad = np.zeros(len(geoms), bool)
        bad[ok] = ~((np.abs(xmin) <= 180) & (np.abs(xmax) <= 180) & (np.abs(ymin) <= 90) & (np.abs(ymax) <= 90))
        problems.add(bad, "coordinate_out_of_range", f"coordinates outside lon -180..180 / lat -90..90 after reading as {ctx.crs}; "
                     "is the file projected? pass --crs with its EPSG code")
    return wgs


def prepare_boundaries(frame: pd.DataFrame, ctx: Context) -> Prepared:
    """Community polygons in WGS-84 with population, households and geodesic area."""
    problems = Problems(frame.index)
    prepared = Prepared(rows=pd.DataFrame(), problems=problems)
    ids = _ids(frame, ctx, "community_id", "c-", problems)
    name = require_text(frame, "name", problems)
    numbers = {f: parse_numbers(frame, f, problems, integer=True)
               for f in ("population", "households", "population_65plus", "workers", "social_organisations")}
    service_space_m2 = parse_numbers(frame, "service_space_m2", problems)
    geoms = _prepare_polygons(frame, ctx, problems, prepared)
    check_duplicates(ids, ~problems.rejected(), problems, "community_id")
    keep = ~problems.rejected()
    prepared.geometries = geoms[keep]
    prepared.rows = pd.DataFrame({
        "community_id": ids[keep], "name": name[keep],
        "subdistrict": text_field(frame, "subdistrict")[keep], "district": text_field(frame, "district")[keep],
        **{f: v[keep].astype("Int64") for f, v in numbers.items()},
        "service_space_m2": service_space_m2[keep],
        "area_m2": _geodesic_area_m2(geoms[keep]), "source": ctx.source,
        "geom_wkb": np.asarray(shapely.to_wkb(geoms[keep]), dtype=object)})
    return prepared


def prepare_grids(frame: pd.DataFrame, ctx: Context) -> Prepared:
    """Grid polygons in WGS-84, each optionally tied to a community."""
    problems = Problems(frame.index)
    prepared = Prepared(rows=pd.DataFrame(), problems=problems)
    ids = require_text(frame, "grid_id", problems)
    numbers = {f: parse_numbers(frame, f, problems, integer=True) for f in ("households", "population")}
    geoms = _prepare_polygons(frame, ctx, problems, prepared)
    check_duplicates(ids, ~problems.rejected(), problems, "grid_id")
    keep = ~problems.rejected()
    prepared.geometries = geoms[keep]
    prepared.rows = pd.DataFrame({
        "grid_id": ids[keep], "community_id": text_field(frame, "community_id")[keep],
        "name": text_field(frame, "name")[keep], **{f: v[keep].astype("Int64") for f, v in numbers.items()},
        "area_m2": _geodesic_area_m2(geoms[keep]), "source": ctx.source,
        "geom_wkb": np.asarray(shapely.to_wkb(geoms[keep]), dtype=object)})
    return prepared


def prepare_landuse(frame: pd.DataFrame, ctx: Context) -> Prepared:
    """Land-use parcels or buildings: class (vocabulary, else 'unmapped'), floors, polygon in WGS-84."""
    problems = Problems(frame.index)
    prepared = Prepared(rows=pd.DataFrame(), problems=problems)
    ids = _ids(frame, ctx, "landuse_id", "l-", problems)
    raw = text_field(frame, "source_class")
    mapped = _vocabulary(raw, "landuse_classes", "class", ctx)
    floors = parse_numbers(frame, "floors", problems, minimum=1)
    geoms = _prepare_polygons(frame, ctx, problems, prepared)
    check_duplicates(ids, ~problems.rejected(), problems, "landuse_id")
    keep = ~problems.rejected()
    prepared.geometries = geoms[keep]
    landuse_class = _note_unmapped(prepared, "class", raw[keep], mapped[keep])
    prepared.counts["rows_unmapped"] = int((landuse_class == UNMAPPED).sum())
    prepared.rows = pd.DataFrame({
        "landuse_id": ids[keep], "class": landuse_class, "source_class": raw[keep], "floors": floors[keep],
        "area_m2": _geodesic_area_m2(geoms[keep]), "source": ctx.source,
        "geom_wkb": np.asarray(shapely.to_wkb(geoms[keep]), dtype=object)})
    return prepared


_GRID_LIST = r"[;,，；、\s]+"


def _grid_lists(frame: pd.DataFrame, problems: Problems) -> pd.Series:
    """Each row's grid ids (one manager may hold several grids), sorted and ';'-joined."""
    raw = require_text(frame, "grid_id", problems)
    parts = raw.fillna("").str.split(_GRID_LIST, regex=True)
    return parts.map(lambda ids: ";".join(sorted({i for i in ids if i}))).astype("string").mask(raw.isna())


def _note_shared_grids(prepared: Prepared, ids: pd.Series, grids: pd.Series) -> None:
    """Note grids that the roster gives to more than one manager (routing picks the first manager id)."""
    pairs = pd.DataFrame({"manager_id": ids, "grid_id": grids.str.split(";")}).explode("grid_id")
    shared = pairs.groupby("grid_id")["manager_id"].agg(lambda m: sorted(set(m)))
    for grid_id, managers in shared[shared.map(len) > 1].items():
        prepared.notes.append((None, grid_id, f"grid {grid_id} is listed for {len(managers)} managers "
                               f"({', '.join(managers)}); complaints there go to {managers[0]}; "
                               "fix the roster if each grid should have one manager"))


def prepare_managers(frame: pd.DataFrame, ctx: Context) -> Prepared:
    """Grid-manager roster (网格员): id, name, grids held, phone masked and hashed."""
    problems = Problems(frame.index)
    prepared = Prepared(rows=pd.DataFrame(), problems=problems)
    ids = require_text(frame, "manager_id", problems)
    grids = _grid_lists(frame, problems)
    problems.add(grids.fillna("x").eq(""), "missing_grid_id", "grid_id lists no grid; give the grid code(s) "
                 "this manager is responsible for, separated by ';'")
    check_duplicates(ids, ~problems.rejected(), problems, "manager_id")
    keep = ~problems.rejected()
    phone = text_field(frame, "phone")[keep]
    if ctx.hash_key is None:
        masked = hashed = pd.Series(pd.NA, index=phone.index, dtype="string")
    else:
        masked, hashed = privacy.protect_phones(phone, ctx.hash_key)
    _note_shared_grids(prepared, ids[keep], grids[keep])
    prepared.rows = pd.DataFrame({
        "manager_id": ids[keep], "name": text_field(frame, "name")[keep], "phone_masked": masked,
        "phone_hash": hashed, "grid_ids": grids[keep], "community_id": text_field(frame, "community_id")[keep],
        "subdistrict": text_field(frame, "subdistrict")[keep], "source": ctx.source})
    return prepared


_PREPARERS = {"facilities": prepare_facilities, "complaints": prepare_complaints,
              "boundaries": prepare_boundaries, "grids": prepare_grids, "landuse": prepare_landuse,
              "managers": prepare_managers}


def prepare(kind: str, frame: pd.DataFrame, ctx: Context) -> Prepared:
    """Validate and convert ``frame`` (our field names) into rows of the ``kind`` table."""
    return _PREPARERS[kind](frame, ctx)
