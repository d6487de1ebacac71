"""12345 hotline records (工单) for the demo district: one year before the as-of date.

Volumes follow residents; the day has office-hour peaks (noise complaints peak
at night), the week is quieter at weekends and on public holidays, and the year
has its seasons: summer noise, power cuts and water pressure, plum-rain
flooding (渍水) in June-July, school places in August, cold homes in winter.
Property-management complaints come from gated compounds, noise from beside
arterials, shops, building sites and factories, housing safety from the old
town; elderly-care and childcare complaints cluster in the new development that
lacks a day-care centre and kindergarten, medical-access complaints in the
community cut off by the river.

Every order runs through the closed loop: response within 2 h (emergency) or
24 h, completion within 3 (emergency, urgent) or 5 working days (weekends and
approximate public holidays skipped, make-up working weekends ignored); most
close in time, about a tenth run late, some are reopened; closed orders get a
satisfaction rating when the follow-up call reaches the resident.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from grid.demo.names import mobile_numbers, person_names
from grid.governance.calendar import CALENDAR_FILE, WorkCalendar, add_working_days, read_calendar
from grid.settings import get_settings

__all__ = ["COMPLAINTS_PER_SCALE", "CATEGORY_WEIGHTS", "Place", "building_features", "make_complaints"]

COMPLAINTS_PER_SCALE = 50_000
"""Records per year in the default district (scale 1)."""


def _calendar() -> WorkCalendar:
    """The official working-day calendar shipped in ``geodata/governance`` (with 调休 makeup days)."""
    return read_calendar(get_settings().governance_dir / CALENDAR_FILE)


_MONTH_VOLUME = np.array([0.92, 0.78, 0.95, 0.98, 1.02, 1.12, 1.25, 1.22, 1.02, 0.95, 0.95, 0.94])
_WEEKDAY_VOLUME = np.array([1.0, 1.0, 0.98, 0.98, 0.96, 0.78, 0.72])
_HOLIDAY_VOLUME = 0.55

CATEGORY_WEIGHTS = {
    "environment_sanitation/garbage": 4.0, "environment_sanitation/street_cleaning": 2.0,
    "environment_sanitation/illegal_dumping": 1.2, "environment_sanitation/pests": 1.5,
    "environment_sanitation/public_toilets": 0.5, "environment_sanitation/recycling": 0.8,
    "noise/construction": 3.5, "noise/commercial": 2.0, "noise/traffic": 1.5, "noise/neighbourhood": 3.5,
    "noise/industrial": 0.5, "property_management/service_quality": 4.0, "property_management/fees": 2.0,
    "property_management/common_facilities": 4.0, "property_management/owners_committee": 0.8,
    "property_management/estate_parking": 2.2, "roads_traffic/road_damage": 2.5,
    "roads_traffic/street_lighting": 1.5, "roads_traffic/traffic_facilities": 1.0, "roads_traffic/parking": 2.5,
    "roads_traffic/abandoned_vehicles": 0.5, "roads_traffic/public_transport": 1.0,
    "water_power/water_supply": 4.0, "water_power/drainage": 3.0, "water_power/power": 3.0,
    "water_power/gas": 1.2, "water_power/heating": 0.8, "elderly_social/elderly_care": 2.0,
    "elderly_social/social_assistance": 1.5, "elderly_social/disability": 0.5,
    "elderly_social/community_services": 1.0, "market_supervision/food_safety": 1.5,
    "market_supervision/consumer_rights": 3.5, "market_supervision/pricing": 1.0,
    "market_supervision/licensing": 1.0, "housing/building_safety": 2.0, "housing/renovation": 1.5,
    "housing/rental_housing": 1.2, "housing/expropriation": 1.0, "housing/affordable_housing": 1.3,
    "urban_management/illegal_construction": 2.5, "urban_management/street_vendors": 2.5,
    "urban_management/advertising": 1.0, "urban_management/cityscape": 1.8, "urban_management/snow_ice": 0.2,
    "public_safety/fire_safety": 1.5, "public_safety/public_order": 1.0, "public_safety/animal_control": 0.8,
    "public_safety/facility_hazards": 0.7, "education_health/schools": 2.0,
    "education_health/medical_services": 1.5, "education_health/public_health": 1.0,
    "education_health/childcare": 0.5, "greening/tree_maintenance": 1.0, "greening/fallen_trees": 0.4,
    "greening/grass_mowing": 0.6, "greening/parks": 0.6, "greening/green_damage": 0.4,
    "other/enquiry_general": 2.5, "other/praise": 0.5, "other/government_services": 2.0,
    "other/follow_up": 0.8, "other/misc": 0.2,
}
"""Relative yearly volume of each leaf category (modelled on published 12345 shares; not official)."""

_SEASON = {
    "noise": [0.8, 0.7, 0.9, 1.0, 1.2, 1.4, 1.5, 1.5, 1.2, 1.0, 0.9, 0.8],
    "water_power/power": [0.9, 0.8, 0.8, 0.8, 1.0, 1.4, 2.2, 2.2, 1.3, 0.9, 0.8, 0.9],
    "water_power/water_supply": [1.0, 0.9, 0.9, 0.9, 1.0, 1.3, 1.6, 1.6, 1.2, 1.0, 0.9, 1.1],
    "water_power/drainage": [0.5, 0.5, 0.8, 1.0, 1.3, 2.6, 2.8, 1.4, 0.9, 0.7, 0.6, 0.5],
    "water_power/heating": [3.0, 2.5, 1.0, 0.2, 0.05, 0.05, 0.05, 0.05, 0.1, 0.3, 1.2, 2.8],
    "water_power/gas": [1.4, 1.3, 1.1, 0.9, 0.8, 0.7, 0.7, 0.7, 0.8, 0.9, 1.1, 1.4],
    "urban_management/snow_ice": [5.0, 3.0, 0.3, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.2, 1.5],
    "environment_sanitation/pests": [0.3, 0.3, 0.6, 1.0, 1.4, 1.8, 2.0, 1.8, 1.3, 0.8, 0.4, 0.3],
    "greening": [0.6, 0.6, 0.9, 1.1, 1.2, 1.4, 1.6, 1.5, 1.1, 0.8, 0.6, 0.6],
    "education_health/schools": [0.6, 0.7, 0.8, 1.0, 1.4, 1.8, 2.0, 2.4, 1.6, 0.7, 0.6, 0.6],
    "market_supervision/consumer_rights": [1.1, 1.3, 1.0, 0.9, 0.9, 1.0, 1.0, 1.0, 1.0, 1.0, 1.4, 1.1],
    "other/government_services": [1.5, 1.2, 1.1, 1.0, 0.9, 0.9, 0.9, 0.9, 1.0, 1.0, 1.0, 1.1],
}

_HOURS = {
    "day": [0.2, 0.1, 0.1, 0.1, 0.1, 0.3, 0.8, 2.0, 4.5, 6.5, 6.8, 5.5, 3.5, 4.0, 5.5, 6.0, 5.5, 4.5, 3.0, 2.5,
            2.2, 1.8, 1.0, 0.5],
    "night": [2.5, 2.0, 1.2, 0.6, 0.3, 0.3, 0.6, 1.5, 2.5, 3.0, 3.0, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5, 2.8, 3.5, 4.5,
              6.0, 7.0, 6.5, 4.5],
    "any": [1.0, 0.8, 0.6, 0.5, 0.5, 0.8, 1.5, 3.0, 4.0, 4.5, 4.5, 4.0, 3.5, 3.8, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0,
            3.5, 3.0, 2.5, 1.5],
}
_NIGHT = ("noise/construction", "noise/commercial", "noise/traffic", "noise/neighbourhood", "public_safety/public_order")
_ANY_HOUR = ("water_power/power", "water_power/water_supply", "water_power/gas", "water_power/drainage",
             "greening/fallen_trees", "public_safety/facility_hazards", "public_safety/fire_safety")



_REQUEST_TYPES = ("咨询", "求助", "投诉", "举报", "意见建议")
_REQUEST_MIX = {
    "": (0.15, 0.30, 0.42, 0.08, 0.05),
    "noise": (0.02, 0.10, 0.78, 0.08, 0.02),
    "property_management": (0.08, 0.25, 0.60, 0.02, 0.05),
    "water_power": (0.15, 0.60, 0.20, 0.0, 0.05),
    "market_supervision": (0.10, 0.10, 0.50, 0.28, 0.02),
    "urban_management/illegal_construction": (0.05, 0.05, 0.30, 0.60, 0.0),
    "elderly_social/social_assistance": (0.45, 0.45, 0.08, 0.0, 0.02),
    "housing/expropriation": (0.55, 0.20, 0.20, 0.0, 0.05),
    "housing/affordable_housing": (0.60, 0.20, 0.15, 0.0, 0.05),
    "education_health/schools": (0.60, 0.15, 0.15, 0.02, 0.08),
    "roads_traffic/public_transport": (0.20, 0.05, 0.25, 0.0, 0.50),
    "greening/parks": (0.10, 0.20, 0.30, 0.0, 0.40),
    "other/enquiry_general": (0.85, 0.10, 0.02, 0.0, 0.03),
    "other/government_services": (0.70, 0.20, 0.08, 0.0, 0.02),
    "other/praise": (0.0, 0.0, 0.0, 0.0, 1.0),
}
_EMERGENCY = {"water_power/gas": 0.25, "public_safety/fire_safety": 0.2, "public_safety/facility_hazards": 0.15,
              "greening/fallen_trees": 0.25, "water_power/power": 0.08, "water_power/water_supply": 0.05,
              "water_power/drainage": 0.06, "": 0.005}
_CHANNELS = ("12345热线", "微信公众号", "手机应用", "网站", "网格员上报", "短信", "来访")
_CHANNEL_MIX = np.array([0.58, 0.14, 0.10, 0.05, 0.08, 0.02, 0.03])
_SLOWNESS = {"housing/expropriation": 2.2, "urban_management/illegal_construction": 1.6, "property_management": 1.25,
             "housing/building_safety": 1.3, "roads_traffic/road_damage": 1.2, "market_supervision/consumer_rights": 1.3}
_STATUS_LABEL = {"received": "受理", "dispatched": "已派单", "in_progress": "办理中", "replied": "已回复",
                 "closed": "已办结", "reopened": "退回重办", "duplicate": "重复件", "cancelled": "已撤销"}


def _by_prefix(category: str, table: dict, default_key: str = "") -> object:
    """The value of the longest key that is ``category`` or a prefix of it (``default_key`` otherwise)."""
    matches = [k for k in table if k and (category == k or category.startswith(k + "/"))]
    return table[max(matches, key=len)] if matches else table[default_key]


def _leaf_table(categories: pd.DataFrame) -> pd.DataFrame:
    """Leaf categories with their Chinese names, yearly weights and 12 monthly season factors."""
    leaves = categories[categories["parent"].fillna("") != ""].reset_index(drop=True)
    weights = np.array([CATEGORY_WEIGHTS.get(c, 0.3) for c in leaves["category"]])
    season = np.array([_by_prefix(c, _SEASON | {"": [1.0] * 12}) for c in leaves["category"]], dtype=float)
    return leaves.assign(weight=weights, **{f"m{m}": season[:, m] for m in range(12)})


def _sample_days(rng: np.random.Generator, n: int, as_of: date) -> np.ndarray:
    """Days of the 365 before ``as_of``, weighted by month, weekday and public holidays."""
    end = np.datetime64(as_of, "D")
    days = end - np.arange(365, 0, -1)
    month = days.astype("datetime64[M]").astype(np.int64) % 12
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    weight = _MONTH_VOLUME[month] * _WEEKDAY_VOLUME[weekday] * np.where(np.isin(days, _calendar().holidays), _HOLIDAY_VOLUME, 1)
    return np.sort(rng.choice(days, size=n, p=weight / weight.sum()))


def _sample_categories(rng: np.random.Generator, days: np.ndarray, leaves: pd.DataFrame) -> np.ndarray:
    """Leaf index per record, drawn from the month's seasonal mix (neighbourhood noise up at weekends)."""
    month = days.astype("datetime64[M]").astype(np.int64) % 12
    weekend = ((days.astype(np.int64) + 3) % 7) >= 5
    noisy = leaves["category"].isin(("noise/neighbourhood", "noise/commercial")).to_numpy()
    out = np.empty(len(days), dtype=np.int64)
    for m in range(12):
        for w in (False, True):
            take = np.flatnonzero((month == m) & (weekend == w))
            p = leaves["weight"].to_numpy() * leaves[f"m{m}"].to_numpy() * np.where(noisy & w, 1.3, 1.0)
            out[take] = rng.choice(len(p), size=len(take), p=p / p.sum())
    return out


