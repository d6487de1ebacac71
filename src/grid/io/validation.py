"""Row validation, vectorised: every check adds a reason to the rows it fails,
and a row is rejected with all its reasons joined (nothing is dropped silently).

Each reason says what is wrong, the value seen, and how to fix it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

__all__ = [
    "Problems", "PointColumns", "text_field", "require_text", "parse_numbers", "parse_points",
    "check_coordinate_values", "parse_polygons", "parse_timestamps", "check_duplicates", "check_within",
]

log = logging.getLogger(__name__)


class Problems:
    """Reasons per row, collected from every check (index labels of the source frame)."""

    def __init__(self, index: pd.Index) -> None:
        self._index = index
        self._parts: list[pd.Series] = []
        self._codes: list[pd.Series] = []

    @property
    def index(self) -> pd.Index:
        """Row labels of the frame under validation."""
        return self._index

    def add(self, mask: np.ndarray | pd.Series, code: str,
            reason: str | pd.Series | Callable[[np.ndarray], pd.Series]) -> int:
        """Record ``reason`` under a short ``code`` for rows where ``mask`` holds; return the count.

        ``reason`` is one text, a per-row Series, or a function of the mask that builds the
        per-row texts of just those rows (so nothing is formatted when no row fails).
        """
        mask = np.asarray(mask, dtype=bool)
        count = int(mask.sum())
        if count:
            labels = self._index[mask]
            if callable(reason):
                reason = pd.Series(np.asarray(reason(mask), dtype=object), index=labels)
            part = pd.Series(reason, index=labels, dtype=object) if isinstance(reason, str) \
                else reason.loc[labels].astype(object)
            self._parts.append(part)
            self._codes.append(pd.Series(code, index=labels, dtype=object))
        return count

    def rejected(self) -> np.ndarray:
        """Boolean mask over the index: rows with at least one problem."""
        if not self._parts:
            return np.zeros(len(self._index), dtype=bool)
        return self._index.isin(pd.concat(self._parts).index)

    def reasons(self) -> pd.Series:
        """One text per rejected row: its reasons joined with ' | ', in source order."""
        if not self._parts:
            return pd.Series(dtype=object)
        joined = pd.concat(self._parts).groupby(level=0, sort=False).agg(" | ".join)
        return joined.reindex(self._index[self.rejected()])

    def codes(self) -> pd.Series:
        """Problem codes of each rejected row, joined with ',' (e.g. 'missing_name,placeholder_coordinate')."""
        if not self._codes:
            return pd.Series(dtype=object)
        joined = pd.concat(self._codes).groupby(level=0, sort=False).agg(",".join)
        return joined.reindex(self._index[self.rejected()])


def text_field(frame: pd.DataFrame, field: str) -> pd.Series:
    """``field`` as stripped text with empty cells as NA (all NA when the column is absent)."""
    if field not in frame:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    text = frame[field].astype("string").str.strip()
    return text.mask(text == "")


def require_text(frame: pd.DataFrame, field: str, problems: Problems) -> pd.Series:
    """Text of a required field; empty cells are rejected as missing."""
    text = text_field(frame, field)
    problems.add(text.isna(), f"missing_{field}", f"missing required field '{field}'")
    return text


def parse_numbers(frame: pd.DataFrame, field: str, problems: Problems, *, minimum: float = 0.0,
                  integer: bool = False) -> pd.Series:
    """Optional numeric field (float64, NaN where empty); unparseable or < ``minimum`` is rejected."""
    text = text_field(frame, field).str.replace(",", "", regex=False)
    values = pd.to_numeric(text, errors="coerce").astype("float64")
    bad = text.notna() & values.isna()
    problems.add(bad, f"unparseable_{field}",
                 lambda m: "unparseable " + field + " '" + text[m] + "' (expected a number)")
    low = values < minimum
    problems.add(low, f"negative_{field}", lambda m: field + " " + values[m].astype(str) + f" is below {minimum:g}")
    if integer:
        frac = values.notna() & (values % 1 != 0)
        problems.add(frac, f"fractional_{field}", lambda m: field + " " + values[m].astype(str) + " is not a whole number")
    return values


@dataclass(frozen=True)
class PointColumns:
    """Raw point coordinates (degrees or projected units) with which rows had any location."""

    x: np.ndarray
    y: np.ndarray
    present: np.ndarray


def _split_location(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    parts = text.str.replace("，", ",", regex=False).str.split(",", n=1, expand=True)
    if parts.shape[1] < 2:
        return parts[0], pd.Series(pd.NA, index=text.index, dtype="string")
    return parts[0].str.strip(), parts[1].str.strip()


def _point_text(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series, str]:
    lon, lat = text_field(frame, "lon"), text_field(frame, "lat")
    if "location" in frame:
        loc_lon, loc_lat = _split_location(text_field(frame, "location"))
        lon, lat = lon.fillna(loc_lon), lat.fillna(loc_lat)
    return lon, lat, "lon/lat"


def parse_points(frame: pd.DataFrame, problems: Problems, *, required: bool) -> PointColumns:
    """Point coordinates from lon/lat, a "lng,lat" location, WKT or a point geometry column."""
    x = np.full(len(frame), np.nan)
    y = np.full(len(frame), np.nan)
    geoms, unparsed = _geometry_values(frame, problems)
    if geoms is not None:
        is_point = shapely.get_type_id(geoms) == 0
        not_point = ~shapely.is_missing(geoms) & ~is_point
        problems.add(not_point, "not_a_point", "geometry is not a point (expected Point - convert polygons to centroids first)")
        x[is_point], y[is_point] = shapely.get_x(geoms[is_point]), shapely.get_y(geoms[is_point])
    lon_text, lat_text, _ = _point_text(frame)
    lon_num = pd.to_numeric(lon_text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    lat_num = pd.to_numeric(lat_text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    take = np.isnan(x) & (lon_text.notna() | lat_text.notna()).to_numpy()
    x[take], y[take] = lon_num[take], lat_num[take]
    has_text = (lon_text.notna() | lat_text.notna()).to_numpy()
    unparseable = take & (np.isnan(lon_num) | np.isnan(lat_num))
    problems.add(unparseable, "unparseable_coordinate",
                 lambda m: "unparseable coordinate lon='" + lon_text[m].fillna("").astype(str)
                 + "' lat='" + lat_text[m].fillna("").astype(str) + "' (expected decimal degrees)")
    present = has_text | (~np.isnan(x)) | unparsed  # unparseable WKT is a location given badly, not missing
    if required:
        problems.add(~present, "missing_coordinates", "missing coordinates: no lon/lat, location, WKT or geometry")
    return PointColumns(x=x, y=y, present=present)


def check_coordinate_values(points: PointColumns, problems: Problems, *, geographic: bool) -> None:
    """Reject out-of-range and placeholder coordinates (both values whole degrees, e.g. 0,0 or 39,-77)."""
    if not geographic:
        return
    x, y = points.x, points.y
    finite = np.isfinite(x) & np.isfinite(y)
    out = finite & ((np.abs(x) > 180) | (np.abs(y) > 90))
    hint = " (are lon and lat swapped? or is the file projected: pass --crs)"
    problems.add(out, "coordinate_out_of_range", lambda m: [
        f"coordinate out of range lon={a:g}, lat={b:g}{hint if abs(b) > 90 else ''}: "
        "lon must be -180..180 and lat -90..90" for a, b in zip(x[m], y[m])])
    placeholder = finite & ~out & (np.mod(x, 1) == 0) & (np.mod(y, 1) == 0)
    problems.add(placeholder, "placeholder_coordinate", lambda m: [
        f"placeholder coordinate (lat {b:g}, lon {a:g}): whole-degree values are a geocoder's default, "
        "not a location - geocode the address again or leave lon/lat empty" for a, b in zip(x[m], y[m])])


def _geometry_values(frame: pd.DataFrame, problems: Problems) -> tuple[np.ndarray | None, np.ndarray]:
    """Shapely geometries from the ``geometry`` column, else parsed from ``wkt`` (None if neither),
    and which rows had WKT text that does not parse (already reported, so not "missing" too)."""
    unparsed = np.zeros(len(frame), dtype=bool)
    if "geometry" in frame:
        return np.asarray(frame["geometry"].to_numpy(), dtype=object), unparsed
    if "wkt" not in frame:
        return None, unparsed
    text = text_field(frame, "wkt")
    geoms = shapely.from_wkt(text.fillna("").to_numpy(dtype=object), on_invalid="ignore")
    geoms = np.where(text.isna().to_numpy(), None, geoms)
    bad = text.notna().to_numpy() & shapely.is_missing(geoms)
    problems.add(bad, "unparseable_wkt", lambda m: "unparseable WKT '" + text[m].str.slice(0, 60) + "'")
    return geoms, bad


def _repair(geom: shapely.Geometry, max_area_change: float) -> tuple[shapely.Geometry | None, str]:
    """Repair an invalid polygon when both make_valid methods agree on its area, else refuse."""
    why = shapely.is_valid_reason(geom)
    linework = _polygonal(shapely.make_valid(geom))
    structure = _polygonal(shapely.make_valid(geom, method="structure", keep_collapsed=False))
    if linework is None or linework.area == 0:
        return None, f"invalid geometry ({why}) that cannot be repaired into a polygon"
    other = structure.area if structure is not None else 0.0
    if abs(linework.area - other) > max_area_change * linework.area:
        return None, (f"invalid geometry ({why}) with no unambiguous repair (the two repair methods "
                      f"differ by {abs(linework.area - other) / linework.area:.0%} in area); fix it in GIS")
    return linework, f"repaired invalid geometry ({why}) with make_valid"


def _polygonal(geom: shapely.Geometry | None) -> shapely.Geometry | None:
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else None


def parse_polygons(frame: pd.DataFrame, problems: Problems, *,
                   max_area_change: float) -> tuple[np.ndarray, pd.Series]:
    """Polygon geometries (invalid ones repaired where safe) and a note per repaired row."""
    geoms, unparsed = _geometry_values(frame, problems)
    notes = pd.Series(dtype=object)
    if geoms is None:
        problems.add(np.ones(len(frame), bool), "missing_geometry", "missing geometry: no geometry column or WKT")
        return np.full(len(frame), None, dtype=object), notes
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    problems.add(missing & ~unparsed, "missing_geometry", "missing geometry (empty or null)")
    type_ids = shapely.get_type_id(geoms)
    wrong = ~missing & ~np.isin(type_ids, (3, 6))
    problems.add(wrong, "wrong_geometry_type", "geometry is " + pd.Series(shapely.get_type_id(geoms), index=frame.index)
                 .map({0: "Point", 1: "LineString", 2: "LinearRing", 4: "MultiPoint", 5: "MultiLineString",
                       7: "GeometryCollection"}).fillna("unknown") + ", expected Polygon or MultiPolygon")
    geoms = shapely.force_2d(np.where(missing | wrong, None, geoms))
    invalid = np.flatnonzero(~shapely.is_valid(geoms) & ~shapely.is_missing(geoms))
    repaired_notes, failed = {}, {}
    for pos in invalid:
        fixed, message = _repair(geoms[pos], max_area_change)
        label = frame.index[pos]
        if fixed is None:
            failed[label] = message
        else:
            geoms[pos] = fixed
            repaired_notes[label] = message
    failed_series = pd.Series(failed, dtype=object)
    problems.add(frame.index.isin(failed_series.index), "invalid_geometry", failed_series.reindex(frame.index))
    return geoms, pd.Series(repaired_notes, dtype=object)


_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")
_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M",
            "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M",
            "%Y年%m月%d日", "%Y%m%d%H%M%S", "%m/%d/%Y %I:%M:%S %p", "%Y-%m-%d %H:%M:%S.%f")


def _parse_naive(text: pd.Series, fmt: str | None) -> pd.Series:
    result = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    todo = text.notna()
    for candidate in ((fmt,) if fmt else ()) + _FORMATS:
        if not todo.any():
            break
        parsed = pd.to_datetime(text[todo], format=candidate, errors="coerce")
        result[todo] = parsed
        todo = todo & result.isna()
    return result


def parse_timestamps(frame: pd.DataFrame, field: str, problems: Problems, *, timezone: str,
                     fmt: str | None = None, required: bool = False) -> pd.Series:
    """Timestamps as UTC; naive times are local to ``timezone`` (Asia/Shanghai by default)."""
    text = require_text(frame, field, problems) if required else text_field(frame, field)
    has_offset = text.str.contains(_OFFSET, na=False)
    aware = pd.to_datetime(text[has_offset], utc=True, errors="coerce", format="ISO8601")
    naive = _parse_naive(text[~has_offset & text.notna()], fmt)
    local = naive.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="shift_forward").dt.tz_convert("UTC")
    result = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
    result[aware.index] = aware
    result[local.index] = local
    bad = text.notna() & result.isna()
    problems.add(bad, f"unparseable_{field}", lambda m: "unparseable " + field + " '" + text[m]
                 + f"' (expected e.g. 2025-03-01 14:30:00; naive times are read as {timezone})")
    return result


def check_duplicates(ids: pd.Series, ok: np.ndarray, problems: Problems, field: str) -> None:
    """Reject later rows repeating an id already seen among otherwise valid rows."""
    candidates = ids[ok & ids.notna().to_numpy()]
    dup = candidates.duplicated(keep="first")
    if not dup.any():
        return
    first = pd.Series(candidates.index[~dup.to_numpy()], index=candidates[~dup].to_numpy())
    later = candidates[dup]
    text = ("duplicate " + field + " '" + later.astype(str) + "' (first at row "
            + later.map(first).astype(int).add(1).astype(str) + "); keep one row per id or make ids unique")
    problems.add(ids.index.isin(later.index), f"duplicate_{field}", text.reindex(ids.index))


def check_within(lon: np.ndarray, lat: np.ndarray, area: shapely.Geometry | None, area_name: str,
                 problems: Problems) -> None:
    """Reject points outside the study area (when one is set)."""
    if area is None:
        return
    finite = np.isfinite(lon) & np.isfinite(lat)
    outside = finite.copy()
    outside[finite] = ~shapely.contains_xy(area, lon[finite], lat[finite])
    problems.add(outside, "outside_study_area", lambda m: [
        f"point outside the study area '{area_name}' (lon {a:.6f}, lat {b:.6f}); check the datum (--crs) "
        "or widen the study area" for a, b in zip(lon[m], lat[m])])
