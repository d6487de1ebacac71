"""Tests of grid.io.readers through ``ingest_file('facilities', ...)``: one hand-written
table of five Wuhan facilities, written with the real writers in every supported
format, encoding and datum, must land in the store as the same rows (names,
categories from geodata/categories/facility_categories.csv, lon/lat, H3 from h3-py)."""

from __future__ import annotations

import codecs
import zipfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from grid.crs import offset_m, wgs84_to_bd09, wgs84_to_gcj02
from grid.errors import EncodingError, InputError
from grid.ingest import LoadReport, ingest_file
from grid.io.readers import detect_encoding, read_source
from grid.settings import Settings
from grid.store import open_reader

RES = 10

# Hand-written fixture: id, Chinese name, raw category (as a planner types it), address, lon, lat (WGS-84).
FACILITIES = pd.DataFrame({
    "编号": ["F01", "F02", "F03", "F04", "F05"],
    "名称": ["江汉区实验幼儿园", "江岸区育才小学", "汉口社区卫生服务中心", "武昌民生大药房", "青山区和平菜市场"],
    "类别": ["幼儿园", "小学", "社区卫生服务中心", "药店", "菜市场或生鲜超市"],
    "地址": ["武汉市江汉区新华路1号", "武汉市江岸区胜利街2号", "武汉市江岸区中山大道3号", "武汉市武昌区中南路4号",
           "武汉市青山区和平大道5号"],
    "经度": [114.27012345678901, 114.29987654321012, 114.30555555555555, 114.33333333333331, 114.39876543210987],
    "纬度": [30.58123456789012, 30.59876543210987, 30.60111111111111, 30.54444444444444, 30.62345678901234],
})
# The same categories resolved by hand from facility_categories.csv (name_zh -> category).
EXPECTED_CATEGORIES = ["kindergarten", "primary_school", "community_health_center", "pharmacy", "food_market"]

Writer = Callable[[Path], tuple[Path, dict[str, object]]]


# --------------------------------------------------------------------------- helpers


def _points(frame: pd.DataFrame, *, crs: int = 4326) -> gpd.GeoDataFrame:
    attrs = frame.drop(columns=["经度", "纬度"])
    return gpd.GeoDataFrame(attrs, geometry=gpd.points_from_xy(frame["经度"], frame["纬度"]), crs=crs)


def _stored(settings: Settings) -> pd.DataFrame:
    con = open_reader(settings.db_path)
    try:
        return con.execute("SELECT facility_id, name, category, source_category, address, lon, lat, h3 "
                           "FROM facilities ORDER BY facility_id").df()
    finally:
        con.close()


def _assert_is_fixture(stored: pd.DataFrame, *, lon_lat_tol: float = 1e-9) -> None:
    """Stored facilities equal the hand-written table, H3 cells computed by h3-py."""
    assert stored["facility_id"].tolist() == FACILITIES["编号"].tolist()
    assert stored["name"].tolist() == FACILITIES["名称"].tolist()
    assert stored["category"].tolist() == EXPECTED_CATEGORIES
    assert stored["source_category"].tolist() == FACILITIES["类别"].tolist()
    assert stored["address"].tolist() == FACILITIES["地址"].tolist()
    np.testing.assert_allclose(stored["lon"], FACILITIES["经度"], rtol=0, atol=lon_lat_tol)
    np.testing.assert_allclose(stored["lat"], FACILITIES["纬度"], rtol=0, atol=lon_lat_tol)
    expected_h3 = [h3.str_to_int(h3.latlng_to_cell(lat, lon, RES))
                   for lon, lat in zip(FACILITIES["经度"], FACILITIES["纬度"])]
    assert [int(v) for v in stored["h3"]] == expected_h3


# --------------------------------------------------------------------------- writers (one per format)


def _geojson(tmp: Path) -> tuple[Path, dict[str, object]]:
    path = tmp / "facilities.geojson"
    _points(FACILITIES).to_file(path, driver="GeoJSON")
    return path, {}


