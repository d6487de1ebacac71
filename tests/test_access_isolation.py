"""Access isolation in the query layer (grid.queries.complaints, complaint_analysis, workload).

Every public function of grid.queries that takes a viewer is called here (a registry test
fails when a new one is not): a grid manager (网格员) must get
only the rows of their own grids, asking for another grid must raise AccessError, a manager
without grids must see nothing, and personal data (masked name and phone, exact address)
must reach only the roles roles.csv allows. What each viewer may see is worked out with
plain SQL on the demo database, independently of the query layer.
"""

from __future__ import annotations

import importlib
import inspect
import io
import math
import pkgutil
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields, is_dataclass, replace
from types import ModuleType

import duckdb
import h3
import numpy as np
import pandas as pd
import pytest

import grid.queries
from grid.governance.access import AccessError, Viewer, viewer_for
from grid.queries import complaint_analysis, complaints, workload
from grid.queries.complaints import ComplaintFilter
from grid.settings import Settings
from grid.store import open_reader

MODULES = (complaints, complaint_analysis, workload)
# The brief's 1[3-9]\d{9}, bounded by non-digits: grid ids such as 42019900100101 hold such a run.
FULL_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
MASKED_MOBILE = re.compile(r"^1[3-9]\d\*{4}\d{4}$")
HASH_COLUMNS = ("complainant_hash", "phone_hash")
PERSONAL_COLUMNS = ("complainant_masked", "phone_masked", "address")
GAP_ARGS = {"complaint_category": "noise", "facility_category": "community_health_center", "circle_id": "gb-15min"}


# ---------------------------------------------------------------- the demo city and its reference


@dataclass(frozen=True)
class Demo:
    """The demo database with plain-SQL answers to "whose is this row?"."""

    settings: Settings
    con: duckdb.DuckDBPyConnection
    complaint_grid: dict[str, str | None]
    community_level: frozenset[str]
    grid_cells: dict[str, frozenset[int]]
    grid_managers: dict[str, frozenset[str]]
    grid_community: dict[str, str]

    def complaints_of(self, grids: frozenset[str]) -> set[str]:
        return {c for c, g in self.complaint_grid.items() if g in grids}

    def cells_of(self, grids: frozenset[str]) -> set[int]:
        return set().union(*(self.grid_cells.get(g, frozenset()) for g in grids))

    def managers_of(self, grids: frozenset[str]) -> set[str]:
        return set().union(*(self.grid_managers.get(g, frozenset()) for g in grids))

    def complaint_in(self, grid_id: str) -> str:
        return min(self.complaints_of(frozenset({grid_id})))


def _grouped(rows: list[tuple]) -> dict:
    out: dict = {}
    for key, value in rows:
        out.setdefault(key, set()).add(value)
    return {k: frozenset(v) for k, v in out.items()}


@pytest.fixture(scope="module")
def demo(demo_db) -> Iterator[Demo]:
    settings, _ = demo_db
    con = open_reader(settings.db_path)
    q = lambda sql: con.execute(sql).fetchall()  # noqa: E731
    routes = q("SELECT complaint_id, grid_id, level FROM complaint_routes")
    yield Demo(settings=settings, con=con,
               complaint_grid={c: g for c, g, _ in routes},
               community_level=frozenset(c for c, g, level in routes if level == "community"),
               grid_cells=_grouped(q("SELECT grid_id, h3 FROM grid_cells")),
               grid_managers=_grouped(q("SELECT grid_id, manager_id FROM manager_grids")),
               grid_community=dict(q("SELECT grid_id, community_id FROM grids")))
    con.close()


