"""The demo city's coordinate frame: a plan in metres, warped so streets curve, placed near Wuhan.

Everything is laid out on a *plan*: axis-aligned lines and rectangles in metres
(``u`` east, ``v`` north, origin at the district centre). A smooth, invertible
warp then bends the plan: a shear that makes the river meander, gentle
long-wave noise, and a twist around the old town (so its streets run at an
angle to the rest). Because one warp moves every feature, shared vertices stay
shared and topology made on the plan survives exactly.

Warped metres are CGCS2000 / 3-degree Gauss-Kruger CM 114E (EPSG:4547) offsets
from the district centre near 114.27 E, 30.60 N; WGS-84 degrees come from
:func:`grid.crs.to_wgs84`, the same conversion the ingestion applies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyproj
import shapely

from grid.crs import to_wgs84

__all__ = ["CENTRE_LON", "CENTRE_LAT", "PROJECTED_CRS", "Warp", "make_warp", "warp_points", "plan_to_projected",
           "plan_to_lonlat", "plan_geometries_to", "round_plan"]

CENTRE_LON = 114.27
CENTRE_LAT = 30.60
PROJECTED_CRS = "EPSG:4547"  # CGCS2000 / 3-degree Gauss-Kruger CM 114E, as Wuhan's planning bureau uses

_TWIST_RAD = 0.33
_TWIST_RADIUS_M = 1300.0
_SHEAR_AMP_M = 230.0
_SHEAR_WAVELENGTH_M = 4800.0
_NOISE_AMP_M = (25.0, 40.0)
_NOISE_WAVELENGTH_M = (2200.0, 4200.0)


@dataclass(frozen=True)
class Warp:
    """Smooth invertible plan-to-metres distortion (see the module docstring).

    Attributes
    ----------
    shear_phase : phase (rad) of the river-following shear ``v += A sin(2 pi u / L + phase)``.
    noise : (k, 5) rows ``amp_m, kx, ky, phase, axis`` of the long-wave noise (axis 0: x, 1: y).
    twist_u, twist_v : plan centre of the old-town twist (m).
    twist_rad : rotation at the twist centre (radians), fading as exp(-(r/R)^2).
    """

    shear_phase: float
    noise: np.ndarray
    twist_u: float
    twist_v: float
    twist_rad: float = _TWIST_RAD


def make_warp(rng: np.random.Generator, *, twist_u: float, twist_v: float) -> Warp:
    """A random warp with the old-town twist centred at plan point (``twist_u``, ``twist_v``) in metres."""
    rows = []
    for axis in (0, 1):
        for _ in range(3):
            amp = rng.uniform(*_NOISE_AMP_M)
            wavelength = rng.uniform(*_NOISE_WAVELENGTH_M)
            angle = rng.uniform(0, np.pi)
            k = 2 * np.pi / wavelength
            rows.append((amp, k * np.cos(angle), k * np.sin(angle), rng.uniform(0, 2 * np.pi), axis))
    return Warp(shear_phase=float(rng.uniform(0, 2 * np.pi)), noise=np.array(rows),
                twist_u=float(twist_u), twist_v=float(twist_v))


def warp_points(warp: Warp, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Plan metres (``u``, ``v``) to warped metres (x east, y north) from the district centre."""
    u = np.asarray(u, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    x = u.copy()
    y = v + _SHEAR_AMP_M * np.sin(2 * np.pi * u / _SHEAR_WAVELENGTH_M + warp.shear_phase)
    for amp, kx, ky, phase, axis in warp.noise:
        wave = amp * np.sin(kx * u + ky * v + phase)
        if axis == 0:
            x = x + wave
        else:
            y = y + wave
    return _twist(warp, x, y)


def _twist(warp: Warp, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotate each circle around the twist centre by an angle fading with radius (area-preserving)."""
    dx, dy = x - warp.twist_u, y - warp.twist_v
    theta = warp.twist_rad * np.exp(-(dx * dx + dy * dy) / _TWIST_RADIUS_M ** 2)
    cos, sin = np.cos(theta), np.sin(theta)
    return warp.twist_u + cos * dx - sin * dy, warp.twist_v + sin * dx + cos * dy


def _centre_projected() -> tuple[float, float]:
    forward = pyproj.Transformer.from_crs("EPSG:4326", PROJECTED_CRS, always_xy=True)
    east, north = forward.transform(CENTRE_LON, CENTRE_LAT)
    return round(float(east), 1), round(float(north), 1)


_CENTRE_EN = _centre_projected()


def plan_to_projected(warp: Warp, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Plan metres to EPSG:4547 easting/northing (m)."""
    x, y = warp_points(warp, u, v)
    return x + _CENTRE_EN[0], y + _CENTRE_EN[1]


def plan_to_lonlat(warp: Warp, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Plan metres to WGS-84 longitude/latitude (degrees)."""
    east, north = plan_to_projected(warp, u, v)
    return to_wgs84(east, north, PROJECTED_CRS)


def plan_geometries_to(geoms: np.ndarray, warp: Warp, *, target: str, max_segment_m: float = 10.0) -> np.ndarray:
    """Plan geometries densified to ``max_segment_m`` and warped into ``target``: 'lonlat' or 'projected'.

    Densifying first keeps long straight plan edges on the curved streets they follow.
    """
    dense = shapely.segmentize(np.asarray(geoms, dtype=object), max_segment_m)
    convert = plan_to_lonlat if target == "lonlat" else plan_to_projected

    def transform(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return convert(warp, u, v)

    return shapely.transform(dense, transform, interleaved=False)


def round_plan(values: np.ndarray | float) -> np.ndarray:
    """Plan coordinates rounded to 0.1 m (the plan's grid, so equal points compare equal)."""
    return np.round(np.asarray(values, dtype=np.float64) * 10.0) / 10.0
