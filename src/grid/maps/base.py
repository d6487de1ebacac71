"""Leaflet maps that load nothing from the internet: a folium Map whose only
scripts and stylesheets are the local Leaflet served by Streamlit.

folium's ``Map.default_js``/``default_css`` fetch Leaflet, jQuery, Bootstrap,
awesome-markers and Font Awesome from CDNs; offline (or on an intranet) the map
is then blank and Python reports nothing. Here they are replaced by Leaflet
alone, at **absolute** ``/app/static/`` URLs (Streamlit's static serving of
``static/``; relative URLs would resolve inside the streamlit-folium iframe and
404). Leaflet itself is fetched from the npm registry by ``make setup`` into
``static/vendor/leaflet`` (git-ignored). Only elements that need nothing but
Leaflet are used: no ``folium.Popup`` (it calls jQuery), no ``Marker`` icons
(awesome-markers), no ``keep_in_front`` (jQuery).
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import folium

from grid.maps.layers import MapControls
from grid.settings import PROJECT_ROOT

__all__ = [
    "LEAFLET_CSS_URL",
    "LEAFLET_DIR",
    "LEAFLET_JS_URL",
    "external_urls",
    "local_map",
    "map_html",
    "map_payload_bytes",
]

LEAFLET_JS_URL = "/app/static/vendor/leaflet/leaflet.js"
"""Absolute URL of the local Leaflet script (served by Streamlit from ``static/``)."""

LEAFLET_CSS_URL = "/app/static/vendor/leaflet/leaflet.css"
"""Absolute URL of the local Leaflet stylesheet."""

LEAFLET_DIR = PROJECT_ROOT / "static" / "vendor" / "leaflet"
"""Where ``make setup`` puts Leaflet (from the npm registry, never committed)."""

_URL_ATTRIBUTE = re.compile(r"""<(script|link)\b[^>]*?\b(?:src|href)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)


def local_map(*, location: tuple[float, float] | None = None, zoom_start: int = 13, height: str = "100%",
              prefer_canvas: bool = False) -> folium.Map:
    """A folium Map with no tiles whose only assets are the local Leaflet files.

    Parameters
    ----------
    location : (lat, lon), optional
        Initial centre in degrees of the map's display datum; None centres on (0, 0).
    zoom_start : int
        Initial zoom level.
    height : str
        CSS height of the map element.
    prefer_canvas : bool
        Draw vector layers on a canvas rather than as SVG paths.

    Returns
    -------
    folium.Map
        ``default_js``/``default_css`` are exactly ``[LEAFLET_JS_URL]``/``[LEAFLET_CSS_URL]``.
    """
    m = folium.Map(location=list(location) if location else None, zoom_start=zoom_start, tiles=None,
                   height=height, prefer_canvas=prefer_canvas, zoom_snap=0.25)
    # Instance attributes shadow folium's CDN lists (the class attributes stay untouched).
    m.default_js = [("leaflet", LEAFLET_JS_URL)]
    m.default_css = [("leaflet_css", LEAFLET_CSS_URL)]
    MapControls().add_to(m)
    return m


def map_html(m: folium.Map, *, standalone: bool = False, leaflet_dir: Path = LEAFLET_DIR) -> str:
    """The whole HTML page of ``m``.

    Parameters
    ----------
    m : folium.Map
        A map made by :func:`local_map` (or a builder using it).
    standalone : bool
        Inline Leaflet's script, stylesheet and images so the file works when opened
        from disk without any server or network (for "download the map as HTML").
        Otherwise Leaflet is referenced at its ``/app/static/`` URL, as the app serves it.
    leaflet_dir : pathlib.Path
        Folder holding ``leaflet.js``, ``leaflet.css`` and ``images/`` (``make setup``).

    Returns
    -------
    str
        The HTML document.
    """
    html = m.get_root().render()
    if not standalone:
        return html
    js, css = _leaflet_file(leaflet_dir, "leaflet.js"), _inline_images(_leaflet_file(leaflet_dir, "leaflet.css"),
                                                                       leaflet_dir)
    html = html.replace(f'<script src="{LEAFLET_JS_URL}"></script>', f"<script>{js}</script>")
    return html.replace(f'<link rel="stylesheet" href="{LEAFLET_CSS_URL}"/>', f"<style>{css}</style>")


def map_payload_bytes(m: folium.Map) -> int:
    """Size in bytes (UTF-8) of the map as sent to the browser: its HTML with Leaflet referenced, not inlined."""
    return len(map_html(m).encode("utf-8"))


def external_urls(html: str) -> list[str]:
    """``src``/``href`` of ``<script>`` and ``<link>`` tags in ``html`` that point off the serving host.

    Absolute paths (``/app/static/...``) are local; ``http://``, ``https://`` and
    protocol-relative ``//host/...`` URLs are external.
    """
    return [url for _, url in _URL_ATTRIBUTE.findall(html) if re.match(r"^(?:[a-z][a-z0-9+.-]*:)?//", url, re.I)]


def _leaflet_file(leaflet_dir: Path, name: str) -> str:
    path = leaflet_dir / name
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: the local Leaflet is fetched by `make setup` "
                                "(npm pack leaflet@1.9.4 into static/vendor/leaflet)")
    return path.read_text(encoding="utf-8")


def _inline_images(css: str, leaflet_dir: Path) -> str:
    """``url(images/x.png)`` in Leaflet's stylesheet replaced by data URIs."""
    def data_uri(match: re.Match[str]) -> str:
        path = leaflet_dir / "images" / match.group(1)
        if not path.exists():
            return match.group(0)
        return f"url(data:image/png;base64,{base64.b64encode(path.read_bytes()).decode('ascii')})"
    return re.sub(r"url\(images/([A-Za-z0-9_.-]+\.png)\)", data_uri, css)
