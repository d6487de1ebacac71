"""Load the demo files through the same ingestion as real data (the demo is its first user)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pandas as pd

from grid.accessibility.compute import AccessReport, compute_access
from grid.demo.files import SOURCE_LABEL, DemoFiles
from grid.demo.names import DISTRICT
from grid.ingest import LoadReport, NetworkLoadReport, ingest_file, ingest_network, set_study_area
from grid.governance.access import create_demo_users, read_roles, write_roles
from grid.settings import Settings
from grid.store import write_session

__all__ = ["DemoLoad", "load_demo", "DEMO_PASSWORD"]

DEMO_PASSWORD = "demo-password"
"""Password of the demo users (demo_admin, demo_planner, ...): synthetic data only."""

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


def load_demo(files: DemoFiles, *, settings: Settings, as_of: date | None = None,
              progress: Progress | None = None) -> DemoLoad:
    """Set the study area, ingest boundaries, land use, grids, the manager roster, facilities,
    complaints (as of 00:00 local time on ``as_of``, when the generator took its snapshot) and streets, compute walking access
    (``cell_access``) and create one demo user per role (password ``demo-password``).

    Every row gets ``source = 'synthetic-demo'``.
    """
    step = progress or (lambda _name: None)
    step("load study area")
    area = set_study_area(settings, files.study_area, name=f"{DISTRICT}（合成）")
    reports = []
    stamp = None if as_of is None else pd.Timestamp(as_of, tz=settings.default_timezone)  # the generator's as-of: 00:00
    for kind, path in (("boundaries", files.communities), ("landuse", files.landuse), ("grids", files.grids),
                       ("managers", files.managers), ("facilities", files.facilities),
                       ("complaints", files.complaints)):
        step(f"load {kind}")
        reports.append(ingest_file(kind, path, settings=settings, source=SOURCE_LABEL,
                                   as_of=stamp if kind == "complaints" else None))
        if reports[-1].rows_rejected:
            log.warning("demo %s: %d rows rejected (%s); the generator or the ingestion has a bug",
                        kind, reports[-1].rows_rejected, reports[-1].reasons)
    step("load network")
    network = ingest_network(files.streets, settings=settings, source=SOURCE_LABEL)
    access = compute_access(settings, progress=step)
    step("demo users")
    with write_session(settings.db_path, h3_res=settings.h3_res) as con:
        write_roles(con, read_roles(settings.governance_dir / "roles.csv"))
        create_demo_users(con, password=DEMO_PASSWORD)
    return DemoLoad(study_area_m2=area, reports=reports, network=network, access=access)
