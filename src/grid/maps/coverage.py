"""The life-circle coverage map (生活圈覆盖图): H3 cells coloured by walking minutes
to the nearest facility, gap cells outlined, facilities as circle markers with
popups, community boundaries with their names.

City-scale layers stay light: all cells go in one compact GeoJSON
FeatureCollection styled in the browser by a class index (on a canvas when there
are thousands); beyond ``max_cells`` cells they are rolled up to a coarser H3 resolution
(:func:`grid.maps.cells.coarsen_to_fit`); gaps are always drawn from the full
resolution cells, dissolved into outlines.
"""

from __future__ import annotations

import html

import folium
import numpy as np
import pandas as pd
from folium.features import GeoJsonPopup, GeoJsonTooltip
from folium.utilities import JsCode

from grid.errors import InputError
from grid.maps.base import local_map
from grid.maps.basemaps import add_basemap, basemap_unavailable_reason, wgs84_to_basemap
from grid.maps.cells import (UNREACHABLE_COLOUR, WALK_MIN_BREAKS, WALK_MIN_COLOURS, cells_feature_collection,
                             coarsen_to_fit, geometries_feature_collection, outline_cells, walk_min_classes)
from grid.maps.layers import CompactGeoJson, Legend

__all__ = ["GAP_COLOUR", "coverage_map"]

GAP_COLOUR = "#d7191c"
"""Outline colour of gap cells (red, thick)."""

Bounds = tuple[float, float, float, float]

_CANVAS_ABOVE = 3000
"""More cells than this are drawn on one canvas instead of as SVG paths (much faster in the browser)."""

_FACILITY_MARKER = ("function (feature, latlng) { return L.circleMarker(latlng, {radius: 5, color: '#000000', "
                    "weight: 1.5, fillColor: '#ffffff', fillOpacity: 1}); }")

_TEXT = {
    "cells": ("步行时间", "walking time"),
    "gaps": ("缺口", "gaps"),
    "communities": ("社区边界", "community boundaries"),
    "facilities": ("设施", "facilities"),
    "legend": ("步行到最近设施（分钟）", "walk to the nearest facility (min)"),
    "unreachable": ("搜索范围内未到达", "not reached within the search bound"),
    "gap_legend": ("缺口（覆盖范围外的居民）", "gap (residents not covered)"),
    "walk_min": ("步行（分钟）", "walk (min)"),
    "population": ("人口", "residents"),
    "name": ("名称", "name"),
    "category": ("类别", "category"),
    "floor_area": ("建筑面积", "floor area"),
    "gap_people": ("缺口：{n:,.0f} 人", "gap: {n:,.0f} residents"),
    "aggregated": ("已汇总到 H3 第 {res} 级（人口加权平均）", "rolled up to H3 res {res} (population-weighted mean)"),
}


def _t(key: str, lang: str, **values: object) -> str:
    zh, en = _TEXT[key]
    return (en if lang == "en" else zh).format(**values)


def coverage_map(cells: pd.DataFrame, *, facilities: pd.DataFrame | None = None,
                 communities: pd.DataFrame | None = None, gaps: pd.DataFrame | None = None,
                 basemap: str = "none", tianditu_key: str | None = None, focus_bounds: Bounds | None = None,
                 lang: str = "zh", title: str | None = None, max_cells: int = 10_000,
                 height: str = "100%") -> folium.Map:
    """The coverage map of one (circle, category, profile) as a folium Map using only the local Leaflet.

    Parameters
    ----------
    cells : pandas.DataFrame
        ``h3`` (uint64), ``walk_min`` (minutes to the nearest facility, NaN = not
        reachable), optionally ``population``.
    facilities : pandas.DataFrame, optional
        ``lon``, ``lat`` (WGS-84), ``name``, ``category`` and optionally
        ``category_label`` (shown instead of the id) and ``floor_area_m2``.
    communities : geopandas.GeoDataFrame, optional
        Community polygons (WGS-84) with ``name``.
    gaps : pandas.DataFrame or geopandas.GeoDataFrame, optional
        Gap cells (``h3``, optionally ``population``: contiguous cells are dissolved)
        or gap areas (a ``geometry`` column, optionally ``population``).
    basemap : {'none', 'osm', 'tianditu', 'amap'}
        Tiles under the overlays; for ``amap`` every overlay is shifted to GCJ-02.
    tianditu_key : str, optional
        The user's Tianditu key, needed for ``tianditu``.
    focus_bounds : (min_lon, min_lat, max_lon, max_lat), optional
        WGS-84 box to zoom to (e.g. a community's bounds); default: all cells.
    lang : {'zh', 'en'}
        Language of the legend, layer names, tooltips and popups.
    title : str, optional
        First line of the legend (e.g. the category and circle).
    max_cells : int
        Above this many cells they are aggregated to a coarser H3 resolution.
    height : str
        CSS height of the map.

    Returns
    -------
    folium.Map

    Raises
    ------
    grid.errors.ConfigError
        Unknown base map, or Tianditu without a valid key.
    grid.errors.InputError
        A frame lacks a column the map needs (the message lists the columns it has).
    """
    basemap_unavailable_reason(basemap, tianditu_key=tianditu_key)  # unknown basemap fails before any work
    _require(cells, "cells", ("h3", "walk_min"))
    _require(facilities, "facilities", ("lon", "lat", "name", "category"))
    _require(communities, "communities", ("name",))
    drawn, res = coarsen_to_fit(cells, max_cells=max_cells)
    m = local_map(height=height)
    add_basemap(m, basemap, tianditu_key=tianditu_key, lang=lang)
    _cells_layer(drawn, basemap, lang).add_to(m)
    if gaps is not None and len(gaps):
        _gaps_layer(gaps, basemap, lang).add_to(m)
    if communities is not None and len(communities):
        _communities_layer(communities, basemap, lang).add_to(m)
    if facilities is not None and len(facilities):
        _facilities_layer(facilities, basemap, lang).add_to(m)
    Legend(_legend_html(lang, title=title, aggregated_res=res)).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    _fit(m, _display_box(m, basemap, focus_bounds))
    return m