@pytest.fixture(scope="module")
def viewers(demo: Demo) -> dict[str, Viewer]:
    """Real viewers of the demo users, a second grid manager for another busy grid, and a
    grid manager whose manager has no grid (both built without writing the database)."""
    found = {role: viewer_for(demo.con, f"demo_{role}") for role in ("manager", "supervisor", "planner", "analyst")}
    own = found["manager"].grid_ids
    assert own and own == {g for g, ms in demo.grid_managers.items() if found["manager"].manager_id in ms}
    busy = pd.Series(demo.complaint_grid).dropna().value_counts()
    other = busy.drop(list(own)).index[0]
    (other_manager,) = demo.grid_managers[other]
    found["other_manager"] = replace(found["manager"], username="other_manager", display_name=None,
                                     grid_ids=frozenset({other}), manager_id=other_manager)
    found["no_grids"] = replace(found["manager"], username="manager_without_grids", display_name=None,
                                grid_ids=frozenset(), manager_id="WGY-WITHOUT-GRID")
    return found


@pytest.fixture(scope="module")
def other_grid(viewers: dict[str, Viewer]) -> str:
    (grid_id,) = viewers["other_manager"].grid_ids
    return grid_id


# ---------------------------------------------------------------- every viewer-taking function


def _read_csv(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str, keep_default_na=False)


def _frames(result: object) -> list[pd.DataFrame]:
    """Every frame in a result: itself, a dataclass's frame fields, or an exported CSV read back."""
    if isinstance(result, pd.DataFrame):
        return [result]
    if isinstance(result, bytes):
        return [_read_csv(result)]
    if is_dataclass(result):
        return [getattr(result, f.name) for f in fields(result) if isinstance(getattr(result, f.name), pd.DataFrame)]
    raise TypeError(f"cannot read frames from {type(result).__name__}")


def _timeline_grid(timeline: pd.DataFrame) -> list[pd.DataFrame]:
    """The grid a timeline names in its 'routed' step ("grid via point: <grid_id>")."""
    note = timeline.loc[timeline["step"] == "routed", "note"]
    return [pd.DataFrame({"grid_id": [n.rsplit(": ", 1)[1] for n in note]})]


def _redraw_frames(view: workload.RedrawView) -> list[pd.DataFrame]:
    """The frames of a redraw: current grids count as grids; proposed grids (named
    ``<community_id>-G01``..., in ``proposed_grid_id`` or the ``*after`` frames) as their community."""
    out = []
    for name, frame in ((f.name, getattr(view, f.name)) for f in fields(view)):
        if not isinstance(frame, pd.DataFrame):
            continue
        frame = pd.DataFrame(frame.drop(columns="geometry", errors="ignore")).rename(
            columns={"current_grid_id": "grid_id"})
        proposed = "proposed_grid_id" if "proposed_grid_id" in frame else "grid_id" if name.endswith("after") else None
        if proposed:
            frame = frame.assign(proposed_community=frame.pop(proposed).str.rsplit("-G", n=1).str[0])
        out.append(frame)
    return out


@dataclass(frozen=True)
class Call:
    """How to call one query function and which of its outputs identify rows.

    ``run(demo, viewer, **kw)`` calls it with default arguments (plus the required ones);
    ``frames`` gives the frames whose grid_id, h3, complaint_id(s) and manager_id(s) columns
    are checked; ``counted`` the number of complaints an aggregate counts.
    """

    run: Callable[..., object]
    frames: Callable[[object], list[pd.DataFrame]] = _frames
    counted: Callable[[object], int] | None = None


def _timeline(demo: Demo, viewer: Viewer, *, complaint_id: str | None = None) -> pd.DataFrame:
    """The timeline of ``complaint_id``, by default of the first complaint in the viewer's first grid."""
    if complaint_id is None:
        complaint_id = demo.complaint_in(min(g for g in demo.complaint_grid.values() if g and viewer.can_see_grid(g)))
    return complaints.complaint_timeline(demo.con, viewer, complaint_id)


