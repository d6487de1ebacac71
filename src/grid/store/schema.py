"""Database schema, its version and migrations.

``SCHEMA_VERSION`` is stored in ``meta``; :func:`migrate` brings an older file up
to date inside the writer's transaction. Every table and column is documented
in ``docs/schema.md`` (a test compares the two).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timezone

import duckdb

from grid import __version__
from grid.errors import SchemaVersionError

__all__ = ["SCHEMA_VERSION", "TABLES", "REBUILT_TABLES", "recreate_table", "create_schema", "migrate",
           "schema_version", "check_version"]

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3

_DDL_V1 = """
CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE SEQUENCE load_id_seq START 1;
CREATE TABLE loads (
    load_id INTEGER PRIMARY KEY, kind VARCHAR NOT NULL, file_name VARCHAR NOT NULL,
    file_path VARCHAR, file_sha256 VARCHAR NOT NULL,
    started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ,
    rows_in BIGINT, rows_ok BIGINT, rows_rejected BIGINT,
    rows_inserted BIGINT, rows_updated BIGINT, rows_unchanged BIGINT,
    rows_unmapped BIGINT, rows_repaired BIGINT, rows_without_location BIGINT,
    status VARCHAR NOT NULL, source_crs VARCHAR, mapping VARCHAR, encoding VARCHAR,
    layer VARCHAR, options_json VARCHAR, message VARCHAR);
CREATE TABLE quarantine (
    load_id INTEGER NOT NULL, row_number BIGINT NOT NULL, reason VARCHAR NOT NULL,
    reason_codes VARCHAR NOT NULL, raw_json VARCHAR NOT NULL, PRIMARY KEY (load_id, row_number));
CREATE TABLE load_notes (
    load_id INTEGER NOT NULL, row_number BIGINT, record_id VARCHAR, note VARCHAR NOT NULL);
CREATE TABLE study_area (name VARCHAR NOT NULL, source VARCHAR, set_at TIMESTAMPTZ, geom GEOMETRY NOT NULL);
CREATE TABLE communities (
    community_id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, subdistrict VARCHAR, district VARCHAR,
    population BIGINT, households BIGINT, population_65plus BIGINT, area_m2 DOUBLE,
    source VARCHAR NOT NULL, load_id INTEGER NOT NULL, row_hash VARCHAR NOT NULL, geom GEOMETRY NOT NULL);
CREATE TABLE grids (
    grid_id VARCHAR PRIMARY KEY, community_id VARCHAR, name VARCHAR, households BIGINT,
    population BIGINT, area_m2 DOUBLE, source VARCHAR NOT NULL, load_id INTEGER NOT NULL,
    row_hash VARCHAR NOT NULL, geom GEOMETRY NOT NULL);
CREATE TABLE managers (
    manager_id VARCHAR PRIMARY KEY, name VARCHAR, grid_id VARCHAR, phone_masked VARCHAR,
    source VARCHAR, load_id INTEGER);
CREATE TABLE facilities (
    facility_id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, category VARCHAR NOT NULL,
    source_category VARCHAR, address VARCHAR, floor_area_m2 DOUBLE,
    source VARCHAR NOT NULL, source_type VARCHAR NOT NULL,
    lon DOUBLE NOT NULL, lat DOUBLE NOT NULL, h3 UBIGINT NOT NULL,
    load_id INTEGER NOT NULL, row_hash VARCHAR NOT NULL, geom GEOMETRY NOT NULL);
CREATE TABLE complaints (
    complaint_id VARCHAR NOT NULL, received_at TIMESTAMPTZ NOT NULL,
    request_type VARCHAR NOT NULL, category VARCHAR NOT NULL, urgency VARCHAR NOT NULL,
    channel VARCHAR, status VARCHAR NOT NULL, closed_at TIMESTAMPTZ, source_due_at TIMESTAMPTZ,
    satisfaction VARCHAR, description VARCHAR, address VARCHAR, area_name VARCHAR,
    lon DOUBLE, lat DOUBLE, h3 UBIGINT,
    complainant_masked VARCHAR, complainant_hash VARCHAR, phone_masked VARCHAR, phone_hash VARCHAR,
    source_request_type VARCHAR, source_category VARCHAR, source_status VARCHAR,
    source VARCHAR NOT NULL, load_id INTEGER NOT NULL, row_hash VARCHAR NOT NULL);
CREATE TABLE landuse (
    landuse_id VARCHAR PRIMARY KEY, class VARCHAR NOT NULL, source_class VARCHAR, floors DOUBLE,
    area_m2 DOUBLE NOT NULL, source VARCHAR NOT NULL, load_id INTEGER NOT NULL, row_hash VARCHAR NOT NULL,
    geom GEOMETRY NOT NULL);
