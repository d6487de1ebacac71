"""Base maps (底图): none (offline, the default), OpenStreetMap, Tianditu (天地图) and
Amap (高德地图), and the datum every overlay must be drawn in to line up with them.

Our data are WGS-84. OpenStreetMap and Tianditu's ``_w`` (Web-Mercator) tiles
are WGS-84 / CGCS2000 (equal to well under a metre here), so overlays are drawn
as they are. Amap tiles are in GCJ-02, offset from WGS-84 by a few hundred
metres in China: overlays are shifted with :func:`grid.crs.wgs84_to_gcj02`
before drawing (:func:`wgs84_to_basemap`). Only ``none`` works offline; the
others load tiles from their servers in the viewer's browser.
"""

from __future__ import annotations

import re

import folium
import numpy as np
from numpy.typing import ArrayLike

from grid.crs import wgs84_to_gcj02
from grid.errors import ConfigError

__all__ = ["BASEMAPS", "add_basemap", "basemap_label", "basemap_unavailable_reason", "wgs84_to_basemap"]

BASEMAPS = ("none", "osm", "tianditu", "amap")
"""Base map ids; ``none`` (no tiles, works offline) is the default and the only one for synthetic data."""

_DATUM = {"none": "wgs84", "osm": "wgs84", "tianditu": "wgs84", "amap": "gcj02"}

_LABELS = {
    "none": ("无底图（离线）", "none (offline)"),
    "osm": ("OpenStreetMap（需联网）", "OpenStreetMap (online)"),
    "tianditu": ("天地图（需联网和密钥）", "Tianditu (online, needs a key)"),
    "amap": ("高德地图（需联网，GCJ-02）", "Amap (online, GCJ-02)"),
}

_OSM = ("https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors')

_TIANDITU_URL = ("https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                 "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
                 "&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}")
_TIANDITU_ATTR = '&copy; <a href="https://www.tianditu.gov.cn/">天地图</a> 国家地理信息公共服务平台'

_AMAP = ("https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
         '&copy; <a href="https://www.amap.com/">高德地图</a> AutoNavi')

_TIANDITU_KEY = re.compile(r"[0-9a-fA-F]{32}")


def basemap_label(basemap: str, lang: str = "zh") -> str:
    """Name of ``basemap`` for a selector, in ``lang`` ('zh' or 'en')."""
    _check(basemap)
    zh, en = _LABELS[basemap]
    return en if lang == "en" else zh


def basemap_unavailable_reason(basemap: str, *, tianditu_key: str | None = None, lang: str = "zh") -> str | None:
    """Why ``basemap`` cannot be used now (in ``lang``), or None when it can.

    Only Tianditu has a precondition: a browser key (``tk``, 32 hexadecimal
    characters) registered by the user at https://console.tianditu.gov.cn.
    """
    _check(basemap)
    if basemap != "tianditu":
        return None
    if not tianditu_key:
        return ("天地图需要用户自己的密钥（tk）：在 https://console.tianditu.gov.cn 申请浏览器端密钥后填入。"
                if lang != "en" else "Tianditu needs your own key (tk): register a browser key at "
                "https://console.tianditu.gov.cn and enter it.")
    if not _TIANDITU_KEY.fullmatch(tianditu_key.strip()):
        return (f"天地图密钥应为 32 位十六进制字符，收到 {len(tianditu_key.strip())} 个字符。"
                if lang != "en" else f"a Tianditu key is 32 hexadecimal characters; got {len(tianditu_key.strip())} "
                "characters.")
    return None


def add_basemap(m: folium.Map, basemap: str, *, tianditu_key: str | None = None, lang: str = "zh") -> None:
    """Add the tile layer(s) of ``basemap`` to ``m`` (nothing for ``none``).

    Raises
    ------
    ConfigError
        Unknown ``basemap``, or Tianditu without a valid key (the message says how to get one).
    """
    reason = basemap_unavailable_reason(basemap, tianditu_key=tianditu_key, lang="en")
    if reason:
        raise ConfigError(f"basemap 'tianditu' is unavailable: {reason} Or choose basemap 'none'.")
    if basemap == "osm":
        folium.TileLayer(_OSM[0], attr=_OSM[1], name="OpenStreetMap", max_zoom=19).add_to(m)
    elif basemap == "tianditu":
        key = tianditu_key.strip()  # type: ignore[union-attr]  # checked above
        for layer, name in (("vec", "天地图"), ("eva" if lang == "en" else "cva", "天地图注记")):
            folium.TileLayer(_TIANDITU_URL.format(layer=layer, key=key), attr=_TIANDITU_ATTR, name=name,
                             subdomains="01234567", max_zoom=18, overlay=layer != "vec").add_to(m)
    elif basemap == "amap":
        folium.TileLayer(_AMAP[0], attr=_AMAP[1], name="高德地图", subdomains="1234", max_zoom=18).add_to(m)


def wgs84_to_basemap(basemap: str, lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 lon/lat (degrees) in the datum ``basemap`` is drawn in: GCJ-02 for Amap, else unchanged."""
    _check(basemap)
    lon_a, lat_a = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    if _DATUM[basemap] == "gcj02":
        return wgs84_to_gcj02(lon_a, lat_a)
    return lon_a, lat_a


def _check(basemap: str) -> None:
    if basemap not in BASEMAPS:
        raise ConfigError(f"unknown basemap {basemap!r}; choose one of {list(BASEMAPS)}")
