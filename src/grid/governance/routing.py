"""Complaint routing (派单): point -> H3 cell -> grid -> manager, community, sub-district.

A located complaint goes to the grid whose polygon holds its point: the H3 cell
gives the candidate grids, and where a cell is shared by several grids the
point-in-polygon test decides. A complaint without a usable location is routed
by its text to the community its address (or community field) names; failing
that it waits in the unrouted queue with the reason.

Levels: ``grid`` (a grid, hence its manager), ``community`` (no grid known:
the community dispatches), ``none`` (the unrouted queue).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

__all__ = ["RoutingInputs", "route_complaints", "place_points", "names_in_text", "routing_counts"]

_SUFFIXES = re.compile(r"(社区居民委员会|社区居委会|居民委员会|社区|居委会|村民委员会|村委会)$")


@dataclass(frozen=True)
class RoutingInputs:
    """What routing reads besides the complaints.

    ``grid_cells`` and ``community_cells``: (id, h3, area_share) with ``id`` the grid or
    community id; ``grid_geoms`` / ``community_geoms``: id -> WGS-84 polygon;
    ``grids``: grid_id, community_id; ``communities``: community_id, name, subdistrict;
    ``grid_managers``: grid_id, manager_id (one row per grid).
    """

    grid_cells: pd.DataFrame
    community_cells: pd.DataFrame
    grid_geoms: dict[str, shapely.Geometry]
    community_geoms: dict[str, shapely.Geometry]
    grids: pd.DataFrame
    communities: pd.DataFrame
    grid_managers: pd.DataFrame


def place_points(h3: np.ndarray, lon: np.ndarray, lat: np.ndarray, cells: pd.DataFrame,
                 geoms: dict[str, shapely.Geometry]) -> np.ndarray:
    """Id of the polygon holding each point (object array, None outside all).

    ``cells`` maps (id, h3, area_share). A cell wholly inside one polygon
    (area_share 1) decides alone; in a cell the polygon covers only in part, or
    shares with others, the point-in-polygon test decides (a point on an edge
    counts for both sides; the largest share breaks that tie). A point in no
    candidate polygon is outside: None.
    """
    out = np.full(len(h3), None, dtype=object)
    if not len(h3) or cells.empty:
        return out
    points = pd.DataFrame({"row": np.arange(len(h3)), "h3": h3}).dropna()
    points["h3"] = points["h3"].astype(np.uint64)
    cand = points.merge(cells, on="h3").sort_values(["row", "area_share"], ascending=[True, False])
    whole = ~cand["row"].duplicated(keep=False).to_numpy() & (cand["area_share"].to_numpy() >= 1 - 1e-9)
    out[cand.loc[whole, "row"].to_numpy()] = cand.loc[whole, "id"].to_numpy(dtype=object)
    test = cand[~whole]
    if len(test):
        rows = test["row"].to_numpy()
        polys = np.array([geoms.get(i) for i in test["id"]], dtype=object)
        inside = ~shapely.is_missing(polys)
        inside[inside] = shapely.intersects_xy(polys[inside], lon[rows[inside]], lat[rows[inside]])
        held = test[inside].drop_duplicates("row")  # sorted by share: the largest holding polygon first
        out[held["row"].to_numpy()] = held["id"].to_numpy(dtype=object)
    return out


def _clean(text: pd.Series) -> pd.Series:
    """Text for matching: casefolded, runs of spaces as one space."""
    return text.fillna("").str.casefold().str.replace(r"\s+", " ", regex=True).str.strip()


def _name_pattern(name: str) -> str:
    """Regex finding ``name`` in a text: Latin-script names on word boundaries (CARE must not
    match CAREY), Chinese names anywhere, spaces in the text ignored."""
    if re.search(r"[a-z0-9]", name):
        return r"(?<![a-z0-9])" + re.escape(name).replace(r"\ ", r"\s*") + r"(?![a-z0-9])"
    return r"\s*".join(re.escape(ch) for ch in name.replace(" ", ""))


def _matches(clean: pd.Series, names: pd.Series, ids: pd.Series) -> dict[object, list[tuple[str, str]]]:
    """Per text label: the (name, community_id) pairs found in it."""
    found: dict[object, list[tuple[str, str]]] = {}
    for name, cid in zip(names, ids):
        if len(name.replace(" ", "")) < 2:
            continue
        for label in clean.index[clean.str.contains(_name_pattern(name), regex=True)]:
            found.setdefault(label, []).append((name, str(cid)))
    return found


def _pick(matches: list[tuple[str, str]]) -> tuple[str | None, str | None]:
    """The community of a text's matches, or None with the ambiguity reason: a name found only
    as part of a longer name found (春晓 inside 春晓花园) does not count."""
    kept = [(n, c) for n, c in matches if not any(n != m and n in m for m, _ in matches)]
    communities = sorted({c for _, c in kept})
    if len(communities) == 1:
        return communities[0], None
    return None, "address names several communities: " + ", ".join(communities)


def names_in_text(texts: pd.Series, communities: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Community named in each text: (community_id or NA, reason when ambiguous).

    A text that *is* a community's name, with or without its 社区/居委会 suffix (a
    community field), decides at once. Otherwise every community name found in the
    text counts (see :func:`_name_pattern`); a name found only inside a longer
    found name is dropped; two different communities left is ambiguous.
    """
    ids = pd.Series(pd.NA, index=texts.index, dtype="string")
    reasons = pd.Series(pd.NA, index=texts.index, dtype="string")
    if communities.empty or texts.empty:
        return ids, reasons
    clean = _clean(texts)
    names = _clean(communities["name"])
    short = names.str.replace(_SUFFIXES, "", regex=True)
    exact = dict(zip(short[short != ""], communities["community_id"])) | dict(zip(names, communities["community_id"]))
    hits = clean.map(exact)
    undecided = clean[hits.isna() & (clean != "")]
    for label, matches in _matches(undecided, names, communities["community_id"]).items():
        hits[label], reasons[label] = _pick(matches)
    ids[:] = hits.astype("string")
    return ids, reasons


