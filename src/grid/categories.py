"""Category vocabularies and source-to-category mappings, read from CSV tables.

The tables live in ``geodata/categories/`` (see the README there): facility
categories of GB 50180-2018 Appendix B, the 12345 complaint tree, request types
(咨询/求助/投诉/举报/意见建议), statuses, urgencies, channels, and mappings from
Amap POI type codes/names, OpenStreetMap tags and Baltimore 311 ``SRType``
values onto them. Every
row carries ``verified`` and ``source`` so a planner can correct a row without
touching code; this module only reads the tables and applies them.

All mapping functions work on the unique values of a Series, then broadcast the
answer back, and return a nullable ``string`` Series (``<NA>`` = unmapped) with
the input's index. An empty ``category`` in a mapping table marks a value that is
deliberately left out (it maps to ``<NA>`` and stops a shorter pattern matching).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from grid.errors import InputError, MappingError

__all__ = [
    "read_table",
    "lookup_aliases",
    "amap_codes_to_categories",
    "amap_types_to_categories",
    "patterns_to_categories",
    "osm_tags_to_categories",
]

_ALIAS_SEP = "|"
_AMAP_LEVEL_SEP = ";"
_WHITESPACE = re.compile(r"\s+")
_FLOAT_CODE = re.compile(r"^(\d+)\.0*$")
_BOOL_TEXT = {"true": True, "false": False}


def read_table(name: str, directory: Path) -> pd.DataFrame:
    """Read ``<directory>/<name>.csv`` as strings, with ``verified`` as bool.

    Empty cells stay empty strings (never NaN), so an empty ``sub_zh`` or
    ``category`` can be tested with ``== ""``.
    """
    path = Path(directory) / f"{name}.csv"
    if not path.is_file():
        found = sorted(p.stem for p in Path(directory).glob("*.csv"))
        raise InputError(f"category table {path} not found; tables in {directory}: {found}")
    table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    if "verified" in table.columns:
        table["verified"] = _parse_bool_column(table["verified"], path)
    return table


def _parse_bool_column(column: pd.Series, path: Path) -> pd.Series:
    parsed = column.str.strip().str.lower().map(_BOOL_TEXT)
    bad = column[parsed.isna()]
    if not bad.empty:
        rows = [int(i) + 2 for i in bad.index[:5]]  # +2: header line and 1-based lines
        raise InputError(
            f"{path}: column 'verified' must be true or false; saw {bad.unique()[:5].tolist()} "
            f"on lines {rows}; fix those cells"
        )
    return parsed.astype(bool)


def _normalise(values: pd.Series) -> pd.Series:
    """Trim, collapse inner whitespace and case-fold; empty text becomes <NA>."""
    text = values.astype("string").str.strip().str.replace(_WHITESPACE, " ", regex=True)
    return text.str.casefold().replace("", pd.NA)


def _key(text: str) -> str:
    return _WHITESPACE.sub(" ", text.strip()).casefold()


def _map_unique(values: pd.Series, match: Callable[[str], str | None]) -> pd.Series:
    """Apply ``match`` to each distinct normalised value once, then broadcast."""
    codes, uniques = pd.factorize(values)
    keys = _normalise(pd.Series(uniques, dtype="string"))
    answers = [None if pd.isna(key) else (match(key) or None) for key in keys.tolist()] + [None]
    mapped = pd.array(np.asarray(answers, dtype=object)[codes], dtype="string")
    return pd.Series(mapped, index=values.index, name=values.name)


def lookup_aliases(values: pd.Series, table: pd.DataFrame, id_column: str) -> pd.Series:
    """Raw spellings to canonical ids via id, ``name_zh``, ``name_en`` and ``aliases``.

    Matching ignores case and surrounding/repeated whitespace. Unknown or empty
    values give <NA>. A spelling claimed by two different ids raises
    :class:`~grid.errors.MappingError`.
    """
    if id_column not in table.columns:
        raise MappingError(f"id column {id_column!r} not in table; columns are {list(table.columns)}")
    index = _alias_index(table, id_column)
    return _map_unique(values, index.get)


def _alias_index(table: pd.DataFrame, id_column: str) -> dict[str, str]:
    index: dict[str, str] = {}
    clashes: list[str] = []
    for row in table.to_dict("records"):
        spellings = [row[id_column], row.get("name_zh", ""), row.get("name_en", "")]
        spellings += str(row.get("aliases", "")).split(_ALIAS_SEP)
        for spelling in spellings:
            key = _key(str(spelling))
            if not key:
                continue
            if index.setdefault(key, row[id_column]) != row[id_column]:
                clashes.append(f"{spelling!r} ({index[key]} and {row[id_column]})")
    if clashes:
        raise MappingError(
            f"spellings claimed by two {id_column} ids: {clashes}; keep each on one row only"
        )
    return index


def amap_codes_to_categories(codes: pd.Series, table: pd.DataFrame) -> pd.Series:
    """Amap 6-digit type codes to categories; the longest ``code_pattern`` wins.

    Codes read as numbers get their leading zero back (60400 -> '060400');
    several codes joined by '|' give the first one that maps.
    """
    patterns = dict(zip(table["code_pattern"].str.strip(), table["category"].str.strip()))
    lengths = sorted({len(p) for p in patterns}, reverse=True)
    return _map_unique(codes, lambda key: _first_code_category(key, patterns, lengths))


def _first_code_category(key: str, patterns: dict[str, str], lengths: list[int]) -> str | None:
    for part in key.split(_ALIAS_SEP):
        code, category = _six_digit_code(part.strip()), None
        for length in lengths:
            category = patterns.get(code[:length]) if len(code) >= length else None
            if category is not None:
                break
        if category:
            return category
    return None


def _six_digit_code(text: str) -> str:
    whole = _FLOAT_CODE.match(text)
    if whole:
        text = whole.group(1)
    return text.zfill(6) if text.isdigit() else text


def amap_types_to_categories(types: pd.Series, table: pd.DataFrame) -> pd.Series:
    """Amap type names "大类;中类;小类" to categories.

    A row with all three names is tried first, then a row with (大类, 中类) and
    empty ``sub_zh``, then one with only 大类. Several types joined by '|' give
    the first one that maps.
    """
    names = table[["big_zh", "mid_zh", "sub_zh"]].map(_key)
    by_names = dict(zip(map(tuple, names.to_numpy()), table["category"].str.strip()))
    return _map_unique(types, lambda key: _first_type_category(key, by_names))


def _first_type_category(key: str, by_names: dict[tuple[str, ...], str]) -> str | None:
    for part in key.split(_ALIAS_SEP):
        levels = [level.strip() for level in part.split(_AMAP_LEVEL_SEP)] + ["", ""]
        big, mid, sub = levels[:3]
        category = None
        for candidate in ((big, mid, sub), (big, mid, ""), (big, "", "")):
            category = by_names.get(candidate)
            if category is not None:
                break
        if category:
            return category
    return None


def patterns_to_categories(values: pd.Series, table: pd.DataFrame) -> pd.Series:
    """Values to categories by ``pattern`` rows with ``match`` exact or prefix.

    Matching ignores case and surrounding/repeated whitespace. An exact row
    beats any prefix; among prefixes the longest wins.
    """
    kinds = table["match"].str.strip().str.lower()
    unknown = sorted(set(kinds) - {"exact", "prefix"})
    if unknown:
        raise MappingError(f"column 'match' must be exact or prefix; saw {unknown}")
    pattern_keys = table["pattern"].map(_key)
    categories = table["category"].str.strip()
    exact = dict(zip(pattern_keys[kinds == "exact"], categories[kinds == "exact"]))
    prefixes = sorted(
        zip(pattern_keys[kinds == "prefix"], categories[kinds == "prefix"]),
        key=lambda pair: len(pair[0]),
        reverse=True,
    )
    return _map_unique(values, lambda key: _pattern_category(key, exact, prefixes))


def _pattern_category(key: str, exact: dict[str, str], prefixes: list[tuple[str, str]]) -> str | None:
    if key in exact:
        return exact[key] or None
    for prefix, category in prefixes:
        if key.startswith(prefix):
            return category or None
    return None


_OSM_RULE_COLUMNS = ["priority", "key", "value", "and_key", "and_value", "category"]


def osm_tags_to_categories(
    tags: pd.DataFrame | Sequence[Mapping[str, object]], table: pd.DataFrame
) -> pd.Series:
    """OpenStreetMap tags to categories; the matching row with the lowest ``priority`` wins.

    ``tags`` is a frame with one column per OSM key (``amenity``, ``shop`` ...) or
    a list of tag dicts. A row of ``table`` (``osm_to_category.csv``) matches when
    ``key`` = ``value`` and, if ``and_key`` is set, ``and_key`` = ``and_value``
    (``*`` = any non-empty value). An empty ``category`` excludes the feature on
    purpose (e.g. ``amenity=toilets`` + ``access=private``). Values are compared
    exactly after trimming; a missing key never matches. Vectorised per rule.
    """
    frame = tags if isinstance(tags, pd.DataFrame) else pd.DataFrame.from_records(list(tags))
    answer = np.full(len(frame), None, dtype=object)
    decided = np.zeros(len(frame), dtype=bool)
    for key, value, and_key, and_value, category in _osm_rules(table):
        hit = _osm_tag_mask(frame, key, value) & ~decided
        if and_key:
            hit &= _osm_tag_mask(frame, and_key, and_value)
        answer[hit] = category or None
        decided |= hit
    return pd.Series(pd.array(answer, dtype="string"), index=frame.index, name="category")


def _osm_rules(table: pd.DataFrame) -> list[tuple[str, str, str, str, str]]:
    missing = [c for c in _OSM_RULE_COLUMNS if c not in table.columns]
    if missing:
        raise MappingError(f"OSM mapping lacks column(s) {missing}; columns are {list(table.columns)}")
    text = table[_OSM_RULE_COLUMNS].astype("string").fillna("").apply(lambda c: c.str.strip())
    priority = pd.to_numeric(text["priority"], errors="coerce")
    bad = text.loc[priority.isna() | (text["key"] == "") | (text["value"] == "")
                   | ((text["and_key"] == "") != (text["and_value"] == "")), "priority"]
    if not bad.empty:
        raise MappingError(
            f"OSM mapping rows {[int(i) + 2 for i in bad.index[:5]]} (file lines) need a numeric "
            "priority, a key and a value, and and_key with and_value together; fix those rows"
        )
    ordered = text.assign(_priority=priority).sort_values("_priority", kind="stable")
    columns = ["key", "value", "and_key", "and_value", "category"]
    return list(ordered[columns].itertuples(index=False, name=None))


def _osm_tag_mask(frame: pd.DataFrame, key: str, value: str) -> np.ndarray:
    if key not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    present = frame[key].astype("string").str.strip()
    hit = present.fillna("") != "" if value == "*" else present == value
    return hit.fillna(False).to_numpy(dtype=bool)
