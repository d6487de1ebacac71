"""Grid generation (网格划分): split communities (社区) into contiguous grids (网格) of H3 cells.

Cities without an official grid layer get grids drawn here: each community's
cells are partitioned into contiguous regions whose load (households by
default, or any non-negative weight such as a workload index) is balanced
around a target and kept within bounds where the cells allow it.

Algorithm (contiguity-constrained regionalisation, deterministic):

1. Cells are adjacent when they are H3 neighbours (``grid_disk(cell, 1)``)
   in the same community; each connected piece of a community is split on its
   own, into ``k`` grids chosen so that ``total / k`` lies within
   ``[minimum, maximum]`` (nearest the target) whenever some ``k`` does.
2. Seeds: weighted k-means on cell centres in a local metric frame; the cell
   with weight nearest each centre seeds one region.
3. Region growing: the lightest region takes its unassigned neighbour cell
   nearest its centre, until every cell (zero-weight parks and water too)
   belongs to a region.
4. Boundary moves: a cell moves to a neighbouring region while
   Σ(load − mean load)² drops, then while Σ(load − mean load)² + c · (cut
   edges) drops (compact outlines), never emptying or disconnecting a region
   (breadth-first search) nor pushing the pair of regions further outside the
   bounds. Pieces left further outside the bounds than their cells force are
   retried from other seeded k-means++ starts (fixed seeds), keeping the best.
5. Grids are numbered ``{community_id}-G01``... north to south, then west to
   east, by the mean of their cell centres.

Pure core: takes and returns frames; no database access.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import geopandas as gpd
import h3
import h3ronpy
import numpy as np
import pandas as pd
import pyarrow as pa
import pyproj
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from grid.h3index import cells_to_lonlat, cells_to_outline, spread_counts

__all__ = [
    "partition_cells",
    "grid_balance",
    "balance_summary",
    "redraw_proposal",
    "grid_polygons",
]

log = logging.getLogger(__name__)

_GEOD = pyproj.Geod(ellps="WGS84")

_M_PER_DEG = 111_195.0
"""Metres per degree of latitude on a sphere of mean Earth radius; only used to place seeds."""

_LLOYD_STEPS = 25
"""Lloyd iterations of the seeding k-means."""

_MAX_SWEEPS = 500
"""Upper bound on sweeps of boundary moves (each sweep strictly lowers the imbalance)."""

_ZERO_PULL = 0.1
"""Zero-weight cells weigh this fraction of the mean cell weight when placing seeds."""

_EMPTY_SHARE = 1e-4
"""While rebalancing, zero-weight cells weigh this fraction of the mean cell weight, so a light
region can take parks from a heavier neighbour and reach the households beyond them."""

_SHAPE_COST = 4.0
"""Cost of one cut edge between regions, in units of (mean cell weight)²: trades balance for compact outlines."""

_ATTEMPTS = 8
"""Seeded starts tried per piece while its grids stay further outside the bounds than its cells force."""

_EPS = 1e-9
"""Load differences below this count as ties (float round-off)."""


@dataclass(frozen=True)
class _Cells:
    """Rows sorted by (community, h3) with their H3 adjacency inside the community."""

    order: np.ndarray  # position in the input frame of each sorted row
    community: np.ndarray  # community id per sorted row
    h3: np.ndarray  # uint64
    weight: np.ndarray  # float64
    lon: np.ndarray
    lat: np.ndarray
    adjacency: csr_matrix  # symmetric, rows that are H3 neighbours in the same community
    piece: np.ndarray  # connected piece per sorted row, numbered in sorted order


# --------------------------------------------------------------------------- public API


def partition_cells(
    cells: pd.DataFrame,
    *,
    weight: str = "households",
    target: float = 400,
    minimum: float = 300,
    maximum: float = 500,
) -> pd.DataFrame:
    """Split each community's H3 cells into contiguous grids with balanced weight (households).

    Parameters
    ----------
    cells : pandas.DataFrame
        One row per (community, cell): columns ``community_id``, ``h3``
        (uint64 H3 cells of one resolution) and ``weight``; other columns are
        kept. A cell may belong to several communities.
    weight : str
        Column with the non-negative load per cell (households by default).
    target, minimum, maximum : float
        Desired load per grid and its bounds, in units of ``weight``
        (households per grid by default).

    Returns
    -------
    pandas.DataFrame
        The input rows, in input order, plus ``grid_id`` ("{community_id}-G01"...).
        Every row gets exactly one grid; grids are connected through H3
        neighbours. Pieces lighter than ``minimum`` form their own grid and
        grids holding a cell heavier than ``maximum`` exceed it; see
        :func:`grid_balance` for the reasons.
    """
    _check_bounds(minimum, maximum, target)
    frame = _checked_frame(cells, weight)
    out = cells.copy()
    out["grid_id"] = _partition(frame, weight, minimum, maximum, target_by_community=target)
    return out


def grid_balance(plan: pd.DataFrame, *, weight: str = "households", minimum: float, maximum: float) -> pd.DataFrame:
    """Load (households), bounds check and Polsby-Popper compactness of each grid of a plan.

    Parameters
    ----------
    plan : pandas.DataFrame
        Rows with ``community_id``, ``h3``, ``grid_id`` and ``weight``, e.g.
        the output of :func:`partition_cells`.
    weight : str
        Load column, summed per grid.
    minimum, maximum : float
        Bounds of the load per grid, in units of ``weight``.

    Returns
    -------
    pandas.DataFrame
        One row per grid, sorted by grid_id: ``grid_id``, ``community_id``,
        ``cells`` (count), ``weight`` (sum), ``within_bounds`` (bool),
        ``reason`` (why a grid is out of bounds, else ""), ``area_m2`` and
        ``perimeter_m`` (geodesic, WGS-84 ellipsoid, of the dissolved grid)
        and ``compactness`` = 4·π·area / perimeter² (1 for a circle, about
        0.907 for a single H3 hexagon, about 0.69 for a disk of 19 cells).

    Notes
    -----
    Reasons, checked in this order: "cell 8a...ffff alone has N households"
    (a cell heavier than ``maximum``); "community has only N households" (the
    grid is the whole community and lighter than ``minimum``); "detached piece
    of the community has only N households" (the same for one of several
    disconnected pieces); else "no contiguous split within bounds" (the
    piece's load fits no number of grids, or the search found no split).
    """
    _check_bounds(minimum, maximum)
    frame = _checked_frame(plan, weight, extra=("grid_id",))
    data = _cells(frame, weight)
    rows = _grid_rows(data, frame["grid_id"].to_numpy()[data.order])
    grids = _grid_loads(rows, minimum, maximum)
    grids["reason"] = _reasons(grids, weight, minimum, maximum)
    area_m2, perimeter_m = _grid_shapes(rows)
    grids["area_m2"], grids["perimeter_m"] = area_m2, perimeter_m
    grids["compactness"] = 4 * math.pi * area_m2 / np.square(perimeter_m)
    columns = ["grid_id", "community_id", "cells", "weight", "within_bounds", "reason", "area_m2", "perimeter_m",
               "compactness"]
    return grids[columns].rename(columns={"weight": weight}).reset_index(drop=True)


def balance_summary(balance: pd.DataFrame, *, weight: str = "households") -> dict[str, float]:
    """City-wide balance figures of a :func:`grid_balance` frame (loads in units of ``weight``).

    Returns
    -------
    dict
        ``grids`` (count), ``mean_weight``, ``min_weight``, ``max_weight``,
        ``cv`` (population standard deviation / mean of the grid loads),
        ``share_within_bounds`` (0..1), ``mean_compactness`` and
        ``min_compactness`` (Polsby-Popper, 0..1). Empty input gives NaN figures.
    """
    load = balance[weight].to_numpy(dtype=np.float64)
    compact = balance["compactness"].to_numpy(dtype=np.float64)
    return {
        "grids": int(len(balance)),
        "mean_weight": _stat(np.mean, load),
        "min_weight": _stat(np.min, load),
        "max_weight": _stat(np.max, load),
        "cv": _cv(load),
        "share_within_bounds": _stat(np.mean, balance["within_bounds"].to_numpy(dtype=np.float64)),
        "mean_compactness": _stat(np.mean, compact),
        "min_compactness": _stat(np.min, compact),
    }


def redraw_proposal(
    cells: pd.DataFrame,
    current: pd.Series,
    *,
    weight: str,
    target: float | None = None,
    minimum: float,
    maximum: float,
    grids_by_community: pd.Series | None = None,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Re-partition communities with a new load (e.g. a workload index), keeping their grid counts.

    Parameters
    ----------
    cells : pandas.DataFrame
        Columns ``community_id``, ``h3`` and ``weight`` as for :func:`partition_cells`.
    current : pandas.Series
        Current grid_id of each row of ``cells`` (same index).
    weight : str
        Load column to balance, e.g. households plus weighted complaints.
    target : float, optional
        Load per grid. ``None`` uses each community's current mean load per
        grid (its total ``weight`` over its current number of grids).
    minimum, maximum : float
        Bounds of the load per grid, in units of ``weight``. A community keeps
        its number of grids unless its load per grid would leave the bounds
        and another count keeps it inside.
    grids_by_community : pandas.Series, optional
        Current number of grids per community id, when ``current`` does not show
        them all (a grid holding no cell by majority).

    Returns
    -------
    (pandas.DataFrame, dict)
        The new plan (input rows plus ``grid_id``) and before/after figures
        of the load: ``grids``, ``cv``, ``max_min_ratio`` and
        ``share_within_bounds``, each with suffix ``_before`` and ``_after``.
    """
    _check_bounds(minimum, maximum, target)
    frame = _checked_frame(cells, weight)
    if not current.index.equals(cells.index):
        raise ValueError("current must have the same index as cells; pass the grid_id column of the current plan")
    grids_now = current.groupby(cells["community_id"].to_numpy()).nunique()
    if grids_by_community is not None:  # the real count (a grid may hold no cell by majority)
        grids_now = grids_by_community.reindex(grids_now.index).fillna(grids_now).astype(int)
    targets = target if target is not None else frame.groupby("community_id")[weight].sum() / grids_now
    out = cells.copy()
    out["grid_id"] = _partition(frame, weight, minimum, maximum, target_by_community=targets,
                                grids_by_community=grids_now)
    before = _load_figures(frame[weight], current, minimum, maximum)
    after = _load_figures(frame[weight], out["grid_id"], minimum, maximum)
    figures = {f"{key}_before": value for key, value in before.items()}
    figures.update({f"{key}_after": value for key, value in after.items()})
    return out, figures


def grid_polygons(plan: pd.DataFrame) -> gpd.GeoDataFrame:
    """Dissolved outline of each grid in WGS-84 lon/lat (EPSG:4326), for the ``grids`` table.

    Parameters
    ----------
    plan : pandas.DataFrame
        Rows with ``grid_id``, ``community_id`` and ``h3`` (uint64).

    Returns
    -------
    geopandas.GeoDataFrame
        ``grid_id``, ``community_id`` and ``geometry`` (Polygon, or
        MultiPolygon for a grid that is not contiguous), sorted by grid_id.
    """
    missing = [c for c in ("grid_id", "community_id", "h3") if c not in plan.columns]
    if missing:
        raise ValueError(f"plan lacks columns {missing}; columns are {list(plan.columns)}")
    rows = pd.DataFrame({"grid": plan["grid_id"].to_numpy(), "community": plan["community_id"].to_numpy(),
                         "h3": plan["h3"].to_numpy(dtype=np.uint64)})
    grids = rows.groupby("grid", sort=True).agg(community_id=("community", "first")).reset_index()
    geometry = [cells_to_outline(g["h3"].to_numpy()) for _, g in rows.groupby("grid", sort=True)]
    return gpd.GeoDataFrame({"grid_id": grids["grid"], "community_id": grids["community_id"]},
                            geometry=geometry, crs="EPSG:4326")


# --------------------------------------------------------------------------- checks


def _check_bounds(minimum: float, maximum: float, target: float | None = None) -> None:
    """Refuse bounds that are not finite, non-negative and ordered."""
    values = [minimum, maximum] + ([] if target is None else [target])
    if not all(np.isfinite(values)) or minimum < 0 or minimum > maximum or maximum <= 0:
        raise ValueError(f"need 0 <= minimum <= maximum, maximum > 0, all finite; got minimum={minimum!r}, "
                         f"maximum={maximum!r}")
    if target is not None and target <= 0:
        raise ValueError(f"target must be > 0; got {target!r}")


def _checked_frame(cells: pd.DataFrame, weight: str, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """The needed columns of ``cells`` with h3 as uint64 and weight as float, or a ValueError."""
    needed = ["community_id", "h3", weight, *extra]
    missing = [c for c in needed if c not in cells.columns]
    if missing:
        raise ValueError(f"cells lacks columns {missing}; columns are {list(cells.columns)}")
    frame = pd.DataFrame({c: cells[c].to_numpy() for c in needed})
    frame["h3"] = frame["h3"].to_numpy(dtype=np.uint64)
    frame[weight] = pd.to_numeric(frame[weight], errors="coerce").astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(frame[weight].to_numpy()) | (frame[weight].to_numpy() < 0))
    if bad.size:
        raise ValueError(f"{weight} must be finite and >= 0; row {bad[0]} has {cells[weight].iloc[bad[0]]} "
                         f"({bad.size} such rows); fill missing loads with 0")
    _check_cells(frame["h3"].to_numpy())
    if frame["community_id"].isna().any():
        raise ValueError("community_id has missing values; drop or assign those cells first")
    dup = frame.duplicated(["community_id", "h3"])
    if dup.any():
        first = frame[dup].iloc[0]
        raise ValueError(f"cell {first['h3']} appears twice in community {first['community_id']!r} "
                         f"({int(dup.sum())} duplicates); aggregate to one row per community and cell")
    return frame


def _check_cells(cells: np.ndarray) -> None:
    """Refuse invalid H3 cells or a mix of resolutions (neighbours would not match)."""
    if cells.size == 0:
        return
    valid = pa.array(h3ronpy.cells_valid(cells)).is_valid().to_numpy(zero_copy_only=False)
    if not valid.all():
        bad = np.flatnonzero(~valid)
        raise ValueError(f"h3 has {bad.size} invalid cells, e.g. {int(cells[bad[0]])} at row {bad[0]}; "
                         "pass uint64 H3 cell indexes")
    res = np.unique((cells >> np.uint64(52)) & np.uint64(15))
    if res.size > 1:
        raise ValueError(f"h3 mixes resolutions {res.tolist()}; pass cells of one resolution")


# --------------------------------------------------------------------------- cells and adjacency


def _cells(frame: pd.DataFrame, weight: str) -> _Cells:
    """Rows of ``frame`` sorted by (community, h3) with adjacency and connected pieces."""
    code, _ = pd.factorize(frame["community_id"], sort=True)
    cells = frame["h3"].to_numpy(dtype=np.uint64)
    order = np.lexsort((cells, code))
    code, cells = code[order].astype(np.int64), cells[order]
    adjacency = _adjacency(code, cells)
    _, piece = connected_components(adjacency, directed=False)
    lon, lat = cells_to_lonlat(cells)
    return _Cells(order=order, community=frame["community_id"].to_numpy()[order], h3=cells,
                  weight=frame[weight].to_numpy(dtype=np.float64)[order], lon=lon, lat=lat,
                  adjacency=adjacency, piece=piece)


def _adjacency(code: np.ndarray, cells: np.ndarray) -> csr_matrix:
    """Adjacency of rows sorted by (code, cell) that are H3 neighbours with the same code, in one pass."""
    n = len(cells)
    if n == 0:
        return csr_matrix((0, 0), dtype=bool)
    uniq = np.unique(cells)
    key = code * len(uniq) + np.searchsorted(uniq, cells)
    disk = pa.array(h3ronpy.grid_disk(cells, 1))
    src = np.repeat(np.arange(n), np.diff(np.asarray(disk.offsets)))
    neighbour = np.asarray(disk.values, dtype=np.uint64)
    rank = np.minimum(np.searchsorted(uniq, neighbour), len(uniq) - 1)
    neighbour_key = code[src] * len(uniq) + rank
    row = np.minimum(np.searchsorted(key, neighbour_key), n - 1)
    hit = (uniq[rank] == neighbour) & (key[row] == neighbour_key) & (row != src)
    return csr_matrix((np.ones(int(hit.sum()), dtype=bool), (src[hit], row[hit])), shape=(n, n))


# --------------------------------------------------------------------------- partition


def _partition(
    frame: pd.DataFrame,
    weight: str,
    minimum: float,
    maximum: float,
    *,
    target_by_community: float | pd.Series,
    grids_by_community: pd.Series | None = None,
) -> np.ndarray:
    """grid_id of every row of ``frame`` (input order)."""
    if frame.empty:
        return np.array([], dtype=object)
    data = _cells(frame, weight)
    region = np.zeros(len(data.h3), dtype=np.int64)
    pieces = _pieces(data, minimum, grids_by_community)
    next_region = 0
    for piece in pieces.itertuples(index=False):
        rows = piece.rows
        target = _lookup(target_by_community, piece.community)
        k = _piece_k(piece.total, len(rows), target, minimum, maximum, piece.preferred)
        if piece.total < minimum:
            log.info("community %s: piece of %d cells has only %g %s; it forms one grid",
                     piece.community, len(rows), piece.total, weight)
        region[rows] = next_region + _split_piece(data, rows, k, minimum, maximum)
        next_region += k
    grid_id = np.empty(len(region), dtype=object)
    grid_id[data.order] = _grid_ids(data, region)
    return grid_id


def _pieces(data: _Cells, minimum: float, grids_by_community: pd.Series | None) -> pd.DataFrame:
    """One row per connected piece: community, rows (sorted-row indexes), total weight, preferred k (0 = none).

    With ``grids_by_community``, pieces lighter than ``minimum`` are given one
    grid each and the rest of the community's grids are shared out among its
    other pieces by weight (largest remainder).
    """
    order = np.argsort(data.piece, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(data.piece[order]) != 0])
    rows = np.split(order, starts[1:]) if len(order) else []
    pieces = pd.DataFrame({"community": [data.community[r[0]] for r in rows], "rows": rows,
                           "total": [float(data.weight[r].sum()) for r in rows]})
    pieces["preferred"] = 0
    if grids_by_community is not None and len(pieces):
        small = pieces["total"] < minimum
        wanted = grids_by_community.reindex(pd.unique(pieces["community"])).fillna(0)
        wanted = (wanted - small.groupby(pieces["community"]).sum().reindex(wanted.index)).clip(lower=0)
        large = pieces[~small]
        pieces.loc[small, "preferred"] = 1
        pieces.loc[~small, "preferred"] = spread_counts(large["community"].to_numpy(), large["total"].to_numpy(),
                                                        wanted.round().astype(np.int64))
    return pieces


