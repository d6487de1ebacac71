"""Tests of row validation through ``ingest_file``: one test per bad-input class of the
issue. Each builds a small CSV (good rows around the bad ones), ingests it and checks
that every row is accounted for, the exact quarantined row numbers, reason texts and
codes, the raw values kept in quarantine, and that the good rows were stored. Then
idempotency: same file twice, ``force``, and a changed file upserted by natural id."""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import duckdb
import pandas as pd
import pyproj
import pytest
import shapely

from grid.errors import MappingError
from grid.ingest import LoadReport, ingest_file
from grid.settings import Settings
from grid.store import open_reader

GEOD = pyproj.Geod(ellps="WGS84")
TABLE = {"facilities": ("facilities", "facility_id"), "complaints": ("complaints", "complaint_id"),
         "boundaries": ("communities", "community_id")}


def _facility(fid: str, name: str = "武汉社区药店", category: str = "药店", lon: str = "114.3101",
              lat: str = "30.5502") -> dict[str, str]:
    return {"facility_id": fid, "name": name, "category": category, "lon": lon, "lat": lat}


def _complaint(cid: str, received_at: str = "2025-03-01 08:00:00", request_type: str = "投诉",
               category: str = "垃圾清运", lon: str = "114.3101", lat: str = "30.5502",
               closed_at: str = "") -> dict[str, str]:
    return {"complaint_id": cid, "received_at": received_at, "request_type": request_type, "category": category,
            "closed_at": closed_at, "lon": lon, "lat": lat}


def _square(x0: float, y0: float, d: float = 0.002) -> str:
    return f"POLYGON (({x0} {y0}, {x0 + d} {y0}, {x0 + d} {y0 + d}, {x0} {y0 + d}, {x0} {y0}))"


def _community(cid: str, wkt: str, name: str = "花桥社区") -> dict[str, str]:
    return {"community_id": cid, "name": name, "population": "5000", "households": "2000", "wkt": wkt}


GOOD = {
    "facilities": [_facility("F1", "江汉区实验幼儿园", "幼儿园", "114.2701", "30.5812"),
                   _facility("F2", "江岸区育才小学", "小学", "114.2998", "30.5987"),
                   _facility("F3", "武昌民生大药房", "药店", "114.3333", "30.5444")],
    "complaints": [_complaint("C1"), _complaint("C2", "2025-03-02 09:30:00", "咨询", "噪声扰民", "114.2998", "30.5987"),
                   _complaint("C3", "2025/03/03 10:00", "求助", "道路破损", "114.3333", "30.5444")],
    "boundaries": [_community("K1", _square(114.30, 30.50)), _community("K3", _square(114.31, 30.50))],
}


class Quarantined(NamedTuple):
    row_number: int
    reason: str
    reason_codes: str
    raw: dict[str, object]


# --------------------------------------------------------------------------- helpers


def _ingest(kind: str, rows: list[dict[str, str]], tmp_path: Path, settings: Settings, *, name: str = "",
            **options: object) -> LoadReport:
    path = tmp_path / (name or f"{kind}.csv")
    pd.DataFrame(rows).to_csv(path, index=False, encoding="utf-8")
    return ingest_file(kind, path, settings=settings, **options)


