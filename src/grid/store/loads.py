"""Load bookkeeping inside a write session: the ``loads`` row, quarantine,
notes, and the upsert of validated rows by natural id.

Table and column names come from the allow-list :data:`TARGETS`; every value
is a query parameter or a registered frame.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone

import duckdb
import pandas as pd
import pyarrow as pa

__all__ = ["TARGETS", "UpsertCounts", "find_previous_load", "begin_load", "finish_load",
           "write_quarantine", "write_notes", "upsert", "get_meta", "set_meta"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """A loadable table: its id column and the columns a load writes (``geom`` from WKB)."""

    table: str
    id_column: str
    columns: tuple[str, ...]

    @property
    def hash_sql(self) -> str:
        """SQL for a row's content hash: DuckDB's 64-bit ``hash`` of the columns in order, as 16 hex digits."""
        return f"lpad(to_hex(hash({', '.join(self.columns)})), 16, '0')"


TARGETS: dict[str, Target] = {
    "boundaries": Target("communities", "community_id", (
        "community_id", "name", "subdistrict", "district", "population", "households",
        "population_65plus", "workers", "social_organisations", "service_space_m2", "area_m2", "source",
        "geom")),
    "grids": Target("grids", "grid_id", (
        "grid_id", "community_id", "name", "households", "population", "area_m2", "source", "geom")),
    "facilities": Target("facilities", "facility_id", (
        "facility_id", "name", "category", "source_category", "address", "floor_area_m2", "source",
        "source_type", "lon", "lat", "h3", "geom")),
    "complaints": Target("complaints", "complaint_id", (
        "complaint_id", "received_at", "request_type", "category", "urgency", "channel", "status",
        "closed_at", "source_due_at", "satisfaction", "description", "address", "area_name", "lon", "lat",
        "h3", "complainant_masked", "complainant_hash", "phone_masked", "phone_hash",
        "source_request_type", "source_category", "source_status", "responded_at", "reopen_count", "time_zone",
        "source")),
    "managers": Target("managers", "manager_id", (
        "manager_id", "name", "phone_masked", "phone_hash", "grid_ids", "community_id", "subdistrict", "source")),
    "landuse": Target("landuse", "landuse_id", (
        "landuse_id", "class", "source_class", "floors", "area_m2", "source", "geom")),
}


@dataclass(frozen=True)
class UpsertCounts:
    """Rows of a load that were new, changed, or identical to what the table held."""

    inserted: int
    updated: int
    unchanged: int


def get_meta(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    """Value of ``key`` in ``meta``, or None."""
    row = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    """Insert or replace ``key`` in ``meta``."""
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])


def find_previous_load(con: duckdb.DuckDBPyConnection, kind: str, sha256: str, options_json: str) -> int | None:
    """load_id of an earlier successful load of the same file with the same options."""
    row = con.execute(
        "SELECT max(load_id) FROM loads WHERE kind = ? AND file_sha256 = ? AND options_json = ? "
        "AND status IN ('loaded', 'loaded_with_rejects')", [kind, sha256, options_json]).fetchone()
    return row[0] if row and row[0] is not None else None


def begin_load(con: duckdb.DuckDBPyConnection, *, kind: str, file_name: str, file_path: str, sha256: str,
               options_json: str, source_crs: str, encoding: str | None) -> int:
    """Insert the ``loads`` row of a new load (status 'running') and return its id.

    ``options_json`` is the fingerprint of the options as given (see :func:`find_previous_load`).
    """
    options = json.loads(options_json)
    load_id = con.execute("SELECT nextval('load_id_seq')").fetchone()[0]
    con.execute(
        "INSERT INTO loads (load_id, kind, file_name, file_path, file_sha256, started_at, status, source_crs, "
        "mapping, encoding, layer, options_json) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?)",
        [load_id, kind, file_name, file_path, sha256, datetime.now(timezone.utc), source_crs,
         options.get("mapping"), encoding, options.get("layer"), options_json])
    return int(load_id)


def finish_load(con: duckdb.DuckDBPyConnection, load_id: int, counts: dict[str, int], message: str) -> str:
    """Record the final counts and status of ``load_id``; return the status."""
    status = "loaded_with_rejects" if counts.get("rows_rejected") else "loaded"
    names = ("rows_in", "rows_ok", "rows_rejected", "rows_inserted", "rows_updated", "rows_unchanged",
             "rows_unmapped", "rows_repaired", "rows_without_location", "rows_routed", "rows_unrouted")
    assignments = ", ".join(f"{n} = ?" for n in names)
    con.execute(f"UPDATE loads SET {assignments}, finished_at = ?, status = ?, message = ? WHERE load_id = ?",
                [int(counts.get(n, 0)) for n in names] + [datetime.now(timezone.utc), status, message, load_id])
    return status


def write_quarantine(con: duckdb.DuckDBPyConnection, load_id: int, rejected: pd.DataFrame) -> None:
    """Insert rejected rows (columns row_number, reason, reason_codes, raw_json) for ``load_id``."""
    if rejected.empty:
        return
    frame = rejected.assign(load_id=load_id)[["load_id", "row_number", "reason", "reason_codes", "raw_json"]]
    con.register("_quarantine_rows", frame)
    con.execute("INSERT INTO quarantine SELECT load_id, row_number, reason, reason_codes, raw_json "
                "FROM _quarantine_rows")
    con.unregister("_quarantine_rows")


def write_notes(con: duckdb.DuckDBPyConnection, load_id: int, notes: pd.DataFrame) -> None:
    """Insert notes (row_number, record_id, note) about kept rows: repairs, unmapped values."""
    if notes.empty:
        return
    frame = notes.assign(load_id=load_id)[["load_id", "row_number", "record_id", "note"]]
    con.register("_note_rows", frame)
    con.execute("INSERT INTO load_notes SELECT load_id, row_number, record_id, note FROM _note_rows")
    con.unregister("_note_rows")


def _typed_select(con: duckdb.DuckDBPyConnection, target: Target) -> str:
    """Incoming columns cast to the stored column types (``geom`` from WKB)."""
    types = dict(con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = ?", [target.table]).fetchall())
    return ", ".join("ST_GeomFromWKB(geom_wkb) AS geom" if c == "geom" else f"CAST({c} AS {types[c]}) AS {c}"
                     for c in target.columns)


def _register_rows(con: duckdb.DuckDBPyConnection, name: str, rows: pd.DataFrame) -> None:
    """Register ``rows`` as an Arrow table (scanned without converting strings to Python objects)."""
    try:
        table = pa.Table.from_pandas(rows, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        log.debug("rows do not convert to Arrow (%s); DuckDB scans the pandas frame", exc)
        con.register(name, rows)
        return
    con.register(name, table)


def _stage(con: duckdb.DuckDBPyConnection, target: Target) -> None:
    """``_stage``: a view of the incoming rows with the stored column types (not copied);
    ``_diff``: each incoming id, whether it is stored already, and whether its content differs."""
    key = target.id_column
    con.execute(f"CREATE OR REPLACE TEMP VIEW _stage AS SELECT {_typed_select(con, target)} FROM _incoming")
    # Stored rows are hashed afresh (not read from their row_hash), so the comparison never depends on
    # how, or by which DuckDB version, an older row's hash was written.
    con.execute(f"CREATE OR REPLACE TEMP TABLE _diff AS SELECT s.{key}, t.{key} IS NOT NULL AS existed, "
                f"t.{key} IS NULL OR t.h <> s.h AS changed "
                f"FROM (SELECT {key}, {target.hash_sql} AS h FROM _stage) s "
                f"LEFT JOIN (SELECT {key}, {target.hash_sql} AS h FROM {target.table} "
                f"WHERE {key} IN (SELECT {key} FROM _incoming)) t USING ({key})")


def upsert(con: duckdb.DuckDBPyConnection, kind: str, rows: pd.DataFrame, load_id: int) -> tuple[UpsertCounts, list[str]]:
    """Insert new ids, replace changed ones, keep identical ones; return counts and the changed ids.

    Identical rows keep the load that wrote them; new and changed rows get ``load_id``.
    """
    target = TARGETS[kind]
    _register_rows(con, "_incoming", rows)
    try:
        counts, changed = _apply(con, target, load_id)
    finally:
        con.execute("DROP VIEW IF EXISTS _stage")
        con.execute("DROP TABLE IF EXISTS _diff")
        con.unregister("_incoming")
    return counts, changed


def _apply(con: duckdb.DuckDBPyConnection, target: Target, load_id: int) -> tuple[UpsertCounts, list[str]]:
    key, cols = target.id_column, ", ".join(target.columns)
    _stage(con, target)
    total, existing, updated, changed_n = con.execute(
        "SELECT count(*), count(*) FILTER (existed), count(*) FILTER (existed AND changed), "
        "count(*) FILTER (changed) FROM _diff").fetchone()
    if updated:
        con.execute(f"DELETE FROM {target.table} WHERE {key} IN (SELECT {key} FROM _diff WHERE existed AND changed)")
    if changed_n == total:
        con.execute(f"INSERT INTO {target.table} ({cols}, load_id, row_hash) "
                    f"SELECT {cols}, ?, {target.hash_sql} FROM _stage", [load_id])
    elif changed_n:
        con.execute(f"INSERT INTO {target.table} ({cols}, load_id, row_hash) SELECT {cols}, ?, {target.hash_sql} "
                    f"FROM _stage WHERE {key} IN (SELECT {key} FROM _diff WHERE changed)", [load_id])
    changed = con.execute(f"SELECT {key} FROM _diff WHERE changed").fetchnumpy()[key].tolist()
    return UpsertCounts(inserted=changed_n - updated, updated=updated, unchanged=existing - updated), changed
