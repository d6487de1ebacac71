"""Shipped column mappings applied to the layouts they are for."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from grid.errors import MappingError
from grid.ingest import ingest_file
from grid.io.mappings import load_mapping
from grid.settings import get_settings
from grid.store import open_reader


def test_amap_export_with_location_string_typecode_and_gcj02(settings, tmp_path) -> None:
    """The raw Amap layout: "lng,lat" in GCJ-02 plus a 6-digit typecode (leading zero lost by Excel)."""
    from grid.crs import offset_m, wgs84_to_gcj02

    wgs = pd.DataFrame({"lon": [114.3050, 114.3120, 114.3200], "lat": [30.5450, 30.5520, 30.5600]})
    glon, glat = wgs84_to_gcj02(wgs["lon"].to_numpy(), wgs["lat"].to_numpy())
    path = tmp_path / "amap_export.csv"
    pd.DataFrame({"id": ["B001", "B002", "B003"], "name": ["紫阳幼儿园", "首义小学", "中百超市"],
                  "address": ["紫阳路1号", "首义路2号", "彭刘杨路3号"],
                  "typecode": ["141204", "141203", "60400"],
                  "location": [f"{a:.6f},{b:.6f}" for a, b in zip(glon, glat)]}).to_csv(path, index=False)
    report = ingest_file("facilities", path, settings=settings, mapping="amap-poi")
    assert report.source_crs == "gcj02" and report.rows_ok == 3
    rows = open_reader(settings.db_path).execute(
        "SELECT facility_id, category, lon, lat, source_type FROM facilities ORDER BY facility_id").fetchall()
    assert [r[1] for r in rows] == ["kindergarten", "primary_school", "supermarket"]
    assert {r[4] for r in rows} == {"amap"}
    errors = offset_m(np.array([r[2] for r in rows]), np.array([r[3] for r in rows]), wgs["lon"], wgs["lat"])
    assert errors.max() < 0.5  # metres (the 6-decimal GCJ text itself carries ~0.1 m)
    assert offset_m(glon, glat, wgs["lon"], wgs["lat"]).min() > 300  # the datum shift really was applied



def test_unknown_mapping_lists_the_shipped_ones() -> None:
    with pytest.raises(MappingError, match=r"shipped mappings are \[.*'amap-poi'.*'baltimore-311'"):
        load_mapping("gaode", kind="facilities", directory=get_settings().mappings_dir)


def test_mapping_for_another_kind_is_refused() -> None:
    with pytest.raises(MappingError, match="is for 'complaints', not 'facilities'"):
        load_mapping("baltimore-311", kind="facilities", directory=get_settings().mappings_dir)


def test_unknown_category_method_is_refused(tmp_path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("kind: facilities\ncategory: gaode-codes\ncolumns: {name: [名称]}\n", encoding="utf-8")
    with pytest.raises(MappingError, match="category method 'gaode-codes' is unknown; use vocabulary, amap or table:NAME"):
        load_mapping(str(path), kind="facilities", directory=get_settings().mappings_dir)