@contextlib.contextmanager
def _reader(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """One read-only connection per check (opening one loads the spatial extension, ~0.5 s)."""
    con = open_reader(settings.db_path)
    try:
        yield con
    finally:
        con.close()


def _query(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def _quarantine(con: duckdb.DuckDBPyConnection, load_id: int) -> list[Quarantined]:
    rows = _query(con, "SELECT row_number, reason, reason_codes, raw_json FROM quarantine "
                       "WHERE load_id = ? ORDER BY row_number", [load_id])
    return [Quarantined(n, reason, codes, json.loads(raw)) for n, reason, codes, raw in rows]


def _ids(con: duckdb.DuckDBPyConnection, kind: str) -> list[str]:
    table, key = TABLE[kind]
    return [r[0] for r in _query(con, f"SELECT {key} FROM {table} ORDER BY {key}")]


def _notes(con: duckdb.DuckDBPyConnection, load_id: int) -> list[tuple[int | None, str]]:
    return _query(con, "SELECT row_number, note FROM load_notes WHERE load_id = ? ORDER BY note", [load_id])


def _assert_accounted(report: LoadReport, *, rows_in: int, rejected: int) -> None:
    """Every row of the file is either loaded or quarantined."""
    assert report.rows_in == rows_in
    assert report.rows_ok + report.rows_rejected == report.rows_in
    assert report.rows_rejected == rejected


# --------------------------------------------------------------------------- rejected rows, one class per case

SWAPPED_HINT = "(are lon and lat swapped? or is the file projected: pass --crs)"
TS_HINT = "(expected e.g. 2025-03-01 14:30:00; naive times are read as Asia/Shanghai)"

# A ring that runs over itself: read even-odd (make_valid 'linework') the 2x2 overlap is a hole, area 11;
# unioned (method 'structure') it is filled, area 15 (units of 0.001 degree): 4/11 = 36 % apart.
OVERLAPPING = ("POLYGON ((114.300 30.500, 114.304 30.500, 114.304 30.504, 114.301 30.504, 114.301 30.501, "
               "114.303 30.501, 114.303 30.503, 114.300 30.503, 114.300 30.500))")

REJECTS = [
    pytest.param("facilities", [_facility("F8", name=""), _facility("F9", name="   ")],
                 [("missing required field 'name'",), ("missing required field 'name'",)],
                 ["missing_name", "missing_name"], id="missing-name"),
    pytest.param("facilities", [_facility("")], [("missing required field 'facility_id'",)], ["missing_facility_id"],
                 id="missing-id"),
    pytest.param("complaints", [_complaint("C8", received_at="")], [("missing required field 'received_at'",)],
                 ["missing_received_at"], id="missing-received-at"),
    pytest.param("facilities", [_facility("F8", lon="114.3o"), _facility("F9", lat="")],
                 [("unparseable coordinate lon='114.3o' lat='30.5502' (expected decimal degrees)",),
                  ("unparseable coordinate lon='114.3101' lat='' (expected decimal degrees)",)],
                 ["unparseable_coordinate", "unparseable_coordinate"], id="unparseable-coordinate"),
    pytest.param("facilities", [_facility("F7", lon="214.31"), _facility("F8", lon="30.55", lat="114.31"),
                                _facility("F9", lon="523000", lat="3380000")],
                 [("coordinate out of range lon=214.31, lat=30.5502: lon must be -180..180 and lat -90..90",),
                  (f"coordinate out of range lon=30.55, lat=114.31 {SWAPPED_HINT}",),
                  (f"coordinate out of range lon=523000, lat=3.38e+06 {SWAPPED_HINT}",)],
                 ["coordinate_out_of_range"] * 3, id="out-of-range"),
    pytest.param("facilities", [_facility("F8", lon="0", lat="0"), _facility("F9", lon="-77.0", lat="39.0")],
                 [("placeholder coordinate (lat 0, lon 0): whole-degree values are a geocoder's default",),
                  ("placeholder coordinate (lat 39, lon -77)",)],
                 ["placeholder_coordinate"] * 2, id="placeholder"),
    pytest.param("facilities", [_facility("F9", lon="", lat="")],
                 [("missing coordinates: no lon/lat, location, WKT or geometry",)], ["missing_coordinates"],
                 id="missing-coordinates"),
    pytest.param("facilities", [_facility("F9", name="", lon="0", lat="0")],
                 [("missing required field 'name' | placeholder coordinate (lat 0, lon 0)",)],
                 ["missing_name,placeholder_coordinate"], id="all-problems-of-a-row"),
    pytest.param("facilities", [_facility("F1", name="江汉区实验幼儿园(分园)")],
                 [("duplicate facility_id 'F1' (first at row 1); keep one row per id or make ids unique",)],
                 ["duplicate_facility_id"], id="duplicate-facility-id"),
    pytest.param("complaints", [_complaint("C1", received_at="2025-03-05 11:00:00")],
                 [("duplicate complaint_id 'C1' (first at row 1)",)], ["duplicate_complaint_id"],
                 id="duplicate-complaint-id"),
    pytest.param("complaints", [_complaint("C8", received_at="2025-02-30 08:00:00"),
                                _complaint("C9", received_at="昨天下午")],
                 [(f"unparseable received_at '2025-02-30 08:00:00' {TS_HINT}",),
                  (f"unparseable received_at '昨天下午' {TS_HINT}",)],
                 ["unparseable_received_at"] * 2, id="unparseable-timestamp"),
    pytest.param("complaints", [_complaint("C9", received_at="2025-03-01 08:00:00", closed_at="2025-02-28 08:00:00")],
                 [("closed_at 2025-02-28 00:00:00+00:00 is before received_at 2025-03-01 00:00:00+00:00",)],
                 ["closed_before_received"], id="closed-before-received"),
    pytest.param("complaints", [_complaint("C9", received_at="2200-01-01 08:00:00")],
                 [("received_at 2200-01-01 00:00:00+00:00 is in the future; check the date format",)],
                 ["received_in_future"], id="received-in-future"),
    pytest.param("boundaries", [_community("K2", "")], [("missing geometry (empty or null)",)], ["missing_geometry"],
                 id="missing-geometry"),
    pytest.param("boundaries", [_community("K2", "POLYGON ((114.3 30.5, 114.31")],
                 [("unparseable WKT 'POLYGON ((114.3 30.5, 114.31'",)], ["unparseable_wkt"], id="unparseable-wkt"),
    pytest.param("boundaries", [_community("K2", "POINT (114.3 30.5)")],
                 [("geometry is Point, expected Polygon or MultiPolygon",)], ["wrong_geometry_type"],
                 id="wrong-geometry-type"),
    pytest.param("boundaries", [_community("K2", OVERLAPPING)],
                 [("invalid geometry (Self-intersection", "with no unambiguous repair (the two repair methods differ "
                   "by 36% in area); fix it in GIS")], ["invalid_geometry"], id="invalid-geometry-ambiguous"),
    pytest.param("boundaries", [_community("K2", "POLYGON ((114.3 30.5, 114.3 30.501, 114.3 30.502, 114.3 30.5))")],
                 [("invalid geometry (Self-intersection", "that cannot be repaired into a polygon")],
                 ["invalid_geometry"], id="invalid-geometry-collapsed"),
]


@pytest.mark.parametrize(("kind", "bad", "reasons", "codes"), REJECTS)
def test_bad_rows_are_quarantined_with_reasons(kind: str, bad: list[dict[str, str]], reasons: list[tuple[str, ...]],
                                               codes: list[str], tmp_path: Path, settings: Settings) -> None:
    good = GOOD[kind]
    report = _ingest(kind, [good[0], *bad, *good[1:]], tmp_path, settings)
    _assert_accounted(report, rows_in=len(good) + len(bad), rejected=len(bad))
    with _reader(settings) as con:
        quarantined, stored_ids = _quarantine(con, report.load_id), _ids(con, kind)
    assert [q.row_number for q in quarantined] == list(range(2, 2 + len(bad)))
    for q, texts in zip(quarantined, reasons):
        assert all(text in q.reason for text in texts), q.reason
    assert [q.reason_codes for q in quarantined] == codes
    assert [q.raw for q in quarantined] == bad
    assert report.reasons == dict(Counter(c for row in codes for c in row.split(",")))
    assert stored_ids == [row[TABLE[kind][1]] for row in good]


# --------------------------------------------------------------------------- geometry repaired and kept


def test_bow_tie_polygon_is_repaired_kept_and_noted(tmp_path: Path, settings: Settings) -> None:
    x0, y0, d = 114.32, 30.50, 0.002
    bow_tie = f"POLYGON (({x0} {y0}, {x0 + d} {y0 + d}, {x0 + d} {y0}, {x0} {y0 + d}, {x0} {y0}))"
    rows = [GOOD["boundaries"][0], _community("K2", bow_tie), GOOD["boundaries"][1]]
    report = _ingest("boundaries", rows, tmp_path, settings)
    _assert_accounted(report, rows_in=3, rejected=0)
    assert (report.rows_ok, report.rows_repaired) == (3, 1)
    with _reader(settings) as con:
        spread, repair = _notes(con, report.load_id)  # ordered by note text: "population..." < "repaired..."
        row_number, note = repair
        [(kind, valid, area_m2)] = _query(con, "SELECT ST_GeometryType(geom), ST_IsValid(geom), area_m2 "
                                               "FROM communities WHERE community_id = 'K2'")
    assert row_number == 2
    assert spread == (None, "population and households spread over H3 cells for 3 communities: "
                            "0 by residential floor area (landuse), 3 by area")
    crossing = f"{x0 + d / 2:g} {y0 + d / 2:g}"
    assert note.startswith(f"repaired invalid geometry (Self-intersection[{crossing}]) with make_valid")
    left = shapely.Polygon([(x0, y0), (x0 + d / 2, y0 + d / 2), (x0, y0 + d)])  # the two triangles, drawn by hand
    right = shapely.Polygon([(x0 + d, y0), (x0 + d, y0 + d), (x0 + d / 2, y0 + d / 2)])
    expected = sum(abs(GEOD.geometry_area_perimeter(t)[0]) for t in (left, right))
    assert (str(kind), valid) == ("MULTIPOLYGON", True)
    assert area_m2 == pytest.approx(expected, rel=1e-9)


# --------------------------------------------------------------------------- kept with attention


def test_timestamps_naive_are_shanghai_and_offsets_are_kept(tmp_path: Path, settings: Settings) -> None:
    cases = {"T1": ("2025-03-01 08:00:00", "2025-03-01 00:00"), "T2": ("2025/03/01 08:00", "2025-03-01 00:00"),
             "T3": ("2025年03月01日 08:00:00", "2025-03-01 00:00"),
             "T4": ("2025-03-01T08:00:00+00:00", "2025-03-01 08:00"), "T5": ("2025-03-01T08:00:00Z", "2025-03-01 08:00"),
             "T6": ("2025-03-01 08:00:00+08:00", "2025-03-01 00:00"), "T7": ("2025-03-01", "2025-02-28 16:00")}
    report = _ingest("complaints", [_complaint(cid, received_at=text) for cid, (text, _) in cases.items()],
                     tmp_path, settings)
    _assert_accounted(report, rows_in=len(cases), rejected=0)
    with _reader(settings) as con:
        stored = dict(_query(con, "SELECT complaint_id, received_at FROM complaints"))
    assert stored == {cid: pd.Timestamp(utc, tz="UTC") for cid, (_, utc) in cases.items()}


@pytest.mark.parametrize(("kind", "field", "bad_row"), [
    ("facilities", "category", _facility("F9", category="火星基地")),
    ("complaints", "request_type", _complaint("C9", request_type="吐槽")),
    ("complaints", "category", _complaint("C9", category="外星人入侵")),
])
def test_unknown_vocabulary_is_kept_as_unmapped(kind: str, field: str, bad_row: dict[str, str], tmp_path: Path,
                                                settings: Settings) -> None:
    report = _ingest(kind, [*GOOD[kind], bad_row], tmp_path, settings)
    _assert_accounted(report, rows_in=4, rejected=0)
    assert report.rows_unmapped == 1
    table, key = TABLE[kind]
    raw = bad_row[field]
    with _reader(settings) as con:
        stored = _query(con, f"SELECT {field}, source_{field} FROM {table} WHERE {key} = ?", [bad_row[key]])
        notes = _notes(con, report.load_id)
    assert stored == [("unmapped", raw)]
    expected = (f"{field}: 1 rows kept as 'unmapped'; values: '{raw}' (1); "
                "add them to geodata/categories or a mapping table")
    assert (None, expected) in notes


def test_point_outside_the_study_area_is_rejected(tmp_path: Path, settings: Settings) -> None:
    area = tmp_path / "wuhan-core.geojson"
    area.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": "core"},
        "geometry": shapely.geometry.mapping(shapely.box(114.2, 30.4, 114.5, 30.7))}]}), encoding="utf-8")
    bad = [_facility("F9", lon="116.3972", lat="39.9087")]
    report = _ingest("facilities", [GOOD["facilities"][0], *bad, *GOOD["facilities"][1:]], tmp_path, settings,
                     study_area=area)
    _assert_accounted(report, rows_in=4, rejected=1)
    with _reader(settings) as con:
        [q], stored_ids = _quarantine(con, report.load_id), _ids(con, "facilities")
    assert q.row_number == 2
    assert q.reason.startswith("point outside the study area 'wuhan-core.geojson' (lon 116.397200, lat 39.908700)")
    assert (q.reason_codes, q.raw) == ("outside_study_area", bad[0])
    assert stored_ids == ["F1", "F2", "F3"]


