"""Tests for grid.standards and the tables in geodata/standards (plus the OSM tag mapping).

Every number of the tables is pinned below, written from the domain brief
(../shared/docs/domain.md §1-§3), so a silent edit of a CSV fails here: after an
intended edit, change the expected value too. Malformed rows are tried on a copy
of geodata/ in tmp_path and must name file, row, line and column.
"""

from __future__ import annotations

import csv
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from grid.categories import osm_tags_to_categories, read_table
from grid.errors import ConfigError, MappingError
from grid.settings import Settings, get_settings
from grid.standards import (
    circle_rules,
    max_walk_threshold_m,
    read_circles,
    read_community_standards,
    read_green_space,
    read_levels,
    read_requirements,
    read_speed_profiles,
    read_standards,
    speed_m_per_min,
    walk_minutes,
)

GEODATA = Path(__file__).resolve().parents[1] / "geodata"
STANDARDS_DIR = GEODATA / "standards"
ADULT = 66.666667
N = None  # empty cell

# --- expected contents, from domain.md ----------------------------------------------------

STANDARDS = {  # standard_id: (year, in_force, role, data_version, verified)
    "GB50180-2018": (2018, None, "normative", 1, True),
    "TD/T1062-2021": (2021, "2021-07-01", "informative", 1, True),
}

LEVELS = {  # level: (walk min, walk max, coverage, residents min/max, dwellings min/max, verified)
    "15min": (800.0, 1000.0, 1000.0, 50000, 100000, 17000, 32000, True),
    "10min": (500.0, 500.0, 500.0, 15000, 25000, 5000, 8000, True),
    "5min": (300.0, 300.0, 300.0, 5000, 12000, 1500, 4000, False),
    "block": (N, N, 300.0, 1000, 3000, 300, 1000, False),
}

REQUIREMENTS = {  # (level, category): (requirement, radius_m, radius_basis, min_floor_area_m2, verified)
    ("15min", "middle_school"): ("must", 1000.0, "clause", N, True),
    ("15min", "large_sports_ground"): ("must", 1000.0, "clause", N, False),
    ("15min", "sports_hall"): ("should", 1000.0, "clause", N, False),
    ("15min", "community_health_center"): ("must", N, "level", N, False),
    ("15min", "care_home"): ("must", N, "level", N, False),
    ("15min", "nursing_home"): ("must", N, "level", N, False),
    ("15min", "cultural_center"): ("must", 1000.0, "clause", N, False),
    ("15min", "subdistrict_service_center"): ("must", N, "level", N, False),
    ("15min", "subdistrict_office"): ("must", N, "level", N, False),
    ("15min", "police_station"): ("should", 800.0, "clause", N, False),
    ("15min", "post_office"): ("must", N, "level", N, False),
    ("15min", "metro_station"): ("should", 800.0, "clause", N, False),
    ("10min", "primary_school"): ("must", 500.0, "clause", N, True),
    ("10min", "medium_sports_ground"): ("must", 500.0, "clause", N, False),
    ("10min", "food_market"): ("must", 500.0, "clause", N, False),
    ("10min", "bus_stop"): ("must", 500.0, "clause", N, False),
    ("10min", "metro_station"): ("should", 800.0, "clause", N, False),
    ("5min", "community_service_station"): ("must", 300.0, "clause", 600.0, False),
    ("5min", "cultural_station"): ("must", 500.0, "clause", N, False),
    ("5min", "small_sports_ground"): ("must", 300.0, "clause", 800.0, False),
    ("5min", "outdoor_fitness"): ("must", 300.0, "clause", 150.0, False),
    ("5min", "kindergarten"): ("must", 300.0, "clause", N, True),
    ("5min", "nursery"): ("should", 300.0, "clause", N, False),
    ("5min", "elderly_daycare"): ("must", 300.0, "clause", N, False),
    ("5min", "community_health_station"): ("should", N, "level", N, False),
    ("5min", "supermarket"): ("must", N, "level", N, False),
    ("5min", "pharmacy"): ("must", N, "level", N, False),
    ("5min", "laundry"): ("must", N, "level", N, False),
    ("5min", "hairdresser"): ("must", N, "level", N, False),
    ("5min", "waste_collection"): ("must", N, "level", N, False),
    ("5min", "recycling_point"): ("must", N, "level", N, False),
    ("5min", "public_toilet"): ("must", N, "level", N, False),
    ("block", "convenience_store"): ("must", N, "level", N, False),
    ("block", "parcel_point"): ("must", N, "level", N, False),
    ("block", "play_area"): ("must", N, "level", N, False),
    ("block", "fitness_equipment"): ("must", N, "level", N, False),
}

