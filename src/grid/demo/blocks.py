"""What stands in each block: gated compounds, old lanes, shops, campuses, factories, parks.

Each block gets a type from where it lies (old town near the river, middle ring,
district edge, beside the railway or an arterial). Generators add buildings (plan
rectangles with floors), land-use parcels and internal paths. A gated compound's
paths join the public street only through its 1-3 gates; old-town lanes and
park paths are open at many points; factory roads are ``access=private``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely

from grid.demo.frame import round_plan
from grid.demo.layout import Layout
from grid.demo.names import NamePool
from grid.demo.streets import Streets

__all__ = ["Style", "STYLES", "TYPES", "BlockContent", "block_types", "build_blocks", "raw_households",
           "building_addresses", "NEW_DEV_HOUSEHOLDS"]

NEW_DEV_HOUSEHOLDS = 3000
"""Households the new development at the edge is built for (its towers stop there)."""

_SETBACK_M = {"primary": 24.0, "secondary": 20.0, "tertiary": 14.0, "residential": 10.0}
_USABLE_SHARE = 0.78  # share of a floor plate that is flats (the rest: stairs, lifts, walls)


@dataclass(frozen=True)
class Style:
    """How a gated compound is built (plan metres; floors inclusive range).

    ``unit_m2`` is the gross flat size used to count households from floor area.
    """

    cell_u: float
    cell_v: float
    foot_u: tuple[float, float]
    foot_v: tuple[float, float]
    floors: tuple[int, int]
    empty_share: float
    ring_road: bool
    gates: tuple[int, int]
    unit_m2: float
    unit_width_m: float
    old: bool = False


STYLES = {
    "old_compound": Style(52, 34, (36, 48), (11, 12.5), (6, 7), 0.12, False, (1, 2), 68.0, 13.0, old=True),
    "compound": Style(52, 50, (22, 36), (17, 19), (18, 33), 0.30, True, (2, 3), 105.0, 18.0),
    "midrise": Style(52, 38, (34, 44), (13, 15), (9, 11), 0.18, True, (2, 3), 95.0, 15.0),
    "edge": Style(56, 40, (32, 42), (12, 14), (6, 8), 0.35, True, (1, 2), 100.0, 14.0),
    "new_compound": Style(60, 58, (24, 28), (18, 20), (26, 33), 0.22, True, (2, 3), 110.0, 26.0),
}

_TYPE_WEIGHTS = {
    "old": {"old_open": .30, "old_compound": .24, "compound": .06, "midrise": .05, "commercial": .10,
            "public": .10, "park": .07, "vacant": .03},
    "middle": {"old_compound": .11, "compound": .24, "midrise": .19, "old_open": .02, "commercial": .08,
               "public": .12, "park": .09, "industrial": .05, "vacant": .05},
    "edge": {"edge": .30, "compound": .09, "midrise": .10, "industrial": .15, "public": .09, "park": .09,
             "vacant": .12, "commercial": .04},
}
TYPES = ("old_open", "old_compound", "compound", "midrise", "edge", "commercial", "public", "park", "industrial",
         "vacant")
_OLD_RADIUS_M = 1300.0
_EDGE_M = 750.0


@dataclass
class BlockContent:
    """Buildings, parcels and gates of all blocks, and each block's type and compound name."""

    blocks: pd.DataFrame
    buildings: pd.DataFrame
    parcels: pd.DataFrame
    gates: pd.DataFrame


