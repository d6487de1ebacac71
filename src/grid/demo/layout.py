"""The demo district's plan: arterial lattice, river, railway, superblocks and blocks (街坊).

Arterials run every 500-800 m in both directions. One row of the lattice is the
river (with an embankment road on each bank and a few bridges), one column the
railway corridor (frontage roads on both sides, crossed at a few underpasses and
one level crossing). Each land superblock (大街区) is cut by local streets into
blocks of about 200 m; some neighbouring blocks are merged into bigger ones.
All coordinates are plan metres on a 0.1 m grid (see :mod:`grid.demo.frame`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from grid.demo.frame import round_plan
from grid.demo.names import NamePool

__all__ = ["Layout", "make_layout", "SPACING_M", "BLOCK_M"]

SPACING_M = (500.0, 800.0)
"""Range of arterial spacing (m)."""

BLOCK_M = 150.0
"""Target block (街坊) size between local streets (m)."""

_AREA_PER_SCALE_M2 = 25.0e6
_ASPECT = 1.15
_EMBANKMENT_SETBACK_M = 25.0
_RAIL_BAND_M = 60.0
_MERGE_SHARE = 0.25


@dataclass(frozen=True)
class Layout:
    """The plan of the district (all lengths in plan metres).

    Attributes
    ----------
    u_lines, v_lines : positions of the N-S and E-W arterial lines, ascending.
    u_class, v_class : OSM highway class of each arterial line.
    u_names, v_names : Chinese street name of each line.
    rail_col : the column between ``u_lines[rail_col]`` and ``u_lines[rail_col + 1]`` is the railway corridor.
    river_row : the row between ``v_lines[river_row]`` and ``v_lines[river_row + 1]`` is the river.
    water_v : plan v of the south and north water edges.
    land : (n_cols, n_rows) bool, a superblock of land inside the district.
    bridge_lines : indices into ``u_lines`` of the arterials that bridge the river.
    bridge_names : their names (XX大桥).
    trunk_line : index into ``u_lines`` of the ground arterial with the elevated expressway above it.
    rail_roads : indices into ``v_lines`` of the roads crossing the railway, with ``rail_road_kind``
        'underpass' or 'level'.
    rail_foot_v : plan v of pedestrian underpasses under the railway.
    old_centre : plan (u, v) of the old town's centre.
    park : (col, row) of the superblock that is a city park.
    new_dev : (col, row) of the superblock of the new development at the district edge.
    superblocks : one row per land superblock (col, row, u0, u1, v0, v1, kind).
    local_lines : local street segments (orient 0 = E-W at v=coord, 1 = N-S at u=coord; start, end;
        superblock; name; highway).
    blocks : one row per block (block_id, col, row, u0, u1, v0, v1, plus side street names and classes).
    """

    u_lines: np.ndarray
    v_lines: np.ndarray
    u_class: np.ndarray
    v_class: np.ndarray
    u_names: np.ndarray
    v_names: np.ndarray
    rail_col: int
    river_row: int
    water_v: tuple[float, float]
    land: np.ndarray
    bridge_lines: np.ndarray
    bridge_names: np.ndarray
    trunk_line: int
    rail_roads: np.ndarray
    rail_road_kind: np.ndarray
    rail_foot_v: np.ndarray
    old_centre: tuple[float, float]
    park: tuple[int, int]
    new_dev: tuple[int, int]
    superblocks: pd.DataFrame
    local_lines: pd.DataFrame
    blocks: pd.DataFrame

    @property
    def rail_u(self) -> float:
        """Plan u of the railway track (m)."""
        return float((self.u_lines[self.rail_col] + self.u_lines[self.rail_col + 1]) / 2)

    @property
    def river_v(self) -> float:
        """Plan v of the river's centre line (m)."""
        return float(sum(self.water_v) / 2)


def _spaced(rng: np.random.Generator, start: float, end: float) -> np.ndarray:
    """Line positions from ``start`` to ``end`` (both included), spacing about 500-800 m."""
    n = max(1, int(round((end - start) / np.mean(SPACING_M))))
    gaps = rng.uniform(*SPACING_M, size=n)
    return round_plan(start + np.concatenate([[0.0], np.cumsum(gaps / gaps.sum() * (end - start))]))


def _axis(rng: np.random.Generator, length: float, band_at: float, band_m: float) -> tuple[np.ndarray, int]:
    """Arterial positions across ``length`` with a band of ``band_m`` at fraction ``band_at``; band index."""
    half = length / 2
    band_start = round_plan(-half + band_at * length)
    before = _spaced(rng, -half, band_start)
    after = _spaced(rng, band_start + band_m, half)
    return np.concatenate([before, after]), len(before) - 1


