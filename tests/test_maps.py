"""grid.maps: the map loads only the local Leaflet, base maps and their datum shift,
walking-minute classes, roll-up to coarser cells, and the payload of a city-size map.

References are independent of the code under test: h3-py for cell boundaries and
parents, grid.crs.wgs84_to_gcj02 for the Amap shift, hand-computed means.
"""

from __future__ import annotations

import ast
import json
import re

import folium
import h3
import numpy as np
import pandas as pd
import pytest
import shapely

from grid.crs import wgs84_to_gcj02
from grid.errors import ConfigError, InputError
from grid.maps import (BASEMAPS, LEAFLET_CSS_URL, LEAFLET_JS_URL, aggregate_cells, basemap_unavailable_reason,
                       cells_feature_collection, coarsen_to_fit, coverage_map, external_urls, local_map, map_html,
                       map_payload_bytes, walk_min_classes)
from grid.maps.layers import CompactGeoJson, Legend

from conftest import PROJECT_ROOT

CENTRE = h3.latlng_to_cell(30.55, 114.30, 10)
KEY = "0123456789abcdef0123456789abcdef"


def _int(cell: str) -> int:
    return h3.str_to_int(cell)


def _cells(cells: list[str], walk_min: list[float], population: list[float] | None = None) -> pd.DataFrame:
    frame = pd.DataFrame({"h3": np.array([_int(c) for c in cells], dtype=np.uint64), "walk_min": walk_min})
    if population is not None:
        frame["population"] = population
    return frame


def _demo_inputs() -> dict[str, pd.DataFrame]:
    """Seven cells around CENTRE, one facility at its centre, one community square, gaps."""
    ring = h3.grid_disk(CENTRE, 1)
    cells = _cells(ring, [2.0, 4.0, 7.5, 12.0, 16.0, 25.0, float("nan")], [100, 50, 80, 20, 10, 5, 40])
    lat, lon = h3.cell_to_latlng(CENTRE)
    facilities = pd.DataFrame({"name": ["紫阳幼儿园"], "category": ["kindergarten"], "category_label": ["幼儿园"],
                               "floor_area_m2": [1200.0], "lon": [lon], "lat": [lat]})
    import geopandas as gpd
    communities = gpd.GeoDataFrame({"community_id": ["C1"], "name": ["花桥社区"]},
                                   geometry=[shapely.box(lon - 0.003, lat - 0.003, lon + 0.003, lat + 0.003)],
                                   crs="EPSG:4326")
    gaps = cells[cells["walk_min"].isna() | (cells["walk_min"] > 15)][["h3", "population"]]
    return {"cells": cells, "facilities": facilities, "communities": communities, "gaps": gaps}


def _legend(m: folium.Map) -> str:
    (legend,) = [child for child in m._children.values() if isinstance(child, Legend)]
    return legend.html


def _layers(m: folium.Map) -> list[CompactGeoJson]:
    return [child for child in m._children.values() if isinstance(child, CompactGeoJson)]


# --------------------------------------------------------------------------- offline assets


def test_local_map_uses_only_the_local_leaflet() -> None:
    m = local_map(location=(30.55, 114.30))
    assert m.default_js == [("leaflet", LEAFLET_JS_URL)]
    assert m.default_css == [("leaflet_css", LEAFLET_CSS_URL)]
    assert LEAFLET_JS_URL == "/app/static/vendor/leaflet/leaflet.js"  # absolute: the component iframe is elsewhere
    assert folium.Map.default_js[0][1].startswith("https://")  # folium's class default is left alone


def test_coverage_map_html_has_no_remote_script_or_stylesheet() -> None:
    html = map_html(coverage_map(**_demo_inputs()))
    assert f'<script src="{LEAFLET_JS_URL}"></script>' in html
    assert f'<link rel="stylesheet" href="{LEAFLET_CSS_URL}"/>' in html
    assert external_urls(html) == []
    assert re.findall(r"https?://", html) == []  # not a tile, font or script URL anywhere
    for library in ("jquery", "bootstrap", "awesome-markers", "font-awesome", "fontawesome", "$("):
        assert library not in html.lower()


