"""Governance maps (网格治理地图): a grid manager's cells with their complaints, and
complaint counts per H3 cell with hotspots or life-circle gaps outlined.

Same rules as the coverage map: the local Leaflet only, compact GeoJSON layers,
the base map an option (``none`` by default), texts in Chinese or English.
"""

from __future__ import annotations

import html

import folium
import numpy as np
import pandas as pd
from folium.features import GeoJsonPopup, GeoJsonTooltip
from folium.utilities import JsCode

from grid.maps.base import local_map
from grid.maps.basemaps import add_basemap, basemap_unavailable_reason, wgs84_to_basemap
from grid.maps.cells import cells_feature_collection, geometries_feature_collection, outline_cells
from grid.maps.layers import CompactGeoJson, Legend

__all__ = ["grid_map", "count_map", "COMPLAINT_COLOURS", "COUNT_COLOURS"]

COMPLAINT_COLOURS = {"overdue": "#d7191c", "open": "#fdae61", "closed": "#9e9e9e"}
"""Marker colours: overdue (red), open within its time limit (orange), closed (grey)."""

COUNT_COLOURS = ("#fff5eb", "#fdd0a2", "#fd8d3c", "#e6550d", "#a63603")
"""Fill colours of complaint counts per cell, low to high (quantile classes)."""

HOTSPOT_COLOUR, COLDSPOT_COLOUR, OUTLINE_COLOUR = "#b2182b", "#2166ac", "#303030"

_TEXT = {
    "households": ("户数", "households"), "cells": ("网格单元", "grid cells"), "grid": ("网格边界", "grid outline"),
    "complaints": ("诉求", "complaints"), "overdue": ("超期", "overdue"), "open": ("办理中（未超期）", "open, in time"),
    "closed": ("已办结", "closed"), "count": ("诉求数", "complaints"), "hot": ("热点（Gi*，FDR 校正）", "hotspot (Gi*, FDR)"),
    "cold": ("冷点", "coldspot"), "id": ("工单", "order"), "category": ("分类", "category"),
    "status": ("状态", "status"), "due": ("时限", "due"), "z": ("Gi* z 值", "Gi* z"),
}


def _t(key: str, lang: str) -> str:
    zh, en = _TEXT[key]
    return en if lang == "en" else zh


def _swatch(colour: str, label: str, *, outline: bool = False, dot: bool = False) -> str:
    shape = ("border-radius:50%;width:10px;height:10px" if dot else "width:14px;height:10px")
    fill = f"border:2px solid {colour}" if outline else f"background:{colour}"
    return f'<i style="display:inline-block;{shape};margin-right:6px;{fill}"></i>{html.escape(label)}'


def _legend(title: str | None, rows: list[str]) -> str:
    head = f"<b>{html.escape(title)}</b><br>" if title else ""
    return ('<div style="background:rgba(255,255,255,0.92);padding:6px 8px;border-radius:4px;'
            f'font:12px/1.5 sans-serif;box-shadow:0 0 4px rgba(0,0,0,0.3)">{head}{"<br>".join(rows)}</div>')


def _outline_layer(outlines: pd.DataFrame, basemap: str, name: str, colour: str, weight: float) -> CompactGeoJson:
    labels = outlines["name"].astype(str).map(html.escape) if "name" in outlines else None
    data = geometries_feature_collection(np.asarray(outlines.geometry, dtype=object),
                                         {"name": labels.to_numpy(object)} if labels is not None else None,
                                         basemap=basemap)
    tooltip = GeoJsonTooltip(fields=["name"], labels=False, sticky=True) if labels is not None else None
    return CompactGeoJson(data, name=name, style={"color": colour, "weight": weight, "fill": False},
                          tooltip=tooltip)


def _complaint_layer(complaints: pd.DataFrame, basemap: str, lang: str) -> CompactGeoJson:
    located = complaints[np.isfinite(complaints["lon"].to_numpy(float)) & np.isfinite(complaints["lat"].to_numpy(float))]
    kind = np.where(located["overdue"] & located["is_open"], "overdue", np.where(located["is_open"], "open", "closed"))
    lon, lat = wgs84_to_basemap(basemap, located["lon"], located["lat"])
    texts = {c: [None if pd.isna(v) else html.escape(str(v)) for v in located[c]]
             for c in ("complaint_id", "category_label", "status_label", "due_label")}
    features = [{"type": "Feature", "properties": {"k": k, "id": i, "c": c, "s": s, "d": d},
                 "geometry": {"type": "Point", "coordinates": [round(float(x), 6), round(float(y), 6)]}}
                for k, i, c, s, d, x, y in zip(kind, texts["complaint_id"], texts["category_label"],
                                               texts["status_label"], texts["due_label"], lon, lat)]
    marker = JsCode("function (f, latlng) { var c = " + str(COMPLAINT_COLOURS).replace("'", '"')
                    + "[f.properties.k]; return L.circleMarker(latlng, {radius: f.properties.k === 'closed' ? 3 : 6, "
                    "color: '#ffffff', weight: 1, fillColor: c, fillOpacity: 0.95}); }")
    popup = GeoJsonPopup(fields=["id", "c", "s", "d"],
                         aliases=[_t("id", lang), _t("category", lang), _t("status", lang), _t("due", lang)])
    return CompactGeoJson({"type": "FeatureCollection", "features": features}, name=_t("complaints", lang),
                          point_to_layer=marker, popup=popup)


def _fit(m: folium.Map) -> None:
    (south, west), (north, east) = m.get_bounds()
    if south is not None:
        m.location = [(south + north) / 2, (west + east) / 2]
        m.fit_bounds([[south, west], [north, east]])