GREEN_SPACE = {  # level: (m2 per person, min park ha, min park width m, verified)
    "15min": (2.0, 5.0, N, False),
    "10min": (1.0, 1.0, 50.0, True),
    "5min": (1.0, 0.4, N, False),
}

SPEED_PROFILES = {  # profile_id: (mode, speed_m_per_min, applies_to, verified)
    "adult": ("walk", ADULT, "all", False),
    "elderly": ("walk", 50.0, "65plus", False),
    "ambulance_urban": ("drive", 500.0, "ambulance", False),
}

GB15 = ("middle_school;large_sports_ground;sports_hall;community_health_center;care_home;nursing_home;"
        "cultural_center;subdistrict_service_center;subdistrict_office;police_station;post_office;metro_station")
CIRCLES = {  # circle_id: (categories, combine, mode, threshold_m, threshold_min, speed_profile,
    #                   thresholds_from, target_coverage_pct, verified)
    "gb-15min": (GB15, "each", "walk", N, N, N, "facility_requirements", N, True),
    "gb-10min": ("primary_school;medium_sports_ground;food_market;bus_stop;metro_station",
                 "each", "walk", N, N, N, "facility_requirements", N, True),
    "gb-5min": ("community_service_station;cultural_station;small_sports_ground;outdoor_fitness;kindergarten;"
                "nursery;elderly_daycare;community_health_station;supermarket;pharmacy;laundry;hairdresser;"
                "waste_collection;recycling_point;public_toilet",
                "each", "walk", N, N, N, "facility_requirements", N, False),
    "gb-block": ("convenience_store;parcel_point;play_area;fitness_equipment",
                 "each", "walk", N, N, N, "facility_requirements", N, False),
    "wuhan-15min": (GB15, "each", "walk", N, 15.0, "adult", N, N, False),
    "wuhan-12min-culture-sport": (
        "cultural_center;cultural_station;sports_hall;large_sports_ground;medium_sports_ground;"
        "small_sports_ground;outdoor_fitness", "any", "walk", N, 12.0, "adult", N, N, False),
    "wuhan-10min-public-activity": ("park;outdoor_fitness;play_area;cultural_station",
                                    "any", "walk", N, 10.0, "adult", N, N, False),
    "wuhan-emergency-central": ("emergency_station", "each", "drive", N, 10.0, "ambulance_urban", N, N, False),
    "wuhan-emergency-newtown": ("emergency_station", "each", "drive", N, 12.0, "ambulance_urban", N, N, False),
    "yueyang-15min-health": ("community_health_center;community_health_station;clinic;hospital;specialist_hospital",
                             "any", "walk", N, 15.0, "adult", N, N, False),
    "example-10min-fitness": ("outdoor_fitness;fitness_equipment;small_sports_ground;medium_sports_ground;"
                              "large_sports_ground;sports_hall", "any", "walk", N, 10.0, "adult", N, 95.0, False),
}

COMMUNITY = {  # check_id: (measure, operator, threshold, unit, per_quantity, per_unit, role, region, verified)
    "service_space_per_residents": ("service_space_m2", ">=", 5.0, "m2", 100.0, "residents", "check",
                                    "unspecified", True),
    "service_centre_floor_area": ("floor_area_m2", ">=", 600.0, "m2", N, N, "check", "unspecified", True),
    "service_centre_large_share": ("pct_service_centres_floor_area_ge_1000_m2", ">=", 20.0, "pct", N, N,
                                   "check", "unspecified", True),
    "community_workers_per_households": ("community_workers", ">=", 1.0, "workers", 600.0, "households",
                                         "check", "unspecified", True),
    "social_organisations_hubei": ("social_organisations", ">=", 10.0, "organisations", N, N, "check",
                                   "湖北/Hubei", True),
    "social_organisations_changsha": ("social_organisations", ">=", 8.0, "organisations", N, N, "check",
                                      "长沙/Changsha", True),
    "community_size_households": ("households", "approx", 3000.0, "households", N, N, "informative",
                                  "unspecified", True),
    "community_size_residents": ("residents", "approx", 8000.0, "residents", N, N, "informative",
                                 "unspecified", True),
}

