"""Walkable ways from OpenStreetMap files (PBF or XML, optionally gzip/bz2) and the walkable filter.

Reading goes through libosmium in C++ end to end: pyosmium stores the node
locations, keeps ways with a ``highway`` tag and writes them, with their node
locations, as OPL text to a temporary file; pyarrow then parses that text
column-wise. No Python object is made per way or per node (pyosmium's Python
callbacks cost about 23 s for a million ways of five nodes; this path about 4 s).

Which ways are walkable is data: ``geodata/network/osm_walkable.csv`` (see the
README beside it). A way is walkable when its ``highway`` value is listed as
``yes``, or as ``sidewalk`` and it has a sidewalk tag or a foot permission; and
it is not an area, not ``foot=no``, and not ``access=private|no`` without a
foot permission.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import osmium
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from grid.errors import ConfigError, InputError
from grid.network.build import Network, Ways, network_from_ways
from grid.settings import get_settings

__all__ = ["OSM_SUFFIXES", "REASONS", "WalkableRules", "is_osm_path", "walkable_rules_path", "load_walkable_rules",
           "walkable_reasons", "read_osm_ways", "network_from_osm"]

log = logging.getLogger(__name__)

OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.xml", ".osm.gz", ".osm.bz2", ".osm.xml.gz", ".osm.xml.bz2")

REASONS = {
    "highway_unknown": "highway value not in the walkable table",
    "highway_not_walkable": "highway value listed as not walkable (construction, proposed, platform...)",
    "area": "an area (area=yes), not a line",
    "foot_no": "foot=no",
    "access_private": "access=private/no without a foot permission",
    "no_sidewalk": "trunk/motorway without a sidewalk tag or foot permission",
}

_RULE_VALUES = {"highway": {"yes", "no", "sidewalk"}, "foot": {"yes", "no"}, "access": {"no"}, "area": {"no"}}
_ESCAPE = re.compile(r"%([0-9a-fA-F]+)%")
_OPL_FORMAT = "opl,add_metadata=false,locations_on_ways=true"
# OPL node lists "Nn1x121.5y31.2,n2x...": one "ref,x,y" line per node reference after this translation.
_NODE_BYTES = bytes.maketrans(b"N,xy", b"\n\n,,")


@dataclass(frozen=True)
class WalkableRules:
    """The walkable filter read from ``osm_walkable.csv``.

    ``highway`` maps a value to 'yes', 'no' or 'sidewalk' (walkable only with a
    sidewalk tag or a foot permission); ``sidewalk`` maps a sidewalk key to the
    values that mean a sidewalk exists.
    """

    highway: Mapping[str, str]
    foot_allow: frozenset[str]
    foot_deny: frozenset[str]
    access_deny: frozenset[str]
    area_deny: frozenset[str]
    sidewalk: Mapping[str, frozenset[str]]

    @property
    def keys(self) -> tuple[str, ...]:
        """OSM tag keys the filter reads."""
        return ("highway", "foot", "access", "area", *self.sidewalk)


def is_osm_path(path: Path | str) -> bool:
    """True when the file name ends with one of :data:`OSM_SUFFIXES`."""
    return str(path).lower().endswith(OSM_SUFFIXES)


def walkable_rules_path(geodata_dir: Path | None = None) -> Path:
    """Path of the walkable table in ``geodata_dir`` (default: the settings' ``GRID_GEODATA``)."""
    return (geodata_dir or get_settings().geodata_dir) / "network" / "osm_walkable.csv"


def _check_rule_rows(frame: pd.DataFrame, path: Path) -> None:
    missing = {"key", "value", "walkable", "rule", "source", "verified"} - set(frame.columns)
    if missing:
        raise ConfigError(f"{path} lacks columns {sorted(missing)}; columns are {list(frame.columns)}")
    for number, row in enumerate(frame.itertuples(index=False), start=2):
        allowed = {"yes"} if row.key.startswith("sidewalk") else _RULE_VALUES.get(row.key)
        if allowed is None or row.walkable not in allowed or row.verified not in ("true", "false"):
            raise ConfigError(
                f"{path} line {number}: key={row.key!r} walkable={row.walkable!r} verified={row.verified!r} is not "
                f"understood; keys and walkable values: {_RULE_VALUES} and sidewalk*: yes; verified true/false")


def load_walkable_rules(path: Path | None = None) -> WalkableRules:
    """Read the walkable table (default: :func:`walkable_rules_path`).

    Raises
    ------
    ConfigError
        If a column is missing or a row has a key or walkable value the filter does not know.
    """
    path = Path(path) if path else walkable_rules_path()
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    _check_rule_rows(frame, path)

    def values(key: str, walkable: str) -> frozenset[str]:
        return frozenset(frame.loc[(frame["key"] == key) & (frame["walkable"] == walkable), "value"])

    highway = frame[frame["key"] == "highway"]
    sidewalk_keys = sorted(k for k in frame["key"].unique() if k.startswith("sidewalk"))
    return WalkableRules(highway=dict(zip(highway["value"], highway["walkable"], strict=True)),
                         foot_allow=values("foot", "yes"), foot_deny=values("foot", "no"),
                         access_deny=values("access", "no"), area_deny=values("area", "no"),
                         sidewalk={k: values(k, "yes") for k in sidewalk_keys})


def walkable_reasons(tags: Mapping[str, np.ndarray], rules: WalkableRules, *,
                     unknown_walkable: bool = False) -> np.ndarray:
    """Why each way is not walkable (a code of :data:`REASONS`), '' for walkable ways.

    ``tags`` maps a key to one value per way (None where absent); ``highway`` is
    required, other keys of ``rules.keys`` are optional. ``unknown_walkable``
    keeps ways whose highway value is missing or not in the table (line layers).
    """
    n = len(tags["highway"])

    def column(key: str) -> pd.Series:
        return pd.Series(tags[key] if key in tags else np.full(n, None), dtype=object)

    rule = column("highway").map(rules.highway)
    foot_allows = column("foot").isin(rules.foot_allow).to_numpy()
    sidewalk = np.zeros(n, dtype=bool)
    for key, present in rules.sidewalk.items():
        sidewalk |= column(key).isin(present).to_numpy()
    checks = (("highway_unknown", rule.isna().to_numpy() & (not unknown_walkable)),
              ("highway_not_walkable", (rule == "no").to_numpy()),
              ("area", column("area").isin(rules.area_deny).to_numpy()),
              ("foot_no", column("foot").isin(rules.foot_deny).to_numpy()),
              ("access_private", column("access").isin(rules.access_deny).to_numpy() & ~foot_allows),
              ("no_sidewalk", (rule == "sidewalk").to_numpy() & ~(sidewalk | foot_allows)))
    reasons = np.full(n, "", dtype=object)
    for code, hit in checks:
        reasons[(reasons == "") & hit] = code
    return reasons


def _write_opl(path: Path, out: Path) -> None:
    """Ways with a highway tag, with node locations, as OPL text (all in libosmium)."""
    locations = osmium.NodeLocationsForWays(osmium.index.create_map("flex_mem"))
    locations.ignore_errors()  # missing nodes get no location; the way is cut there
    try:
        with osmium.SimpleWriter(osmium.io.File(str(out), _OPL_FORMAT)) as writer:
            osmium.apply(str(path), locations, osmium.filter.EntityFilter(osmium.osm.WAY),
                         osmium.filter.KeyFilter("highway"), writer)
    except RuntimeError as exc:
        raise InputError(f"{path.name} cannot be read as an OSM file: {exc}; give an .osm.pbf or .osm (XML) "
                         "extract, e.g. from download.geofabrik.de or the Overpass API") from exc


def _read_opl(out: Path) -> pa.Table:
    names = ["way", "tags", "nodes"]
    if out.stat().st_size == 0:
        return pa.table({n: pa.array([], pa.string()) for n in names})
    return pacsv.read_csv(
        out, read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(delimiter=" ", quote_char=False, double_quote=False, escape_char=False),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}))


