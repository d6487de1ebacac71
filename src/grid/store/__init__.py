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
    "open_reader", "query_frame", "schema_version", "spatial_extension_path", "working_files", "write_session",
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


def query_frame(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> "pd.DataFrame":
    """Run ``sql`` with ``params`` and return a pandas frame through Arrow.

    Not DuckDB's ``.df()``: that warns under pandas 3.1 for time-zone-aware columns, and a
    nullable UBIGINT (an H3 cell) would come back as float64, which rounds H3 ids; here it
    stays ``UInt64``.
    """
    import pandas as pd
    import pyarrow as pa

    table = con.execute(sql, params or []).to_arrow_table()
    return table.to_pandas(types_mapper={pa.uint64(): pd.UInt64Dtype()}.get)
