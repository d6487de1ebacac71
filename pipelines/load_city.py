"""Load a city's source files in order from a manifest (YAML).

    python pipelines/load_city.py city.yaml [--db PATH]

Manifest::

    study_area: boundary.geojson          # optional: points outside it are rejected
    loads:                                # in this order: boundaries, grids, facilities, complaints
      - {kind: boundaries, file: 社区.gpkg, layer: communities}
      - {kind: facilities, file: 高德POI.csv, mapping: amap-poi, crs: gcj02}
      - {kind: complaints, file: 12345.xlsx}

Paths are relative to the manifest. Each load is all-or-nothing; files already
loaded with the same options are skipped by the library.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from grid.errors import GridError
from grid.ingest import LoadReport, ingest_file, set_study_area
from grid.settings import get_settings

_OPTIONS = ("mapping", "crs", "layer", "encoding", "sheet", "source")


def load_city(manifest: Path, db: Path | None = None) -> list[LoadReport]:
    """Run every load of ``manifest`` in order; return their reports."""
    settings = get_settings(db_path=db)
    spec = yaml.safe_load(manifest.read_text(encoding="utf-8")) or {}
    base = manifest.parent
    if spec.get("study_area"):
        set_study_area(settings, base / spec["study_area"], name=Path(spec["study_area"]).stem)
    reports = []
    for entry in spec.get("loads", []):
        options = {k: entry[k] for k in _OPTIONS if k in entry}
        reports.append(ingest_file(entry["kind"], base / entry["file"], settings=settings, **options))
        print(f"{entry['kind']:11s} {entry['file']}: {reports[-1].message}")
    return reports


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--db", type=Path, default=None)
    args = parser.parse_args()
    try:
        load_city(args.manifest, args.db)
    except GridError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