def _sample_times(rng: np.random.Generator, days: np.ndarray, leaf: np.ndarray, leaves: pd.DataFrame) -> np.ndarray:
    """Received times (datetime64[s], local): hour from the category's daily rhythm, then minute and second."""
    ids = leaves["category"].to_numpy()
    profile = np.where(np.isin(ids, _NIGHT), "night", np.where(np.isin(ids, _ANY_HOUR), "any", "day"))[leaf]
    seconds = np.empty(len(days), dtype=np.int64)
    for name, weights in _HOURS.items():
        take = np.flatnonzero(profile == name)
        p = np.array(weights) / np.sum(weights)
        seconds[take] = rng.choice(24, size=len(take), p=p) * 3600 + rng.integers(0, 3600, len(take))
    return days.astype("datetime64[s]") + seconds.astype("timedelta64[s]")

_GATED = ("old_compound", "compound", "midrise", "edge", "new_compound")
_LOCATION_FACTORS = (  # (category prefix, building feature, factor)
    ("property_management", "gated", 3.0), ("property_management", "old_open", 0.2),
    ("noise/construction", "near_site", 8.0), ("noise/commercial", "near_shops", 4.0),
    ("noise/traffic", "near_arterial", 4.0), ("noise/industrial", "near_factory", 10.0),
    ("noise/neighbourhood", "gated", 1.2), ("environment_sanitation", "old", 1.8),
    ("environment_sanitation/public_toilets", "old_open", 3.0), ("urban_management/street_vendors", "near_market", 4.0),
    ("urban_management/street_vendors", "old", 2.0), ("urban_management/illegal_construction", "old", 2.0),
    ("housing/building_safety", "old", 3.0), ("housing/building_safety", "lilong", 2.0),
    ("housing/rental_housing", "old", 1.5), ("housing/expropriation", "lilong", 4.0),
    ("water_power/drainage", "near_river", 2.5), ("water_power/drainage", "old", 1.5),
    ("water_power/heating", "gated", 1.5), ("elderly_social/elderly_care", "new_dev", 8.0),
    ("education_health/childcare", "new_dev", 10.0), ("education_health/medical_services", "cut_off", 6.0),
    ("market_supervision", "shops", 3.0), ("market_supervision", "near_market", 2.0),
    ("roads_traffic/parking", "old", 1.5), ("roads_traffic/parking", "gated", 1.3),
    ("roads_traffic", "near_arterial", 1.5), ("greening/parks", "near_park", 2.0),
)


