"""Tests of grid.crs against an independent scalar reference, published pairs,
pyproj, hand-computed fixtures and the converted Amap district files."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyproj
import pytest
import shapely

from grid.crs import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    geometries_to_wgs84,
    offset_m,
    parse_crs,
    to_wgs84,
    utm_epsg,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from grid.errors import CRSError

REALDATA = Path(__file__).resolve().parents[1].parent / "shared" / "realdata"
AMAP_DIR = REALDATA / "cn-admin-districts-amap"


# --- independent scalar reference, written out again from the public formula ---------


def _ref_wgs_to_gcj(lon: float, lat: float) -> tuple[float, float]:
    """Scalar WGS-84 -> GCJ-02 with math, as in the widely copied snippets."""
    if not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271):
        return lon, lat
    x, y, pi = lon - 105.0, lat - 35.0, math.pi
    ret_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret_lat += (20.0 * math.sin(6.0 * x * pi) + 20.0 * math.sin(2.0 * x * pi)) * 2.0 / 3.0
    ret_lat += (20.0 * math.sin(y * pi) + 40.0 * math.sin(y / 3.0 * pi)) * 2.0 / 3.0
    ret_lat += (160.0 * math.sin(y / 12.0 * pi) + 320 * math.sin(y * pi / 30.0)) * 2.0 / 3.0
    ret_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret_lon += (20.0 * math.sin(6.0 * x * pi) + 20.0 * math.sin(2.0 * x * pi)) * 2.0 / 3.0
    ret_lon += (20.0 * math.sin(x * pi) + 40.0 * math.sin(x / 3.0 * pi)) * 2.0 / 3.0
    ret_lon += (150.0 * math.sin(x / 12.0 * pi) + 300.0 * math.sin(x / 30.0 * pi)) * 2.0 / 3.0
    a, ee = 6378245.0, 0.00669342162296594323
    rad_lat = lat / 180.0 * pi
    magic = 1 - ee * math.sin(rad_lat) ** 2
    dlat = (ret_lat * 180.0) / ((a * (1 - ee)) / (magic * math.sqrt(magic)) * pi)
    dlon = (ret_lon * 180.0) / (a / math.sqrt(magic) * math.cos(rad_lat) * pi)
    return lon + dlon, lat + dlat


def _ref_gcj_to_bd(lon: float, lat: float) -> tuple[float, float]:
    """Scalar GCJ-02 -> BD-09 with math."""
    x_pi = math.pi * 3000.0 / 180.0
    z = math.sqrt(lon * lon + lat * lat) + 0.00002 * math.sin(lat * x_pi)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * x_pi)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def _random_china(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(73.0, 135.0, n), rng.uniform(18.0, 53.0, n)


# --- forward formulas -----------------------------------------------------------------


def test_forward_matches_scalar_reference() -> None:
    lon, lat = _random_china(300, seed=1)
    lon[:5], lat[:5] = [139.69, -0.13, 151.21, 60.0, 100.0], [35.69, 51.51, -33.87, 30.0, 0.5]
    gcj = wgs84_to_gcj02(lon, lat)
    bd = gcj02_to_bd09(*gcj)
    ref_gcj = np.array([_ref_wgs_to_gcj(x, y) for x, y in zip(lon, lat)]).T
    ref_bd = np.array([_ref_gcj_to_bd(x, y) for x, y in zip(*ref_gcj)]).T
    np.testing.assert_allclose(np.array(gcj), ref_gcj, rtol=0, atol=1e-9)
    np.testing.assert_allclose(np.array(bd), ref_bd, rtol=0, atol=1e-9)
    np.testing.assert_allclose(np.array(wgs84_to_bd09(lon, lat)), ref_bd, rtol=0, atol=1e-9)


@pytest.mark.parametrize(
    ("wgs", "gcj"),
    [  # googollee/eviltransform go/transform_test.go (lat, lng swapped to lon, lat)
        ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),  # Shanghai
        ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),  # Shenzhen
        ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),  # Beijing
        # wandergis/coordtransform README, input (116.404, 39.915)
        ((116.404, 39.915), (116.41024449916938, 39.91640428150164)),
    ],
)
def test_published_wgs84_to_gcj02_pairs(wgs: tuple[float, float], gcj: tuple[float, float]) -> None:
    np.testing.assert_allclose(wgs84_to_gcj02(*wgs), gcj, rtol=0, atol=1e-9)


def test_published_gcj02_to_bd09_pair() -> None:
    # wandergis/coordtransform README: gcj02tobd09(116.404, 39.915)
    np.testing.assert_allclose(gcj02_to_bd09(116.404, 39.915), (116.41036949371029, 39.92133699351021), atol=1e-9)


def test_published_one_step_inverses_are_off_and_ours_are_exact() -> None:
    # wandergis/coordtransform README prints the one-step inverses of (116.404, 39.915)
    one_step_wgs = (116.39775550083061, 39.91359571849836)
    one_step_gcj = (116.39762729119315, 39.90865673957631)
    assert offset_m(116.404, 39.915, *wgs84_to_gcj02(*one_step_wgs)) > 0.05
    assert offset_m(116.404, 39.915, *gcj02_to_bd09(*one_step_gcj)) > 0.04
    np.testing.assert_allclose(wgs84_to_gcj02(*gcj02_to_wgs84(116.404, 39.915)), (116.404, 39.915), atol=1e-10)
    np.testing.assert_allclose(gcj02_to_bd09(*bd09_to_gcj02(116.404, 39.915)), (116.404, 39.915), atol=1e-10)


# --- inverses ---------------------------------------------------------------------------


def test_round_trips_over_china_within_a_centimetre() -> None:
    lon, lat = _random_china(10_000, seed=20240601)
    gcj_error_m = offset_m(lon, lat, *gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))).max()
    bd_error_m = offset_m(lon, lat, *bd09_to_wgs84(*wgs84_to_bd09(lon, lat))).max()
    bd_gcj_error_m = offset_m(lon, lat, *bd09_to_gcj02(*gcj02_to_bd09(lon, lat))).max()
    assert gcj_error_m < 0.01
    assert bd_error_m < 0.01
    assert bd_gcj_error_m < 0.01


def test_naive_one_step_inverse_is_off_by_metres() -> None:
    """The popular inverse g - (f(g) - g) would fail the 1 m bound: the test has teeth."""
    lon, lat = _random_china(10_000, seed=20240601)
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    f_lon, f_lat = wgs84_to_gcj02(g_lon, g_lat)
    naive_error_m = offset_m(lon, lat, 2 * g_lon - f_lon, 2 * g_lat - f_lat)
    assert naive_error_m.max() > 1.0


def test_inverse_reports_non_convergence() -> None:
    with pytest.raises(CRSError, match=r"did not converge in max_iter=0 .*raise max_iter or tol_deg"):
        gcj02_to_wgs84(114.3, 30.6, max_iter=0)


def test_gcj_offset_in_wuhan_is_a_few_hundred_metres() -> None:
    lon, lat = np.meshgrid(np.linspace(113.7, 115.08, 30), np.linspace(29.97, 31.36, 30))
    shift_m = offset_m(lon, lat, *wgs84_to_gcj02(lon, lat))
    assert 300.0 < shift_m.min() and shift_m.max() < 700.0


def test_outside_china_unchanged_by_gcj02() -> None:
    lon = np.array([139.6917, -0.1276, 151.2093, -74.006, 71.9])  # Tokyo London Sydney NYC
    lat = np.array([35.6895, 51.5072, -33.8688, 40.7128, 30.0])
    for fn in (wgs84_to_gcj02, gcj02_to_wgs84):
        out_lon, out_lat = fn(lon, lat)
        np.testing.assert_array_equal(out_lon, lon)
        np.testing.assert_array_equal(out_lat, lat)


@pytest.mark.parametrize(
    "fn", [wgs84_to_gcj02, gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02, wgs84_to_bd09, bd09_to_wgs84]
)
def test_nan_passes_through_without_warnings(fn: Callable[..., tuple[np.ndarray, np.ndarray]]) -> None:
    out_lon, out_lat = fn([np.nan, 114.3, 114.3], [30.6, np.nan, 30.6])
    assert np.isnan(out_lon[0]) and np.isnan(out_lat[1])
    assert np.isfinite(out_lon[2]) and np.isfinite(out_lat[2])


def test_shapes_and_dtypes() -> None:
    lon, lat = wgs84_to_gcj02(114, 30)
    assert lon.shape == () and lon.dtype == np.float64 and lat.dtype == np.float64
    lon, lat = bd09_to_wgs84(np.full((2, 3), 114.3), 30.6)
    assert lon.shape == (2, 3) and lat.shape == (2, 3)
    lon, lat = gcj02_to_wgs84([], [])
    assert lon.shape == (0,)


# --- parse_crs and to_wgs84 ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "EPSG:4326"),
        ("wgs84", "EPSG:4326"),
        ("WGS84", "EPSG:4326"),
        ("WGS-84", "EPSG:4326"),
        ("EPSG:4326", "EPSG:4326"),
        ("epsg:4326", "EPSG:4326"),
        (4326, "EPSG:4326"),
        ("4326", "EPSG:4326"),
        ("gcj02", "gcj02"),
        ("GCJ-02", "gcj02"),
        ("gcj", "gcj02"),
        ("bd09", "bd09"),
        ("BD-09", "bd09"),
        ("baidu", "bd09"),
        ("CGCS2000", "EPSG:4490"),
        (4490, "EPSG:4490"),
        (4547, "EPSG:4547"),
        ("EPSG:32650", "EPSG:32650"),
    ],
)
def test_parse_crs_accepted_forms(value: str | int | None, expected: str) -> None:
    assert parse_crs(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("mars", "unknown CRS 'mars'; use an EPSG code such as 4326 or 4490, or gcj02 / bd09"),
        (4326.0, "unknown CRS 4326.0; use an EPSG code such as 4326 or 4490, or gcj02 / bd09"),
        (True, "unknown CRS True; use an EPSG code such as 4326 or 4490, or gcj02 / bd09"),
        ("EPSG:999999", "unknown EPSG code in CRS 'EPSG:999999'; use an EPSG code such as 4326"),
        (1234, "unknown EPSG code in CRS 1234; use an EPSG code such as 4326 or 4490, or gcj02 / bd09"),
    ],
)
def test_parse_crs_rejects_with_the_fix(value: object, message: str) -> None:
    with pytest.raises(CRSError) as info:
        parse_crs(value)  # type: ignore[arg-type]
    assert str(info.value).startswith(message)


def test_to_wgs84_dispatch() -> None:
    lon, lat = np.array([114.3, 116.4]), np.array([30.6, 39.9])
    out_lon, _ = to_wgs84(lon, lat, 4326)
    out_lon[0] = 0.0
    assert lon[0] == 114.3  # a copy, not a view
    np.testing.assert_array_equal(to_wgs84(lon, lat, "CGCS2000"), (lon, lat))
    np.testing.assert_array_equal(to_wgs84(lon, lat, "gcj02"), gcj02_to_wgs84(lon, lat))
    np.testing.assert_array_equal(to_wgs84(lon, lat, "baidu"), bd09_to_wgs84(lon, lat))


def test_projected_utm_round_trip_against_pyproj() -> None:
    lon, lat = np.array([114.305, 116.397, 117.0]), np.array([30.593, 39.916, 0.0])
    x, y = pyproj.Transformer.from_crs(4326, 32650, always_xy=True).transform(lon, lat)
    np.testing.assert_allclose(to_wgs84(x, y, 32650), (lon, lat), rtol=0, atol=1e-9)
    # hand fixtures: the central meridian on the equator is (500000 m, 0 m)
    np.testing.assert_allclose(to_wgs84(500_000.0, 0.0, "EPSG:32650"), (117.0, 0.0), atol=1e-12)
    np.testing.assert_allclose(to_wgs84(500_000.0, 0.0, 4547), (114.0, 0.0), atol=1e-12)


# --- geometries, utm_epsg, offset_m ------------------------------------------------------


def test_geometries_to_wgs84_converts_every_vertex() -> None:
    square = shapely.box(114.3, 30.5, 114.4, 30.6)
    line = shapely.LineString([(116.404, 39.915), (116.41, 39.92)])
    out = geometries_to_wgs84([square, line, None, shapely.Point()], "bd09")
    assert isinstance(out, np.ndarray) and out[2] is None and out[3].is_empty
    for before, after in zip([square, line], out[:2]):
        coords = shapely.get_coordinates(before)
        expected = np.column_stack(bd09_to_wgs84(coords[:, 0], coords[:, 1]))
        np.testing.assert_allclose(shapely.get_coordinates(after), expected, rtol=0, atol=1e-12)
        assert after.geom_type == before.geom_type
    unchanged = geometries_to_wgs84(np.array([square]), 4326)
    assert unchanged[0].equals_exact(square, 0.0)


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [(114.3, 30.6, 32650), (116.4, 39.9, 32650), (87.6, 43.8, 32645), (121.5, 31.2, 32651),
     (-70.65, -33.45, 32719), (180.0, 10.0, 32660), (-180.0, 10.0, 32601), (0.0, 0.0, 32631)],
)
def test_utm_epsg(lon: float, lat: float, epsg: int) -> None:
    assert utm_epsg(lon, lat) == epsg


def test_utm_epsg_rejects_swapped_axes() -> None:
    with pytest.raises(CRSError, match=r"point \(lon=30.6, lat=114.3\) is outside UTM .* lon first"):
        utm_epsg(30.6, 114.3)


def test_offset_m_hand_values() -> None:
    # one degree of a great circle on R = 6,371,008.8 m is R * pi / 180 = 111,195.080 m
    np.testing.assert_allclose(offset_m(114.0, 30.0, 114.0, 31.0), 111_195.080, atol=1e-3)
    np.testing.assert_allclose(offset_m(0.0, 0.0, 1.0, 0.0), 111_195.080, atol=1e-3)
    np.testing.assert_allclose(offset_m([114.0, np.nan], 30.0, 114.0, 30.0), [0.0, np.nan])


# --- real data ----------------------------------------------------------------------------


@pytest.mark.realdata
@pytest.mark.parametrize("city", ["wuhan", "changsha", "yueyang"])
def test_districts_match_published_wgs84_copy(city: str) -> None:
    """Wuhan (and the other two seed cities) vertex by vertex within 0.5 m."""
    if not AMAP_DIR.is_dir():
        pytest.skip(f"real data not found at {AMAP_DIR} (../shared/realdata is absent)")
    import geopandas as gpd

    gcj = gpd.read_file(AMAP_DIR / f"{city}_districts_gcj02.geojson")
    wgs = gpd.read_file(AMAP_DIR / f"{city}_districts_wgs84_converted.geojson")
    assert list(gcj["adcode"]) == list(wgs["adcode"])
    converted = geometries_to_wgs84(gcj.geometry, "gcj02")
    vertex_counts = shapely.get_num_coordinates(wgs.geometry.values)
    np.testing.assert_array_equal(shapely.get_num_coordinates(converted), vertex_counts)
    ours, theirs = shapely.get_coordinates(converted), shapely.get_coordinates(wgs.geometry.values)
    assert offset_m(ours[:, 0], ours[:, 1], theirs[:, 0], theirs[:, 1]).max() < 0.5
    original = shapely.get_coordinates(gcj.geometry.values)
    assert offset_m(original[:, 0], original[:, 1], theirs[:, 0], theirs[:, 1]).min() > 300.0
