"""Grid governance in the database: complaint routing, SLA clocks, the three rates, the manager
roster loader, the unrouted queue and generated grids.

Two kinds of fixtures:

* the demo city (session fixture ``demo_db``), read-only, checked against independent
  references: shapely point-in-polygon over the stored grid polygons, the roster and
  complaints files as written, the demo generator's own deadlines, and the three rates
  recomputed here with pandas from the definitions in :func:`grid.governance.sla.three_rates`;
* a tiny hand-drawn city in ``tmp_path`` (three communities, four grids, a dozen complaints)
  whose every route is written out below.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import h3
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from grid.cli import cli
from grid.errors import InputError
from grid.governance.access import system_viewer
from grid.ingest import ingest_file
from grid.queries.workload import rates
from grid.settings import Settings
from grid.store import open_reader, query_frame

# --- the demo city ------------------------------------------------------------------------------

CLOSED = {"closed", "duplicate", "cancelled"}  # statuses that end the clock (grid.queries.complaints)
VOID = {"duplicate", "cancelled"}  # statuses no clock applies to


def _reader(settings: Settings):
    return open_reader(settings.db_path)


def _grid_polygons(con) -> pd.DataFrame:
    grids = query_frame(con, "SELECT grid_id, community_id, ST_AsWKB(geom) AS wkb FROM grids ORDER BY grid_id")
    grids["geometry"] = shapely.from_wkb([bytes(w) for w in grids.pop("wkb")])
    return grids


def _containing_grid(points: pd.DataFrame, grids: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Reference grid of each point (shapely STRtree, point-in-polygon) and how many grids hold it
    (2 or more only for a point on a common edge)."""
    tree = shapely.STRtree(grids["geometry"].to_numpy())
    point_ix, grid_ix = tree.query(shapely.points(points["lon"], points["lat"]), predicate="intersects")
    hits = np.bincount(point_ix, minlength=len(points))
    reference = np.full(len(points), None, dtype=object)
    reference[point_ix] = grids["grid_id"].to_numpy()[grid_ix]
    return reference, hits


def test_every_complaint_has_one_route_and_the_load_counts_them(demo_db) -> None:
    settings, _ = demo_db
    con = _reader(settings)
    n = con.execute("SELECT count(*) FROM complaints").fetchone()[0]
    assert n > 45_000
    routes = query_frame(con, "SELECT complaint_id, method, level, reason FROM complaint_routes")
    assert len(routes) == n and routes["complaint_id"].is_unique
    assert routes["complaint_id"].isin(query_frame(con, "SELECT complaint_id FROM complaints")["complaint_id"]).all()
    assert set(routes["level"]) <= {"grid", "community", "none"}
    assert set(routes["method"]) <= {"point", "address", "none"}
    unrouted = routes[routes["level"] == "none"]
    assert unrouted["reason"].fillna("").str.strip().ne("").all()
    # the demo has (almost) no unrouted complaints; every route short of a grid says why
    assert routes.loc[routes["level"] != "grid", "reason"].fillna("").str.strip().ne("").all()
    routed, not_routed = con.execute("SELECT rows_routed, rows_unrouted FROM loads "
                                     "WHERE kind = 'complaints'").fetchone()
    assert routed + not_routed == n
    assert not_routed == len(unrouted)
    note = con.execute("SELECT note FROM load_notes JOIN loads USING (load_id) WHERE kind = 'complaints' "
                       "AND note LIKE 'complaints routed:%'").fetchone()[0]
    assert f"{(routes['level'] == 'grid').sum()} to a grid" in note
    con.close()