def _nearest_m(targets: np.ndarray, points: np.ndarray) -> np.ndarray:
    if len(targets) == 0:
        return np.full(len(points), np.inf)
    return cKDTree(targets).query(points)[0]


@dataclass(frozen=True)
class Place:
    """What complaints need to know about the district (plan metres)."""

    buildings: pd.DataFrame
    blocks: pd.DataFrame
    community_of_building: np.ndarray
    share_65plus: np.ndarray
    facilities: pd.DataFrame
    river_v: float
    new_dev_blocks: np.ndarray
    cut_off_community: int
    building_address: np.ndarray
    building_street: np.ndarray
    community_name: np.ndarray
    subdistrict_name: np.ndarray


def building_features(place: Place) -> dict[str, np.ndarray]:
    """Boolean context of every building (gated compound, old town, beside an arterial, near shops...)."""
    b, blocks = place.buildings, place.blocks
    block = b["block_id"].to_numpy()
    btype = blocks["type"].to_numpy()[block]
    xy = np.stack([(b["u0"] + b["u1"]).to_numpy() / 2, (b["v0"] + b["v1"]).to_numpy() / 2], axis=1)
    side = np.stack([xy[:, 1] - blocks["v0"].to_numpy()[block], blocks["v1"].to_numpy()[block] - xy[:, 1],
                     xy[:, 0] - blocks["u0"].to_numpy()[block], blocks["u1"].to_numpy()[block] - xy[:, 0]], axis=1)
    classes = blocks[["class_s", "class_n", "class_w", "class_e"]].to_numpy()[block]
    landuse = b["landuse"].to_numpy()
    fac = place.facilities
    fac_xy = fac[["u", "v"]].to_numpy()

    def near(mask: np.ndarray, metres: float) -> np.ndarray:
        return _nearest_m(xy[mask], xy) < metres

    return {"gated": np.isin(btype, _GATED), "old": np.isin(btype, ("old_open", "old_compound")),
            "old_open": btype == "old_open", "lilong": b["kind"].to_numpy() == "lilong",
            "shops": landuse == "commercial", "near_shops": near(landuse == "commercial", 150.0),
            "near_factory": near(landuse == "industrial", 400.0),
            "near_site": _nearest_m(_block_centres(blocks, ("construction", "vacant")), xy) < 350.0,
            "near_arterial": np.any(np.isin(classes, ("primary", "secondary")) & (side < 70.0), axis=1),
            "near_river": np.abs(xy[:, 1] - place.river_v) < 500.0,
            "near_market": _nearest_m(fac_xy[fac["category"].to_numpy() == "food_market"], xy) < 300.0,
            "near_park": _nearest_m(fac_xy[fac["category"].to_numpy() == "park"], xy) < 300.0,
            "new_dev": place.new_dev_blocks[block],
            "cut_off": place.community_of_building == place.cut_off_community}