def _gpkg(tmp: Path) -> tuple[Path, dict[str, object]]:
    path = tmp / "facilities.gpkg"
    _points(FACILITIES).to_file(path, layer="facilities", driver="GPKG")
    _points(FACILITIES.head(2)).to_file(path, layer="draft", driver="GPKG")  # a second, different layer
    return path, {"layer": "facilities"}


def _zipped_shapefile(tmp: Path, *, encoding: str, with_cpg: bool) -> Path:
    folder = tmp / f"shp-{encoding}"
    folder.mkdir()
    _points(FACILITIES).to_file(folder / "facilities.shp", encoding=encoding)
    path = tmp / f"facilities-{encoding}.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for part in sorted(folder.iterdir()):
            if with_cpg or part.suffix != ".cpg":
                archive.write(part, part.name)
    return path


def _shapefile_zip(tmp: Path) -> tuple[Path, dict[str, object]]:
    return _zipped_shapefile(tmp, encoding="utf-8", with_cpg=True), {}


def _geoparquet(tmp: Path) -> tuple[Path, dict[str, object]]:
    path = tmp / "facilities.parquet"
    _points(FACILITIES).to_parquet(path)
    return path, {}


def _csv_lonlat(tmp: Path) -> tuple[Path, dict[str, object]]:
    path = tmp / "facilities.csv"
    FACILITIES.to_csv(path, index=False, encoding="utf-8")
    return path, {}


def _csv_wkt(tmp: Path) -> tuple[Path, dict[str, object]]:
    path = tmp / "facilities_wkt.csv"
    frame = FACILITIES.drop(columns=["经度", "纬度"])
    frame["wkt"] = [f"POINT ({lon!r} {lat!r})" for lon, lat in zip(FACILITIES["经度"], FACILITIES["纬度"])]
    frame.to_csv(path, index=False, encoding="utf-8")
    return path, {}


def _csv_location(tmp: Path) -> tuple[Path, dict[str, object]]:
    path = tmp / "facilities_location.csv"
    frame = FACILITIES.drop(columns=["经度", "纬度"])
    frame["坐标"] = [f"{lon!r},{lat!r}" for lon, lat in zip(FACILITIES["经度"], FACILITIES["纬度"])]
    frame.to_csv(path, index=False, encoding="utf-8")
    return path, {}


def _xlsx(tmp: Path) -> tuple[Path, dict[str, object]]:
    path = tmp / "facilities.xlsx"
    FACILITIES.to_excel(path, index=False, sheet_name="设施", engine="openpyxl")
    return path, {}


WRITERS: dict[str, Writer] = {
    "geojson": _geojson, "gpkg": _gpkg, "shapefile-zip": _shapefile_zip, "geoparquet": _geoparquet,
    "csv-lonlat": _csv_lonlat, "csv-wkt": _csv_wkt, "csv-location": _csv_location, "xlsx": _xlsx,
}


# --------------------------------------------------------------------------- formats


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_every_format_stores_the_same_facilities(fmt: str, tmp_path: Path, settings: Settings) -> None:
    path, options = WRITERS[fmt](tmp_path)
    report = ingest_file("facilities", path, settings=settings, **options)
    assert (report.status, report.rows_in, report.rows_ok, report.rows_rejected) == ("loaded", 5, 5, 0)
    assert report.rows_unmapped == 0
    _assert_is_fixture(_stored(settings))


def test_geopackage_with_two_layers_needs_layer(tmp_path: Path, settings: Settings) -> None:
    path, _ = _gpkg(tmp_path)
    with pytest.raises(InputError, match=r"has 2 layers \['facilities', 'draft'\]; choose one with --layer"):
        ingest_file("facilities", path, settings=settings)
    assert not settings.db_path.exists()
    report = ingest_file("facilities", path, settings=settings, layer="draft")
    assert report.rows_ok == 2
    assert _stored(settings)["facility_id"].tolist() == ["F01", "F02"]


def test_xlsx_sheet_by_name_and_unknown_sheet(tmp_path: Path, settings: Settings) -> None:
    path, _ = _xlsx(tmp_path)
    with pytest.raises(InputError, match="pass --sheet"):
        read_source(path, sheet="无此表")
    report = ingest_file("facilities", path, settings=settings, sheet="设施")
    assert report.rows_ok == 5
    _assert_is_fixture(_stored(settings), lon_lat_tol=1e-12)