def test_complaint_without_coordinates_is_kept_without_a_cell(tmp_path: Path, settings: Settings) -> None:
    report = _ingest("complaints", [*GOOD["complaints"], _complaint("C9", lon="", lat="")], tmp_path, settings)
    _assert_accounted(report, rows_in=4, rejected=0)
    assert report.rows_without_location == 1
    with _reader(settings) as con:
        stored = _query(con, "SELECT complaint_id, lon, lat, h3 IS NULL FROM complaints ORDER BY complaint_id")
    assert [(cid, no_cell) for cid, _, _, no_cell in stored] == [
        ("C1", False), ("C2", False), ("C3", False), ("C9", True)]
    assert stored[-1][1:3] == (None, None)


@pytest.mark.parametrize(("kind", "rename", "field", "tried"), [
    ("facilities", {"name": "标题"}, "name", "['name', '名称', '设施名称']"),
    ("complaints", {"received_at": "时间"}, "received_at", "['received_at', '受理时间', '来电时间', '登记时间', '创建时间']"),
])
def test_mapping_error_lists_the_columns_and_writes_nothing(kind: str, rename: dict[str, str], field: str, tried: str,
                                                            tmp_path: Path, settings: Settings) -> None:
    rows = [{rename.get(k, k): v for k, v in row.items()} for row in GOOD[kind]]
    columns = str(list(rows[0]))
    expected = (f"no column for required field '{field}': tried {tried}; the file's columns are {columns}; "
                "pass --mapping with a mapping that names the right column")
    with pytest.raises(MappingError) as caught:
        _ingest(kind, rows, tmp_path, settings)
    assert str(caught.value).startswith(expected)
    assert not settings.db_path.exists()


