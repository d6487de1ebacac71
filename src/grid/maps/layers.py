"""folium elements that need nothing but Leaflet: a GeoJSON layer serialised
compactly (for tens of thousands of cells) and a legend control."""

from __future__ import annotations

import json
from typing import Any

import folium
from branca.element import Element, MacroElement
from folium.template import Template

__all__ = ["CompactGeoJson", "Legend", "MapControls"]


def _script_json(data: object) -> str:
    """Compact JSON safe inside a ``<script>`` element (``<``, ``>``, ``&`` escaped)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class _RawText(Element):
    """Text rendered as it is (no template)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def render(self, **kwargs: Any) -> str:
        return self.text


class CompactGeoJson(folium.GeoJson):
    """A ``folium.GeoJson`` whose data are written once, as compact JSON, and styled in
    the browser by ``style`` (a ``folium.JsCode`` function of the feature).

    folium's own GeoJson writes indented JSON and, with a Python ``style_function``,
    a switch over every feature id; for 50,000 cells both multiply the payload.
    Tooltips and popups (``GeoJsonTooltip``/``GeoJsonPopup``) work as with GeoJson
    (and are left out when there are no features).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJson(null, {{ this.options|tojavascript }});
        {%- if not this._placeholder %}
        {{ this.get_name() }}.addData({{ this.data_json() }});
        {%- endif %}
        {% endmacro %}
        """
    )

    def __init__(self, data: dict, **kwargs: Any) -> None:
        if not data["features"]:  # folium checks tooltip and popup fields against the first feature
            kwargs.pop("tooltip", None)
            kwargs.pop("popup", None)
        super().__init__(data, **kwargs)
        self._name = "GeoJson"
        self._json: str | None = None
        self._placeholder = False

    def render(self, **kwargs: Any) -> None:
        """Render as GeoJson does, but put the script with the data into the page as raw
        text: branca compiles every rendered script as a Jinja template again, which for
        megabytes of JSON costs seconds (and would interpret any ``{{`` in the data)."""
        self._placeholder = True
        try:
            super().render(**kwargs)
        finally:
            self._placeholder = False
        script = self._template.module.__dict__["script"](self, kwargs)
        self.get_root().script.add_child(_RawText(script), name=self.get_name())

    def _get_self_bounds(self) -> list[list[float | None]]:
        """[[south, west], [north, east]] from the collection's ``bbox`` when it has one (no walk over features)."""
        bbox = self.data.get("bbox")
        if bbox is None:
            return super()._get_self_bounds()
        return [[bbox[1], bbox[0]], [bbox[3], bbox[2]]]

    def data_json(self) -> str:
        """The layer's FeatureCollection as compact script-safe JSON (computed once)."""
        if self._json is None:
            self._json = _script_json(self.data)
        return self._json


class Legend(MacroElement):
    """A Leaflet control (bottom right) showing ``html``."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: "bottomright"});
        {{ this.get_name() }}.onAdd = function (map) {
            var div = L.DomUtil.create("div", "grid-legend");
            div.innerHTML = {{ this.html_json() }};
            L.DomEvent.disableClickPropagation(div);
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, html: str) -> None:
        super().__init__()
        self._name = "Legend"
        self.html = html

    def html_json(self) -> str:
        """The legend's HTML as a script-safe JavaScript string literal."""
        return _script_json(self.html)


class MapControls(MacroElement):
    """A scale bar in metres only (folium's ``control_scale`` adds feet and miles) and a
    plain "Leaflet" attribution prefix (no link, no flag)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.control.scale({imperial: false}).addTo({{ this._parent.get_name() }});
        if ({{ this._parent.get_name() }}.attributionControl) {
            {{ this._parent.get_name() }}.attributionControl.setPrefix("Leaflet");
        }
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "MapControls"
