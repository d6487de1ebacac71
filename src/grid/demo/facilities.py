"""Facilities of the demo district: every category of ``facility_categories.csv``, in numbers per
resident like a real central district, where they plausibly stand, with two designed gaps.

Counts are allocated per community, sub-district or the whole district from a
residents-per-facility rate; each facility then takes a candidate site in its
unit (street front on an arterial or a side street, inside a block, at a
compound gate) of an allowed block type, spaced from others of its category.
Bus stops follow the arterials, metro stations one line, parks their park blocks.

Designed gaps (recorded in ``design.json``):

* the **new development** at the north-west edge has no kindergarten, nursery
  or elderly day-care within :data:`NEW_DEV_CLEAR_M` of its residential buildings;
* a **cut-off community** on the south bank, between two distant bridges, has no
  health station, health centre, clinic or hospital on its side of the river within
  :data:`CUT_OFF_CLEAR_M`, while a health station stands just across the water.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from grid.demo.frame import round_plan
from grid.demo.layout import Layout
from grid.demo.names import NamePool

__all__ = ["Rule", "RULES", "Gaps", "design_gaps", "candidate_sites", "place_facilities", "NEW_DEV_CLEAR_M", "CUT_OFF_CLEAR_M",
           "NEW_DEV_CATEGORIES", "CUT_OFF_CATEGORIES"]

NEW_DEV_CLEAR_M = 700.0
"""No kindergarten/nursery/day-care within this distance (m) of the new development's buildings."""

CUT_OFF_CLEAR_M = 1000.0
"""No health facility within this distance (m) of the cut-off community on its side of the river."""

_PLAN_MARGIN = 1.25
"""Gaps are cleared on the plan with this margin, so they hold after the warp stretches distances."""

NEW_DEV_CATEGORIES = ("kindergarten", "nursery", "elderly_daycare")
CUT_OFF_CATEGORIES = ("community_health_station", "community_health_center", "clinic", "hospital")

_RESIDENTIAL = ("old_open", "old_compound", "compound", "midrise", "edge", "new_compound")
_COMPOUNDS = ("old_compound", "compound", "midrise", "edge", "new_compound")
_SHOPS = ("commercial", "old_open", "old_compound", "compound", "midrise", "edge", "new_compound")


@dataclass(frozen=True)
class Rule:
    """Where and how many of one category.

    unit : 'community', 'subdistrict' or 'district' (count allocated per unit).
    residents : residents per facility (``per_unit`` fixed count instead when > 0).
    where : 'arterial' (front on a primary/secondary street), 'local' (front on a side street),
        'street' (any front), 'inner' (inside the block) or 'gate' (at a compound gate).
    types : block types allowed (relaxed when a unit has none).
    spacing_m : least distance between two facilities of the category.
    floor_m2 : floor-area range (m2) or None.
    name : name template ({place} {community} {subdistrict} {street} {compound} {n}).
    """

    unit: str
    residents: float
    where: str
    types: tuple[str, ...]
    spacing_m: float
    name: str
    floor_m2: tuple[float, float] | None = None
    per_unit: int = 0
    share: float = 1.0