def _block_centres(blocks: pd.DataFrame, types: tuple[str, ...]) -> np.ndarray:
    take = blocks["type"].isin(types).to_numpy()
    return np.stack([(blocks["u0"] + blocks["u1"]).to_numpy()[take] / 2,
                     (blocks["v0"] + blocks["v1"]).to_numpy()[take] / 2], axis=1)


def _location_weights(category: str, base: np.ndarray, features: dict[str, np.ndarray],
                      share_65plus: np.ndarray) -> np.ndarray:
    weight = base.copy()
    for prefix, feature, factor in _LOCATION_FACTORS:
        if category == prefix or category.startswith(prefix + "/"):
            weight = np.where(features[feature], weight * factor, weight)
    if category.startswith("elderly_social"):
        weight = weight * share_65plus / 0.15
    return weight


def _sample_buildings(rng: np.random.Generator, leaf: np.ndarray, leaves: pd.DataFrame, place: Place) -> np.ndarray:
    """Building of each record: residents (and shop floor space) weighted by the category's context."""
    b = place.buildings
    features = building_features(place)
    shop_floor = np.where(b["landuse"] == "commercial",
                          (b["u1"] - b["u0"]) * (b["v1"] - b["v0"]) * b["floors"] / 300.0, 0.0)
    base = b["households"].to_numpy(dtype=float) + shop_floor
    share = place.share_65plus[place.community_of_building]
    out = np.empty(len(leaf), dtype=np.int64)
    for index, category in enumerate(leaves["category"]):
        take = np.flatnonzero(leaf == index)
        if len(take):
            cumulative = np.cumsum(_location_weights(category, base, features, share))
            out[take] = np.searchsorted(cumulative, rng.random(len(take)) * cumulative[-1], side="right")
    return np.minimum(out, len(b) - 1)