CREATE TABLE cells (
    h3 UBIGINT PRIMARY KEY, res TINYINT NOT NULL, community_id VARCHAR,
    population BIGINT NOT NULL, households BIGINT NOT NULL, area_m2 DOUBLE NOT NULL,
    lon DOUBLE NOT NULL, lat DOUBLE NOT NULL);
CREATE TABLE community_cells (
    community_id VARCHAR NOT NULL, h3 UBIGINT NOT NULL, area_share DOUBLE NOT NULL,
    area_m2 DOUBLE NOT NULL, residential_floor_m2 DOUBLE NOT NULL,
    population BIGINT NOT NULL, households BIGINT NOT NULL, PRIMARY KEY (community_id, h3));
CREATE TABLE grid_cells (
    grid_id VARCHAR NOT NULL, h3 UBIGINT NOT NULL, area_share DOUBLE NOT NULL,
    area_m2 DOUBLE NOT NULL, PRIMARY KEY (grid_id, h3));
"""

# Version 2: the walking network, snaps, per-cell access, and community service figures.
_DDL_V2 = """
ALTER TABLE communities ADD COLUMN workers BIGINT;
ALTER TABLE communities ADD COLUMN social_organisations BIGINT;
ALTER TABLE communities ADD COLUMN service_space_m2 DOUBLE;
CREATE TABLE network_nodes (
    node_id BIGINT PRIMARY KEY, osm_id BIGINT, lon DOUBLE NOT NULL, lat DOUBLE NOT NULL,
    component INTEGER NOT NULL);
CREATE TABLE network_edges (
    edge_id BIGINT PRIMARY KEY, u BIGINT NOT NULL, v BIGINT NOT NULL, length_m DOUBLE NOT NULL,
    highway VARCHAR, name VARCHAR, osm_way_id BIGINT, component INTEGER NOT NULL, geom GEOMETRY NOT NULL);
CREATE TABLE network_components (
    component INTEGER PRIMARY KEY, nodes BIGINT NOT NULL, edges BIGINT NOT NULL, length_m DOUBLE NOT NULL,
    is_main BOOLEAN NOT NULL, is_island BOOLEAN NOT NULL);
CREATE TABLE cell_snaps (
    h3 UBIGINT PRIMARY KEY, edge_id BIGINT, along_m DOUBLE, snap_m DOUBLE, on_network BOOLEAN NOT NULL);
CREATE TABLE facility_snaps (
    facility_id VARCHAR PRIMARY KEY, edge_id BIGINT, along_m DOUBLE, snap_m DOUBLE,
    on_network BOOLEAN NOT NULL);
CREATE TABLE cell_access (
    h3 UBIGINT NOT NULL, category VARCHAR NOT NULL, distance_m DOUBLE, walk_min DOUBLE,
    facility_id VARCHAR, status VARCHAR NOT NULL, PRIMARY KEY (h3, category));
"""

# Version 3: grid governance - manager roster with its grids, complaint routes and SLA clocks,
# the working-day calendar and SLA rules in use, roles and users.
# Derived tables rebuilt whole by every refresh: recreated (CREATE OR REPLACE) rather than emptied
# with DELETE, which on a keyed table of 250k rows costs seconds to delete and more to commit.
REBUILT_TABLES = {
    "complaint_routes": """CREATE TABLE complaint_routes (
    complaint_id VARCHAR PRIMARY KEY, h3 UBIGINT, grid_id VARCHAR, community_id VARCHAR, subdistrict VARCHAR,
    manager_id VARCHAR, method VARCHAR NOT NULL, level VARCHAR NOT NULL, reason VARCHAR)""",
    "complaint_sla": """CREATE TABLE complaint_sla (
    complaint_id VARCHAR PRIMARY KEY, rule_id VARCHAR, response_due_at TIMESTAMPTZ, rule_due_at TIMESTAMPTZ,
    due_at TIMESTAMPTZ, due_basis VARCHAR NOT NULL)""",
}

_DDL_V3 = """
ALTER TABLE loads ADD COLUMN rows_routed BIGINT;
ALTER TABLE loads ADD COLUMN rows_unrouted BIGINT;
ALTER TABLE complaints ADD COLUMN responded_at TIMESTAMPTZ;
ALTER TABLE complaints ADD COLUMN reopen_count INTEGER;
ALTER TABLE complaints ADD COLUMN time_zone VARCHAR;
DROP TABLE managers;
CREATE TABLE managers (
    manager_id VARCHAR PRIMARY KEY, name VARCHAR, phone_masked VARCHAR, phone_hash VARCHAR,
    grid_ids VARCHAR, community_id VARCHAR, subdistrict VARCHAR,
    source VARCHAR NOT NULL, load_id INTEGER NOT NULL, row_hash VARCHAR NOT NULL);
