"""Governance benchmark: routing, SLA clocks, grid generation and the read API on a demo city.

Prints one JSON object. For each step the median of ``--repeat`` runs (``time.perf_counter``)
and the process's peak RSS during those runs (the high-water mark is reset before each step
through ``/proc/self/clear_refs`` where Linux allows it; otherwise it is the peak so far):

* ``write``: ``refresh_routes`` (every complaint), ``refresh_sla`` and ``generate_grids``
  (which routes every complaint again), each run in its own write session on a fresh
  temporary copy of the database, so every run starts from the same state and the
  database itself is never written; ``commit_seconds`` is the session's commit (COMMIT,
  CHECKPOINT, fsync, rename), which ``empty_session`` gives for a session that changes nothing;
* ``read``: ``visible_complaints``, ``work_list``, ``hotspot_cells``, ``repeat_complaints``,
  ``rates`` by grid, ``workload`` and ``redraw_view``, as the system viewer and as the demo
  grid manager (``demo_manager``), on a read-only connection.

``machine.cpu_share_used_elsewhere_while_measuring`` says how busy the machine was with other
work meanwhile (the load average lags by minutes): figures taken above ~0.1 are inflated.

Usage::

    .venv/bin/python benchmarks/governance.py                  # scale 1: ~51k complaints, 29 communities
    .venv/bin/python benchmarks/governance.py --scale 5         # ~250k complaints
    .venv/bin/python benchmarks/governance.py --db some.duckdb  # an existing database (never changed)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from grid.settings import PROJECT_ROOT, Settings, get_settings

OUT = PROJECT_ROOT / "benchmarks" / "out"

Step = Callable[[duckdb.DuckDBPyConnection], Any]


def _reset_peak_rss() -> None:
    """Reset the kernel's RSS high-water mark to the current RSS (Linux >= 4.0; elsewhere a no-op)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _peak_rss_mb() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _rss_mb() -> int | None:
    """Current resident set size (Linux ``/proc``), or None elsewhere."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024)
    return None


def _is_current(db: Path) -> bool:
    """True when ``db`` has this grid's schema version (a stale cached demo is rebuilt)."""
    from grid.store import SCHEMA_VERSION, connect, schema_version

    con = connect(db, read_only=True, spatial=False)
    try:
        return schema_version(con) == SCHEMA_VERSION
    finally:
        con.close()


def _ensure_demo(scale: float, seed: int) -> tuple[Path, float | None]:
    """The cached demo database of ``scale`` and ``seed``, built when missing or stale; seconds spent building."""
    db = OUT / f"governance-scale{scale:g}-seed{seed}.duckdb"
    if db.exists() and _is_current(db):
        return db, None
    from grid.demo import DemoSpec, build_demo

    OUT.mkdir(parents=True, exist_ok=True)
    for stale in (db, db.with_name(db.name + ".wal")):
        stale.unlink(missing_ok=True)
    started = time.perf_counter()
    build_demo(get_settings(db_path=db), spec=DemoSpec(seed=seed, scale=scale),
               out_dir=OUT / f"governance-files-scale{scale:g}-seed{seed}")
    seconds = time.perf_counter() - started
    print(f"built {db.name} in {seconds:.0f} s", file=sys.stderr)
    return db, round(seconds, 1)


def _median_of(repeat: int, run: Callable[[], tuple[float, Any]]) -> tuple[dict[str, float], Any]:
    """Median seconds of ``repeat`` calls of ``run`` (each returns its seconds and result),
    peak RSS during them, and the last result."""
    rss_before = _rss_mb()
    _reset_peak_rss()
    runs = [run() for _ in range(repeat)]
    seconds = statistics.median(s for s, _ in runs)
    return {"seconds": round(seconds, 3), "max_seconds": round(max(s for s, _ in runs), 3),
            "rss_before_mb": rss_before, "peak_rss_mb": _peak_rss_mb()}, runs[-1][1]


def _timed(work: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def _in_session(db: Path, work_dir: Path, h3_res: int, step: Step) -> tuple[float, float, Any]:
    """Seconds of ``step`` in a write session on a fresh copy of ``db`` in ``work_dir``, seconds to
    commit it (COMMIT, CHECKPOINT, fsync, atomic replace of the copy) and the step's result.
    Copying and opening the session are not timed; ``db`` itself is never opened for writing."""
    from grid.store import write_session

    copy = work_dir / db.name
    shutil.copyfile(db, copy)
    with write_session(copy, h3_res=h3_res) as con:
        seconds, result = _timed(lambda: step(con))
        closing = time.perf_counter()
    return seconds, time.perf_counter() - closing, result


def _write_step(db: Path, work_dir: Path, h3_res: int, step: Step, repeat: int) -> tuple[dict[str, Any], Any]:
    """Figures of one write step (as :func:`_median_of`) with the median commit seconds."""
    commits: list[float] = []

    def run() -> tuple[float, Any]:
        seconds, commit, result = _in_session(db, work_dir, h3_res, step)
        commits.append(commit)
        return seconds, result

    figures, result = _median_of(repeat, run)
    figures["commit_seconds"] = round(statistics.median(commits), 3)
    return figures, result


def _write_steps(db: Path, settings: Settings, repeat: int, complaints: int) -> dict[str, dict]:
    """An empty session (the cost of committing alone), routing, SLA and grid generation,
    each on a fresh temporary copy of ``db``."""
    from grid.governance.grids import generate_grids
    from grid.governance.refresh import refresh_routes, refresh_sla

    steps: dict[str, Step] = {"empty_session": lambda con: None, "refresh_routes": refresh_routes,
                              "refresh_sla": lambda con: refresh_sla(con, settings),
                              "generate_grids": lambda con: generate_grids(con, settings, replace=True)}
    figures: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="grid-bench-governance-") as tmp:
        for name, step in steps.items():
            figures[name], result = _write_step(db, Path(tmp), settings.h3_res, step, repeat)
            figures[name].update(_step_figures(name, result, figures[name], complaints))
    return figures


