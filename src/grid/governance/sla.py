"""SLA clocks (办理时限) for complaints: rules as data, due times, clock states and the 三率.

Rules live in ``geodata/governance/sla_rules.csv`` (see the README there): one row per
(category prefix, request type, urgency) with a response limit and a completion limit,
each in ``hours`` (clock hours, round the clock: the 12345 line runs 24/7) or
``working_days`` (the official working-day calendar, :mod:`grid.governance.calendar`).
The most specific rule wins (:func:`match_rules`); a catch-all ``*,*,*`` row is
required so every complaint gets a limit.

:func:`clock_states` reads the clocks at a moment ``as_of``, and :func:`three_rates`
reports Beijing 接诉即办's three rates 响应率 / 解决率 / 满意率 (names: domain brief §6
[V]); **the formulas are ours**, written out in :func:`three_rates`. The satisfaction
answers that count as satisfied are data too (``geodata/governance/satisfaction.csv``).

All timestamps are tz-aware; results are in UTC.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import logging
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from grid.categories import read_table
from grid.errors import ConfigError
from grid.governance.calendar import WorkCalendar, add_working_days

__all__ = [
    "read_sla_rules",
    "read_satisfaction",
    "match_rules",
    "due_times",
    "clock_states",
    "three_rates",
    "ANY",
    "UNITS",
    "RESPONSE_STATES",
    "COMPLETION_STATES",
    "SLA_RULES_FILE",
    "SATISFACTION_FILE",
]

logger = logging.getLogger(__name__)

ANY = "*"
"""Wildcard of the ``category``, ``request_type`` and ``urgency`` columns of a rule."""
UNITS = ("hours", "working_days")
RESPONSE_STATES = ("on_time", "late", "pending", "overdue", "not_applicable")
COMPLETION_STATES = ("on_time", "late", "open", "open_overdue", "not_applicable")
SLA_RULES_FILE = "sla_rules.csv"
SATISFACTION_FILE = "satisfaction.csv"

_RULE_COLUMNS = ["rule_id", "category", "request_type", "urgency", "response_limit", "response_unit",
                 "completion_limit", "completion_unit", "priority", "verified", "source", "note"]
_SATISFACTION_COLUMNS = ["value", "satisfied", "verified", "source"]
_VOCABS = {"category": "complaint_categories", "request_type": "request_types", "urgency": "urgencies"}
_BOOL_TEXT = {"true": True, "false": False}
_MAX_PROBLEMS = 30
_MEMO: dict[tuple[str, ...], pd.DataFrame] = {}
_MEMO_MAX = 32
_END_OF_DAY = np.timedelta64(86399, "s")  # 23:59:59


# --- reading and validating -------------------------------------------------------------------

def _digest(*blobs: bytes) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for blob in blobs:
        digest.update(len(blob).to_bytes(8, "little") + blob)
    return digest.hexdigest()


def _memo(key: tuple[str, ...], build: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """Validated frame per file contents; callers get a copy so they cannot change the cache."""
    if key not in _MEMO:
        if len(_MEMO) >= _MEMO_MAX:
            _MEMO.clear()
        _MEMO[key] = build()
    return _MEMO[key].copy()


def _read_csv(path: Path, columns: list[str], optional: Iterable[str] = ()) -> pd.DataFrame:
    """All cells as trimmed strings (empty = ""); raises when a required column is missing."""
    if not path.is_file():
        raise ConfigError(f"table {path} not found; pass the path of geodata/governance/{path.name}")
    raw = pd.read_csv(io.StringIO(path.read_bytes().decode("utf-8-sig")), dtype=str,
                      keep_default_na=False)
    raw.columns = [c.strip() for c in raw.columns]
    missing = [c for c in columns if c not in raw.columns and c not in optional]
    if missing:
        raise ConfigError(f"{path}: missing column(s) {missing}; the header is {list(raw.columns)}; "
                          f"use the header {','.join(columns)} (see geodata/governance/README.md)")
    for column in optional:
        if column not in raw.columns:
            raw[column] = ""
    return raw[columns].apply(lambda col: col.str.strip())


def _raise_problems(path: Path, problems: list[str]) -> None:
    if problems:
        shown = "\n  ".join(problems[:_MAX_PROBLEMS])
        more = f"\n  ... and {len(problems) - _MAX_PROBLEMS} more" if len(problems) > _MAX_PROBLEMS else ""
        raise ConfigError(f"{path}: {len(problems)} problem(s):\n  {shown}{more}")


def read_sla_rules(path: Path, *, categories_dir: Path) -> pd.DataFrame:
    """Read and validate SLA rules; limits as ``float64`` in their ``*_unit`` (hours or working days).

    Category, request type and urgency values are checked against the vocabularies in
    ``categories_dir`` (``complaint_categories.csv``, ``request_types.csv``,
    ``urgencies.csv``). Every problem raises :class:`~grid.errors.ConfigError` naming the
    line, value and fix. Results are kept per file contents.
    """
    path, categories_dir = Path(path), Path(categories_dir)
    blobs = [p.read_bytes() if p.is_file() else b"<missing>"
             for p in [path] + [categories_dir / f"{name}.csv" for name in _VOCABS.values()]]
    key = ("sla_rules", str(path.resolve()), str(categories_dir.resolve()), _digest(*blobs))
    return _memo(key, lambda: _build_rules(path, categories_dir))


def _build_rules(path: Path, categories_dir: Path) -> pd.DataFrame:
    raw = _read_csv(path, _RULE_COLUMNS, optional=("note",))
    vocab = {column: set(read_table(name, categories_dir)[column]) for column, name in _VOCABS.items()}
    problems = []
    for i, row in enumerate(raw.to_dict("records")):
        problems += [f"line {i + 2} (rule {row['rule_id']!r}): {p}" for p in _rule_problems(row, vocab)]
    for rule_id in raw["rule_id"][raw["rule_id"].duplicated() & (raw["rule_id"] != "")].unique():
        lines = (raw.index[raw["rule_id"] == rule_id] + 2).tolist()
        problems.append(f"rule_id {rule_id!r} is used on lines {lines}; give each rule its own id")
    wild = (raw[["category", "request_type", "urgency"]] == ANY).all(axis=1)
    if not wild.any():
        problems.append("no catch-all rule (category, request_type and urgency all '*'); add one so "
                        "every complaint, including unmapped ones, gets a time limit")
    _raise_problems(path, problems)
    return _typed_rules(raw)


def _rule_problems(row: dict[str, str], vocab: dict[str, set[str]]) -> list[str]:
    """Every problem of one rule row (empty when fine)."""
    problems = [] if row["rule_id"] else ["rule_id is empty; give the rule a short unique id"]
    for column, known in vocab.items():
        value = row[column]
        if value != ANY and value not in known:
            close = difflib.get_close_matches(value, sorted(known), n=3)
            hint = f"did you mean {close}?" if close else f"use '*' or an id from {_VOCABS[column]}.csv"
            problems.append(f"{column} {value!r} is unknown; {hint}")
    for stage in ("response", "completion"):
        problems += _limit_problems(row[f"{stage}_limit"], row[f"{stage}_unit"], stage)
    if row["priority"] and not row["priority"].lstrip("-").isdigit():
        problems.append(f"priority {row['priority']!r} is not a whole number; use e.g. 0 (lower wins)")
    if row["verified"].lower() not in _BOOL_TEXT:
        problems.append(f"verified {row['verified']!r} must be true or false")
    return problems


def _limit_problems(limit: str, unit: str, stage: str) -> list[str]:
    problems = []
    if unit not in UNITS:
        problems.append(f"{stage}_unit {unit!r} is unknown; use one of {list(UNITS)}")
    try:
        value = float(limit)
    except ValueError:
        return problems + [f"{stage}_limit {limit!r} is not a number; write e.g. 24"]
    if not np.isfinite(value) or value <= 0:
        problems.append(f"{stage}_limit {limit!r} must be a positive number")
    elif unit == "working_days" and value != int(value):
        problems.append(f"{stage}_limit {limit!r} working days must be a whole number; "
                        "use hours for parts of a day")
    return problems


def _typed_rules(raw: pd.DataFrame) -> pd.DataFrame:
    rules = raw.astype("string")
    for column in ("response_limit", "completion_limit"):
        rules[column] = raw[column].astype("float64")
    rules["priority"] = raw["priority"].replace("", "0").astype("int64")
    rules["verified"] = raw["verified"].str.lower().map(_BOOL_TEXT).astype(bool)
    return rules.reset_index(drop=True)


def read_satisfaction(path: Path) -> pd.DataFrame:
    """Read the satisfaction vocabulary: ``value`` (answer text), ``satisfied`` (bool).

    Values are matched ignoring case and surrounding spaces, so each must be unique in
    that form. Results are kept per file contents.
    """
    path = Path(path)
    blob = path.read_bytes() if path.is_file() else b"<missing>"
    return _memo(("satisfaction", str(path.resolve()), _digest(blob)), lambda: _build_satisfaction(path))


def _build_satisfaction(path: Path) -> pd.DataFrame:
    raw = _read_csv(path, _SATISFACTION_COLUMNS)
    problems = []
    for i, row in enumerate(raw.to_dict("records")):
        for column in ("satisfied", "verified"):
            if row[column].lower() not in _BOOL_TEXT:
                problems.append(f"line {i + 2}: {column} {row[column]!r} must be true or false")
        if not row["value"]:
            problems.append(f"line {i + 2}: value is empty; write the answer text, e.g. 满意")
    keys = raw["value"].str.casefold()
    for key in keys[keys.duplicated() & (keys != "")].unique():
        lines = (raw.index[keys == key] + 2).tolist()
        problems.append(f"value {key!r} appears on lines {lines} (case ignored); keep one row")
    _raise_problems(path, problems)
    table = raw.astype("string")
    for column in ("satisfied", "verified"):
        table[column] = raw[column].str.lower().map(_BOOL_TEXT).astype(bool)
    return table


# --- matching and due times -------------------------------------------------------------------

def _require(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {missing}; columns are {list(frame.columns)}")


def _candidates(combos: pd.DataFrame) -> pd.DataFrame:
    """One row per (combo, category prefix on '/' boundaries), with ``depth`` (0 for '*')."""
    parts = combos["category"].str.split("/")
    lengths = parts.str.len()
    frames = [combos.assign(prefix=ANY, depth=0)]
    for depth in range(1, int(lengths.max()) + 1 if len(combos) else 1):
        has = lengths >= depth
        frames.append(combos[has].assign(prefix=parts[has].str[:depth].str.join("/"), depth=depth))
    return pd.concat(frames, ignore_index=True)


def match_rules(complaints: pd.DataFrame, rules: pd.DataFrame) -> pd.Series:
    """The rule id for each complaint: the most specific matching rule.

    Order: longest category prefix (matched on ``/`` boundaries: ``noise`` matches
    ``noise/construction``, not ``noisey``), then an exact ``request_type`` over ``*``,
    then an exact ``urgency`` over ``*``, then lower ``priority``, then file order. A
    missing value (or one no rule names, such as ``unmapped``) only matches ``*``.
    Work is done once per distinct (category, request_type, urgency).
    """
    columns = ["category", "request_type", "urgency"]
    _require(complaints, columns, "complaints")
    keys = complaints[columns].astype("string").fillna("")
    combo_of_row = keys.groupby(columns, sort=False).ngroup().to_numpy()
    combos = keys.drop_duplicates().reset_index(drop=True).assign(combo=lambda f: np.arange(len(f)))
    ranked = rules.assign(order=np.arange(len(rules))).rename(columns={c: f"rule_{c}" for c in columns})
    pairs = _candidates(combos).merge(ranked, left_on="prefix", right_on="rule_category")
    exact_type = pairs["rule_request_type"] == pairs["request_type"]
    exact_urgency = pairs["rule_urgency"] == pairs["urgency"]
    pairs = pairs.assign(exact_type=exact_type, exact_urgency=exact_urgency)[
        (exact_type | (pairs["rule_request_type"] == ANY)) & (exact_urgency | (pairs["rule_urgency"] == ANY))]
    best = pairs.sort_values(["combo", "depth", "exact_type", "exact_urgency", "priority", "order"],
                             ascending=[True, False, False, False, True, True]).drop_duplicates("combo")
    rule_of_combo = best.set_index("combo")["rule_id"].reindex(np.arange(len(combos)))
    values = rule_of_combo.to_numpy()[combo_of_row] if len(complaints) else []
    return pd.Series(pd.array(values, dtype="string"), index=complaints.index, name="rule_id")


def _utc(values: pd.Series, name: str) -> pd.Series:
    """A tz-aware timestamp column in UTC; all-empty columns become NaT."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC")
    if values.isna().all():
        return pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]", name=name)
    raise ValueError(f"column {name!r} has dtype {values.dtype}, not tz-aware timestamps; "
                     "parse it with pandas.to_datetime(..., utc=True) or tz_localize it to its zone first")