def _by_text(frame: pd.DataFrame, communities: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Community from the community field first, else from the address text."""
    from_area, why_area = names_in_text(frame["area_name"], communities)
    from_address, why_address = names_in_text(frame["address"], communities)
    return from_area.fillna(from_address), why_area.fillna(why_address)


def _unrouted_reason(frame: pd.DataFrame, located: np.ndarray, text_reason: pd.Series) -> pd.Series:
    has_text = frame["address"].notna() | frame["area_name"].notna()
    base = np.where(located, "point lies outside every grid and community",
                    np.where(has_text, "no usable location and the address names no known community",
                             "no usable location and no address"))
    return text_reason.fillna(pd.Series(base, index=frame.index)).astype("string")


def route_complaints(complaints: pd.DataFrame, inputs: RoutingInputs) -> pd.DataFrame:
    """One route per complaint: h3, grid_id, community_id, subdistrict, manager_id, method, level, reason.

    ``complaints``: complaint_id, h3 (nullable), lon, lat, address, area_name.
    method: ``point`` or ``address`` (how the place was found) or ``none``.
    """
    frame = complaints.reset_index(drop=True)
    h3 = frame["h3"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    located = np.isfinite(h3)
    h3_u = np.where(located, frame["h3"].fillna(0).astype("uint64").to_numpy(), 0).astype(np.uint64)
    h3_obj = np.where(located, h3_u, None)
    lon, lat = frame["lon"].to_numpy(float), frame["lat"].to_numpy(float)
    grid = place_points(h3_obj, lon, lat, inputs.grid_cells, inputs.grid_geoms)
    community = place_points(h3_obj, lon, lat, inputs.community_cells, inputs.community_geoms)
    grid_community = pd.Series(grid).map(inputs.grids.set_index("grid_id")["community_id"]).to_numpy(dtype=object)
    community = np.where(pd.notna(grid_community), grid_community, community)
    need = pd.isna(community)
    text_id, text_reason = _by_text(frame[need], inputs.communities)
    text_id, text_reason = text_id.reindex(frame.index), text_reason.reindex(frame.index)
    by_text = need & text_id.notna().to_numpy()
    community = np.where(by_text, text_id.to_numpy(dtype=object), community)
    out = pd.DataFrame({"complaint_id": frame["complaint_id"], "h3": pd.array(np.where(located, h3_u, None),
                                                                              dtype="UInt64"),
                        "grid_id": pd.array(grid, dtype="string"), "community_id": pd.array(community, dtype="string")})
    out["subdistrict"] = out["community_id"].map(inputs.communities.set_index("community_id")["subdistrict"]
                                                 ).astype("string")
    out["manager_id"] = out["grid_id"].map(inputs.grid_managers.set_index("grid_id")["manager_id"]).astype("string")
    has_grid, has_community = out["grid_id"].notna(), out["community_id"].notna()
    out["method"] = np.where(by_text, "address", np.where(has_community | has_grid, "point", "none"))
    out["level"] = np.where(has_grid, "grid", np.where(has_community, "community", "none"))
    out["reason"] = _route_reasons(out, frame, located, text_reason)
    return out


def _route_reasons(out: pd.DataFrame, frame: pd.DataFrame, located: np.ndarray, text_reason: pd.Series) -> pd.Series:
    reason = pd.Series(pd.NA, index=out.index, dtype="string")
    no_manager = out["grid_id"].notna() & out["manager_id"].isna()
    reason[no_manager] = "grid " + out.loc[no_manager, "grid_id"] + " has no manager in the roster"
    community_only = (out["level"] == "community") & (out["method"] == "point")
    reason[community_only] = "point lies in community " + out.loc[community_only, "community_id"] + " but in no grid"
    by_address = out["method"] == "address"
    reason[by_address] = np.where(located[by_address.to_numpy()],
                                  "point lies outside every grid and community; routed by the address text",
                                  "no usable location; routed by the address text")
    none = out["level"] == "none"
    reason[none] = _unrouted_reason(frame, located, text_reason)[none]
    return reason


def routing_counts(routes: pd.DataFrame) -> dict[str, int]:
    """Routed and unrouted counts: to a grid, to a community only, by address, unrouted, without manager."""
    return {"routed_to_grid": int((routes["level"] == "grid").sum()),
            "routed_to_community": int((routes["level"] == "community").sum()),
            "routed_by_address": int((routes["method"] == "address").sum()),
            "unrouted": int((routes["level"] == "none").sum()),
            "without_manager": int(((routes["level"] == "grid") & routes["manager_id"].isna()).sum())}
