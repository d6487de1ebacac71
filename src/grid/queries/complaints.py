"""Complaints as a viewer may see them: the grid manager's work list, a complaint's
timeline, trends, maps by area, hotspots, repeat places and complaints over
life-circle gaps.

Every function takes the :class:`~grid.governance.access.Viewer` and reads
through :func:`visible_complaints`, the one place where the access rules apply:
a grid manager gets only the complaints routed to their grids (asking for
another grid raises :class:`~grid.governance.access.AccessError`); personal data
(masked name and phone) only reach roles allowed to see it, exact address and
point only roles allowed to see them (others get the H3 cell centre). The free-text
description often repeats the address and a callback number, so it reaches only
roles allowed to see both (others get NULL).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from grid.governance.access import AccessError, Viewer
from grid.governance.refresh import read_complaints_as_of
from grid.governance.sla import clock_states
from grid.h3index import cells_to_lonlat
from grid.store import query_frame

__all__ = ["ComplaintFilter", "visible_complaints", "work_list", "complaint_timeline", "complaint_trends",
           "complaints_by_area", "check_grid_access", "complaints_as_of", "CLOSED_STATUSES", "VOID_STATUSES",
           "PERSONAL_COLUMNS", "ADDRESS_COLUMNS"]

CLOSED_STATUSES = frozenset({"closed", "duplicate", "cancelled"})
VOID_STATUSES = frozenset({"duplicate", "cancelled"})
PERSONAL_COLUMNS = ("complainant_masked", "phone_masked")
ADDRESS_COLUMNS = ("address",)

_BASE_COLUMNS = (
    "c.complaint_id, c.received_at, c.request_type, c.category, c.urgency, c.channel, c.status, c.responded_at, "
    "c.closed_at, c.satisfaction, c.reopen_count, c.source, coalesce(c.time_zone, 'Asia/Shanghai') AS time_zone, r.h3, r.grid_id, r.community_id, "
    "r.subdistrict, r.manager_id, r.method AS route_method, r.level AS route_level, r.reason AS route_reason, "
    "s.rule_id, s.response_due_at, s.due_at, s.due_basis")

_SQL = """
SELECT {columns} FROM complaints c JOIN complaint_routes r USING (complaint_id)
LEFT JOIN complaint_sla s USING (complaint_id)
WHERE (?::BOOLEAN OR r.grid_id IN (SELECT unnest(?::VARCHAR[])))
  AND (?::VARCHAR IS NULL OR r.grid_id = ?)
  AND (?::VARCHAR IS NULL OR r.community_id = ?)
  AND (?::TIMESTAMPTZ IS NULL OR c.received_at >= ?)
  AND (?::TIMESTAMPTZ IS NULL OR c.received_at < ?)
  AND (?::VARCHAR IS NULL OR c.complaint_id = ?)