def _due_at(received: pd.Series, limit: pd.Series, unit: pd.Series, calendar: WorkCalendar,
            timezone: str) -> pd.Series:
    """Due moments in UTC: received + hours, or 23:59:59 local of the n-th working day after receipt."""
    by_hours = received + pd.to_timedelta(limit.where(unit == "hours").to_numpy(), unit="h")
    in_days = ((unit == "working_days") & received.notna()).to_numpy()
    if not in_days.any():
        return by_hours
    local = received[in_days].dt.tz_convert(timezone).dt.tz_localize(None)
    start = local.to_numpy().astype("datetime64[D]")
    day = add_working_days(calendar, start, limit[in_days].to_numpy().astype(np.int64))
    end_local = pd.Series(day.astype("datetime64[s]") + _END_OF_DAY, index=local.index)
    by_days = end_local.dt.tz_localize(timezone).dt.tz_convert("UTC")
    return by_hours.where(~in_days, by_days.reindex(received.index))


def due_times(complaints: pd.DataFrame, rules: pd.DataFrame, calendar: WorkCalendar, *,
              timezone: str) -> pd.DataFrame:
    """Response and completion due moments (UTC) of each complaint under its matched rule.

    ``hours`` limits run round the clock from ``received_at``. ``working_days`` limits end
    at 23:59:59 local time (``timezone``, e.g. ``Asia/Shanghai``) of the n-th working day
    after the local date of receipt: a complaint received on a working day starts counting
    the next working day, one received on a holiday or weekend the first working day after
    it (so both get n full working days).

    Returns ``complaint_id, rule_id, response_due_at, rule_due_at`` with the complaints' index.
    """
    _require(complaints, ["complaint_id", "received_at"], "complaints")
    received = _utc(complaints["received_at"], "received_at")
    rule_id = match_rules(complaints, rules)
    limits = rules.set_index("rule_id").reindex(rule_id.to_numpy()).set_axis(complaints.index)
    due = {f"{out}_due_at": _due_at(received, limits[f"{stage}_limit"], limits[f"{stage}_unit"],
                                    calendar, timezone)
           for out, stage in (("response", "response"), ("rule", "completion"))}
    return pd.DataFrame({"complaint_id": complaints["complaint_id"], "rule_id": rule_id, **due},
                        index=complaints.index)