def test_located_complaints_go_to_the_grid_holding_their_point(demo_db) -> None:
    settings, files = demo_db
    con = _reader(settings)
    grids = _grid_polygons(con)
    complaints = query_frame(con, "SELECT c.complaint_id, c.lon, c.lat, r.grid_id, r.manager_id, r.community_id, "
                                  "r.subdistrict, r.level, r.method FROM complaints c "
                                  "JOIN complaint_routes r USING (complaint_id) WHERE c.lon IS NOT NULL")
    communities = query_frame(con, "SELECT community_id, subdistrict FROM communities")
    con.close()
    reference, hits = _containing_grid(complaints, grids)
    on_edge = hits > 1
    agree = reference == complaints["grid_id"].to_numpy(dtype=object)
    print(f"routing vs shapely: {agree.mean():.4%} of {len(complaints)} located complaints agree, "
          f"{int(on_edge.sum())} lie on a common edge, {int((hits == 0).sum())} in no grid")
    assert agree.mean() >= 0.999
    assert (agree | on_edge).all()
    assert (complaints["level"] == "grid").all() and (complaints["method"] == "point").all()

    roster = pd.read_csv(files.managers, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    pairs = roster.assign(grid=roster["网格编码"].str.split(";")).explode("grid")
    manager_of_grid = pairs.groupby("grid")["网格员编号"].min()  # routing names the first manager id
    expected_manager = complaints["grid_id"].map(manager_of_grid)
    assert expected_manager.notna().all()
    assert (complaints["manager_id"] == expected_manager).all()
    community_of_grid = grids.set_index("grid_id")["community_id"]
    expected_community = complaints["grid_id"].map(community_of_grid)
    assert (complaints["community_id"] == expected_community).all()
    subdistrict = expected_community.map(communities.set_index("community_id")["subdistrict"])
    assert (complaints["subdistrict"] == subdistrict).all()


def test_complaints_without_a_point_go_to_the_community_their_address_names(demo_db) -> None:
    settings, files = demo_db
    raw = pd.read_csv(files.complaints, encoding="gbk", dtype=str, keep_default_na=False)
    no_point = raw[raw["经度"].str.strip() == ""]
    assert len(no_point) > 500
    con = _reader(settings)
    communities = query_frame(con, "SELECT community_id, name FROM communities")
    routes = query_frame(con, "SELECT complaint_id, community_id, grid_id, method, level FROM complaint_routes")
    con.close()
    named = {cid: [name for name in communities["name"] if name in address]
             for cid, address in zip(no_point["工单编号"], no_point["事发地址"])}
    assert all(len(names) == 1 for names in named.values()), "each address names exactly one community"
    id_of_name = dict(zip(communities["name"], communities["community_id"]))
    expected = pd.Series({cid: id_of_name[names[0]] for cid, names in named.items()})
    got = routes.set_index("complaint_id").loc[expected.index]
    assert (got["community_id"] == expected).all()
    assert (got["method"] == "address").all() and (got["level"] == "community").all()
    assert got["grid_id"].isna().all()


def test_demo_deadlines_equal_the_rule_deadlines(demo_db) -> None:
    settings, _ = demo_db
    con = _reader(settings)
    frame = query_frame(con, "SELECT c.source_due_at, s.rule_due_at, s.due_at, s.due_basis FROM complaints c "
                             "JOIN complaint_sla s USING (complaint_id) "
                             "WHERE c.status = 'closed' AND coalesce(c.reopen_count, 0) = 0")
    total_sla, total = con.execute("SELECT (SELECT count(*) FROM complaint_sla), count(*) FROM complaints").fetchone()
    con.close()
    print(f"closed, never reopened: {len(frame)} complaints; 办理时限 == rule deadline for all")
    assert 40_000 < len(frame) < 55_000
    assert frame["source_due_at"].notna().all()
    assert (frame["source_due_at"] == frame["rule_due_at"]).all()
    assert (frame["due_basis"] == "source").all() and (frame["due_at"] == frame["source_due_at"]).all()
    assert total_sla == total


# Hand-computed deadlines (Asia/Shanghai, calendar_cn.csv, sla_rules.csv: normal 24 h / 5 working days,
# urgent 24 h / 3, emergency 2 h / 3). The n-th working day after the day of receipt, 23:59:59.
SLA_CASES = [
    # id, received (local), urgency, response due, completion due
    # Fri before National Day: Sun 28 Sep is a makeup workday (1), 29 (2), 30 (3), 1-8 Oct off, 9 (4), 10 (5)
    ("S1", "2025-09-26 15:00:00", "一般", "2025-09-27 15:00:00+08:00", "2025-10-10 23:59:59+08:00"),
    # Thu before the Spring Festival makeup Saturday: Fri 7 Feb (1), Sat 8 Feb makeup (2), 10, 11, 12 (5)
    ("S2", "2025-02-06 09:30:00", "一般", "2025-02-07 09:30:00+08:00", "2025-02-12 23:59:59+08:00"),
    # on the makeup Saturday itself (a working day): counting starts Mon 10 Feb -> Fri 14 Feb
    ("S3", "2025-02-08 10:00:00", "一般", "2025-02-09 10:00:00+08:00", "2025-02-14 23:59:59+08:00"),
    # emergency: 2 h round the clock, 3 working days: Thu 6 (1), Fri 7 (2), Mon 10 Mar (3)
    ("S4", "2025-03-05 22:30:00", "紧急", "2025-03-06 00:30:00+08:00", "2025-03-10 23:59:59+08:00"),
    # received on a holiday (3 Oct): 9 Oct (1), 10 (2), Sat 11 Oct makeup (3), 13 (4), 14 (5)
    ("S5", "2025-10-03 11:00:00", "一般", "2025-10-04 11:00:00+08:00", "2025-10-14 23:59:59+08:00"),
    # urgent on the last working day before the Spring Festival (Mon 27 Jan; 28 Jan - 4 Feb off):
    # Wed 5 Feb (1), Thu 6 (2), Fri 7 (3)
    ("S6", "2025-01-27 16:45:00", "加急", "2025-01-28 16:45:00+08:00", "2025-02-07 23:59:59+08:00"),
]


def test_hand_computed_deadlines(settings: Settings, tmp_path: Path) -> None:
    rows = [{"工单编号": cid, "受理时间": received, "诉求类型": "投诉", "诉求分类": "施工噪声", "紧急程度": urgency,
             "工单状态": "受理", "办理时限": ""} for cid, received, urgency, _, _ in SLA_CASES]
    rows.append({"工单编号": "S7", "受理时间": "2025-09-26 15:00:00", "诉求类型": "投诉", "诉求分类": "施工噪声",
                 "紧急程度": "一般", "工单状态": "受理", "办理时限": "2025-10-09 18:00:00"})
    path = tmp_path / "sla.csv"
    pd.DataFrame(rows).to_csv(path, index=False, encoding="utf-8")
    report = ingest_file("complaints", path, settings=settings)
    assert report.rows_ok == len(rows) and report.rows_rejected == 0
    con = _reader(settings)
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    got = con.execute("SELECT complaint_id, rule_id, strftime(response_due_at, '%Y-%m-%d %H:%M:%S%z'), "
                      "strftime(rule_due_at, '%Y-%m-%d %H:%M:%S%z'), strftime(due_at, '%Y-%m-%d %H:%M:%S%z'), "
                      "due_basis FROM complaint_sla").fetchall()
    con.close()
    by_id = {r[0]: r[1:] for r in got}

    def stamp(text: str) -> str:
        return text.replace("+08:00", "+08")

    for cid, _, urgency, response_due, due in SLA_CASES:
        rule = {"一般": "normal", "紧急": "emergency", "加急": "urgent"}[urgency]
        assert by_id[cid] == (rule, stamp(response_due), stamp(due), stamp(due), "rule"), cid
    assert by_id["S7"] == ("normal", "2025-09-27 15:00:00+08", "2025-10-10 23:59:59+08",
                           "2025-10-09 18:00:00+08", "source")


def _my_rates(frame: pd.DataFrame, by: list[str], as_of: pd.Timestamp, satisfied: set[str],
              unsatisfied: set[str]) -> pd.DataFrame:
    """The three rates written out from the definitions (independent of grid.governance.sla)."""
    f = frame.copy()
    void = f["status"].isin(VOID)
    done = f["status"].isin(CLOSED)
    first = f["responded_at"].fillna(f["closed_at"])
    due_r = f["response_due_at"]
    na_r = void | due_r.isna()
    f["response_on_time"] = ~na_r & first.notna() & (first <= due_r)
    f["response_late"] = ~na_r & first.notna() & (first > due_r)
    f["response_pending"] = ~na_r & first.isna() & (due_r >= as_of)
    f["response_overdue"] = ~na_r & first.isna() & (due_r < as_of)
    na_c = void | f["due_at"].isna() | (done & f["closed_at"].isna())
    f["completion_on_time"] = ~na_c & done & (f["closed_at"] <= f["due_at"])
    f["completion_late"] = ~na_c & done & (f["closed_at"] > f["due_at"])
    f["completion_open"] = ~na_c & ~done & (f["due_at"] >= as_of)
    f["completion_open_overdue"] = ~na_c & ~done & (f["due_at"] < as_of)
    answer = f["satisfaction"].fillna("").str.strip().str.casefold()
    f["satisfied"] = answer.isin(satisfied)
    f["rated"] = answer.isin(satisfied | unsatisfied)
    f["complaints"] = True
    counts = ["complaints", *(f"response_{s}" for s in ("on_time", "late", "overdue", "pending")),
              *(f"completion_{s}" for s in ("on_time", "late", "open_overdue", "open")), "rated", "satisfied"]
    out = f.groupby(by)[counts].sum().astype("int64").reset_index()
    out["response_rate"] = out["response_on_time"] / (out["response_on_time"] + out["response_late"]
                                                      + out["response_overdue"])
    out["resolution_rate"] = out["completion_on_time"] / (out["completion_on_time"] + out["completion_late"]
                                                          + out["completion_open_overdue"])
    out["satisfaction_rate"] = out["satisfied"] / out["rated"]
    return out


@pytest.mark.parametrize("by", [["subdistrict"], ["month"], ["subdistrict", "month"]])
def test_three_rates_recomputed_by_hand(demo_db, by: list[str]) -> None:
    settings, _ = demo_db
    con = _reader(settings)
    as_of = pd.Timestamp(con.execute("SELECT value FROM meta WHERE key = 'complaints_as_of'").fetchone()[0])
    frame = query_frame(con, "SELECT c.status, c.responded_at, c.closed_at, c.received_at, c.satisfaction, "
                             "r.subdistrict, s.response_due_at, s.due_at FROM complaints c "
                             "JOIN complaint_routes r USING (complaint_id) "
                             "LEFT JOIN complaint_sla s USING (complaint_id)")
    library = rates(con, settings, system_viewer(), by=by)
    con.close()
    assert as_of == pd.Timestamp("2026-06-29 16:00", tz="UTC")  # 00:00 on 30 June 2026 Beijing time: the generator's snapshot
    frame["month"] = frame["received_at"].dt.tz_convert(settings.default_timezone).dt.strftime("%Y-%m")
    frame = frame.dropna(subset=[c for c in by if c != "month"])
    vocab = pd.read_csv(settings.governance_dir / "satisfaction.csv", dtype=str)
    keys = vocab["value"].str.strip().str.casefold()
    yes = vocab["satisfied"].str.lower() == "true"
    mine = _my_rates(frame, by, as_of, set(keys[yes]), set(keys[~yes]))
    got = library.sort_values(by, ignore_index=True)
    mine = mine.sort_values(by, ignore_index=True)
    assert len(got) == len(mine) and (got[by].to_numpy() == mine[by].to_numpy()).all()
    count_columns = [c for c in mine.columns if c not in by and not c.endswith("_rate")]
    for column in count_columns:
        assert (got[column].to_numpy() == mine[column].to_numpy()).all(), column
    for column in ("response_rate", "resolution_rate", "satisfaction_rate"):
        np.testing.assert_allclose(got[column].to_numpy(float), mine[column].to_numpy(float), rtol=0, atol=1e-12)
    assert mine["complaints"].sum() == len(frame)
    assert mine["response_overdue"].sum() + mine["completion_open_overdue"].sum() > 0  # the as-of matters


# --- a tiny hand-drawn city ---------------------------------------------------------------------
#
#   lat 30.520 +-----------------+
#              |   C3 丹水社区    |   grid G4 = all of C3           (中山街道)
#   lat 30.510 +--------+--------+--------+--------+
#              |   G1   |   G2   |   G3   | (none) |
#              |  C1 江滨社区     | C2 春晓花园社区   |              (民主街道)
#   lat 30.500 +--------+--------+--------+--------+
#           114.300  114.305  114.310  114.315  114.320
#
# C2's eastern half has no grid: a point there is routed to the community only.

X0, Y0 = 114.300, 30.500


def _box(x0: float, y0: float, x1: float, y1: float) -> dict[str, object]:
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


def _geojson(path: Path, rows: list[tuple[dict[str, object], dict[str, object]]]) -> Path:
    features = [{"type": "Feature", "properties": p, "geometry": g} for p, g in rows]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    return path


COMMUNITIES = [
    ({"community_id": "C1", "name": "江滨社区", "subdistrict": "民主街道", "households": 800},
     _box(X0, Y0, X0 + 0.010, Y0 + 0.010)),
    ({"community_id": "C2", "name": "春晓花园社区", "subdistrict": "民主街道", "households": 800},
     _box(X0 + 0.010, Y0, X0 + 0.020, Y0 + 0.010)),
    ({"community_id": "C3", "name": "丹水社区", "subdistrict": "中山街道", "households": 600},
     _box(X0, Y0 + 0.010, X0 + 0.010, Y0 + 0.020)),
]
GRIDS = [
    ({"grid_id": "G1", "community_id": "C1", "name": "江滨第1网格"}, _box(X0, Y0, X0 + 0.005, Y0 + 0.010)),
    ({"grid_id": "G2", "community_id": "C1", "name": "江滨第2网格"}, _box(X0 + 0.005, Y0, X0 + 0.010, Y0 + 0.010)),
    ({"grid_id": "G3", "community_id": "C2", "name": "春晓第1网格"}, _box(X0 + 0.010, Y0, X0 + 0.015, Y0 + 0.010)),
    ({"grid_id": "G4", "community_id": "C3", "name": "丹水第1网格"}, _box(X0, Y0 + 0.010, X0 + 0.010, Y0 + 0.020)),
]
# complaint id, lon, lat, address -> expected (grid, community, subdistrict, method, level, reason)
TINY_COMPLAINTS = [
    ("K1", X0 + 0.0025, Y0 + 0.005, "", ("G1", "C1", "民主街道", "point", "grid", None)),
    ("K2", X0 + 0.0075, Y0 + 0.005, "", ("G2", "C1", "民主街道", "point", "grid", None)),
    ("K3", X0 + 0.0125, Y0 + 0.005, "", ("G3", "C2", "民主街道", "point", "grid", None)),
    ("K4", X0 + 0.0055, Y0 + 0.015, "", ("G4", "C3", "中山街道", "point", "grid", None)),
    ("K5", X0 + 0.0175, Y0 + 0.005, "", (None, "C2", "民主街道", "point", "community",
                                          "point lies in community C2 but in no grid")),
    ("K6", X0 + 0.100, Y0 + 0.100, "", (None, None, None, "none", "none",
                                         "point lies outside every grid and community")),
    ("K7", None, None, "民主街道江滨社区解放路附近", (None, "C1", "民主街道", "address", "community",
                                                  "no usable location; routed by the address text")),
    ("K8", None, None, "解放路12号", (None, None, None, "none", "none",
                                      "no usable location and the address names no known community")),
    ("K9", None, None, "江滨社区与丹水社区交界处", (None, None, None, "none", "none",
                                                "address names several communities: C1, C3")),
    ("K10", None, None, "", (None, None, None, "none", "none", "no usable location and no address")),
]


def _complaints_csv(path: Path, rows: list[tuple]) -> Path:
    frame = pd.DataFrame({
        "complaint_id": [r[0] for r in rows], "received_at": "2025-06-02 10:00:00", "request_type": "投诉",
        "category": "施工噪声", "urgency": "一般", "status": "受理",
        "lon": ["" if r[1] is None else f"{r[1]:.6f}" for r in rows],
        "lat": ["" if r[2] is None else f"{r[2]:.6f}" for r in rows], "address": [r[3] for r in rows]})
    frame.to_csv(path, index=False, encoding="utf-8")
    return path


@pytest.fixture
def tiny(settings: Settings, tmp_path: Path) -> Settings:
    """The tiny city loaded: communities, grids and the complaints of TINY_COMPLAINTS (no roster yet)."""
    for kind, rows in (("boundaries", COMMUNITIES), ("grids", GRIDS)):
        report = ingest_file(kind, _geojson(tmp_path / f"{kind}.geojson", rows), settings=settings)
        assert report.rows_rejected == 0, report.reasons
    path = _complaints_csv(tmp_path / "complaints.csv", TINY_COMPLAINTS)
    report = ingest_file("complaints", path, settings=settings)
    assert report.rows_ok == len(TINY_COMPLAINTS)
    return settings


def _routes(settings: Settings) -> pd.DataFrame:
    con = _reader(settings)
    frame = query_frame(con, "SELECT complaint_id, grid_id, community_id, subdistrict, manager_id, method, level, "
                             "reason FROM complaint_routes ORDER BY complaint_id")
    con.close()
    return frame.set_index("complaint_id")


def test_tiny_city_routes(tiny: Settings) -> None:
    routes = _routes(tiny)
    assert len(routes) == len(TINY_COMPLAINTS)
    for cid, _, _, _, (grid, community, subdistrict, method, level, reason) in TINY_COMPLAINTS:
        r = routes.loc[cid]
        got = tuple(None if pd.isna(v) else v for v in (r.grid_id, r.community_id, r.subdistrict, r.method, r.level))
        assert got == (grid, community, subdistrict, method, level), cid
        if reason is None:
            assert pd.isna(r.reason) or r.reason.startswith("grid "), cid  # no roster yet: 'grid G1 has no manager'
        else:
            assert r.reason == reason, cid
    assert routes.loc["K1", "reason"] == "grid G1 has no manager in the roster"


def test_unrouted_queue_on_the_command_line(tiny: Settings) -> None:
    result = CliRunner().invoke(cli, ["--db", str(tiny.db_path), "complaints", "unrouted"])
    assert result.exit_code == 0, result.output
    lines = {cid: line for line in result.output.splitlines() for cid in ("K6", "K8", "K9", "K10")
             if re.search(rf"\b{cid}\b", line)}
    assert set(lines) == {"K6", "K8", "K9", "K10"}
    assert "address names several communities: C1, C3" in lines["K9"]
    assert "no usable location and no address" in lines["K10"]
    assert not re.search(r"\bK[1-5]\b|\bK7\b", result.output)


def test_two_community_names_of_different_length_are_ambiguous(settings: Settings, tmp_path: Path) -> None:
    for kind, rows in (("boundaries", COMMUNITIES), ("grids", GRIDS)):
        ingest_file(kind, _geojson(tmp_path / f"{kind}.geojson", rows), settings=settings)
    rows = [("A1", None, None, "江滨社区与春晓花园社区之间的路口", None)]
    ingest_file("complaints", _complaints_csv(tmp_path / "c.csv", rows), settings=settings)
    route = _routes(settings).loc["A1"]
    assert route["level"] == "none"
    assert route["reason"] == "address names several communities: C1, C2"


def test_point_just_outside_a_grid_edge_is_not_routed_into_it(settings: Settings, tmp_path: Path) -> None:
    for kind, rows in (("boundaries", COMMUNITIES), ("grids", GRIDS)):
        ingest_file(kind, _geojson(tmp_path / f"{kind}.geojson", rows), settings=settings)
    # 15 m east of G3's eastern edge (lon 114.315), inside C2 but in no grid; the res-10 cell there is shared
    # with G3 only (G3 covers part of it)
    lon = X0 + 0.015 + 15 / 96_000
    rows = [("E1", lon, Y0 + 0.005, "", None)]
    ingest_file("complaints", _complaints_csv(tmp_path / "c.csv", rows), settings=settings)
    con = _reader(settings)
    share = con.execute("SELECT area_share FROM grid_cells WHERE h3 = (SELECT h3 FROM complaints)").fetchall()
    con.close()
    assert len(share) == 1 and share[0][0] < 1  # the premise: one partial candidate
    route = _routes(settings).loc["E1"]
    assert (route["level"], route["community_id"]) == ("community", "C2")
    assert pd.isna(route["grid_id"])


# --- the manager roster (网格员花名册) -----------------------------------------------------------

PHONES = {"M1": "13812345678", "M2": "13987654321", "M3": "13700001111", "M1b": "13655557777"}
ROSTER = pd.DataFrame({
    "网格员编号": ["M1", "M2", "M3", "M1"],
    "姓名": ["张三", "李四", "王五", "赵六"],
    "联系电话": [PHONES["M1"], PHONES["M2"], PHONES["M3"], PHONES["M1b"]],
    "网格编码": ["G1;G2", "G3", "", "G4"],
    "所属街道": ["民主街道", "民主街道", "中山街道", "中山街道"],
})


def _write_roster(path: Path, fmt: str) -> Path:
    if fmt == "xlsx":
        ROSTER.to_excel(path, index=False, sheet_name="花名册")
    else:
        ROSTER.to_csv(path, index=False, encoding=fmt)
    return path


@pytest.mark.parametrize("fmt", ["utf-8", "gbk", "xlsx"])
def test_manager_roster_loads_with_grids_and_quarantine(tiny: Settings, tmp_path: Path, fmt: str) -> None:
    path = _write_roster(tmp_path / f"roster.{'xlsx' if fmt == 'xlsx' else 'csv'}", fmt)
    report = ingest_file("managers", path, settings=tiny)
    assert (report.rows_in, report.rows_ok, report.rows_rejected) == (4, 2, 2)
    con = _reader(tiny)
    managers = query_frame(con, "SELECT manager_id, name, grid_ids, phone_masked, phone_hash FROM managers "
                                "ORDER BY manager_id")
    pairs = set(con.execute("SELECT manager_id, grid_id FROM manager_grids").fetchall())
    quarantine = query_frame(con, "SELECT row_number, reason, reason_codes FROM quarantine JOIN loads "
                                  "USING (load_id) WHERE kind = 'managers' ORDER BY row_number")
    before = con.execute("SELECT count(*) FROM loads").fetchone()[0]
    con.close()
    assert managers["manager_id"].tolist() == ["M1", "M2"]
    assert managers["name"].tolist() == ["张三", "李四"]
    assert managers["grid_ids"].tolist() == ["G1;G2", "G3"]
    assert pairs == {("M1", "G1"), ("M1", "G2"), ("M2", "G3")}
    assert managers["phone_masked"].notna().all() and managers["phone_hash"].notna().all()
    for masked, raw in zip(managers["phone_masked"], [PHONES["M1"], PHONES["M2"]]):
        assert masked != raw and "*" in masked and masked[:3] == raw[:3]
    assert quarantine["row_number"].tolist() == [3, 4]
    assert "grid_id" in quarantine.loc[0, "reason"] and "missing_grid_id" in quarantine.loc[0, "reason_codes"]
    assert "manager_id" in quarantine.loc[1, "reason"] and "duplicate" in quarantine.loc[1, "reason_codes"]

    routes = _routes(tiny)
    assert routes.loc[["K1", "K2", "K3"], "manager_id"].tolist() == ["M1", "M1", "M2"]
    assert pd.isna(routes.loc["K4", "manager_id"])
    assert routes.loc["K1", "reason"] is None or pd.isna(routes.loc["K1", "reason"])
    assert routes.loc["K4", "reason"] == "grid G4 has no manager in the roster"

    again = ingest_file("managers", path, settings=tiny)
    assert again.status == "unchanged"
    con = _reader(tiny)
    assert con.execute("SELECT count(*) FROM loads").fetchone()[0] == before
    assert con.execute("SELECT manager_id, grid_ids FROM managers ORDER BY 1").fetchall() == [("M1", "G1;G2"),
                                                                                                ("M2", "G3")]
    con.close()


def _raw_phone_cells(con, phones: list[str]) -> list[tuple[str, str]]:
    """(table.column, phone) for every text cell of every table that holds a raw phone number."""
    columns = con.execute("SELECT table_name, column_name FROM information_schema.columns "
                          "WHERE data_type = 'VARCHAR'").fetchall()
    found = []
    for table, column in columns:
        for phone in phones:
            hit = con.execute(f'SELECT count(*) FROM "{table}" WHERE "{column}" LIKE ?', [f"%{phone}%"]).fetchone()[0]
            if hit:
                found.append((f"{table}.{column}", phone))
    return found


def test_roster_phones_are_stored_masked_only_for_kept_rows(tiny: Settings, tmp_path: Path) -> None:
    ingest_file("managers", _write_roster(tmp_path / "roster.csv", "utf-8"), settings=tiny)
    con = _reader(tiny)
    masked = query_frame(con, "SELECT phone_masked FROM managers ORDER BY manager_id")["phone_masked"].tolist()
    assert _raw_phone_cells(con, [PHONES["M1"], PHONES["M2"]]) == []
    con.close()
    blob = tiny.db_path.read_bytes()
    assert masked[0].encode() in blob  # the control: stored text is findable in the file's bytes
    for phone in (PHONES["M1"], PHONES["M2"]):
        assert phone.encode() not in blob


def test_quarantined_roster_rows_hold_no_raw_phone(tiny: Settings, tmp_path: Path) -> None:
    ingest_file("managers", _write_roster(tmp_path / "roster.csv", "utf-8"), settings=tiny)
    con = _reader(tiny)
    found = _raw_phone_cells(con, list(PHONES.values()))
    con.close()
    assert found == []
    blob = tiny.db_path.read_bytes()
    assert not [p for p in PHONES.values() if p.encode() in blob]


# --- generated grids on a copy of the demo database --------------------------------------------

def _copy_demo(settings: Settings, folder: Path) -> Settings:
    assert not settings.db_path.with_name(settings.db_path.name + ".wal").exists()
    copy = folder / "demo-copy.duckdb"
    shutil.copy(settings.db_path, copy)
    return dataclasses.replace(settings, db_path=copy)


def _contiguous(cells: pd.DataFrame) -> pd.Series:
    """Number of connected pieces of each grid over H3 neighbours (networkx)."""
    pieces = {}
    for grid_id, group in cells.groupby("grid_id"):
        ids = [h3.int_to_str(int(c)) for c in group["h3"]]
        graph = nx.Graph()
        graph.add_nodes_from(ids)
        members = set(ids)
        graph.add_edges_from((a, b) for a in ids for b in h3.grid_ring(a, 1) if b in members)
        pieces[grid_id] = nx.number_connected_components(graph)
    return pd.Series(pieces)


def test_generate_grids_replace_on_the_demo(demo_db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _copy_demo(demo_db[0], tmp_path)
    monkeypatch.setenv("GRID_HASH_KEY_FILE", str(demo_db[0].hash_key_path))
    con = _reader(settings)
    before = query_frame(con, "SELECT complaint_id, level, community_id FROM complaint_routes")
    before = before.set_index("complaint_id")
    con.close()

    refused = CliRunner().invoke(cli, ["--db", str(settings.db_path), "grids", "generate"])
    assert isinstance(refused.exception, InputError) and "pass --replace" in str(refused.exception)
    result = CliRunner().invoke(cli, ["--db", str(settings.db_path), "grids", "generate", "--replace"])
    assert result.exit_code == 0, result.output

    con = _reader(settings)
    grids = _grid_polygons(con)
    households = query_frame(con, "SELECT households FROM grids")["households"]
    cells = query_frame(con, "SELECT grid_id, h3 FROM grid_cells")
    routes = query_frame(con, "SELECT r.complaint_id, r.grid_id, r.community_id, r.level, c.lon, c.lat "
                              "FROM complaint_routes r JOIN complaints c USING (complaint_id)")
    n_complaints = con.execute("SELECT count(*) FROM complaints").fetchone()[0]
    sources = con.execute("SELECT DISTINCT source FROM grids").fetchall()
    con.close()

    assert sources == [("generated",)]
    assert (_contiguous(cells) == 1).all()
    within = households.between(settings.grid_min_households, settings.grid_max_households).mean()
    shown = re.search(r"within (\d+)-(\d+) households: ([\d.]+)%", result.output)
    assert shown and (int(shown[1]), int(shown[2])) == (settings.grid_min_households, settings.grid_max_households)
    assert abs(float(shown[3]) / 100 - within) <= 1 / len(grids) + 1e-9
    print(f"generated {len(grids)} grids; {within:.1%} within bounds (reported {shown[3]}%)")

    assert len(routes) == n_complaints and routes["complaint_id"].is_unique
    after = routes.set_index("complaint_id")
    lost = (before["level"] != "none") & (after["level"].reindex(before.index) == "none")
    assert not lost.any()
    located = routes[routes["lon"].notna()].reset_index(drop=True)
    assert (located["level"] == "grid").sum() == (before.loc[located["complaint_id"], "level"] == "grid").sum() > 0
    # generated outlines are unions of whole H3 cells, so grids of neighbouring communities overlap
    # on border cells: the routed grid must be one of the grids holding the point
    tree = shapely.STRtree(grids["geometry"].to_numpy())
    point_ix, grid_ix = tree.query(shapely.points(located["lon"], located["lat"]), predicate="intersects")
    holders = set(zip(point_ix.tolist(), grids["grid_id"].to_numpy()[grid_ix]))
    hits = np.bincount(point_ix, minlength=len(located))
    among = np.array([(i, g) in holders for i, g in enumerate(located["grid_id"])])
    kept = (after.loc[located["complaint_id"], "community_id"].to_numpy()
            == before.loc[located["complaint_id"], "community_id"].to_numpy())
    print(f"after regeneration: {among.mean():.2%} of {len(located)} located complaints in a grid holding their "
          f"point; {int((hits > 1).sum())} in overlapping outlines; {kept.mean():.2%} keep their community")
    assert (hits > 0).all() and among.all()
    assert kept.mean() >= 0.9  # border cells may move a complaint to the neighbouring community (see Baltimore)


def test_grids_balance_reports_the_stored_grid_layer(demo_db) -> None:
    """`grid grids balance` on the demo's official grids: the households the grid layer gives,
    their coefficient of variation and the share within 300-500, as SQL computes them."""
    settings, _ = demo_db
    con = _reader(settings)
    n, cv, within = con.execute("SELECT count(*), stddev_pop(households) / avg(households), "
                                "avg((households BETWEEN 300 AND 500)::INTEGER) FROM grids").fetchone()
    con.close()
    result = CliRunner().invoke(cli, ["--db", str(settings.db_path), "grids", "balance"])
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert first.startswith(f"{n} grids") and f"cv {cv:.3f}" in first and f"300-500: {within:.1%}" in first
    assert len(result.output.splitlines()) - 1 == min(10, round(n * (1 - within)))


def test_complaints_rates_command_prints_the_query_layer(demo_db) -> None:
    settings, _ = demo_db
    con = _reader(settings)
    expected = rates(con, settings, system_viewer(), by=["subdistrict"])
    con.close()
    result = CliRunner().invoke(cli, ["--db", str(settings.db_path), "complaints", "rates", "--by", "subdistrict"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].split() == ["subdistrict", "complaints", "response_rate", "resolution_rate", "satisfaction_rate"]
    printed = {line.split()[0]: line.split()[1:] for line in lines[1:]}
    for row in expected.itertuples():
        assert printed[row.subdistrict] == [str(row.complaints), f"{row.response_rate:.3f}",
                                            f"{row.resolution_rate:.3f}", f"{row.satisfaction_rate:.3f}"]
