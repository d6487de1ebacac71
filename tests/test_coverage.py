"""Coverage, gaps, compliance and community standards on a hand-made database whose
expected figures are worked out in the comments (independent of the engine)."""

from __future__ import annotations

import h3
import numpy as np
import pandas as pd
import pytest

from grid.coverage import (ALL_REQUIRED, community_compliance, community_standard_checks, compliance_overview,
                           coverage_summary, gap_areas, gap_cells)
from grid.errors import InputError
from grid.settings import Settings
from grid.store import open_reader, write_session

C1 = h3.str_to_int(h3.latlng_to_cell(30.60, 114.27, 10))
C2 = h3.str_to_int(h3.latlng_to_cell(30.61, 114.29, 10))
C3 = h3.str_to_int(sorted(h3.grid_ring(h3.int_to_str(C2), 1))[0])  # a neighbour of C2
SQUARE_A = "POLYGON((114.26 30.59, 114.30 30.59, 114.30 30.62, 114.26 30.62, 114.26 30.59))"
SQUARE_B = "POLYGON((114.30 30.59, 114.32 30.59, 114.32 30.62, 114.30 30.62, 114.30 30.59))"


@pytest.fixture
def db(settings: Settings) -> Settings:
    """Community A (300 residents, 30 aged 65+) on C1 (100) and C2 (200); B (100, 50 aged 65+) on C2 (40), C3 (60)."""
    with write_session(settings.db_path) as con:
        con.execute("""INSERT INTO communities (community_id, name, subdistrict, population, households,
                       population_65plus, workers, social_organisations, service_space_m2, source, load_id, row_hash,
                       geom) VALUES
            ('A', '甲社区', 'S1', 300, 700, 30, 1, 9, 10, 'test', 0, '', ST_GeomFromText(?)),
            ('B', '乙社区', 'S2', 100, 300, 50, 1, 12, 5, 'test', 0, '', ST_GeomFromText(?))""", [SQUARE_A, SQUARE_B])
        con.executemany("INSERT INTO community_cells VALUES (?, ?, 1, 15000, 0, ?, 0)",
                        [("A", C1, 100), ("A", C2, 200), ("B", C2, 40), ("B", C3, 60)])
        con.executemany("INSERT INTO cells VALUES (?, 10, NULL, ?, 0, 15000, 0, 0)",
                        [(C1, 100), (C2, 240), (C3, 60)])
        con.executemany("INSERT INTO cell_access VALUES (?, ?, ?, ?, ?, ?)", [
            (C1, "kindergarten", 250.0, 3.75, "k1", "reached"), (C2, "kindergarten", 350.0, 5.25, "k1", "reached"),
            (C3, "kindergarten", None, None, None, "beyond_bound"),
            (C1, "elderly_daycare", 100.0, 1.5, "d1", "reached"), (C2, "elderly_daycare", 200.0, 3.0, "d1", "reached"),
            (C3, "elderly_daycare", 290.0, 4.35, "d1", "reached")])
        con.execute("""INSERT INTO facilities (facility_id, name, category, floor_area_m2, source, source_type, lon,
                       lat, h3, load_id, row_hash, geom) VALUES
            ('s1', '甲社区服务站', 'community_service_station', 650, 'test', 'user', 114.28, 30.60, 0, 0, '',
             ST_Point(114.28, 30.60)),
            ('k1', '幼儿园', 'kindergarten', NULL, 'test', 'user', 114.28, 30.61, 0, 0, '', ST_Point(114.28, 30.61)),
            ('d1', '日间照料中心', 'elderly_daycare', NULL, 'test', 'user', 114.28, 30.61, 0, 0, '',
             ST_Point(114.28, 30.61))""")
    return settings


def _row(frame: pd.DataFrame, **where: object) -> pd.Series:
    mask = np.ones(len(frame), dtype=bool)
    for key, value in where.items():
        mask &= (frame[key] == value).to_numpy()
    assert mask.sum() == 1, where
    return frame[mask].iloc[0]


def test_city_coverage_is_population_weighted(db: Settings) -> None:
    con = open_reader(db.db_path)
    table = coverage_summary(con, db, circle_id="gb-5min", by="city")
    kg = _row(table, category="kindergarten")
    # only C1 (100 of 400 residents) is within 300 m
    assert (kg["population"], kg["covered_population"], kg["coverage_pct"]) == (400, 100, 25.0)
    assert kg["people_in_gaps"] == 300
    # 65+: A's share is 10 % (10 of C1's 100 covered); total 65+ = 30 + 50
    assert kg["coverage_65plus_pct"] == pytest.approx(100 * 10 / 80)
    assert _row(table, category="elderly_daycare")["coverage_pct"] == 100.0
    # every other must category of the 5-minute circle has no facility: nobody reaches all of them
    assert _row(table, category=ALL_REQUIRED)["coverage_pct"] == 0.0