# --- clock states and rates -------------------------------------------------------------------

def clock_states(frame: pd.DataFrame, *, as_of: pd.Timestamp, closed_statuses: set[str],
                 void_statuses: set[str]) -> pd.DataFrame:
    """Response and completion states of each complaint at the moment ``as_of`` (tz-aware).

    Response: the first response is ``responded_at``, else ``closed_at``; ``on_time`` /
    ``late`` against ``response_due_at``; without a response ``pending`` until the due
    moment (inclusive), ``overdue`` after. Completion: a complaint whose status is in
    ``closed_statuses`` is ``on_time`` / ``late`` by ``closed_at`` against ``due_at``;
    otherwise ``open`` until ``due_at`` (inclusive), ``open_overdue`` after. Statuses in
    ``void_statuses`` (duplicate, cancelled), a missing due moment, and a closed status
    without ``closed_at`` give ``not_applicable``. ``overdue`` is completion ``late`` or
    ``open_overdue``.
    """
    _require(frame, ["status", "responded_at", "closed_at", "response_due_at", "due_at"], "frame")
    if as_of.tzinfo is None:
        raise ValueError(f"as_of {as_of} has no time zone; "
                         "pass a tz-aware timestamp, e.g. pandas.Timestamp.now(tz='UTC')")
    col = {c: _utc(frame[c], c) for c in ("responded_at", "closed_at", "response_due_at", "due_at")}
    void = frame["status"].isin(void_statuses).to_numpy()
    done = frame["status"].isin(closed_statuses).to_numpy()
    first = col["responded_at"].fillna(col["closed_at"])
    response = _states(void | col["response_due_at"].isna().to_numpy(), first, col["response_due_at"],
                       first.notna().to_numpy(), as_of, ("pending", "overdue"))
    unknown = void | col["due_at"].isna().to_numpy() | (done & col["closed_at"].isna().to_numpy())
    completion = _states(unknown, col["closed_at"], col["due_at"], done, as_of, ("open", "open_overdue"))
    return pd.DataFrame({"response_state": pd.array(response, dtype="string"),
                         "completion_state": pd.array(completion, dtype="string"),
                         "overdue": np.isin(completion, ["late", "open_overdue"])}, index=frame.index)


