"""Ingest throughput: synthetic 12345 complaints CSV -> DuckDB, and H3 points per second.

Prints one JSON object with the measured figures. Generation of the CSV is
vectorised numpy and is not part of the ingest time.

Usage::

    .venv/bin/python benchmarks/ingest.py                 # 1,000,000 rows
    .venv/bin/python benchmarks/ingest.py --rows 200000 --keep /tmp/bench
    .venv/bin/python benchmarks/ingest.py --rows 200000 --profile /tmp/ingest.prof  # where the time goes
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import json
import os
import platform
import pstats
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from grid.h3index import points_to_cells
from grid.ingest import ingest_file
from grid.settings import PROJECT_ROOT, get_settings

_CJK = re.compile(r"[\u4e00-\u9fff]")
_WUHAN_LON = (114.05, 114.60)
_WUHAN_LAT = (30.40, 30.75)
_REQUEST_TYPES = ("咨询", "求助", "投诉", "举报", "意见建议")
_URGENCIES = ("一般", "紧急", "加急")
_CHANNELS = ("电话", "12345热线", "微信", "网站", "移动应用", "网格员上报")
_OPEN_STATUSES = ("受理", "办理中", "已派单")
_CLOSED_STATUSES = ("办结", "已办结")
_SURNAMES = tuple("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘") + ("欧阳", "司马")
_GIVEN = tuple("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红")
_DISTRICTS = ("江岸区", "江汉区", "硚口区", "汉阳区", "武昌区", "青山区", "洪山区")
_ROADS = ("解放大道", "中山大道", "建设大道", "武珞路", "珞喻路", "沿江大道", "发展大道", "和平大道")


def _category_names(categories_csv: Path) -> list[str]:
    """Chinese names and aliases of the complaint categories (what a 12345 export would hold)."""
    names: list[str] = []
    with open(categories_csv, encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            names.append(row["name_zh"])
            names.extend(a for a in row["aliases"].split("|") if _CJK.search(a))
    return sorted(set(names))


def _pick(rng: np.random.Generator, choices: tuple[str, ...] | list[str], n: int) -> np.ndarray:
    return np.asarray(choices, dtype=object)[rng.integers(0, len(choices), n)]


def _times(seconds: np.ndarray) -> np.ndarray:
    """'YYYY-mm-dd HH:MM:SS' strings (naive, local) from seconds since 2024-01-01."""
    stamps = np.datetime64("2024-01-01T00:00:00", "s") + seconds.astype("timedelta64[s]")
    return np.strings.replace(np.datetime_as_string(stamps, unit="s"), "T", " ")


def _join(*parts: np.ndarray) -> np.ndarray:
    out = np.asarray(parts[0]).astype(np.dtypes.StringDType())
    for part in parts[1:]:
        out = np.strings.add(out, np.asarray(part).astype(np.dtypes.StringDType()))
    return out


def _people(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Fake Chinese names (surname + one or two given characters) and fake mobile numbers."""
    second = np.where(rng.random(n) < 0.6, _pick(rng, _GIVEN, n), "")
    names = _join(_pick(rng, _SURNAMES, n), _pick(rng, _GIVEN, n), second)
    prefix = rng.choice(np.array(["13", "15", "17", "18", "19"]), n)
    phones = _join(prefix, np.char.zfill(rng.integers(0, 10**9, n).astype(str), 9))
    return names, phones


def complaint_columns(n: int, *, seed: int = 12345, categories_csv: Path) -> dict[str, np.ndarray]:
    """``n`` synthetic complaint rows (columns of the default complaints mapping) as string arrays."""
    rng = np.random.default_rng(seed)
    received_s = rng.integers(0, 365 * 86400, n)
    closed = rng.random(n) < 0.85
    closed_s = received_s + rng.integers(1800, 10 * 86400, n)
    names, phones = _people(rng, n)
    lon = rng.uniform(*_WUHAN_LON, n)
    lat = rng.uniform(*_WUHAN_LAT, n)
    return {
        "complaint_id": _join(np.full(n, "WH"), np.char.zfill(np.arange(1, n + 1).astype(str), 9)),
        "received_at": _times(received_s),
        "request_type": _pick(rng, _REQUEST_TYPES, n),
        "category": _pick(rng, _category_names(categories_csv), n),
        "urgency": _pick(rng, _URGENCIES, n),
        "channel": _pick(rng, _CHANNELS, n),
        "status": np.where(closed, _pick(rng, _CLOSED_STATUSES, n), _pick(rng, _OPEN_STATUSES, n)),
        "closed_at": np.where(closed, _times(closed_s), ""),
        "lon": np.char.mod("%.6f", lon),
        "lat": np.char.mod("%.6f", lat),
        "address": _join(np.full(n, "武汉市"), _pick(rng, _DISTRICTS, n), _pick(rng, _ROADS, n),
                         rng.integers(1, 999, n).astype(str), np.full(n, "号")),
        "complainant_name": names,
        "complainant_phone": phones,
    }