def test_community_and_subdistrict_coverage(db: Settings) -> None:
    con = open_reader(db.db_path)
    table = coverage_summary(con, db, circle_id="gb-5min", by="community", categories=["kindergarten"])
    assert _row(table, unit_id="A", category="kindergarten")["coverage_pct"] == pytest.approx(100 / 3)
    assert _row(table, unit_id="B", category="kindergarten")["coverage_pct"] == 0.0
    by_sub = coverage_summary(con, db, circle_id="gb-5min", by="subdistrict", categories=["kindergarten"])
    assert sorted(by_sub["unit_id"].unique()) == ["S1", "S2"]


def test_any_circle_counts_residents_reaching_one_category(db: Settings) -> None:
    con = open_reader(db.db_path)
    # wuhan-10min-public-activity combines 'any' of park / fitness / play area / cultural station: none exists
    table = coverage_summary(con, db, circle_id="wuhan-10min-public-activity", by="city")
    assert _row(table, category=ALL_REQUIRED)["coverage_pct"] == 0.0


def test_unknown_and_drive_circles_are_refused(db: Settings) -> None:
    con = open_reader(db.db_path)
    with pytest.raises(InputError, match="unknown circle 'gb-3min'; circles are"):
        coverage_summary(con, db, circle_id="gb-3min")
    with pytest.raises(InputError, match="is a drive circle"):
        coverage_summary(con, db, circle_id="wuhan-emergency-central")


def test_gap_cells_and_areas(db: Settings) -> None:
    con = open_reader(db.db_path)
    gaps = gap_cells(con, db, circle_id="gb-5min", category="kindergarten")
    assert sorted(gaps["h3"].tolist()) == sorted([C2, C3])
    assert _row(gaps, h3=C2)["population"] == 240 and _row(gaps, h3=C2)["community_ids"] == "A,B"
    areas = gap_areas(gaps)
    # C2 and C3 are neighbours: one area of 300 residents
    assert len(areas) == 1 and areas.loc[0, "population"] == 300 and areas.loc[0, "cells"] == 2
    assert areas.loc[0, "rank"] == 1 and areas.geometry.iloc[0].area > 0


def test_community_compliance(db: Settings) -> None:
    con = open_reader(db.db_path)
    table = community_compliance(con, db)
    a_kg = _row(table, community_id="A", category="kindergarten", level="5min")
    assert a_kg["share_covered"] == pytest.approx(1 / 3) and a_kg["status"] == "fail"
    assert a_kg["nearest_m"] == 250.0 and a_kg["median_m"] == 350.0 and a_kg["clause"] == "Appendix B"
    assert _row(table, community_id="B", category="elderly_daycare", level="5min")["status"] == "pass"
    assert not _row(table, community_id="A", category="middle_school", level="15min")["has_facilities"]
    overview = compliance_overview(table)
    assert not overview["fully_compliant"].any()


def test_community_standard_checks(db: Settings) -> None:
    con = open_reader(db.db_path)
    checks = community_standard_checks(con, db)
    # A: 10 m² for 300 residents (needs 15); 1 worker for 700 households (needs 2); 9 organisations (Hubei: 10)
    assert _row(checks, community_id="A", check_id="service_space_per_residents")[["value", "required", "status"]
                                                                                 ].tolist() == [10, 15, "fail"]
    assert _row(checks, community_id="A", check_id="community_workers_per_households")["status"] == "fail"
    assert _row(checks, community_id="A", check_id="social_organisations_hubei")["status"] == "fail"
    assert _row(checks, community_id="A", check_id="service_centre_floor_area")["value"] == 650
    assert _row(checks, community_id="A", check_id="service_centre_floor_area")["status"] == "pass"
    # B: 5 m² for 100 residents passes; no service station inside B: no data
    assert _row(checks, community_id="B", check_id="service_space_per_residents")["status"] == "pass"
    assert _row(checks, community_id="B", check_id="service_centre_floor_area")["status"] == "no_data"
    assert "social_organisations_changsha" not in set(checks["check_id"])


def test_service_areas(db: Settings) -> None:
    from grid.coverage import service_areas

    con = open_reader(db.db_path)
    areas = service_areas(con, category="kindergarten", threshold_m=300.0)
    # k1 serves C1 (250 m) within 300 m; C2 (350 m) is beyond
    assert areas["facility_id"].tolist() == ["k1"] and areas.loc[0, "cells"] == 1
    assert areas.loc[0, "population"] == 100 and areas.geometry.iloc[0].geom_type == "Polygon"
    wide = service_areas(con, category="kindergarten", threshold_m=400.0)
    assert wide.loc[0, "cells"] == 2 and wide.geometry.iloc[0].area > areas.geometry.iloc[0].area