def test_external_urls_finds_cdn_links() -> None:
    html = ('<script src="https://cdn.jsdelivr.net/npm/leaflet.js"></script><link rel="stylesheet" '
            'href="//cdn.example.org/a.css"/><script src="/app/static/vendor/leaflet/leaflet.js"></script>')
    assert external_urls(html) == ["https://cdn.jsdelivr.net/npm/leaflet.js", "//cdn.example.org/a.css"]
    assert external_urls(map_html(folium.Map())) != []  # folium's own default would be caught


def test_streamlit_folium_component_gets_only_local_assets(monkeypatch: pytest.MonkeyPatch) -> None:
    """What st_folium hands its iframe: the script links it loads and the code it runs."""
    import streamlit_folium

    sent = {}
    monkeypatch.setattr(streamlit_folium, "_component_func", lambda **kwargs: sent.update(kwargs))
    streamlit_folium.st_folium(coverage_map(**_demo_inputs()), key="map", returned_objects=[])
    assert sent["js_links"] == [LEAFLET_JS_URL]
    assert sent["css_links"] == [LEAFLET_CSS_URL]
    for part in ("script", "header", "html"):
        assert re.findall(r"https?://", sent[part] or "") == [], part
    assert "L.geoJson(" in sent["script"] and '"features"' in sent["script"]


def test_standalone_html_inlines_leaflet(tmp_path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "leaflet.js").write_text("/* leaflet js */", encoding="utf-8")
    (tmp_path / "leaflet.css").write_text(".leaflet-control-layers-toggle{background-image:url(images/layers.png)}",
                                          encoding="utf-8")
    (tmp_path / "images" / "layers.png").write_bytes(b"\x89PNG")
    html = map_html(coverage_map(**_demo_inputs()), standalone=True, leaflet_dir=tmp_path)
    assert "/app/static" not in html
    assert "<script>/* leaflet js */</script>" in html
    assert "url(data:image/png;base64,iVBORw==)" in html
    with pytest.raises(FileNotFoundError, match="make setup"):
        map_html(local_map(), standalone=True, leaflet_dir=tmp_path / "missing")


# --------------------------------------------------------------------------- base maps


def _tile_layers(m: folium.Map) -> list[folium.TileLayer]:
    return [child for child in m._children.values() if isinstance(child, folium.TileLayer)]


def test_basemap_none_has_no_tiles_and_osm_is_attributed() -> None:
    inputs = _demo_inputs()
    assert _tile_layers(coverage_map(**inputs)) == []
    (osm,) = _tile_layers(coverage_map(**inputs, basemap="osm"))
    assert osm.tiles == "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    assert "&copy; <a href=\"https://www.openstreetmap.org/copyright\">OpenStreetMap</a> contributors" \
        == osm.options["attribution"]


def test_tianditu_needs_a_key() -> None:
    with pytest.raises(ConfigError, match=r"basemap 'tianditu' is unavailable: Tianditu needs your own key \(tk\)"):
        coverage_map(**_demo_inputs(), basemap="tianditu")
    assert "console.tianditu.gov.cn" in basemap_unavailable_reason("tianditu")
    assert basemap_unavailable_reason("tianditu", lang="zh").startswith("天地图需要用户自己的密钥")
    assert basemap_unavailable_reason("tianditu", tianditu_key="abc", lang="en") == \
        "a Tianditu key is 32 hexadecimal characters; got 3 characters."
    assert [basemap_unavailable_reason(b, tianditu_key=KEY) for b in BASEMAPS] == [None] * 4


