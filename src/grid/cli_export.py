"""``grid export``: write a table or a query result to GeoParquet, GeoPackage, GeoJSON, CSV or XLSX.

Registered on the main group by :mod:`grid.cli` (``COMMANDS``); the command calls
:func:`grid.io.export.export` on a read-only connection.
"""

from __future__ import annotations

from pathlib import Path

import click

from grid.settings import Settings

__all__ = ["COMMANDS", "export_command"]

_FORMAT_CHOICES = ("geoparquet", "parquet", "gpkg", "geojson", "csv", "xlsx")


@click.command("export", short_help="Write a table or a query result to GeoParquet, GPKG, GeoJSON, CSV or XLSX.")
@click.argument("source")
@click.argument("out", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(_FORMAT_CHOICES, case_sensitive=False),
              help="File format; default from the suffix of OUT.")
@click.option("--layer", help="GeoPackage layer (default the table name, or 'query'), GeoJSON name, "
                              "or Excel sheet (default 'data').")
@click.option("--h3-hexagons", "h3_hexagons", is_flag=True,
              help="For a result without geometry but with an h3 column: use the H3 cell hexagons as geometry.")
@click.pass_context
def export_command(ctx: click.Context, source: str, out: Path, fmt: str | None, layer: str | None,
                   h3_hexagons: bool) -> None:
    """Write SOURCE (a table name or a read-only SQL query) to the file OUT.

    \b
    Formats, chosen by the suffix of OUT or --format:
      .parquet .geoparquet  GeoParquet (plain Parquet for a result without geometry)
      .gpkg                 GeoPackage (needs geometry)
      .geojson .json        GeoJSON (needs geometry)
      .csv                  UTF-8 with BOM for Excel; geometry as WKT text
      .xlsx                 one Excel sheet (<= 1,048,575 rows); geometry as WKT text
    Geometry is WGS-84 (EPSG:4326). H3 cells (uint64) stay integers in Parquet and are
    written as hex strings elsewhere (int(x, 16) restores them); times with a time zone
    become ISO 8601 text with the offset outside Parquet. OUT is replaced as a whole.

    \b
    Examples:
      grid export communities communities.gpkg
      grid export facilities facilities.geojson
      grid export cells cells.parquet --h3-hexagons
      grid export "SELECT g.grid_id, g.name, count(r.complaint_id) AS complaints, g.geom
                   FROM grids g LEFT JOIN complaint_routes r USING (grid_id) GROUP BY ALL"
                  complaints_per_grid.gpkg --layer complaints_per_grid
      grid export "SELECT h3, count(*) AS complaints FROM complaints GROUP BY h3"
                  complaints_per_cell.geojson --h3-hexagons
      grid export cell_access cell_access.xlsx --layer access

    \b
    The query must be one read-only statement (SELECT, WITH, FROM, VALUES, PIVOT); the
    database is opened read-only, so nothing can change it. Tables and columns are in
    docs/schema.md. This command reads the database file directly, i.e. with full access
    (access to the file is admin access): it applies no role or grid restrictions. Exports
    for app users, limited to what their role may see, are in grid.queries.
    """
    from grid.io.export import export
    from grid.store import open_reader

    settings: Settings = ctx.obj["settings"]
    con = open_reader(settings.db_path)
    try:
        report = export(con, source, out, fmt=fmt, layer=layer, h3_geometry=h3_hexagons)
    finally:
        con.close()
    geometry = f", geometry column {report.geometry_column}" if report.geometry_column else ", no geometry"
    click.echo(f"{report.rows:,} rows, {len(report.columns)} columns{geometry} -> {report.path} ({report.format})")


COMMANDS = (export_command,)