@dataclass
class _Parts:
    rng: np.random.Generator
    pool: NamePool
    streets: Streets
    building_parts: list[tuple[int, np.ndarray, np.ndarray, str, str, float]] = field(default_factory=list)
    parcels: list[tuple[shapely.Geometry, str, str, int]] = field(default_factory=list)
    gates: list[tuple[int, float, float, str]] = field(default_factory=list)

    def add_buildings(self, block: int, rects: np.ndarray, floors: np.ndarray, landuse: str, kind: str,
                      unit_m2: float) -> None:
        """Buildings of one block: plan rectangles (u0, u1, v0, v1) in m, floors, class, kind, flat size m2."""
        if len(rects):
            self.building_parts.append((block, rects, np.asarray(floors, dtype=np.int64), landuse, kind, unit_m2))

    def factory_name(self) -> str:
        """A factory name like 花桥机械厂."""
        trades = ("机械厂", "纺织厂", "食品厂", "印刷厂", "电器厂", "制药厂", "汽配厂", "建材厂")
        return self.pool.place() + trades[int(self.rng.integers(len(trades)))]

    def add_parcel(self, geom: shapely.Geometry, landuse: str, name: str, block: int) -> None:
        """A land-use parcel (plan polygon) of one block."""
        self.parcels.append((geom, landuse, name, block))

    def buildings(self) -> pd.DataFrame:
        """All buildings so far as one frame (plan rectangles, floors, class, kind, flat size)."""
        counts = np.array([len(p[1]) for p in self.building_parts], dtype=np.int64)
        rects = np.concatenate([p[1] for p in self.building_parts])
        return pd.DataFrame({
            "building_id": np.arange(counts.sum(), dtype=np.int64),
            "block_id": np.repeat([p[0] for p in self.building_parts], counts).astype(np.int64),
            "u0": rects[:, 0], "u1": rects[:, 1], "v0": rects[:, 2], "v1": rects[:, 3],
            "floors": np.concatenate([p[2] for p in self.building_parts]),
            "landuse": np.repeat([p[3] for p in self.building_parts], counts).astype(object),
            "kind": np.repeat([p[4] for p in self.building_parts], counts).astype(object),
            "unit_m2": np.repeat([p[5] for p in self.building_parts], counts).astype(np.float64)})


def raw_households(buildings: pd.DataFrame) -> np.ndarray:
    """Households a residential building holds by floor area: floors x plate x 0.78 / unit size (float)."""
    plate = (buildings["u1"] - buildings["u0"]) * (buildings["v1"] - buildings["v0"])
    share = np.where(buildings["landuse"] == "residential", _USABLE_SHARE, 0.0)
    return (buildings["floors"] * plate * share / buildings["unit_m2"]).to_numpy(dtype=np.float64)


def _raw_households_of(part: tuple[int, np.ndarray, np.ndarray, str, str, float]) -> float:
    _, rects, floors, landuse, _, unit_m2 = part
    plate = (rects[:, 1] - rects[:, 0]) * (rects[:, 3] - rects[:, 2])
    return float((floors * plate).sum() * _USABLE_SHARE / unit_m2) if landuse == "residential" else 0.0


def _inner(block: pd.Series) -> tuple[float, float, float, float]:
    """The block inside its street setbacks (plan metres)."""
    return (block.u0 + _SETBACK_M[block.class_w], block.u1 - _SETBACK_M[block.class_e],
            block.v0 + _SETBACK_M[block.class_s], block.v1 - _SETBACK_M[block.class_n])


def _positions(lo: float, hi: float, cell: float) -> np.ndarray:
    n = max(1, int(round((hi - lo) / cell)))
    return round_plan(np.linspace(lo, hi, n + 1))


def _box(u0: float, u1: float, v0: float, v1: float) -> shapely.Geometry:
    return shapely.box(u0, v0, u1, v1)


def _cell_rects(rng: np.random.Generator, pu: np.ndarray, pv: np.ndarray, foot_u: tuple[float, float],
                foot_v: tuple[float, float], empty_share: float) -> tuple[np.ndarray, np.ndarray]:
    """One building rectangle (u0, u1, v0, v1) centred in each non-empty lattice cell; cell (i, j) of each."""
    ii, jj = (a.ravel() for a in np.meshgrid(np.arange(len(pu) - 1), np.arange(len(pv) - 1), indexing="ij"))
    keep = rng.random(len(ii)) >= empty_share
    ii, jj = ii[keep], jj[keep]
    width, height = pu[ii + 1] - pu[ii], pv[jj + 1] - pv[jj]
    fu = np.minimum(rng.uniform(*foot_u, len(ii)), width - 12.0)
    fv = np.minimum(rng.uniform(*foot_v, len(ii)), height - 14.0)
    cu = (pu[ii] + pu[ii + 1]) / 2 + rng.uniform(-2, 2, len(ii))
    cv = (pv[jj] + pv[jj + 1]) / 2 + 1.5
    ok = (fu >= 8) & (fv >= 8)
    rects = round_plan(np.stack([cu - fu / 2, cu + fu / 2, cv - fv / 2, cv + fv / 2], axis=1)[ok])
    return rects, np.stack([ii[ok], jj[ok]], axis=1)