def test_mapping_error_leaves_an_existing_database_untouched(tmp_path: Path, settings: Settings) -> None:
    _ingest("facilities", GOOD["facilities"], tmp_path, settings, name="good.csv")
    bad = [{("标题" if k == "name" else k): v for k, v in row.items()} for row in GOOD["facilities"]]
    with pytest.raises(MappingError, match="--mapping"):
        _ingest("facilities", bad, tmp_path, settings)
    with _reader(settings) as con:
        assert _counts(con) == {"loads": 1, "quarantine": 0, "facilities": 3}


# --------------------------------------------------------------------------- idempotency


def _counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {t: _query(con, f"SELECT count(*) FROM {t}")[0][0] for t in ("loads", "quarantine", "facilities")}


def _snapshot(settings: Settings) -> tuple[list[tuple], dict[str, int]]:
    """Stored facilities (with the load that wrote each row) and row counts of the bookkeeping tables."""
    with _reader(settings) as con:
        rows = _query(con, "SELECT facility_id, name, category, lon, lat, h3, load_id, row_hash FROM facilities "
                           "ORDER BY facility_id")
        return rows, _counts(con)


def test_same_file_twice_changes_nothing(tmp_path: Path, settings: Settings) -> None:
    rows = [*GOOD["facilities"], _facility("F9", lon="0", lat="0")]
    first = _ingest("facilities", rows, tmp_path, settings)
    assert (first.status, first.rows_inserted, first.rows_rejected) == ("loaded_with_rejects", 3, 1)
    before = _snapshot(settings)
    assert before[1] == {"loads": 1, "quarantine": 1, "facilities": 3}
    second = ingest_file("facilities", tmp_path / "facilities.csv", settings=settings)
    assert (second.status, second.load_id) == ("unchanged", first.load_id)
    assert "already loaded with these options" in second.message and "--force" in second.message
    assert _snapshot(settings) == before