def _geometries(frame: pd.DataFrame) -> np.ndarray | None:
    """The shapely geometries of a GeoDataFrame (any geometry column name) or of a ``geometry`` column."""
    try:
        return np.asarray(frame.geometry, dtype=object)
    except AttributeError:
        return None


def _require(frame: pd.DataFrame | None, name: str, columns: tuple[str, ...]) -> None:
    missing = [] if frame is None else [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"{name} lacks columns {missing}; columns are {list(frame.columns)}; "  # type: ignore[union-attr]
                         f"coverage_map needs {list(columns)}")


def _cells_layer(cells: pd.DataFrame, basemap: str, lang: str) -> CompactGeoJson:
    walk = cells["walk_min"].to_numpy(np.float64)
    properties = {"b": walk_min_classes(walk), "w": np.round(walk, 1)}
    if "population" in cells:
        properties["p"] = np.round(cells["population"].to_numpy(np.float64))
    data = cells_feature_collection(cells["h3"].to_numpy(np.uint64), properties, basemap=basemap)
    palette = list(WALK_MIN_COLOURS) + [UNREACHABLE_COLOUR]
    style = JsCode(f"function (f) {{ return {{stroke: false, fillOpacity: 0.75, "
                   f"fillColor: {palette}[f.properties.b]}}; }}")
    fields = ["w", "p"] if "p" in properties else ["w"]
    tooltip = GeoJsonTooltip(fields=fields, aliases=[_t("walk_min", lang), _t("population", lang)][:len(fields)],
                             sticky=True)
    renderer = JsCode("L.canvas({padding: 0.5})") if len(data["features"]) > _CANVAS_ABOVE else None
    return CompactGeoJson(data, name=_t("cells", lang), style=style, renderer=renderer, tooltip=tooltip)