def _nearest_free(lines: np.ndarray, targets: np.ndarray, banned: set[int]) -> np.ndarray:
    chosen: list[int] = []
    for target in targets:
        order = np.argsort(np.abs(lines - target), kind="stable")
        pick = next((int(i) for i in order if int(i) not in banned and int(i) not in chosen), None)
        if pick is not None:
            chosen.append(pick)
    return np.array(sorted(chosen), dtype=np.int64)


def _line_classes(rng: np.random.Generator, n: int, special: dict[int, str]) -> np.ndarray:
    classes = np.where(np.arange(n) % 2 == rng.integers(2), "primary", "secondary").astype(object)
    classes[[0, n - 1]] = "secondary"
    for index, value in special.items():
        classes[index] = value
    return classes


def _line_names(pool: NamePool, classes: np.ndarray, fixed: dict[int, str]) -> np.ndarray:
    kinds = {"primary": "avenue", "secondary": "arterial"}
    names = np.array([pool.road(kinds.get(c, "road")) for c in classes], dtype=object)
    for index, value in fixed.items():
        names[index] = value
    return names


def _land_mask(n_cols: int, n_rows: int, rail_col: int, river_row: int) -> np.ndarray:
    land = np.ones((n_cols, n_rows), dtype=bool)
    land[rail_col, :] = False
    land[:, river_row] = False
    if n_cols >= 6 and n_rows >= 6:  # bite two corners off so the outline is not a rectangle
        for col, row in ((n_cols - 1, n_rows - 1), (n_cols - 1, 0)):
            if abs(col - rail_col) > 1 and abs(row - river_row) > 1:
                land[col, row] = False
    return land