def test_tianditu_web_mercator_layers_with_key() -> None:
    vec, labels = _tile_layers(coverage_map(**_demo_inputs(), basemap="tianditu", tianditu_key=KEY))
    assert "/vec_w/wmts?" in vec.tiles and "LAYER=vec" in vec.tiles and vec.tiles.endswith(f"tk={KEY}")
    assert "/cva_w/wmts?" in labels.tiles and "TILEMATRIXSET=w" in labels.tiles
    assert "天地图" in vec.options["attribution"]


def test_amap_attribution_and_unknown_basemap() -> None:
    (amap,) = _tile_layers(coverage_map(**_demo_inputs(), basemap="amap"))
    assert "autonavi.com" in amap.tiles and "高德地图" in amap.options["attribution"]
    with pytest.raises(ConfigError, match=r"unknown basemap 'google'; choose one of \['none', 'osm', 'tianditu', 'amap'\]"):
        coverage_map(**_demo_inputs(), basemap="google")


def test_amap_shifts_every_layer_to_gcj02() -> None:
    inputs = _demo_inputs()
    layers = {layer.layer_name: layer.data for layer in _layers(coverage_map(**inputs, basemap="amap"))}
    facility = inputs["facilities"].iloc[0]
    want_lon, want_lat = wgs84_to_gcj02(facility["lon"], facility["lat"])
    drawn = layers["设施"]["features"][0]["geometry"]["coordinates"]
    assert drawn == [round(float(want_lon), 6), round(float(want_lat), 6)]
    assert abs(drawn[0] - facility["lon"]) > 1e-3  # the shift here is a few hundred metres
    first = layers["步行时间"]["features"][0]["geometry"]["coordinates"][0][0]
    lat, lon = h3.cell_to_boundary(h3.int_to_str(int(inputs["cells"]["h3"].iloc[0])))[0]
    assert first == [round(float(v), 6) for v in wgs84_to_gcj02(lon, lat)]
    corner = layers["社区边界"]["features"][0]["geometry"]["coordinates"][0][0]
    x, y = shapely.get_coordinates(inputs["communities"].geometry.iloc[0])[0]
    assert corner == [round(float(v), 6) for v in wgs84_to_gcj02(x, y)]
    plain = {layer.layer_name: layer.data for layer in _layers(coverage_map(**inputs, basemap="osm"))}
    assert plain["设施"]["features"][0]["geometry"]["coordinates"] == [round(facility["lon"], 6),
                                                                     round(facility["lat"], 6)]


def test_focus_bounds_zoom_to_a_community_in_the_display_datum() -> None:
    inputs = _demo_inputs()
    box = inputs["communities"].total_bounds
    for basemap in ("none", "amap"):
        m = coverage_map(**inputs, basemap=basemap, focus_bounds=tuple(box))
        (fit,) = [c for c in m._children.values() if isinstance(c, folium.FitBounds)]
        lon, lat = wgs84_to_gcj02([box[0], box[2]], [box[1], box[3]]) if basemap == "amap" else \
            ([box[0], box[2]], [box[1], box[3]])
        assert np.ravel(fit.bounds) == pytest.approx([lat[0], lon[0], lat[1], lon[1]], abs=1e-12)


# --------------------------------------------------------------------------- cells


def test_walk_min_classes_are_closed_above() -> None:
    minutes = [0.0, 5.0, 5.01, 10.0, 15.0, 15.1, 20.0, 20.5, 90.0, float("nan")]
    assert walk_min_classes(np.array(minutes)).tolist() == [0, 0, 1, 1, 2, 3, 3, 4, 4, 5]


def test_cell_polygons_equal_h3_boundaries_rounded() -> None:
    cells = h3.grid_disk(CENTRE, 1)
    data = cells_feature_collection(np.array([_int(c) for c in cells], dtype=np.uint64),
                                    {"b": np.arange(7), "w": np.array([1.5] * 6 + [np.nan])})
    for cell, feature in zip(cells, data["features"]):
        ring = feature["geometry"]["coordinates"][0]
        expected = [[round(lon, 6), round(lat, 6)] for lat, lon in h3.cell_to_boundary(cell)]
        assert ring[:-1] == expected and ring[-1] == ring[0]
    assert data["features"][6]["properties"] == {"b": 6, "w": None}
    text = json.dumps(data)
    assert not re.search(r"\d\.\d{7,}", text)  # at most 6 decimals