UNSURE = re.compile(r"\[(M|S|S/M)\]|recalled|judgement|placeholder|derivation|assumption", re.IGNORECASE)


# --- helpers --------------------------------------------------------------------------------


@pytest.fixture
def shipped() -> Settings:
    return get_settings(geodata_dir=GEODATA)


@pytest.fixture
def copied(tmp_path: Path) -> Settings:
    """Settings on a copy of geodata/ (without the database) that a test may edit."""
    target = tmp_path / "geodata"
    shutil.copytree(GEODATA, target, ignore=shutil.ignore_patterns("*.duckdb*", "demo", "*.wal"))
    return get_settings(geodata_dir=target)


def _plain(value: object) -> object:
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, np.generic):
        return value.item()
    return value


def _rows(frame: pd.DataFrame, keys: list[str], values: list[str]) -> dict:
    out = {}
    for record in frame.to_dict("records"):
        key = tuple(record[k] for k in keys)
        out[key[0] if len(key) == 1 else key] = tuple(_plain(record[v]) for v in values)
    return out


def _edit(settings: Settings, name: str, row: int, column: str, value: str) -> None:
    path = settings.standards_dir / f"{name}.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    rows[row + 1][rows[0].index(column)] = value
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def _row_of(settings: Settings, name: str, **match: str) -> int:
    raw = pd.read_csv(settings.standards_dir / f"{name}.csv", dtype=str, keep_default_na=False)
    hit = raw.index[np.logical_and.reduce([raw[k] == v for k, v in match.items()])]
    assert len(hit) == 1, match
    return int(hit[0])


# --- every number pinned ---------------------------------------------------------------


def test_standards_pinned(shipped: Settings) -> None:
    got = _rows(read_standards(shipped), ["standard_id"], ["year", "in_force", "role", "data_version", "verified"])
    assert got == STANDARDS


def test_levels_pinned(shipped: Settings) -> None:
    frame = read_levels(shipped)
    values = ["walk_distance_min_m", "walk_distance_max_m", "coverage_distance_m", "residents_min",
              "residents_max", "dwellings_min", "dwellings_max", "verified"]
    assert _rows(frame, ["level"], values) == LEVELS
    assert set(frame["clause"]) == {"3.0.4"} and set(frame["standard_id"]) == {"GB50180-2018"}


def test_requirements_pinned(shipped: Settings) -> None:
    frame = read_requirements(shipped)
    values = ["requirement", "radius_m", "radius_basis", "min_floor_area_m2", "verified"]
    assert _rows(frame, ["level", "category"], values) == REQUIREMENTS
    assert set(frame["clause"]) == {"Appendix B"} and set(frame["standard_id"]) == {"GB50180-2018"}


def test_requirement_rules_pinned(shipped: Settings) -> None:
    rules = _rows(read_requirements(shipped), ["level", "category"], ["rule_en"])
    assert rules[("15min", "community_health_center")] == ("one per sub-district; next to elderly care",)
    assert rules[("15min", "subdistrict_office")] == ("one per sub-district",)
    assert rules[("10min", "primary_school")][0].endswith("children should not cross arterial roads")
    assert rules[("block", "convenience_store")] == ("one per 1000-3000 people",)


def test_green_space_pinned(shipped: Settings) -> None:
    values = ["green_m2_per_person", "min_park_area_ha", "min_park_width_m", "verified"]
    assert _rows(read_green_space(shipped), ["level"], values) == GREEN_SPACE


def test_speed_profiles_pinned(shipped: Settings) -> None:
    values = ["mode", "speed_m_per_min", "applies_to", "verified"]
    assert _rows(read_speed_profiles(shipped), ["profile_id"], values) == SPEED_PROFILES
    assert ADULT * 15 == pytest.approx(1000, abs=1e-3)  # the profile's definition


