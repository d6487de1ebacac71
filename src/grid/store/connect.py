"""Opening the DuckDB file: read-only readers, one writer at a time, spatial
extension loaded from its PyPI wheel (never downloaded)."""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb

from grid.errors import DatabaseMissingError, GridError

__all__ = ["spatial_extension_path", "connect", "connect_memory", "load_spatial"]

log = logging.getLogger(__name__)

# No implicit INSTALL or LOAD: every extension we use is loaded explicitly from
# a local file, so nothing at run time reaches for the network.
_OFFLINE_CONFIG = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


def spatial_extension_path() -> Path:
    """Path of the spatial extension binary shipped by ``duckdb-extension-spatial``."""
    import duckdb_extension_spatial

    version = duckdb.__version__
    path = Path(duckdb_extension_spatial.__file__).parent / "extensions" / f"v{version}" / "spatial.duckdb_extension"
    if not path.exists():
        raise GridError(
            f"the spatial extension for DuckDB {version} is not at {path}; "
            "duckdb and duckdb-extension-spatial must have the same version: run `make test` "
            "or `pip install -c constraints.txt -e .` to reinstall the pinned pair"
        )
    return path


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def load_spatial(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Load the spatial extension from the wheel's file into ``con`` (about 0.4 s per database instance)."""
    con.execute(f"LOAD '{spatial_extension_path()}'")  # a file path, not a value: cannot be a parameter
    return con


def _prepare(con: duckdb.DuckDBPyConnection, spatial: bool) -> duckdb.DuckDBPyConnection:
    if spatial:
        load_spatial(con)
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    return con


def connect(path: Path, *, read_only: bool = True, spatial: bool = True) -> duckdb.DuckDBPyConnection:
    """Open the database file with the spatial extension loaded.

    Readers open read-only (many processes may read at once). Writers should go
    through :func:`grid.store.write_session`, which works on a copy and swaps it
    in atomically, so readers never see a half-written load.
    """
    path = Path(path)
    if read_only and not path.exists():
        raise DatabaseMissingError(
            f"no database at {path}; build the demo with `make run` (or `grid demo`), "
            f"or create an empty one with `grid db init --db {path}`"
        )
    if not read_only:
        return _prepare(duckdb.connect(str(path), config=dict(_OFFLINE_CONFIG)), spatial)
    # DuckDB shares one database instance per path within a process, so a plain read-only connect
    # opened after a writer swapped the file would still see the old file while an older reader is
    # open. A fresh in-memory instance that attaches the file always sees the file as it is now.
    con = _prepare(duckdb.connect(":memory:", config=dict(_OFFLINE_CONFIG)), spatial)
    con.execute(f"ATTACH '{_sql_path(path)}' AS grid (READ_ONLY)")  # a path, not a value: no parameters
    con.execute("USE grid")
    return con


def connect_memory() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the spatial extension, for scratch work."""
    return _prepare(duckdb.connect(":memory:", config=dict(_OFFLINE_CONFIG)), True)