CALLS: dict[str, Call] = {
    "visible_complaints": Call(lambda d, v, **kw: complaints.visible_complaints(d.con, v, **kw)),
    "work_list": Call(lambda d, v, **kw: complaints.work_list(d.con, v, **kw)),
    "complaint_timeline": Call(_timeline, frames=_timeline_grid),
    "complaint_trends": Call(lambda d, v, **kw: complaints.complaint_trends(d.con, v, **kw),
                             counted=lambda r: int(r["complaints"].sum())),
    "complaints_by_area": Call(lambda d, v, **kw: complaints.complaints_by_area(d.con, v, **kw),
                               frames=lambda r: [r.rename(columns={"key": "h3"})],
                               counted=lambda r: int(r["complaints"].sum())),
    "hotspot_cells": Call(lambda d, v, **kw: complaint_analysis.hotspot_cells(d.con, v, **kw),
                          counted=lambda r: int(r["count"].sum())),
    "repeat_complaints": Call(lambda d, v, **kw: complaint_analysis.repeat_complaints(d.con, v, **kw)),
    "complaints_over_gaps": Call(lambda d, v, **kw: complaint_analysis.complaints_over_gaps(
        d.con, d.settings, v, **GAP_ARGS, **kw)),
    "visible_grids": Call(lambda d, v, **kw: workload.visible_grids(d.con, v, **kw)),
    "grid_cells_of": Call(lambda d, v, **kw: workload.grid_cells_of(d.con, v, **kw)),
    "rates": Call(lambda d, v, **kw: workload.rates(d.con, d.settings, v, by=["grid", "manager"], **kw)),
    "workload": Call(lambda d, v, **kw: workload.workload(d.con, d.settings, v, **kw)),
    "redraw_view": Call(lambda d, v, **kw: workload.redraw_view(d.con, v, **kw), frames=_redraw_frames),
    "export_work_list": Call(lambda d, v, **kw: workload.export_work_list(d.con, v, **kw)),
}
"""Every public viewer-taking query function: the registry test fails when one is missing."""

GATES = {"check_grid_access"}
"""Viewer-taking functions that are the access check itself (tested on their own below)."""


def _takes_viewer(fn: object) -> bool:
    if not inspect.isfunction(fn):
        return False
    params = inspect.signature(fn).parameters.values()
    return any(p.name == "viewer" or "Viewer" in str(p.annotation) for p in params)


def _query_modules() -> list[ModuleType]:
    """Every module of grid.queries (a new module with viewer-taking functions is caught too)."""
    return [importlib.import_module(f"grid.queries.{m.name}") for m in pkgutil.iter_modules(grid.queries.__path__)]


def _viewer_functions() -> dict[str, Callable]:
    """Public functions of grid.queries that take a viewer, by name."""
    found: dict[str, Callable] = {}
    for module in _query_modules():
        for name in getattr(module, "__all__", ()):
            fn = getattr(module, name)
            if _takes_viewer(fn):
                assert found.get(name, fn) is fn, f"two functions named {name}; give the registry qualified names"
                found[name] = fn
    return found


def _scoped_arguments(name: str, grid_id: str) -> dict[str, object]:
    """Keyword arguments asking ``name`` for one grid: flt=ComplaintFilter(grid_id=...) or grid_id=..."""
    params = inspect.signature(_viewer_functions()[name]).parameters
    if "flt" in params:
        return {"flt": ComplaintFilter(grid_id=grid_id)}
    if "grid_id" in params:
        return {"grid_id": grid_id}
    return {}


SCOPED = [name for name in CALLS if name in _viewer_functions() and _scoped_arguments(name, "x")]


# ---------------------------------------------------------------- footprints


@dataclass
class Footprint:
    """Who the rows of a result belong to."""

    rows: int = 0
    grid_ids: set[str] = field(default_factory=set)
    cells: set[int] = field(default_factory=set)
    complaint_ids: set[str] = field(default_factory=set)
    manager_ids: set[str] = field(default_factory=set)
    community_ids: set[str] = field(default_factory=set)
    counted: int | None = None

    def identified(self) -> bool:
        return bool(self.grid_ids or self.cells or self.complaint_ids or self.manager_ids or self.community_ids)