def _states(unknown: np.ndarray, at: pd.Series, due: pd.Series, happened: np.ndarray,
            as_of: pd.Timestamp, waiting: tuple[str, str]) -> np.ndarray:
    """not_applicable / on_time / late / waiting[0] (as_of <= due) / waiting[1] per row."""
    on_time = (at <= due).to_numpy()
    before_due = (due >= as_of).to_numpy()
    return np.select([unknown, happened & on_time, happened, before_due],
                     ["not_applicable", "on_time", "late", waiting[0]], default=waiting[1])


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    return numerator / denominator.where(denominator > 0)


def three_rates(frame: pd.DataFrame, *, by: list[str], satisfaction: pd.DataFrame) -> pd.DataFrame:
    """Response, resolution and satisfaction rates (0-1) per group, with the counts behind them.

    Beijing 接诉即办's 三率 (domain brief §6 [V] for the names; these formulas are ours):

    - ``response_rate`` = response on_time / (on_time + late + overdue); pending ones wait.
    - ``resolution_rate`` = completion on_time / (on_time + late + open_overdue): the share
      closed within the time limit, a proxy for 解决率 (which the hotline scores from the
      caller's answer whether the problem was solved).
    - ``satisfaction_rate`` = satisfied / rated, from ``satisfaction`` (the table of
      :func:`read_satisfaction`; 基本满意 counts as satisfied there). Empty answers are
      unrated; answers not in the table are unrated too and counted in
      ``satisfaction_unrecognised``.

    A rate is NaN when its denominator is 0. ``by=[]`` gives one row for the whole frame.
    """
    _require(frame, ["response_state", "completion_state", "satisfaction", *by], "frame")
    flags = _rate_flags(frame, satisfaction)
    if by:
        sums = flags.groupby([frame[c] for c in by], dropna=False, observed=True).sum().reset_index()
    else:
        sums = flags.sum().to_frame().T.astype("int64")
    due = sums["response_on_time"] + sums["response_late"] + sums["response_overdue"]
    sums["response_rate"] = _ratio(sums["response_on_time"], due)
    done = sums["completion_on_time"] + sums["completion_late"] + sums["completion_open_overdue"]
    sums["resolution_rate"] = _ratio(sums["completion_on_time"], done)
    sums["satisfaction_rate"] = _ratio(sums["satisfied"], sums["rated"])
    return sums


