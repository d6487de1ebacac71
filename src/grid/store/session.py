"""Write sessions: one writer at a time, all-or-nothing, readers never see a
half-written database.

A writer takes an exclusive lock (``<db>.lock``), copies the database to a
hidden working file next to it, runs the whole load there in one transaction,
checkpoints, and atomically renames the working file over the database. Readers
that have the old file open keep reading the old, complete version; new readers
get the new one. If the writer dies (even ``kill -9``), the database file was
never touched and the next writer removes the stale working file.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb

from grid.errors import DatabaseBusyError
from grid.store.connect import connect
from grid.store.schema import SCHEMA_VERSION, check_version, create_schema, migrate, schema_version

__all__ = ["write_session", "working_files", "ensure_database"]

log = logging.getLogger(__name__)


def _lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


def working_files(db_path: Path) -> list[Path]:
    """Working copies left next to ``db_path`` (by this or a crashed writer)."""
    return sorted(db_path.parent.glob(f".{db_path.name}.*.tmp*"))


@contextlib.contextmanager
def _writer_lock(db_path: Path, *, wait: bool) -> Iterator[None]:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with open(_lock_path(db_path), "a+") as handle:
        flags = fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB)
        try:
            fcntl.flock(handle, flags)
        except BlockingIOError as exc:
            raise DatabaseBusyError(
                f"another process is writing {db_path}; wait for it to finish and run the command again"
            ) from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    """Delete a working file, or a DuckDB spill folder (``<working file>.tmp``) left beside it."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _open_working_copy(db_path: Path, work: Path, h3_res: int) -> duckdb.DuckDBPyConnection:
    for stale in working_files(db_path):
        log.warning("removing %s left by an interrupted writer", stale)
        _remove(stale)
    if db_path.exists():
        shutil.copyfile(db_path, work)
    con = connect(work, read_only=False)
    try:
        if schema_version(con) is None and not db_path.exists():
            create_schema(con, h3_res=h3_res)
        else:
            migrate(con, db_path)
    except BaseException:
        con.close()
        raise
    return con


def _discard(work: Path) -> None:
    """Remove this writer's working file, its WAL and any spill folder."""
    for leftover in work.parent.glob(work.name + "*"):
        _remove(leftover)


@contextlib.contextmanager
def write_session(db_path: Path, *, h3_res: int = 10, wait: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a connection whose changes replace ``db_path`` atomically on success.

    The database is created (schema and ``meta``) if it does not exist, and
    migrated if it is older. On any exception nothing changes.
    """
    db_path = Path(db_path).resolve()
    work = db_path.with_name(f".{db_path.name}.{os.getpid()}.tmp")
    with _writer_lock(db_path, wait=wait):
        try:
            con = _open_working_copy(db_path, work, h3_res)
        except BaseException:
            _discard(work)
            raise
        try:
            con.execute("BEGIN TRANSACTION")
            yield con
            con.execute("COMMIT")
            con.execute("CHECKPOINT")
            con.close()
            _fsync(work)
            os.replace(work, db_path)
            _fsync(db_path.parent)
        except BaseException:
            with contextlib.suppress(Exception):
                con.close()
            _discard(work)
            raise


def ensure_database(db_path: Path, *, h3_res: int = 10) -> str:
    """Create ``db_path`` if missing or migrate it if older; a current file is not rewritten.

    Returns 'created', 'migrated' or 'current'. A file newer than this grid, or not a
    grid database, raises :class:`~grid.errors.SchemaVersionError` saying what to do.
    """
    db_path = Path(db_path)
    if db_path.exists():
        con = connect(db_path, read_only=True, spatial=False)
        try:
            version = schema_version(con)
        finally:
            con.close()
        if version == SCHEMA_VERSION:
            return "current"
        if version is None or version > SCHEMA_VERSION:
            check_version(version, db_path)
    existed = db_path.exists()
    with write_session(db_path, h3_res=h3_res):
        pass
    return "migrated" if existed else "created"
