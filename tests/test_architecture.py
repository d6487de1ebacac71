"""Guard the layering: library below, app and pipelines above; SQL values never string-built."""

from __future__ import annotations

import ast
import re

from conftest import PROJECT_ROOT

SRC = PROJECT_ROOT / "src" / "grid"


def _imports(path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_library_never_imports_ui_or_entry_points() -> None:
    for path in SRC.rglob("*.py"):
        bad = {n for n in _imports(path) if n.split(".")[0] in ("streamlit", "app_pages", "pipelines")}
        assert not bad, f"{path.relative_to(PROJECT_ROOT)} imports {bad}"


def test_pure_cores_do_not_touch_the_database() -> None:
    for name in ("crs.py", "h3index.py", "categories.py", "settings.py", "errors.py"):
        assert not {n for n in _imports(SRC / name) if n.startswith(("duckdb", "grid.store"))}, name
    for path in (SRC / "io").glob("*.py"):
        assert "duckdb" not in _imports(path), path.name


def test_pages_and_pipelines_hold_no_sql() -> None:
    sql = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE)\b.+\b(FROM|INTO|SET)\b")
    for path in list((PROJECT_ROOT / "app_pages").glob("*.py")) + list((PROJECT_ROOT / "pipelines").glob("*.py")) \
            + [PROJECT_ROOT / "app.py"]:
        assert not sql.search(path.read_text(encoding="utf-8")), f"SQL in {path.name}"


def test_sql_values_are_parameters() -> None:
    """f-strings passed to execute() may only interpolate names from allow-lists, never values."""
    allowed = {"target.table", "key", "cols", "assignments", "t", "table", "column",
               "spatial_extension_path()", "_sql_path(path)", "_typed_select(con, target)"}
    for path in SRC.rglob("*.py"):
        for match in re.finditer(r"execute\(\s*f\"([^\"]*)\"", path.read_text(encoding="utf-8")):
            for name in re.findall(r"\{([^}]+)\}", match.group(1)):
                assert name.split(".")[0] in {a.split(".")[0] for a in allowed} or name in allowed, \
                    f"{path.name}: {name!r} interpolated into SQL"
