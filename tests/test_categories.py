"""Tests for grid.categories and the tables in geodata/categories.

Hand examples check each function; table checks keep the CSVs consistent
(ids exist, unique, booleans); real-data tests (marked ``realdata``) check the
mappings against the Amap code table, the Shanghai Amap POI files and the
Baltimore 311 sample in ../shared/realdata, read in place.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from grid.categories import (
    amap_codes_to_categories,
    amap_types_to_categories,
    lookup_aliases,
    patterns_to_categories,
    read_table,
)
from grid.errors import InputError, MappingError

CATEGORIES_DIR = Path(__file__).resolve().parents[1] / "geodata" / "categories"
REALDATA = Path(__file__).resolve().parents[1].parent / "shared" / "realdata"

VOCABULARIES = {  # table name -> id column
    "facility_categories": "category",
    "complaint_categories": "category",
    "request_types": "request_type",
    "complaint_statuses": "status",
    "urgencies": "urgency",
    "channels": "channel",
}
MAPPINGS = {"amap_to_category": "facility_categories", "baltimore_srtype_to_category": "complaint_categories"}
ALIAS_TABLES = ["complaint_categories", "request_types", "complaint_statuses", "urgencies", "channels"]


def _table(name: str) -> pd.DataFrame:
    return read_table(name, CATEGORIES_DIR)


def _realdata(relative: str) -> Path:
    path = REALDATA / relative
    if not path.exists():
        pytest.skip(f"real data not available: {path} is absent (expected ../shared/realdata)")
    return path


# --- the tables themselves -------------------------------------------------------------


@pytest.mark.parametrize("name", [*VOCABULARIES, *MAPPINGS])
def test_verified_is_bool_and_source_filled(name: str) -> None:
    table = _table(name)
    assert table["verified"].dtype == bool
    assert (table["source"].str.strip() != "").all()


@pytest.mark.parametrize("name", [*VOCABULARIES, *MAPPINGS])
def test_verified_column_holds_only_true_or_false(name: str) -> None:
    raw = pd.read_csv(CATEGORIES_DIR / f"{name}.csv", dtype=str, keep_default_na=False)
    assert set(raw["verified"]) <= {"true", "false"}


@pytest.mark.parametrize(("name", "id_column"), VOCABULARIES.items())
def test_vocabulary_ids_unique_and_snake_case(name: str, id_column: str) -> None:
    ids = _table(name)[id_column]
    assert ids.is_unique
    assert ids.str.fullmatch(r"[a-z][a-z0-9_]*(/[a-z][a-z0-9_]*)?").all()


@pytest.mark.parametrize("name", ALIAS_TABLES)
def test_every_spelling_names_one_id(name: str) -> None:
    table = _table(name)
    id_column = VOCABULARIES[name]
    # lookup_aliases raises MappingError on a spelling shared by two ids
    back = lookup_aliases(table["name_zh"], table, id_column)
    assert back.tolist() == table[id_column].tolist()


@pytest.mark.parametrize(("name", "vocabulary"), MAPPINGS.items())
def test_mapping_categories_exist(name: str, vocabulary: str) -> None:
    categories = _table(name)["category"]
    known = set(_table(vocabulary)["category"])
    assert set(categories[categories != ""]) - known == set()


@pytest.mark.parametrize(("name", "key"), [("amap_to_category", ["code_pattern"]),
                                          ("baltimore_srtype_to_category", ["pattern", "match"])])
def test_mapping_patterns_unique(name: str, key: list[str]) -> None:
    assert not _table(name).duplicated(key).any()


def test_facility_levels_and_groups() -> None:
    table = _table("facility_categories")
    assert set(table["level"]) <= {"15", "10", "5", "block", ""}
    groups = {"education", "health", "elderly", "culture", "sport", "commerce", "admin",
              "transport", "utilities", "green", "other"}
    assert set(table["group"]) <= groups
    levels = table.set_index("category")["level"]
    assert levels[["kindergarten", "primary_school", "middle_school"]].tolist() == ["5", "10", "15"]


def test_complaint_tree_has_two_levels_with_3_to_6_children() -> None:
    table = _table("complaint_categories")
    tops = table[table["parent"] == ""]
    children = table[table["parent"] != ""]
    assert set(children["parent"]) == set(tops["category"])
    assert (children["category"].str.split("/").str[0] == children["parent"]).all()
    assert children.groupby("parent").size().between(3, 6).all()


def test_amap_code_patterns_are_2_4_or_6_digits() -> None:
    table = _table("amap_to_category")
    assert table["code_pattern"].str.fullmatch(r"\d{2}|\d{4}|\d{6}").all()
    prefixes = table[table["code_pattern"].str.len() < 6]
    assert (prefixes["sub_zh"] == "").all()


# --- read_table -------------------------------------------------------------------------


def test_read_table_parses_verified_and_keeps_empty_cells(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("id,level,verified\na,,TRUE\nb,5, false\n", encoding="utf-8")
    table = read_table("t", tmp_path)
    assert table["verified"].tolist() == [True, False]
    assert table["level"].tolist() == ["", "5"]


def test_read_table_rejects_bad_verified(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("id,verified\na,yes\nb,true\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"must be true or false; saw \['yes'\] on lines \[2\]"):
        read_table("t", tmp_path)


def test_read_table_missing_file_names_the_tables(tmp_path: Path) -> None:
    (tmp_path / "other.csv").write_text("id\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"not found; tables in .*\['other'\]"):
        read_table("t", tmp_path)


# --- lookup_aliases ---------------------------------------------------------------------

ALIAS_TABLE = pd.DataFrame({
    "status": ["closed", "in_progress"],
    "name_zh": ["办结", "办理中"],
    "name_en": ["closed", "in progress"],
    "aliases": ["已结案|Closed (Duplicate)", "Open|处置中"],
})


def test_lookup_aliases_ignores_case_and_whitespace() -> None:
    values = pd.Series([" CLOSED ", "closed  (duplicate)", "In Progress", "处置中", "已结案", "open"],
                       index=list("abcdef"))
    result = lookup_aliases(values, ALIAS_TABLE, "status")
    assert result.tolist() == ["closed", "closed", "in_progress", "in_progress", "closed", "in_progress"]
    assert result.index.tolist() == list("abcdef")
    assert result.dtype == "string"


def test_lookup_aliases_unknown_and_empty_are_na() -> None:
    result = lookup_aliases(pd.Series(["nope", "", "  ", None]), ALIAS_TABLE, "status")
    assert result.isna().all()


def test_lookup_aliases_rejects_a_spelling_on_two_ids() -> None:
    table = ALIAS_TABLE.assign(aliases=["open", "Open"])
    with pytest.raises(MappingError, match=r"'Open' \(closed and in_progress\)"):
        lookup_aliases(pd.Series(["x"]), table, "status")


def test_lookup_aliases_unknown_id_column() -> None:
    with pytest.raises(MappingError, match=r"id column 'state' not in table; columns are \['status'"):
        lookup_aliases(pd.Series(["x"]), ALIAS_TABLE, "state")


# --- Amap codes and types ---------------------------------------------------------------

AMAP_TABLE = pd.DataFrame(
    [
        ["09", "医疗保健服务", "", "", "health_any"],
        ["0901", "医疗保健服务", "综合医院", "", "hospital"],
        ["090102", "医疗保健服务", "综合医院", "卫生院", "community_health_center"],
        ["0604", "购物服务", "超级市场", "", "supermarket"],
        ["060411", "购物服务", "超级市场", "屈臣氏", ""],
        ["141204", "科教文化服务", "学校", "幼儿园", "kindergarten"],
    ],
    columns=["code_pattern", "big_zh", "mid_zh", "sub_zh", "category"],
)


def test_amap_codes_longest_pattern_wins() -> None:
    codes = pd.Series(["090102", "090101", "090300", "141204", "141203"])
    assert amap_codes_to_categories(codes, AMAP_TABLE).tolist() == [
        "community_health_center", "hospital", "health_any", "kindergarten", pd.NA]


def test_amap_codes_restore_leading_zero() -> None:
    codes = pd.Series([60400, 90102, 60400.0, "60400"])
    assert amap_codes_to_categories(codes, AMAP_TABLE).tolist() == [
        "supermarket", "community_health_center", "supermarket", "supermarket"]


def test_amap_codes_pipe_first_mapping_wins() -> None:
    codes = pd.Series(["999999|141204|090100", "060411|090100", "060411", " 141204 | 090100 "])
    assert amap_codes_to_categories(codes, AMAP_TABLE).tolist() == [
        "kindergarten", "hospital", pd.NA, "kindergarten"]


def test_amap_codes_missing_are_na() -> None:
    assert amap_codes_to_categories(pd.Series([None, "", "abc"]), AMAP_TABLE).isna().all()


def test_amap_types_triple_then_pair_then_big() -> None:
    types = pd.Series([
        "医疗保健服务;综合医院;卫生院",
        "医疗保健服务;综合医院;三级甲等医院",
        "医疗保健服务;诊所;诊所",
        "科教文化服务;学校;小学",
        "购物服务;超级市场;屈臣氏",
    ])
    assert amap_types_to_categories(types, AMAP_TABLE).tolist() == [
        "community_health_center", "hospital", "health_any", pd.NA, pd.NA]


def test_amap_types_pipe_first_mapping_wins() -> None:
    types = pd.Series([
        "科教文化服务;培训机构;培训机构|科教文化服务;学校;幼儿园",
        "购物服务;超级市场;屈臣氏|医疗保健服务;综合医院;综合医院",
        " 科教文化服务 ; 学校 ; 幼儿园 ",
        None,
    ])
    assert amap_types_to_categories(types, AMAP_TABLE).tolist() == [
        "kindergarten", "hospital", "kindergarten", pd.NA]


# --- exact / prefix patterns ------------------------------------------------------------

PATTERN_TABLE = pd.DataFrame(
    [
        ["HCD-", "prefix", "housing"],
        ["HCD-Illegal", "prefix", "urban_management/advertising"],
        ["HCD-Illegal Dumping", "exact", "environment_sanitation/illegal_dumping"],
        ["HCD-Skip Me", "exact", ""],
    ],
    columns=["pattern", "match", "category"],
)


def test_patterns_exact_beats_prefix_and_longest_prefix_wins() -> None:
    values = pd.Series(["HCD-Illegal Dumping", "HCD-Illegal Flyers", "HCD-Vacant Building",
                        "HCD-Illegal Dumping Extra", "hcd-illegal  dumping ", "HCD-Skip Me", "SW-Bulk", None])
    assert patterns_to_categories(values, PATTERN_TABLE).tolist() == [
        "environment_sanitation/illegal_dumping", "urban_management/advertising", "housing",
        "urban_management/advertising", "environment_sanitation/illegal_dumping", pd.NA, pd.NA, pd.NA]


def test_patterns_reject_unknown_match_kind() -> None:
    table = PATTERN_TABLE.assign(match=["prefix", "regex", "exact", "exact"])
    with pytest.raises(MappingError, match=r"must be exact or prefix; saw \['regex'\]"):
        patterns_to_categories(pd.Series(["x"]), table)


# --- real data --------------------------------------------------------------------------


def _baltimore() -> pd.DataFrame:
    path = _realdata("baltimore-311-sample/baltimore_311_sample.csv")
    return pd.read_csv(path, dtype=str, keep_default_na=False,
                       usecols=["SRType", "SRStatus", "MethodReceived"])


@pytest.mark.realdata
def test_baltimore_every_srtype_maps() -> None:
    srtypes = _baltimore()["SRType"]
    mapped = patterns_to_categories(srtypes, _table("baltimore_srtype_to_category"))
    assert sorted(srtypes[mapped.isna()].unique()) == []
    assert set(mapped) <= set(_table("complaint_categories")["category"])
    print(f"Baltimore SRType mapped {mapped.notna().mean():.1%} of {len(srtypes)} rows")


@pytest.mark.realdata
@pytest.mark.parametrize(("column", "table"), [("SRStatus", "complaint_statuses"),
                                               ("MethodReceived", "channels")])
def test_baltimore_every_status_and_channel_maps(column: str, table: str) -> None:
    values = _baltimore()[column]
    mapped = lookup_aliases(values, _table(table), VOCABULARIES[table])
    assert sorted(values[mapped.isna()].unique()) == []


@pytest.mark.realdata
def test_baltimore_statuses_land_where_expected() -> None:
    statuses = pd.Series(["Closed", "Closed (Duplicate)", "Open (Duplicate)", "New", "Open", "Pending"])
    mapped = lookup_aliases(statuses, _table("complaint_statuses"), "status")
    assert mapped.tolist() == ["closed", "duplicate", "duplicate", "received", "in_progress", "in_progress"]


def _amap_code_table() -> pd.DataFrame:
    path = _realdata("amap-poi-typecode/amap_poicode.csv")
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.mark.realdata
def test_amap_pattern_names_agree_with_code_table() -> None:
    codes = _amap_code_table()
    problems = []
    for row in _table("amap_to_category").itertuples():
        rows = codes[codes["NEW_TYPE"].str.startswith(row.code_pattern)]
        expected = {
            "大类": {row.big_zh},
            "中类": {row.mid_zh} if len(row.code_pattern) >= 4 else set(rows["中类"]),
            "小类": {row.sub_zh} if len(row.code_pattern) == 6 else set(rows["小类"]),
        }
        seen = {level: set(rows[level]) for level in expected}
        if rows.empty or seen != expected:
            problems.append((row.code_pattern, seen))
    assert problems == []


@pytest.mark.realdata
def test_amap_codes_and_names_give_the_same_category() -> None:
    codes = _amap_code_table()
    table = _table("amap_to_category")
    by_code = amap_codes_to_categories(codes["NEW_TYPE"], table)
    by_name = amap_types_to_categories(codes["大类"] + ";" + codes["中类"] + ";" + codes["小类"], table)
    differ = codes.loc[by_code.fillna("-") != by_name.fillna("-"), "NEW_TYPE"]
    assert differ.tolist() == []


SHANGHAI_EXPECTATIONS = [  # file, accepted categories, minimum share of rows
    ("shanghai_kindergarten.csv", {"kindergarten"}, 0.95),
    ("shanghai_primary_school.csv", {"primary_school"}, 0.95),
    ("shanghai_middle_school.csv", {"middle_school"}, 0.95),
    ("shanghai_metro_station.csv", {"metro_station"}, 0.95),
    ("shanghai_hospital.csv", {"hospital", "specialist_hospital", "clinic"}, 0.75),
    ("shanghai_school.csv", {"kindergarten", "primary_school", "middle_school", "other_school"}, 0.95),
]


@pytest.mark.realdata
@pytest.mark.parametrize(("file", "accepted", "minimum"), SHANGHAI_EXPECTATIONS)
def test_shanghai_amap_files_map(file: str, accepted: set[str], minimum: float) -> None:
    path = _realdata(f"shanghai-amap-poi/{file}")
    types = pd.read_csv(path, dtype=str, keep_default_na=False)["type"]
    mapped = amap_types_to_categories(types, _table("amap_to_category"))
    share = mapped.isin(accepted).mean()
    print(f"{file}: {share:.1%} in {sorted(accepted)}; any category {mapped.notna().mean():.1%}; "
          f"{mapped.value_counts(dropna=False).head(6).to_dict()}")
    assert share >= minimum


@pytest.mark.realdata
def test_shanghai_hospital_rows_left_unmapped_are_vets_and_disease_control() -> None:
    path = _realdata("shanghai-amap-poi/shanghai_hospital.csv")
    types = pd.read_csv(path, dtype=str, keep_default_na=False)["type"]
    mapped = amap_types_to_categories(types, _table("amap_to_category"))
    mids = types[mapped.isna()].str.split("|").str.join(";").str.split(";").explode()
    assert set(mids) <= {"医疗保健服务", "动物医疗场所", "宠物诊所", "兽医站", "疾病预防机构", "疾病预防"}
    assert mapped.notna().mean() >= 0.9
