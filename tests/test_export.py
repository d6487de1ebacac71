"""grid.io.export and ``grid export``: every format read back with geopandas/pandas equals DuckDB.

The reference for each export is DuckDB itself (the same rows fetched with SQL and ST_AsWKB),
and for H3 hexagons h3-py's ``cell_to_boundary``; a separate test opens the file with plain
``duckdb`` (no grid helpers) and checks that spatial SQL agrees with shapely over the export.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner

from grid.cli_export import COMMANDS, export_command
from grid.errors import InputError
from grid.io.export import export, read_export_source, write_export
from grid.store import open_reader, query_frame

SUFFIXES = {"geoparquet": ".parquet", "gpkg": ".gpkg", "geojson": ".geojson", "csv": ".csv", "xlsx": ".xlsx"}
GEO_FORMATS = ("geoparquet", "gpkg", "geojson")

# complaints per grid with the grid's polygon: text (Chinese names), a HUGEINT sum, an aware
# timestamp that is NULL for grids without complaints, an H3 cell (uint64) and a geometry
QUERY = """
-- complaints per grid
SELECT g.grid_id, g.name, count(c.complaint_id) AS complaints, sum(c.reopen_count) AS reopened,
       max(c.received_at) AS last_received_at, min(c.h3) AS first_cell, g.geom
FROM grids g LEFT JOIN complaint_routes r USING (grid_id) LEFT JOIN complaints c USING (complaint_id)
GROUP BY ALL
"""

# source -> (key column, geometry column in the database or None)
SOURCES = {"communities": ("community_id", "geom"), "facilities": ("facility_id", "geom"),
           "cells": ("h3", None), QUERY: ("grid_id", "geom")}


@pytest.fixture(scope="module")
def reader(demo_db):
    settings, _ = demo_db
    con = open_reader(settings.db_path)
    yield con
    con.close()


def _expected(con, source: str) -> pd.DataFrame:
    """The source's rows straight from DuckDB, geometry as WKB -> shapely, sorted by key."""
    key, geom = SOURCES[source]
    sql = source if source == QUERY else f"SELECT * FROM {source}"
    if geom is not None:
        sql = f"SELECT * REPLACE (ST_AsWKB({geom}) AS {geom}) FROM ({sql})"
    frame = query_frame(con, sql)
    if geom is not None:
        frame[geom] = shapely.from_wkb(frame[geom].to_numpy(dtype=object))
    return frame.sort_values(key, kind="stable").reset_index(drop=True)


def _hexagon(cell: int) -> shapely.Polygon:
    """Reference hexagon of an H3 cell from h3-py (lat/lng pairs turned to lon/lat)."""
    return shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(h3.int_to_str(int(cell)))])


def _read_back(path: Path, fmt: str, text_columns: list[str]) -> pd.DataFrame:
    if fmt == "geoparquet":
        try:
            return gpd.read_parquet(path)
        except ValueError:  # plain Parquet: no geometry metadata
            return pd.read_parquet(path)
    if fmt in ("gpkg", "geojson"):
        return gpd.read_file(path, engine="pyogrio")
    as_text = {c: str for c in text_columns}
    if fmt == "csv":
        return pd.read_csv(path, encoding="utf-8-sig", dtype=as_text)
    return pd.read_excel(path, engine="openpyxl", dtype=as_text)


def _kind(values: pd.Series) -> str:
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return "instant"
    if pd.api.types.is_unsigned_integer_dtype(values.dtype):
        return "h3"
    if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_numeric_dtype(values.dtype):
        return "number"
    if values.map(lambda v: isinstance(v, shapely.Geometry)).any():
        return "geometry"
    if values.map(lambda v: hasattr(v, "as_tuple")).any():  # Decimal (a HUGEINT sum)
        return "number"
    return "text"