def _add_frame(fp: Footprint, frame: pd.DataFrame) -> None:
    fp.rows += len(frame)

    def values(column: str) -> list:
        found = frame[column].dropna() if column in frame else pd.Series([], dtype=object)
        if column != "complaint_ids":  # lists are unhashable
            found = pd.Series(found.unique())
        return [v for v in found if v != ""]

    fp.grid_ids.update(values("grid_id"))
    fp.cells.update(int(c) for c in values("h3"))
    fp.complaint_ids.update(values("complaint_id"))
    fp.complaint_ids.update(c for ids in values("complaint_ids") for c in ids)
    fp.manager_ids.update(values("manager_id"))
    fp.manager_ids.update(m for ms in values("manager_ids") for m in ms.split(";"))
    fp.community_ids.update(values("community_id") + values("proposed_community"))


def footprint(name: str, result: object, frames: list[pd.DataFrame] | None = None) -> Footprint:
    """The footprint of ``CALLS[name]``'s result (``frames``: its identity frames, when already made)."""
    fp = Footprint()
    for frame in frames if frames is not None else CALLS[name].frames(result):
        _add_frame(fp, frame)
    if CALLS[name].counted is not None:
        fp.counted = CALLS[name].counted(result)
    return fp


def outside(fp: Footprint, demo: Demo, grids: frozenset[str]) -> dict[str, set]:
    """The identities in ``fp`` that do not belong to ``grids`` (empty dict: none)."""
    stray = {"grid_ids": fp.grid_ids - grids, "cells": fp.cells - demo.cells_of(grids),
             "complaint_ids": fp.complaint_ids - demo.complaints_of(grids),
             "manager_ids": fp.manager_ids - demo.managers_of(grids),
             "community_ids": fp.community_ids - {demo.grid_community[g] for g in grids}}
    return {k: v for k, v in stray.items() if v}


@dataclass(frozen=True)
class Seen:
    """One call's result, every frame in it (exports read back) and its footprint."""

    result: object
    frames: list[pd.DataFrame]
    footprint: Footprint


@pytest.fixture(scope="module")
def seen(demo: Demo) -> Callable[[str, Viewer], Seen]:
    """``seen(name, viewer)``: CALLS[name] with default arguments, computed once per module."""
    cache: dict[tuple[str, Viewer], Seen] = {}

    def get(name: str, viewer: Viewer) -> Seen:
        if (name, viewer) not in cache:
            got = CALLS[name].run(demo, viewer)
            frames = _frames(got)
            identity = frames if CALLS[name].frames is _frames else None
            cache[name, viewer] = Seen(got, frames, footprint(name, got, identity))
        return cache[name, viewer]

    return get


def _full_mobiles(frame: pd.DataFrame) -> list[str]:
    """Text cells of ``frame`` holding a full mobile number."""
    hits: list[str] = []
    for column in frame.columns:
        if pd.api.types.is_numeric_dtype(frame[column]) or pd.api.types.is_datetime64_any_dtype(frame[column]):
            continue
        text = frame[column].dropna().astype(str)
        hits += text[text.str.contains(FULL_MOBILE)].tolist()
    return hits


# ---------------------------------------------------------------- 1. the registry


def test_every_viewer_taking_query_function_is_exercised() -> None:
    assert set(MODULES) <= set(_query_modules())
    found = set(_viewer_functions())
    assert found - set(CALLS) - GATES == set(), "add these functions to CALLS in tests/test_access_isolation.py"
    assert set(CALLS) | GATES <= found, "CALLS or GATES name functions that no longer take a viewer"
    assert {"visible_complaints", "work_list", "export_work_list", "hotspot_cells", "workload"} <= found


def test_check_grid_access_is_the_gate(viewers: dict[str, Viewer], other_grid: str) -> None:
    manager = viewers["manager"]
    (own,) = manager.grid_ids
    assert complaints.check_grid_access(manager, own) is None
    assert complaints.check_grid_access(manager, None) is None
    assert complaints.check_grid_access(viewers["supervisor"], other_grid) is None
    for viewer in (manager, viewers["no_grids"]):
        with pytest.raises(AccessError, match=f"user '{viewer.username}' \\(grid_manager\\) may not read grid "
                                              f"'{other_grid}'; a grid manager sees only their own grids"):
            complaints.check_grid_access(viewer, other_grid)