def _points(rng: np.random.Generator, building: np.ndarray, place: Place) -> tuple[np.ndarray, np.ndarray]:
    """A point at or just outside the building, kept inside its block (plan metres)."""
    b = place.buildings.iloc[building]
    blk = place.blocks.iloc[b["block_id"].to_numpy()]
    u = rng.uniform(b["u0"].to_numpy() - 6, b["u1"].to_numpy() + 6)
    v = rng.uniform(b["v0"].to_numpy() - 6, b["v1"].to_numpy() + 6)
    u = np.clip(u, blk["u0"].to_numpy() + 3, blk["u1"].to_numpy() - 3)
    v = np.clip(v, blk["v0"].to_numpy() + 3, blk["v1"].to_numpy() - 3)
    return np.round(u, 1), np.round(v, 1)


def _per_category_choice(rng: np.random.Generator, leaf: np.ndarray, leaves: pd.DataFrame,
                         mix_of: Callable[[str], object], n_options: int) -> np.ndarray:
    """Option index per record, drawn from the mix ``mix_of(category)`` of its category."""
    out = np.zeros(len(leaf), dtype=np.int64)
    for index, category in enumerate(leaves["category"]):
        take = np.flatnonzero(leaf == index)
        if len(take):
            p = np.asarray(mix_of(category), dtype=float)
            out[take] = rng.choice(n_options, size=len(take), p=p / p.sum())
    return out


def _urgency(category: str) -> tuple[float, float, float]:
    emergency = float(_by_prefix(category, _EMERGENCY))
    urgent = 0.12 if category.startswith(("water_power", "elderly_social")) else 0.07
    return emergency, urgent, 1.0 - emergency - urgent


def _channel(category: str) -> np.ndarray:
    mix = _CHANNEL_MIX.copy()
    if category.startswith(("urban_management", "environment_sanitation")):
        mix[4] *= 3.0  # grid managers report what they see on patrol
    return mix


def _business_due(received: np.ndarray, working_days: np.ndarray) -> np.ndarray:
    """End (23:59:59) of the n-th working day after the day of ``received`` (local times), on the
    official calendar with its makeup working days: the rule ``grid`` applies to 12345 time limits."""
    day = received.astype("datetime64[D]")
    due_day = add_working_days(_calendar(), day, working_days)
    return due_day.astype("datetime64[s]") + np.timedelta64(86399, "s")


def _lognormal(rng: np.random.Generator, median: float, sigma: float, n: int) -> np.ndarray:
    return median * np.exp(sigma * rng.standard_normal(n))


@dataclass(frozen=True)
class _Outcome:
    kind: np.ndarray  # 0 handled, 1 answered at once, 2 duplicate, 3 cancelled
    responded: np.ndarray
    due: np.ndarray
    closed: np.ndarray
    reopened: np.ndarray
    reopen_at: np.ndarray


def _outcomes(rng: np.random.Generator, received: np.ndarray, urgency: np.ndarray, request: np.ndarray,
              slowness: np.ndarray) -> _Outcome:
    """How each order ends: handled within (mostly) its limit, answered at intake, duplicate or withdrawn."""
    n = len(received)
    limit_h = np.where(urgency == 0, 2.0, 24.0)
    responded = received + (np.maximum(limit_h * _lognormal(rng, 0.2, 0.9, n), 1 / 60) * 3600).astype("timedelta64[s]")
    due = _business_due(received, np.where(urgency <= 1, 3, 5))
    roll = rng.random(n)
    kind = np.where(roll < 0.025, 2, np.where(roll < 0.035, 3, 0))
    kind = np.where((kind == 0) & (request == 0) & (rng.random(n) < 0.55), 1, kind)
    window = (due - received).astype(np.float64)
    late_factor = _lognormal(rng, 0.42, 0.62, n) * slowness
    closed = received + (late_factor * window).astype("timedelta64[s]")
    closed = np.where(kind == 1, received + rng.integers(180, 1500, n).astype("timedelta64[s]"), closed)
    closed = np.where(kind == 2, received + rng.integers(1800, 6 * 3600, n).astype("timedelta64[s]"), closed)
    closed = np.where(kind == 3, received + rng.integers(1800, 48 * 3600, n).astype("timedelta64[s]"), closed)
    responded = np.where(kind == 0, responded, np.minimum(responded, closed))
    reopened = (kind == 0) & (rng.random(n) < 0.05)
    reopen_at = closed + rng.integers(86400, 4 * 86400, n).astype("timedelta64[s]")
    new_due = _business_due(reopen_at, np.full(n, 5))
    second = reopen_at + (_lognormal(rng, 0.35, 0.6, n) * (new_due - reopen_at).astype(np.float64)).astype("timedelta64[s]")
    return _Outcome(kind=kind, responded=responded, due=np.where(reopened, new_due, due),
                    closed=np.where(reopened, second, closed), reopened=reopened, reopen_at=reopen_at)


