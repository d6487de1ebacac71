"""Life-circle standards as data, read from ``geodata/standards/`` (see the README there).

The tables hold GB 50180-2018 Table 3.0.4 (levels: 15/10/5-minute and residential
block), its Appendix B (facilities per level, must 必配 / should 宜配, radius),
public green space per level, local circles (Wuhan 15分钟生活圈, 12分钟文体圈 ...),
walking and driving speed profiles, and community checks (5 m² service space per
100 residents ...). Every row carries ``source`` and ``verified``; this module only
reads and validates them, so a planner corrects a number by editing a CSV.

Readers return DataFrames with validated dtypes: text as ``string`` (an empty
cell is ``<NA>``), numbers as ``float64`` (empty = NaN), counts as ``Int64``,
``verified`` as ``bool``. Any malformed cell raises
:class:`~grid.errors.ConfigError` naming the file, row, line and column; all
problems of a file are listed at once.

:func:`circle_rules` is what the coverage engine uses: one row per
(circle, category) with the threshold in metres.
"""

from __future__ import annotations

import csv
import difflib
import functools
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from grid.categories import read_table
from grid.errors import ConfigError
from grid.settings import Settings

__all__ = [
    "read_standards",
    "read_levels",
    "read_requirements",
    "read_green_space",
    "read_speed_profiles",
    "read_circles",
    "read_community_standards",
    "circle_rules",
    "max_walk_threshold_m",
    "speed_m_per_min",
    "walk_minutes",
    "THRESHOLDS_FROM_REQUIREMENTS",
]

THRESHOLDS_FROM_REQUIREMENTS = "facility_requirements"
"""Value of ``circles.thresholds_from`` for circles whose thresholds are the standard's radii."""

_CATEGORY_SEP = ";"
_BOOL_TEXT = {"true": True, "false": False}
_MAX_PROBLEMS = 30
_ID_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_-")
_MODES = ("walk", "drive")
_OPERATORS = (">=", "<=", ">", "<", "==", "approx")

# Columns every table must have, in output order (optional ``note`` is added when absent).
_COLUMNS = {
    "standards": ["standard_id", "title_zh", "title_en", "year", "in_force", "role",
                  "data_version", "note", "source", "verified"],
    "life_circle_levels": ["standard_id", "clause", "level", "name_zh", "name_en",
                           "walk_distance_min_m", "walk_distance_max_m", "coverage_distance_m",
                           "residents_min", "residents_max", "dwellings_min", "dwellings_max",
                           "note", "source", "verified"],
    "facility_requirements": ["standard_id", "clause", "level", "category", "requirement",
                              "radius_m", "radius_basis", "min_floor_area_m2", "rule_zh",
                              "rule_en", "note", "source", "verified"],
    "green_space": ["standard_id", "clause", "level", "green_m2_per_person", "min_park_area_ha",
                    "min_park_width_m", "note", "source", "verified"],
    "speed_profiles": ["profile_id", "name_zh", "name_en", "mode", "speed_m_per_min",
                       "applies_to", "note", "source", "verified"],
    "circles": ["circle_id", "name_zh", "name_en", "standard_id", "level", "categories",
                "combine", "mode", "threshold_m", "threshold_min", "speed_profile",
                "thresholds_from", "target_coverage_pct", "region", "note", "source", "verified"],
    "community_standards": ["check_id", "name_zh", "name_en", "subject", "measure", "operator",
                            "threshold", "unit", "per_quantity", "per_unit", "role", "region",
                            "note", "source", "verified"],
}

_T = TypeVar("_T")
_MEMO: dict[tuple, object] = {}
_MEMO_MAX = 128


def _tables_digest(settings: Settings) -> str:
    """Digest of the bytes of every table the readers use: a changed cell gives a new key."""
    digest = hashlib.blake2b(digest_size=16)
    paths = sorted(Path(settings.standards_dir).glob("*.csv")) + [
        Path(settings.categories_dir) / "facility_categories.csv"]
    for path in paths:
        digest.update(str(path).encode())
        digest.update(path.read_bytes() if path.is_file() else b"<missing>")
    return digest.hexdigest()