def _gap_outlines(gaps: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
    """(WGS-84 outlines, residents in each or None) of gap areas or of contiguous gap cells."""
    people = gaps["population"].to_numpy(np.float64) if "population" in gaps else None
    if _geometries(gaps) is not None:
        return _geometries(gaps), people
    outlines, total = outline_cells(gaps["h3"].to_numpy(np.uint64), people)
    return outlines, None if people is None else total


def _gaps_layer(gaps: pd.DataFrame, basemap: str, lang: str) -> CompactGeoJson:
    outlines, people = _gap_outlines(gaps)
    style = {"color": GAP_COLOUR, "weight": 3, "opacity": 1, "fill": False}
    if people is None:
        data = geometries_feature_collection(outlines, basemap=basemap)
        return CompactGeoJson(data, name=_t("gaps", lang), style=style, interactive=False)
    labels = np.array([_t("gap_people", lang, n=n) for n in np.nan_to_num(people)], dtype=object)
    data = geometries_feature_collection(outlines, {"label": labels}, basemap=basemap)
    return CompactGeoJson(data, name=_t("gaps", lang), style=style,
                          tooltip=GeoJsonTooltip(fields=["label"], labels=False, sticky=True))


def _communities_layer(communities: pd.DataFrame, basemap: str, lang: str) -> CompactGeoJson:
    geoms = _geometries(communities)
    if geoms is None:
        raise InputError(f"communities has no geometry; columns are {list(communities.columns)}; pass a GeoDataFrame")
    data = geometries_feature_collection(geoms,
                                         {"name": _html_text(communities["name"])},
                                         basemap=basemap, simplify_deg=1e-5)
    style = {"color": "#303030", "weight": 1.5, "opacity": 0.9, "fill": False}
    return CompactGeoJson(data, name=_t("communities", lang), style=style,
                          tooltip=GeoJsonTooltip(fields=["name"], labels=False, sticky=True))


def _facilities_layer(facilities: pd.DataFrame, basemap: str, lang: str) -> CompactGeoJson:
    located = np.isfinite(facilities["lon"].to_numpy(float)) & np.isfinite(facilities["lat"].to_numpy(float))
    facilities = facilities[located]
    lon, lat = wgs84_to_basemap(basemap, facilities["lon"], facilities["lat"])
    label = facilities["category_label"] if "category_label" in facilities else facilities["category"]
    area = facilities["floor_area_m2"] if "floor_area_m2" in facilities else pd.Series(np.nan, index=facilities.index)
    features = [{"type": "Feature",
                 "properties": {"name": n, "category": c, "area": None if pd.isna(a) else f"{a:,.0f} m²"},
                 "geometry": {"type": "Point", "coordinates": [round(float(x), 6), round(float(y), 6)]}}
                for n, c, a, x, y in zip(_html_text(facilities["name"]), _html_text(label), area, lon, lat)]
    popup = GeoJsonPopup(fields=["name", "category", "area"],
                         aliases=[_t("name", lang), _t("category", lang), _t("floor_area", lang)])
    return CompactGeoJson({"type": "FeatureCollection", "features": features}, name=_t("facilities", lang),
                          point_to_layer=JsCode(_FACILITY_MARKER), popup=popup,
                          tooltip=GeoJsonTooltip(fields=["name"], labels=False))


def _html_text(values: pd.Series) -> list[str | None]:
    """Texts escaped for HTML (tooltips and popups set innerHTML); missing values become None."""
    return [None if pd.isna(v) else html.escape(str(v)) for v in values]


def _legend_html(lang: str, *, title: str | None, aggregated_res: int | None) -> str:
    swatch = '<i style="display:inline-block;width:14px;height:10px;margin-right:6px;background:{}"></i>'
    edges = (0, *WALK_MIN_BREAKS)
    rows = [f"{swatch.format(c)}{lo:g}–{hi:g}" for c, lo, hi in zip(WALK_MIN_COLOURS, edges, edges[1:])]
    rows.append(f"{swatch.format(WALK_MIN_COLOURS[-1])}&gt; {WALK_MIN_BREAKS[-1]:g}")
    rows.append(f"{swatch.format(UNREACHABLE_COLOUR)}{_t('unreachable', lang)}")
    rows.append('<i style="display:inline-block;width:10px;height:6px;margin-right:6px;'
                f'border:2px solid {GAP_COLOUR}"></i>{_t("gap_legend", lang)}')
    head = f"<b>{html.escape(title)}</b><br>" if title else ""
    foot = f"<br><small>{_t('aggregated', lang, res=aggregated_res)}</small>" if aggregated_res is not None else ""
    return ('<div style="background:rgba(255,255,255,0.92);padding:6px 8px;border-radius:4px;'
            'font:12px/1.5 sans-serif;box-shadow:0 0 4px rgba(0,0,0,0.3)">'
            f"{head}<b>{_t('legend', lang)}</b><br>{'<br>'.join(rows)}{foot}</div>")


def _display_box(m: folium.Map, basemap: str, focus_bounds: Bounds | None) -> Bounds | None:
    """(min_lon, min_lat, max_lon, max_lat) to show, in the display datum: the focus box
    (WGS-84, shifted here) or everything drawn (already shifted)."""
    if focus_bounds is not None:
        west, south, east, north = focus_bounds
        lon, lat = wgs84_to_basemap(basemap, [west, east], [south, north])
        return (float(lon[0]), float(lat[0]), float(lon[1]), float(lat[1]))
    (south, west), (north, east) = m.get_bounds()
    return None if south is None else (west, south, east, north)


def _fit(m: folium.Map, box: Bounds | None) -> None:
    """Centre ``m`` on ``box`` and fit the view to it."""
    if box is None:
        return
    west, south, east, north = box
    m.location = [(south + north) / 2, (west + east) / 2]
    m.fit_bounds([[south, west], [north, east]])