def test_force_loads_again_with_every_row_unchanged(tmp_path: Path, settings: Settings) -> None:
    first = _ingest("facilities", GOOD["facilities"], tmp_path, settings)
    before = _snapshot(settings)
    again = ingest_file("facilities", tmp_path / "facilities.csv", settings=settings, force=True)
    assert again.status == "loaded" and again.load_id == first.load_id + 1
    assert (again.rows_inserted, again.rows_updated, again.rows_unchanged) == (0, 0, 3)
    rows, counts = _snapshot(settings)
    assert rows == before[0]  # unchanged rows keep the load that wrote them
    assert counts == {"loads": 2, "quarantine": 0, "facilities": 3}


def test_changed_file_upserts_by_natural_id(tmp_path: Path, settings: Settings) -> None:
    original = [*GOOD["facilities"], _facility("F4", "青山区和平菜市场", "菜市场或生鲜超市")]
    first = _ingest("facilities", original, tmp_path, settings)
    edited = [dict(row, name="江岸区育才小学(新校区)") if row["facility_id"] == "F2" else row for row in original]
    report = _ingest("facilities", [*edited, _facility("F5", "汉口社区卫生服务中心", "社区卫生服务中心")], tmp_path, settings)
    assert (report.status, report.rows_in, report.rows_ok) == ("loaded", 5, 5)
    assert (report.rows_inserted, report.rows_updated, report.rows_unchanged) == (1, 1, 3)
    with _reader(settings) as con:
        stored = _query(con, "SELECT facility_id, name, category, load_id FROM facilities ORDER BY facility_id")
    assert stored == [("F1", "江汉区实验幼儿园", "kindergarten", first.load_id),
                      ("F2", "江岸区育才小学(新校区)", "primary_school", report.load_id),
                      ("F3", "武昌民生大药房", "pharmacy", first.load_id),
                      ("F4", "青山区和平菜市场", "food_market", first.load_id),
                      ("F5", "汉口社区卫生服务中心", "community_health_center", report.load_id)]