def test_circles_pinned(shipped: Settings) -> None:
    values = ["categories", "combine", "mode", "threshold_m", "threshold_min", "speed_profile",
              "thresholds_from", "target_coverage_pct", "verified"]
    assert _rows(read_circles(shipped), ["circle_id"], values) == CIRCLES


def test_community_standards_pinned(shipped: Settings) -> None:
    values = ["measure", "operator", "threshold", "unit", "per_quantity", "per_unit", "role", "region", "verified"]
    assert _rows(read_community_standards(shipped), ["check_id"], values) == COMMUNITY


# --- consistency of the tables -----------------------------------------------------------


def test_every_category_id_exists(shipped: Settings) -> None:
    known = set(read_table("facility_categories", shipped.categories_dir)["category"])
    assert set(read_requirements(shipped)["category"]) <= known
    for categories in read_circles(shipped)["categories"]:
        assert set(categories.split(";")) <= known, categories
    osm = read_table("osm_to_category", shipped.categories_dir)
    assert set(osm.loc[osm["category"] != "", "category"]) <= known


def test_gb_circles_hold_every_appendix_b_row_of_their_level(shipped: Settings) -> None:
    requirements = read_requirements(shipped)
    for circle in read_circles(shipped).query("thresholds_from == 'facility_requirements'").itertuples():
        expected = requirements.loc[requirements["level"] == circle.level, "category"].tolist()
        assert circle.categories.split(";") == expected, circle.circle_id


@pytest.mark.parametrize("name", ["standards", "life_circle_levels", "facility_requirements", "green_space",
                                  "speed_profiles", "circles", "community_standards"])
def test_unsure_sources_are_unverified_and_verified_rows_cite_v(name: str) -> None:
    raw = pd.read_csv(STANDARDS_DIR / f"{name}.csv", dtype=str, keep_default_na=False)
    assert set(raw["verified"]) <= {"true", "false"}
    for row in raw.to_dict("records"):
        if UNSURE.search(row["source"]):
            assert row["verified"] == "false", row
        if row["verified"] == "true":
            assert "[V" in row["source"], row


def test_osm_rows_by_judgement_are_unverified() -> None:
    raw = pd.read_csv(GEODATA / "categories" / "osm_to_category.csv", dtype=str, keep_default_na=False)
    assert set(raw["verified"]) <= {"true", "false"} and (raw["source"] != "").all()
    assert raw["priority"].is_unique
    for row in raw.to_dict("records"):
        if UNSURE.search(row["source"]):
            assert row["verified"] == "false", row


def test_readme_documents_every_table() -> None:
    readme = (STANDARDS_DIR / "README.md").read_text(encoding="utf-8")
    for path in STANDARDS_DIR.glob("*.csv"):
        assert f"## {path.name}" in readme, path.name


def test_reader_dtypes(shipped: Settings) -> None:
    levels = read_levels(shipped)
    assert levels["coverage_distance_m"].dtype == "float64" and levels["residents_min"].dtype == "Int64"
    assert levels["verified"].dtype == bool and levels["level"].dtype == "string"
    assert read_requirements(shipped)["radius_m"].dtype == "float64"
    assert read_circles(shipped)["level"].isna().sum() == 7  # local circles have no level


# --- circle_rules ------------------------------------------------------------------------


def _rule(rules: pd.DataFrame, circle_id: str, category: str) -> dict:
    hit = rules[(rules["circle_id"] == circle_id) & (rules["category"] == category)]
    assert len(hit) == 1
    return {k: _plain(v) for k, v in hit.iloc[0].items()}


def test_circle_rules_expand_standard_circles(shipped: Settings) -> None:
    rules = circle_rules(shipped)
    kindergarten = _rule(rules, "gb-5min", "kindergarten")
    assert (kindergarten["threshold_m"], kindergarten["threshold_basis"], kindergarten["verified"]) == (300.0, "clause", True)
    assert (kindergarten["requirement"], kindergarten["level"], kindergarten["clause"]) == ("must", "5min", "Appendix B")
    middle = _rule(rules, "gb-15min", "middle_school")
    assert (middle["threshold_m"], middle["verified"]) == (1000.0, True)
    post = _rule(rules, "gb-15min", "post_office")
    assert (post["threshold_m"], post["threshold_basis"], post["verified"]) == (1000.0, "level", False)
    assert _rule(rules, "gb-10min", "metro_station")["threshold_m"] == 800.0
    assert _rule(rules, "gb-5min", "supermarket")["threshold_m"] == 300.0
    assert _rule(rules, "gb-block", "convenience_store")["threshold_m"] == 300.0
    assert len(rules) == sum(len(c[0].split(";")) for c in CIRCLES.values())  # 72