def test_aggregate_cells_population_weighted() -> None:
    parent = h3.cell_to_parent(CENTRE, 9)
    children = sorted(h3.cell_to_children(parent, 10))
    walk = [2.0, 4.0, 6.0, 8.0, 10.0, 12.0, float("nan")]
    people = [10, 20, 30, 40, 0, 0, 25]
    out = aggregate_cells(_cells(children, walk, people), 9)
    assert out["h3"].tolist() == [_int(parent)]
    # (2*10 + 4*20 + 6*30 + 8*40) / (10 + 20 + 30 + 40) = 600 / 100
    assert out["walk_min"].iloc[0] == pytest.approx(6.0)
    assert out[["population", "unreachable_population", "cells"]].iloc[0].tolist() == [125, 25, 7]


def test_aggregate_cells_unreachable_majority_and_no_population() -> None:
    parent = h3.cell_to_parent(CENTRE, 9)
    children = sorted(h3.cell_to_children(parent, 10))
    nan = float("nan")
    mostly_unreached = aggregate_cells(_cells(children, [3.0] + [nan] * 6, [10, 20, 20, 20, 20, 20, 20]), 9)
    assert np.isnan(mostly_unreached["walk_min"].iloc[0])
    unweighted = aggregate_cells(_cells(children, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, nan]), 9)
    assert unweighted["walk_min"].iloc[0] == pytest.approx(3.5)
    assert "population" not in unweighted
    with pytest.raises(ValueError, match="cannot aggregate to res 11: cells go down to res 10"):
        aggregate_cells(_cells(children, [1.0] * 7), 11)


def _city_cells(k: int = 129) -> pd.DataFrame:
    """A disk of 3k(k+1)+1 res-10 cells (50,311 for k=129) with made-up minutes and residents."""
    cells = h3.grid_disk(CENTRE, k)
    rng = np.random.default_rng(7)
    n = len(cells)
    return pd.DataFrame({"h3": np.array([_int(c) for c in cells], dtype=np.uint64),
                         "walk_min": np.where(rng.random(n) < 0.05, np.nan, rng.gamma(3.0, 3.0, n)),
                         "population": rng.integers(0, 300, n).astype(float)})


def test_coarsen_to_fit_picks_the_finest_resolution_that_fits() -> None:
    cells = _city_cells(20)  # 1,261 cells
    same, res = coarsen_to_fit(cells, max_cells=5000)
    assert res is None and same is cells
    drawn, res = coarsen_to_fit(cells, max_cells=500)
    parents = {h3.cell_to_parent(h3.int_to_str(int(c)), 9) for c in cells["h3"]}
    assert res == 9 and len(drawn) == len(parents) <= 500
    assert drawn["population"].sum() == cells["population"].sum()


@pytest.mark.slow
def test_city_map_of_50000_cells_stays_under_5_mb() -> None:
    cells = _city_cells()
    assert len(cells) == 50_311
    gaps = cells[(cells["walk_min"] > 15) | cells["walk_min"].isna()][["h3", "population"]]
    m = coverage_map(cells, gaps=gaps, max_cells=10_000)
    layer = _layers(m)[0]
    assert len(layer.data["features"]) <= 10_000  # rolled up to res 9
    assert map_payload_bytes(m) <= 5_000_000
    assert "H3 第 9 级" in _legend(m)  # the legend says the cells were rolled up


# --------------------------------------------------------------------------- the map's content