RULES: dict[str, Rule] = {
    "middle_school": Rule("subdistrict", 32000, "street", ("public",), 900, "江城市{place}中学", (8000, 16000)),
    "large_sports_ground": Rule("district", 110000, "street", ("public", "park", "big_park"), 1500, "{place}体育中心"),
    "sports_hall": Rule("district", 90000, "arterial", ("public", "commercial"), 1200, "{place}全民健身中心",
                        (3000, 8000)),
    "community_health_center": Rule("subdistrict", 0, "arterial", ("public", "commercial", "compound", "midrise"),
                                    800, "{subdistrict}街社区卫生服务中心", (1200, 3000), per_unit=1),
    "care_home": Rule("subdistrict", 45000, "street", ("public", "midrise", "edge", "old_compound"), 800,
                      "{place}养老院", (1500, 4000)),
    "nursing_home": Rule("district", 100000, "street", ("public", "edge", "midrise"), 1500, "{place}老年养护院",
                         (2000, 5000)),
    "cultural_center": Rule("subdistrict", 0, "arterial", ("public", "commercial"), 800,
                            "{subdistrict}街文化活动中心", (1500, 4000), per_unit=1),
    "subdistrict_service_center": Rule("subdistrict", 0, "arterial", ("public", "commercial"), 800,
                                       "{subdistrict}街道党群服务中心", (800, 2000), per_unit=1),
    "subdistrict_office": Rule("subdistrict", 0, "arterial", ("public",), 800, "{subdistrict}街道办事处",
                               (1500, 3000), per_unit=1),
    "police_station": Rule("subdistrict", 0, "arterial", ("public",), 800, "{subdistrict}派出所", per_unit=1),
    "post_office": Rule("district", 30000, "street", ("commercial", "compound", "old_open", "midrise"), 700,
                        "江城邮政{place}支局"),
    "primary_school": Rule("subdistrict", 16000, "local", ("public", "compound", "midrise"), 500,
                           "{place}小学", (6000, 12000)),
    "medium_sports_ground": Rule("subdistrict", 16000, "street", ("public", "park", "compound"), 500,
                                 "{place}多功能运动场"),
    "food_market": Rule("community", 10000, "street", ("old_open", "old_compound", "commercial", "midrise"), 400,
                        "{place}菜市场", (500, 2000)),
    "community_service_station": Rule("community", 0, "gate", _RESIDENTIAL + ("public", "commercial"), 150,
                                      "{community}社区党群服务中心", per_unit=1),
    "cultural_station": Rule("community", 0, "street", _RESIDENTIAL, 150, "{community}社区文化活动室", (120, 500),
                             per_unit=1, share=0.9),
    "small_sports_ground": Rule("community", 8000, "inner", _COMPOUNDS + ("park",), 200, "{compound}篮球场"),
    "outdoor_fitness": Rule("community", 5000, "inner", _RESIDENTIAL + ("park",), 150, "{compound}健身广场"),
    "kindergarten": Rule("community", 6500, "local", _COMPOUNDS + ("public",), 300, "{compound}幼儿园",
                         (1500, 3500)),
    "nursery": Rule("subdistrict", 20000, "street", _COMPOUNDS + ("commercial",), 400, "{place}托育中心",
                    (300, 800)),
    "elderly_daycare": Rule("community", 0, "local", _RESIDENTIAL, 150, "{community}社区老年人日间照料中心",
                            (250, 900), per_unit=1, share=0.85),
    "community_health_station": Rule("subdistrict", 10000, "street", _SHOPS + ("public",), 500,
                                     "{place}社区卫生服务站", (150, 400)),
    "supermarket": Rule("community", 5000, "arterial", _SHOPS, 250, "{place}生鲜超市", (300, 3000)),
    "pharmacy": Rule("community", 2300, "street", _SHOPS, 150, "{place}大药房", (60, 200)),
    "laundry": Rule("community", 6000, "street", _SHOPS, 200, "{place}干洗店"),
    "hairdresser": Rule("community", 1500, "street", _SHOPS, 80, "{place}美发"),
    "waste_collection": Rule("community", 2000, "gate", _RESIDENTIAL, 60, "{compound}垃圾分类收集点"),
    "recycling_point": Rule("community", 5000, "gate", _RESIDENTIAL, 150, "{place}再生资源回收点"),
    "public_toilet": Rule("community", 3500, "street", ("old_open", "commercial", "park", "old_compound"), 250,
                          "{street}公厕"),
    "convenience_store": Rule("community", 1000, "street", _SHOPS, 60, "{place}便利店"),
    "parcel_point": Rule("community", 2500, "gate", _COMPOUNDS + ("old_open",), 80, "{compound}快递驿站"),
    "play_area": Rule("community", 3000, "inner", _COMPOUNDS + ("park",), 100, "{compound}儿童游乐场"),
    "fitness_equipment": Rule("community", 2000, "inner", _RESIDENTIAL + ("park",), 80, "{compound}健身点"),
    "hospital": Rule("district", 80000, "arterial", ("public",), 1500, "江城市第{n}人民医院", (30000, 90000)),
    "specialist_hospital": Rule("district", 120000, "arterial", ("public", "commercial"), 1500,
                                "江城{place}专科医院", (5000, 20000)),
    "clinic": Rule("community", 4000, "street", _SHOPS, 150, "{place}诊所", (40, 200)),
    "emergency_station": Rule("district", 100000, "arterial", ("public",), 2000, "江城市急救中心{place}急救站",
                              (300, 800)),
    "high_school": Rule("district", 80000, "street", ("public",), 1500, "江城市第{n}高级中学", (15000, 30000)),
    "other_school": Rule("district", 120000, "street", ("public",), 1500, "江城{place}职业技术学院"),
}
_DEFAULT_RULE = Rule("district", 50000, "street", _SHOPS + ("public",), 500, "{place}{category}")
_WHERE = {"arterial": ("primary", "secondary"), "local": ("tertiary", "residential"),
          "street": ("primary", "secondary", "tertiary", "residential"), "inner": ("inner",), "gate": ("gate",)}
