"""``grid demo``: a believable synthetic central district of a Chinese city, as real files, loaded
through the real ingestion.

About 25 km2 x scale, 250,000 x scale residents in ~30 communities (社区) of 2,000-4,500
households in 5-6 sub-districts (街道), ~8 grids (网格) of 150-500 households per community,
a street network with gated compounds, old lanes, a river with few bridges, a railway with
few crossings and an elevated expressway; every facility category of the standard, with
designed gaps; 50,000 x scale 12345 records over the year before the as-of date. Placed
near Wuhan (114.27 E, 30.60 N); everything is labelled synthetic (``source =
'synthetic-demo'``). The same seed gives byte-identical files.

Public API: :func:`generate_demo` (files only), :func:`load_demo` (files into the database)
and :func:`build_demo` (both).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from grid.categories import read_table
from grid.demo.city import DEFAULT_AS_OF, DEFAULT_SCALE, DEFAULT_SEED, City, DemoSpec, make_city
from grid.demo.files import SOURCE_LABEL, DemoFiles, write_demo_files
from grid.demo.load import DemoLoad, load_demo
from grid.errors import InputError
from grid.settings import Settings

__all__ = ["DEFAULT_AS_OF", "DEFAULT_SCALE", "DEFAULT_SEED", "SOURCE_LABEL", "DemoSpec", "DemoFiles", "DemoLoad",
           "DemoResult", "City", "generate_demo", "load_demo", "build_demo"]

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


@dataclass
class DemoResult:
    """Files written, the load (None when not loaded) and the seconds each phase took."""

    files: DemoFiles
    load: DemoLoad | None
    generate_s: float
    load_s: float


def generate_demo(out_dir: Path, *, settings: Settings, spec: DemoSpec = DemoSpec(),
                  progress: Progress | None = None) -> DemoFiles:
    """Generate the demo city of ``spec`` and write its files into ``out_dir``; return their paths.

    Raises
    ------
    InputError
        If the scale is not positive or the as-of date lies in the future (the ingestion
        rejects records received in the future).
    """
    _check(spec)
    city = make_city(spec, categories_dir=settings.categories_dir, progress=progress)
    categories = read_table("facility_categories", settings.categories_dir)
    files = write_demo_files(city, Path(out_dir), category_zh=dict(zip(categories["category"], categories["name_zh"])),
                             progress=progress)
    log.info("demo files written to %s", out_dir)
    return files


def _check(spec: DemoSpec) -> None:
    if not spec.scale > 0:
        raise InputError(f"scale {spec.scale} must be positive; use e.g. 1 (25 km², 250,000 residents) or 0.1")
    if spec.as_of > date.today():
        raise InputError(f"as-of date {spec.as_of} is in the future; complaints would be received in the future "
                         f"and rejected; pick a date up to today ({date.today()})")


def build_demo(settings: Settings, *, spec: DemoSpec = DemoSpec(), out_dir: Path | None = None, load: bool = True,
               progress: Progress | None = None) -> DemoResult:
    """Generate the demo files (default folder ``settings.demo_dir``) and load them into ``settings.db_path``."""
    started = time.perf_counter()
    files = generate_demo(Path(out_dir or settings.demo_dir), settings=settings, spec=spec, progress=progress)
    generated = time.perf_counter()
    loaded = load_demo(files, settings=settings, as_of=spec.as_of, progress=progress) if load else None
    return DemoResult(files=files, load=loaded, generate_s=generated - started,
                      load_s=time.perf_counter() - generated)
