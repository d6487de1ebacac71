"""The ``grid`` command line. Each command calls library functions in order."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path

import click

from grid.errors import GridError
from grid.settings import Settings, get_settings

__all__ = ["main", "cli"]

KIND_HELP = {
    "boundaries": "community (社区) polygons with population/households",
    "grids": "grid (网格) polygons",
    "facilities": "service facilities / POIs (points)",
    "complaints": "12345 records (工单)",
    "landuse": "land-use parcels or buildings (residential ones weight population over cells)",
    "managers": "grid-manager roster (网格员花名册), CSV/XLSX: id, name, phone, grid id(s)",
    "network": "street network for walking: OSM .osm.pbf/.osm, or a line layer (replaces the stored one)",
}


def _settings(ctx: click.Context) -> Settings:
    return ctx.obj["settings"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="DuckDB file (default geodata/grid.duckdb, or $GRID_DB).")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.pass_context
def cli(ctx: click.Context, db: Path | None, verbose: int) -> None:
    """grid: life-circle coverage and grid governance for Chinese cities.

    \b
    Typical first steps:
      grid ingest boundaries communities.gpkg
      grid ingest facilities pois.csv --mapping amap-poi --crs gcj02
      grid ingest complaints 12345.xlsx
      grid loads; grid quarantine
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    ctx.ensure_object(dict)
    ctx.obj["settings"] = get_settings(db_path=db)


@cli.group()
def db() -> None:
    """Create, inspect and migrate the database file."""


@db.command("init")
@click.pass_context
def db_init(ctx: click.Context) -> None:
    """Create an empty database with the current schema (an existing one is only checked)."""
    from grid.store import ensure_database

    settings = _settings(ctx)
    click.echo(f"{ensure_database(settings.db_path, h3_res=settings.h3_res)}: {settings.db_path}")


@db.command("migrate")
@click.pass_context
def db_migrate(ctx: click.Context) -> None:
    """Upgrade an older database file to this version's schema, keeping its data."""
    from grid.store import ensure_database

    settings = _settings(ctx)
    if not settings.db_path.exists():
        raise click.ClickException(f"no database at {settings.db_path}; create one with `grid db init`")
    click.echo(f"{ensure_database(settings.db_path)}: {settings.db_path}")


@db.command("info")
@click.pass_context
def db_info(ctx: click.Context) -> None:
    """Schema version, H3 resolution and row counts."""
    from grid import queries
    from grid.store import open_reader

    settings = _settings(ctx)
    con = open_reader(settings.db_path)
    click.echo(f"database: {settings.db_path}")
    for key, value in queries.database_summary(con).items():
        click.echo(f"  {key}: {value}")
    click.echo(queries.table_counts(con).to_string(index=False))


def _print_report(report: object) -> None:
    r = report  # LoadReport
    click.echo(f"{r.kind}: {r.file_name} -> load {r.load_id} [{r.status}]")
    if r.status == "unchanged":
        click.echo(f"  {r.message}")
        return
    click.echo(f"  rows in {r.rows_in:,}  ok {r.rows_ok:,}  rejected {r.rows_rejected:,}  "
               f"(new {r.rows_inserted:,}, updated {r.rows_updated:,}, unchanged {r.rows_unchanged:,})")
    click.echo(f"  datum {r.source_crs}" + (f", encoding {r.encoding}" if r.encoding else ""))
    extras = {"kept as 'unmapped'": r.rows_unmapped, "geometry repaired": r.rows_repaired,
              "without location": r.rows_without_location}
    for label, value in extras.items():
        if value:
            click.echo(f"  {label}: {value:,}")
    if r.routing:
        click.echo(f"  complaints routed {r.rows_routed:,}, unrouted {r.rows_unrouted:,} "
                   f"(see them with: grid complaints unrouted)")
    for code, count in r.reasons.items():
        click.echo(f"  rejected for {code}: {count:,}")
    for note in r.notes:
        click.echo(f"  note: {note}")
    if r.rows_rejected:
        click.echo(f"  see the rejected rows with: grid quarantine --load {r.load_id}")


@cli.command()
@click.argument("kind", type=click.Choice(list(KIND_HELP)))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--mapping", help="Column mapping: a shipped name (amap-poi, baltimore-311...) or a YAML file.")
@click.option("--crs", help="Datum/CRS of the file: an EPSG code (4326, 4490, 4547...), gcj02 (Amap, "
                            "Tencent) or bd09 (Baidu). Overrides the file and the mapping.")