_SITE_INSET_M = 6.0  # street-front sites stand on the pavement, nearer the street than any compound path
_EVEN_SPREAD = 0.6
"""Least spacing of a category as a share of the mean spacing of its facilities (spreads them evenly)."""


@dataclass(frozen=True)
class Gaps:
    """The designed gaps (plan metres; community indices into ``people.communities``)."""

    new_dev_community: int
    new_dev_points: np.ndarray
    cut_off_community: int
    cut_off_polygon: shapely.Geometry
    cut_off_north: bool
    nearest_bridge_m: float
    across_site: tuple[float, float]


def _across_site(layout: Layout, blocks: pd.DataFrame, u: float, north: bool) -> tuple[float, float]:
    """A site on the far bank, facing the water, straight across from plan u."""
    edge = layout.v_lines[layout.river_row + 1] if north else layout.v_lines[layout.river_row]
    facing = blocks[(blocks["v0"] == edge) if north else (blocks["v1"] == edge)]
    facing = facing[~facing["type"].isin(("park", "big_park", "construction", "vacant"))]
    mid = ((facing["u0"] + facing["u1"]) / 2).to_numpy()
    row = facing.iloc[int(np.argmin(np.abs(mid - u)))]
    site_u = float(np.clip(u, row.u0 + 25.0, row.u1 - 25.0))
    return float(round_plan(site_u)), float(round_plan(edge + _SITE_INSET_M if north else edge - _SITE_INSET_M))


def _cut_off_choice(layout: Layout, blocks: pd.DataFrame, communities: pd.DataFrame, block_community: np.ndarray,
                    new_dev: int) -> tuple[int, float]:
    """The south-bank community farthest from a walkable bridge, preferring one with no bridge on its bank.

    Returns its index and the distance (m) from its centre to the nearest bridge.
    """
    bridges_u = layout.u_lines[layout.bridge_lines]
    bank = blocks[(blocks["v1"] == layout.v_lines[layout.river_row]).to_numpy()]
    owner = block_community[bank["block_id"].to_numpy()]
    best, best_score, best_distance = -1, -np.inf, 0.0
    for community in np.unique(owner[owner != new_dev]):
        lo, hi = bank["u0"].to_numpy()[owner == community].min(), bank["u1"].to_numpy()[owner == community].max()
        bridge_on_bank = bool(((bridges_u >= lo) & (bridges_u <= hi)).any())
        distance = float(np.abs(bridges_u - communities["centre_u"].iloc[community]).min())
        score = distance - (10_000.0 if bridge_on_bank else 0.0)
        if score > best_score:
            best, best_score, best_distance = int(community), score, distance
    return best, best_distance


