"""Settings in one place: defaults, then ``GRID_*`` environment variables, then
explicit overrides (CLI flags) through :func:`get_settings`.

Data files (mappings, category tables, standards) live under ``geodata/`` of the
project and are located through these settings, never by hard-coded paths
elsewhere.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from grid.errors import ConfigError

__all__ = ["Settings", "get_settings", "PROJECT_ROOT"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _default_config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "grid"


@dataclass(frozen=True)
class Settings:
    """All tunable values of grid, with units in their names.

    Attributes
    ----------
    db_path : DuckDB file (``GRID_DB``), default ``geodata/grid.duckdb``.
    geodata_dir : folder of shipped data tables (``GRID_GEODATA``).
    h3_res : base H3 resolution for points and cells (``GRID_H3_RES``); res 10 is
        about 15,000 m2, the size of an urban "unit grid".
    hash_key_path : secret key for hashing complainants' names and phones
        (``GRID_HASH_KEY_FILE``), created on first use, kept outside git.
    default_timezone : zone for naive timestamps (``GRID_TIMEZONE``).
    max_invalid_repair_area_change : largest relative area change accepted when an
        invalid polygon is repaired with ``make_valid`` (else the row is rejected).
    max_snap_m : largest straight-line distance from a cell centroid or facility to
        the street network (``GRID_MAX_SNAP_M``); beyond it the item is "off network".
    island_max_length_m : a connected component of the walking network shorter than
        this (total street length) is reported as an island; it is never joined.
    access_margin_m : added to the largest threshold in use to bound the search.
    compliance_pass_share, compliance_fail_share : a required facility "passes" for a
        community when at least this share of its residents is within the radius, and
        "fails" below the second share (project policy; the standard sets no share).
    standards_region : region whose local community standards apply (``GRID_REGION``),
        matching the ``region`` column of ``geodata/standards/community_standards.csv``.
    grid_target_households, grid_min_households, grid_max_households : households per
        generated grid (``grid grids generate``): target and bounds. The national
        standard fixes no number; 300-500 is project policy (practice: 160-255 per grid
        in one community, ~940 people per grid in Yueyang; domain.md §6).
    sla_prefer_source_due : when a complaint record carries its own deadline
        (办理时限, which includes extensions and re-opened orders), use it as ``due_at``;
        the rule-based deadline is kept beside it either way.
    """

    db_path: Path = PROJECT_ROOT / "geodata" / "grid.duckdb"
    geodata_dir: Path = PROJECT_ROOT / "geodata"
    h3_res: int = 10
    hash_key_path: Path = dataclasses.field(default_factory=lambda: _default_config_dir() / "hash.key")
    default_timezone: str = "Asia/Shanghai"
    max_invalid_repair_area_change: float = 0.01
    max_snap_m: float = 250.0
    island_max_length_m: float = 2000.0
    access_margin_m: float = 500.0
    compliance_pass_share: float = 0.95
    compliance_fail_share: float = 0.5
    standards_region: str = "湖北/Hubei"
    grid_target_households: int = 400
    grid_min_households: int = 300
    grid_max_households: int = 500
    sla_prefer_source_due: bool = True

    @property
    def mappings_dir(self) -> Path:
        """Folder of shipped column mappings (``NAME.yaml``)."""
        return self.geodata_dir / "mappings"

    @property
    def categories_dir(self) -> Path:
        """Folder of category vocabularies and source-code-to-category tables."""
        return self.geodata_dir / "categories"

    @property
    def standards_dir(self) -> Path:
        """Folder of standards, circles and speed profiles (``geodata/standards``)."""
        return self.geodata_dir / "standards"

    @property
    def governance_dir(self) -> Path:
        """Folder of the working-day calendar, SLA rules, satisfaction values and roles."""
        return self.geodata_dir / "governance"

    @property
    def demo_dir(self) -> Path:
        """Folder the demo city's source files are written to (git-ignored)."""
        return self.geodata_dir / "demo"


_ENV = {
    "db_path": ("GRID_DB", Path),
    "geodata_dir": ("GRID_GEODATA", Path),
    "h3_res": ("GRID_H3_RES", int),
    "hash_key_path": ("GRID_HASH_KEY_FILE", Path),
    "default_timezone": ("GRID_TIMEZONE", str),
    "max_snap_m": ("GRID_MAX_SNAP_M", float),
    "standards_region": ("GRID_REGION", str),
    "grid_target_households": ("GRID_TARGET_HOUSEHOLDS", int),
    "grid_min_households": ("GRID_MIN_HOUSEHOLDS", int),
    "grid_max_households": ("GRID_MAX_HOUSEHOLDS", int),
}


def get_settings(**overrides: object) -> Settings:
    """Settings from defaults, then ``GRID_*`` environment, then non-None overrides."""
    values: dict[str, object] = {}
    for field, (var, cast) in _ENV.items():
        raw = os.environ.get(var)
        if raw:
            try:
                values[field] = cast(raw)
            except ValueError as exc:
                raise ConfigError(f"environment variable {var}={raw!r} is not a valid {cast.__name__}") from exc
    values.update({k: v for k, v in overrides.items() if v is not None})
    for key in ("db_path", "geodata_dir", "hash_key_path"):
        if key in values:
            values[key] = Path(values[key]).expanduser()  # type: ignore[arg-type]
    settings = Settings(**values)  # type: ignore[arg-type]
    if not 0 <= settings.h3_res <= 15:
        raise ConfigError(f"h3_res={settings.h3_res} is outside 0..15; use 10 (about 15,000 m2 per cell)")
    if not 0 < settings.grid_min_households <= settings.grid_target_households <= settings.grid_max_households:
        raise ConfigError(f"grid households min {settings.grid_min_households}, target "
                          f"{settings.grid_target_households}, max {settings.grid_max_households} must satisfy "
                          "0 < min <= target <= max; fix GRID_MIN/TARGET/MAX_HOUSEHOLDS")
    return settings
