"""Column mappings: data files (YAML) that map a source layout onto our fields.

A mapping names, for each of our fields, the source columns it may come from
(first present wins), constants for fields the source lacks, the datum and time
zone of the source, how raw categories become ours, and which fields make a
stable id when the file has none. Shipped mappings live in ``geodata/mappings``;
``--mapping`` takes one of their names or a path to a YAML file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from grid.errors import MappingError

__all__ = ["KINDS", "FIELDS", "REQUIRED", "Mapping", "load_mapping", "list_mappings", "apply_mapping"]

KINDS = ("boundaries", "grids", "facilities", "complaints", "landuse", "managers")

# Our fields per kind. Location fields (lon/lat, location, wkt, geometry) are checked by validation.
FIELDS: dict[str, tuple[str, ...]] = {
    "boundaries": ("community_id", "name", "subdistrict", "district", "population", "households",
                   "population_65plus", "workers", "social_organisations", "service_space_m2", "wkt"),
    "grids": ("grid_id", "community_id", "name", "households", "population", "wkt"),
    "facilities": ("facility_id", "name", "source_category", "source_code", "address", "floor_area_m2",
                   "lon", "lat", "location", "wkt"),
    "complaints": ("complaint_id", "received_at", "request_type", "source_category", "urgency", "channel",
                   "status", "closed_at", "source_due_at", "satisfaction", "description", "address",
                   "area_name", "lon", "lat", "location", "wkt", "complainant_name", "complainant_phone",
                   "responded_at", "reopen_count"),
    "landuse": ("landuse_id", "source_class", "floors", "wkt"),
    "managers": ("manager_id", "name", "phone", "grid_id", "community_id", "subdistrict"),
}

# Fields that must have a column (or constant, or be derivable through id_from).
REQUIRED: dict[str, tuple[str, ...]] = {
    "boundaries": ("community_id", "name"),
    "grids": ("grid_id",),
    "facilities": ("facility_id", "name"),
    "complaints": ("complaint_id", "received_at"),
    "landuse": ("landuse_id", "source_class"),
    "managers": ("manager_id", "grid_id"),
}

ID_FIELD = {"boundaries": "community_id", "grids": "grid_id", "facilities": "facility_id",
            "complaints": "complaint_id", "landuse": "landuse_id",
            "managers": "manager_id"}


@dataclass(frozen=True)
class Mapping:
    """A parsed mapping file (see module docstring)."""

    name: str
    kind: str
    columns: dict[str, tuple[str, ...]]
    constants: dict[str, str] = field(default_factory=dict)
    crs: str | None = None
    timezone: str | None = None
    timestamp_format: str | None = None
    category: str = "vocabulary"
    id_from: tuple[str, ...] = ()  # "geometry" stands for the row's geometry
    source_type: str = "user"
    description: str = ""
    path: Path | None = None


def list_mappings(directory: Path) -> list[str]:
    """Names of the shipped mappings in ``directory``."""
    return sorted(p.stem for p in directory.glob("*.yaml"))


def _resolve_path(name_or_path: str | None, kind: str, directory: Path) -> Path:
    if name_or_path is None:
        return directory / f"{kind}.yaml"
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        if not candidate.exists():
            raise MappingError(f"mapping file {candidate} does not exist")
        return candidate
    path = directory / f"{name_or_path}.yaml"
    if not path.exists():
        raise MappingError(
            f"unknown mapping {name_or_path!r}; shipped mappings are {list_mappings(directory)}, "
            "or pass the path of your own YAML file")
    return path


def _as_tuple(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, int)):
        return (str(value),)
    return tuple(str(v) for v in value)  # type: ignore[union-attr]


def load_mapping(name_or_path: str | None, *, kind: str, directory: Path) -> Mapping:
    """Load a mapping by shipped name or file path (None: the default mapping of ``kind``)."""
    if kind not in KINDS:
        raise MappingError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    path = _resolve_path(name_or_path, kind, directory)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise MappingError(f"mapping {path} is not valid YAML: {exc}") from exc
    if raw.get("kind", kind) != kind:
        raise MappingError(f"mapping {path.name} is for {raw['kind']!r}, not {kind!r}; "
                           f"use `grid ingest {raw['kind']}` or another mapping")
    _check_category_method(str(raw.get("category", "vocabulary")), path, directory)
    columns = {k: _as_tuple(v) for k, v in (raw.get("columns") or {}).items()}
    unknown = sorted(set(columns) - set(FIELDS[kind]))
    if unknown:
        raise MappingError(f"mapping {path.name} maps unknown fields {unknown}; fields for {kind} are {list(FIELDS[kind])}")
    return Mapping(
        name=str(raw.get("name", path.stem)), kind=kind, columns=columns,
        constants={k: str(v) for k, v in (raw.get("constants") or {}).items()},
        crs=raw.get("crs"), timezone=raw.get("timezone"), timestamp_format=raw.get("timestamp_format"),
        category=str(raw.get("category", "vocabulary")), id_from=_as_tuple(raw.get("id_from")),
        source_type=str(raw.get("source_type", "user")), description=str(raw.get("description", "")),
        path=path)


def _check_category_method(method: str, path: Path, directory: Path) -> None:
    if method in ("vocabulary", "amap"):
        return
    table = method.split(":", 1)[1] if method.startswith("table:") else None
    if table is None:
        raise MappingError(f"mapping {path.name}: category method {method!r} is unknown; use vocabulary, "
                           "amap or table:NAME (a CSV in geodata/categories)")
    if not (directory.parent / "categories" / f"{table}.csv").exists():
        raise MappingError(f"mapping {path.name}: category table {table!r} not found in geodata/categories")


def _find_column(candidates: tuple[str, ...], columns: list[str]) -> str | None:
    exact = {c: c for c in columns}
    folded = {str(c).strip().lower(): c for c in columns}
    for candidate in candidates:
        if candidate in exact:
            return exact[candidate]
        if candidate.strip().lower() in folded:
            return folded[candidate.strip().lower()]
    return None


def apply_mapping(frame: pd.DataFrame, mapping: Mapping) -> tuple[pd.DataFrame, dict[str, str]]:
    """Our-field frame from a source frame, plus which source column fed each field.

    Missing optional fields are absent from the result; a required field with no
    column, constant or ``id_from`` raises :class:`MappingError` naming the fix.
    """
    columns = [c for c in frame.columns if c != "geometry"]
    out: dict[str, pd.Series] = {}
    used: dict[str, str] = {}
    for our_field, candidates in mapping.columns.items():
        source = _find_column(candidates, columns)
        if source is not None:
            out[our_field] = frame[source]
            used[our_field] = source
    for our_field, value in mapping.constants.items():
        if our_field not in out:
            out[our_field] = pd.Series(value, index=frame.index, dtype=object)
            used[our_field] = f"constant {value!r}"
    if "geometry" in frame.columns:
        out["geometry"] = frame["geometry"]
    _check_required(out, mapping, columns)
    return pd.DataFrame(out, index=frame.index), used


def _check_required(out: dict[str, pd.Series], mapping: Mapping, columns: list[str]) -> None:
    id_field = ID_FIELD[mapping.kind]
    for required in REQUIRED[mapping.kind]:
        if required in out or (required == id_field and mapping.id_from):
            continue
        tried = list(mapping.columns.get(required, ()))
        raise MappingError(
            f"no column for required field {required!r}: tried {tried}; the file's columns are {columns}; "
            f"pass --mapping with a mapping that names the right column, or rename the column to {required!r}")