def test_circle_rules_turn_minutes_into_metres(shipped: Settings) -> None:
    adult, elderly = circle_rules(shipped), circle_rules(shipped, profile="elderly")
    culture = _rule(adult, "wuhan-12min-culture-sport", "sports_hall")
    assert culture["threshold_m"] == pytest.approx(12 * 66.67, abs=0.05)
    assert culture["threshold_m"] == 800.0  # rounded to the centimetre
    assert (culture["threshold_min"], culture["speed_profile"], culture["combine"]) == (12.0, "adult", "any")
    assert culture["requirement"] is None and culture["verified"] is False
    assert _rule(elderly, "wuhan-12min-culture-sport", "sports_hall")["threshold_m"] == 600.0
    assert _rule(adult, "wuhan-10min-public-activity", "park")["threshold_m"] == 666.67
    assert _rule(adult, "example-10min-fitness", "outdoor_fitness")["target_coverage_pct"] == 95.0
    # metres of the standard and drive circles do not depend on the walking profile
    assert _rule(elderly, "gb-15min", "middle_school")["threshold_m"] == 1000.0
    for frame in (adult, elderly):
        emergency = _rule(frame, "wuhan-emergency-newtown", "emergency_station")
        assert (emergency["threshold_m"], emergency["mode"], emergency["speed_profile"]) == (6000.0, "drive", "ambulance_urban")


def test_circle_rules_columns_and_dtypes(shipped: Settings) -> None:
    rules = circle_rules(shipped)
    assert list(rules.columns) == ["circle_id", "category", "threshold_m", "threshold_min", "speed_profile",
                                   "threshold_basis", "requirement", "level", "clause", "mode", "combine",
                                   "target_coverage_pct", "source", "verified"]
    assert rules["threshold_m"].dtype == "float64" and rules["verified"].dtype == bool
    assert rules["threshold_m"].notna().all() and (rules["source"].str.len() > 0).all()
    assert rules["circle_id"].drop_duplicates().tolist() == list(CIRCLES)


def test_circle_rules_refuse_unknown_or_drive_profile(shipped: Settings) -> None:
    with pytest.raises(ConfigError, match=r"'adlut' is not a known speed profile.*did you mean 'adult'"):
        circle_rules(shipped, profile="adlut")
    with pytest.raises(ConfigError, match=r"'ambulance_urban' is for drive, not walk"):
        circle_rules(shipped, profile="ambulance_urban")


def test_max_walk_threshold_takes_the_fastest_walk_profile(shipped: Settings, copied: Settings) -> None:
    assert max_walk_threshold_m(shipped) == 1000.0  # drive circles (6000 m) are not walking
    _edit(copied, "circles", _row_of(copied, "circles", circle_id="wuhan-15min"), "threshold_min", "20")
    assert max_walk_threshold_m(copied) == pytest.approx(20 * ADULT, abs=0.01)  # adult, not elderly (1000 m)


def test_speed_and_walk_minutes(shipped: Settings) -> None:
    assert speed_m_per_min(shipped, "elderly") == 50.0
    assert speed_m_per_min(shipped, "adult") == ADULT
    assert walk_minutes([0.0, 500.0, 1000.0], 50.0).tolist() == [0.0, 10.0, 20.0]
    assert walk_minutes(1000.0, ADULT) == pytest.approx(15.0, abs=1e-5)
    with pytest.raises(ConfigError, match="greater than 0; saw 0"):
        walk_minutes([100.0], 0)


# --- malformed rows ----------------------------------------------------------------------