def _lookup(value: float | pd.Series, community: object) -> float:
    """A per-community setting: the value itself, or its entry for ``community``."""
    return float(value[community]) if isinstance(value, pd.Series) else float(value)


def _piece_k(total: float, n_cells: int, target: float, minimum: float, maximum: float, preferred: int = 0) -> int:
    """Number of grids for a piece: ``preferred`` if its load per grid fits the bounds, else the
    count whose load per grid fits and lies nearest ``target``, else the nearest to ``target``."""
    if 0 < preferred <= n_cells and minimum <= total / preferred <= maximum:
        return int(preferred)
    ks = np.arange(1, n_cells + 1)
    per_grid = total / ks
    fits = (per_grid >= minimum) & (per_grid <= maximum)
    if fits.any():
        return int(ks[fits][np.argmin(np.abs(per_grid[fits] - target))])
    return int(np.clip(round(total / target), 1, n_cells)) if target > 0 else 1


def _split_piece(data: _Cells, rows: np.ndarray, k: int, minimum: float, maximum: float) -> np.ndarray:
    """Local region label 0..k-1 for each row of one connected piece.

    Seeding is retried (up to ``_ATTEMPTS`` seeded starts) while grids stay
    further outside the bounds than the cells force; the best try is kept.
    """
    if k <= 1:
        return np.zeros(len(rows), dtype=np.int64)
    adj = _local_adjacency(data.adjacency, rows)
    w = data.weight[rows]
    xy = _local_xy(data.lon[rows], data.lat[rows])
    floor = max(float(np.maximum(w - maximum, 0).sum()), k * _outside(float(w.sum()) / k, minimum, maximum))
    best: tuple[tuple[float, float], np.ndarray] | None = None
    for attempt in range(_ATTEMPTS):
        label = _search(adj, w, xy, k, minimum, maximum, attempt)
        load = np.bincount(label, w, minlength=k)
        score = (sum(_outside(x, minimum, maximum) for x in load), float(np.square(load - load.mean()).sum()))
        if best is None or score < best[0]:
            best = (score, label)
        if score[0] <= floor + _EPS:
            break
    return best[1]