def grid_map(cells: pd.DataFrame, outlines: pd.DataFrame, complaints: pd.DataFrame, *, basemap: str = "none",
             tianditu_key: str | None = None, lang: str = "zh", title: str | None = None,
             height: str = "100%") -> folium.Map:
    """A grid manager's map: cells shaded by households, grid outlines, complaints as dots
    (overdue red, open orange, closed grey).

    ``cells``: h3, households; ``outlines``: GeoDataFrame of grids (``name``);
    ``complaints``: lon, lat, complaint_id, category_label, status_label, due_label,
    is_open, overdue.
    """
    basemap_unavailable_reason(basemap, tianditu_key=tianditu_key)
    m = local_map(height=height)
    add_basemap(m, basemap, tianditu_key=tianditu_key, lang=lang)
    households = cells["households"].to_numpy(float)
    share = households / households.max() if len(households) and households.max() > 0 else households
    data = cells_feature_collection(cells["h3"].to_numpy(np.uint64), {"o": np.round(0.1 + 0.5 * share, 2),
                                                                      "h": households}, basemap=basemap)
    CompactGeoJson(data, name=_t("cells", lang), style=JsCode(
        "function (f) { return {color: '#4d4d4d', weight: 0.5, fillColor: '#4575b4', fillOpacity: f.properties.o}; }"),
        tooltip=GeoJsonTooltip(fields=["h"], aliases=[_t("households", lang)], sticky=True)).add_to(m)
    if len(outlines):
        _outline_layer(outlines, basemap, _t("grid", lang), OUTLINE_COLOUR, 2.5).add_to(m)
    if len(complaints):
        _complaint_layer(complaints, basemap, lang).add_to(m)
    rows = [_swatch(COMPLAINT_COLOURS[k], _t(k, lang), dot=True) for k in ("overdue", "open", "closed")]
    rows.append(_swatch("#4575b4", _t("households", lang)))
    Legend(_legend(title, rows)).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    _fit(m)
    return m


def _count_classes(values: np.ndarray, breaks: tuple[float, ...] | None = None) -> tuple[np.ndarray, list[float]]:
    """Class 0 for zero, then classes with upper bounds ``breaks`` (default: quartiles of the
    positive values), the last open-ended."""
    positive = values[values > 0]
    if breaks is not None:
        edges = sorted(breaks)[:3]
    else:
        edges = sorted(set(np.round(np.quantile(positive, [0.25, 0.5, 0.75]), 2).tolist())) if len(positive) else []
    return np.where(values > 0, 1 + np.searchsorted(edges, values, side="left").clip(0, len(edges)), 0), edges


def count_map(cells: pd.DataFrame, *, outlines: pd.DataFrame | None = None, highlight: np.ndarray | None = None,
              highlight_label: str | None = None, breaks: tuple[float, ...] | None = None,
              basemap: str = "none", tianditu_key: str | None = None, lang: str = "zh", title: str | None = None,
              height: str = "100%") -> folium.Map:
    """Complaints per H3 cell (``cells``: h3, count; optional z, hotspot, coldspot) in
    quantile classes (or up to three fixed ``breaks``, so two maps compare), with hotspots
    (red) and coldspots (blue) outlined, or the cells in ``highlight`` outlined (e.g. a
    life-circle gap, labelled ``highlight_label``)."""
    basemap_unavailable_reason(basemap, tianditu_key=tianditu_key)
    m = local_map(height=height)
    add_basemap(m, basemap, tianditu_key=tianditu_key, lang=lang)
    counts = cells["count"].to_numpy(float)
    classes, edges = _count_classes(counts, breaks)
    props = {"b": classes, "n": counts}
    if "z" in cells:
        props["z"] = np.round(cells["z"].to_numpy(float), 2)
    data = cells_feature_collection(cells["h3"].to_numpy(np.uint64), props, basemap=basemap)
    fields = ["n", "z"] if "z" in props else ["n"]
    CompactGeoJson(data, name=_t("count", lang), renderer=JsCode("L.canvas({padding: 0.5})"),
                   style=JsCode(f"function (f) {{ return {{stroke: false, fillOpacity: 0.8, "
                                f"fillColor: {list(COUNT_COLOURS)}[f.properties.b]}}; }}"),
                   tooltip=GeoJsonTooltip(fields=fields, aliases=[_t("count", lang), _t("z", lang)][:len(fields)],
                                          sticky=True)).add_to(m)
    rows = [_swatch(COUNT_COLOURS[0], "0")]
    rows += [_swatch(COUNT_COLOURS[i + 1], f"≤ {e:g}") for i, e in enumerate(edges)]
    if edges:
        rows.append(_swatch(COUNT_COLOURS[len(edges) + 1], f"> {edges[-1]:g}"))
    marks = []
    if "hotspot" in cells:
        marks = [(cells["hotspot"].to_numpy(bool), HOTSPOT_COLOUR, _t("hot", lang)),
                 (cells["coldspot"].to_numpy(bool), COLDSPOT_COLOUR, _t("cold", lang))]
    if highlight is not None:
        marks.append((cells["h3"].isin(highlight).to_numpy(), HOTSPOT_COLOUR, highlight_label or ""))
    for mask, colour, label in marks:
        if mask.any():
            polygons, _ = outline_cells(cells["h3"].to_numpy(np.uint64)[mask])
            data = geometries_feature_collection(polygons, basemap=basemap)
            CompactGeoJson(data, name=label, style={"color": colour, "weight": 3, "fill": False},
                           interactive=False).add_to(m)
        rows.append(_swatch(colour, label, outline=True))
    if outlines is not None and len(outlines):
        _outline_layer(outlines, basemap, _t("grid", lang), OUTLINE_COLOUR, 1).add_to(m)
    Legend(_legend(title, rows)).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    _fit(m)
    return m