ORDER BY c.received_at, c.complaint_id
"""


@dataclass(frozen=True)
class ComplaintFilter:
    """Optional filters: one grid or community, a received window [start, end), category
    prefixes (``noise`` takes ``noise/construction``), statuses, open only, overdue only,
    one complaint id."""

    grid_id: str | None = None
    community_id: str | None = None
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    categories: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    open_only: bool = False
    overdue_only: bool = False
    complaint_id: str | None = None


def check_grid_access(viewer: Viewer, grid_id: str | None) -> None:
    """Raise :class:`AccessError` when ``viewer`` asks for a grid that is not theirs."""
    if grid_id is not None and not viewer.can_see_grid(grid_id):
        raise AccessError(f"user {viewer.username!r} ({viewer.role}) may not read grid {grid_id!r}; "
                          "a grid manager sees only their own grids")


def complaints_as_of(con: duckdb.DuckDBPyConnection) -> pd.Timestamp:
    """The time the complaint records describe (UTC): open/overdue are judged at this time."""
    as_of = read_complaints_as_of(con)
    return as_of if as_of is not None else pd.Timestamp.now(tz="UTC")


def _columns(viewer: Viewer) -> str:
    allowed_text = viewer.personal_data and viewer.exact_address
    extra = ["c.description" if allowed_text else "NULL::VARCHAR AS description"]
    if viewer.exact_address:
        extra += ["c.address", "c.lon", "c.lat"]
    if viewer.personal_data:
        extra += ["c.complainant_masked", "c.phone_masked"]
    return ", ".join([_BASE_COLUMNS, *extra])


def _params(viewer: Viewer, f: ComplaintFilter) -> list[object]:
    grids = sorted(viewer.grid_ids) if viewer.grid_ids is not None else []
    return [viewer.grid_ids is None, grids, f.grid_id, f.grid_id, f.community_id, f.community_id,
            f.start, f.start, f.end, f.end, f.complaint_id, f.complaint_id]


def _with_states(frame: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    states = clock_states(frame, as_of=as_of, closed_statuses=set(CLOSED_STATUSES), void_statuses=set(VOID_STATUSES))
    frame = pd.concat([frame, states], axis=1)
    frame["is_open"] = ~frame["status"].isin(CLOSED_STATUSES)
    frame["hours_left"] = np.where(frame["is_open"], (frame["due_at"] - as_of).dt.total_seconds() / 3600, np.nan)
    frame["month"] = _local_months(frame)
    return frame


def _local_months(frame: pd.DataFrame) -> pd.Series:
    """'YYYY-MM' of each complaint's receipt in its own time zone (the source's local time)."""
    months = pd.Series("", index=frame.index, dtype=object)
    for zone in frame["time_zone"].unique():
        rows = frame["time_zone"] == zone
        months[rows] = frame.loc[rows, "received_at"].dt.tz_convert(zone).dt.strftime("%Y-%m")
    return months


def _cell_points(frame: pd.DataFrame) -> pd.DataFrame:
    """Cell-centre lon/lat for viewers who may not see exact points."""
    has = frame["h3"].notna().to_numpy()
    lon, lat = np.full(len(frame), np.nan), np.full(len(frame), np.nan)
    if has.any():
        lon[has], lat[has] = cells_to_lonlat(frame.loc[has, "h3"].astype("uint64").to_numpy())
    return frame.assign(lon=lon, lat=lat)


def _filter(frame: pd.DataFrame, f: ComplaintFilter) -> pd.DataFrame:
    keep = np.ones(len(frame), dtype=bool)
    if f.categories:
        prefixes = tuple(f.categories) + tuple(c + "/" for c in f.categories)
        keep &= frame["category"].str.startswith(prefixes).to_numpy() | frame["category"].isin(f.categories).to_numpy()
    if f.statuses:
        keep &= frame["status"].isin(f.statuses).to_numpy()
    if f.open_only:
        keep &= frame["is_open"].to_numpy()
    if f.overdue_only:
        keep &= frame["overdue"].to_numpy()
    return frame[keep].reset_index(drop=True)


def visible_complaints(con: duckdb.DuckDBPyConnection, viewer: Viewer,
                       flt: ComplaintFilter | None = None) -> pd.DataFrame:
    """The complaints ``viewer`` may see, with route, deadlines and clock states.

    Columns: complaint fields, route (h3, grid_id, community_id, subdistrict,
    manager_id, route_method, route_level, route_reason), rule_id,
    response_due_at, due_at, due_basis, response_state, completion_state,
    overdue, is_open, hours_left (to due_at, open ones), month (local), lon/lat
    (exact or cell centre) and, where allowed, address and masked name/phone;
    description is NULL unless the viewer may see personal data and exact addresses.
    """
    f = flt or ComplaintFilter()
    check_grid_access(viewer, f.grid_id)
    frame = query_frame(con, _SQL.format(columns=_columns(viewer)), _params(viewer, f))
    if not viewer.exact_address:
        frame = _cell_points(frame)
    frame = _with_states(frame, complaints_as_of(con))
    return _filter(frame, f)


_WORK_COLUMNS = ["complaint_id", "received_at", "category", "request_type", "urgency", "status", "due_at",
                 "hours_left", "overdue", "completion_state", "response_state", "grid_id", "community_id",
                 "description"]


def work_list(con: duckdb.DuckDBPyConnection, viewer: Viewer, flt: ComplaintFilter | None = None) -> pd.DataFrame:
    """A manager's work list: open complaints first, by time left to due (most overdue first), then the rest."""
    frame = visible_complaints(con, viewer, flt)
    frame = frame.sort_values(["is_open", "hours_left", "received_at"], ascending=[False, True, False],
                              na_position="last")
    extra = [c for c in ("address", *PERSONAL_COLUMNS) if c in frame]
    return frame[_WORK_COLUMNS + extra].reset_index(drop=True)