def design_gaps(layout: Layout, blocks: pd.DataFrame, buildings: pd.DataFrame, communities: pd.DataFrame,
                block_community: np.ndarray) -> Gaps:
    """Pick the new-development community and the community cut off by the river (see module docstring)."""
    new_dev_blocks = (blocks["sb_kind"] == "new_dev").to_numpy()
    new_dev = int(block_community[new_dev_blocks][0])
    mine = new_dev_blocks[buildings["block_id"].to_numpy()] & (buildings["households"] > 0).to_numpy()
    points = np.stack([(buildings["u0"] + buildings["u1"]).to_numpy()[mine] / 2,
                       (buildings["v0"] + buildings["v1"]).to_numpy()[mine] / 2], axis=1)
    pick, to_bridge = _cut_off_choice(layout, blocks, communities, block_community, new_dev)
    return Gaps(new_dev_community=new_dev, new_dev_points=points, cut_off_community=pick,
                cut_off_polygon=communities["geometry"].iloc[pick], cut_off_north=False,
                nearest_bridge_m=to_bridge,
                across_site=_across_site(layout, blocks, float(communities["centre_u"].iloc[pick]), True))


def _front_sites(rng: np.random.Generator, blocks: pd.DataFrame) -> pd.DataFrame:
    """One street-front site per block side, inset from the street centre line."""
    parts = []
    for side, (fixed, lo, hi, sign, axis) in {"s": ("v0", "u0", "u1", 1, 0), "n": ("v1", "u0", "u1", -1, 0),
                                              "w": ("u0", "v0", "v1", 1, 1), "e": ("u1", "v0", "v1", -1, 1)}.items():
        a, b = blocks[lo].to_numpy(), blocks[hi].to_numpy()
        along = np.where(b - a > 60, rng.uniform(a + 28, np.maximum(b - 28, a + 28)), (a + b) / 2)
        across = blocks[fixed].to_numpy() + sign * _SITE_INSET_M
        u, v = (along, across) if axis == 0 else (across, along)
        parts.append(pd.DataFrame({"u": u, "v": v, "block_id": blocks["block_id"].to_numpy(),
                                   "where": blocks[f"class_{side}"].to_numpy(),
                                   "street": blocks[f"street_{side}"].to_numpy(), "along": along}))
    return pd.concat(parts, ignore_index=True)


def _inner_sites(rng: np.random.Generator, blocks: pd.DataFrame, per_block: int = 2) -> pd.DataFrame:
    b = blocks.loc[blocks.index.repeat(per_block)]
    width, height = (b["u1"] - b["u0"]).to_numpy(), (b["v1"] - b["v0"]).to_numpy()
    u = b["u0"].to_numpy() + width * rng.uniform(0.3, 0.7, len(b))
    v = b["v0"].to_numpy() + height * rng.uniform(0.3, 0.7, len(b))
    return pd.DataFrame({"u": u, "v": v, "block_id": b["block_id"].to_numpy(), "where": "inner",
                         "street": b["street_s"].to_numpy(), "along": u})


def candidate_sites(rng: np.random.Generator, blocks: pd.DataFrame, gates: pd.DataFrame,
                    block_community: np.ndarray, subdistrict_of_community: np.ndarray) -> pd.DataFrame:
    """Street fronts, block interiors and compound gates, with block type, community and sub-district."""
    gate_sites = pd.DataFrame({"u": gates["u"], "v": gates["v"], "block_id": gates["block_id"], "where": "gate",
                               "street": blocks["street_s"].to_numpy()[gates["block_id"].to_numpy()],
                               "along": gates["u"]})
    sites = pd.concat([_front_sites(rng, blocks), _inner_sites(rng, blocks), gate_sites], ignore_index=True)
    block = sites["block_id"].to_numpy()
    sites["u"], sites["v"] = round_plan(sites["u"].to_numpy()), round_plan(sites["v"].to_numpy())
    sites["type"] = blocks["type"].to_numpy()[block]
    sites["community"] = block_community[block]
    sites["subdistrict"] = subdistrict_of_community[sites["community"].to_numpy()]
    sites["block_name"] = blocks["name"].to_numpy()[block]
    return sites


@dataclass(frozen=True)
class _Context:
    rng: np.random.Generator
    pool: NamePool
    sites: pd.DataFrame
    xy: np.ndarray
    weights: np.ndarray
    communities: pd.DataFrame
    category_zh: dict[str, str]
    gaps: Gaps
    community_names: np.ndarray
    subdistrict_names: np.ndarray
    service_space_m2: np.ndarray
    area_m2: float