def _rate_flags(frame: pd.DataFrame, satisfaction: pd.DataFrame) -> pd.DataFrame:
    """0/1 columns per complaint whose group sums are the counts behind the three rates."""
    response, completion = frame["response_state"], frame["completion_state"]
    answer = frame["satisfaction"].astype("string").str.strip().str.casefold().fillna("")
    vocab = satisfaction.assign(key=satisfaction["value"].str.strip().str.casefold())
    satisfied = answer.isin(set(vocab["key"][vocab["satisfied"]]))
    dissatisfied = answer.isin(set(vocab["key"][~vocab["satisfied"]]))
    unrecognised = ~satisfied & ~dissatisfied & (answer != "")
    if unrecognised.any():
        logger.warning("satisfaction answers not in the vocabulary, counted as unrated: %s",
                       sorted(answer[unrecognised].unique())[:10])
    columns = {"complaints": pd.Series(True, index=frame.index)}
    columns |= {f"response_{s}": response == s for s in ("on_time", "late", "overdue", "pending")}
    columns |= {f"completion_{s}": completion == s for s in ("on_time", "late", "open_overdue", "open")}
    columns |= {"rated": satisfied | dissatisfied, "satisfied": satisfied,
                "satisfaction_unrecognised": unrecognised}
    return pd.DataFrame({k: v.fillna(False).astype("int64") for k, v in columns.items()}, index=frame.index)