def complaint_timeline(con: duckdb.DuckDBPyConnection, viewer: Viewer, complaint_id: str) -> pd.DataFrame:
    """One complaint's path through the closed loop: step, at, note (times UTC), in order.

    Raises :class:`AccessError` when the complaint is not visible to ``viewer``.
    """
    rows = visible_complaints(con, viewer, ComplaintFilter(complaint_id=complaint_id))
    if rows.empty:
        raise AccessError(f"complaint {complaint_id!r} does not exist or is not in a grid user "
                          f"{viewer.username!r} may read")
    c = rows.iloc[0]
    steps = [("received", c["received_at"], f"{c['request_type']} · {c['category']} · {c['urgency']}"),
             ("routed", c["received_at"], f"{c['route_level']} via {c['route_method']}: "
                                          f"{c['grid_id'] if pd.notna(c['grid_id']) else c['community_id']}"),
             ("response_due", c["response_due_at"], c["rule_id"]),
             ("responded", c["responded_at"], c["response_state"]),
             ("due", c["due_at"], c["due_basis"]),
             ("closed", c["closed_at"], c["completion_state"] if pd.notna(c["closed_at"]) else None),
             ("reopened", None, f"{int(c['reopen_count'])} time(s)" if pd.notna(c["reopen_count"]) and c["reopen_count"] else None),
             ("evaluated", c["closed_at"], c["satisfaction"] if pd.notna(c["satisfaction"]) and c["satisfaction"] else None)]
    timeline = pd.DataFrame(steps, columns=["step", "at", "note"])
    happened = timeline["at"].notna() | timeline["step"].isin(["reopened"]) & timeline["note"].notna()
    timeline = timeline[happened & ~((timeline["step"] == "evaluated") & timeline["note"].isna())]
    return timeline.reset_index(drop=True)


def complaint_trends(con: duckdb.DuckDBPyConnection, viewer: Viewer, *, by: str = "category",
                     level: int = 1, flt: ComplaintFilter | None = None) -> pd.DataFrame:
    """Complaints per month and ``by`` (category at ``level`` 1 = top level, or request_type): month, key, complaints."""
    if by not in ("category", "request_type", "channel", "urgency"):
        raise ValueError(f"cannot group by {by!r}; use category, request_type, channel or urgency")
    frame = visible_complaints(con, viewer, flt)
    key = frame[by].str.split("/").str[:level].str.join("/") if by == "category" else frame[by]
    out = frame.assign(key=key).groupby(["month", "key"], as_index=False).size()
    return out.rename(columns={"size": "complaints"})


def complaints_by_area(con: duckdb.DuckDBPyConnection, viewer: Viewer, *, area: str = "cell",
                       flt: ComplaintFilter | None = None) -> pd.DataFrame:
    """Complaints per cell, grid, community or subdistrict: key, complaints, open, overdue."""
    column = {"cell": "h3", "grid": "grid_id", "community": "community_id", "subdistrict": "subdistrict"}.get(area)
    if column is None:
        raise ValueError(f"unknown area {area!r}; use cell, grid, community or subdistrict")
    frame = visible_complaints(con, viewer, flt)
    frame = frame[frame[column].notna()]
    out = frame.groupby(column, as_index=False).agg(complaints=("complaint_id", "size"), open=("is_open", "sum"),
                                                    overdue=("overdue", "sum"))
    return out.rename(columns={column: "key"}).sort_values("complaints", ascending=False).reset_index(drop=True)
