"""Load the demo files through the same ingestion as real data (the demo is its first user)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from grid.accessibility.compute import AccessReport, compute_access
from grid.demo.files import SOURCE_LABEL, DemoFiles
from grid.demo.names import DISTRICT
from grid.ingest import LoadReport, NetworkLoadReport, ingest_file, ingest_network, set_study_area
from grid.settings import Settings

__all__ = ["DemoLoad", "load_demo"]

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


@dataclass
class DemoLoad:
    """What loading the demo did: the study area and one report per file."""

    study_area_m2: float
    reports: list[LoadReport]
    network: NetworkLoadReport
    access: AccessReport

    @property
    def rejected(self) -> int:
        """Rows quarantined over all loads (the demo should give none)."""
        return sum(r.rows_rejected for r in self.reports)


def load_demo(files: DemoFiles, *, settings: Settings, progress: Progress | None = None) -> DemoLoad:
    """Set the study area, ingest boundaries, land use, grids, facilities, complaints and streets,
    then compute walking access (``cell_access``).

    Every row gets ``source = 'synthetic-demo'``. ``managers.csv`` is written but not loaded
    (the manager roster has no loader yet).
    """
    step = progress or (lambda _name: None)
    step("load study area")
    area = set_study_area(settings, files.study_area, name=f"{DISTRICT}（合成）")
    reports = []
    for kind, path in (("boundaries", files.communities), ("landuse", files.landuse), ("grids", files.grids),
                       ("facilities", files.facilities), ("complaints", files.complaints)):
        step(f"load {kind}")
        reports.append(ingest_file(kind, path, settings=settings, source=SOURCE_LABEL))
        if reports[-1].rows_rejected:
            log.warning("demo %s: %d rows rejected (%s); the generator or the ingestion has a bug",
                        kind, reports[-1].rows_rejected, reports[-1].reasons)
    step("load network")
    network = ingest_network(files.streets, settings=settings, source=SOURCE_LABEL)
    access = compute_access(settings, progress=step)
    return DemoLoad(study_area_m2=area, reports=reports, network=network, access=access)
