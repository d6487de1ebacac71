"""Tests of grid.h3index against h3-py 4.x, pyproj.Geod and shapely in UTM."""

from __future__ import annotations

import h3
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from grid.errors import CRSError
from grid.h3index import (
    cells_area_m2,
    cells_from_parts,
    cells_to_polygons,
    points_to_cells,
    polygons_to_cells,
    spread_counts,
)

RES = 10
GEOD = pyproj.Geod(ellps="WGS84")
UTM50 = pyproj.Proj("EPSG:32650")  # Wuhan lies in UTM zone 50N
UTM_TO_LONLAT = pyproj.Transformer.from_crs("EPSG:32650", "EPSG:4326", always_xy=True)
LONLAT_TO_UTM = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32650", always_xy=True)
E0, N0 = 240_000.0, 3_381_000.0  # a point in Wuhan (about 114.29 E, 30.53 N), UTM metres


# --------------------------------------------------------------------------- helpers


def _h3_int(lat: float, lon: float, res: int) -> int:
    return h3.str_to_int(h3.latlng_to_cell(lat, lon, res))


def _to_lonlat(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(geom, lambda xy: np.column_stack(UTM_TO_LONLAT.transform(xy[:, 0], xy[:, 1])))


def _to_utm(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(geom, lambda xy: np.column_stack(LONLAT_TO_UTM.transform(xy[:, 0], xy[:, 1])))


def _geodesic_area_m2(geom: shapely.Geometry) -> float:
    """Ellipsoidal area; exterior rings counter-clockwise so pyproj subtracts the holes."""
    return GEOD.geometry_area_perimeter(shapely.orient_polygons(geom))[0]


def _square(e: float, n: float, side_m: float) -> shapely.Polygon:
    """An axis-aligned square in UTM 50N with its south-west corner at (e, n), in lon/lat."""
    return _to_lonlat(shapely.box(e, n, e + side_m, n + side_m))


def _circle() -> shapely.Polygon:
    return _to_lonlat(shapely.Point(E0 + 3_000, N0).buffer(600.0, quad_segs=16))  # ~1.13 km²


def _holed() -> shapely.Polygon:
    outer = shapely.box(E0, N0 + 3_000, E0 + 1_500, N0 + 4_500)
    hole = shapely.box(E0 + 500, N0 + 3_500, E0 + 1_000, N0 + 4_000)
    return _to_lonlat(outer.difference(hole))


def _multi() -> shapely.MultiPolygon:
    return _to_lonlat(
        shapely.MultiPolygon(
            [
                shapely.box(E0 + 3_000, N0 + 3_000, E0 + 3_800, N0 + 3_800),
                shapely.box(E0 + 4_500, N0 + 3_100, E0 + 5_100, N0 + 4_000),
            ]
        )
    )


CASES = {
    "square": _square(E0, N0, 1_000.0),
    "circle": _circle(),
    "holed": _holed(),
    "multi": _multi(),
}


@pytest.fixture(scope="module")
def parts() -> pd.DataFrame:
    return polygons_to_cells(list(CASES.values()), list(CASES), RES)


# --------------------------------------------------------------------------- points


@pytest.mark.parametrize("res", [RES, 7])
def test_points_to_cells_equal_h3(res: int) -> None:
    rng = np.random.default_rng(42)
    lon = np.concatenate([rng.uniform(113.7, 115.1, 100_000), rng.uniform(-180, 180, 5_000), [180.0, -180.0, 0.0, 0.0]])
    lat = np.concatenate([rng.uniform(29.9, 31.4, 100_000), rng.uniform(-90, 90, 5_000), [0.0, 0.0, 90.0, -90.0]])
    got = points_to_cells(lon, lat, res)
    want = np.array([_h3_int(y, x, res) for x, y in zip(lon, lat)], dtype=np.uint64)
    assert got.dtype == np.uint64
    np.testing.assert_array_equal(got, want)


def test_points_to_cells_invalid_give_zero() -> None:
    lon = np.array([114.3, np.nan, 114.3, 114.3, 180.5, -200.0, np.inf, 114.3])
    lat = np.array([30.5, 30.5, np.nan, 91.0, 30.5, 30.5, 30.5, -np.inf])
    got = points_to_cells(lon, lat, RES)
    assert got[0] == _h3_int(30.5, 114.3, RES)
    np.testing.assert_array_equal(got[1:], 0)
    np.testing.assert_array_equal(points_to_cells(lon[1:3], lat[1:3], RES), [0, 0])


def test_points_to_cells_keeps_shape_and_empty() -> None:
    lon = np.array([[114.3, 114.4], [114.5, np.nan]])
    lat = np.array([[30.5, 30.6], [30.7, 30.8]])
    got = points_to_cells(lon, lat, 9)
    assert got.shape == (2, 2)
    assert got[1, 0] == _h3_int(30.7, 114.5, 9) and got[1, 1] == 0
    assert points_to_cells(np.array([]), np.array([]), 9).shape == (0,)


def test_points_to_cells_refuses_bad_res() -> None:
    with pytest.raises(ValueError, match=r"res must be an integer H3 resolution 0..15; got 16"):
        points_to_cells(np.array([114.3]), np.array([30.5]), 16)


# --------------------------------------------------------------------------- cells


def test_cells_area_m2_equals_h3() -> None:
    rng = np.random.default_rng(7)
    cells = [h3.str_to_int(c) for c in h3.get_res0_cells()]  # includes the 12 pentagons
    for res in (5, 10, 15):
        cells += [_h3_int(y, x, res) for x, y in zip(rng.uniform(-180, 180, 200), rng.uniform(-89, 89, 200))]
    cells_arr = np.array(cells, dtype=np.uint64)
    want = np.array([h3.cell_area(h3.int_to_str(c), unit="m^2") for c in cells])
    # h3o (behind h3ronpy) and h3's C code round differently: ~1e-12 at res 5, ~5e-8 at res 15
    np.testing.assert_allclose(cells_area_m2(cells_arr), want, rtol=1e-7)
    assert np.isnan(cells_area_m2(np.array([0], dtype=np.uint64))[0])


def test_cells_to_polygons_match_h3_boundary() -> None:
    cells = points_to_cells(np.array([114.3, -70.0, 10.0]), np.array([30.5, -33.0, 60.0]), RES)
    polys = cells_to_polygons(np.append(cells, np.uint64(0)))
    for cell, poly in zip(cells, polys[:3]):
        want = np.array([(lng, lat) for lat, lng in h3.cell_to_boundary(h3.int_to_str(cell))])
        got = np.asarray(poly.exterior.coords)[:-1]
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=1e-9)
    assert polys[3] is None


# --------------------------------------------------------------------------- polygons_to_cells


def test_parts_columns_and_dtypes(parts: pd.DataFrame) -> None:
    assert list(parts.columns) == ["id", "h3", "area_m2", "area_share"]
    assert parts["h3"].dtype == np.uint64
    assert list(pd.unique(parts["id"])) == list(CASES)
    assert not parts.duplicated(["id", "h3"]).any()


@pytest.mark.parametrize("name", list(CASES))
def test_parts_area_sums_to_geodesic_area(parts: pd.DataFrame, name: str) -> None:
    got = parts.loc[parts["id"] == name, "area_m2"].sum()
    assert got == pytest.approx(_geodesic_area_m2(CASES[name]), rel=5e-3)
    assert got == pytest.approx(_geodesic_area_m2(CASES[name]), rel=1e-5)  # what the method achieves


def test_parts_shares_in_unit_interval(parts: pd.DataFrame) -> None:
    assert (parts["area_share"] > 0).all() and (parts["area_share"] <= 1).all()
    assert (parts["area_m2"] >= 0.01).all()


@pytest.mark.parametrize("name", list(CASES))
def test_parts_cells_wholly_inside(parts: pd.DataFrame, name: str) -> None:
    mine = parts[parts["id"] == name]
    polys = cells_to_polygons(mine["h3"].to_numpy())
    inside = shapely.within(polys, CASES[name])
    assert inside.sum() > 10
    geodesic = np.array([_geodesic_area_m2(p) for p in polys[inside]])
    np.testing.assert_allclose(mine["area_share"].to_numpy()[inside], 1.0, atol=1e-3)
    np.testing.assert_allclose(mine["area_m2"].to_numpy()[inside], geodesic, rtol=1e-3)


@pytest.mark.parametrize("name", list(CASES))
def test_parts_include_centre_cells_and_all_intersecting(parts: pd.DataFrame, name: str) -> None:
    geom = CASES[name]
    got = set(parts.loc[parts["id"] == name, "h3"].to_numpy().tolist())
    centre_inside = {h3.str_to_int(c) for c in h3.geo_to_cells(geom, RES)}
    assert centre_inside and centre_inside <= got
    # cells whose boundary crosses the polygon but whose centre is outside appear too
    ring = {h3.str_to_int(n) for c in centre_inside for n in h3.grid_disk(h3.int_to_str(c), 2)}
    ring_arr = np.array(sorted(ring), dtype=np.uint64)
    overlap_m2 = shapely.area(shapely.intersection(_to_utm_array(cells_to_polygons(ring_arr)), _to_utm(geom)))
    assert set(ring_arr[overlap_m2 > 1.0].tolist()) <= got
    assert len(got - centre_inside) > 0


def _to_utm_array(polys: np.ndarray) -> np.ndarray:
    return shapely.transform(polys, lambda xy: np.column_stack(LONLAT_TO_UTM.transform(xy[:, 0], xy[:, 1])))


def test_parts_exclude_far_cells_and_hole(parts: pd.DataFrame) -> None:
    holed = parts.loc[parts["id"] == "holed", "h3"].to_numpy()
    hole_centre = _to_lonlat(shapely.Point(E0 + 750, N0 + 3_750))
    far = _to_lonlat(shapely.Point(E0 + 750, N0 + 8_000))
    assert points_to_cells(np.array([hole_centre.x]), np.array([hole_centre.y]), RES)[0] not in holed
    assert points_to_cells(np.array([far.x]), np.array([far.y]), RES)[0] not in parts["h3"].to_numpy()


def test_parts_match_shapely_in_utm(parts: pd.DataFrame) -> None:
    """Independent reference: intersection in UTM 50N, divided by UTM's areal scale at the cell."""
    mine = parts[(parts["id"] == "circle") & (parts["area_share"] < 0.9)].head(12)
    assert len(mine) == 12
    cells_utm = _to_utm_array(cells_to_polygons(mine["h3"].to_numpy()))
    piece_utm = shapely.area(shapely.intersection(cells_utm, _to_utm(CASES["circle"])))
    centre = _to_lonlat(shapely.centroid(cells_utm))
    scale = UTM50.get_factors(shapely.get_x(centre), shapely.get_y(centre)).areal_scale
    # slivers differ by ~1e-4 m² because straight UTM and straight LAEA edges bend apart slightly
    np.testing.assert_allclose(mine["area_m2"].to_numpy(), piece_utm / scale, rtol=1e-4, atol=1e-3)
    cell_geodesic = np.array([_geodesic_area_m2(p) for p in cells_to_polygons(mine["h3"].to_numpy())])
    np.testing.assert_allclose(mine["area_share"].to_numpy(), piece_utm / scale / cell_geodesic, rtol=1e-4, atol=1e-7)


def test_adjacent_polygons_shares_add_to_one() -> None:
    west, east = _square(E0, N0, 1_000.0), _square(E0 + 1_000.0, N0, 1_000.0)
    both = polygons_to_cells([west, east], [1, 2], RES)
    shared = both.groupby("h3").filter(lambda g: len(g) == 2)
    union = shapely.union(west, east)
    within = shapely.within(cells_to_polygons(shared["h3"].to_numpy()), union)
    sums = shared[within].groupby("h3")["area_share"].sum()
    assert len(sums) >= 5
    np.testing.assert_allclose(sums.to_numpy(), 1.0, atol=1e-9)


def test_polygons_to_cells_accepts_geoseries_and_empty() -> None:
    gpd = pytest.importorskip("geopandas")
    gs = gpd.GeoSeries([CASES["square"], shapely.Polygon()], crs="EPSG:4326")
    got = polygons_to_cells(gs, ["a", "b"], RES)
    assert set(got["id"]) == {"a"}
    with pytest.raises(CRSError, match=r"projected CRS .*; pass WGS-84 lon/lat, e.g. geoms.to_crs\(4326\)"):
        polygons_to_cells(gs.to_crs("EPSG:32650"), ["a", "b"], RES)
    none = polygons_to_cells([shapely.Polygon()], ["x"], RES)
    assert none.empty and list(none.columns) == ["id", "h3", "area_m2", "area_share"]


def test_polygons_to_cells_refuses_bad_input() -> None:
    with pytest.raises(CRSError, match=r"coordinates outside lon/lat range .*pass WGS-84 degrees"):
        polygons_to_cells([shapely.box(E0, N0, E0 + 10, N0 + 10)], [1], RES)
    with pytest.raises(ValueError, match=r"ids has 2 values but geoms has 1"):
        polygons_to_cells([CASES["square"]], [1, 2], RES)
    with pytest.raises(ValueError, match=r"geoms\[0\] is .*not a Polygon/MultiPolygon"):
        polygons_to_cells([shapely.Point(114.3, 30.5)], [1], RES)
    bowtie = shapely.Polygon([(114.30, 30.50), (114.31, 30.51), (114.31, 30.50), (114.30, 30.51)])
    with pytest.raises(ValueError, match=r"invalid polygons; repair them with shapely.make_valid"):
        polygons_to_cells([bowtie], [1], RES)


# --------------------------------------------------------------------------- cells_from_parts


def test_cells_from_parts_hand_example() -> None:
    parts = pd.DataFrame(
        {
            "id": [7, 3, 5, 9, 2, 4],
            "h3": np.array([30, 10, 10, 20, 20, 40], dtype=np.uint64),
            "area_share": [1.0, 0.4, 0.6, 0.5, 0.5, 0.2],
        }
    )
    got = cells_from_parts(parts)
    assert got["h3"].tolist() == [10, 20, 30, 40]
    assert got["id"].tolist() == [5, 2, 7, 4]  # 20: tie 0.5/0.5 -> smallest id 2
    assert got["area_share"].tolist() == [0.6, 0.5, 1.0, 0.2]
    with pytest.raises(ValueError, match=r"parts lacks columns \['area_share'\]"):
        cells_from_parts(parts.drop(columns="area_share"))


# --------------------------------------------------------------------------- spread_counts


def test_spread_counts_hand_examples() -> None:
    # 10 over 1, 1, 1: quotas 3.33 each, the left-over unit goes to the earliest row
    np.testing.assert_array_equal(spread_counts(np.array([1, 1, 1]), np.array([1.0, 1, 1]), {1: 10}), [4, 3, 3])
    # 7 over 0.5, 0.3, 0.2: quotas 3.5, 2.1, 1.4 -> floors 3, 2, 1; remainders .5 > .4 > .1
    np.testing.assert_array_equal(spread_counts(np.array(["a"] * 3), np.array([0.5, 0.3, 0.2]), {"a": 7}), [4, 2, 1])
    # exact quotas stay exact: 4 over 2, 1, 1, 0
    np.testing.assert_array_equal(spread_counts(np.array([1, 1, 1, 1]), np.array([2.0, 1, 1, 0]), {1: 4}), [2, 1, 1, 0])


def test_spread_counts_zero_weights_missing_and_nan_totals() -> None:
    ids = np.array(["z", "z", "z", "m", "n", "n"])
    weights = np.array([0.0, 0.0, np.nan, 1.0, 1.0, 3.0])
    totals = pd.Series({"z": 5, "n": np.nan})  # "m" missing, "n" NaN
    got = spread_counts(ids, weights, totals)
    np.testing.assert_array_equal(got, [2, 2, 1, 0, 0, 0])
    assert got.dtype == np.int64


def test_spread_counts_exact_sums_random() -> None:
    rng = np.random.default_rng(3)
    ids = rng.integers(0, 1_000, 20_000)
    weights = rng.exponential(1.0, ids.size) * (rng.random(ids.size) > 0.1)
    totals = dict(zip(range(1_000), rng.integers(0, 100_000, 1_000).tolist()))
    got = spread_counts(ids, weights, totals)
    sums = pd.Series(got).groupby(ids).sum()
    assert (got >= 0).all()
    np.testing.assert_array_equal(sums.to_numpy(), [totals[i] for i in sums.index])
    # each part is within one unit of its exact quota
    wsum = pd.Series(weights).groupby(ids).transform("sum").to_numpy()
    quota = np.array([totals[i] for i in ids]) * np.where(wsum > 0, weights / np.where(wsum > 0, wsum, 1), np.nan)
    ok = np.isfinite(quota)
    assert (np.abs(got[ok] - quota[ok]) < 1).all()


def test_spread_counts_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match=r"weights must be finite and >= 0; got -1.0 at row 1"):
        spread_counts(np.array([1, 1]), np.array([1.0, -1.0]), {1: 3})
    with pytest.raises(ValueError, match=r"total for id 1 is 2.5; totals must be non-negative integers"):
        spread_counts(np.array([1, 1]), np.array([1.0, 1.0]), {1: 2.5})