def _rows_with_feet(streets: Streets, pu: np.ndarray, grid: np.ndarray, rows_v: np.ndarray,
                    feet: tuple[np.ndarray, np.ndarray, np.ndarray], tags: list[int],
                    ends: tuple[np.ndarray, np.ndarray] | None = None) -> None:
    """E-W paths through lattice nodes ``grid[:, j]`` with spur feet (row, u, ref) spliced in order.

    ``ends`` gives public refs to prepend/append (open lanes joining the streets at both ends).
    """
    foot_row, foot_u, foot_ref = feet
    for j in range(len(rows_v)):
        mine = foot_row == j
        u = np.concatenate([pu, foot_u[mine]])
        refs = np.concatenate([grid[:, j], foot_ref[mine]])
        refs = refs[np.argsort(u, kind="stable")]
        if ends is not None:
            refs = np.concatenate([[ends[0][j]], refs, [ends[1][j]]])
        streets.way(refs, tags[j])


def _units(rects: np.ndarray, unit_width_m: float) -> np.ndarray:
    """Stairwell units (单元) per building along its long (E-W) side, each with its own entrance."""
    return np.maximum(1, np.round((rects[:, 1] - rects[:, 0]) / unit_width_m)).astype(np.int64)


def _spurs(parts: _Parts, rects: np.ndarray, foot_v: np.ndarray, *, units: np.ndarray | None = None,
           north: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Entrance footways from each unit's door (south face, or north where ``north``) to a path at ``foot_v``.

    Returns the doors' u, the foot refs (to splice into the paths) and the building of each door.
    """
    units = np.ones(len(rects), dtype=np.int64) if units is None else units
    owner = np.repeat(np.arange(len(rects)), units)
    k = np.arange(len(owner)) - np.repeat(np.cumsum(units) - units, units)
    width = rects[owner, 1] - rects[owner, 0]
    door_u = round_plan(rects[owner, 0] + width * (k + 0.5) / units[owner])
    face = rects[:, 2] if north is None else np.where(north, rects[:, 3], rects[:, 2])
    doors = parts.streets.nodes(door_u, face[owner])
    feet = parts.streets.nodes(door_u, np.asarray(foot_v)[owner])
    parts.streets.pairs(feet, doors, parts.streets.tag(highway="footway"))
    return door_u, feet, owner


def _lattice_nodes(streets: Streets, pu: np.ndarray, pv: np.ndarray) -> np.ndarray:
    uu, vv = np.meshgrid(pu, pv, indexing="ij")
    return streets.nodes(uu.ravel(), vv.ravel()).reshape(len(pu), len(pv))


_SIDES = {"s": (0, "v0", "南"), "n": (0, "v1", "北"), "w": (1, "u0", "西"), "e": (1, "u1", "东")}
_GATE_PREFERENCE = {"residential": 4.0, "tertiary": 3.0, "secondary": 2.0, "primary": 1.0}


def _gate_sides(rng: np.random.Generator, block: pd.Series, count: int) -> list[str]:
    """``count`` distinct sides for gates, small streets first (weighted random order)."""
    weights = np.array([_GATE_PREFERENCE[c] for c in (block.class_s, block.class_n, block.class_w, block.class_e)])
    keys = rng.random(4) ** (1.0 / weights)  # Efraimidis-Spirakis weighted order
    return [("s", "n", "w", "e")[i] for i in np.argsort(-keys)[:count]]


def _gates(parts: _Parts, block: pd.Series, pu: np.ndarray, pv: np.ndarray, grid: np.ndarray, count: int,
           name: str, *, private: bool = False) -> None:
    """Gate ways from the street through a gate node (barrier=gate) to the compound's outer path."""
    streets, rng = parts.streets, parts.rng
    access = "private" if private else None
    gate_tag = streets.tag(barrier="gate", access=access)
    for k, side in enumerate(_gate_sides(rng, block, count)):
        orient, attr, label = _SIDES[side]
        along = pu if orient == 0 else pv
        i = int(rng.integers(1, len(along) - 1)) if len(along) > 2 else int(rng.integers(len(along)))
        edge = 0 if side in ("s", "w") else -1
        inner = grid[i, edge] if orient == 0 else grid[edge, i]
        street_coord = getattr(block, attr)
        wall = round_plan((street_coord + (pv[edge] if orient == 0 else pu[edge])) / 2)
        street_ref = streets.attach(orient, street_coord, along[i])[0]
        gate_u, gate_v = (along[i], wall) if orient == 0 else (wall, along[i])
        gate_ref = streets.nodes(gate_u, gate_v)[0]
        streets.tag_node(gate_ref, gate_tag)
        kind = "service" if (k == 0 or private) else "footway"
        streets.way(np.array([street_ref, gate_ref, inner]),
                    streets.tag(highway=kind, access=access, name=f"{name}{label}门" if name else None))
        parts.gates.append((int(block.block_id), float(gate_u), float(gate_v), name))


def _compound(parts: _Parts, block: pd.Series, style: Style, kind: str) -> str:
    """A gated compound (小区): buildings in a path lattice reached only through its gates."""
    u0, u1, v0, v1 = _inner(block)
    if u1 - u0 < 40 or v1 - v0 < 40:
        return _vacant(parts, block)
    name = parts.pool.compound(old=style.old)
    pu, pv = _positions(u0, u1, style.cell_u), _positions(v0, v1, style.cell_v)
    rects, cells = _cell_rects(parts.rng, pu, pv, style.foot_u, style.foot_v, style.empty_share)
    floors = parts.rng.integers(style.floors[0], style.floors[1] + 1, len(rects))
    streets = parts.streets
    grid = _lattice_nodes(streets, pu, pv)
    door_u, feet, owner = _spurs(parts, rects, pv[cells[:, 1]], units=_units(rects, style.unit_width_m))
    footway = streets.tag(highway="footway")
    ring = streets.tag(highway="service", service="driveway") if style.ring_road else footway
    row_tags = [ring if j in (0, len(pv) - 1) else footway for j in range(len(pv))]
    _rows_with_feet(streets, pu, grid, pv, (cells[owner, 1], door_u, feet), row_tags)
    for i in range(len(pu)):
        streets.way(grid[i, :], ring if i in (0, len(pu) - 1) else footway)
    _gates(parts, block, pu, pv, grid, int(parts.rng.integers(style.gates[0], style.gates[1] + 1)), name)
    parts.add_buildings(int(block.block_id), rects, floors, "residential", kind, style.unit_m2)
    return name


def _lane_positions(rng: np.random.Generator, lo: float, hi: float, spacing: float) -> np.ndarray:
    n = int((hi - lo) // spacing)
    if n < 1:
        return np.empty(0)
    step = (hi - lo) / (n + 1)
    return round_plan(lo + step * np.arange(1, n + 1) + rng.uniform(-0.15, 0.15, n) * step)


def _old_lane_ways(parts: _Parts, block: pd.Series, au: np.ndarray, av: np.ndarray, grid: np.ndarray,
                   feet: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    """Open lanes (巷) joining the surrounding streets at both ends; some are broken into dead ends."""
    streets, rng = parts.streets, parts.rng
    west = streets.attach(1, block.u0, av)
    east = streets.attach(1, block.u1, av)
    lane_tags = [streets.tag(highway="living_street", name=parts.pool.road("lane")) for _ in av]
    _rows_with_feet(streets, au, grid, av, feet, lane_tags, ends=(west, east))
    south, north = streets.attach(0, block.v0, au), streets.attach(0, block.v1, au)
    passage = streets.tag(highway="footway")
    for i in range(len(au)):
        refs = np.concatenate([[south[i]], grid[i, :], [north[i]]])
        if rng.random() < 0.25 and len(refs) > 3:  # a blocked passage: two dead ends
            cut = int(rng.integers(1, len(refs) - 1))
            streets.way(refs[:cut], passage)
            streets.way(refs[cut:], passage)
        else:
            streets.way(refs, passage)


def _old_open(parts: _Parts, block: pd.Series, old_share: float) -> str:
    """Old neighbourhood: lanes every ~30 m, 2-3 floor lilong houses (里分) and 6-7 floor walk-ups."""
    rng = parts.rng
    u0, u1, v0, v1 = _inner(block)
    au = _lane_positions(rng, u0, u1, 30.0)
    av = _lane_positions(rng, v0, v1, 27.0)
    edges_u, edges_v = np.concatenate([[u0], au, [u1]]), np.concatenate([[v0], av, [v1]])
    lilong = rng.random() < old_share
    foot_v = (26.0, 30.0) if lilong else (11.0, 12.5)
    rects, cells = _cell_rects(rng, edges_u, edges_v, (24.0, 40.0), foot_v, 0.08)
    floors = rng.integers(2, 4, len(rects)) if lilong else rng.integers(6, 8, len(rects))
    grid = _lattice_nodes(parts.streets, au, av) if len(au) and len(av) else None
    if grid is not None:
        north = cells[:, 1] == 0  # bottom-row houses open onto the lane above them
        foot_row = np.where(north, 0, cells[:, 1] - 1)
        door_u, feet, owner = _spurs(parts, rects, av[foot_row], units=_units(rects, 14.0), north=north)
        _old_lane_ways(parts, block, au, av, grid, (foot_row[owner], door_u, feet))
    parts.add_buildings(int(block.block_id), rects, floors, "residential", "lilong" if lilong else "walkup", 62.0)
    return ""


def _commercial(parts: _Parts, block: pd.Series) -> str:
    """Shops and offices on both sides of a pedestrian street (步行街) crossing the block."""
    rng, streets = parts.rng, parts.streets
    u0, u1, v0, v1 = _inner(block)
    if u1 - u0 < 40 or v1 - v0 < 50:
        return _vacant(parts, block)
    mid = float(round_plan((v0 + v1) / 2))
    n = int(rng.integers(1, 4))
    edges = round_plan(np.linspace(u0, u1, n + 1))
    rects_south, _ = _cell_rects(rng, edges, np.array([v0, mid]), (30.0, 90.0), (25.0, 60.0), 0.0)
    rects_north, _ = _cell_rects(rng, edges, np.array([mid, v1]), (30.0, 90.0), (25.0, 60.0), 0.0)
    rects = np.concatenate([rects_south, rects_north])
    tower = rng.random(len(rects)) < 0.35
    rects[tower, 1] = np.minimum(rects[tower, 1], rects[tower, 0] + 36)
    rects[tower, 3] = np.minimum(rects[tower, 3], rects[tower, 2] + 36)
    floors = np.where(tower, rng.integers(18, 41, len(rects)), rng.integers(3, 7, len(rects)))
    north = np.arange(len(rects)) < len(rects_south)  # south-side buildings open north onto the street
    door_u, feet, _ = _spurs(parts, rects, np.full(len(rects), mid), units=_units(rects, 30.0), north=north)
    name = parts.pool.place() + "步行街" if rng.random() < 0.5 else None
    ends = streets.attach(1, block.u0, mid), streets.attach(1, block.u1, mid)
    tag = streets.tag(highway="pedestrian" if name else "service", name=name)
    streets.way(np.concatenate([ends[0], feet[np.argsort(door_u, kind="stable")], ends[1]]), tag)
    parts.add_buildings(int(block.block_id), rects, floors, "commercial", "office" if tower.any() else "mall", 1.0)
    parts.add_parcel(_box(u0, u1, v0, v1), "commercial", "商业用地", int(block.block_id))
    return name or ""


def _industrial(parts: _Parts, block: pd.Series) -> str:
    """A factory: sheds on private service roads behind one gate (access=private)."""
    rng, streets = parts.rng, parts.streets
    u0, u1, v0, v1 = _inner(block)
    if u1 - u0 < 60 or v1 - v0 < 60:
        return _vacant(parts, block)
    name = parts.factory_name()
    pu, pv = _positions(u0, u1, 90.0), _positions(v0, v1, 70.0)
    rects, _ = _cell_rects(rng, pu, pv, (40.0, 75.0), (24.0, 50.0), 0.15)
    grid = _lattice_nodes(streets, pu, pv)
    private = streets.tag(highway="service", access="private")
    for j in range(len(pv)):
        streets.way(grid[:, j], private)
    for i in range(len(pu)):
        streets.way(grid[i, :], private)
    _gates(parts, block, pu, pv, grid, 1, name, private=True)
    parts.add_buildings(int(block.block_id), rects, rng.integers(1, 3, len(rects)), "industrial", "shed", 1.0)
    parts.add_parcel(_box(u0, u1, v0, v1), "industrial", name, int(block.block_id))
    return name


def _entrances(parts: _Parts, block: pd.Series, loop: dict[str, int], tag: int) -> None:
    """Paths from the middle of each block side to the park loop's node on that side."""
    streets = parts.streets
    for side, (orient, attr, _) in _SIDES.items():
        coord = getattr(block, attr)
        pos = round_plan((block.u0 + block.u1) / 2 if orient == 0 else (block.v0 + block.v1) / 2)
        streets.way(np.array([streets.attach(orient, coord, pos)[0], loop[side]]), tag)


def _park(parts: _Parts, block: pd.Series) -> str:
    """A neighbourhood park (游园): loop path, diagonal paths (some steps), entrances on every side."""
    rng, streets = parts.rng, parts.streets
    u0, u1, v0, v1 = block.u0 + 15.0, block.u1 - 15.0, block.v0 + 15.0, block.v1 - 15.0
    name = parts.pool.place() + ("公园" if (u1 - u0) * (v1 - v0) > 20000 else "游园")
    parts.add_parcel(_box(block.u0 + 6, block.u1 - 6, block.v0 + 6, block.v1 - 6), "green", name,
                     int(block.block_id))
    cu, cv = round_plan((u0 + u1) / 2), round_plan((v0 + v1) / 2)
    ring_u = np.array([u0, cu, u1, u1, u1, cu, u0, u0])
    ring_v = np.array([v0, v0, v0, cv, v1, v1, v1, cv])
    ring = streets.nodes(ring_u, ring_v)
    path = streets.tag(highway="footway")
    streets.way(np.append(ring, ring[0]), path)
    centre = streets.nodes(cu, cv)[0]
    for corner in ring[[0, 2, 4, 6]]:
        kind = "steps" if rng.random() < 0.2 else "path"
        streets.way(np.array([corner, centre]), streets.tag(highway=kind))
    _entrances(parts, block, {"s": ring[1], "e": ring[3], "n": ring[5], "w": ring[7]}, path)
    return name


def _big_park(parts: _Parts, block: pd.Series) -> str:
    """The city park: a lake (水域) with a path around it, radial paths, a hill with steps."""
    streets = parts.streets
    name = parts.pool.place() + "公园"
    parts.add_parcel(_box(block.u0 + 8, block.u1 - 8, block.v0 + 8, block.v1 - 8), "green", name, int(block.block_id))
    cu, cv = (block.u0 + block.u1) / 2, (block.v0 + block.v1) / 2
    ru, rv = 0.3 * (block.u1 - block.u0), 0.3 * (block.v1 - block.v0)
    angle = np.linspace(0, 2 * np.pi, 17)[:-1]
    parts.add_parcel(shapely.Polygon(np.stack([cu + ru * np.cos(angle), cv + rv * np.sin(angle)], axis=1)),
                     "water", name + "湖", int(block.block_id))
    shore = streets.nodes(round_plan(cu + (ru + 12) * np.cos(angle)), round_plan(cv + (rv + 12) * np.sin(angle)))
    streets.way(np.append(shore, shore[0]), streets.tag(highway="footway", name=name + "环湖路"))
    outer = _park_outer_loop(parts, block)
    for k, node in enumerate(outer):
        kind = "steps" if k == 1 else "path"
        streets.way(np.array([node, shore[(2 * k) % 16]]), streets.tag(highway=kind))
    return name


def _park_outer_loop(parts: _Parts, block: pd.Series) -> np.ndarray:
    streets = parts.streets
    u0, u1, v0, v1 = block.u0 + 20.0, block.u1 - 20.0, block.v0 + 20.0, block.v1 - 20.0
    cu, cv = round_plan((u0 + u1) / 2), round_plan((v0 + v1) / 2)
    ring = streets.nodes(np.array([u1, u1, cu, u0, u0, u0, cu, u1]), np.array([cv, v1, v1, v1, cv, v0, v0, v0]))
    streets.way(np.append(ring, ring[0]), streets.tag(highway="footway"))
    _entrances(parts, block, {"e": ring[0], "n": ring[2], "w": ring[4], "s": ring[6]}, streets.tag(highway="footway"))
    return ring


def _public(parts: _Parts, block: pd.Series) -> str:
    """A walled campus (school, hospital, offices): teaching/ward blocks on campus paths behind 1-2 gates."""
    rng, streets = parts.rng, parts.streets
    u0, u1, v0, v1 = _inner(block)
    if u1 - u0 < 40 or v1 - v0 < 40:
        return _vacant(parts, block)
    pu, pv = _positions(u0, u1, 60.0), _positions(v0, v1, 42.0)
    rects, cells = _cell_rects(rng, pu, pv, (36.0, 60.0), (14.0, 18.0), 0.4)
    grid = _lattice_nodes(streets, pu, pv)
    door_u, feet, owner = _spurs(parts, rects, pv[cells[:, 1]], units=_units(rects, 24.0))
    footway = streets.tag(highway="footway")
    _rows_with_feet(streets, pu, grid, pv, (cells[owner, 1], door_u, feet), [footway] * len(pv))
    for i in range(len(pu)):
        streets.way(grid[i, :], footway)
    _gates(parts, block, pu, pv, grid, int(rng.integers(1, 3)), "")
    parts.add_buildings(int(block.block_id), rects, rng.integers(3, 6, len(rects)), "public_service", "campus", 1.0)
    parts.add_parcel(_box(u0, u1, v0, v1), "public_service", "公共服务设施用地", int(block.block_id))
    return ""


def _vacant(parts: _Parts, block: pd.Series, name: str = "空地") -> str:
    """Vacant land or a building site; people cut across empty lots on a dirt path."""
    if name == "空地":
        v = round_plan(block.v0 + (block.v1 - block.v0) * parts.rng.uniform(0.3, 0.7))
        streets = parts.streets
        middle = streets.nodes(round_plan((block.u0 + block.u1) / 2), v)
        ends = streets.attach(1, block.u0, v)[0], streets.attach(1, block.u1, v)[0]
        streets.way(np.array([ends[0], middle[0], ends[1]]), streets.tag(highway="path"))
    parts.add_parcel(_box(block.u0 + 10, block.u1 - 10, block.v0 + 10, block.v1 - 10), "other", name,
                     int(block.block_id))
    return ""


def _zone_of_blocks(layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """Each block's zone (old / middle / edge) and its distance to the old-town centre (m)."""
    b = layout.blocks
    cu, cv = ((b["u0"] + b["u1"]) / 2).to_numpy(), ((b["v0"] + b["v1"]) / 2).to_numpy()
    d_old = np.hypot(cu - layout.old_centre[0], cv - layout.old_centre[1])
    u, v = layout.u_lines, layout.v_lines
    d_edge = np.minimum.reduce([cu - u[0], u[-1] - cu, cv - v[0], v[-1] - cv])
    zone = np.where(d_old < _OLD_RADIUS_M, "old", np.where(d_edge < _EDGE_M, "edge", "middle"))
    return zone, d_old


def _type_weights(layout: Layout, zone: np.ndarray) -> np.ndarray:
    b = layout.blocks
    weights = np.array([[_TYPE_WEIGHTS[z].get(t, 0.0) for t in TYPES] for z in zone])
    col = {t: i for i, t in enumerate(TYPES)}
    cu = ((b["u0"] + b["u1"]) / 2).to_numpy()
    near_rail = np.abs(cu - layout.rail_u) < 450
    weights[near_rail, col["industrial"]] *= 3.0
    weights[near_rail, col["old_compound"]] *= 1.5
    primary = np.any(b[["class_s", "class_n", "class_w", "class_e"]].to_numpy() == "primary", axis=1)
    weights[primary, col["commercial"]] *= 1.6
    merged = b["merged"].to_numpy()
    for t, factor in (("compound", 1.5), ("public", 1.4), ("park", 1.3), ("old_open", 0.3)):
        weights[merged, col[t]] *= factor
    bank = (b["v0"].to_numpy() == layout.v_lines[layout.river_row + 1]) | \
           (b["v1"].to_numpy() == layout.v_lines[layout.river_row])
    weights[bank, col["park"]] *= 2.5
    return weights / weights.sum(axis=1, keepdims=True)


def block_types(rng: np.random.Generator, layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """A type for every block (see :data:`TYPES`, plus big_park and new_dev) and its distance to the old centre."""
    zone, d_old = _zone_of_blocks(layout)
    cumulative = np.cumsum(_type_weights(layout, zone), axis=1)
    pick = (cumulative < rng.random(len(zone))[:, None]).sum(axis=1)
    types = np.array(TYPES, dtype=object)[np.minimum(pick, len(TYPES) - 1)]
    kind = layout.blocks["sb_kind"].to_numpy()
    types[kind == "park"] = "big_park"
    types[kind == "new_dev"] = "new_dev"
    return types, d_old


def _build_one(parts: _Parts, block: pd.Series, btype: str, d_old: float) -> str:
    if btype in STYLES:
        return _compound(parts, block, STYLES[btype], btype)
    if btype == "old_open":
        return _old_open(parts, block, float(np.clip(1.0 - d_old / _OLD_RADIUS_M, 0.15, 0.8)))
    handlers = {"commercial": _commercial, "industrial": _industrial, "park": _park, "big_park": _big_park,
                "public": _public, "vacant": _vacant}
    return handlers[btype](parts, block)


def build_blocks(rng: np.random.Generator, pool: NamePool, layout: Layout, streets: Streets) -> BlockContent:
    """Generate every block's content; the new development stops at :data:`NEW_DEV_HOUSEHOLDS`."""
    types, d_old = block_types(rng, layout)
    parts = _Parts(rng=rng, pool=pool, streets=streets)
    names, final = [], []
    new_dev_households = 0.0
    for block, btype, dist in zip(layout.blocks.itertuples(index=False), types, d_old):
        if btype == "new_dev":
            btype = "new_compound" if new_dev_households < NEW_DEV_HOUSEHOLDS else "construction"
        if btype == "construction":
            names.append(_vacant(parts, block, "在建工地"))
        else:
            before = len(parts.building_parts)
            names.append(_build_one(parts, block, btype, dist))
            if btype == "new_compound" and len(parts.building_parts) > before:
                new_dev_households += _raw_households_of(parts.building_parts[-1])
        final.append(btype)
    blocks = layout.blocks.assign(type=final, name=names)
    buildings = parts.buildings()
    parcels = pd.DataFrame(parts.parcels, columns=["geometry", "landuse", "name", "block_id"])
    gates = pd.DataFrame(parts.gates, columns=["block_id", "u", "v", "name"])
    return BlockContent(blocks=blocks, buildings=buildings, parcels=parcels, gates=gates)


def building_addresses(blocks: pd.DataFrame, buildings: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Street address of every building: nearest street, house number, compound and building number (栋).

    Returns the addresses and the street names.
    """
    block = buildings["block_id"].to_numpy()
    cu = (buildings["u0"] + buildings["u1"]).to_numpy() / 2
    cv = (buildings["v0"] + buildings["v1"]).to_numpy() / 2
    b = blocks.iloc[block]
    gaps = np.stack([cv - b["v0"].to_numpy(), b["v1"].to_numpy() - cv, cu - b["u0"].to_numpy(),
                     b["u1"].to_numpy() - cu], axis=1)
    side = np.argmin(gaps, axis=1)
    streets = b[["street_s", "street_n", "street_w", "street_e"]].to_numpy()[np.arange(len(block)), side]
    along = np.where(side < 2, cu, cv) - min(blocks["u0"].min(), blocks["v0"].min())
    number = (along // 24).astype(np.int64) * 2 + np.where(side % 2 == 0, 1, 2)
    order = np.lexsort((cu, -np.round(cv, -1), block))
    first = np.searchsorted(block[order], block[order], side="left")
    rank = np.empty(len(block), dtype=np.int64)
    rank[order] = np.arange(len(block)) - first + 1
    compound = b["name"].to_numpy(dtype=object)
    tail = np.where(compound != "", compound + pd.Series(rank).astype(str).to_numpy(dtype=object) + "栋", "")
    address = streets + pd.Series(number).astype(str).to_numpy(dtype=object) + "号" + tail
    return address.astype(object), streets.astype(object)