def _unit_counts(rng: np.random.Generator, rule: Rule, population: np.ndarray) -> np.ndarray:
    """Facilities per unit: a fixed number, or residents / rate with random rounding (at least one overall)."""
    if rule.per_unit:
        counts = np.full(len(population), rule.per_unit) * (rng.random(len(population)) < rule.share)
    elif len(population) == 1:
        counts = np.array([max(1, int(round(population[0] / rule.residents)))])
    else:
        counts = np.floor(population / rule.residents + rng.random(len(population))).astype(np.int64)
    counts = np.where(population > 0, counts, 0)  # unit numbers without residents (e.g. sub-district 0)
    if counts.sum() == 0:
        counts[int(np.argmax(population))] = 1
    return counts.astype(np.int64)


def _excluded(ctx: _Context, category: str) -> np.ndarray:
    """Sites where the designed gaps forbid ``category``."""
    u, v = ctx.sites["u"].to_numpy(), ctx.sites["v"].to_numpy()
    out = np.zeros(len(u), dtype=bool)
    gaps = ctx.gaps
    if category in NEW_DEV_CATEGORIES and len(gaps.new_dev_points):
        distance, _ = cKDTree(gaps.new_dev_points).query(np.stack([u, v], axis=1))
        out |= distance < NEW_DEV_CLEAR_M * _PLAN_MARGIN
    if category in CUT_OFF_CATEGORIES:
        same_side = ctx.sites["north"].to_numpy() == gaps.cut_off_north
        out |= same_side & (shapely.distance(gaps.cut_off_polygon, shapely.points(u, v)) < CUT_OFF_CLEAR_M * _PLAN_MARGIN)
    return out


class _Placed:
    """Points placed so far for one category (a growing array), for the spacing check."""

    def __init__(self) -> None:
        self._xy = np.empty((64, 2))
        self._n = 0

    def far_from_all(self, point: np.ndarray, spacing_m: float) -> bool:
        if self._n == 0 or spacing_m <= 0:
            return True
        d = self._xy[:self._n] - point
        return bool((d[:, 0] ** 2 + d[:, 1] ** 2).min() >= spacing_m ** 2)

    def add(self, point: np.ndarray) -> None:
        if self._n == len(self._xy):
            self._xy = np.vstack([self._xy, np.empty_like(self._xy)])
        self._xy[self._n] = point
        self._n += 1


def _pick(rng: np.random.Generator, candidates: np.ndarray, weights: np.ndarray, count: int, xy: np.ndarray,
          placed: _Placed, spacing_m: float) -> list[int]:
    """Up to ``count`` candidates in weighted random order, at least ``spacing_m`` from those placed."""
    keys = rng.random(len(candidates)) ** (1.0 / weights[candidates])
    chosen: list[int] = []
    for index in candidates[np.argsort(-keys, kind="stable")]:
        if len(chosen) == count:
            break
        if placed.far_from_all(xy[index], spacing_m):
            chosen.append(int(index))
            placed.add(xy[index])
    return chosen


def _place_unit(ctx: _Context, rule: Rule, candidates: np.ndarray, masks: tuple[np.ndarray, np.ndarray],
                count: int, placed: _Placed) -> list[int]:
    """Sites for ``count`` facilities among ``candidates``, relaxing type, then place, then spacing when short."""
    type_ok, where_ok = masks[0][candidates], masks[1][candidates]
    xy = ctx.xy
    chosen: list[int] = []
    for mask, spacing in ((type_ok & where_ok, rule.spacing_m), (where_ok, rule.spacing_m),
                          (type_ok, rule.spacing_m), (None, rule.spacing_m / 3), (None, 0.0)):
        pool = candidates if mask is None else candidates[mask]
        pool = pool[~np.isin(pool, chosen)]
        chosen += _pick(ctx.rng, pool, ctx.weights, count - len(chosen), xy, placed, spacing)
        if len(chosen) == count:
            break
    return chosen