# ---------------------------------------------------------------- 2. a manager's rows are their grids' rows


@pytest.mark.parametrize("who", ["manager", "other_manager"])
@pytest.mark.parametrize("name", list(CALLS))
def test_manager_sees_only_their_grids(demo: Demo, viewers: dict[str, Viewer], seen, name: str, who: str) -> None:
    viewer = viewers[who]
    fp = seen(name, viewer).footprint
    assert fp.rows > 0, f"{name} returned nothing for {who}, who has complaints: the check would be vacuous"
    assert fp.identified() or fp.counted is not None, f"{name}: no column identifies whose rows these are"
    assert outside(fp, demo, viewer.grid_ids) == {}
    if fp.counted is not None:
        assert fp.counted == len(demo.complaints_of(viewer.grid_ids))


@pytest.mark.parametrize("name", [n for n in CALLS if n != "complaint_timeline"])
def test_supervisor_sees_other_grids_through_the_same_call(demo: Demo, viewers: dict[str, Viewer], seen,
                                                           name: str) -> None:
    mine, theirs = seen(name, viewers["manager"]).footprint, seen(name, viewers["supervisor"]).footprint
    assert theirs.rows > mine.rows
    assert outside(theirs, demo, viewers["manager"].grid_ids) or theirs.counted > mine.counted


def test_manager_viewer_comes_from_manager_grids(demo: Demo, viewers: dict[str, Viewer]) -> None:
    manager = viewers["manager"]
    assert manager.role == "grid_manager" and manager.grid_ids == {
        g for g, ms in demo.grid_managers.items() if manager.manager_id in ms}


# ---------------------------------------------------------------- 3. asking for another grid


@pytest.mark.parametrize("name", SCOPED)
def test_asking_for_another_grid_raises_for_the_manager(demo: Demo, viewers: dict[str, Viewer], other_grid: str,
                                                        name: str) -> None:
    with pytest.raises(AccessError, match=f"user 'demo_manager' \\(grid_manager\\) may not read grid '{other_grid}'"):
        CALLS[name].run(demo, viewers["manager"], **_scoped_arguments(name, other_grid))


@pytest.mark.parametrize("name", SCOPED)
def test_asking_for_another_grid_works_for_the_supervisor(demo: Demo, viewers: dict[str, Viewer], other_grid: str,
                                                          name: str) -> None:
    got = CALLS[name].run(demo, viewers["supervisor"], **_scoped_arguments(name, other_grid))
    fp = footprint(name, got)
    assert fp.rows > 0
    assert outside(fp, demo, frozenset({other_grid})) == {}


def test_scoped_calls_cover_the_filters() -> None:
    assert {"visible_complaints", "work_list", "hotspot_cells", "rates", "export_work_list", "visible_grids",
            "grid_cells_of", "complaints_over_gaps"} <= set(SCOPED)


def test_timeline_of_another_grids_complaint_raises(demo: Demo, viewers: dict[str, Viewer], other_grid: str) -> None:
    theirs = demo.complaint_in(other_grid)
    with pytest.raises(AccessError, match=f"complaint '{theirs}' does not exist or is not in a grid user "
                                          "'demo_manager' may read"):
        complaints.complaint_timeline(demo.con, viewers["manager"], theirs)
    timeline = complaints.complaint_timeline(demo.con, viewers["supervisor"], theirs)
    assert _timeline_grid(timeline)[0]["grid_id"].tolist() == [other_grid]


def test_a_community_filter_cannot_widen_a_manager_view(demo: Demo, viewers: dict[str, Viewer],
                                                        other_grid: str) -> None:
    community = demo.grid_community[other_grid]
    assert community not in {demo.grid_community[g] for g in viewers["manager"].grid_ids}
    flt = ComplaintFilter(community_id=community)
    assert complaints.visible_complaints(demo.con, viewers["manager"], flt).empty
    assert len(complaints.visible_complaints(demo.con, viewers["supervisor"], flt)) > 0


# ---------------------------------------------------------------- 4. exports


