"""Complainants' names and phones are hashed and masked at ingest, never stored raw."""

from __future__ import annotations

import stat

import pandas as pd
import pytest

from grid.errors import ConfigError
from grid.ingest import ingest_file
from grid.io import privacy
from grid.store import open_reader

KEY = bytes(range(32))
NAMES = ["张三", "欧阳娜娜", "李四", "王五"]
PHONES = ["13812345678", "+86 139-0000-1111", "027-85551234", "15900002222"]


def test_masks() -> None:
    assert privacy.mask_phones(pd.Series(PHONES)).tolist() == ["138****5678", "139****1111", "027****1234",
                                                               "159****2222"]
    assert privacy.mask_names(pd.Series(NAMES + ["John Smith"])).tolist() == ["张*", "欧**娜", "李*", "王*",
                                                                               "J*** S****"]


def test_hashes_are_keyed_and_normalised() -> None:
    a = privacy.hash_phones(pd.Series(["13900001111", "+86 139 0000 1111", "139-0000-1111"]), KEY)
    assert a.nunique() == 1 and len(a.iloc[0]) == 32
    other_key = privacy.hash_phones(pd.Series(["13900001111"]), bytes(32))
    assert other_key.iloc[0] != a.iloc[0]
    assert privacy.hash_names(pd.Series([" 张三 ", "张三"]), KEY).nunique() == 1


def test_key_created_private_and_reused(tmp_path) -> None:
    path = tmp_path / "cfg" / "hash.key"
    key = privacy.load_or_create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert privacy.load_or_create_key(path) == key


def _complaints_csv(tmp_path, names=NAMES, phones=PHONES, rows=4):
    frame = pd.DataFrame({
        "工单编号": [f"C{i}" for i in range(rows)], "受理时间": ["2025-03-01 08:00:00"] * rows,
        "诉求类型": ["投诉"] * rows, "诉求分类": ["噪声扰民"] * rows,
        "经度": ["114.30"] * (rows - 1) + ["0"], "纬度": ["30.59"] * (rows - 1) + ["0"],
        "来电人": names[:rows], "联系电话": phones[:rows],
        "诉求内容": [f"楼下施工太吵，请回电{p}" for p in phones[:rows]]})
    path = tmp_path / "12345.csv"
    frame.to_csv(path, index=False, encoding="gbk")
    return path


def _all_text(con) -> str:
    parts = []
    for table, column in con.execute("SELECT table_name, column_name FROM information_schema.columns "
                                     "WHERE data_type = 'VARCHAR'").fetchall():
        parts += [str(v) for (v,) in con.execute(f'SELECT "{column}" FROM "{table}"').fetchall()]
    return "\n".join(parts)


def test_no_raw_personal_data_anywhere_in_the_database(settings, tmp_path) -> None:
    report = ingest_file("complaints", _complaints_csv(tmp_path), settings=settings)
    assert (report.rows_ok, report.rows_rejected) == (3, 1)  # the last row has a 0,0 placeholder
    con = open_reader(settings.db_path)
    text = _all_text(con)
    for raw in NAMES + ["13812345678", "13900001111", "15900002222", "85551234"]:
        assert raw not in text
    stored = con.execute("SELECT complainant_masked, phone_masked, description FROM complaints "
                         "ORDER BY complaint_id").fetchall()
    assert stored[0] == ("张*", "138****5678", "楼下施工太吵，请回电138****5678")
    raw_json = con.execute("SELECT raw_json FROM quarantine").fetchone()[0]
    assert "王*" in raw_json and "159****2222" in raw_json


def test_same_person_links_across_loads(settings, tmp_path) -> None:
    ingest_file("complaints", _complaints_csv(tmp_path), settings=settings)
    first = open_reader(settings.db_path).execute(
        "SELECT phone_hash FROM complaints WHERE complaint_id = 'C0'").fetchone()[0]
    assert first == privacy.hash_phones(pd.Series(["13812345678"]),
                                        privacy.load_or_create_key(settings.hash_key_path)).iloc[0]


def test_changed_key_is_refused(settings, tmp_path) -> None:
    ingest_file("complaints", _complaints_csv(tmp_path), settings=settings)
    settings.hash_key_path.write_bytes(bytes(32))
    with pytest.raises(ConfigError, match="restore the original key file"):
        ingest_file("complaints", _complaints_csv(tmp_path, rows=3), settings=settings, force=True)
