"""The analyst notebooks (``notebooks/*.ipynb``) and their helper module :mod:`grid.notebook`.

Each notebook runs top to bottom with nbclient on the session's demo database, in this
environment's ``python3`` kernel, with ``notebooks/`` as working directory: no error, nothing on
stderr (warnings included), within the issue's two-minute budget. The notebook itself asserts that
its SQL reproduces the library's (and so the app's) figures, so a mismatch fails here as a cell
error. The executed copies go to ``test-output/notebooks/`` (git-ignored); the committed files keep
no outputs. Notebooks are clients of the library: they import only grid and the analysis stack and
define no functions of their own beyond a few lines.
"""

from __future__ import annotations

import ast
import json
import sys
import time
from pathlib import Path

import duckdb
import nbformat
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from conftest import PROJECT_ROOT
from grid import maps, notebook
from grid.governance.access import AccessError, add_user, read_roles, roles_path, system_viewer, write_roles
from grid.store import open_reader, write_session

NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = ["01_life_circle_coverage.ipynb", "02_complaints_and_gaps.ipynb", "03_grid_workload.ipynb"]
OUTPUT_DIR = PROJECT_ROOT / "test-output" / "notebooks"
BUDGET_S = 120.0
"""Wall time allowed per notebook (the issue: each in at most 2 minutes on the 2-core CI)."""
CELL_TIMEOUT_S = 120
ALLOWED_IMPORTS = frozenset({"grid", "pandas", "numpy", "matplotlib", "duckdb", "folium", "IPython"}) \
    | frozenset(sys.stdlib_module_names)
MAX_FUNCTION_LINES = 5
STRIP_HINT = "strip them with `.venv/bin/python -m grid.notebook strip notebooks/*.ipynb`"


def _ids(path: Path) -> str:
    return path.stem


def _code_cells(path: Path) -> list[str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in cells if c["cell_type"] == "code"]


def test_the_three_notebooks_are_there() -> None:
    assert [p.name for p in NOTEBOOKS] == EXPECTED


# ---------------------------------------------------------------- committed form


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_outputs_are_stripped(path: Path) -> None:
    raw = json.loads(path.read_text(encoding="utf-8"))
    for i, cell in enumerate(raw["cells"]):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, \
                f"{path.name} cell {i} has outputs or an execution count; {STRIP_HINT}"
    extra = sorted(set(raw["metadata"]) - {"kernelspec", "language_info"})
    assert not extra, f"{path.name} metadata carries {extra}; {STRIP_HINT}"
    assert notebook.output_problems(raw) == [], f"{path.name}: {notebook.output_problems(raw)}; {STRIP_HINT}"
    nbformat.validate(nbformat.reads(path.read_text(encoding="utf-8"), as_version=4))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_notebooks_are_clients_of_the_library(path: Path) -> None:
    """Only grid and the analysis stack are imported, and no code is copied in (no function or
    class longer than a few lines)."""
    imported = set()
    for i, source in enumerate(_code_cells(path)):
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported.add((node.module or "").split(".")[0])
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                lines = node.end_lineno - node.lineno + 1
                assert lines <= MAX_FUNCTION_LINES, (
                    f"{path.name} cell {i} defines {node.name!r} over {lines} lines; "
                    "put reusable code into the grid library and import it")
    assert not imported - ALLOWED_IMPORTS, f"{path.name} imports {sorted(imported - ALLOWED_IMPORTS)}"
    assert "grid" in imported


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_first_cell_says_what_where_and_who(path: Path) -> None:
    first = nbformat.read(path, as_version=4).cells[0]
    assert first.cell_type == "markdown"
    for needed in ("What it shows", "synthetic", "GRID_DB", "read-only", "Role"):
        assert needed in first.source, f"{path.name}: the first cell should mention {needed!r}"


# ---------------------------------------------------------------- execution


def _problems(nb: nbformat.NotebookNode) -> list[str]:
    """Error outputs and anything written to stderr (warnings are errors here too)."""
    found = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                found.append(f"cell {i}: {out.ename}: {out.evalue}")
            elif out.output_type == "stream" and out.name == "stderr":
                found.append(f"cell {i} wrote to stderr: {out.text[:500]}")
    return found


@pytest.fixture
def demo_env(demo_db: tuple, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Environment of the kernel: the session's demo database and hash key, the inline backend."""
    settings, _ = demo_db
    monkeypatch.setenv("GRID_DB", str(settings.db_path))
    monkeypatch.setenv("GRID_HASH_KEY_FILE", str(settings.hash_key_path))
    monkeypatch.delenv("MPLBACKEND", raising=False)
    return settings.db_path


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_notebook_runs_top_to_bottom(path: Path, demo_env: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import sys\nprint(sys.executable, end='')"))  # which kernel ran
    client = NotebookClient(nb, kernel_name="python3", timeout=CELL_TIMEOUT_S, allow_errors=False,
                            resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    started = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as exc:
        pytest.fail(f"{path.name} failed on {demo_env}:\n{str(exc)[-4000:]}")
    finally:
        elapsed = time.perf_counter() - started
        OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, OUTPUT_DIR / path.name)
    probe = nb.cells.pop()
    assert not _problems(nb), f"{path.name}: {_problems(nb)}"
    assert Path(probe.outputs[0].text).resolve() == Path(sys.executable).resolve(), (
        f"the python3 kernel ran {probe.outputs[0].text}, not this environment's {sys.executable}; "
        "remove the user-level kernelspec that shadows it (`jupyter kernelspec list`)")
    assert elapsed < BUDGET_S, f"{path.name} took {elapsed:.0f} s; the budget is {BUDGET_S:.0f} s"


# ---------------------------------------------------------------- grid.notebook


def _dirty() -> dict:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                   "language_info": {"name": "python", "version": "3.11.7"}, "widgets": {"state": {}}}
    cell = nbformat.v4.new_code_cell("1 + 1", execution_count=3, metadata={"execution": {"iopub.status.idle": "x"}})
    cell.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "2"}, execution_count=3)]
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), cell]
    return json.loads(nbformat.writes(nb))