def _status(outcome: _Outcome, received: np.ndarray, as_of: np.datetime64) -> np.ndarray:
    """Status on the as-of date, walking the closed loop."""
    kind, closed, responded = outcome.kind, outcome.closed, outcome.responded
    span = (closed - responded).astype(np.float64)
    status = np.full(len(kind), "closed", dtype=object)
    still_open = closed > as_of
    status[still_open & (as_of < responded)] = "received"
    mid = responded + (0.3 * span).astype("timedelta64[s]")
    late = closed - (0.1 * (closed - received).astype(np.float64)).astype("timedelta64[s]")
    status[still_open & (as_of >= responded) & (as_of < mid)] = "dispatched"
    status[still_open & (as_of >= mid) & (as_of < late)] = "in_progress"
    status[still_open & (as_of >= late)] = "replied"
    status[still_open & outcome.reopened & (outcome.reopen_at <= as_of)] = "reopened"
    status[~still_open & (kind == 2)] = "duplicate"
    status[~still_open & (kind == 3)] = "cancelled"
    return status


def _satisfaction(rng: np.random.Generator, status: np.ndarray, overdue: np.ndarray, reopened: np.ndarray,
                  kind: np.ndarray) -> np.ndarray:
    """满意 / 基本满意 / 不满意 from the follow-up call (80 % reached), worse when late or reopened."""
    roll = rng.random(len(status))
    good = np.where(reopened, 0.35, np.where(overdue, 0.45, 0.80))
    fair = np.where(reopened, 0.35, np.where(overdue, 0.30, 0.15))
    rating = np.where(roll < good, "满意", np.where(roll < good + fair, "基本满意", "不满意")).astype(object)
    rated = (status == "closed") & (kind <= 1) & (rng.random(len(status)) < 0.8)
    return np.where(rated, rating, "")