@click.option("--layer", help="Layer of a GeoPackage with several layers.")
@click.option("--encoding", help="Text encoding of a CSV/Shapefile (utf-8, utf-8-sig, gbk); detected if omitted.")
@click.option("--sheet", help="Sheet of an XLSX workbook (default: the first).")
@click.option("--study-area", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Polygon file: reject points outside it (default: the study area stored in the database).")
@click.option("--source", "source_label", help="Label of the data source stored with every row (default: the mapping name).")
@click.option("--as-of", "as_of", type=click.DateTime(), default=None,
              help="complaints: the time the records describe (local time; default their latest timestamp).")
@click.option("--force", is_flag=True, help="Load again even if this file was loaded with the same options.")
@click.pass_context
def ingest(ctx: click.Context, kind: str, file: Path, mapping: str | None, crs: str | None, layer: str | None,
           encoding: str | None, sheet: str | None, study_area: Path | None, source_label: str | None,
           as_of: object, force: bool) -> None:
    """Load FILE as KIND: boundaries, grids, facilities, complaints, landuse or managers.

    \b
    Loads of boundaries, grids, managers and complaints route every complaint again
    (point -> H3 cell -> grid -> manager, community, sub-district; else by address text).

    \b
    Formats: GeoJSON, GeoPackage, zipped Shapefile, GeoParquet, CSV (UTF-8, UTF-8-BOM, GBK) and XLSX,
    with lon/lat, a "lng,lat" location or a WKT column. Every rejected row goes to the quarantine
    table with its reason; the load is all-or-nothing and loading the same file again changes nothing.

    \b
    KIND network: the street network for walking from OSM (.osm.pbf, .osm) or a line layer; it
    replaces the stored network and clears snaps and access (run `grid access compute` again).
    """
    from tqdm import tqdm

    from grid.ingest import ingest_file, ingest_network

    if kind == "network" and (mapping or encoding or sheet or study_area):
        raise click.UsageError("--mapping, --encoding, --sheet and --study-area do not apply to a network; "
                               "use --crs, --layer, --source or --force")
    steps = ("hash", "read", "build" if kind == "network" else "validate", "write")
    with tqdm(total=len(steps), desc=f"ingest {kind}", unit="step", disable=not sys.stderr.isatty(),
              leave=False) as bar:
        def progress(step: str) -> None:
            bar.set_postfix_str(step)
            bar.update(1)

        if kind == "network":
            report = ingest_network(file, settings=_settings(ctx), source=source_label, layer=layer, crs=crs,
                                    force=force, progress=progress)
        else:
            report = ingest_file(kind, file, settings=_settings(ctx), mapping=mapping, crs=crs, layer=layer,
                                 encoding=encoding, sheet=sheet, study_area=study_area, source=source_label,
                                 as_of=_local_time(as_of, _settings(ctx)), force=force, progress=progress)
    if kind == "network":
        click.echo("\n".join(report.lines()))
    else:
        _print_report(report)


@cli.command()
@click.option("--limit", default=20, show_default=True, help="How many loads to show.")
@click.pass_context
def loads(ctx: click.Context, limit: int) -> None:
    """List loads, newest first, with their counts."""
    from grid import queries
    from grid.store import open_reader

    frame = queries.list_loads(open_reader(_settings(ctx).db_path), limit=limit)
    columns = ["load_id", "kind", "file_name", "status", "rows_in", "rows_ok", "rows_rejected", "rows_unmapped"]
    click.echo(frame[columns].to_string(index=False) if len(frame) else "no loads yet")


@cli.command()
@click.option("--load", "load_id", type=int, help="Only rows rejected by this load.")
@click.option("--limit", default=20, show_default=True)
@click.option("--raw", is_flag=True, help="Also print each row as it was read from the file (JSON).")
@click.pass_context
def quarantine(ctx: click.Context, load_id: int | None, limit: int, raw: bool) -> None:
    """Show rejected rows with their reasons (personal data stays masked)."""
    from grid import queries
    from grid.store import open_reader

    frame = queries.list_quarantine(open_reader(_settings(ctx).db_path), load_id=load_id, limit=limit)
    if frame.empty:
        click.echo("no rejected rows")
    for row in frame.itertuples():
        click.echo(f"load {row.load_id} {row.file_name} row {row.row_number}: {row.reason}")
        if raw:
            click.echo(f"    {row.raw_json}")


@cli.group("study-area")
def study_area_group() -> None:
    """The study area: points outside it are rejected at ingest."""


@study_area_group.command("set")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", default=None, help="Name shown in rejection reasons (default: file name).")
@click.pass_context
def study_area_set(ctx: click.Context, file: Path, name: str | None) -> None:
    """Store the union of FILE's polygons as the study area."""
    from grid.ingest import set_study_area

    area_m2 = set_study_area(_settings(ctx), file, name=name or file.stem)
    click.echo(f"study area '{name or file.stem}' set: {area_m2 / 1e6:,.1f} km²")


@cli.command()
@click.pass_context
def mappings(ctx: click.Context) -> None:
    """List the shipped column mappings."""
    from grid.io.mappings import KINDS, list_mappings, load_mapping

    settings = _settings(ctx)
    for name in list_mappings(settings.mappings_dir):
        for kind in KINDS:
            try:
                mapping = load_mapping(name, kind=kind, directory=settings.mappings_dir)
            except GridError:
                continue
            click.echo(f"{name:16s} {kind:11s} {mapping.description}")

# ----------------------------------------------------------------------------- life-circle access


def _step_printer(label: str) -> Callable[[str], None]:
    """A progress callback printing ``label: step`` lines on stderr."""
    def step(name: str) -> None:
        click.echo(f"{label}: {name}", err=True)
    return step


@cli.group()
def access() -> None:
    """Walking distance from every populated cell to the nearest facility of each category."""


@access.command("compute")
@click.pass_context
def access_compute(ctx: click.Context) -> None:
    """Snap cells and facilities to the network and compute cell_access (one Dijkstra per category)."""
    from grid.accessibility.compute import compute_access

    report = compute_access(_settings(ctx), progress=_step_printer("access"))
    click.echo(f"cells {report.cells:,} ({report.cells_off_network:,} off network), facilities "
               f"{report.facilities:,} ({report.facilities_off_network:,} off network), "
               f"{report.categories} categories, search bound {report.bound_m:,.0f} m")
    click.echo(f"rows written {report.rows_written:,}; build {report.seconds_build:.2f} s, "
               f"search {report.seconds_search:.2f} s")


def _print_frame(frame: object, csv_path: Path | None) -> None:
    import pandas as pd

    assert isinstance(frame, pd.DataFrame)
    if csv_path is not None:
        frame.to_csv(csv_path, index=False)
        click.echo(f"wrote {len(frame):,} rows to {csv_path}")
        return
    with pd.option_context("display.max_rows", 200, "display.width", 160, "display.max_columns", 20):
        click.echo(frame.to_string(index=False))


@cli.command()
@click.option("--circle", default="gb-15min", show_default=True,
              help="Circle id from geodata/standards/circles.csv (gb-15min, gb-10min, gb-5min, gb-block, local ones).")
@click.option("--by", type=click.Choice(["city", "subdistrict", "community"]), default="city", show_default=True)
@click.option("--category", "categories", multiple=True, help="Only these categories (repeatable).")
@click.option("--profile", default="adult", show_default=True, help="Speed profile for minute-based circles.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the table to CSV.")
@click.pass_context
def coverage(ctx: click.Context, circle: str, by: str, categories: tuple[str, ...], profile: str,
             csv_path: Path | None) -> None:
    """Population-weighted coverage % per category of a life circle."""
    from grid.coverage import coverage_summary
    from grid.store import open_reader

    settings = _settings(ctx)
    con = open_reader(settings.db_path)
    try:
        table = coverage_summary(con, settings, circle_id=circle, by=by, profile=profile,
                                 categories=list(categories) or None)
    finally:
        con.close()
    columns = ["unit_name", "category", "threshold_m", "population", "coverage_pct", "people_in_gaps",
               "coverage_65plus_pct"]
    _print_frame(table if csv_path else table[columns].round(1), csv_path)


@cli.command()
@click.option("--community", "community_id", help="One community id (default: all).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the table to CSV.")
@click.pass_context
def compliance(ctx: click.Context, community_id: str | None, csv_path: Path | None) -> None:
    """Per-community pass / partial / fail for every required facility of each GB 50180 level."""
    from grid.coverage import community_compliance
    from grid.store import open_reader

    settings = _settings(ctx)
    con = open_reader(settings.db_path)
    try:
        table = community_compliance(con, settings, community_id=community_id)
    finally:
        con.close()
    columns = ["name", "level", "category", "requirement", "threshold_m", "share_covered", "median_m", "status"]
    _print_frame(table if csv_path else table[columns].round(2), csv_path)


@cli.command()
@click.option("--circle", default="gb-5min", show_default=True)
@click.option("--category", required=True, help="Facility category, or all_required.")
@click.option("--profile", default="adult", show_default=True)
@click.option("--top", default=10, show_default=True, help="How many gap areas to list.")
@click.pass_context
def gaps(ctx: click.Context, circle: str, category: str, profile: str, top: int) -> None:
    """Contiguous gap areas (populated cells beyond the threshold) ranked by residents affected."""
    from grid.coverage import gap_areas, gap_cells
    from grid.store import open_reader

    settings = _settings(ctx)
    con = open_reader(settings.db_path)
    try:
        areas = gap_areas(gap_cells(con, settings, circle_id=circle, category=category, profile=profile))
    finally:
        con.close()
    _print_frame(areas.drop(columns="geometry").head(top).round(0), None)


def _print_demo(result: object, settings: Settings, peak_mb: float) -> None:
    import json

    r = result  # grid.demo.DemoResult
    click.echo(f"demo files in {r.files.folder} (synthetic data; see README.txt and design.json):")
    for path in r.files.all():
        click.echo(f"  {path.name:20s} {path.stat().st_size / 1e6:9.1f} MB")
    click.echo(f"generated in {r.generate_s:.1f} s; peak memory {peak_mb:,.0f} MB")
    if r.load is None:
        return
    click.echo(f"loaded into {settings.db_path} in {r.load_s:.1f} s (source 'synthetic-demo'); "
               f"study area {r.load.study_area_m2 / 1e6:,.1f} km²")
    for report in r.load.reports:
        click.echo(f"  {report.kind:11s} rows in {report.rows_in:>9,}  loaded {report.rows_ok:>9,}  "
                   f"rejected {report.rows_rejected:,}" + (f"  {report.reasons}" if report.rows_rejected else ""))
    for line in r.load.network.lines()[1:3]:
        click.echo(f"  network    {line.strip()}")
    if r.load.rejected:
        click.echo(f"warning: {r.load.rejected:,} demo rows were rejected - a bug; see `grid quarantine`", err=True)
    for gap in json.loads(r.files.design.read_text(encoding="utf-8"))["gaps"]:
        click.echo(f"designed gap: {gap['community_name']} ({gap['community_id']}), {gap['kind']}: "
                   f"no {', '.join(gap['categories'])} nearby")


@cli.command()
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Database to build (default: grid's --db, $GRID_DB or geodata/grid.duckdb).")
@click.option("--seed", type=int, default=None, help="Random seed (default 12345); the same seed gives the same files.")
@click.option("--scale", type=float, default=1.0, show_default=True,
              help="Multiplies area, residents and complaints (1: ~25 km², 250,000 residents, 50,000 complaints).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the files (default geodata/demo).")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Complaints cover the 365 days before this date (default 2026-06-30).")
@click.option("--files-only", is_flag=True, help="Write the files without loading them.")
@click.option("--replace", is_flag=True, help="Delete an existing database file first and build it afresh.")
@click.pass_context
def demo(ctx: click.Context, db_path: Path | None, seed: int | None, scale: float, out_dir: Path | None,
         as_of: object, files_only: bool, replace: bool) -> None:
    """Build the synthetic demo city (演示数据): write its files and load them through the ingestion.

    \b
    A made-up central district near Wuhan: ~30 communities, ~250 grids, streets with gated
    compounds, a river and a railway, every facility category (with designed gaps), and a year
    of 12345 records. Everything is labelled synthetic (source 'synthetic-demo').
    """
    import dataclasses
    import resource

    from tqdm import tqdm

    from grid.demo import DEFAULT_AS_OF, DEFAULT_SEED, DemoSpec, build_demo

    settings = _settings(ctx)
    if db_path is not None:
        settings = dataclasses.replace(settings, db_path=db_path)
    if not files_only and settings.db_path.exists():
        if not replace:
            raise click.ClickException(f"{settings.db_path} already exists; pass --replace to rebuild it from the "
                                       "demo, or --db for another file")
        for path in (settings.db_path, settings.db_path.with_name(settings.db_path.name + ".wal")):
            path.unlink(missing_ok=True)
    spec = DemoSpec(seed=DEFAULT_SEED if seed is None else seed, scale=scale,
                    as_of=as_of.date() if as_of is not None else DEFAULT_AS_OF)
    with tqdm(desc="demo", unit="step", disable=not sys.stderr.isatty(), leave=False) as bar:
        def progress(step: str) -> None:
            bar.set_postfix_str(step)
            bar.update(1)

        result = build_demo(settings, spec=spec, out_dir=out_dir, load=not files_only, progress=progress)
    _print_demo(result, settings, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _register_governance() -> None:
    from grid.cli_export import COMMANDS as EXPORT
    from grid.cli_governance import COMMANDS as GOVERNANCE

    for command in (*GOVERNANCE, *EXPORT):
        cli.add_command(command)


_register_governance()


def _local_time(value: object, settings: Settings) -> object:
    import pandas as pd

    return None if value is None else pd.Timestamp(value, tz=settings.default_timezone)


def main() -> None:
    """Entry point of the ``grid`` console script: errors print as one clear line."""
    try:
        cli(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except GridError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