CREATE TABLE manager_grids (manager_id VARCHAR NOT NULL, grid_id VARCHAR NOT NULL, PRIMARY KEY (manager_id, grid_id));
CREATE TABLE calendar_days (
    day DATE PRIMARY KEY, kind VARCHAR NOT NULL, holiday VARCHAR, name_zh VARCHAR, name_en VARCHAR,
    verified BOOLEAN NOT NULL, source VARCHAR);
CREATE TABLE sla_rules (
    rule_id VARCHAR PRIMARY KEY, category VARCHAR NOT NULL, request_type VARCHAR NOT NULL, urgency VARCHAR NOT NULL,
    response_limit DOUBLE NOT NULL, response_unit VARCHAR NOT NULL, completion_limit DOUBLE NOT NULL,
    completion_unit VARCHAR NOT NULL, priority INTEGER, verified BOOLEAN NOT NULL, source VARCHAR, note VARCHAR);
CREATE TABLE roles (
    role VARCHAR PRIMARY KEY, name_zh VARCHAR NOT NULL, name_en VARCHAR NOT NULL, all_grids BOOLEAN NOT NULL,
    personal_data BOOLEAN NOT NULL, exact_address BOOLEAN NOT NULL, pages VARCHAR NOT NULL, description VARCHAR);
CREATE TABLE users (
    username VARCHAR PRIMARY KEY, display_name VARCHAR, role VARCHAR NOT NULL, manager_id VARCHAR,
    password_hash VARCHAR NOT NULL, active BOOLEAN NOT NULL, is_demo BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL);
"""

TABLES = (
    "meta", "loads", "quarantine", "load_notes", "study_area", "communities", "grids",
    "managers", "facilities", "complaints", "landuse", "cells", "community_cells", "grid_cells",
    "network_nodes", "network_edges", "network_components", "cell_snaps", "facility_snaps", "cell_access",
    "manager_grids", "complaint_routes", "calendar_days", "sla_rules", "complaint_sla", "roles", "users",
)


def _v1_to_v2(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(_DDL_V2)


def _v2_to_v3(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(_DDL_V3)
    for ddl in REBUILT_TABLES.values():
        con.execute(ddl)


def recreate_table(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Replace one of :data:`REBUILT_TABLES` by an empty table of the same definition."""
    con.execute(REBUILT_TABLES[table].replace("CREATE TABLE", "CREATE OR REPLACE TABLE", 1))


# from_version -> function that upgrades a connection by one version.
_MIGRATIONS: dict[int, Callable[[duckdb.DuckDBPyConnection], None]] = {1: _v1_to_v2, 2: _v2_to_v3}


def create_schema(con: duckdb.DuckDBPyConnection, *, h3_res: int) -> None:
    """Create every table of the current schema in an empty database (version 1, then each migration)."""
    con.execute(_DDL_V1)
    now = datetime.now(timezone.utc).isoformat()
    rows = [("schema_version", "1"), ("created_at", now),
            ("created_by", f"grid {__version__}"), ("h3_res", str(h3_res))]
    con.executemany("INSERT INTO meta VALUES (?, ?)", rows)
    migrate(con, "new database")


def schema_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """Schema version recorded in ``meta``, or None for a file without our schema."""
    has_meta = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'").fetchone()[0]
    if not has_meta:
        return None
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else None


def check_version(version: int | None, path: object) -> None:
    """Raise a :class:`SchemaVersionError` that says what to do unless ``version`` is current."""
    if version == SCHEMA_VERSION:
        return
    if version is None:
        raise SchemaVersionError(
            f"{path} is a DuckDB file without grid's schema (no meta table); "
            "point --db / GRID_DB at a grid database, or create one with `grid db init`")
    if version < SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{path} has schema version {version}, this grid needs {SCHEMA_VERSION}: "
            f"run `grid db migrate --db {path}` (it keeps all data)")
    raise SchemaVersionError(
        f"{path} has schema version {version}, newer than this grid supports ({SCHEMA_VERSION}): "
        "upgrade grid (git pull && make test) rather than opening it with an old version")


def migrate(
    con: duckdb.DuckDBPyConnection,
    path: object,
    *,
    target: int = SCHEMA_VERSION,
    migrations: dict[int, Callable[[duckdb.DuckDBPyConnection], None]] | None = None,
) -> int:
    """Upgrade ``con`` to ``target`` one version at a time; return the number of steps."""
    steps_by_version = _MIGRATIONS if migrations is None else migrations
    version = schema_version(con)
    if version is None or version > target:
        check_version(version, path)
    steps = 0
    while version < target:
        log.info("migrating %s from schema %d to %d", path, version, version + 1)
        if version not in steps_by_version:
            raise SchemaVersionError(
                f"{path} has schema version {version} and no migration exists from it; "
                "rebuild the database from its source files with the `grid ingest` commands")
        steps_by_version[version](con)
        version += 1
        con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(version)])
        steps += 1
    return steps