def _step_figures(name: str, result: Any, timing: dict[str, Any], complaints: int) -> dict[str, Any]:
    """What a write step produced; complaints per second for routing and SLA, also counting the commit."""
    if name == "empty_session":
        return {}
    rate = {"complaints_per_second": round(complaints / timing["seconds"]),
            "complaints_per_second_with_commit": round(complaints / (timing["seconds"] + timing["commit_seconds"]))}
    if name == "refresh_routes":
        return {**rate, "routing": result[0], "unrouted_reasons": result[1]}
    if name == "refresh_sla":
        return {**rate, "sla_rows": result[0], "notes": len(result[1])}
    summary = result.summary
    return {"grids": int(summary["grids"]), "cv": round(summary["cv"], 3),
            "share_within_bounds": round(summary["share_within_bounds"], 3),
            "mean_compactness": round(summary["mean_compactness"], 3), "routing": result.routing}


def _rows(result: Any) -> int:
    """Rows of a query result (a frame, or a RedrawView's cells)."""
    return len(getattr(result, "cells", result))


def _read_steps(con: duckdb.DuckDBPyConnection, settings: Settings, viewer: Any, repeat: int) -> dict[str, dict]:
    """The read API as ``viewer``: median seconds, peak RSS and rows returned per query."""
    from grid.queries.complaint_analysis import hotspot_cells, repeat_complaints
    from grid.queries.complaints import visible_complaints, work_list
    from grid.queries.workload import rates, redraw_view, workload

    steps: dict[str, Callable[[], Any]] = {
        "visible_complaints": lambda: visible_complaints(con, viewer),
        "work_list": lambda: work_list(con, viewer),
        "hotspot_cells": lambda: hotspot_cells(con, viewer),
        "repeat_complaints": lambda: repeat_complaints(con, viewer),
        "rates_by_grid": lambda: rates(con, settings, viewer, by=["grid"]),
        "workload": lambda: workload(con, settings, viewer),
        "redraw_view": lambda: redraw_view(con, viewer)}
    figures: dict[str, dict] = {}
    for name, work in steps.items():
        figures[name], result = _median_of(repeat, lambda: _timed(work))
        figures[name]["rows"] = _rows(result)
    return figures


def _counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    tables = ("complaints", "grids", "cells", "communities", "managers")
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


def _read_all(db: Path, settings: Settings, repeat: int) -> tuple[dict[str, int], dict[str, dict]]:
    """Counts and the read steps as the system viewer and as ``demo_manager``."""
    from grid.governance.access import AccessError, system_viewer, viewer_for
    from grid.store import open_reader

    con = open_reader(db)
    try:
        reads: dict[str, dict] = {"system": _read_steps(con, settings, system_viewer(), repeat)}
        try:
            manager = viewer_for(con, "demo_manager")
        except AccessError as exc:  # a database without the demo users
            reads["demo_manager"] = {"skipped": str(exc)}
        else:
            grids = len(manager.grid_ids or ())
            reads["demo_manager"] = {"grids": grids, **_read_steps(con, settings, manager, repeat)}
        return _counts(con), reads
    finally:
        con.close()


def _busy_cpu_seconds() -> float | None:
    """CPU seconds all processes have spent busy since boot (Linux ``/proc/stat``), or None elsewhere."""
    with contextlib.suppress(OSError):
        ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait
    return None


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_share_elsewhere(started: tuple[float, float | None, float]) -> float | None:
    """Share of the machine's CPU capacity used elsewhere (other processes, hypervisor steal) since
    ``started`` (wall, busy and own CPU seconds): near 0 on a quiet machine; above ~0.1 the timings are inflated."""
    wall, busy, own = started
    now = _busy_cpu_seconds()
    if busy is None or now is None:
        return None
    others = (now - busy) - (_own_cpu_seconds() - own)
    return round(max(others, 0.0) / ((time.perf_counter() - wall) * (os.cpu_count() or 1)), 3)


def _machine() -> dict[str, Any]:
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "duckdb": duckdb.__version__,
            "load_average_1min_at_start": round(os.getloadavg()[0], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--db", type=Path, help="Use this database (only read; writes go to a copy).")
    parser.add_argument("--repeat", type=int, default=3, help="runs per step; the median is reported (default 3)")
    args = parser.parse_args()
    machine = _machine()
    db, build_seconds = (args.db, None) if args.db else _ensure_demo(args.scale, args.seed)
    settings = get_settings(db_path=db)
    started = (time.perf_counter(), _busy_cpu_seconds(), _own_cpu_seconds())
    counts, reads = _read_all(db, settings, args.repeat)
    writes = _write_steps(db, settings, args.repeat, counts["complaints"])
    machine["cpu_share_used_elsewhere_while_measuring"] = _cpu_share_elsewhere(started)
    print(json.dumps({"scale": None if args.db else args.scale, "db": str(db), "repeat": args.repeat,
                      "demo_build_seconds": build_seconds, "counts": counts, "write": writes, "read": reads,
                      "machine": machine}, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
