"""docs/schema.md matches the live database: same tables, same columns, same types."""

from __future__ import annotations

import re

from grid.store import TABLES, open_reader, write_session

from conftest import PROJECT_ROOT


def _documented() -> dict[str, dict[str, str]]:
    tables: dict[str, dict[str, str]] = {}
    current = None
    for line in (PROJECT_ROOT / "docs" / "schema.md").read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^### (\w+)\s*$", line)
        if heading:
            current = tables.setdefault(heading.group(1), {})
            continue
        row = re.match(r"^\| (\w+) \| ([A-Z][A-Z ]*[A-Z]) \|", line)
        if row and current is not None:
            current[row.group(1)] = row.group(2)
    return tables


def test_schema_doc_matches_live_database(settings) -> None:
    with write_session(settings.db_path):
        pass
    con = open_reader(settings.db_path)
    live: dict[str, dict[str, str]] = {}
    for table, column, data_type in con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "ORDER BY table_name, ordinal_position").fetchall():
        live.setdefault(table, {})[column] = data_type
    assert _documented() == live


def test_every_schema_table_is_documented() -> None:
    assert set(TABLES) == set(_documented())