def _name(ctx: _Context, rule: Rule, site: tuple, category: str, n: int) -> str:
    compound = site.block_name or (ctx.pool.place() + "社区")
    fields = {"place": ctx.pool.place(), "community": ctx.community_names[int(site.community)].removesuffix("社区"),
              "subdistrict": ctx.subdistrict_names[int(site.community)].removesuffix("街道"), "street": site.street,
              "compound": compound, "n": n,
              "category": ctx.category_zh.get(category, category)}
    return rule.name.format(**fields)


def _floor_area(ctx: _Context, rule: Rule, category: str, site: tuple) -> float:
    if category == "community_service_station":
        return float(ctx.service_space_m2[int(site.community)])
    if rule.floor_m2 is None:
        return float("nan")
    return float(np.round(ctx.rng.uniform(*rule.floor_m2), -1))


def _unit_sites(unit: np.ndarray, allowed: np.ndarray) -> dict[int, np.ndarray]:
    """Allowed site indices grouped by unit."""
    index = np.flatnonzero(allowed)
    order = index[np.argsort(unit[index], kind="stable")]
    values, starts = np.unique(unit[order], return_index=True)
    return dict(zip(values.tolist(), np.split(order, starts[1:])))


def _place_category(ctx: _Context, category: str, rule: Rule) -> list[dict]:
    sites = ctx.sites
    unit_column = {"community": "community", "subdistrict": "subdistrict", "district": None}[rule.unit]
    unit = sites[unit_column].to_numpy() if unit_column else np.zeros(len(sites), dtype=np.int64)
    pops = ctx.communities["population"].to_numpy(dtype=float)
    groups = {"community": np.arange(len(pops)), "subdistrict": ctx.communities["subdistrict_no"].to_numpy(),
              "district": np.zeros(len(pops), dtype=np.int64)}[rule.unit]
    counts = _unit_counts(ctx.rng, rule, np.bincount(groups, weights=pops))
    if rule.unit == "community" and category in NEW_DEV_CATEGORIES:
        counts[ctx.gaps.new_dev_community] = 0
    allowed = ~_excluded(ctx, category)
    masks = (sites["type"].isin(rule.types).to_numpy(), sites["where"].isin(_WHERE[rule.where]).to_numpy())
    spacing_m = max(rule.spacing_m, _EVEN_SPREAD * np.sqrt(ctx.area_m2 / max(int(counts.sum()), 1)))
    rule = replace(rule, spacing_m=float(spacing_m))
    by_unit, everywhere = _unit_sites(unit, allowed), np.flatnonzero(allowed)
    placed, chosen = _Placed(), []
    for unit_id in np.flatnonzero(counts):
        mine = _place_unit(ctx, rule, by_unit.get(int(unit_id), everywhere[:0]), masks, int(counts[unit_id]), placed)
        if len(mine) < counts[unit_id]:  # a unit inside a designed gap: the facility stands outside it
            mine += _place_unit(ctx, rule, everywhere, masks, int(counts[unit_id]) - len(mine), placed)
        chosen += mine
    return _rows(ctx, rule, category, np.array(chosen, dtype=np.int64))


def _rows(ctx: _Context, rule: Rule, category: str, chosen: np.ndarray) -> list[dict]:
    picked = ctx.sites.iloc[chosen]
    return [{"category": category, "name": _name(ctx, rule, site, category, n + 1), "u": site.u, "v": site.v,
             "block_id": int(site.block_id), "street": site.street, "along": site.along,
             "floor_area_m2": _floor_area(ctx, rule, category, site)}
            for n, site in enumerate(picked.itertuples(index=False))]