def test_coverage_map_layers_popups_and_legend() -> None:
    inputs = _demo_inputs()
    m = coverage_map(**inputs, title="幼儿园 · 5 分钟生活圈")
    layers = {layer.layer_name: layer for layer in _layers(m)}
    assert list(layers) == ["步行时间", "缺口", "社区边界", "设施"]
    cells = layers["步行时间"].data["features"]
    assert [f["properties"]["b"] for f in cells] == [0, 0, 1, 2, 3, 4, 5]
    assert [f["properties"]["p"] for f in cells] == [100, 50, 80, 20, 10, 5, 40]
    gaps = layers["缺口"].data["features"]
    labels = sorted(f["properties"]["label"] for f in gaps)  # three outer ring cells, neighbours or not
    assert sum(int(re.sub(r"\D", "", label)) for label in labels) == 10 + 5 + 40
    assert layers["设施"].data["features"][0]["properties"] == {"name": "紫阳幼儿园", "category": "幼儿园",
                                                               "area": "1,200 m²"}
    assert layers["社区边界"].data["features"][0]["properties"] == {"name": "花桥社区"}
    legend = _legend(m)
    for text in ("幼儿园 · 5 分钟生活圈", "步行到最近设施（分钟）", "搜索范围内未到达", "缺口（覆盖范围外的居民）", "0–5", "&gt; 20"):
        assert text in legend
    english = _legend(coverage_map(**inputs, lang="en"))
    assert "walk to the nearest facility (min)" in english and "not reached within the search bound" in english
    assert "步行到最近设施（分钟）" in map_html(m)  # the legend is written into the page, readable


def test_gap_cells_are_dissolved_per_contiguous_area() -> None:
    inputs = _demo_inputs()
    ring = h3.grid_disk(CENTRE, 1)
    far = h3.grid_disk(CENTRE, 5)[-1]  # not touching the first group
    gaps = _cells([ring[0], ring[1], far], [20.0, 30.0, 40.0], [7, 8, 9])[["h3", "population"]]
    neighbours = h3.are_neighbor_cells(ring[0], ring[1])
    m = coverage_map(inputs["cells"], gaps=gaps)
    (layer,) = [layer for layer in _layers(m) if layer.layer_name == "缺口"]
    labels = sorted(f["properties"]["label"] for f in layer.data["features"])
    assert labels == (["缺口：15 人", "缺口：9 人"] if neighbours else ["缺口：7 人", "缺口：8 人", "缺口：9 人"])


def test_empty_inputs_still_make_a_map() -> None:
    empty = pd.DataFrame({"h3": np.array([], dtype=np.uint64), "walk_min": np.array([], dtype=float)})
    html = map_html(coverage_map(empty, facilities=None, communities=None, gaps=None))
    assert external_urls(html) == [] and "L.map(" in html


# --------------------------------------------------------------------------- architecture


def test_folium_is_imported_only_in_grid_maps() -> None:
    for path in (PROJECT_ROOT / "src" / "grid").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        mapping = {n for n in names if n.split(".")[0] in ("folium", "branca", "streamlit_folium")}
        inside = path.relative_to(PROJECT_ROOT / "src" / "grid").parts[0] == "maps"
        assert inside or not mapping, f"{path.relative_to(PROJECT_ROOT)} imports {mapping}; keep folium in grid.maps"


def test_texts_are_escaped_and_missing_columns_named() -> None:
    inputs = _demo_inputs()
    inputs["facilities"]["name"] = ["<img src=x onerror=alert(1)>"]
    layers = {layer.layer_name: layer.data for layer in _layers(coverage_map(**inputs, title="<b>"))}
    assert layers["设施"]["features"][0]["properties"]["name"] == "&lt;img src=x onerror=alert(1)&gt;"
    inputs["communities"]["name"] = ["{{ 7*7 }}社区"]  # data are never evaluated as a template
    assert '"name":"{{ 7*7 }}社区"' in map_html(coverage_map(**inputs))
    with pytest.raises(InputError, match=r"cells lacks columns \['walk_min'\]; columns are \['h3', 'minutes'\]"):
        coverage_map(inputs["cells"].rename(columns={"walk_min": "minutes"})[["h3", "minutes"]])


