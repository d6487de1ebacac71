"""Public streets of the demo district: arterials, local streets, bridges, railway crossings,
the railway itself and an elevated expressway that walkers cannot use."""

from __future__ import annotations

import numpy as np

from grid.demo.frame import round_plan
from grid.demo.layout import Layout
from grid.demo.streets import Streets

__all__ = ["add_public_streets", "EXPRESSWAY_NAME", "RAILWAY_NAME"]

EXPRESSWAY_NAME = "江城快速路"
RAILWAY_NAME = "江北铁路"
_ARTERIAL = {"primary", "secondary"}


def _street_tag(streets: Streets, highway: str, name: str, **extra: str) -> int:
    sidewalk = "both" if highway in _ARTERIAL else None
    return streets.tag(highway=highway, name=name, sidewalk=sidewalk, **extra)


def _join(streets: Streets, orient: int, coord: float, start: float, end: float, tag: int) -> None:
    """An interval whose end points are also attached to the perpendicular lines they meet."""
    streets.interval(orient, coord, start, end, tag)
    for pos in (start, end):
        streets.attach(1 - orient, pos, coord)


def _arterial_sides(layout: Layout, streets: Streets) -> None:
    u_tags = [_street_tag(streets, c, n) for c, n in zip(layout.u_class, layout.u_names)]
    v_tags = [_street_tag(streets, c, n) for c, n in zip(layout.v_class, layout.v_names)]
    for sb in layout.superblocks.itertuples(index=False):
        _join(streets, 0, sb.v0, sb.u0, sb.u1, v_tags[sb.row])
        _join(streets, 0, sb.v1, sb.u0, sb.u1, v_tags[sb.row + 1])
        _join(streets, 1, sb.u0, sb.v0, sb.v1, u_tags[sb.col])
        _join(streets, 1, sb.u1, sb.v0, sb.v1, u_tags[sb.col + 1])


def _local_streets(layout: Layout, streets: Streets) -> None:
    for line in layout.local_lines.itertuples(index=False):
        _join(streets, int(line.orient), line.coord, line.start, line.end, _street_tag(streets, line.highway, line.name))


def _bridges(layout: Layout, streets: Streets) -> None:
    south, north = layout.v_lines[layout.river_row], layout.v_lines[layout.river_row + 1]
    for index, name in zip(layout.bridge_lines, layout.bridge_names):
        tag = _street_tag(streets, layout.u_class[index], name, bridge="yes", layer="1")
        _join(streets, 1, layout.u_lines[index], south, north, tag)


def _rail_crossings(layout: Layout, streets: Streets) -> None:
    west, east = layout.u_lines[layout.rail_col], layout.u_lines[layout.rail_col + 1]
    level = streets.tag(railway="level_crossing")
    for row, kind in zip(layout.rail_roads, layout.rail_road_kind):
        extra = {"tunnel": "yes", "layer": "-1"} if kind == "underpass" else {}
        tag = _street_tag(streets, layout.v_class[row], layout.v_names[row], **extra)
        _join(streets, 0, layout.v_lines[row], west, east, tag)
        if kind == "level":
            streets.tag_node(int(streets.attach(0, layout.v_lines[row], layout.rail_u)[0]), level)
    underpass = streets.tag(highway="footway", tunnel="yes", layer="-1", name="铁路人行地道")
    for v in layout.rail_foot_v:
        _join(streets, 0, v, west, east, underpass)
    for row in (layout.river_row, layout.river_row + 1):  # the railway crosses the embankments on its viaduct
        _join(streets, 0, layout.v_lines[row], west, east, _street_tag(streets, layout.v_class[row],
                                                                        layout.v_names[row]))


def _railway(layout: Layout, streets: Streets) -> None:
    """The railway track: separate nodes except at level crossings; a bridge over the river."""
    level = {float(layout.v_lines[r]) for r, k in zip(layout.rail_roads, layout.rail_road_kind) if k == "level"}
    south, north = layout.water_v[0] - 40.0, layout.water_v[1] + 40.0
    stops = np.unique(round_plan(np.concatenate([layout.v_lines, [south, north]])))
    refs = np.array([streets.attach(0, v, layout.rail_u)[0] if float(v) in level
                     else streets.nodes(layout.rail_u, v)[0] for v in stops])
    rail = {"railway": "rail", "name": RAILWAY_NAME, "usage": "main", "gauge": "1435"}
    i_south, i_north = int(np.searchsorted(stops, south)), int(np.searchsorted(stops, north))
    streets.way(refs[:i_south + 1], streets.tag(**rail))
    streets.way(refs[i_south:i_north + 1], streets.tag(**rail, bridge="yes", layer="1"))
    streets.way(refs[i_north:], streets.tag(**rail))


def _expressway(layout: Layout, streets: Streets) -> None:
    """Elevated expressway (高架快速路) above one N-S arterial: no sidewalk, foot=no; joins only at its ends."""
    if layout.trunk_line < 0:
        return
    u = layout.u_lines[layout.trunk_line]
    v = round_plan(np.linspace(layout.v_lines[0], layout.v_lines[-1], max(2, int(np.ptp(layout.v_lines) // 250))))
    inner = streets.nodes(np.full(len(v) - 2, u), v[1:-1])
    ends = streets.attach(1, u, v[[0, -1]])
    tag = streets.tag(highway="trunk", name=EXPRESSWAY_NAME, bridge="yes", layer="1", foot="no", sidewalk="no",
                      motorroad="yes")
    streets.way(np.concatenate([[ends[0]], inner, [ends[1]]]), tag)


def add_public_streets(layout: Layout, streets: Streets) -> None:
    """Add every public street, the railway and the expressway of ``layout`` to ``streets``."""
    _arterial_sides(layout, streets)
    _local_streets(layout, streets)
    _bridges(layout, streets)
    _rail_crossings(layout, streets)
    _railway(layout, streets)
    _expressway(layout, streets)
