"""Maps (地图) for the app and for export: folium/Leaflet with the local Leaflet only,
base maps with the datum shift they need, and the coverage map.

The only package of grid that imports folium. Nothing here loads anything from
the internet unless the caller chooses an online base map.

In a Streamlit page::

    m = maps.coverage_map(cells, facilities=facilities, communities=boundaries, gaps=gaps, lang="zh")
    st_folium(m, key="coverage_map", height=560, use_container_width=True, returned_objects=[])

and for a download, ``maps.map_html(m, standalone=True)`` (Leaflet inlined: opens from disk, offline).
"""

from grid.maps.base import (LEAFLET_CSS_URL, LEAFLET_DIR, LEAFLET_JS_URL, external_urls, local_map, map_html,
                            map_payload_bytes)
from grid.maps.basemaps import BASEMAPS, add_basemap, basemap_label, basemap_unavailable_reason, wgs84_to_basemap
from grid.maps.cells import (UNREACHABLE_COLOUR, WALK_MIN_BREAKS, WALK_MIN_COLOURS, aggregate_cells,
                             cells_feature_collection, coarsen_to_fit, geometries_feature_collection, outline_cells,
                             walk_min_classes)
from grid.maps.coverage import GAP_COLOUR, coverage_map
from grid.maps.governance import COMPLAINT_COLOURS, COUNT_COLOURS, count_map, grid_map

__all__ = [
    "BASEMAPS",
    "COMPLAINT_COLOURS",
    "COUNT_COLOURS",
    "count_map",
    "grid_map",
    "GAP_COLOUR",
    "LEAFLET_CSS_URL",
    "LEAFLET_DIR",
    "LEAFLET_JS_URL",
    "UNREACHABLE_COLOUR",
    "WALK_MIN_BREAKS",
    "WALK_MIN_COLOURS",
    "add_basemap",
    "aggregate_cells",
    "basemap_label",
    "basemap_unavailable_reason",
    "cells_feature_collection",
    "coarsen_to_fit",
    "coverage_map",
    "external_urls",
    "geometries_feature_collection",
    "local_map",
    "map_html",
    "map_payload_bytes",
    "outline_cells",
    "walk_min_classes",
    "wgs84_to_basemap",
]
