"""Datum conversion for Chinese map coordinates; WGS-84 everywhere inside.

Chinese web maps publish shifted coordinates: GCJ-02 (国测局 "Mars" coordinates,
used by Amap/高德 and Tencent) and BD-09 (百度, a further shift of GCJ-02). This
module converts them, and any EPSG system, to WGS-84 with vectorised numpy.

The forward formulas are the public ones (Krasovsky-ellipsoid GCJ-02 polynomial;
BD-09 polar shift). Their inverses are solved by fixed-point iteration on the
forward formula to ``tol_deg``; the popular one-step inverses are off by metres.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pyproj
import shapely
from numpy.typing import ArrayLike

from grid.errors import CRSError

if TYPE_CHECKING:
    import geopandas

__all__ = [
    "parse_crs",
    "wgs84_to_gcj02",
    "gcj02_to_wgs84",
    "gcj02_to_bd09",
    "bd09_to_gcj02",
    "wgs84_to_bd09",
    "bd09_to_wgs84",
    "to_wgs84",
    "geometries_to_wgs84",
    "utm_epsg",
    "offset_m",
]

WGS84 = "EPSG:4326"
GCJ02 = "gcj02"
BD09 = "bd09"

_KRASOVSKY_A_M = 6378245.0
_KRASOVSKY_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0
_CHINA_LON = (72.004, 137.8347)
_CHINA_LAT = (0.8293, 55.8271)
_EARTH_RADIUS_M = 6371008.8  # IUGG mean radius R1
_INVERSE_TOL_DEG = 1e-10
_INVERSE_MAX_ITER = 30

_ALIASES = {
    "wgs84": WGS84,
    "cgcs2000": "EPSG:4490",
    "gcj02": GCJ02,
    "gcj": GCJ02,
    "bd09": BD09,
    "bd09ll": BD09,
    "baidu": BD09,
}
_HINT = "use an EPSG code such as 4326 or 4490, or gcj02 / bd09"

Pair = tuple[np.ndarray, np.ndarray]


def parse_crs(crs: str | int | None) -> str:
    """Canonical name of a coordinate reference system.

    Parameters
    ----------
    crs : None (WGS-84), an EPSG code as int or ``'EPSG:NNNN'`` / ``'NNNN'``,
        or an alias: ``wgs84``, ``CGCS2000`` (EPSG:4490), ``gcj02`` / ``GCJ-02``
        / ``gcj``, ``bd09`` / ``BD-09`` / ``baidu``; case-insensitive.

    Returns
    -------
    ``'EPSG:NNNN'``, ``'gcj02'`` or ``'bd09'``.

    Raises
    ------
    CRSError
        If the value is none of these or the EPSG code is unknown to PROJ.
    """
    if crs is None:
        return WGS84
    if isinstance(crs, int) and not isinstance(crs, bool):
        return _epsg(crs, crs)
    if isinstance(crs, str):
        key = re.sub(r"[\s_\-]", "", crs).lower()
        if key in _ALIASES:
            return _ALIASES[key]
        match = re.fullmatch(r"(?:epsg:)?(\d{4,6})", key)
        if match:
            return _epsg(int(match.group(1)), crs)
    raise CRSError(f"unknown CRS {crs!r}; {_HINT}")


def _epsg(code: int, seen: object) -> str:
    """``'EPSG:NNNN'`` after checking PROJ knows the code."""
    try:
        pyproj.CRS.from_epsg(code)
    except pyproj.exceptions.CRSError:
        raise CRSError(f"unknown EPSG code in CRS {seen!r}; {_HINT}") from None
    return f"EPSG:{code}"


def _as_pair(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """Float64 copies of lon, lat broadcast to one shape."""
    lon_b, lat_b = np.broadcast_arrays(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    return lon_b.copy(), lat_b.copy()


def _apply(fn: Callable[[np.ndarray, np.ndarray], Pair], lon: np.ndarray, lat: np.ndarray, mask: np.ndarray) -> Pair:
    """Apply ``fn`` to the masked points only; the others keep their values."""
    out_lon, out_lat = lon.copy(), lat.copy()
    out_lon[mask], out_lat[mask] = fn(lon[mask], lat[mask])
    return out_lon, out_lat


def _in_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """True inside the rough bounding box where GCJ-02 applies (NaN is outside)."""
    return (lon >= _CHINA_LON[0]) & (lon <= _CHINA_LON[1]) & (lat >= _CHINA_LAT[0]) & (lat <= _CHINA_LAT[1])


def _gcj_shift(lon: np.ndarray, lat: np.ndarray) -> Pair:
    """GCJ-02 offset in degrees (dlon, dlat) at WGS-84 points, without the bbox test."""
    x, y = lon - 105.0, lat - 35.0
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    t_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x)) + common
    t_lat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    t_lat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    t_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x)) + common
    t_lon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    t_lon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _KRASOVSKY_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (t_lat * 180.0) / ((_KRASOVSKY_A_M * (1.0 - _KRASOVSKY_EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (t_lon * 180.0) / (_KRASOVSKY_A_M / sqrt_magic * np.cos(rad_lat) * np.pi)
    return dlon, dlat


def _gcj_forward(lon: np.ndarray, lat: np.ndarray) -> Pair:
    """WGS-84 -> GCJ-02 in degrees, without the bbox test."""
    dlon, dlat = _gcj_shift(lon, lat)
    return lon + dlon, lat + dlat


def _bd_forward(lon: np.ndarray, lat: np.ndarray) -> Pair:
    """GCJ-02 -> BD-09 in degrees (the public polar-shift formula)."""
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd_closed_form_inverse(lon: np.ndarray, lat: np.ndarray) -> Pair:
    """The approximate closed-form BD-09 -> GCJ-02, a starting point only."""
    x, y = lon - 0.0065, lat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def _invert(
    forward: Callable[[np.ndarray, np.ndarray], Pair],
    target: Pair,
    start: Pair,
    *,
    tol_deg: float,
    max_iter: int,
) -> Pair:
    """Solve ``forward(w) == target`` by fixed-point iteration w -= forward(w) - target.

    Converges because both shifts change by well under 1 % of a step (contraction).
    """
    w_lon, w_lat = start
    for _ in range(max_iter + 1):
        f_lon, f_lat = forward(w_lon, w_lat)
        d_lon, d_lat = f_lon - target[0], f_lat - target[1]
        worst = np.maximum(np.abs(d_lon), np.abs(d_lat))
        if not np.any(worst >= tol_deg):
            return w_lon, w_lat
        w_lon, w_lat = w_lon - d_lon, w_lat - d_lat
    raise CRSError(
        f"inverse did not converge in max_iter={max_iter} to tol_deg={tol_deg}; "
        f"largest residual {float(np.max(worst)):.3g} deg; raise max_iter or tol_deg"
    )


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """WGS-84 to GCJ-02 (Amap/高德, Tencent), degrees in and out.

    Points outside the rough China box (lon 72.004..137.8347, lat 0.8293..55.8271)
    and NaN are returned unchanged.
    """
    lon_a, lat_a = _as_pair(lon, lat)
    return _apply(_gcj_forward, lon_a, lat_a, _in_china(lon_a, lat_a))


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike, *, tol_deg: float = 1e-10, max_iter: int = 30) -> Pair:
    """GCJ-02 to WGS-84, degrees, by iterating the forward formula to ``tol_deg``.

    ``tol_deg=1e-10`` is about 10 micrometres. The China box test is applied to the
    GCJ-02 input; points outside it and NaN are returned unchanged.

    Raises
    ------
    CRSError
        If some point does not converge within ``max_iter`` iterations.
    """
    lon_a, lat_a = _as_pair(lon, lat)

    def solve(g_lon: np.ndarray, g_lat: np.ndarray) -> Pair:
        return _invert(_gcj_forward, (g_lon, g_lat), (g_lon, g_lat), tol_deg=tol_deg, max_iter=max_iter)

    return _apply(solve, lon_a, lat_a, _in_china(lon_a, lat_a))


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """GCJ-02 to BD-09 (百度), degrees in and out; applied everywhere, NaN passes."""
    lon_a, lat_a = _as_pair(lon, lat)
    return _apply(_bd_forward, lon_a, lat_a, np.isfinite(lon_a) & np.isfinite(lat_a))


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """BD-09 to GCJ-02, degrees, iterated from the closed form to 1e-10 degrees."""
    lon_a, lat_a = _as_pair(lon, lat)

    def solve(b_lon: np.ndarray, b_lat: np.ndarray) -> Pair:
        start = _bd_closed_form_inverse(b_lon, b_lat)
        return _invert(_bd_forward, (b_lon, b_lat), start, tol_deg=_INVERSE_TOL_DEG, max_iter=_INVERSE_MAX_ITER)

    return _apply(solve, lon_a, lat_a, np.isfinite(lon_a) & np.isfinite(lat_a))


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """WGS-84 to BD-09, degrees (via GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """BD-09 to WGS-84, degrees (via GCJ-02, both inverses iterated to 1e-10 degrees)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


@functools.lru_cache(maxsize=32)
def _transformer_to_wgs84(crs: str) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(crs, WGS84, always_xy=True)


def to_wgs84(lon: ArrayLike, lat: ArrayLike, crs: str | int | None) -> Pair:
    """Coordinates in ``crs`` to WGS-84 lon/lat in degrees.

    Parameters
    ----------
    lon, lat : x/easting and y/northing in the units of ``crs`` (degrees or metres).
    crs : anything :func:`parse_crs` accepts.

    Notes
    -----
    EPSG:4490 (CGCS2000 geographic) is taken as equal to WGS-84: the two frames
    differ by less than 0.1 m. Projected codes (e.g. CGCS2000 Gauss-Kruger
    EPSG:4547, UTM 32650) go through pyproj with ``always_xy=True``.
    """
    name = parse_crs(crs)
    if name in (WGS84, "EPSG:4490"):
        return _as_pair(lon, lat)
    if name == GCJ02:
        return gcj02_to_wgs84(lon, lat)
    if name == BD09:
        return bd09_to_wgs84(lon, lat)
    x, y = _as_pair(lon, lat)
    out_lon, out_lat = _transformer_to_wgs84(name).transform(x, y)
    return np.asarray(out_lon, dtype=np.float64), np.asarray(out_lat, dtype=np.float64)


def geometries_to_wgs84(
    geoms: np.ndarray | geopandas.GeoSeries | list, crs: str | int | None
) -> np.ndarray:
    """Shapely geometries in ``crs`` to WGS-84 degrees, all vertices in one call.

    A GeoSeries's own ``.crs`` is ignored (files in GCJ-02 usually claim WGS-84);
    ``crs`` says what the coordinates really are. Returns an object array of new
    geometries; None stays None.
    """
    name = parse_crs(crs)
    arr = np.asarray(geoms, dtype=object)

    def convert(x: np.ndarray, y: np.ndarray) -> Pair:
        return to_wgs84(x, y, name)

    return shapely.transform(arr, convert, interleaved=False)


def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the WGS-84 UTM zone holding a point given in degrees.

    326zz north of the equator, 327zz south; the Norway/Svalbard exceptions are
    ignored. China spans zones 43-53 (Wuhan and Beijing: 50, EPSG:32650).

    Raises
    ------
    CRSError
        If lon is outside -180..180 or lat outside -80..84 (UTM's range).
    """
    if not (-180.0 <= lon <= 180.0 and -80.0 <= lat <= 84.0):
        raise CRSError(
            f"point (lon={lon}, lat={lat}) is outside UTM (lon -180..180, lat -80..84); "
            "pass WGS-84 degrees, lon first"
        )
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)  # lon 180 belongs to zone 60
    return (32600 if lat >= 0 else 32700) + zone


def offset_m(lon: ArrayLike, lat: ArrayLike, lon2: ArrayLike, lat2: ArrayLike) -> np.ndarray:
    """Great-circle (haversine) distance in metres between points in degrees.

    Uses the mean Earth radius R = 6,371,008.8 m (IUGG); NaN in gives NaN out.
    """
    phi1, phi2 = np.radians(np.asarray(lat, dtype=np.float64)), np.radians(np.asarray(lat2, dtype=np.float64))
    dphi = phi2 - phi1
    dlam = np.radians(np.asarray(lon2, dtype=np.float64) - np.asarray(lon, dtype=np.float64))
    h = np.sin(dphi / 2.0) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlam / 2.0) ** 2
    return 2.0 * _EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