def _crossings(rng: np.random.Generator, v_lines: np.ndarray, river_row: int,
               height: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """E-W roads crossing the railway (underpass / level) and footway underpass positions."""
    banned = {river_row, river_row + 1}
    n_roads = max(1, int(round(height / 2000.0)))
    targets = v_lines[0] + (np.arange(n_roads) + 0.5) / n_roads * (v_lines[-1] - v_lines[0])
    roads = _nearest_free(v_lines, targets + rng.uniform(-300, 300, n_roads), banned)
    kinds = np.where(np.arange(len(roads)) % 2 == 0, "underpass", "level").astype(object)
    rows = [r for r in range(len(v_lines) - 1) if r != river_row and r not in roads and r + 1 not in roads]
    n_foot = min(len(rows), max(1, int(round(height / 3000.0))))
    picks = sorted(rng.choice(len(rows), size=n_foot, replace=False)) if rows else []
    foot_v = round_plan([(v_lines[rows[i]] + v_lines[rows[i] + 1]) / 2 for i in picks])
    return roads, kinds, np.asarray(foot_v, dtype=np.float64)


def _superblocks(layout_lines: tuple[np.ndarray, np.ndarray], land: np.ndarray, park: tuple[int, int],
                 new_dev: tuple[int, int]) -> pd.DataFrame:
    u_lines, v_lines = layout_lines
    cols, rows = np.nonzero(land)
    kind = np.full(len(cols), "normal", dtype=object)
    kind[(cols == park[0]) & (rows == park[1])] = "park"
    kind[(cols == new_dev[0]) & (rows == new_dev[1])] = "new_dev"
    return pd.DataFrame({"col": cols, "row": rows, "u0": u_lines[cols], "u1": u_lines[cols + 1],
                         "v0": v_lines[rows], "v1": v_lines[rows + 1], "kind": kind})


def _interior(rng: np.random.Generator, start: float, end: float) -> np.ndarray:
    """Local street positions strictly inside (start, end), about every :data:`BLOCK_M` metres."""
    n = max(1, int(round((end - start) / BLOCK_M)))
    if n == 1:
        return np.empty(0)
    step = (end - start) / n
    return round_plan(start + step * np.arange(1, n) + rng.uniform(-0.12, 0.12, n - 1) * step)


def _superblock_cells(rng: np.random.Generator, sb: pd.Series) -> tuple[np.ndarray, np.ndarray, list[tuple]]:
    """Lattice positions (including the superblock edges) and merged cell pairs of one superblock."""
    if sb.kind == "park":
        return np.array([sb.u0, sb.u1]), np.array([sb.v0, sb.v1]), []
    pu = np.concatenate([[sb.u0], _interior(rng, sb.u0, sb.u1), [sb.u1]])
    pv = np.concatenate([[sb.v0], _interior(rng, sb.v0, sb.v1), [sb.v1]])
    merges: list[tuple] = []
    taken: set[tuple[int, int]] = set()
    n_cells = (len(pu) - 1) * (len(pv) - 1)
    for _ in range(int(rng.binomial(n_cells, _MERGE_SHARE / 2)) if sb.kind == "normal" else 0):
        i, j = int(rng.integers(len(pu) - 1)), int(rng.integers(len(pv) - 1))
        di, dj = ((1, 0), (0, 1))[int(rng.integers(2))]
        other = (i + di, j + dj)
        if other[0] >= len(pu) - 1 or other[1] >= len(pv) - 1 or {(i, j), other} & taken:
            continue
        taken |= {(i, j), other}
        merges.append(((i, j), other))
    return pu, pv, merges


def _local_segments(pu: np.ndarray, pv: np.ndarray, merges: list[tuple]) -> list[tuple[int, float, float, float]]:
    """Interior street segments (orient, coord, start, end) of one superblock, minus those merged away."""
    dropped = set()
    for (i, j), (k, m) in merges:
        dropped.add((1, k, j) if k != i else (0, m, i))  # N-S line index k on cell row j, or E-W line m on col i
    segments = []
    for k in range(1, len(pu) - 1):
        segments += [(1, pu[k], pv[j], pv[j + 1]) for j in range(len(pv) - 1) if (1, k, j) not in dropped]
    for m in range(1, len(pv) - 1):
        segments += [(0, pv[m], pu[i], pu[i + 1]) for i in range(len(pu) - 1) if (0, m, i) not in dropped]
    return segments


def _cell_blocks(pu: np.ndarray, pv: np.ndarray, merges: list[tuple]) -> list[tuple[float, float, float, float, bool]]:
    merged = {cell for pair in merges for cell in pair}
    rects = [(pu[i], pu[i + 1], pv[j], pv[j + 1], False)
             for i in range(len(pu) - 1) for j in range(len(pv) - 1) if (i, j) not in merged]
    for (i, j), (k, m) in merges:
        rects.append((pu[min(i, k)], pu[max(i, k) + 1], pv[min(j, m)], pv[max(j, m) + 1], True))
    return rects


def _local_names(pool: NamePool, pu: np.ndarray, pv: np.ndarray) -> dict[tuple[int, float], tuple[str, str]]:
    """Name and class of each interior line: the middle one per direction is tertiary, the rest residential."""
    out = {}
    for orient, positions in ((1, pu[1:-1]), (0, pv[1:-1])):
        middle = len(positions) // 2
        for index, coord in enumerate(positions):
            out[(orient, float(coord))] = (pool.road("road"), "tertiary" if index == middle else "residential")
    return out


def _subdivide(rng: np.random.Generator, pool: NamePool,
               superblocks: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Local street segments and blocks of every superblock."""
    lines, blocks = [], []
    for sb_index, sb in enumerate(superblocks.itertuples(index=False)):
        pu, pv, merges = _superblock_cells(rng, sb)
        names = _local_names(pool, pu, pv)
        for orient, coord, start, end in _local_segments(pu, pv, merges):
            name, highway = names[(orient, float(coord))]
            lines.append((orient, coord, start, end, sb_index, name, highway))
        for u0, u1, v0, v1, merged in _cell_blocks(pu, pv, merges):
            blocks.append((sb_index, sb.col, sb.row, u0, u1, v0, v1, merged, sb.kind))
    local = pd.DataFrame(lines, columns=["orient", "coord", "start", "end", "superblock", "name", "highway"])
    frame = pd.DataFrame(blocks, columns=["superblock", "col", "row", "u0", "u1", "v0", "v1", "merged", "sb_kind"])
    frame.insert(0, "block_id", np.arange(len(frame), dtype=np.int64))
    return local, frame


def _side_streets(blocks: pd.DataFrame, local: pd.DataFrame, u_info: tuple[np.ndarray, np.ndarray, np.ndarray],
                  v_info: tuple[np.ndarray, np.ndarray, np.ndarray]) -> pd.DataFrame:
    """Add the name and class of the street on each side of each block (s, n, w, e)."""
    lookup = {(int(o), float(c), int(sb)): (n, h) for o, c, sb, n, h
              in local[["orient", "coord", "superblock", "name", "highway"]].itertuples(index=False)}
    arterial = {(1, float(c)): (n, h) for c, h, n in zip(*u_info)} | {(0, float(c)): (n, h) for c, h, n in zip(*v_info)}
    out = blocks.copy()
    for side, orient, column in (("s", 0, "v0"), ("n", 0, "v1"), ("w", 1, "u0"), ("e", 1, "u1")):
        pairs = [lookup.get((orient, float(c), int(sb))) or arterial[(orient, float(c))]
                 for c, sb in zip(out[column], out["superblock"])]
        out[f"street_{side}"] = [p[0] for p in pairs]
        out[f"class_{side}"] = [p[1] for p in pairs]
    return out


def _pick_superblock(superblocks: pd.DataFrame, score: np.ndarray, exclude: tuple[int, int] | None) -> tuple[int, int]:
    score = np.asarray(score, dtype=float).copy()
    if exclude is not None:
        score[(superblocks["col"] == exclude[0]).to_numpy() & (superblocks["row"] == exclude[1]).to_numpy()] = np.inf
    best = int(np.argmin(score))
    return int(superblocks["col"].iloc[best]), int(superblocks["row"].iloc[best])


def _special_superblocks(u_lines: np.ndarray, v_lines: np.ndarray, land: np.ndarray, river_row: int,
                         old_centre: tuple[float, float]) -> tuple[tuple[int, int], tuple[int, int]]:
    """The city park (near the old town, north bank) and the new development (north-west edge)."""
    base = _superblocks((u_lines, v_lines), land, (-1, -1), (-1, -1))
    cu, cv = (base["u0"] + base["u1"]) / 2, (base["v0"] + base["v1"]) / 2
    north = (base["row"] > river_row).to_numpy()
    new_dev = _pick_superblock(base, np.where(north, cu - cv, np.inf), None)
    if len(base) < 6:
        return (-1, -1), new_dev
    target = (old_centre[0] + 1100.0, old_centre[1] + 700.0)
    park = _pick_superblock(base, np.hypot(cu - target[0], cv - target[1]), new_dev)
    return park, new_dev


def make_layout(rng: np.random.Generator, pool: NamePool, *, scale: float) -> Layout:
    """The plan of a district of about 25 km2 x ``scale`` (see :class:`Layout`)."""
    width = float(np.sqrt(_AREA_PER_SCALE_M2 * scale * _ASPECT))
    height = _AREA_PER_SCALE_M2 * scale / width
    water = float(round_plan(rng.uniform(190.0, 240.0)))
    u_lines, rail_col = _axis(rng, width, rng.uniform(0.62, 0.72), _RAIL_BAND_M)
    v_lines, river_row = _axis(rng, height, rng.uniform(0.28, 0.36), water + 2 * _EMBANKMENT_SETBACK_M)
    water_v = (float(v_lines[river_row] + _EMBANKMENT_SETBACK_M), float(v_lines[river_row + 1] - _EMBANKMENT_SETBACK_M))
    rail_lines = {rail_col, rail_col + 1}
    interior = set(range(1, len(u_lines) - 1)) - rail_lines
    trunk = _nearest_free(u_lines, np.array([u_lines[0] + 0.38 * width]), set(range(len(u_lines))) - interior)
    trunk_line = int(trunk[0]) if len(trunk) else -1
    n_bridges = max(2, int(round(width / 1700.0)))
    targets = u_lines[0] + (np.arange(n_bridges) + 0.5) / n_bridges * width
    bridges = _nearest_free(u_lines, targets, rail_lines | {trunk_line})
    land = _land_mask(len(u_lines) - 1, len(v_lines) - 1, rail_col, river_row)
    old_centre = (float(u_lines[0] + 0.42 * width), float(water_v[1] + 700.0))
    park, new_dev = _special_superblocks(u_lines, v_lines, land, river_row, old_centre)
    u_class = _line_classes(rng, len(u_lines), {rail_col: "tertiary", rail_col + 1: "tertiary"})
    v_class = _line_classes(rng, len(v_lines), {river_row: "secondary", river_row + 1: "primary"})
    u_names = _line_names(pool, u_class, {})
    v_names = _line_names(pool, v_class, {river_row: "滨江路", river_row + 1: "沿江大道"})
    roads, kinds, foot_v = _crossings(rng, v_lines, river_row, height)
    superblocks = _superblocks((u_lines, v_lines), land, park, new_dev)
    local, blocks = _subdivide(rng, pool, superblocks)
    blocks = _side_streets(blocks, local, (u_lines, u_class, u_names), (v_lines, v_class, v_names))
    return Layout(u_lines=u_lines, v_lines=v_lines, u_class=u_class, v_class=v_class, u_names=u_names,
                  v_names=v_names, rail_col=rail_col, river_row=river_row, water_v=water_v, land=land,
                  bridge_lines=bridges, bridge_names=np.array([pool.road("bridge") for _ in bridges], dtype=object),
                  trunk_line=trunk_line, rail_roads=roads, rail_road_kind=kinds, rail_foot_v=foot_v,
                  old_centre=old_centre, park=park, new_dev=new_dev, superblocks=superblocks, local_lines=local,
                  blocks=blocks)
