"""Derived governance tables, rebuilt inside the writer's transaction after every load
that can change them: ``manager_grids``, ``complaint_routes``, ``complaint_sla``,
and the calendar and SLA rules in use (``calendar_days``, ``sla_rules``).

These functions take a DuckDB connection of a write session.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import duckdb
import pandas as pd
import shapely

from grid.governance.routing import RoutingInputs, route_complaints, routing_counts
from grid.settings import Settings
from grid.store import query_frame
from grid.store.schema import recreate_table

__all__ = ["GovernanceCounts", "refresh_manager_grids", "read_routing_inputs", "refresh_routes",
           "refresh_sla", "refresh_governance", "set_complaints_as_of", "read_complaints_as_of"]

log = logging.getLogger(__name__)

AS_OF_KEY = "complaints_as_of"


@dataclass
class GovernanceCounts:
    """What a refresh did: routing counts, unrouted reasons, SLA rows and notes."""

    routing: dict[str, int] = field(default_factory=dict)
    unrouted_reasons: dict[str, int] = field(default_factory=dict)
    sla_rows: int = 0
    notes: list[str] = field(default_factory=list)


def refresh_manager_grids(con: duckdb.DuckDBPyConnection) -> int:
    """Rebuild ``manager_grids`` from each manager's ``grid_ids`` list; return the pairs written."""
    con.execute("DELETE FROM manager_grids")
    con.execute("INSERT INTO manager_grids SELECT DISTINCT manager_id, trim(g) FROM managers, "
                "unnest(string_split(coalesce(grid_ids, ''), ';')) AS t(g) WHERE trim(g) <> ''")
    return con.execute("SELECT count(*) FROM manager_grids").fetchone()[0]


def _geoms(con: duckdb.DuckDBPyConnection, table: str, key: str) -> dict[str, shapely.Geometry]:
    rows = con.execute(f"SELECT {key}, ST_AsWKB(geom) FROM {table}").fetchall()
    return {r[0]: shapely.from_wkb(bytes(r[1])) for r in rows}


def read_routing_inputs(con: duckdb.DuckDBPyConnection) -> RoutingInputs:
    """Grids, communities, their cells and polygons, and each grid's manager (first by id)."""
    def frame(sql: str) -> pd.DataFrame:
        return query_frame(con, sql)
    return RoutingInputs(
        grid_cells=frame("SELECT grid_id AS id, h3, area_share FROM grid_cells"),
        community_cells=frame("SELECT community_id AS id, h3, area_share FROM community_cells"),
        grid_geoms=_geoms(con, "grids", "grid_id"), community_geoms=_geoms(con, "communities", "community_id"),
        grids=frame("SELECT grid_id, community_id FROM grids"),
        communities=frame("SELECT community_id, name, subdistrict FROM communities"),
        grid_managers=frame("SELECT grid_id, min(manager_id) AS manager_id FROM manager_grids GROUP BY grid_id"))


def refresh_routes(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, int], dict[str, int]]:
    """Route every stored complaint again; return routing counts and unrouted reasons."""
    complaints = query_frame(con, "SELECT complaint_id, h3, lon, lat, address, area_name FROM complaints")
    for column in ("address", "area_name"):
        complaints[column] = complaints[column].astype("string")
    routes = route_complaints(complaints, read_routing_inputs(con))
    recreate_table(con, "complaint_routes")
    con.register("_routes", routes)
    con.execute("INSERT INTO complaint_routes SELECT complaint_id, h3, grid_id, community_id, subdistrict, "
                "manager_id, method, level, reason FROM _routes")
    con.unregister("_routes")
    reasons = routes.loc[routes["level"] == "none", "reason"].value_counts()
    return routing_counts(routes), {str(k): int(v) for k, v in reasons.items()}


def set_complaints_as_of(con: duckdb.DuckDBPyConnection, as_of: pd.Timestamp | None) -> pd.Timestamp | None:
    """Store the time the complaint records describe (default: their latest timestamp)."""
    if as_of is None:
        latest = con.execute("SELECT max(greatest(received_at, coalesce(closed_at, received_at), "
                             "coalesce(responded_at, received_at))) FROM complaints").fetchone()[0]
        if latest is None:
            return None
        as_of = pd.Timestamp(latest)
    as_of = pd.Timestamp(as_of)
    as_of = as_of.tz_localize("UTC") if as_of.tzinfo is None else as_of.tz_convert("UTC")
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [AS_OF_KEY, as_of.isoformat()])
    return as_of


def read_complaints_as_of(con: duckdb.DuckDBPyConnection) -> pd.Timestamp | None:
    """The stored as-of time of the complaint records (UTC), or None before any complaints load."""
    row = con.execute("SELECT value FROM meta WHERE key = ?", [AS_OF_KEY]).fetchone()
    return pd.Timestamp(row[0]) if row else None


def refresh_sla(con: duckdb.DuckDBPyConnection, settings: Settings) -> tuple[int, list[str]]:
    """Recompute ``complaint_sla`` and store the calendar and rules used; return rows and notes."""
    from grid.governance.sla_store import compute_sla_rows, write_sla_reference

    write_sla_reference(con, settings)
    complaints = query_frame(con, "SELECT complaint_id, received_at, category, request_type, urgency, source_due_at, "
                             "time_zone FROM complaints")
    rows, notes = compute_sla_rows(complaints, settings)
    recreate_table(con, "complaint_sla")
    con.register("_sla", rows)
    con.execute("INSERT INTO complaint_sla SELECT complaint_id, rule_id, response_due_at, rule_due_at, due_at, "
                "due_basis FROM _sla")
    con.unregister("_sla")
    return len(rows), notes


def refresh_governance(con: duckdb.DuckDBPyConnection, settings: Settings, *, new_complaints: bool = False,
                       as_of: pd.Timestamp | None = None, sla: bool = True) -> GovernanceCounts:
    """Rebuild manager grids, routes and (with ``sla``) SLA clocks.

    The as-of time of the records is set to ``as_of`` when given, else after a
    complaints load (``new_complaints``) to their latest timestamp; otherwise kept.
    """
    counts = GovernanceCounts()
    refresh_manager_grids(con)
    counts.routing, counts.unrouted_reasons = refresh_routes(con)
    if sla:
        counts.sla_rows, counts.notes = refresh_sla(con, settings)
    if as_of is not None or new_complaints or read_complaints_as_of(con) is None:
        set_complaints_as_of(con, as_of)
    log.info("governance refresh: %s", counts.routing)
    return counts