def test_strip_outputs_clears_outputs_counts_and_run_metadata() -> None:
    dirty = _dirty()
    assert notebook.output_problems(dirty) == [
        "notebook metadata 'widgets'", "notebook metadata 'language_info' beyond its name (the kernel's version)",
        "cell 1: outputs or execution count"]
    clean = notebook.strip_outputs(dirty)
    assert clean["metadata"] == {"kernelspec": dirty["metadata"]["kernelspec"], "language_info": {"name": "python"}}
    assert clean["cells"][1]["outputs"] == [] and clean["cells"][1]["execution_count"] is None
    assert clean["cells"][1]["metadata"] == {}
    assert clean["cells"][0] == dirty["cells"][0]
    assert notebook.output_problems(clean) == []
    assert dirty["cells"][1]["outputs"], "the input is not modified"


def test_strip_command_writes_what_check_accepts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x.ipynb"
    path.write_text(json.dumps(_dirty()), encoding="utf-8")
    assert notebook.main(["check", str(path)]) == 1
    assert "python -m grid.notebook strip" in capsys.readouterr().out
    assert notebook.main(["strip", str(path)]) == 0
    assert notebook.main(["check", str(path)]) == 0
    text = path.read_text(encoding="utf-8")
    assert text == nbformat.writes(nbformat.reads(text, as_version=4)) + "\n", "written as nbformat writes"
    assert notebook.main(["tidy", str(path)]) == 2


def test_committed_notebooks_are_byte_stable_under_strip(tmp_path: Path) -> None:
    for path in NOTEBOOKS:
        copy = tmp_path / path.name
        copy.write_bytes(path.read_bytes())
        notebook.main(["strip", str(copy)])
        assert copy.read_bytes() == path.read_bytes(), f"{path.name}: {STRIP_HINT}"


def test_notebook_viewer_is_the_analyst_of_the_demo(demo_db: tuple) -> None:
    settings, _ = demo_db
    con = open_reader(settings.db_path)
    try:
        viewer = notebook.notebook_viewer(con)
    finally:
        con.close()
    assert (viewer.username, viewer.role, viewer.grid_ids, viewer.personal_data, viewer.exact_address) == \
        ("demo_analyst", "analyst", None, False, False)


def test_notebook_viewer_without_users_is_the_system_viewer(settings) -> None:  # noqa: ANN001 - fixture
    with write_session(settings.db_path):
        pass
    con = open_reader(settings.db_path)
    try:
        assert notebook.notebook_viewer(con) is system_viewer()
    finally:
        con.close()


def test_notebook_viewer_never_falls_back_when_the_database_has_users(settings) -> None:  # noqa: ANN001
    with write_session(settings.db_path) as con:
        write_roles(con, read_roles(roles_path(settings)))
        add_user(con, "li_analyst", "correct horse battery", "analyst")
    con = open_reader(settings.db_path)
    try:
        with pytest.raises(AccessError, match="no user 'demo_analyst'"):
            notebook.notebook_viewer(con)
        assert notebook.notebook_viewer(con, "li_analyst").role == "analyst"
    finally:
        con.close()


def test_figure_to_image_is_a_png() -> None:
    fig = Figure(figsize=(2, 1))
    fig.subplots().plot([0, 1], [0, 1])
    image = notebook.figure_to_image(fig, dpi=50)
    assert image.data[:8] == b"\x89PNG\r\n\x1a\n" and image.format == "png"


def test_map_to_iframe_inlines_leaflet_and_refuses_online_tiles() -> None:
    frame = pd.DataFrame({"h3": np.array([0x8A40A680E217FFF], dtype=np.uint64), "count": [3]})
    html = notebook.map_to_iframe(maps.count_map(frame), height_px=300).data
    assert html.startswith("<div><iframe srcdoc=") and "height:300px" in html
    assert "leaflet" in html.lower() and "/app/static/" not in html
    assert maps.external_urls(html.replace("&quot;", '"')) == []
    with pytest.raises(ValueError, match="basemap='none'"):
        notebook.map_to_iframe(maps.count_map(frame, basemap="osm"))


def test_duckdb_is_only_read(demo_db: tuple) -> None:
    """The notebooks open the database with open_reader: a write through it fails."""
    settings, _ = demo_db
    con = open_reader(settings.db_path)
    try:
        with pytest.raises(duckdb.Error, match="read-only"):
            con.execute("CREATE TABLE scratch (x INTEGER)")
    finally:
        con.close()