def write_complaints_csv(path: Path, n: int, *, seed: int = 12345) -> Path:
    """Write ``n`` synthetic complaints to ``path`` (UTF-8 CSV, header row); return the path."""
    columns = complaint_columns(n, seed=seed, categories_csv=PROJECT_ROOT / "geodata" / "categories"
                                / "complaint_categories.csv")
    table = pa.table({k: pa.array(v.astype(object), type=pa.string()) for k, v in columns.items()})
    pacsv.write_csv(table, path)
    return path


def _top_functions(profiler: cProfile.Profile, path: Path, n: int = 15) -> list[str]:
    """Dump the profile to ``path``; return grid's functions with the most cumulative seconds."""
    profiler.dump_stats(str(path))
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    ours = [(cum, f"{Path(file).name}:{line} {name}") for (file, line, name), (_, _, _, cum, _) in stats.items()
            if f"{os.sep}grid{os.sep}" in file]
    return [f"{cum:8.2f}s  {where}" for cum, where in sorted(ours, reverse=True)[:n]]


def _timed_ingest(csv_path: Path, db_dir: Path, profile: Path | None) -> dict[str, object]:
    settings = get_settings(db_path=db_dir / "bench.duckdb", hash_key_path=db_dir / "hash.key")
    marks: list[tuple[str, float]] = []
    profiler = cProfile.Profile() if profile else None
    start = time.perf_counter()
    if profiler:
        profiler.enable()
    report = ingest_file("complaints", csv_path, settings=settings,
                         progress=lambda step: marks.append((step, time.perf_counter())))
    if profiler:
        profiler.disable()
    end = time.perf_counter()
    bounds = [t for _, t in marks] + [end]
    stages = {name: round(bounds[i + 1] - t, 3) for i, (name, t) in enumerate(marks)}
    seconds = end - start
    return {"rows": report.rows_in, "seconds": round(seconds, 3), "rows_per_second": round(report.rows_in / seconds),
            "rows_ok": report.rows_ok, "rows_rejected": report.rows_rejected, "status": report.status,
            "stage_seconds": stages, "db_bytes": settings.db_path.stat().st_size,
            **({"profiled": True, "profile_file": str(profile), "top_cumulative": _top_functions(profiler, profile)}
               if profiler and profile else {})}


def _best_of(runs: int, work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def _h3_rate(n: int = 2_000_000, res: int = 10) -> dict[str, object]:
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(*_WUHAN_LON, n), rng.uniform(*_WUHAN_LAT, n)
    seconds = _best_of(3, lambda: points_to_cells(lon, lat, res))
    return {"points": n, "res": res, "best_of_3_seconds": round(seconds, 4), "points_per_second": round(n / seconds)}


def _machine() -> dict[str, object]:
    return {"cpu_count": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "duckdb": duckdb.__version__, "numpy": np.__version__, "pyarrow": pa.__version__,
            "pandas": sys.modules["pandas"].__version__}


def run(rows: int, keep: Path | None, profile: Path | None = None) -> dict[str, object]:
    """Generate, ingest and measure; the temporary folder is removed unless ``keep`` is given.

    With ``profile`` the ingest runs under cProfile (slower) and its stats are written there.
    """
    with tempfile.TemporaryDirectory(prefix="grid-bench-") as tmp:
        folder = Path(keep) if keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in (folder / "bench.duckdb", folder / "bench.duckdb.lock"):
            stale.unlink(missing_ok=True)
        start = time.perf_counter()
        csv_path = write_complaints_csv(folder / "complaints.csv", rows)
        generate_s = time.perf_counter() - start
        ingest = _timed_ingest(csv_path, folder, profile)
        ingest.update(csv_bytes=csv_path.stat().st_size, generate_seconds_untimed=round(generate_s, 2))
    return {"ingest_complaints": ingest, "target_rows_per_second": 100_000,
            "meets_target": ingest["rows_per_second"] >= 100_000, "h3_points_to_cells": _h3_rate(),
            "machine": _machine(), "kept_in": str(keep) if keep else None}


def main() -> None:
    """Command line: ``--rows N`` (default 1,000,000), ``--keep DIR`` to keep the CSV and database."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="synthetic complaint rows (default 1,000,000)")
    parser.add_argument("--keep", type=Path, default=None, help="write the CSV and database here and keep them")
    parser.add_argument("--profile", type=Path, default=None,
                        help="run the ingest under cProfile and write its stats to this file (timings inflate)")
    args = parser.parse_args()
    print(json.dumps(run(args.rows, args.keep, args.profile), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