_TEXT = {
    "environment_sanitation/garbage": ("垃圾桶满溢多日无人清运，气味难闻。", "楼道口堆放生活垃圾，请尽快清运。"),
    "environment_sanitation/street_cleaning": ("路面垃圾和积水较多，环卫未及时清扫。",),
    "environment_sanitation/illegal_dumping": ("有人夜间偷倒建筑垃圾，已堆放多日。",),
    "environment_sanitation/pests": ("老鼠蟑螂较多，请求消杀。", "绿化带蚊虫滋生，请求喷药消杀。"),
    "environment_sanitation/public_toilets": ("公厕卫生条件差，无人保洁。",),
    "environment_sanitation/recycling": ("垃圾分类投放点设置不合理，希望调整位置。",),
    "noise/construction": ("工地夜间施工噪音很大，影响休息。", "工地清晨六点前开工，噪音扰民。"),
    "noise/commercial": ("商铺音响外放声音过大。", "餐馆排风扇噪音扰民。"),
    "noise/traffic": ("夜间货车鸣笛，噪音扰民。", "道路车流噪音大，希望设置隔音屏障。"),
    "noise/neighbourhood": ("楼上住户夜间噪音扰民。", "广场舞音响声音太大，影响休息。"),
    "noise/industrial": ("工厂设备运转噪音扰民。",),
    "property_management/service_quality": ("物业服务差，保安不在岗，保洁不到位。",),
    "property_management/fees": ("物业费上涨未经业主大会同意。",),
    "property_management/common_facilities": ("电梯经常故障停运，物业拖延维修。", "单元门禁损坏多日未修。"),
    "property_management/owners_committee": ("业主委员会换届选举不公开。",),
    "property_management/estate_parking": ("小区车位不足，消防通道被占用。",),
    "roads_traffic/road_damage": ("路面破损坑洼，存在安全隐患。",),
    "roads_traffic/street_lighting": ("路灯不亮，夜间出行不便。",),
    "roads_traffic/traffic_facilities": ("路口红绿灯故障。",),
    "roads_traffic/parking": ("机动车乱停乱放，占用人行道。",),
    "roads_traffic/abandoned_vehicles": ("僵尸车长期占用车位。",),
    "roads_traffic/public_transport": ("公交车班次太少，建议增加班次。",),
    "water_power/water_supply": ("停水未提前通知。", "自来水水压低，水质发黄。"),
    "water_power/drainage": ("下水道堵塞，污水外溢。", "下雨后路面渍水严重，无法通行。"),
    "water_power/power": ("突然停电，请尽快恢复供电。",),
    "water_power/gas": ("闻到燃气味，疑似燃气泄漏。",),
    "water_power/heating": ("冬季供暖温度不达标。",),
    "elderly_social/elderly_care": ("附近没有老年人日间照料中心，家中老人白天无人照看。", "咨询高龄津贴申领办法。"),
    "elderly_social/social_assistance": ("咨询低保申请条件。",),
    "elderly_social/disability": ("无障碍通道被占用，轮椅无法通行。",),
    "elderly_social/community_services": ("社区办事不方便，希望延长服务时间。",),
    "market_supervision/food_safety": ("餐馆卫生条件差，疑似食物变质。",),
    "market_supervision/consumer_rights": ("预付卡商家关门，要求退款。",),
    "market_supervision/pricing": ("菜市场商户缺斤短两。",),
    "market_supervision/licensing": ("有商户无证经营。",),
    "housing/building_safety": ("房屋墙体开裂，担心安全。", "顶楼漏水严重。"),
    "housing/renovation": ("楼上违规装修拆改承重墙。",),
    "housing/rental_housing": ("群租房人员混杂，存在安全隐患。",),
    "housing/expropriation": ("咨询旧城改造征收补偿政策。",),
    "housing/affordable_housing": ("咨询公租房申请进度。",),
    "urban_management/illegal_construction": ("楼顶私搭乱建。",),
    "urban_management/street_vendors": ("流动摊贩占道经营，影响通行。",),
    "urban_management/advertising": ("小广告乱张贴。",),
    "urban_management/cityscape": ("沿街商户乱堆乱放。",),
    "urban_management/snow_ice": ("道路结冰无人清扫。",),
    "public_safety/fire_safety": ("消防通道被堵塞。", "电动车在楼道充电，存在火灾隐患。"),
    "public_safety/public_order": ("夜间有人聚集喧哗。",),
    "public_safety/animal_control": ("流浪狗较多，担心伤人。",),
    "public_safety/facility_hazards": ("井盖缺失，存在安全隐患。",),
    "education_health/schools": ("咨询小学入学划片政策。",),
    "education_health/medical_services": ("附近没有社区卫生服务站，看病要绕远过江。", "社区医院挂号难。"),
    "education_health/public_health": ("餐馆油烟扰民。",),
    "education_health/childcare": ("小区周边没有幼儿园，孩子入园难。",),
    "greening/tree_maintenance": ("行道树遮挡采光，请求修剪。",),
    "greening/fallen_trees": ("大风刮倒树木，阻断道路。",),
    "greening/grass_mowing": ("绿化带杂草丛生。",),
    "greening/parks": ("公园健身器材损坏。",),
    "greening/green_damage": ("绿地被占用种菜。",),
    "other/enquiry_general": ("咨询相关政策。",),
    "other/praise": ("感谢网格员热心帮助。",),
    "other/government_services": ("咨询社保缴费办理。",),
    "other/follow_up": ("此前反映的问题仍未解决，再次反映。",),
    "other/misc": ("反映其他问题。",),
}
_DEPARTMENT = {"environment_sanitation": "区城市管理执法局", "noise": "区生态环境分局",
               "noise/construction": "区城市管理执法局", "property_management": "区住房和城市更新局",
               "roads_traffic": "区城乡建设局", "roads_traffic/parking": "区公安分局交通大队",
               "water_power/water_supply": "江城水务集团", "water_power/drainage": "区水务和湖泊局",
               "water_power/power": "国网江城供电公司", "water_power/gas": "江城燃气公司",
               "water_power/heating": "区住房和城市更新局", "elderly_social": "区民政局",
               "market_supervision": "区市场监督管理局", "housing": "区住房和城市更新局",
               "urban_management": "区城市管理执法局", "public_safety": "区公安分局",
               "public_safety/fire_safety": "区消防救援大队", "education_health": "区卫生健康局",
               "education_health/schools": "区教育局", "greening": "区园林和林业局", "other": "区政务服务中心",
               "": "区政务服务中心"}


_OPENINGS = ("市民来电反映：", "市民通过微信反映：", "市民通过手机应用反映：", "市民通过网站反映：", "网格员巡查发现：",
             "市民发短信反映：", "市民来访反映：")
_CLOSINGS = ("", "希望尽快处理。", "请相关部门核实处理。", "多次反映未解决。", "")


def _texts(rng: np.random.Generator, leaf: np.ndarray, leaves: pd.DataFrame) -> np.ndarray:
    out = np.empty(len(leaf), dtype=object)
    for index, (category, name_zh) in enumerate(zip(leaves["category"], leaves["name_zh"])):
        take = np.flatnonzero(leaf == index)
        options = np.array(_TEXT.get(category, (f"反映{name_zh}问题。",)), dtype=object)
        out[take] = options[rng.integers(len(options), size=len(take))]
    return out


