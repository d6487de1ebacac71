"""The store: write sessions (schema, all-or-nothing, atomic swap, one writer), readers'
isolation, schema versions and migrations, and a writer killed with SIGKILL mid-load."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO

import duckdb
import numpy as np
import pandas as pd
import pytest

from grid.errors import DatabaseBusyError, SchemaVersionError
from grid.ingest import LoadReport, ingest_file
from grid.settings import Settings
from grid.store import (SCHEMA_VERSION, TABLES, connect, migrate, open_reader, schema_version, working_files,
                        write_session)

from conftest import PROJECT_ROOT

GRID = PROJECT_ROOT / ".venv" / "bin" / "grid"
POLL_S = 0.005
DEADLINE_S = 120


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _probe(db: Path) -> str | None:
    """Value of meta key 'probe', read by a fresh reader."""
    con = open_reader(db)
    try:
        row = con.execute("SELECT value FROM meta WHERE key = 'probe'").fetchone()
        return row[0] if row else None
    finally:
        con.close()


def _set_probe(db: Path, value: str) -> None:
    with write_session(db) as con:
        con.execute("INSERT OR REPLACE INTO meta VALUES ('probe', ?)", [value])


def _set_schema_version(db: Path, version: int) -> None:
    with write_session(db) as con:
        con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(version)])


# --------------------------------------------------------------------------- (a) schema and meta


def test_write_session_creates_schema_and_meta(tmp_path: Path) -> None:
    db = tmp_path / "g.duckdb"
    before = datetime.now(timezone.utc)
    with write_session(db, h3_res=9) as con:
        assert db.with_name(f".g.duckdb.{os.getpid()}.tmp") in working_files(db)
        assert not db.exists()  # nothing at the real path until the session succeeds
    con = open_reader(db)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
    finally:
        con.close()
    assert tables == set(TABLES)
    assert (meta["schema_version"], meta["h3_res"]) == (str(SCHEMA_VERSION), "9")
    assert before - timedelta(seconds=1) <= datetime.fromisoformat(meta["created_at"]) <= datetime.now(timezone.utc)
    assert meta["created_by"].startswith("grid ")
    assert working_files(db) == []


# --------------------------------------------------------------------------- (b) all-or-nothing


@pytest.mark.parametrize("failure", ["python", "sql"])
def test_exception_in_session_leaves_database_byte_identical(tmp_path: Path, failure: str) -> None:
    db = tmp_path / "g.duckdb"
    _set_probe(db, "kept")
    digest = _sha256(db)
    with pytest.raises((RuntimeError, duckdb.Error)):
        with write_session(db) as con:
            con.execute("INSERT OR REPLACE INTO meta VALUES ('probe', 'lost')")
            con.execute("DELETE FROM loads")
            if failure == "python":
                raise RuntimeError("boom")
            con.execute("INSERT INTO loads (load_id) VALUES (1)")  # NOT NULL columns missing
    assert _sha256(db) == digest
    assert working_files(db) == []
    assert _probe(db) == "kept"


def test_stale_working_files_and_spill_folder_are_removed(tmp_path: Path) -> None:
    """A writer killed while DuckDB spilled to disk leaves ``<working file>.tmp/`` beside its working file."""
    db = tmp_path / "g.duckdb"
    _set_probe(db, "one")
    stale = tmp_path / ".g.duckdb.999999.tmp"
    stale.write_bytes(b"half a database")
    (tmp_path / ".g.duckdb.999999.tmp.tmp").mkdir()
    (tmp_path / ".g.duckdb.999999.tmp.tmp" / "duckdb_temp_storage-0.tmp").write_bytes(b"spill")
    assert len(working_files(db)) == 2
    _set_probe(db, "two")
    assert working_files(db) == []
    assert _probe(db) == "two"


# --------------------------------------------------------------------------- (c) readers


def _probe_in_child(db: Path) -> str:
    code = "import sys; from grid.store import open_reader; " \
           "print(open_reader(sys.argv[1]).execute(\"SELECT value FROM meta WHERE key = 'probe'\").fetchone()[0])"
    result = subprocess.run([sys.executable, "-c", code, str(db)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_open_reader_keeps_old_data_and_new_readers_see_new(tmp_path: Path) -> None:
    db = tmp_path / "g.duckdb"
    _set_probe(db, "old")
    reader = open_reader(db)
    try:
        _set_probe(db, "new")
        assert reader.execute("SELECT value FROM meta WHERE key = 'probe'").fetchone() == ("old",)
        assert _probe_in_child(db) == "new"
    finally:
        reader.close()
    assert _probe(db) == "new"


def test_new_reader_in_same_process_sees_new_data_while_old_reader_open(tmp_path: Path) -> None:
    """DuckDB shares one instance per path and process; readers attach into their own in-memory instance."""
    db = tmp_path / "g.duckdb"
    _set_probe(db, "old")
    reader = open_reader(db)
    try:
        _set_probe(db, "new")
        assert _probe(db) == "new"
        assert reader.execute("SELECT value FROM meta WHERE key = 'probe'").fetchone()[0] == "old"
    finally:
        reader.close()


# --------------------------------------------------------------------------- (d) one writer


def test_second_writer_without_wait_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "g.duckdb"
    _set_probe(db, "first")
    entered, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def hold() -> None:
        try:
            with write_session(db) as con:
                con.execute("INSERT OR REPLACE INTO meta VALUES ('probe', 'held')")
                entered.set()
                release.wait(DEADLINE_S)
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)
            entered.set()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert entered.wait(DEADLINE_S) and not errors
        with pytest.raises(DatabaseBusyError) as caught:
            with write_session(db, wait=False):
                pass
        assert str(caught.value) == (f"another process is writing {db.resolve()}; wait for it to finish and run "
                                     "the command again")
    finally:
        release.set()
        holder.join(DEADLINE_S)
    assert not errors
    with write_session(db, wait=False) as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'probe'").fetchone() == ("held",)


# --------------------------------------------------------------------------- (e) schema versions


def test_older_schema_asks_for_migrate(tmp_path: Path) -> None:
    db = tmp_path / "g.duckdb"
    _set_schema_version(db, 0)
    with pytest.raises(SchemaVersionError) as caught:
        open_reader(db)
    assert str(caught.value) == (f"{db} has schema version 0, this grid needs {SCHEMA_VERSION}: "
                                 f"run `grid db migrate --db {db}` (it keeps all data)")


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "g.duckdb"
    _set_schema_version(db, 99)
    with pytest.raises(SchemaVersionError, match=r"schema version 99, newer than this grid supports"):
        open_reader(db)
    digest = _sha256(db)
    with pytest.raises(SchemaVersionError, match="newer"):
        with write_session(db):
            pass
    assert _sha256(db) == digest and working_files(db) == []


def test_writer_without_a_migration_path_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "g.duckdb"
    _set_schema_version(db, 0)
    digest = _sha256(db)
    with pytest.raises(SchemaVersionError, match="schema version 0 and no migration exists from it"):
        with write_session(db):
            pass
    assert _sha256(db) == digest and working_files(db) == []


def test_plain_duckdb_file_is_not_a_grid_database(tmp_path: Path) -> None:
    db = tmp_path / "other.duckdb"
    raw = duckdb.connect(str(db))
    raw.execute("CREATE TABLE t (a INTEGER)")
    raw.close()
    with pytest.raises(SchemaVersionError) as caught:
        open_reader(db)
    assert "without grid's schema (no meta table)" in str(caught.value) and "grid db init" in str(caught.value)


def _add_opening_hours(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("ALTER TABLE facilities ADD COLUMN opening_hours VARCHAR")


def test_migrate_applies_steps_and_records_the_version(tmp_path: Path) -> None:
    db = tmp_path / "g.duckdb"
    _set_probe(db, "kept")
    con = connect(db, read_only=False)
    try:
        current = SCHEMA_VERSION
        assert migrate(con, db, target=current + 1, migrations={current: _add_opening_hours}) == 1
        assert schema_version(con) == current + 1
        columns = [r[0] for r in con.execute("SELECT column_name FROM information_schema.columns "
                                             "WHERE table_name = 'facilities' ORDER BY ordinal_position").fetchall()]
        assert columns[-1] == "opening_hours"
        assert con.execute("SELECT value FROM meta WHERE key = 'probe'").fetchone() == ("kept",)
        assert migrate(con, db, target=current + 1, migrations={current: _add_opening_hours}) == 0
        with pytest.raises(SchemaVersionError, match=f"schema version {current + 1} and no migration exists"):
            migrate(con, db, target=current + 2, migrations={current: _add_opening_hours})
    finally:
        con.close()


# --------------------------------------------------------------------------- (f) kill -9 mid-load


def _complaints_csv(path: Path, n: int, *, prefix: str, seed: int) -> Path:
    """``n`` valid complaints (vectorised, a few seconds for 300k rows)."""
    rng = np.random.default_rng(seed)
    received = np.datetime64("2024-01-01T00:00:00") + rng.integers(0, 300 * 86400, n).astype("timedelta64[s]")
    pd.DataFrame({
        "complaint_id": pd.Series(np.arange(n)).map(f"{prefix}{{:07d}}".format),
        "received_at": pd.Series(received).dt.strftime("%Y-%m-%d %H:%M:%S"),
        "request_type": np.array(["投诉", "咨询", "求助"])[rng.integers(0, 3, n)],
        "category": np.array(["垃圾清运", "噪声扰民", "物业管理"])[rng.integers(0, 3, n)],
        "address": np.array(["武汉市江汉区解放大道1号", "武汉市武昌区中山路88号"])[rng.integers(0, 2, n)],
        "lon": np.round(rng.uniform(114.1, 114.5, n), 6), "lat": np.round(rng.uniform(30.45, 30.70, n), 6),
    }).to_csv(path, index=False)
    return path


def _stored(db: Path) -> tuple[list[tuple], int]:
    con = open_reader(db)
    try:
        loads = con.execute("SELECT load_id, status, rows_ok FROM loads ORDER BY load_id").fetchall()
        return loads, con.execute("SELECT count(*) FROM complaints").fetchone()[0]
    finally:
        con.close()


def _wait_for(condition: Callable[[], bool], proc: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"grid ingest exited ({proc.returncode}) before {what}: {err[-2000:]!r}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(POLL_S)


def _collect_lines(stream: IO[str]) -> list[str]:
    """Lines of ``stream`` as they arrive, gathered by a background thread."""
    lines: list[str] = []

    def pump() -> None:
        for line in iter(stream.readline, ""):
            lines.append(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


@pytest.fixture
def loaded_once(tmp_path: Path, settings: Settings) -> tuple[LoadReport, Path]:
    """Load 1: a small complaints file; return its report and a 300k-row file for the killed load."""
    first = ingest_file("complaints", _complaints_csv(tmp_path / "small.csv", 50, prefix="S", seed=1),
                        settings=settings)
    assert (first.status, first.rows_ok) == ("loaded", 50)
    return first, _complaints_csv(tmp_path / "big.csv", 300_000, prefix="B", seed=2)


def _assert_only_load_1(db: Path, first: LoadReport, digest: str) -> None:
    assert _sha256(db) == digest
    assert _stored(db) == ([(first.load_id, "loaded", 50)], 50)


def _fresh_load_succeeds(tmp_path: Path, settings: Settings, first: LoadReport) -> None:
    again = ingest_file("complaints", _complaints_csv(tmp_path / "next.csv", 20, prefix="N", seed=3),
                        settings=settings)
    assert (again.status, again.load_id, again.rows_inserted) == ("loaded", first.load_id + 1, 20)
    assert working_files(settings.db_path) == []
    assert _stored(settings.db_path) == ([(first.load_id, "loaded", 50), (again.load_id, "loaded", 20)], 70)


@pytest.mark.slow
def test_kill_9_during_write_leaves_database_unchanged(tmp_path: Path, settings: Settings,
                                                       loaded_once: tuple[LoadReport, Path]) -> None:
    first, big = loaded_once
    db = settings.db_path
    digest = _sha256(db)
    proc = subprocess.Popen([str(GRID), "--db", str(db), "ingest", "complaints", str(big)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    work = db.with_name(f".{db.name}.{proc.pid}.tmp")
    try:
        _wait_for(work.exists, proc, f"its working file {work.name} appeared")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.communicate(timeout=DEADLINE_S)
    assert proc.returncode == -signal.SIGKILL
    assert work in working_files(db)  # killed mid-write: the stale copy is still there
    _assert_only_load_1(db, first, digest)
    _fresh_load_succeeds(tmp_path, settings, first)


@pytest.mark.slow
def test_kill_9_during_validation_leaves_database_unchanged(tmp_path: Path, settings: Settings,
                                                            loaded_once: tuple[LoadReport, Path]) -> None:
    first, big = loaded_once
    db = settings.db_path
    digest = _sha256(db)
    proc = subprocess.Popen([str(GRID), "-v", "--db", str(db), "ingest", "complaints", str(big)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = _collect_lines(proc.stderr)
    try:
        _wait_for(lambda: any("read big.csv: 300000 rows" in line for line in seen), proc, "it read the file")
        assert working_files(db) == []  # not writing yet
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.communicate(timeout=DEADLINE_S)
    assert proc.returncode == -signal.SIGKILL
    assert working_files(db) == []
    _assert_only_load_1(db, first, digest)
    _fresh_load_succeeds(tmp_path, settings, first)


def test_ensure_database_creates_once_and_never_rewrites_a_current_file(tmp_path: Path) -> None:
    from grid.store import ensure_database

    db = tmp_path / "g.duckdb"
    assert ensure_database(db) == "created"
    before = (_sha256(db), db.stat().st_mtime_ns, db.stat().st_ino)
    assert ensure_database(db) == "current"
    assert (_sha256(db), db.stat().st_mtime_ns, db.stat().st_ino) == before