def _assert_column_equal(got: pd.Series, want: pd.Series, kind: str, fmt: str) -> None:
    name = want.name
    if kind == "h3":
        if fmt != "geoparquet":
            got = got.map(lambda x: pd.NA if pd.isna(x) else int(x, 16))
        assert [None if pd.isna(x) else int(x) for x in got] == [None if pd.isna(x) else int(x) for x in want], name
    elif kind == "instant":
        instants = pd.to_datetime(got, utc=True, format="ISO8601").astype("datetime64[ns, UTC]")
        assert instants.equals(want.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")), name
    elif kind == "number":
        np.testing.assert_allclose(pd.to_numeric(got).astype(float), pd.to_numeric(want).astype(float),
                                   rtol=1e-9, atol=0, equal_nan=True, err_msg=str(name))
    elif kind == "geometry":
        shapes = shapely.from_wkt(got.to_numpy(dtype=object)) if fmt in ("csv", "xlsx") else got.to_numpy()
        assert shapely.equals_exact(shapes, want.to_numpy(dtype=object), tolerance=1e-9).all(), name
    else:
        missing = ("",) if fmt in ("csv", "xlsx") else ()  # CSV/XLSX cannot tell '' from NULL
        norm = lambda s: [None if pd.isna(v) or v in missing else v for v in s]  # noqa: E731
        assert norm(got) == norm(want), name


def _assert_same(got: pd.DataFrame, want: pd.DataFrame, fmt: str, geometry: str | None) -> None:
    assert len(got) == len(want)
    if fmt in GEO_FORMATS:
        assert isinstance(got, gpd.GeoDataFrame) and got.crs.to_epsg() == 4326
        got = got.rename_geometry(geometry) if got.active_geometry_name != geometry else got
        got = pd.DataFrame(got)
    assert [c for c in got.columns if c != geometry] == [c for c in want.columns if c != geometry]
    assert (geometry in got.columns) == (geometry is not None)
    key = want.columns[0]
    order = got[key].map(lambda x: int(x, 16)) if _kind(want[key]) == "h3" and fmt != "geoparquet" else got[key]
    got = got.iloc[np.argsort(order.to_numpy(dtype=object), kind="stable")].reset_index(drop=True)
    for column in want.columns:
        _assert_column_equal(got[column], want[column], _kind(want[column]), fmt)


@pytest.mark.parametrize("fmt", list(SUFFIXES))
@pytest.mark.parametrize("source", list(SOURCES), ids=["communities", "facilities", "cells", "query"])
def test_every_format_reads_back_equal_to_duckdb(reader, tmp_path, source, fmt) -> None:
    key, geom = SOURCES[source]
    hexagons = geom is None and fmt in GEO_FORMATS
    out = tmp_path / f"export{SUFFIXES[fmt]}"
    report = export(reader, source, out, h3_geometry=hexagons)

    want = _expected(reader, source)
    geometry = geom if geom else ("geometry" if hexagons else None)
    if hexagons:
        want["geometry"] = [_hexagon(c) for c in want["h3"]]
    text_columns = [c for c in want.columns if _kind(want[c]) in ("text", "h3", "instant", "geometry")]
    _assert_same(_read_back(out, fmt, text_columns), want, fmt, geometry)
    assert (report.rows, report.geometry_column, report.path) == (len(want), geometry, out)
    assert report.format == (fmt if fmt != "geoparquet" or geometry else "parquet")
    assert list(tmp_path.iterdir()) == [out]  # no temporary files left behind


def test_parquet_keeps_uint64_and_time_zones(reader, tmp_path) -> None:
    export(reader, QUERY, tmp_path / "q.parquet")
    import pyarrow.parquet as pq

    schema = pq.read_schema(tmp_path / "q.parquet")
    assert str(schema.field("first_cell").type) == "uint64"
    assert str(schema.field("last_received_at").type) == "timestamp[us, tz=Asia/Shanghai]"
    assert b"geo" in schema.metadata  # GeoParquet metadata


def test_text_formats_write_h3_as_hex_and_instants_with_offset(reader, tmp_path) -> None:
    export(reader, "SELECT h3, received_at FROM complaints WHERE h3 IS NOT NULL ORDER BY complaint_id LIMIT 1",
           tmp_path / "c.csv")
    raw = (tmp_path / "c.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel
    h3_hex, received = raw.decode("utf-8-sig").splitlines()[1].split(",")
    cell, at = reader.execute("SELECT h3, received_at FROM complaints WHERE h3 IS NOT NULL "
                              "ORDER BY complaint_id LIMIT 1").fetchone()
    assert int(h3_hex, 16) == cell and h3.is_valid_cell(h3_hex)
    assert received.endswith("+08:00") and pd.Timestamp(received) == pd.Timestamp(at)


def test_gpkg_layer_defaults_to_the_table_name_or_query(reader, tmp_path) -> None:
    export(reader, "communities", tmp_path / "a.gpkg")
    export(reader, QUERY, tmp_path / "b.gpkg")
    export(reader, "facilities", tmp_path / "c.gpkg", layer="设施")
    assert [pyogrio.list_layers(tmp_path / n)[0][0] for n in ("a.gpkg", "b.gpkg", "c.gpkg")] == \
        ["communities", "query", "设施"]
    assert pyogrio.read_info(tmp_path / "a.gpkg")["geometry_name"] == "geom"


def test_xlsx_sheet_name_and_text_never_becomes_a_formula(reader, tmp_path) -> None:
    export(reader, "SELECT '=1+1' AS formula_like, '社区' AS name", tmp_path / "x.xlsx", layer="诉求")
    book = openpyxl.load_workbook(tmp_path / "x.xlsx")
    assert book.sheetnames == ["诉求"]
    cell = book["诉求"]["A2"]
    assert (cell.value, cell.data_type) == ("=1+1", "s")


def test_several_geometry_columns_first_is_geometry_others_wkt(reader) -> None:
    frame = read_export_source(reader, "SELECT community_id, ST_Centroid(geom) AS centre, geom FROM communities")
    assert frame.active_geometry_name == "centre"
    assert shapely.equals_exact(shapely.from_wkt(frame["geom"].to_numpy(dtype=object)),
                                _expected(reader, "communities")["geom"].to_numpy(), tolerance=0).all()


def test_pivot_and_awkward_types_export(reader, tmp_path) -> None:
    pivot = read_export_source(reader, "PIVOT communities ON district USING count(*) GROUP BY subdistrict")
    assert pivot.iloc[:, 1:].to_numpy().sum() == reader.execute("SELECT count(*) FROM communities").fetchone()[0]
    export(reader, "SELECT INTERVAL 3 DAY AS i, [1, 2] AS l, 'ab'::BLOB AS b, DATE '2024-05-01' AS d",
           tmp_path / "t.csv")
    assert pd.read_csv(tmp_path / "t.csv", encoding="utf-8-sig", dtype=str).iloc[0].tolist() == \
        ["3 days", "[1, 2]", "6162", "2024-05-01"]


def test_unknown_table_is_refused_with_the_list(reader, tmp_path) -> None:
    with pytest.raises(InputError, match=r"unknown table 'comunities'; tables are meta, loads, .*communities"):
        export(reader, "comunities", tmp_path / "x.csv")


@pytest.mark.parametrize("statement, message", [
    ("DELETE FROM communities", r"a query starting with 'DELETE' is refused"),
    ("-- tidy up\n/* really */ DROP TABLE communities", r"a query starting with 'DROP' is refused"),
    ("SELECT 1; DELETE FROM communities", r"exactly one read-only statement \(SELECT\); got SELECT, DELETE"),
    ("WITH c AS (SELECT 1) DELETE FROM communities", r"exactly one read-only statement \(SELECT\); got DELETE"),
])
def test_write_statements_are_refused_and_the_database_is_unchanged(demo_db, reader, tmp_path, statement,
                                                                   message) -> None:
    settings, _ = demo_db
    before = hashlib.sha256(settings.db_path.read_bytes()).hexdigest()
    rows = reader.execute("SELECT count(*) FROM communities").fetchone()
    with pytest.raises(InputError, match=message):
        export(reader, statement, tmp_path / "x.csv")
    assert reader.execute("SELECT count(*) FROM communities").fetchone() == rows
    assert hashlib.sha256(settings.db_path.read_bytes()).hexdigest() == before
    assert not list(tmp_path.iterdir())


def test_geo_format_without_geometry_is_refused(reader, tmp_path) -> None:
    with pytest.raises(InputError, match=r"gpkg needs geometry and this result has none .* "
                                         r"export to \.csv or \.xlsx.*--h3-hexagons"):
        export(reader, "cell_access", tmp_path / "x.gpkg")
    with pytest.raises(InputError, match=r"--h3-hexagons needs an 'h3' column; the columns are key, value"):
        export(reader, "meta", tmp_path / "x.geojson", h3_geometry=True)
    assert not list(tmp_path.iterdir())


def test_parquet_without_geometry_is_plain_parquet(reader, tmp_path) -> None:
    report = export(reader, "meta", tmp_path / "meta.parquet")
    assert report.format == "parquet" and report.geometry_column is None
    assert pd.read_parquet(tmp_path / "meta.parquet").equals(query_frame(reader, "SELECT * FROM meta"))


def test_unknown_suffix_and_format_are_refused(reader, tmp_path) -> None:
    with pytest.raises(InputError, match=r"cannot tell the export format from the file name 'x\.txt'; "
                                         r"end it with one of \.parquet, .*--format"):
        export(reader, "communities", tmp_path / "x.txt")
    with pytest.raises(InputError, match=r"unknown export format 'shp'"):
        export(reader, "communities", tmp_path / "x.shp", fmt="shp")
    export(reader, "communities", tmp_path / "x.txt", fmt="csv")  # --format overrides the suffix
    rows = reader.execute("SELECT count(*) FROM communities").fetchone()[0]
    assert len(pd.read_csv(tmp_path / "x.txt", encoding="utf-8-sig")) == rows


def test_failed_write_leaves_the_old_file_and_no_temporary_file(reader, tmp_path) -> None:
    out = tmp_path / "x.xlsx"
    out.write_bytes(b"old")
    with pytest.raises(InputError, match=r"column 't' holds a value of 40,000 characters; an Excel cell holds "
                                         r"32,767 at most"):
        export(reader, "SELECT repeat('x', 40000) AS t", out)
    assert out.read_bytes() == b"old" and list(tmp_path.iterdir()) == [out]


def test_write_export_refuses_layer_for_csv(reader, tmp_path) -> None:
    frame = read_export_source(reader, "meta")
    with pytest.raises(InputError, match=r"--layer names a GeoPackage layer or an Excel sheet; csv has none"):
        write_export(frame, tmp_path / "meta.csv", layer="x")


def test_cli_exports_a_table_and_a_query(demo_db, reader, tmp_path) -> None:
    settings, _ = demo_db
    assert COMMANDS == (export_command,) and export_command.name == "export"
    runner = CliRunner()
    result = runner.invoke(export_command, ["facilities", str(tmp_path / "f.gpkg")], obj={"settings": settings})
    assert result.exit_code == 0, result.output
    rows = reader.execute("SELECT count(*) FROM facilities").fetchone()[0]
    assert f"{rows:,} rows" in result.output and str(tmp_path / "f.gpkg") in result.output
    assert len(gpd.read_file(tmp_path / "f.gpkg")) == rows

    result = runner.invoke(export_command, ["SELECT h3, count(*) AS complaints FROM complaints "
                                            "WHERE h3 IS NOT NULL GROUP BY h3", str(tmp_path / "hot.json"),
                                            "--h3-hexagons", "--format", "geojson"], obj={"settings": settings})
    assert result.exit_code == 0, result.output
    hot = gpd.read_file(tmp_path / "hot.json")
    assert hot["complaints"].sum() == reader.execute(
        "SELECT count(*) FROM complaints WHERE h3 IS NOT NULL").fetchone()[0]

    result = runner.invoke(export_command, ["DELETE FROM facilities", str(tmp_path / "x.csv")],
                           obj={"settings": settings})
    assert isinstance(result.exception, InputError)  # grid's main() prints it as one line


def test_cli_help_reads_well() -> None:
    text = CliRunner().invoke(export_command, ["--help"], terminal_width=100).output
    for phrase in ("grid export communities communities.gpkg", "SELECT g.grid_id", ".xlsx", ".geojson",
                   "--h3-hexagons", "full access", "grid.queries"):
        assert phrase in text


def test_plain_duckdb_with_the_spatial_wheel_gives_the_same_answers(demo_db, reader, tmp_path) -> None:
    """What docs/schema.md 'Exporting tables' tells analysts: plain duckdb + LOAD of the wheel's file."""
    import duckdb
    import duckdb_extension_spatial
    from pyproj import Geod

    settings, _ = demo_db
    ext = Path(duckdb_extension_spatial.__file__).parent / "extensions" / f"v{duckdb.__version__}" / \
        "spatial.duckdb_extension"
    con = duckdb.connect(str(settings.db_path), read_only=True)
    try:
        con.execute(f"LOAD '{ext}'")
        con.execute("SET geometry_always_xy = true")  # lon/lat order for the _Spheroid functions
        plain = con.execute(
            "SELECT c.community_id, count(f.facility_id) AS facilities, ST_Area_Spheroid(c.geom) AS area_m2 "
            "FROM communities c LEFT JOIN facilities f ON ST_Within(f.geom, c.geom) GROUP BY ALL "
            "ORDER BY 1").df()
    finally:
        con.close()

    export(reader, "communities", tmp_path / "c.parquet")
    export(reader, "facilities", tmp_path / "f.parquet")
    communities, facilities = gpd.read_parquet(tmp_path / "c.parquet"), gpd.read_parquet(tmp_path / "f.parquet")
    joined = gpd.sjoin(facilities, communities[["community_id", "geom"]], predicate="within")
    counts = joined.groupby("community_id").size().reindex(communities["community_id"], fill_value=0)
    ours = pd.DataFrame({"community_id": communities["community_id"], "facilities": counts.to_numpy(),
                         "area_m2": [abs(Geod(ellps="WGS84").geometry_area_perimeter(g)[0])
                                     for g in communities.geometry]}).sort_values("community_id")
    assert plain["facilities"].sum() > 0
    assert plain["facilities"].tolist() == ours["facilities"].tolist()
    np.testing.assert_allclose(plain["area_m2"], ours["area_m2"], rtol=1e-9)
    np.testing.assert_allclose(plain["area_m2"], communities.sort_values("community_id")["area_m2"], rtol=1e-9)
