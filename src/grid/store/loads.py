"""Load bookkeeping inside a write session: the ``loads`` row, quarantine,
notes, and the upsert of validated rows by natural id.

Table and column names come from the allow-list :data:`TARGETS`; every value
is a query parameter or a registered frame.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

import duckdb
import pandas as pd

__all__ = ["TARGETS", "UpsertCounts", "find_previous_load", "begin_load", "finish_load",
           "write_quarantine", "write_notes", "upsert", "get_meta", "set_meta"]


@dataclass(frozen=True)
class Target:
    """A loadable table: its id column and the columns a load writes (``geom`` from WKB)."""

    table: str
    id_column: str
    columns: tuple[str, ...]


TARGETS: dict[str, Target] = {
    "boundaries": Target("communities", "community_id", (
        "community_id", "name", "subdistrict", "district", "population", "households",
        "population_65plus", "area_m2", "source", "geom")),
    "grids": Target("grids", "grid_id", (
        "grid_id", "community_id", "name", "households", "population", "area_m2", "source", "geom")),
    "facilities": Target("facilities", "facility_id", (
        "facility_id", "name", "category", "source_category", "address", "floor_area_m2", "source",
        "source_type", "lon", "lat", "h3", "geom")),
    "complaints": Target("complaints", "complaint_id", (
        "complaint_id", "received_at", "request_type", "category", "urgency", "channel", "status",
        "closed_at", "source_due_at", "satisfaction", "description", "address", "area_name", "lon", "lat",
        "h3", "complainant_masked", "complainant_hash", "phone_masked", "phone_hash",
        "source_request_type", "source_category", "source_status", "source")),
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
             "rows_unmapped", "rows_repaired", "rows_without_location")
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


def _select_list(target: Target) -> str:
    return ", ".join("ST_GeomFromWKB(geom_wkb) AS geom" if c == "geom" else c for c in target.columns)


def upsert(con: duckdb.DuckDBPyConnection, kind: str, rows: pd.DataFrame, load_id: int) -> tuple[UpsertCounts, list[str]]:
    """Insert new ids, replace changed ones, keep identical ones; return counts and the changed ids."""
    target = TARGETS[kind]
    cols = ", ".join(target.columns)
    con.register("_incoming", rows)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _stage AS SELECT {_select_list(target)} FROM _incoming")
    con.unregister("_incoming")
    con.execute(f"ALTER TABLE _stage ADD COLUMN row_hash VARCHAR")
    con.execute(f"UPDATE _stage SET row_hash = md5(CAST(struct_pack({cols}) AS VARCHAR))")
    key = target.id_column
    changed = [r[0] for r in con.execute(
        f"SELECT s.{key} FROM _stage s LEFT JOIN {target.table} t USING ({key}) "
        f"WHERE t.{key} IS NULL OR t.row_hash <> s.row_hash").fetchall()]
    existing = con.execute(f"SELECT count(*) FROM _stage s JOIN {target.table} t USING ({key})").fetchone()[0]
    updated = con.execute(f"SELECT count(*) FROM _stage s JOIN {target.table} t USING ({key}) "
                          "WHERE t.row_hash <> s.row_hash").fetchone()[0]
    con.execute(f"DELETE FROM {target.table} WHERE {key} IN "
                f"(SELECT s.{key} FROM _stage s JOIN {target.table} t USING ({key}) WHERE t.row_hash <> s.row_hash)")
    con.execute(f"INSERT INTO {target.table} ({cols}, load_id, row_hash) SELECT {cols}, ?, row_hash FROM _stage "
                f"WHERE {key} NOT IN (SELECT {key} FROM {target.table})", [load_id])
    con.execute("DROP TABLE _stage")
    counts = UpsertCounts(inserted=len(changed) - updated, updated=updated, unchanged=existing - updated)
    return counts, changed