def _unescape(text: str) -> str:
    """OPL's ``%hex%`` escapes decoded."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text) if "%" in text else text


def _tag_columns(tags: pa.Array, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    """One value per way (None where absent) for each of ``keys``, from OPL tag lists ``Tk=v,k=v``.

    Equal values share one Python string (dictionary-encoded), so a column costs 8 bytes per way.
    """
    lists = pc.split_pattern(pc.utf8_slice_codeunits(tags, 1), ",")
    parent = pc.list_parent_indices(lists).to_numpy()
    pairs = pc.list_flatten(lists)
    has_value = pc.match_substring(pairs, "=")
    key_value = pc.split_pattern(pairs.filter(has_value), "=", max_splits=1)
    parent = parent[has_value.to_numpy(zero_copy_only=False)]
    all_keys, all_values = pc.list_element(key_value, 0), pc.list_element(key_value, 1)
    columns = {}
    for key in keys:
        hit = pc.equal(all_keys, key)
        values = pc.dictionary_encode(all_values.filter(hit))
        words = np.array([_unescape(w) for w in values.dictionary.to_pylist()] + [None], dtype=object)
        column = np.full(len(tags), None, dtype=object)
        column[parent[hit.to_numpy(zero_copy_only=False)]] = words[values.indices.to_numpy()]
        columns[key] = column
    return columns


def _string_bytes(strings: pa.Array) -> bytes:
    """The characters of a string array, concatenated."""
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int32)[strings.offset:strings.offset + len(strings) + 1]
    data = strings.buffers()[2]
    if data is None or offsets[-1] == offsets[0]:
        return b""
    return data.slice(int(offsets[0]), int(offsets[-1] - offsets[0])).to_pybytes()


def _node_refs(nodes: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per way the number of node references; per reference the node id, lon and lat (NaN if missing)."""
    counts = pc.count_substring(nodes, "n").to_numpy(zero_copy_only=False).astype(np.int64)
    if counts.sum() == 0:
        return counts, np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
    text = _string_bytes(nodes).translate(_NODE_BYTES, b"n")
    table = pacsv.read_csv(
        pa.py_buffer(text), read_options=pacsv.ReadOptions(column_names=["ref", "x", "y"], block_size=1 << 24),
        convert_options=pacsv.ConvertOptions(column_types={"ref": pa.int64(), "x": pa.float64(), "y": pa.float64()}))
    if table.num_rows != counts.sum():
        raise InputError(f"OSM node lists parsed into {table.num_rows} references, expected {counts.sum()}; "
                         "report this file to the grid maintainers")
    lon, lat = (pc.fill_null(table[c], np.nan).to_numpy() for c in ("x", "y"))
    return counts, table["ref"].to_numpy(), lon, lat


