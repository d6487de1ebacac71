"""Residents of the demo district: households per building, communities (社区), sub-districts (街道),
grids (网格) and one grid manager (网格员) per grid.

Households come from residential floor area and are scaled so the district
holds the target population (the new development keeps its own count). A
community is a set of whole blocks (so its boundary runs along streets) chosen
by recursive bisection on household counts within one side of the river and
railway; grids split a community the same way by buildings, so every grid
holds 150-500 households.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from grid.demo.blocks import raw_households
from grid.demo.layout import Layout
from grid.demo.names import DISTRICT, NamePool, mobile_numbers, person_names

__all__ = ["People", "assign_households", "make_people", "bisect", "PEOPLE_PER_SCALE", "COUNTY_CODE"]

PEOPLE_PER_SCALE = 250_000
"""Residents of the default district (scale 1)."""

COUNTY_CODE = "420199"
"""Made-up county-level code in Wuhan's 4201 range for the demo district (not a real code)."""

_MEAN_HOUSEHOLD_SIZE = 2.72
_COMMUNITY_HOUSEHOLDS = (2000, 4500)
_COMMUNITY_TARGET = 3100
_GRID_HOUSEHOLDS = (150, 500)
_GRID_TARGET = 360
_HOUSEHOLD_SIZE = {"lilong": 2.35, "walkup": 2.45, "old_compound": 2.5, "compound": 2.8, "midrise": 2.7,
                   "edge": 2.85, "new_compound": 2.95}
_SHARE_65PLUS = {"lilong": 0.25, "walkup": 0.23, "old_compound": 0.21, "compound": 0.12, "midrise": 0.15,
                 "edge": 0.14, "new_compound": 0.07}


@dataclass
class People:
    """Communities, grids and managers (plan geometries), with each block's community."""

    communities: pd.DataFrame
    grids: pd.DataFrame
    managers: pd.DataFrame
    block_community: np.ndarray
    building_grid: np.ndarray


def assign_households(buildings: pd.DataFrame, blocks: pd.DataFrame, *, scale: float) -> np.ndarray:
    """Households per building (int): floor area scaled to the target; the new development unscaled."""
    raw = raw_households(buildings)
    block_type = blocks["type"].to_numpy()[buildings["block_id"].to_numpy()]
    fixed = block_type == "new_compound"
    target = PEOPLE_PER_SCALE * scale / _MEAN_HOUSEHOLD_SIZE - np.round(raw[fixed]).sum()
    factor = max(target, 0.0) / max(raw[~fixed].sum(), 1.0)
    households = np.where(fixed, raw, raw * factor)
    residential = (buildings["landuse"] == "residential").to_numpy()
    return np.where(residential, np.maximum(np.round(households), 1), 0).astype(np.int64)


