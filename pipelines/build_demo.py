"""Build the synthetic demo city (same as ``grid demo``), printing time and peak memory.

    python pipelines/build_demo.py [--db PATH] [--seed N] [--scale S] [--out DIR] [--files-only]

``--scale 20 --files-only`` is the benchmark generator: about 500 km2, 5 million residents,
a street graph of the order of a million edges and a million 12345 records.
"""

from __future__ import annotations

import argparse
import resource
import sys
from pathlib import Path

from grid.demo import DEFAULT_SEED, DemoSpec, build_demo
from grid.errors import GridError
from grid.settings import get_settings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--out", type=Path, default=None, help="folder for the files (default geodata/demo)")
    parser.add_argument("--files-only", action="store_true", help="write the files without loading them")
    args = parser.parse_args()
    try:
        result = build_demo(get_settings(db_path=args.db), spec=DemoSpec(seed=args.seed, scale=args.scale),
                            out_dir=args.out, load=not args.files_only)
    except GridError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"files in {result.files.folder}: generated in {result.generate_s:.1f} s, peak memory {peak_mb:,.0f} MB")
    if result.load is not None:
        for report in result.load.reports:
            print(f"{report.kind:11s} {report.message}")
        print(f"network     {result.load.network.message}")
        print(f"loaded in {result.load_s:.1f} s")
    return 0 if result.load is None or result.load.rejected == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