@dataclass(frozen=True)
class _Batch:
    way_id: np.ndarray
    highway: np.ndarray
    name: np.ndarray
    counts: np.ndarray
    ref: np.ndarray
    lon: np.ndarray
    lat: np.ndarray


def _parse_batch(batch: pa.RecordBatch, rules: WalkableRules) -> tuple[_Batch, np.ndarray, np.ndarray]:
    """Walkable ways of one OPL batch, plus every way's highway value and exclusion reason."""
    tags = _tag_columns(batch.column("tags"), (*rules.keys, "name"))
    reasons = walkable_reasons(tags, rules)
    keep = reasons == ""
    counts, ref, lon, lat = _node_refs(batch.column("nodes").filter(pa.array(keep)))
    way_id = pc.cast(pc.utf8_slice_codeunits(batch.column("way"), 1), pa.int64()).to_numpy()[keep]
    parsed = _Batch(way_id=way_id, highway=tags["highway"][keep], name=tags["name"][keep], counts=counts,
                    ref=ref, lon=lon, lat=lat)
    return parsed, tags["highway"], reasons


def _ref_order(counts: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Positions of the node references when ways are taken in ``order``."""
    starts = np.cumsum(counts) - counts
    new_counts = counts[order]
    new_starts = np.cumsum(new_counts) - new_counts
    return np.arange(int(new_counts.sum())) + np.repeat(starts[order] - new_starts, new_counts)


def _ways_from_batches(parts: list[_Batch], highway: np.ndarray, reasons: np.ndarray) -> Ways:
    """One :class:`Ways` from parsed batches, ordered by way id (XML and PBF give the same network)."""
    def cat(name: str, dtype: type) -> np.ndarray:
        return np.concatenate([getattr(p, name) for p in parts]) if parts else np.zeros(0, dtype)

    way_id, counts = cat("way_id", np.int64), cat("counts", np.int64)
    if np.all(way_id[1:] >= way_id[:-1]):
        order, refs = slice(None), slice(None)
    else:
        order = np.argsort(way_id, kind="stable")
        refs = _ref_order(counts, order)
    missing = int(np.isnan(cat("lon", float)).sum())
    notes = (f"{missing:,} node references without a location in the file (ways leaving the extract); "
             "the ways were cut there",) if missing else ()
    excluded = pd.Series(reasons[reasons != ""]).value_counts()
    return Ways(way_id=way_id[order], highway=cat("highway", object)[order], name=cat("name", object)[order],
                node_count=counts[order], node_ref=cat("ref", np.int64)[refs], node_lon=cat("lon", float)[refs],
                node_lat=cat("lat", float)[refs], refs_are_osm=True, ways_read=len(highway),
                highway_counts={str(k): int(v) for k, v in pd.Series(highway).value_counts().items()},
                excluded={str(k): int(v) for k, v in excluded.items()}, notes=notes)


def read_osm_ways(path: Path | str, *, rules: WalkableRules | None = None) -> Ways:
    """Walkable ways of an OSM file (``.osm.pbf``, ``.osm``, gzip/bz2 XML) with node locations.

    Raises
    ------
    InputError
        If the file does not exist or libosmium cannot read it.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"no file at {path}; check the path")
    rules = rules or load_walkable_rules()
    with tempfile.TemporaryDirectory(prefix="grid-osm-") as tmp:
        out = Path(tmp) / "ways.opl"
        _write_opl(path, out)
        table = _read_opl(out)
    parsed = [_parse_batch(batch, rules) for batch in table.to_batches() if batch.num_rows]
    highway = np.concatenate([p[1] for p in parsed]) if parsed else np.zeros(0, dtype=object)
    reasons = np.concatenate([p[2] for p in parsed]) if parsed else np.zeros(0, dtype=object)
    del table
    pa.default_memory_pool().release_unused()  # give the parsed text's memory back before the graph is built
    ways = _ways_from_batches([p[0] for p in parsed], highway, reasons)
    log.info("%s: %d ways with a highway tag, %d walkable", path.name, ways.ways_read, ways.n_ways)
    return ways


def network_from_osm(path: Path | str, *, rules: WalkableRules | None = None,
                     island_max_length_m: float = 2000.0) -> Network:
    """The walking network of an OSM file (see :func:`read_osm_ways` and :func:`network_from_ways`).

    Raises
    ------
    InputError
        If the file cannot be read or holds no walkable way.
    """
    return network_from_ways(read_osm_ways(path, rules=rules), island_max_length_m=island_max_length_m)