MALFORMED = [
    # (table, row selector, column, bad value, expected message part)
    ("facility_requirements", {"category": "kindergarten"}, "category", "kindergarden",
     r"'kindergarden' is not a known category in facility_categories.csv; known: \[.*did you mean 'kindergarten'"),
    ("facility_requirements", {"category": "kindergarten"}, "level", "20min", "'20min' is not a known level of GB50180-2018"),
    ("facility_requirements", {"category": "kindergarten"}, "radius_m", "3OO", "'3OO' is not a number"),
    ("facility_requirements", {"category": "kindergarten"}, "radius_m", "", "is empty but radius_basis is 'clause'"),
    ("facility_requirements", {"category": "kindergarten"}, "requirement", "may", "'may' is not a known requirement"),
    ("facility_requirements", {"category": "kindergarten"}, "source", "", "is empty; fill it in"),
    ("facility_requirements", {"category": "kindergarten"}, "verified", "yes", "'yes' must be true or false"),
    ("life_circle_levels", {"level": "10min"}, "walk_distance_min_m", "600", "600.0 is larger than walk_distance_max_m 500.0"),
    ("life_circle_levels", {"level": "10min"}, "residents_min", "1.5e4x", "'1.5e4x' is not a number"),
    ("life_circle_levels", {"level": "block"}, "coverage_distance_m", "-300", "'-300' must be greater than 0"),
    ("circles", {"circle_id": "wuhan-15min"}, "speed_profile", "senior", "'senior' is not a known speed profile"),
    ("circles", {"circle_id": "wuhan-15min"}, "speed_profile", "ambulance_urban", "is a drive profile but the circle's mode is 'walk'"),
    ("circles", {"circle_id": "wuhan-15min"}, "threshold_m", "1000", "give exactly one of threshold_m, threshold_min"),
    ("circles", {"circle_id": "wuhan-15min"}, "categories", "middle_school;school", "'school' is not a known category"),
    ("circles", {"circle_id": "gb-10min"}, "categories", "primary_school;kindergarten",
     "'kindergarten' has no row at level '10min' of GB50180-2018"),
    ("circles", {"circle_id": "gb-10min"}, "level", "", "thresholds_from needs standard_id and level"),
    ("circles", {"circle_id": "wuhan-15min"}, "mode", "bike", "'bike' is not a known mode"),
    ("circles", {"circle_id": "example-10min-fitness"}, "target_coverage_pct", "195", "195.0 is over 100"),
    ("speed_profiles", {"profile_id": "adult"}, "speed_m_per_min", "-5", "'-5' must be greater than 0"),
    ("community_standards", {"check_id": "social_organisations_hubei"}, "operator", "=>", "'=>' is not a known operator"),
    ("community_standards", {"check_id": "social_organisations_hubei"}, "per_quantity", "1", "per_quantity and per_unit go together"),
    ("standards", {"standard_id": "TD/T1062-2021"}, "in_force", "2021/07/01", "'2021/07/01' is not a date YYYY-MM-DD"),
    ("green_space", {"level": "10min"}, "level", "10-min", "'10-min' is not a known level"),
]


@pytest.mark.parametrize(("name", "select", "column", "value", "message"), MALFORMED,
                         ids=[f"{m[0]}-{m[2]}-{m[3]}" for m in MALFORMED])
def test_malformed_cell_names_file_row_and_column(copied: Settings, name: str, select: dict, column: str,
                                                  value: str, message: str) -> None:
    row = _row_of(copied, name, **select)
    _edit(copied, name, row, column, value)
    reader = {"facility_requirements": read_requirements, "life_circle_levels": read_levels,
              "circles": read_circles, "speed_profiles": read_speed_profiles, "green_space": read_green_space,
              "community_standards": read_community_standards, "standards": read_standards}[name]
    with pytest.raises(ConfigError) as caught:
        reader(copied)
    text = str(caught.value)
    assert f"{name}.csv" in text
    assert re.search(message, text), text
    located = [line for line in text.splitlines() if re.search(message, line)]
    assert any(f"row {row + 1} (line {row + 2})" in line for line in located), text
    assert any("column '" in line for line in located), text


def test_malformed_requirement_stops_circle_rules(copied: Settings) -> None:
    _edit(copied, "facility_requirements", 0, "radius_m", "far")
    with pytest.raises(ConfigError, match=r"facility_requirements.csv.*\n.*row 1 \(line 2\), column 'radius_m'"):
        circle_rules(copied)


