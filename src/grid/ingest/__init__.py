"""``grid ingest``: load a source file into the store, all-or-nothing.

Read -> map columns -> validate and convert (datum, H3) -> in one write session:
record the load, quarantine rejected rows with their reasons, upsert the rest by
natural id, refresh derived cell tables. Loading the same file with the same
options again changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import shapely

from grid.crs import geometries_to_wgs84, parse_crs
from grid.errors import ConfigError, InputError
from grid.ingest.derived import (rebuild_cells, refresh_all_communities, refresh_community_cells,
                                 refresh_grid_cells)
from grid.ingest.prepare import Context, Prepared, prepare
from grid.io import privacy
from grid.io.mappings import KINDS, Mapping, apply_mapping, load_mapping
from grid.io.readers import SourceTable, read_source
from grid.settings import Settings, get_settings
from grid.store import load_spatial, open_reader, write_session
from grid.store.loads import (begin_load, find_previous_load, finish_load, get_meta, set_meta, upsert,
                              write_notes, write_quarantine)
from grid.ingest.network import NetworkLoadReport, ingest_network
from grid.governance.refresh import refresh_governance, refresh_manager_grids

__all__ = ["LoadReport", "ingest_file", "file_sha256", "read_study_area", "set_study_area", "KINDS",
           "NetworkLoadReport", "ingest_network"]

log = logging.getLogger(__name__)

Progress = Callable[[str], None]

_PII_FIELDS = ("complainant_name", "complainant_phone", "phone")


@dataclass
class LoadReport:
    """What a load did, in counts (rows_ok + rows_rejected == rows_in)."""

    kind: str
    file_name: str
    load_id: int | None
    status: str
    rows_in: int = 0
    rows_ok: int = 0
    rows_rejected: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    rows_unmapped: int = 0
    rows_repaired: int = 0
    rows_without_location: int = 0
    rows_routed: int = 0
    rows_unrouted: int = 0
    routing: dict[str, int] = field(default_factory=dict)
    source_crs: str = ""
    encoding: str | None = None
    reasons: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    message: str = ""


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class _DbFacts:
    h3_res: int | None = None
    key_id: str | None = None
    previous_load: int | None = None
    study_area: shapely.Geometry | None = None
    study_area_name: str = ""


def _db_facts(db_path: Path, kind: str, sha: str, options_json: str) -> _DbFacts:
    if not db_path.exists():
        return _DbFacts()
    con = open_reader(db_path, spatial=False)
    try:
        res = get_meta(con, "h3_res")
        area = None
        if con.execute("SELECT count(*) FROM study_area").fetchone()[0]:
            load_spatial(con)
            area = con.execute("SELECT name, ST_AsWKB(ST_Union_Agg(geom)) FROM study_area GROUP BY name").fetchone()
        return _DbFacts(h3_res=int(res) if res else None, key_id=get_meta(con, "hash_key_id"),
                        previous_load=find_previous_load(con, kind, sha, options_json),
                        study_area=shapely.from_wkb(bytes(area[1])) if area else None,
                        study_area_name=area[0] if area else "")
    finally:
        con.close()


def read_study_area(path: Path) -> shapely.Geometry:
    """Union of the polygons in a file, in WGS-84 (datum from the file, WGS-84 if undeclared)."""
    table = read_source(path)
    if "geometry" not in table.frame:
        raise InputError(f"study area {path.name} has no geometry; give a polygon file (GeoJSON, GeoPackage...)")
    geoms = geometries_to_wgs84(table.frame["geometry"].to_numpy(), parse_crs(table.crs))
    return shapely.union_all(geoms)


def _raw_records(frame: pd.DataFrame, labels: pd.Index, used: dict[str, str]) -> list[str]:
    """Rejected source rows as JSON, with personal data masked (quarantine never holds it raw)."""
    raw = frame.loc[labels].copy()
    maskers = (("complainant_name", privacy.mask_names), ("complainant_phone", privacy.mask_phones),
               ("phone", privacy.mask_phones), ("description", privacy.mask_free_text))
    for field_name, masker in maskers:
        column = used.get(field_name)
        if column and column in raw:
            raw[column] = masker(raw[column].astype("string")).astype(object)
    if "geometry" in raw:
        raw["geometry"] = [g.wkt if g is not None else None for g in raw["geometry"]]
    raw = raw.astype(object).where(raw.notna(), None)
    return [json.dumps(rec, ensure_ascii=False, default=str) for rec in raw.to_dict("records")]


def _quarantine_rows(frame: pd.DataFrame, prepared: Prepared, used: dict[str, str]) -> pd.DataFrame:
    reasons = prepared.problems.reasons()
    return pd.DataFrame({"row_number": (reasons.index.to_numpy() + 1).astype("int64"),
                         "reason": reasons.to_numpy(dtype=object),
                         "reason_codes": prepared.problems.codes().to_numpy(dtype=object),
                         "raw_json": _raw_records(frame, reasons.index, used)})


def _note_rows(prepared: Prepared) -> pd.DataFrame:
    return pd.DataFrame({"row_number": [None if label is None else int(label) + 1 for label, _, _ in prepared.notes],
                         "record_id": [rid for _, rid, _ in prepared.notes],
                         "note": [note for _, _, note in prepared.notes]}).astype({"row_number": "Int64"})


def _reason_counts(codes: pd.Series) -> dict[str, int]:
    """Rejected rows counted per problem code (a row with two problems counts under both)."""
    exploded = codes.astype(str).str.split(",").explode()
    return {str(k): int(v) for k, v in exploded.value_counts().items()}


def _context(kind: str, mapping: Mapping, table: SourceTable, mapped: pd.DataFrame, *, crs: str | None,
             res: int, facts: _DbFacts, settings: Settings, study_area: Path | None, source: str) -> Context:
    key = None
    if kind in ("complaints", "managers") and any(f in mapped for f in _PII_FIELDS):
        key = privacy.load_or_create_key(settings.hash_key_path)
        if facts.key_id and facts.key_id != privacy.key_id(key):
            raise ConfigError(
                f"complainant hashes in {settings.db_path} were made with key id {facts.key_id}, but the key at "
                f"{settings.hash_key_path} has id {privacy.key_id(key)}; restore the original key file or point "
                "GRID_HASH_KEY_FILE at it (a new key would break the link between repeat complainants)")
    area = read_study_area(study_area) if study_area else facts.study_area
    name = study_area.name if study_area else facts.study_area_name
    return Context(mapping=mapping, crs=parse_crs(crs or mapping.crs or table.crs or "EPSG:4326"),
                   timezone=mapping.timezone or settings.default_timezone, h3_res=res,
                   categories_dir=settings.categories_dir,
                   max_repair_area_change=settings.max_invalid_repair_area_change,
                   source=source, study_area=area, study_area_name=name, hash_key=key)


_ROUTING_KINDS = ("boundaries", "grids", "complaints", "managers")


def _refresh_governance(con: duckdb.DuckDBPyConnection, kind: str, settings: Settings, report: LoadReport,
                        as_of: object) -> list[str]:
    """Re-route complaints (and re-clock them after a complaints load); return notes for the load."""
    counts = refresh_governance(con, settings, new_complaints=kind == "complaints",
                                as_of=None if as_of is None else pd.Timestamp(as_of),
                                sla=kind == "complaints")
    total = sum(counts.routing[k] for k in ("routed_to_grid", "routed_to_community", "unrouted"))
    report.routing = counts.routing
    report.rows_routed = total - counts.routing["unrouted"]
    report.rows_unrouted = counts.routing["unrouted"]
    if not total:
        return counts.notes
    r = counts.routing
    reasons = "; ".join(f"{why} ({n})" for why, n in counts.unrouted_reasons.items())
    note = (f"complaints routed: {r['routed_to_grid']} to a grid ({r['without_manager']} of them without a manager), "
            f"{r['routed_to_community']} to a community only ({r['routed_by_address']} by address text), "
            f"{r['unrouted']} unrouted" + (f": {reasons}" if reasons else ""))
    return [note, *counts.notes]


def _write(kind: str, path: Path, sha: str, options: dict[str, object], ctx: Context, prepared: Prepared,
           quarantine: pd.DataFrame, settings: Settings, report: LoadReport, as_of: object = None) -> LoadReport:
    with write_session(settings.db_path, h3_res=ctx.h3_res) as con:
        if ctx.hash_key is not None and get_meta(con, "hash_key_id") is None:
            set_meta(con, "hash_key_id", privacy.key_id(ctx.hash_key))
        load_id = begin_load(con, kind=kind, file_name=path.name, file_path=str(path.resolve()), sha256=sha,
                             options_json=_fingerprint(options), source_crs=ctx.crs, encoding=report.encoding)
        write_quarantine(con, load_id, quarantine)
        write_notes(con, load_id, _note_rows(prepared))
        counts, changed = upsert(con, kind, prepared.rows, load_id)
        spread = _refresh_derived(con, kind, prepared, changed, ctx.h3_res)
        notes = [spread] if spread else []
        if kind in _ROUTING_KINDS:
            notes += _refresh_governance(con, kind, settings, report, as_of)
        if notes:
            report.notes.extend(notes)
            write_notes(con, load_id, pd.DataFrame({"row_number": [None] * len(notes),
                                                    "record_id": [None] * len(notes), "note": notes}))
        report.load_id, report.rows_inserted = load_id, counts.inserted
        report.rows_updated, report.rows_unchanged = counts.updated, counts.unchanged
        report.message = (f"{report.rows_ok} of {report.rows_in} rows loaded ({counts.inserted} new, "
                          f"{counts.updated} updated, {counts.unchanged} unchanged), {report.rows_rejected} rejected")
        report.status = finish_load(con, load_id, _counts(report), report.message)
    return report


def _refresh_derived(con: duckdb.DuckDBPyConnection, kind: str, prepared: Prepared, changed: list[str],
                     res: int) -> str | None:
    """Recompute cell tables after a load; return a note on how population was spread, if it was."""
    communities = by_floor = 0
    if kind == "boundaries" and changed:
        _, by_floor = refresh_community_cells(con, prepared.rows, prepared.geometries, changed, res)
        rebuild_cells(con, res)
        communities = len(changed)
    elif kind == "landuse" and changed:
        communities, by_floor = refresh_all_communities(con, res)
    elif kind == "grids":
        refresh_grid_cells(con, prepared.rows, prepared.geometries, changed, res)
    elif kind == "managers":
        refresh_manager_grids(con)
    if not communities:
        return None
    return (f"population and households spread over H3 cells for {communities} communities: {by_floor} by "
            f"residential floor area (landuse), {communities - by_floor} by area")


def _fingerprint(options: dict[str, object]) -> str:
    return json.dumps(options, ensure_ascii=False, sort_keys=True)


def _counts(report: LoadReport) -> dict[str, int]:
    return {k: v for k, v in vars(report).items() if k.startswith("rows_")}


def ingest_file(kind: str, path: Path | str, *, settings: Settings | None = None, mapping: str | None = None,
                crs: str | int | None = None, layer: str | None = None, encoding: str | None = None,
                sheet: str | None = None, study_area: Path | None = None, source: str | None = None,
                as_of: object = None, force: bool = False, progress: Progress | None = None) -> LoadReport:
    """Load ``path`` as ``kind`` (boundaries, grids, facilities, complaints, landuse, managers).

    Returns a :class:`LoadReport`; rejected rows are in ``quarantine`` with their
    reasons. The same file with the same options is loaded once (status
    'unchanged' afterwards) unless ``force``. Loads of boundaries, grids,
    complaints and managers re-route every complaint in the same transaction;
    ``as_of`` (complaints) is the time the records describe, default their
    latest timestamp.
    """
    settings = settings or get_settings()
    step = progress or (lambda _name: None)
    if kind not in KINDS:
        raise InputError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    path = Path(path)
    if not path.exists():
        raise InputError(f"no file at {path}; check the path")
    step("hash")
    sha = file_sha256(path)
    the_mapping = load_mapping(mapping, kind=kind, directory=settings.mappings_dir)
    options = {"mapping": the_mapping.name, "crs": None if crs is None else str(crs), "layer": layer,
               "encoding": encoding, "sheet": sheet, "study_area": str(study_area) if study_area else None,
               "source": source, **({"as_of": str(as_of)} if as_of is not None else {})}
    facts = _db_facts(settings.db_path, kind, sha, _fingerprint(options))
    if facts.previous_load is not None and not force:
        return LoadReport(kind=kind, file_name=path.name, load_id=facts.previous_load, status="unchanged",
                          message=f"{path.name} was already loaded with these options (load {facts.previous_load}); "
                                  "nothing changed. Use --force to load it again")
    step("read")
    table = read_source(path, layer=layer, encoding=encoding, sheet=sheet)
    frame = table.frame.reset_index(drop=True)
    mapped, used = apply_mapping(frame, the_mapping)
    ctx = _context(kind, the_mapping, table, mapped, crs=crs, res=facts.h3_res or settings.h3_res, facts=facts,
                   settings=settings, study_area=study_area, source=source or the_mapping.name)
    step("validate")
    prepared = prepare(kind, mapped, ctx)
    quarantine = _quarantine_rows(frame, prepared, used)
    report = LoadReport(kind=kind, file_name=path.name, load_id=None, status="running", rows_in=len(frame),
                        rows_ok=len(prepared.rows), rows_rejected=len(quarantine), source_crs=ctx.crs,
                        encoding=table.encoding, reasons=_reason_counts(quarantine["reason_codes"]),
                        notes=[n for _, _, n in prepared.notes], **prepared.counts)
    step("write")
    report = _write(kind, path, sha, options, ctx, prepared, quarantine, settings, report, as_of)
    log.info("load %s of %s: %s", report.load_id, path.name, report.message)
    return report


def set_study_area(settings: Settings, path: Path, *, name: str) -> float:
    """Replace the stored study area with the polygons of ``path``; return its geodesic area in m²."""
    import pyproj

    area = read_study_area(path)
    with write_session(settings.db_path, h3_res=settings.h3_res) as con:
        con.execute("DELETE FROM study_area")
        con.execute("INSERT INTO study_area VALUES (?, ?, now(), ST_GeomFromWKB(?))",
                    [name, str(path), shapely.to_wkb(area)])
    return abs(pyproj.Geod(ellps="WGS84").geometry_area_perimeter(area)[0])