def _complainants(rng: np.random.Generator, n: int, channel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Made-up callers: a pool where some people call often; grid-manager reports carry no caller."""
    pool = max(10, int(n * 0.7))
    names, phones = person_names(rng, pool), mobile_numbers(rng, pool)
    landline = rng.random(pool) < 0.05
    phones = np.where(landline, "027-8" + np.char.mod("%07d", rng.integers(0, 10**7, pool)).astype(object), phones)
    frequent = rng.random(n) < 0.15
    who = np.where(frequent, rng.integers(0, max(1, pool // 50), n), rng.integers(0, pool, n))
    name, phone = names[who], phones[who]
    anonymous = rng.random(n) < 0.08
    internal = channel == _CHANNELS.index("网格员上报")
    return np.where(anonymous | internal, "", name), np.where(internal, "", phone)


def _ids(received: np.ndarray) -> np.ndarray:
    """Work-order numbers GDyyyymmdd##### in receiving order (records sorted by time)."""
    day = received.astype("datetime64[D]")
    first = np.searchsorted(day, day, side="left")
    seq = np.arange(len(day)) - first + 1
    stamp = np.char.replace(np.datetime_as_string(day, unit="D").astype(str), "-", "")
    return np.char.add(np.char.add("GD", stamp), np.char.mod("%05d", seq)).astype(object)


def _labels(leaf: np.ndarray, leaves: pd.DataFrame, request: np.ndarray, urgency: np.ndarray,
            channel: np.ndarray) -> dict[str, np.ndarray]:
    return {"request_type": np.array(_REQUEST_TYPES, dtype=object)[request],
            "category": leaves["name_zh"].to_numpy(dtype=object)[leaf],
            "category_id": leaves["category"].to_numpy(dtype=object)[leaf],
            "urgency": np.array(["紧急", "加急", "一般"], dtype=object)[urgency],
            "channel": np.array(_CHANNELS, dtype=object)[channel]}


def _where_and_who(rng: np.random.Generator, place: Place, building: np.ndarray, leaf: np.ndarray,
                   leaves: pd.DataFrame, channel: np.ndarray) -> dict[str, np.ndarray]:
    """Point (a few records have only an address naming the community), caller, text, handling unit."""
    n = len(building)
    u, v = _points(rng, building, place)
    located = rng.random(n) >= 0.03
    community = place.community_of_building[building]
    sd, cm = place.subdistrict_name[community], place.community_name[community]
    street = place.building_street[building]
    name, phone = _complainants(rng, n, channel)
    text = _texts(rng, leaf, leaves)
    with_phone = (phone != "") & (rng.random(n) < 0.08)
    text = np.where(with_phone, text + "请回电：" + phone + "。", text)
    where = np.where(located, place.building_address[building], cm + street + "附近")
    opening = np.array(_OPENINGS, dtype=object)[np.minimum(channel, len(_OPENINGS) - 1)]
    closing = np.array(_CLOSINGS, dtype=object)[rng.integers(len(_CLOSINGS), size=n)]
    text = opening + where + "，" + text + closing
    department = np.array([_by_prefix(c, _DEPARTMENT) for c in leaves["category"]], dtype=object)[leaf]
    department = np.where(rng.random(n) < 0.55, sd + "办事处", department)
    return {"u": np.where(located, u, np.nan), "v": np.where(located, v, np.nan),
            "address": np.where(located, place.building_address[building], sd + cm + street + "附近"),
            "complainant": name, "phone": phone, "description": text, "department": department,
            "subdistrict": sd, "community": cm}


def make_complaints(rng: np.random.Generator, place: Place, categories: pd.DataFrame, *, scale: float,
                    as_of: date) -> pd.DataFrame:
    """About 50,000 x ``scale`` records over the 365 days before ``as_of`` (see the module docstring)."""
    n = int(round(COMPLAINTS_PER_SCALE * scale * rng.uniform(0.97, 1.03)))
    leaves = _leaf_table(categories)
    days = _sample_days(rng, n, as_of)
    leaf = _sample_categories(rng, days, leaves)
    received = _sample_times(rng, days, leaf, leaves)
    order = np.argsort(received, kind="stable")
    leaf, received = leaf[order], received[order]
    building = _sample_buildings(rng, leaf, leaves, place)
    request = _per_category_choice(rng, leaf, leaves, lambda c: _by_prefix(c, _REQUEST_MIX), 5)
    urgency = _per_category_choice(rng, leaf, leaves, _urgency, 3)
    channel = _per_category_choice(rng, leaf, leaves, _channel, len(_CHANNELS))
    slowness = np.array([_by_prefix(c, _SLOWNESS | {"": 1.0}) for c in leaves["category"]])[leaf]
    outcome = _outcomes(rng, received, urgency, request, slowness)
    as_of_s = np.datetime64(as_of, "s")
    status = _status(outcome, received, as_of_s)
    still_open = outcome.closed > as_of_s
    overdue = (outcome.kind == 0) & np.where(still_open, outcome.due < as_of_s, outcome.closed > outcome.due)
    nat = np.datetime64("NaT", "s")
    return pd.DataFrame({
        "complaint_id": _ids(received), "received_at": received, **_labels(leaf, leaves, request, urgency, channel),
        "status": np.array([_STATUS_LABEL[s] for s in status], dtype=object), "status_id": status,
        "responded_at": np.where(status == "received", nat, outcome.responded), "due_at": outcome.due,
        "closed_at": np.where(still_open, nat, outcome.closed),
        "satisfaction": _satisfaction(rng, status, overdue, outcome.reopened, outcome.kind),
        "reopen_count": (outcome.reopened & (outcome.reopen_at <= as_of_s)).astype(np.int64), "overdue": overdue,
        **_where_and_who(rng, place, building, leaf, leaves, channel)})