# --------------------------------------------------------------------------- encodings


@pytest.mark.parametrize(("written", "detected"), [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030")])
def test_csv_encodings_are_detected(written: str, detected: str, tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / f"facilities-{written}.csv"
    FACILITIES.to_csv(path, index=False, encoding=written)
    report = ingest_file("facilities", path, settings=settings)
    assert report.encoding == detected
    _assert_is_fixture(_stored(settings))


@pytest.mark.parametrize(("written", "given", "named"), [
    ("gbk", "utf-8", "utf-8"), ("gbk", "utf-8-sig", "utf-8-sig"), ("utf-8", "gbk", "gb18030")])
def test_explicit_wrong_encoding_is_an_encoding_error(written: str, given: str, named: str, tmp_path: Path,
                                                       settings: Settings) -> None:
    path = tmp_path / "facilities.csv"
    FACILITIES.to_csv(path, index=False, encoding=written)
    with pytest.raises(EncodingError, match=rf"cannot be decoded as {named} \(byte \d+\); pass the right --encoding"):
        ingest_file("facilities", path, settings=settings, encoding=given)
    assert not settings.db_path.exists()


def test_latin1_file_is_refused_with_a_clear_message_and_loads_when_named(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "cafes.csv"
    path.write_bytes("facility_id,name,category,lon,lat\nC1,Café Müller,pharmacy,114.31,30.52\n".encode("latin-1"))
    with pytest.raises(EncodingError, match=r"cafes.csv is neither UTF-8 nor GBK/GB18030 text; .*pass --encoding"):
        ingest_file("facilities", path, settings=settings)
    report = ingest_file("facilities", path, settings=settings, encoding="latin-1")
    assert (report.encoding, report.rows_ok) == ("latin-1", 1)
    assert _stored(settings)["name"].tolist() == ["Café Müller"]


def test_gbk_shapefile_without_cpg_loads_with_encoding(tmp_path: Path, settings: Settings) -> None:
    path = _zipped_shapefile(tmp_path, encoding="gbk", with_cpg=False)  # the .cpg that names GBK is often lost
    report = ingest_file("facilities", path, settings=settings, encoding="gbk")
    assert report.encoding == "gb18030"
    _assert_is_fixture(_stored(settings))


def test_unknown_encoding_name(tmp_path: Path) -> None:
    path = tmp_path / "facilities.csv"
    FACILITIES.to_csv(path, index=False)
    with pytest.raises(EncodingError, match="unknown encoding 'gbk2'; use utf-8, utf-8-sig or gbk"):
        read_source(path, encoding="gbk2")


@pytest.mark.parametrize(("written", "expected"), [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030")])
def test_detect_encoding(written: str, expected: str, tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    FACILITIES.to_csv(path, index=False, encoding=written)
    assert detect_encoding(path) == expected


@pytest.mark.parametrize(("written", "expected"), [("utf-8", "utf-8"), ("gbk", "gb18030")])
def test_detect_encoding_sample_cut_inside_a_character(written: str, expected: str, tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    text = "名称\n" + "武汉" * 50 + "\n"
    path.write_bytes(text.encode(written))
    first_char = len("名称\n".encode(written)) + 1  # one byte into the first multibyte character of line 2
    assert detect_encoding(path, sample_bytes=first_char) == expected


def test_read_source_keeps_csv_cells_as_text_and_strips_the_bom(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(codecs.BOM_UTF8 + "编号,经度,备注\nF01,114.300,\n0012,114.31,无\n".encode("utf-8"))
    table = read_source(path)
    assert (table.format, table.encoding, table.crs) == ("csv", "utf-8-sig", None)
    assert list(table.frame.columns) == ["编号", "经度", "备注"]
    assert table.frame.to_dict("list") == {"编号": ["F01", "0012"], "经度": ["114.300", "114.31"], "备注": ["", "无"]}


def test_read_source_spatial_gives_crs_and_geometry(tmp_path: Path) -> None:
    path, _ = _gpkg(tmp_path)
    table = read_source(path, layer="facilities")
    assert (table.format, table.crs, table.layer, table.encoding) == ("geopackage", "EPSG:4326", "facilities", None)
    assert list(table.frame.columns) == ["编号", "名称", "类别", "地址", "geometry"]
    assert [g.x for g in table.frame["geometry"]] == FACILITIES["经度"].tolist()


def test_read_source_refuses_unknown_suffix_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "facilities.dbf"
    path.write_bytes(b"")
    with pytest.raises(InputError, match=r"unknown file type '\.dbf'; supported: .*\.csv.*zip a Shapefile"):
        read_source(path)
    with pytest.raises(InputError, match="no file at .*nothing.csv; check the path"):
        read_source(tmp_path / "nothing.csv")


# --------------------------------------------------------------------------- datums and projections


@pytest.mark.parametrize(("crs", "forward"), [("gcj02", wgs84_to_gcj02), ("bd09", wgs84_to_bd09)])
def test_shifted_datums_land_on_the_wgs84_points(crs: str, forward: Callable, tmp_path: Path,
                                                 settings: Settings) -> None:
    shifted_lon, shifted_lat = forward(FACILITIES["经度"].to_numpy(), FACILITIES["纬度"].to_numpy())
    assert offset_m(shifted_lon, shifted_lat, FACILITIES["经度"], FACILITIES["纬度"]).min() > 100  # a real shift
    path = tmp_path / f"facilities-{crs}.csv"
    FACILITIES.assign(经度=shifted_lon, 纬度=shifted_lat).to_csv(path, index=False)
    report = ingest_file("facilities", path, settings=settings, crs=crs)
    assert report.source_crs == crs
    stored = _stored(settings)
    assert offset_m(stored["lon"], stored["lat"], FACILITIES["经度"], FACILITIES["纬度"]).max() < 1e-3
    _assert_is_fixture(stored, lon_lat_tol=1e-8)


def test_projected_geopackage_is_reprojected_from_its_own_crs(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "facilities-4547.gpkg"
    projected = _points(FACILITIES).to_crs(4547)  # CGCS2000 3-degree Gauss-Kruger CM 114E
    assert projected.geometry.x.between(300_000, 700_000).all()
    projected.to_file(path, driver="GPKG")
    report = ingest_file("facilities", path, settings=settings)
    assert report.source_crs == "EPSG:4547"
    stored = _stored(settings)
    assert offset_m(stored["lon"], stored["lat"], FACILITIES["经度"], FACILITIES["纬度"]).max() < 1e-3
    _assert_is_fixture(stored, lon_lat_tol=1e-8)


def test_projected_csv_with_crs_option(tmp_path: Path, settings: Settings) -> None:
    projected = _points(FACILITIES).to_crs(4547)
    path = tmp_path / "facilities-4547.csv"
    frame = FACILITIES.drop(columns=["经度", "纬度"]).assign(x=projected.geometry.x, y=projected.geometry.y)
    frame.to_csv(path, index=False)
    report: LoadReport = ingest_file("facilities", path, settings=settings, crs=4547)
    assert (report.source_crs, report.rows_ok) == ("EPSG:4547", 5)
    _assert_is_fixture(_stored(settings), lon_lat_tol=1e-8)


def test_gbk_shapefile_without_cpg_is_detected(tmp_path) -> None:
    """Chinese Shapefiles often come as GBK with no .cpg: the attributes must not turn into mojibake."""
    folder = tmp_path / "shp"
    folder.mkdir()
    frame = gpd.GeoDataFrame({"name": ["紫阳幼儿园", "首义小学"], "category": ["幼儿园", "小学"]},
                              geometry=[Point(114.30, 30.54), Point(114.31, 30.55)], crs=4326)
    frame.to_file(folder / "pois.shp", encoding="gbk")
    (folder / "pois.cpg").unlink(missing_ok=True)
    archive = tmp_path / "pois.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for part in folder.iterdir():
            out.write(part, part.name)
    for path in (archive, folder / "pois.shp"):
        table = read_source(path)
        assert table.encoding == "gb18030"
        assert table.frame["name"].tolist() == ["紫阳幼儿园", "首义小学"]