def test_all_problems_of_a_file_are_listed_at_once(copied: Settings) -> None:
    _edit(copied, "speed_profiles", 0, "speed_m_per_min", "fast")
    _edit(copied, "speed_profiles", 1, "mode", "run")
    with pytest.raises(ConfigError, match="2 problem") as caught:
        read_speed_profiles(copied)
    assert "row 1 (line 2), column 'speed_m_per_min'" in str(caught.value)
    assert "row 2 (line 3), column 'mode'" in str(caught.value)


def test_missing_column_missing_file_and_unquoted_comma(copied: Settings) -> None:
    path = copied.standards_dir / "speed_profiles.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.drop(columns="applies_to").to_csv(path, index=False)
    with pytest.raises(ConfigError, match=r"speed_profiles.csv: missing column\(s\) \['applies_to'\]"):
        read_speed_profiles(copied)
    path.unlink()
    with pytest.raises(ConfigError, match="speed_profiles.csv not found"):
        read_speed_profiles(copied)
    levels = copied.standards_dir / "life_circle_levels.csv"
    lines = levels.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace("Walking distance along streets", "Walking distance, along streets")
    levels.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"row 2 \(line 3\).*has 16 fields but the header has 15"):
        read_levels(copied)


# --- OSM tags ----------------------------------------------------------------------------


@pytest.fixture
def osm_table() -> pd.DataFrame:
    return read_table("osm_to_category", GEODATA / "categories")


def test_osm_tags_to_categories_hand_examples(osm_table: pd.DataFrame) -> None:
    tags = [
        {"amenity": "kindergarten"},
        {"amenity": "school"},
        {"amenity": "school", "isced:level": "1"},
        {"amenity": "toilets"},
        {"amenity": "toilets", "access": "customers"},
        {"railway": "station", "station": "subway"},
        {"railway": "station"},
        {"public_transport": "platform", "bus": "yes"},
        {"highway": "bus_stop"},
        {"amenity": "social_facility", "social_facility": "assisted_living"},
        {"amenity": "community_centre", "community_centre": "cultural_centre"},
        {"leisure": "fitness_station"},
        {"amenity": "parcel_locker"},
        {"amenity": "pharmacy", "shop": "supermarket"},  # priority: pharmacy row (117) before supermarket (123)
        {"shop": "bakery"},
        {},
    ]
    expected = ["kindergarten", "other_school", "primary_school", "public_toilet", None, "metro_station", None,
                "bus_stop", "bus_stop", "care_home", "cultural_station", "fitness_equipment", "parcel_point",
                "pharmacy", None, None]
    got = osm_tags_to_categories(tags, osm_table)
    assert got.dtype == "string"
    assert [None if pd.isna(v) else v for v in got] == expected


def test_osm_tags_from_a_frame_keep_its_index(osm_table: pd.DataFrame) -> None:
    frame = pd.DataFrame({"amenity": [" hospital ", None, "clinic"], "shop": [None, "convenience", None]},
                         index=[10, 20, 30])
    got = osm_tags_to_categories(frame, osm_table)
    assert got.index.tolist() == [10, 20, 30]
    assert got.tolist() == ["hospital", "convenience_store", "clinic"]


def test_osm_priority_decides_and_wildcard_matches() -> None:
    table = pd.DataFrame({
        "priority": ["2", "1", "3"], "key": ["amenity", "amenity", "leisure"],
        "value": ["school", "school", "park"], "and_key": ["", "name", ""], "and_value": ["", "*", ""],
        "category": ["other_school", "primary_school", "park"],
    })
    got = osm_tags_to_categories([{"amenity": "school", "name": "小学"}, {"amenity": "school", "name": " "},
                                  {"leisure": "park"}], table)
    assert got.tolist() == ["primary_school", "other_school", "park"]


def test_osm_malformed_table_raises(osm_table: pd.DataFrame) -> None:
    bad = osm_table.copy()
    bad.loc[3, "priority"] = "first"
    with pytest.raises(MappingError, match=r"rows \[5\] \(file lines\) need a numeric priority"):
        osm_tags_to_categories([{"amenity": "school"}], bad)
    with pytest.raises(MappingError, match=r"lacks column\(s\) \['and_key'\]"):
        osm_tags_to_categories([{"amenity": "school"}], osm_table.drop(columns="and_key"))