def _memoized(reader: Callable[..., _T]) -> Callable[..., _T]:
    """Keep a reader's validated result per table contents (reading and validating takes ~0.3 s).

    Frames are handed out as copies, so a caller changing one never changes the next caller's.
    """
    @functools.wraps(reader)
    def wrapper(settings: Settings, *args: object, **kwargs: object) -> _T:
        key = (reader.__name__, _tables_digest(settings), args, tuple(sorted(kwargs.items())))
        if key not in _MEMO:
            if len(_MEMO) >= _MEMO_MAX:
                _MEMO.clear()
            _MEMO[key] = reader(settings, *args, **kwargs)
        value = _MEMO[key]
        return value.copy() if isinstance(value, pd.DataFrame) else value  # type: ignore[return-value]
    return wrapper


_RULE_COLUMNS = ["circle_id", "category", "threshold_m", "threshold_min", "speed_profile",
                 "threshold_basis", "requirement", "level", "clause", "mode", "combine",
                 "target_coverage_pct", "source", "verified"]


class _Table:
    """One CSV under validation: typed columns out, every problem collected."""

    def __init__(self, directory: Path, name: str) -> None:
        self.path = Path(directory) / f"{name}.csv"
        self.name = self.path.name
        self.problems: list[str] = []
        self.raw = self._read(_COLUMNS[name])

    def _read(self, columns: list[str]) -> pd.DataFrame:
        if not self.path.is_file():
            found = sorted(p.name for p in self.path.parent.glob("*.csv"))
            raise ConfigError(f"standards table {self.path} not found; tables there: {found}")
        with self.path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        header = [h.strip() for h in rows[0]] if rows else []
        missing = [c for c in columns if c not in header and c != "note"]
        if missing:
            raise ConfigError(
                f"{self.path}: missing column(s) {missing}; the header is {header}; "
                "add them (see geodata/standards/README.md)"
            )
        body = []
        for i, row in enumerate(rows[1:]):
            if len(row) != len(header):
                self.add(i, "(whole row)", f"has {len(row)} fields but the header has {len(header)}; "
                         "quote a value that contains a comma")
            body.append([v.strip() for v in (row + [""] * len(header))[: len(header)]])
        raw = pd.DataFrame(body, columns=header, dtype=object)
        if "note" not in raw.columns:
            raw["note"] = ""
        return raw

    def add(self, row: int, column: str, message: str) -> None:
        """Record a problem at 0-based data ``row`` (file line = row + 2)."""
        self.problems.append(f"row {row + 1} (line {row + 2}), column '{column}': {message}")

    def finish(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Raise one ConfigError listing every problem, else return ``frame``."""
        if self.problems:
            shown = self.problems[:_MAX_PROBLEMS]
            more = len(self.problems) - len(shown)
            tail = f"\n  ... and {more} more" if more else ""
            raise ConfigError(
                f"{self.path}: {len(self.problems)} problem(s); fix these cells (no code change "
                "needed):\n  " + "\n  ".join(shown) + tail
            )
        return frame

    def text(self, column: str, *, required: bool = False) -> pd.Series:
        values = self.raw[column]
        if required:
            for i in values.index[values == ""]:
                self.add(i, column, "is empty; fill it in")
        return values.replace("", None).astype("string")

    def number(self, column: str, *, required: bool = False, positive: bool = False) -> pd.Series:
        values = self.raw[column]
        parsed = pd.to_numeric(values.replace("", None), errors="coerce").astype("float64")
        for i, (text, value) in enumerate(zip(values, parsed)):
            if text == "" and required:
                self.add(i, column, "is empty; a number is needed")
            elif text != "" and not np.isfinite(value):
                self.add(i, column, f"{text!r} is not a number")
            elif text != "" and positive and value <= 0:
                self.add(i, column, f"{text!r} must be greater than 0")
        return parsed

    def integer(self, column: str, *, required: bool = False) -> pd.Series:
        parsed = self.number(column, required=required)
        for i, value in enumerate(parsed):
            if np.isfinite(value) and (value < 0 or value != round(value)):
                self.add(i, column, f"{self.raw[column].iat[i]!r} must be a whole number >= 0")
        return parsed.where(parsed == parsed.round()).astype("Int64")

    def boolean(self, column: str = "verified") -> pd.Series:
        values = self.raw[column].str.lower()
        for i in values.index[~values.isin(list(_BOOL_TEXT))]:
            self.add(i, column, f"{self.raw[column].iat[i]!r} must be true or false")
        return (values == "true").astype(bool)

    def choice(self, column: str, allowed: Iterable[str], what: str, *, required: bool = True) -> pd.Series:
        allowed = list(allowed)
        for i, value in enumerate(self.raw[column]):
            if value == "" and required:
                self.add(i, column, f"is empty; use one of {allowed}")
            elif value != "" and value not in allowed:
                self.add(i, column, _unknown(value, allowed, what))
        return self.text(column)

    def identifier(self, column: str, *, unique_within: Sequence[str] = ()) -> pd.Series:
        """A required lower-case id (``a-z0-9_-``), unique within ``unique_within`` columns."""
        values = self.text(column, required=True)
        for i, value in enumerate(self.raw[column]):
            if value and not set(value) <= _ID_CHARS:
                self.add(i, column, f"{value!r} may hold only a-z, 0-9, '_' and '-'")
        keys = self.raw[[*unique_within, column]].apply(tuple, axis=1)
        for i in keys.index[keys.duplicated()]:
            self.add(i, column, f"{self.raw[column].iat[i]!r} appears twice; keep one row")
        return values

    def standard_id(self, column: str, known: Iterable[str]) -> pd.Series:
        known = list(known)
        values = self.text(column, required=True)
        for i in self.raw.index[(self.raw[column] != "") & ~self.raw[column].isin(known)]:
            self.add(i, column, _unknown(self.raw[column].iat[i], known, "standard_id in standards.csv"))
        return values

    def level(self, column: str, levels: pd.DataFrame, *, required: bool = True) -> pd.Series:
        """A level id that ``life_circle_levels.csv`` defines for the row's standard."""
        pairs = set(zip(levels["standard_id"], levels["level"]))
        for i, (standard, level) in enumerate(zip(self.raw["standard_id"], self.raw[column])):
            if level == "" and required:
                self.add(i, column, "is empty; name a level of life_circle_levels.csv")
            elif level != "" and (standard, level) not in pairs:
                known = sorted(lv for st, lv in pairs if st == standard)
                self.add(i, column, _unknown(level, known, f"level of {standard or 'this standard'} "
                                                           "in life_circle_levels.csv"))
        return self.text(column)


def _unknown(value: str, known: Sequence[str], what: str) -> str:
    close = difflib.get_close_matches(value, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{value!r} is not a known {what}; known: {sorted(known)}{hint}"


def _common(table: _Table) -> dict[str, pd.Series]:
    return {"note": table.text("note"), "source": table.text("source", required=True),
            "verified": table.boolean()}


def _min_max(table: _Table, frame: pd.DataFrame, low: str, high: str) -> None:
    bad = (frame[low].notna() & frame[high].notna() & (frame[low] > frame[high])).fillna(False)
    for i in frame.index[bad.to_numpy(dtype=bool)]:
        table.add(i, low, f"{frame[low].iat[i]} is larger than {high} {frame[high].iat[i]}")


@_memoized
def read_standards(settings: Settings) -> pd.DataFrame:
    """Standards the tables cite (``standards.csv``), with ``data_version`` of our transcription."""
    table = _Table(settings.standards_dir, "standards")
    in_force = pd.to_datetime(table.raw["in_force"].replace("", None), format="%Y-%m-%d", errors="coerce")
    for i in table.raw.index[(table.raw["in_force"] != "") & in_force.isna()]:
        table.add(i, "in_force", f"{table.raw['in_force'].iat[i]!r} is not a date YYYY-MM-DD")
    frame = pd.DataFrame({
        "standard_id": table.text("standard_id", required=True),
        "title_zh": table.text("title_zh", required=True),
        "title_en": table.text("title_en", required=True),
        "year": table.integer("year", required=True),
        "in_force": in_force,
        "role": table.choice("role", ["normative", "informative"], "role"),
        "data_version": table.integer("data_version", required=True),
        **_common(table),
    })
    for i in frame.index[frame["standard_id"].duplicated()]:
        table.add(i, "standard_id", f"{frame['standard_id'].iat[i]!r} appears twice; keep one row")
    return table.finish(frame)


@_memoized
def read_levels(settings: Settings) -> pd.DataFrame:
    """Life-circle levels, GB 50180-2018 Table 3.0.4; distances in metres along streets.

    ``coverage_distance_m`` is the walking distance a facility row without its own
    radius is checked at (15min 1000, 10min 500, 5min 300; block 300 by our judgement).
    """
    standards = read_standards(settings)
    table = _Table(settings.standards_dir, "life_circle_levels")
    frame = pd.DataFrame({
        "standard_id": table.standard_id("standard_id", standards["standard_id"]),
        "clause": table.text("clause", required=True),
        "level": table.identifier("level", unique_within=["standard_id"]),
        "name_zh": table.text("name_zh", required=True),
        "name_en": table.text("name_en", required=True),
        **{c: table.number(c, positive=True)
           for c in ("walk_distance_min_m", "walk_distance_max_m", "coverage_distance_m")},
        **{c: table.integer(c)
           for c in ("residents_min", "residents_max", "dwellings_min", "dwellings_max")},
        **_common(table),
    })
    for low, high in (("walk_distance_min_m", "walk_distance_max_m"), ("residents_min", "residents_max"),
                      ("dwellings_min", "dwellings_max")):
        _min_max(table, frame, low, high)
    return table.finish(frame)


def _facility_categories(settings: Settings) -> list[str]:
    return read_table("facility_categories", settings.categories_dir)["category"].str.strip().tolist()


@_memoized
def read_requirements(settings: Settings) -> pd.DataFrame:
    """Facilities per level, GB 50180-2018 Appendix B: ``requirement`` must (▲) / should (△).

    ``radius_m`` is the service radius as written (network walking metres), empty
    where the standard gives none; then ``radius_basis`` is ``level`` and the
    level's ``coverage_distance_m`` applies.
    """
    levels = read_levels(settings)
    table = _Table(settings.standards_dir, "facility_requirements")
    frame = pd.DataFrame({
        "standard_id": table.standard_id("standard_id", levels["standard_id"].unique()),
        "clause": table.text("clause", required=True),
        "level": table.level("level", levels),
        "category": table.choice("category", _facility_categories(settings),
                                 "category in facility_categories.csv"),
        "requirement": table.choice("requirement", ["must", "should"], "requirement"),
        "radius_m": table.number("radius_m", positive=True),
        "radius_basis": table.choice("radius_basis", ["clause", "level"], "radius_basis"),
        "min_floor_area_m2": table.number("min_floor_area_m2", positive=True),
        "rule_zh": table.text("rule_zh"),
        "rule_en": table.text("rule_en"),
        **_common(table),
    })
    _check_radius_basis(table, frame, levels)
    keys = table.raw[["standard_id", "level", "category"]].apply(tuple, axis=1)
    for i in keys.index[keys.duplicated()]:
        table.add(i, "category", f"{keys.iat[i]} appears twice; keep one row per level and category")
    return table.finish(frame)


def _check_radius_basis(table: _Table, frame: pd.DataFrame, levels: pd.DataFrame) -> None:
    distance = dict(zip(zip(levels["standard_id"], levels["level"]), levels["coverage_distance_m"]))
    for i, row in enumerate(table.raw.itertuples(index=False)):
        has_radius = not np.isnan(frame["radius_m"].iat[i])
        if row.radius_basis == "clause" and not has_radius:
            table.add(i, "radius_m", "is empty but radius_basis is 'clause'; give the radius or use 'level'")
        elif row.radius_basis == "level" and has_radius:
            table.add(i, "radius_basis", "is 'level' but radius_m is given; use 'clause' or empty radius_m")
        elif row.radius_basis == "level" and pd.isna(distance.get((row.standard_id, row.level), 0.0)):
            table.add(i, "radius_basis", f"is 'level' but level {row.level!r} has no coverage_distance_m "
                                         "in life_circle_levels.csv")


@_memoized
def read_green_space(settings: Settings) -> pd.DataFrame:
    """Public green space per resident (m²) and smallest park (ha, width m) per level, GB 50180-2018."""
    levels = read_levels(settings)
    table = _Table(settings.standards_dir, "green_space")
    frame = pd.DataFrame({
        "standard_id": table.standard_id("standard_id", levels["standard_id"].unique()),
        "clause": table.text("clause"),
        "level": table.level("level", levels),
        "green_m2_per_person": table.number("green_m2_per_person", required=True, positive=True),
        "min_park_area_ha": table.number("min_park_area_ha", positive=True),
        "min_park_width_m": table.number("min_park_width_m", positive=True),
        **_common(table),
    })
    keys = table.raw[["standard_id", "level"]].apply(tuple, axis=1)
    for i in keys.index[keys.duplicated()]:
        table.add(i, "level", f"{keys.iat[i]} appears twice; keep one row per level")
    return table.finish(frame)


@_memoized
def read_speed_profiles(settings: Settings) -> pd.DataFrame:
    """Speed profiles in m/min: walking (adult 1000 m / 15 min, elderly 65+) and driving."""
    table = _Table(settings.standards_dir, "speed_profiles")
    frame = pd.DataFrame({
        "profile_id": table.identifier("profile_id"),
        "name_zh": table.text("name_zh", required=True),
        "name_en": table.text("name_en", required=True),
        "mode": table.choice("mode", _MODES, "mode"),
        "speed_m_per_min": table.number("speed_m_per_min", required=True, positive=True),
        "applies_to": table.text("applies_to", required=True),
        **_common(table),
    })
    return table.finish(frame)


@_memoized
def read_community_standards(settings: Settings) -> pd.DataFrame:
    """Community checks (service space m² per 100 residents, workers per households ...).

    A check reads ``measure operator threshold [per per_quantity per_unit]``, e.g.
    ``service_space_m2 >= 5 m2 per 100 residents``; ``role`` informative rows are
    reference sizes, not requirements.
    """
    table = _Table(settings.standards_dir, "community_standards")
    frame = pd.DataFrame({
        "check_id": table.identifier("check_id"),
        "name_zh": table.text("name_zh", required=True),
        "name_en": table.text("name_en", required=True),
        "subject": table.text("subject", required=True),
        "measure": table.text("measure", required=True),
        "operator": table.choice("operator", _OPERATORS, "operator"),
        "threshold": table.number("threshold", required=True),
        "unit": table.text("unit", required=True),
        "per_quantity": table.number("per_quantity", positive=True),
        "per_unit": table.text("per_unit"),
        "role": table.choice("role", ["check", "informative"], "role"),
        "region": table.text("region", required=True),
        **_common(table),
    })
    for i in frame.index[frame["per_quantity"].notna() != frame["per_unit"].notna()]:
        table.add(i, "per_unit", "per_quantity and per_unit go together; fill both or neither")
    return table.finish(frame)


@_memoized
def read_circles(settings: Settings) -> pd.DataFrame:
    """Life circles as data: categories, mode, metres or minutes, target coverage, source.

    A circle has exactly one of ``threshold_m``, ``threshold_min`` (with a
    ``speed_profile`` of the same mode) or ``thresholds_from =
    facility_requirements`` (the standard's radius per category; needs
    ``standard_id`` and ``level``). ``combine`` says whether every category must be
    reached (``each``) or any one of them (``any``). ``categories`` stays the
    ``;``-separated text; :func:`circle_rules` expands it.
    """
    requirements = read_requirements(settings)
    levels = read_levels(settings)
    profiles = read_speed_profiles(settings)
    table = _Table(settings.standards_dir, "circles")
    frame = pd.DataFrame({
        "circle_id": table.identifier("circle_id"),
        "name_zh": table.text("name_zh", required=True),
        "name_en": table.text("name_en", required=True),
        "standard_id": table.choice("standard_id", read_standards(settings)["standard_id"],
                                    "standard_id in standards.csv", required=False),
        "level": table.level("level", levels, required=False),
        "categories": table.text("categories", required=True),
        "combine": table.choice("combine", ["each", "any"], "combine"),
        "mode": table.choice("mode", _MODES, "mode"),
        "threshold_m": table.number("threshold_m", positive=True),
        "threshold_min": table.number("threshold_min", positive=True),
        "speed_profile": table.choice("speed_profile", profiles["profile_id"],
                                      "speed profile in speed_profiles.csv", required=False),
        "thresholds_from": table.choice("thresholds_from", [THRESHOLDS_FROM_REQUIREMENTS],
                                        "thresholds_from", required=False),
        "target_coverage_pct": table.number("target_coverage_pct", positive=True),
        "region": table.text("region", required=True),
        **_common(table),
    })
    _check_circle_categories(table, _facility_categories(settings), requirements)
    _check_circle_thresholds(table, frame, dict(zip(profiles["profile_id"], profiles["mode"])))
    for i in frame.index[(frame["target_coverage_pct"] > 100).fillna(False).to_numpy(dtype=bool)]:
        table.add(i, "target_coverage_pct", f"{frame['target_coverage_pct'].iat[i]} is over 100")
    return table.finish(frame)


def _split_categories(text: object) -> list[str]:
    return [c.strip() for c in str(text or "").split(_CATEGORY_SEP) if c.strip()]


def _check_circle_categories(table: _Table, known: list[str], requirements: pd.DataFrame) -> None:
    required = set(zip(requirements["standard_id"], requirements["level"], requirements["category"]))
    for i, row in enumerate(table.raw.itertuples(index=False)):
        categories = _split_categories(row.categories)
        for category in sorted({c for c in categories if categories.count(c) > 1}):
            table.add(i, "categories", f"{category!r} is listed twice")
        for category in categories:
            if category not in known:
                table.add(i, "categories", _unknown(category, known, "category in facility_categories.csv"))
            elif row.thresholds_from == THRESHOLDS_FROM_REQUIREMENTS and \
                    (row.standard_id, row.level, category) not in required:
                table.add(i, "categories", f"{category!r} has no row at level {row.level!r} of "
                                           f"{row.standard_id} in facility_requirements.csv, so no threshold")


def _check_circle_thresholds(table: _Table, frame: pd.DataFrame, profile_mode: dict[str, str]) -> None:
    for i, row in enumerate(table.raw.itertuples(index=False)):
        given = [c for c in ("threshold_m", "threshold_min", "thresholds_from") if getattr(row, c) != ""]
        if len(given) != 1:
            table.add(i, "threshold_m", "give exactly one of threshold_m, threshold_min, thresholds_from; "
                                        f"saw {given or 'none'}")
        if row.threshold_min != "" and row.speed_profile == "":
            table.add(i, "speed_profile", "is empty but threshold_min is given; name a profile to turn "
                                          "minutes into metres")
        mode = profile_mode.get(row.speed_profile)
        if mode is not None and mode != row.mode:
            table.add(i, "speed_profile", f"{row.speed_profile!r} is a {mode} profile but the circle's mode "
                                          f"is {row.mode!r}")
        if row.thresholds_from != "" and "" in (row.standard_id, row.level):
            table.add(i, "level", "thresholds_from needs standard_id and level")


@dataclass(frozen=True)
class _Standards:
    circles: pd.DataFrame
    requirements: pd.DataFrame
    levels: pd.DataFrame
    profiles: pd.DataFrame


def _read_all(settings: Settings) -> _Standards:
    return _Standards(read_circles(settings), read_requirements(settings), read_levels(settings),
                      read_speed_profiles(settings))


def speed_m_per_min(settings: Settings, profile: str) -> float:
    """Speed of ``profile`` in metres per minute (e.g. adult 66.67 = 1000 m / 15 min)."""
    return _profile_speed(read_speed_profiles(settings), profile)


def _profile_speed(profiles: pd.DataFrame, profile: str, *, mode: str | None = None) -> float:
    match = profiles[profiles["profile_id"] == profile]
    if match.empty:
        raise ConfigError(_unknown(profile, profiles["profile_id"].tolist(), "speed profile")
                          + "; add it to speed_profiles.csv")
    if mode is not None and match["mode"].iat[0] != mode:
        raise ConfigError(f"speed profile {profile!r} is for {match['mode'].iat[0]}, not {mode}; "
                          f"{mode} profiles: {profiles.loc[profiles['mode'] == mode, 'profile_id'].tolist()}")
    return float(match["speed_m_per_min"].iat[0])


def walk_minutes(distance_m: npt.ArrayLike, speed_m_per_min: float) -> npt.NDArray[np.float64]:
    """Walking time in minutes for network distances in metres at ``speed_m_per_min``."""
    if not speed_m_per_min > 0:
        raise ConfigError(f"speed_m_per_min must be greater than 0; saw {speed_m_per_min}")
    return np.asarray(distance_m, dtype="float64") / speed_m_per_min


@_memoized
def circle_rules(settings: Settings, *, profile: str = "adult") -> pd.DataFrame:
    """One row per (circle, category) with its threshold in metres.

    Circles with ``thresholds_from = facility_requirements`` take the Appendix B
    radius (``threshold_basis`` ``clause``) or the level's coverage distance
    (``level``); metre circles keep ``threshold_m``; minute circles multiply
    ``threshold_min`` by a speed: walk circles by ``profile`` (so the same circles
    can be checked at the elderly speed), drive circles by their own profile;
    minute thresholds are rounded to the centimetre. ``verified`` is, for standard
    circles, the requirement row's flag (and the level's, when its distance is
    used); for local circles, the circle's flag (and the speed profile's, for
    minutes). ``combine`` ``any`` means one reachable category covers a cell.

    Parameters
    ----------
    settings : locates ``geodata/standards`` and ``geodata/categories``.
    profile : walking speed profile for minute-based walk circles (``adult``, ``elderly``).

    Returns
    -------
    DataFrame with columns circle_id, category, threshold_m, threshold_min,
    speed_profile, threshold_basis (clause/level/metres/minutes), requirement
    (must/should; <NA> for local circles), level, clause, mode, combine,
    target_coverage_pct, source, verified; circles in file order.

    Examples
    --------
    gb-5min / kindergarten -> 300.0 (Appendix B radius); gb-15min / post_office ->
    1000.0 (level distance); wuhan-12min-culture-sport at adult 66.67 m/min -> 800.0.
    """
    tables = _read_all(settings)
    return _expand(tables, _profile_speed(tables.profiles, profile, mode="walk"), profile)


def _expand(tables: _Standards, walk_speed: float, walk_profile: str) -> pd.DataFrame:
    circles = tables.circles.assign(category=tables.circles["categories"].map(_split_categories))
    circles = circles.explode("category", ignore_index=True)
    from_standard = circles["thresholds_from"].fillna("") == THRESHOLDS_FROM_REQUIREMENTS
    parts = [_standard_rules(circles[from_standard], tables), _local_rules(circles[~from_standard], tables,
                                                                            walk_speed, walk_profile)]
    order = {cid: i for i, cid in enumerate(tables.circles["circle_id"])}
    rules = pd.concat([p for p in parts if not p.empty], ignore_index=True)
    rules = rules.assign(_order=rules["circle_id"].map(order)).sort_values("_order", kind="stable")
    return _typed_rules(rules.drop(columns="_order").reset_index(drop=True))


def _standard_rules(circles: pd.DataFrame, tables: _Standards) -> pd.DataFrame:
    if circles.empty:
        return pd.DataFrame(columns=_RULE_COLUMNS)
    req = tables.requirements.rename(columns={"source": "req_source", "verified": "req_verified"})
    levels = tables.levels[["standard_id", "level", "coverage_distance_m", "verified"]].rename(
        columns={"verified": "level_verified"})
    rules = circles.drop(columns=["clause"], errors="ignore").merge(
        req, on=["standard_id", "level", "category"], how="left", validate="many_to_one")
    rules = rules.merge(levels, on=["standard_id", "level"], how="left", validate="many_to_one")
    by_clause = rules["radius_basis"] == "clause"
    return rules.assign(
        threshold_m=rules["radius_m"].where(by_clause, rules["coverage_distance_m"]),
        threshold_min=np.nan, speed_profile=pd.NA, threshold_basis=rules["radius_basis"],
        source=rules["req_source"],
        verified=rules["req_verified"] & (by_clause | rules["level_verified"]),
    )[_RULE_COLUMNS]


def _local_rules(circles: pd.DataFrame, tables: _Standards, walk_speed: float,
                 walk_profile: str) -> pd.DataFrame:
    if circles.empty:
        return pd.DataFrame(columns=_RULE_COLUMNS)
    profiles = tables.profiles.set_index("profile_id")
    walk = circles["mode"] == "walk"
    used = circles["speed_profile"].where(~walk, walk_profile)
    speed = used.map(profiles["speed_m_per_min"]).astype("float64").where(~walk, walk_speed)
    by_minutes = circles["threshold_min"].notna()
    profile_ok = used.map(profiles["verified"]).eq(True)
    return circles.assign(
        threshold_m=circles["threshold_m"].where(~by_minutes, (circles["threshold_min"] * speed).round(2)),
        speed_profile=used.where(by_minutes),
        threshold_basis=np.where(by_minutes, "minutes", "metres"),
        requirement=pd.NA, level=pd.NA, clause=pd.NA,
        verified=circles["verified"] & (profile_ok | ~by_minutes),
    )[_RULE_COLUMNS]


def _typed_rules(rules: pd.DataFrame) -> pd.DataFrame:
    floats = ["threshold_m", "threshold_min", "target_coverage_pct"]
    texts = [c for c in _RULE_COLUMNS if c not in floats and c != "verified"]
    return rules.astype({**{c: "float64" for c in floats}, **{c: "string" for c in texts},
                         "verified": bool})


@_memoized
def max_walk_threshold_m(settings: Settings) -> float:
    """Largest walking threshold in metres over all walk circles and walk speed profiles.

    Metre thresholds do not depend on the profile; minute thresholds grow with
    speed, so the fastest walk profile decides. Use it (plus
    ``settings.access_margin_m``) to bound the network search.
    """
    tables = _read_all(settings)
    walk_profiles = tables.profiles[tables.profiles["mode"] == "walk"]
    if walk_profiles.empty:
        raise ConfigError(f"{settings.standards_dir / 'speed_profiles.csv'} has no walk profile; add one")
    largest = np.nan
    for profile, speed in zip(walk_profiles["profile_id"], walk_profiles["speed_m_per_min"]):
        rules = _expand(tables, float(speed), profile)
        largest = np.fmax(largest, rules.loc[rules["mode"] == "walk", "threshold_m"].max())
    if np.isnan(largest):
        raise ConfigError(f"{settings.standards_dir / 'circles.csv'} has no walk circle with a threshold")
    return float(largest)