def _xlsx_text(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        return "".join(book.read(n).decode("utf-8") for n in book.namelist() if n.endswith(".xml"))


def _other_ids(demo: Demo, viewer: Viewer, per_grid: int = 3) -> list[str]:
    """A few complaint ids from each of ten other grids, plus community-level ones of the viewer's communities."""
    others = sorted({g for g in demo.complaint_grid.values() if g and g not in viewer.grid_ids})[:10]
    ids = [c for g in others for c in sorted(demo.complaints_of(frozenset({g})))[:per_grid]]
    communities = {demo.grid_community[g] for g in viewer.grid_ids}
    routes = demo.con.execute("SELECT complaint_id FROM complaint_routes WHERE grid_id IS NULL AND community_id IN "
                              "(SELECT unnest(?::VARCHAR[])) ORDER BY complaint_id LIMIT 5", [sorted(communities)])
    return ids + [c for (c,) in routes.fetchall()]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_holds_only_the_managers_complaints(demo: Demo, viewers: dict[str, Viewer], fmt: str) -> None:
    manager = viewers["manager"]
    data = workload.export_work_list(demo.con, manager, fmt=fmt)
    if fmt == "csv":
        assert data.startswith(b"\xef\xbb\xbf")
        frame, text = _read_csv(data), data.decode("utf-8-sig")
    else:
        frame, text = pd.read_excel(io.BytesIO(data), dtype=str), _xlsx_text(data)
    assert set(frame["complaint_id"]) == demo.complaints_of(manager.grid_ids)
    assert set(frame["grid_id"]) == set(manager.grid_ids)
    leaked = [c for c in _other_ids(demo, manager) if c in text]
    assert leaked == [], f"other grids' complaint ids in the {fmt} export"
    assert [g for g in demo.grid_cells if g not in manager.grid_ids and g in text] == []


# ---------------------------------------------------------------- 5. personal data


def _cell_centres(cells: pd.Series) -> pd.DataFrame:
    """lon, lat of each cell's centre by h3-py, one lookup per distinct cell."""
    distinct = {int(c): h3.cell_to_latlng(h3.int_to_str(int(c))) for c in cells.unique()}
    return pd.DataFrame({"lon": [distinct[int(c)][1] for c in cells], "lat": [distinct[int(c)][0] for c in cells]})


@pytest.mark.parametrize("who", ["planner", "analyst"])
@pytest.mark.parametrize("name", list(CALLS))
def test_roles_without_personal_data_get_none(viewers: dict[str, Viewer], seen, who: str, name: str) -> None:
    for frame in seen(name, viewers[who]).frames:
        assert [c for c in frame.columns if c in PERSONAL_COLUMNS + HASH_COLUMNS] == []
        if "description" in frame:
            assert (frame["description"].fillna("") == "").all(), "free text carries addresses and phones"


@pytest.mark.parametrize("who", ["planner", "analyst"])
def test_roles_without_exact_address_get_cell_centres(demo: Demo, viewers: dict[str, Viewer], seen,
                                                      who: str) -> None:
    frame = seen("visible_complaints", viewers[who]).result
    located = frame[frame["h3"].notna()].reset_index(drop=True)
    centres = _cell_centres(located["h3"])
    assert len(located) > 0
    assert np.abs(located[["lon", "lat"]].to_numpy(float) - centres.to_numpy()).max() < 1e-9
    assert frame.loc[frame["h3"].isna(), ["lon", "lat"]].isna().all().all()
    exact = dict(demo.con.execute("SELECT complaint_id, lon FROM complaints WHERE lon IS NOT NULL").fetchall())
    moved = np.abs(located["complaint_id"].map(exact).to_numpy(float) - located["lon"].to_numpy(float)) > 1e-6
    assert moved.mean() > 0.5, "stored points should differ from cell centres (else the check is vacuous)"


@pytest.mark.parametrize("who", ["planner", "analyst"])
def test_exports_without_exact_address_hold_no_address_text(demo: Demo, viewers: dict[str, Viewer], seen,
                                                             who: str) -> None:
    text = seen("export_work_list", viewers[who]).result.decode("utf-8-sig")
    addresses = [a for (a,) in demo.con.execute(
        "SELECT address FROM complaints WHERE address IS NOT NULL ORDER BY complaint_id LIMIT 200").fetchall()]
    assert [a for a in addresses if a in text] == []


@pytest.mark.parametrize("who", ["supervisor", "manager"])
def test_allowed_roles_get_masked_personal_data(viewers: dict[str, Viewer], seen, who: str) -> None:
    frame = seen("work_list", viewers[who]).result
    assert {"complainant_masked", "phone_masked", "address", "description"} <= set(frame.columns)
    phones = frame["phone_masked"].dropna()
    assert len(phones) > 0 and phones.str.contains("*", regex=False).all()
    assert phones.str.match(MASKED_MOBILE).any()
    names = frame["complainant_masked"].dropna()
    assert len(names) > 0 and names.str.contains("*", regex=False).all()


@pytest.mark.parametrize("who", ["supervisor", "manager", "planner", "analyst"])
@pytest.mark.parametrize("name", list(CALLS))
def test_nobody_gets_full_phones_or_hashes(viewers: dict[str, Viewer], seen, who: str, name: str) -> None:
    for frame in seen(name, viewers[who]).frames:
        assert [c for c in frame.columns if c in HASH_COLUMNS] == []
        assert _full_mobiles(frame) == [], f"full mobile numbers in {name} for {who}"


def test_exports_hold_no_hash_values(demo: Demo, viewers: dict[str, Viewer], seen) -> None:
    text = seen("export_work_list", viewers["manager"]).result.decode("utf-8-sig")
    hashes = demo.con.execute("SELECT complainant_hash, phone_hash FROM complaints c JOIN complaint_routes r "
                              "USING (complaint_id) WHERE r.grid_id IN (SELECT unnest(?::VARCHAR[])) "
                              "AND complainant_hash IS NOT NULL", [sorted(viewers["manager"].grid_ids)]).fetchall()
    assert hashes and [h for row in hashes for h in row if h and h in text] == []


# ---------------------------------------------------------------- 6. a manager without grids


@pytest.mark.parametrize("name", list(CALLS))
def test_manager_without_grids_sees_nothing(demo: Demo, viewers: dict[str, Viewer], name: str) -> None:
    viewer = viewers["no_grids"]
    if name == "complaint_timeline":
        with pytest.raises(AccessError, match="is not in a grid user 'manager_without_grids' may read"):
            CALLS[name].run(demo, viewer, complaint_id=min(demo.complaint_grid))
        return
    got = CALLS[name].run(demo, viewer)
    fp = footprint(name, got)
    assert fp.rows == 0 and not fp.identified()
    assert fp.counted in (None, 0)
    if isinstance(got, complaint_analysis.GapOverlay):
        assert math.isnan(got.figures["ratio"])


# ---------------------------------------------------------------- 7. complaints without a grid


def test_community_level_complaints_are_invisible_to_managers(demo: Demo, viewers: dict[str, Viewer],
                                                              seen) -> None:
    manager = viewers["manager"]
    communities = {demo.grid_community[g] for g in manager.grid_ids}
    local = {c for (c,) in demo.con.execute(
        "SELECT complaint_id FROM complaint_routes WHERE grid_id IS NULL AND community_id IN "
        "(SELECT unnest(?::VARCHAR[]))", [sorted(communities)]).fetchall()}
    assert local and local <= demo.community_level, "the demo should route some complaints of this community by address"
    for name in CALLS:
        assert seen(name, manager).footprint.complaint_ids & demo.community_level == set(), name
    with pytest.raises(AccessError, match=f"complaint '{min(local)}' does not exist"):
        complaints.complaint_timeline(demo.con, manager, min(local))
    everything = seen("visible_complaints", viewers["supervisor"]).result
    assert local <= set(everything["complaint_id"])
    assert everything.loc[everything["complaint_id"].isin(local), "grid_id"].isna().all()
