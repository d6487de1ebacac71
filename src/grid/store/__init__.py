"""The DuckDB store: connections, schema and migrations, write sessions, loads.

DuckDB connections exist only in this package and in functions that take one.
"""

from pathlib import Path

import duckdb

from grid.store.connect import connect, connect_memory, load_spatial, spatial_extension_path
from grid.store.schema import SCHEMA_VERSION, TABLES, check_version, migrate, schema_version
from grid.store.session import ensure_database, working_files, write_session

__all__ = [
    "SCHEMA_VERSION", "TABLES", "check_version", "connect", "connect_memory", "ensure_database", "load_spatial",
    "migrate",
    "open_reader", "schema_version", "spatial_extension_path", "working_files", "write_session",
]


def open_reader(db_path: Path, *, spatial: bool = True) -> duckdb.DuckDBPyConnection:
    """Open ``db_path`` read-only after checking its schema version (see :func:`check_version`).

    ``spatial=False`` skips loading the spatial extension for quick non-geometric reads.
    """
    con = connect(db_path, read_only=True, spatial=spatial)
    try:
        check_version(schema_version(con), db_path)
    except Exception:
        con.close()
        raise
    return con