def _split(x: np.ndarray, y: np.ndarray, w: np.ndarray, k: int,
           shape_penalty: float = 0.3) -> tuple[np.ndarray, int, float, int]:
    """Best cut of items into shares k//2 : k - k//2 of weight: (order, cut index, cut coordinate, axis).

    Cutting across the shorter side costs ``shape_penalty`` (relative weight error), keeping groups compact.
    """
    target = w.sum() * (k // 2) / k
    best: tuple[float, np.ndarray, int, float, int] | None = None
    spans = (np.ptp(x), np.ptp(y))
    for axis, coord in enumerate((x, y)):
        order = np.argsort(coord, kind="stable")
        cum = np.cumsum(w[order])
        i = int(np.searchsorted(cum, target))
        for c in (i - 1, i):
            if 0 <= c < len(x) - 1 and coord[order[c]] < coord[order[c + 1]]:
                error = abs(cum[c] - target) / max(target, 1.0) + (shape_penalty if spans[axis] < spans[1 - axis] else 0.0)
                if best is None or error < best[0]:
                    best = (error, order, c, float((coord[order[c]] + coord[order[c + 1]]) / 2), axis)
    if best is None:  # all items at one point: split by count
        order = np.arange(len(x))
        return order, max(0, len(x) // 2 - 1), float(x[0]), 0
    return best[1], best[2], best[3], best[4]


def bisect(x: np.ndarray, y: np.ndarray, w: np.ndarray, k: int, bounds: tuple[float, float, float, float],
           shape_penalty: float = 0.3) -> tuple[np.ndarray, list[tuple[float, float, float, float]]]:
    """Recursive coordinate bisection of weighted points into ``k`` groups of near-equal weight.

    Returns each point's group (0..k-1) and each group's rectangle (u0, u1, v0, v1) within ``bounds``.
    """
    labels = np.zeros(len(x), dtype=np.int64)
    if k <= 1 or len(x) < 2:
        return labels, [bounds]
    order, cut, at, axis = _split(x, y, w, k, shape_penalty)
    left, right = order[:cut + 1], order[cut + 1:]
    u0, u1, v0, v1 = bounds
    lb, rb = ((u0, at, v0, v1), (at, u1, v0, v1)) if axis == 0 else ((u0, u1, v0, at), (u0, u1, at, v1))
    l_labels, l_rects = bisect(x[left], y[left], w[left], k // 2, lb, shape_penalty)
    r_labels, r_rects = bisect(x[right], y[right], w[right], k - k // 2, rb, shape_penalty)
    labels[left], labels[right] = l_labels, r_labels + len(l_rects)
    return labels, l_rects + r_rects


def _zone_groups(layout: Layout, blocks: pd.DataFrame, households: np.ndarray) -> np.ndarray:
    """Zone of each block: river side x railway side, small zones merged across the railway.

    The new development's superblock is its own zone (it becomes one community).
    """
    cu = ((blocks["u0"] + blocks["u1"]) / 2).to_numpy()
    cv = ((blocks["v0"] + blocks["v1"]) / 2).to_numpy()
    north = (cv > layout.river_v).astype(np.int64)
    east = (cu > layout.rail_u).astype(np.int64)
    zone = north * 2 + east
    for side in (0, 1):
        pair = (zone == side * 2) | (zone == side * 2 + 1)
        totals = [households[zone == side * 2 + e].sum() for e in (0, 1)]
        if min(totals) < _COMMUNITY_HOUSEHOLDS[0]:
            zone[pair] = side * 2
    if min(households[zone == z].sum() for z in np.unique(zone)) < _COMMUNITY_HOUSEHOLDS[0]:
        zone[:] = 0
    zone[(blocks["sb_kind"] == "new_dev").to_numpy()] = 4
    return zone


def _community_count(total: float) -> int:
    n = max(1, int(round(total / _COMMUNITY_TARGET)))
    while n > 1 and total / n < _COMMUNITY_HOUSEHOLDS[0] + 150:
        n -= 1
    while total / n > _COMMUNITY_HOUSEHOLDS[1] - 300:
        n += 1
    return n


def _violation(sums: np.ndarray, low: float, high: float) -> float:
    return float(np.maximum(low - sums, 0).sum() + np.maximum(sums - high, 0).sum())


_STRATEGIES = tuple((k, penalty, angle) for k in (0, 1, -1, 2) for penalty in (0.3, 0.0)
                    for angle in (0.0, np.pi / 8, -np.pi / 8, np.pi / 4))
"""Bisections tried in order: (extra groups, shape penalty, rotation of the cutting axes)."""


def _rotated_cells(rects: list[tuple[float, float, float, float]], angle: float) -> list[shapely.Geometry]:
    """Rectangles of a rotated frame as plan polygons."""
    cos, sin = np.cos(angle), np.sin(angle)
    out = []
    for u0, u1, v0, v1 in rects:
        corners = np.array([(u0, v0), (u1, v0), (u1, v1), (u0, v1)])
        out.append(shapely.Polygon(np.stack([corners[:, 0] * cos - corners[:, 1] * sin,
                                             corners[:, 0] * sin + corners[:, 1] * cos], axis=1)))
    return out


def _partition(x: np.ndarray, y: np.ndarray, w: np.ndarray, base: int, limits: tuple[float, float],
               cover: shapely.Geometry) -> tuple[np.ndarray, list[shapely.Geometry]]:
    """Weighted points split into about ``base`` groups, every group well inside ``limits`` if possible.

    Bisections with neighbouring group counts, looser shapes and slightly rotated axes are
    tried in turn; the first that fits wins, else the one closest to fitting. Returns each
    point's group and each group's cell (plan polygons tiling ``cover``'s surroundings).
    """
    margin = 0.04 * (limits[1] - limits[0])
    inner = (limits[0] + margin, limits[1] - margin)
    outline = shapely.get_coordinates(shapely.envelope(cover))
    best = None
    for extra, penalty, angle in _STRATEGIES:
        k = base + extra
        if k < 1:
            continue
        cos, sin = np.cos(angle), np.sin(angle)
        xr, yr = x * cos + y * sin, -x * sin + y * cos
        ox, oy = outline[:, 0] * cos + outline[:, 1] * sin, -outline[:, 0] * sin + outline[:, 1] * cos
        labels, rects = bisect(xr, yr, w, k, (ox.min() - 1, ox.max() + 1, oy.min() - 1, oy.max() + 1), penalty)
        sums = np.bincount(labels, weights=w, minlength=len(rects))
        score = _violation(sums, *inner) if w.sum() >= limits[0] else 0.0
        if best is None or score < best[0]:
            best = (score, labels, rects, angle)
        if score == 0:
            break
    return best[1], _rotated_cells(best[2], best[3])


def _communities_of_blocks(layout: Layout, blocks: pd.DataFrame, households: np.ndarray) -> np.ndarray:
    """Community index of every block (zones in order, groups within a zone by bisection)."""
    zone = _zone_groups(layout, blocks, households)
    cu = ((blocks["u0"] + blocks["u1"]) / 2).to_numpy()
    cv = ((blocks["v0"] + blocks["v1"]) / 2).to_numpy()
    community = np.zeros(len(blocks), dtype=np.int64)
    offset = 0
    for z in np.unique(zone):
        take = np.flatnonzero(zone == z)
        total = households[take].sum()
        base = 1 if z == 4 else _community_count(total)
        cover = shapely.multipoints(np.stack([cu[take], cv[take]], axis=1))
        labels, rects = _partition(cu[take], cv[take], households[take].astype(float), base,
                                   _COMMUNITY_HOUSEHOLDS, cover)
        community[take] = offset + labels
        offset += len(rects)
    return community


def _rect_distance(rects: np.ndarray, x: float, y: float) -> np.ndarray:
    dx = np.maximum.reduce([rects[:, 0] - x, np.zeros(len(rects)), x - rects[:, 1]])
    dy = np.maximum.reduce([rects[:, 2] - y, np.zeros(len(rects)), y - rects[:, 3]])
    return np.hypot(dx, dy)


def _band_pieces(layout: Layout, blocks: pd.DataFrame, community: np.ndarray) -> list[tuple[tuple, int]]:
    """River and railway bands split down the middle, each half-strip given to the block beside it."""
    b = blocks[["u0", "u1", "v0", "v1"]].to_numpy()
    r_lo, r_hi, rv = layout.v_lines[layout.river_row], layout.v_lines[layout.river_row + 1], layout.river_v
    t_lo, t_hi, ru = layout.u_lines[layout.rail_col], layout.u_lines[layout.rail_col + 1], layout.rail_u
    pieces = []
    for i in np.flatnonzero(b[:, 2] == r_hi):
        pieces.append(((b[i, 0], b[i, 1], rv, r_hi), community[i]))
    for i in np.flatnonzero(b[:, 3] == r_lo):
        pieces.append(((b[i, 0], b[i, 1], r_lo, rv), community[i]))
    for i in np.flatnonzero(b[:, 1] == t_lo):
        pieces.append(((t_lo, ru, b[i, 2], b[i, 3]), community[i]))
    for i in np.flatnonzero(b[:, 0] == t_hi):
        pieces.append(((ru, t_hi, b[i, 2], b[i, 3]), community[i]))
    north = (b[:, 2] + b[:, 3]) / 2 > rv
    for quad in ((t_lo, ru, rv, r_hi), (ru, t_hi, rv, r_hi), (t_lo, ru, r_lo, rv), (ru, t_hi, r_lo, rv)):
        same = north == (quad[2] >= rv)
        dist = np.where(same, _rect_distance(b, (quad[0] + quad[1]) / 2, (quad[2] + quad[3]) / 2), np.inf)
        pieces.append((quad, community[int(np.argmin(dist))]))
    return pieces


def _community_polygons(layout: Layout, blocks: pd.DataFrame, community: np.ndarray) -> np.ndarray:
    """Plan polygon of each community: its blocks plus its halves of the river and railway bands."""
    rects = [[] for _ in range(community.max() + 1)]
    for row, c in zip(blocks[["u0", "u1", "v0", "v1"]].to_numpy(), community):
        rects[c].append(shapely.box(row[0], row[2], row[1], row[3]))
    for (u0, u1, v0, v1), c in _band_pieces(layout, blocks, community):
        rects[c].append(shapely.box(u0, v0, u1, v1))
    return np.array([shapely.union_all(r) for r in rects], dtype=object)


def _subdistricts(layout: Layout, centre: np.ndarray, households: np.ndarray) -> np.ndarray:
    """Sub-district (街道) index of each community: groups of about 5-6 communities on one river side."""
    out = np.zeros(len(centre), dtype=np.int64)
    offset = 0
    for north in (True, False):
        take = np.flatnonzero((centre[:, 1] > layout.river_v) == north)
        if len(take) == 0:
            continue
        k = max(1, int(round(len(take) / 5.5)))
        bounds = (centre[take, 0].min(), centre[take, 0].max(), centre[take, 1].min(), centre[take, 1].max())
        labels, rects = bisect(centre[take, 0], centre[take, 1], households[take].astype(float), k, bounds)
        out[take] = offset + labels
        offset += len(rects)
    return out


def _reading_order(x: np.ndarray, y: np.ndarray, band_m: float = 600.0) -> np.ndarray:
    """Rank of each point read north to south in bands of ``band_m``, west to east within a band."""
    return np.lexsort((x, -np.floor(y / band_m)))


def _weighted_by_kind(kind: np.ndarray, households: np.ndarray, owner: np.ndarray, n: int,
                      table: dict[str, float]) -> np.ndarray:
    value = np.array([table.get(k, np.mean(list(table.values()))) for k in kind])
    total = np.bincount(owner, weights=households, minlength=n)
    return np.bincount(owner, weights=households * value, minlength=n) / np.maximum(total, 1)


def _community_figures(rng: np.random.Generator, buildings: pd.DataFrame, owner: np.ndarray,
                       n: int) -> pd.DataFrame:
    """Households, residents, 65+ residents, workers, social organisations and service space per community."""
    hh = buildings["households"].to_numpy(dtype=float)
    kind = buildings["kind"].to_numpy()
    households = np.bincount(owner, weights=hh, minlength=n).astype(np.int64)
    size = _weighted_by_kind(kind, hh, owner, n, _HOUSEHOLD_SIZE) + rng.normal(0, 0.05, n)
    share = np.clip(_weighted_by_kind(kind, hh, owner, n, _SHARE_65PLUS) + rng.normal(0, 0.015, n), 0.06, 0.28)
    population = np.round(households * size).astype(np.int64)
    return pd.DataFrame({
        "households": households, "population": population,
        "population_65plus": np.round(population * share).astype(np.int64),
        "workers": np.maximum(3, np.round(households / 600 * rng.uniform(0.75, 1.7, n))).astype(np.int64),
        "social_organisations": rng.integers(5, 19, n),
        "service_space_m2": np.round(population * 0.05 * rng.uniform(0.6, 2.2, n), -1),
        "household_size": size})


def _codes(layout: Layout, centre: np.ndarray, households: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sub-district number (1..) and 12-digit community code of each community, in reading order."""
    raw = _subdistricts(layout, centre, households)
    sd_centre = np.array([centre[raw == s].mean(axis=0) for s in range(raw.max() + 1)])
    sd_rank = np.empty(len(sd_centre), dtype=np.int64)
    sd_rank[_reading_order(sd_centre[:, 0], sd_centre[:, 1], 1500.0)] = np.arange(len(sd_centre))
    number = sd_rank[raw] + 1
    seq = np.zeros(len(centre), dtype=np.int64)
    for s in np.unique(number):
        take = np.flatnonzero(number == s)
        seq[take[_reading_order(centre[take, 0], centre[take, 1])]] = np.arange(1, len(take) + 1)
    codes = np.array([f"{COUNTY_CODE}{s:03d}{q:03d}" for s, q in zip(number, seq)], dtype=object)
    return number, codes


def _community_table(rng: np.random.Generator, pool: NamePool, layout: Layout, polygons: np.ndarray,
                     buildings: pd.DataFrame, owner: np.ndarray) -> pd.DataFrame:
    n = len(polygons)
    figures = _community_figures(rng, buildings, owner, n)
    weight = buildings["households"].to_numpy(dtype=float) + 1e-6
    cx = (buildings["u0"] + buildings["u1"]).to_numpy() / 2
    cy = (buildings["v0"] + buildings["v1"]).to_numpy() / 2
    total = np.bincount(owner, weights=weight, minlength=n)
    centre = np.stack([np.bincount(owner, weights=weight * cx, minlength=n) / total,
                       np.bincount(owner, weights=weight * cy, minlength=n) / total], axis=1)
    empty = total < 1
    if empty.any():
        centre[empty] = shapely.get_coordinates(shapely.centroid(polygons[empty]))
    number, codes = _codes(layout, centre, figures["households"].to_numpy())
    sd_names = {s: pool.subdistrict() + "街道" for s in sorted(set(number))}
    order = np.argsort(codes, kind="stable")
    names = np.empty(n, dtype=object)
    names[order] = [pool.community() + "社区" for _ in range(n)]
    frame = pd.DataFrame({"community_id": codes, "name": names,
                          "subdistrict": [sd_names[s] for s in number], "subdistrict_no": number,
                          "district": DISTRICT, "centre_u": centre[:, 0], "centre_v": centre[:, 1]})
    return pd.concat([frame, figures], axis=1).assign(geometry=polygons)


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    parts = shapely.get_parts(geom)
    parts = parts[np.isin(shapely.get_type_id(parts), (3, 6)) & (shapely.area(parts) > 1.0)]
    return shapely.union_all(parts)


def _grids_of_community(community: pd.Series, xs: np.ndarray, ys: np.ndarray,
                        hh: np.ndarray) -> tuple[np.ndarray, list[shapely.Geometry], np.ndarray]:
    """Grid label per building, grid polygons and grid households of one community."""
    polygon = community.geometry
    base = max(1, int(round(hh.sum() / _GRID_TARGET)))
    labels, cells = _partition(xs, ys, hh.astype(float), base, _GRID_HOUSEHOLDS, polygon)
    centres = shapely.get_coordinates(shapely.centroid(np.array(cells, dtype=object)))
    rank = np.empty(len(cells), dtype=np.int64)
    rank[_reading_order(centres[:, 0], centres[:, 1], 250.0)] = np.arange(len(cells))
    geoms = [None] * len(cells)
    for k, cell in enumerate(cells):
        geoms[rank[k]] = _polygonal(shapely.intersection(polygon, cell))
    households = np.bincount(rank[labels], weights=hh, minlength=len(cells)).astype(np.int64)
    return rank[labels], geoms, households


def _grid_table(communities: pd.DataFrame, buildings: pd.DataFrame,
                owner: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """Grids (网格) of every community and the grid row of each residential building (-1 for others)."""
    hh = buildings["households"].to_numpy()
    xs = ((buildings["u0"] + buildings["u1"]) / 2).to_numpy()
    ys = ((buildings["v0"] + buildings["v1"]) / 2).to_numpy()
    building_grid = np.full(len(buildings), -1, dtype=np.int64)
    rows = []
    for c, community in enumerate(communities.itertuples(index=False)):
        take = np.flatnonzero((owner == c) & (hh > 0))
        labels, geoms, households = _grids_of_community(community, xs[take], ys[take], hh[take])
        building_grid[take] = len(rows) + labels
        for k, (geom, count) in enumerate(zip(geoms, households)):
            rows.append({"grid_id": f"{community.community_id}{k + 1:02d}", "community_id": community.community_id,
                         "name": f"{community.name}第{k + 1}网格", "households": int(count),
                         "population": int(round(count * community.household_size)), "geometry": geom})
    return pd.DataFrame(rows), building_grid


def _managers(rng: np.random.Generator, grids: pd.DataFrame, communities: pd.DataFrame) -> pd.DataFrame:
    """One grid manager (专职网格员) per grid, with a made-up name and mobile number."""
    n = len(grids)
    info = communities.set_index("community_id").loc[grids["community_id"], ["name", "subdistrict"]]
    return pd.DataFrame({"manager_id": "WGY" + grids["grid_id"].str.slice(len(COUNTY_CODE)),
                         "name": person_names(rng, n), "gender": np.where(rng.random(n) < 0.62, "女", "男"),
                         "phone": mobile_numbers(rng, n), "grid_id": grids["grid_id"].to_numpy(),
                         "grid_name": grids["name"].to_numpy(), "community_id": grids["community_id"].to_numpy(),
                         "community_name": info["name"].to_numpy(), "subdistrict": info["subdistrict"].to_numpy()})


def make_people(rng: np.random.Generator, pool: NamePool, layout: Layout, blocks: pd.DataFrame,
                buildings: pd.DataFrame) -> People:
    """Communities, sub-districts, grids and managers for buildings that already carry ``households``."""
    hh = buildings["households"].to_numpy()
    block_hh = np.bincount(buildings["block_id"], weights=hh, minlength=len(blocks))
    block_community = _communities_of_blocks(layout, blocks, block_hh)
    polygons = _community_polygons(layout, blocks, block_community)
    owner = block_community[buildings["block_id"].to_numpy()]
    communities = _community_table(rng, pool, layout, polygons, buildings, owner)
    order = np.argsort(communities["community_id"].to_numpy(), kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    communities = communities.iloc[order].reset_index(drop=True)
    block_community, owner = rank[block_community], rank[owner]
    grids, building_grid = _grid_table(communities, buildings, owner)
    return People(communities=communities, grids=grids, managers=_managers(rng, grids, communities),
                  block_community=block_community, building_grid=building_grid)