def test_facilities_without_coordinates_are_left_out() -> None:
    inputs = _demo_inputs()
    inputs["facilities"][["lon", "lat"]] = np.nan
    layers = {layer.layer_name: layer.data for layer in _layers(coverage_map(**inputs))}
    assert layers["设施"]["features"] == []


# --------------------------------------------------------------------------- governance maps


def _grid_inputs() -> tuple[pd.DataFrame, object, pd.DataFrame]:
    import geopandas as gpd

    ring = h3.grid_disk(CENTRE, 1)
    cells = pd.DataFrame({"h3": np.array([_int(c) for c in ring], dtype=np.uint64),
                          "households": [0, 40, 80, 120, 0, 10, 60]})
    lat, lon = h3.cell_to_latlng(CENTRE)
    outline = gpd.GeoDataFrame({"grid_id": ["G1"], "name": ["花桥第1网格"]},
                               geometry=[shapely.box(lon - 0.002, lat - 0.002, lon + 0.002, lat + 0.002)],
                               crs="EPSG:4326")
    complaints = pd.DataFrame({"lon": [lon, lon + 0.0005, lon - 0.0005, np.nan], "lat": [lat, lat, lat, np.nan],
                               "complaint_id": ["A<1>", "B", "C", "D"], "category_label": ["垃圾清运"] * 4,
                               "status_label": ["办理中", "办理中", "办结", "办结"], "due_label": ["2026-06-30 23:59"] * 4,
                               "is_open": [True, True, False, False], "overdue": [True, False, True, False]})
    return cells, outline, complaints


def test_grid_map_colours_complaints_by_state_and_stays_local() -> None:
    from grid.maps import COMPLAINT_COLOURS, grid_map, map_html

    cells, outline, complaints = _grid_inputs()
    m = grid_map(cells, outline, complaints, lang="en", title="G1")
    layers = {layer.layer_name: layer for layer in _layers(m)}
    points = layers["complaints"].data["features"]
    assert [f["properties"]["k"] for f in points] == ["overdue", "open", "closed"]  # the unlocated one is left out
    assert points[0]["properties"]["id"] == "A&lt;1&gt;"  # escaped: popups set innerHTML
    assert len(layers["grid cells"].data["features"]) == 7
    legend = _legend(m)
    assert all(colour in legend for colour in COMPLAINT_COLOURS.values()) and "overdue" in legend
    assert external_urls(map_html(m)) == []


def test_count_map_classes_hotspots_and_fixed_breaks() -> None:
    from grid.maps import count_map

    ring = [_int(c) for c in h3.grid_disk(CENTRE, 2)]
    counts = np.arange(len(ring), dtype=float)
    cells = pd.DataFrame({"h3": np.array(ring, dtype=np.uint64), "count": counts,
                          "z": counts / 3, "hotspot": counts >= 17, "coldspot": counts == 0})
    m = count_map(cells, lang="en", title="t")
    (layer, *outlines) = _layers(m)
    classes = [f["properties"]["b"] for f in layer.data["features"]]
    assert classes[0] == 0 and classes[-1] == 4 and classes == sorted(classes)
    assert [o.layer_name for o in outlines] == ["hotspot (Gi*, FDR)", "coldspot"]
    fixed = count_map(cells.assign(count=[0.0, 0.5, 0.9, 1.0, 1.1, 1.3] + [1.0] * (len(ring) - 6))[["h3", "count"]],
                      breaks=(0.85, 1.0, 1.15))
    first = [f["properties"]["b"] for f in _layers(fixed)[0].data["features"]][:6]
    assert first == [0, 1, 2, 2, 3, 4]
    assert "≤ 0.85" in _legend(fixed) and "&gt; 1.15" in _legend(fixed)