def _locate(blocks: pd.DataFrame, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Block index containing each plan point (-1 outside every block)."""
    boxes = shapely.box(blocks["u0"], blocks["v0"], blocks["u1"], blocks["v1"])
    point_index, block_index = shapely.STRtree(boxes).query(shapely.points(u, v), predicate="within")
    out = np.full(len(u), -1, dtype=np.int64)
    out[point_index] = block_index
    return out


def _line_stops(rng: np.random.Generator, start: float, end: float, spacing: float) -> np.ndarray:
    n = max(1, int((end - start) // spacing))
    return start + (np.arange(n) + 0.5) * (end - start) / n + rng.uniform(-0.1, 0.1, n) * spacing


def _along_lines(rng: np.random.Generator, layout: Layout, blocks: pd.DataFrame, lines: list[tuple[int, float]],
                 spacing: float) -> pd.DataFrame:
    """Stops every ``spacing`` m along lines (orient, coord), offset into the block beside the street."""
    sb = layout.superblocks
    rows = []
    for orient, coord in lines:
        on = sb[(sb["v0"] == coord) | (sb["v1"] == coord)] if orient == 0 else sb[(sb["u0"] == coord) | (sb["u1"] == coord)]
        if on.empty:
            continue
        lo, hi = (on["u0"].min(), on["u1"].max()) if orient == 0 else (on["v0"].min(), on["v1"].max())
        along = _line_stops(rng, lo, hi, spacing)
        side = np.where(np.arange(len(along)) % 2 == 0, 1.0, -1.0)
        for flip in (1.0, -1.0):
            across = coord + flip * side * _SITE_INSET_M
            u, v = (along, across) if orient == 0 else (across, along)
            block = _locate(blocks, u, v)
            rows.append(pd.DataFrame({"u": u, "v": v, "block_id": block, "orient": orient, "coord": coord,
                                      "along": along, "try": flip}))
    frame = pd.concat(rows, ignore_index=True)
    frame = frame[frame["block_id"] >= 0].drop_duplicates(["orient", "coord", "along"], keep="first")
    return frame.reset_index(drop=True)


def _cross_street(blocks: pd.DataFrame, stops: pd.DataFrame) -> np.ndarray:
    """Name of the cross street nearest each stop (the block side perpendicular to its line)."""
    b = blocks.iloc[stops["block_id"].to_numpy()]
    ew = stops["orient"].to_numpy() == 0
    near_w = np.abs(stops["u"].to_numpy() - b["u0"].to_numpy()) < np.abs(stops["u"].to_numpy() - b["u1"].to_numpy())
    near_s = np.abs(stops["v"].to_numpy() - b["v0"].to_numpy()) < np.abs(stops["v"].to_numpy() - b["v1"].to_numpy())
    return np.where(ew, np.where(near_w, b["street_w"], b["street_e"]), np.where(near_s, b["street_s"], b["street_n"]))


def _line_name(layout: Layout, orient: int, coord: float) -> str:
    lines, names = (layout.v_lines, layout.v_names) if orient == 0 else (layout.u_lines, layout.u_names)
    return str(names[int(np.argmin(np.abs(lines - coord)))])


def _bus_stops(rng: np.random.Generator, layout: Layout, blocks: pd.DataFrame) -> list[dict]:
    """Bus stops (公交车站) every ~450 m along every arterial, named street + cross street."""
    lines = [(0, float(c)) for c, k in zip(layout.v_lines, layout.v_class) if k in ("primary", "secondary")]
    lines += [(1, float(c)) for c, k in zip(layout.u_lines, layout.u_class) if k in ("primary", "secondary")]
    stops = _along_lines(rng, layout, blocks, lines, 450.0)
    cross = _cross_street(blocks, stops)
    return [{"category": "bus_stop", "name": f"{_line_name(layout, s.orient, s.coord)}{x}站", "u": s.u, "v": s.v,
             "block_id": int(s.block_id), "street": _line_name(layout, s.orient, s.coord), "along": s.along,
             "floor_area_m2": float("nan")} for s, x in zip(stops.itertuples(index=False), cross)]


def _metro_lines(layout: Layout, scale: float) -> list[tuple[int, float]]:
    """Primary arterials the metro runs under: the one nearest the old town, then others spread out."""
    primaries_v = [float(c) for c, k in zip(layout.v_lines, layout.v_class) if k == "primary"]
    primaries_u = [float(c) for c, k in zip(layout.u_lines, layout.u_class) if k == "primary"]
    first = min(primaries_v, key=lambda c: abs(c - layout.old_centre[1]))
    lines = [(0, first)]
    for k in range(1, max(1, int(round(np.sqrt(scale) / 1.5)))):
        pool = primaries_u if k % 2 else [c for c in primaries_v if abs(c - first) > 2500]
        if pool:
            lines.append((k % 2, pool[(k * 7) % len(pool)]))
    return lines


def _metro_stations(rng: np.random.Generator, layout: Layout, blocks: pd.DataFrame, pool: NamePool,
                    scale: float) -> list[dict]:
    stops = _along_lines(rng, layout, blocks, _metro_lines(layout, scale), 1150.0)
    return [{"category": "metro_station", "name": f"{pool.place()}站", "u": s.u, "v": s.v,
             "block_id": int(s.block_id), "street": _line_name(layout, s.orient, s.coord), "along": s.along,
             "floor_area_m2": float("nan")} for s in stops.itertuples(index=False)]


def _parks(blocks: pd.DataFrame) -> list[dict]:
    parks = blocks[blocks["type"].isin(("park", "big_park"))]
    return [{"category": "park", "name": b.name, "u": float(round_plan((b.u0 + b.u1) / 2)),
             "v": float(round_plan((b.v0 + b.v1) / 2)), "block_id": int(b.block_id), "street": b.street_s,
             "along": (b.u0 + b.u1) / 2, "floor_area_m2": float("nan")} for b in parks.itertuples(index=False)]


def _across_station(ctx: _Context, blocks: pd.DataFrame) -> list[dict]:
    """The health station just across the river from the cut-off community."""
    u, v = ctx.gaps.across_site
    block = int(_locate(blocks, np.array([u]), np.array([v]))[0])
    return [{"category": "community_health_station", "name": f"{ctx.pool.place()}江畔社区卫生服务站", "u": u, "v": v,
             "block_id": block, "street": blocks["street_s"].iloc[block], "along": u, "floor_area_m2": 260.0}]


def _addresses(frame: pd.DataFrame, origin: float) -> np.ndarray:
    number = (np.floor((frame["along"].to_numpy() - origin) / 12.0).astype(np.int64) // 2) * 2 + 1
    return (frame["street"].astype(str) + pd.Series(number, index=frame.index).astype(str) + "号").to_numpy()


def place_facilities(rng: np.random.Generator, pool: NamePool, layout: Layout, blocks: pd.DataFrame,
                     sites: pd.DataFrame, communities: pd.DataFrame, categories: pd.DataFrame, gaps: Gaps,
                     *, scale: float) -> pd.DataFrame:
    """All facilities, one row each (category, name, address, floor_area_m2, plan u/v, block_id)."""
    block_hh = blocks["households"].to_numpy(dtype=float)
    sites = sites.assign(north=sites["v"].to_numpy() > layout.river_v)
    ctx = _Context(rng=rng, pool=pool, sites=sites, xy=sites[["u", "v"]].to_numpy(), weights=block_hh[sites["block_id"].to_numpy()] + 30.0,
                   communities=communities, category_zh=dict(zip(categories["category"], categories["name_zh"])),
                   gaps=gaps, community_names=communities["name"].to_numpy(dtype=object),
                   subdistrict_names=communities["subdistrict"].to_numpy(dtype=object),
                   service_space_m2=communities["service_space_m2"].to_numpy(dtype=float),
                   area_m2=float(shapely.area(communities["geometry"].to_numpy()).sum()))
    rows: list[dict] = []
    for category in categories["category"]:
        if category == "bus_stop":
            rows += _bus_stops(rng, layout, blocks)
        elif category == "metro_station":
            rows += _metro_stations(rng, layout, blocks, pool, scale)
        elif category == "park":
            rows += _parks(blocks)
        else:
            rows += _place_category(ctx, category, RULES.get(category, _DEFAULT_RULE))
        if category == "community_health_station":
            rows += _across_station(ctx, blocks)
    frame = pd.DataFrame(rows)
    frame["address"] = _addresses(frame, float(min(layout.u_lines[0], layout.v_lines[0])))
    frame.insert(0, "facility_id", [f"SS{i:06d}" for i in range(1, len(frame) + 1)])
    return frame