def _search(adj: list[list[int]], w: np.ndarray, xy: np.ndarray, k: int, minimum: float, maximum: float,
            attempt: int) -> np.ndarray:
    """One try: seed, grow, balance loads, then trade a little balance for compact outlines."""
    centres = _kmeans_centres(xy, w, k, attempt)
    dist = ((xy[None, :, :] - centres[:, None, :]) ** 2).sum(axis=2)
    state = _search_state(adj, w, _grow(adj, w.tolist(), _seed_cells(dist, w), dist.tolist()), k)
    _improve(state, 0.0, minimum, maximum)
    _improve(state, _SHAPE_COST * state.scale ** 2, minimum, maximum)
    return np.asarray(state.label, dtype=np.int64)


def _local_adjacency(adjacency: csr_matrix, rows: np.ndarray) -> list[list[int]]:
    """Neighbour lists of ``rows`` in local numbering 0..len(rows)-1."""
    sub = adjacency[rows][:, rows].tocsr()
    sub.sort_indices()
    indptr, indices = sub.indptr, sub.indices.tolist()
    return [indices[indptr[i]:indptr[i + 1]] for i in range(len(rows))]


def _local_xy(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Cell centres in metres on a local equirectangular frame (for seeding only)."""
    lat0 = math.radians(float(lat.mean()))
    return np.column_stack([(lon - lon.mean()) * math.cos(lat0) * _M_PER_DEG, (lat - lat.mean()) * _M_PER_DEG])


def _kmeans_centres(xy: np.ndarray, w: np.ndarray, k: int, attempt: int = 0) -> np.ndarray:
    """k weighted k-means centres (m), then Lloyd steps; try 0 starts from the farthest points
    around the weighted centre, try ``attempt`` > 0 from k-means++ draws seeded with ``attempt``."""
    mass = w + _ZERO_PULL * _cell_scale(w)
    middle = mass @ xy / mass.sum()
    rng = np.random.default_rng(attempt) if attempt else None
    first = np.argmin(((xy - middle) ** 2).sum(axis=1)) if rng is None else rng.choice(len(w), p=mass / mass.sum())
    chosen = [int(first)]
    nearest = ((xy - xy[chosen[0]]) ** 2).sum(axis=1)
    for _ in range(k - 1):
        spread = nearest * mass
        pick = np.argmax(nearest) if rng is None or spread.sum() <= 0 else rng.choice(len(w), p=spread / spread.sum())
        chosen.append(int(pick))
        nearest = np.minimum(nearest, ((xy - xy[chosen[-1]]) ** 2).sum(axis=1))
    centres = xy[chosen].copy()
    for _ in range(_LLOYD_STEPS):
        member = np.argmin(((xy[None, :, :] - centres[:, None, :]) ** 2).sum(axis=2), axis=0)
        total = np.bincount(member, mass, minlength=k)
        moved = np.column_stack([np.bincount(member, mass * xy[:, i], minlength=k) for i in range(2)])
        new = np.where(total[:, None] > 0, moved / np.maximum(total, _EPS)[:, None], centres)
        if np.allclose(new, centres):
            break
        centres = new
    return centres


def _seed_cells(dist: np.ndarray, w: np.ndarray) -> list[int]:
    """For each centre in turn, the nearest cell not already a seed, preferring cells with weight."""
    taken: list[int] = []
    for row in dist:
        order = np.argsort(np.where(w > 0, row, row + row.max() + 1.0), kind="stable")
        taken.append(int(next(c for c in order if c not in taken)))
    return taken


def _grow(adj: list[list[int]], w: list[float], seeds: list[int], dist: list[list[float]]) -> list[int]:
    """Grow regions from ``seeds``: the lightest region with free neighbours takes the one nearest its centre."""
    label = [-1] * len(adj)
    load = [0.0] * len(seeds)
    frontier: list[set[int]] = [set() for _ in seeds]
    for region, seed in enumerate(seeds):
        label[seed] = region
        load[region] = w[seed]
    for region, seed in enumerate(seeds):
        frontier[region] = {c for c in adj[seed] if label[c] < 0}
    active = set(range(len(seeds)))
    while active:
        region = min(active, key=lambda r: (load[r], r))
        frontier[region] = {c for c in frontier[region] if label[c] < 0}
        if not frontier[region]:
            active.discard(region)
            continue
        near = dist[region]
        cell = min(frontier[region], key=lambda c: (near[c], c))
        label[cell] = region
        load[region] += w[cell]
        frontier[region].discard(cell)
        frontier[region].update(c for c in adj[cell] if label[c] < 0)
    return label


@dataclass
class _Search:
    """Mutable state of the local search over one piece's regions."""

    adj: list[list[int]]
    w: list[float]  # cell weights, zero-weight cells lifted by ``empty``
    empty: float
    scale: float  # typical cell weight; gains below _EPS * scale² are ties
    label: list[int]
    load: list[float]
    size: list[int]


def _search_state(adj: list[list[int]], w: np.ndarray, label: list[int], k: int) -> _Search:
    """Local-search state with loads and sizes of the ``k`` regions in ``label``."""
    scale = _cell_scale(w)
    empty = _EMPTY_SHARE * scale
    lifted = (w + empty).tolist()
    load = np.bincount(label, lifted, minlength=k).tolist()
    size = np.bincount(label, minlength=k).tolist()
    return _Search(adj=adj, w=lifted, empty=empty, scale=scale, label=label, load=load, size=size)


def _cell_scale(w: np.ndarray) -> float:
    """Typical cell weight: the mean of the positive weights (1 when there are none)."""
    positive = w[w > 0]
    return float(positive.mean()) if positive.size else 1.0


def _improve(state: _Search, shape_cost: float, minimum: float, maximum: float) -> None:
    """Move boundary cells while Σ(load − mean)² + shape_cost · (cut edges) drops (in place).

    A move never empties or disconnects a region nor moves the pair of regions
    involved further outside ``[minimum, maximum]``; each move lowers the
    objective, so the search ends.
    """
    tie = _EPS * state.scale**2
    for _ in range(_MAX_SWEEPS):
        moved = 0
        for _, cell, target in _candidate_moves(state, shape_cost):
            gain = _move_gain(state, cell, target, shape_cost)
            if gain > tie and _move_allowed(state, cell, target, minimum, maximum):
                _move(state, cell, target)
                moved += 1
        if not moved:
            return


def _move(state: _Search, cell: int, target: int) -> None:
    """Put ``cell`` into region ``target`` and update loads and sizes."""
    source = state.label[cell]
    state.label[cell] = target
    state.load[source] -= state.w[cell]
    state.load[target] += state.w[cell]
    state.size[source] -= 1
    state.size[target] += 1


def _candidate_moves(state: _Search, shape_cost: float) -> list[tuple[float, int, int]]:
    """(−gain, cell, target region) of every improving boundary move, best first."""
    moves = []
    for cell, neighbours in enumerate(state.adj):
        source = state.label[cell]
        for target in {state.label[c] for c in neighbours} - {source}:
            gain = _move_gain(state, cell, target, shape_cost)
            if gain > _EPS * state.scale**2:
                moves.append((-gain, cell, target))
    moves.sort()
    return moves


def _move_gain(state: _Search, cell: int, target: int, shape_cost: float) -> float:
    """Drop of Σ(load − mean)² + shape_cost · (cut edges) if ``cell`` joins region ``target``."""
    source, weight = state.label[cell], state.w[cell]
    same = sum(1 for c in state.adj[cell] if state.label[c] == source)
    other = sum(1 for c in state.adj[cell] if state.label[c] == target)
    return 2 * weight * (state.load[source] - state.load[target] - weight) + shape_cost * (other - same)


def _move_allowed(state: _Search, cell: int, target: int, minimum: float, maximum: float) -> bool:
    """Whether ``cell`` may join ``target``: adjacent, its region neither emptied nor split, and the
    two regions' total distance outside ``[minimum, maximum]`` does not grow."""
    source = state.label[cell]
    if state.size[source] <= 1 or not any(state.label[c] == target for c in state.adj[cell]):
        return False
    weight = state.w[cell] - state.empty
    source_load = state.load[source] - state.empty * state.size[source]
    target_load = state.load[target] - state.empty * state.size[target]
    before = _outside(source_load, minimum, maximum) + _outside(target_load, minimum, maximum)
    after = _outside(source_load - weight, minimum, maximum) + _outside(target_load + weight, minimum, maximum)
    return after <= before + _EPS and _stays_connected(state.adj, state.label, cell)


def _outside(load: float, minimum: float, maximum: float) -> float:
    """Distance of ``load`` outside ``[minimum, maximum]`` (0 inside)."""
    return max(minimum - load, 0.0, load - maximum)


def _stays_connected(adj: list[list[int]], label: list[int], cell: int) -> bool:
    """Whether ``cell``'s region stays connected without it: its region neighbours reach each other."""
    region = label[cell]
    ends = [c for c in adj[cell] if label[c] == region]
    if len(ends) <= 1:
        return True
    todo, seen = [ends[0]], {ends[0], cell}
    missing = set(ends[1:])
    while todo and missing:
        here = todo.pop()
        for nxt in adj[here]:
            if nxt not in seen and label[nxt] == region:
                seen.add(nxt)
                missing.discard(nxt)
                todo.append(nxt)
    return not missing


def _grid_ids(data: _Cells, region: np.ndarray) -> np.ndarray:
    """'{community_id}-G{k:02d}' per sorted row, k counting regions north to south then west to east."""
    frame = pd.DataFrame({"community": data.community, "region": region, "lon": data.lon, "lat": data.lat})
    centre = frame.groupby("region").agg(community=("community", "first"), lon=("lon", "mean"), lat=("lat", "mean"))
    centre = centre.assign(north=-centre["lat"]).sort_values(["community", "north", "lon"], kind="stable")
    number = centre.groupby("community", sort=False).cumcount() + 1
    names = centre["community"].astype(str) + "-G" + number.map("{:02d}".format)
    return names.reindex(region).to_numpy(dtype=object)


# --------------------------------------------------------------------------- balance


def _grid_rows(data: _Cells, grid_id: np.ndarray) -> pd.DataFrame:
    """Sorted rows with grid, piece sizes and community sizes, for per-grid figures."""
    rows = pd.DataFrame({"grid_id": grid_id, "community_id": data.community, "h3": data.h3,
                         "weight": data.weight, "piece": data.piece})
    rows["piece_cells"] = rows.groupby("piece")["h3"].transform("size")
    rows["community_cells"] = rows.groupby("community_id")["h3"].transform("size")
    return rows


def _grid_loads(rows: pd.DataFrame, minimum: float, maximum: float) -> pd.DataFrame:
    """Per grid: community, cells, weight, heaviest cell, piece coverage, within_bounds."""
    heaviest = rows.loc[rows.sort_values(["weight", "h3"], ascending=[False, True]).groupby("grid_id").head(1).index]
    grids = rows.groupby("grid_id", sort=True).agg(
        community_id=("community_id", "first"), cells=("h3", "size"), weight=("weight", "sum"),
        pieces=("piece", "nunique"), piece_cells=("piece_cells", "first"), community_cells=("community_cells", "first"))
    heavy = heaviest.set_index("grid_id").reindex(grids.index)
    grids["top_cell"], grids["top_weight"] = heavy["h3"].to_numpy(), heavy["weight"].to_numpy()
    grids["within_bounds"] = (grids["weight"] >= minimum - _EPS) & (grids["weight"] <= maximum + _EPS)
    return grids.reset_index()


def _reasons(grids: pd.DataFrame, weight: str, minimum: float, maximum: float) -> list[str]:
    """Why each out-of-bounds grid could not be balanced ("" when within bounds)."""
    reasons = []
    for g in grids.itertuples(index=False):
        whole_piece = g.pieces == 1 and g.cells == g.piece_cells
        if g.within_bounds:
            reasons.append("")
        elif g.top_weight > maximum:
            reasons.append(f"cell {h3.int_to_str(int(g.top_cell))} alone has {_fmt(g.top_weight)} {weight}")
        elif whole_piece and g.weight < minimum and g.cells == g.community_cells:
            reasons.append(f"community has only {_fmt(g.weight)} {weight}")
        elif whole_piece and g.weight < minimum:
            reasons.append(f"detached piece of the community has only {_fmt(g.weight)} {weight}")
        else:
            reasons.append("no contiguous split within bounds")
    return reasons


def _grid_shapes(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Geodesic area (m²) and perimeter (m) of each grid's dissolved outline, grids sorted by id."""
    area, perimeter = [], []
    for _, group in rows.groupby("grid_id", sort=True):
        outline = cells_to_outline(group["h3"].to_numpy())
        signed_area, length = _GEOD.geometry_area_perimeter(outline)
        area.append(abs(signed_area))
        perimeter.append(length)
    return np.asarray(area, dtype=np.float64), np.asarray(perimeter, dtype=np.float64)


def _load_figures(load: pd.Series, grid_id: pd.Series, minimum: float, maximum: float) -> dict:
    """grids, cv, max/min ratio and share within bounds of the load per grid."""
    per_grid = load.groupby(grid_id.to_numpy()).sum().to_numpy(dtype=np.float64)
    low = _stat(np.min, per_grid)
    return {
        "grids": int(len(per_grid)),
        "cv": _cv(per_grid),
        "max_min_ratio": _stat(np.max, per_grid) / low if low > 0 else math.inf,
        "share_within_bounds": _stat(np.mean, (per_grid >= minimum - _EPS) & (per_grid <= maximum + _EPS)),
    }


def _cv(values: np.ndarray) -> float:
    """Coefficient of variation: population standard deviation / mean (NaN when empty or mean 0)."""
    mean = _stat(np.mean, values)
    return float(np.std(values) / mean) if mean and np.isfinite(mean) else math.nan


def _stat(func, values: np.ndarray) -> float:
    """``func(values)`` as a float, NaN for an empty array."""
    return float(func(values)) if len(values) else math.nan


def _fmt(value: float) -> str:
    """A load for a message: integers without decimals."""
    return str(int(round(value))) if float(value).is_integer() else f"{value:.1f}"
