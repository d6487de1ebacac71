"""Small helpers for the analyst notebooks (``notebooks/*.ipynb``): which viewer to read as,
a Chinese-capable chart font, figures and Leaflet maps shown without any network, and
stripping outputs before a commit.

Stripping from the shell (outputs never go into git; ``tests/test_notebooks.py`` checks)::

    python -m grid.notebook strip notebooks/*.ipynb   # clear outputs in place
    python -m grid.notebook check notebooks/*.ipynb   # exit 1 and name what is left

IPython and matplotlib are imported only inside the functions that need them.
"""

from __future__ import annotations

import html
import io
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from grid.governance.access import Viewer, system_viewer, viewer_for

if TYPE_CHECKING:
    import duckdb
    from IPython.display import HTML, Image
    from matplotlib.figure import Figure

__all__ = ["ANALYST", "CJK_FONTS", "KEPT_METADATA", "notebook_viewer", "use_cjk_font", "figure_to_image",
           "map_to_iframe", "strip_outputs", "output_problems", "main"]

ANALYST = "demo_analyst"
"""The demo database's analyst: every grid, no personal data, no exact addresses."""

CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "WenQuanYi Zen Hei", "Microsoft YaHei",
             "PingFang SC", "SimHei")
"""Fonts with Chinese glyphs, in order of preference (Debian: ``fonts-noto-cjk``)."""

_REMOTE_TILES = re.compile(r"""L\.tileLayer(?:\.wms)?\(\s*["']((?:https?:)?//[^"']+)""")
"""A folium tile layer with a URL on another host (Leaflet's own source has none)."""

KEPT_METADATA = ("kernelspec", "language_info")
"""Notebook metadata kept by :func:`strip_outputs`; everything else is editor or run noise."""


def notebook_viewer(con: duckdb.DuckDBPyConnection, username: str = ANALYST) -> Viewer:
    """The viewer a notebook reads as: the user ``username``, or the system viewer when the
    database has no users at all (e.g. one built by ``grid ingest`` alone).

    A database with users but not this one, or with this user deactivated, raises
    :class:`~grid.governance.access.AccessError` (pass your own ``username``) rather than
    falling back to the system viewer, which sees more.
    """
    users = con.execute("SELECT count(*) FROM users").fetchone()[0]
    return viewer_for(con, username) if users else system_viewer()


def use_cjk_font() -> bool:
    """Make matplotlib draw Chinese with the first installed font of :data:`CJK_FONTS`; False when none
    is installed (then label charts in English only, or matplotlib warns about missing glyphs)."""
    import matplotlib
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    chosen = next((name for name in CJK_FONTS if name in installed), None)
    if chosen is None:
        return False
    matplotlib.rcParams["font.family"] = "sans-serif"
    matplotlib.rcParams["font.sans-serif"] = [chosen, "DejaVu Sans"]
    matplotlib.rcParams["axes.unicode_minus"] = False
    return True


def figure_to_image(fig: Figure, *, dpi: int = 100) -> Image:
    """A matplotlib figure as a PNG image for the notebook, whatever backend is active (Agg-safe)."""
    from IPython.display import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return Image(data=buffer.getvalue(), format="png")


def map_to_iframe(m: object, *, height_px: int = 480) -> HTML:
    """A ``folium.Map`` made by :mod:`grid.maps` (the only package importing folium) as an iframe
    whose page inlines Leaflet, so it draws offline (folium's own notebook view loads Leaflet
    and jQuery from CDNs).

    Raises ValueError when the page would load anything from another host (scripts, styles or
    the tiles of an online base map).
    """
    from IPython.display import HTML

    from grid.maps import external_urls, map_html

    page = map_html(m, standalone=True)
    remote = external_urls(page) + _REMOTE_TILES.findall(page)
    if remote:
        raise ValueError(f"the map loads {remote[:3]} from the network; draw it with basemap='none'")
    # IPython's IFrame takes a URL, not a page; a bare <iframe> in HTML makes IPython warn, so wrap it
    return HTML(f'<div><iframe srcdoc="{html.escape(page, quote=True)}" style="width:100%;height:{height_px}px;'
                'border:1px solid #ccc" sandbox="allow-scripts"></iframe></div>')


def strip_outputs(notebook: dict) -> dict:
    """``notebook`` (nbformat 4 JSON) without outputs, execution counts, run metadata of cells and
    notebook metadata other than :data:`KEPT_METADATA` (of ``language_info`` only the name)."""
    out = dict(notebook)
    out["metadata"] = {k: v for k, v in notebook.get("metadata", {}).items() if k in KEPT_METADATA}
    if "language_info" in out["metadata"]:  # the kernel's Python version etc. would change with every run
        out["metadata"]["language_info"] = {"name": out["metadata"]["language_info"].get("name", "python")}
    cells = []
    for cell in notebook.get("cells", []):
        cell = {**cell, "metadata": {k: v for k, v in cell.get("metadata", {}).items()
                                     if k not in ("execution", "collapsed", "scrolled", "ExecuteTime")}}
        if cell.get("cell_type") == "code":
            cell.update(outputs=[], execution_count=None)
        cells.append(cell)
    out["cells"] = cells
    return out


def output_problems(notebook: dict) -> list[str]:
    """What :func:`strip_outputs` would remove from ``notebook``, one line per cell or key (empty: clean)."""
    metadata = notebook.get("metadata", {})
    problems = [f"notebook metadata {key!r}" for key in metadata if key not in KEPT_METADATA]
    if set(metadata.get("language_info", {})) - {"name"}:
        problems.append("notebook metadata 'language_info' beyond its name (the kernel's version)")
    for i, cell in enumerate(notebook.get("cells", [])):
        if cell.get("cell_type") == "code" and (cell.get("outputs") or cell.get("execution_count") is not None):
            problems.append(f"cell {i}: outputs or execution count")
    stripped = strip_outputs(notebook)
    if not problems and stripped != notebook:
        problems.append("cell metadata from a run (execution times)")
    return problems


def _write(path: Path, notebook: dict) -> None:
    """Write as nbformat does (sorted keys, indent 1, UTF-8, newline at the end) so diffs stay small."""
    text = json.dumps(notebook, sort_keys=True, indent=1, ensure_ascii=False, separators=(",", ": "))
    path.write_text(text + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """``strip PATH...`` clears outputs in place; ``check PATH...`` exits 1 when any are left."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2 or args[0] not in ("strip", "check"):
        print("usage: python -m grid.notebook strip|check NOTEBOOK.ipynb ...", file=sys.stderr)
        return 2
    dirty = 0
    for path in map(Path, args[1:]):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        problems = output_problems(notebook)
        if args[0] == "strip" and problems:
            _write(path, strip_outputs(notebook))
            print(f"stripped {path}")
        elif problems:
            dirty += 1
            print(f"{path}: " + "; ".join(problems) + " (run: python -m grid.notebook strip " + str(path) + ")")
    return 1 if dirty else 0


if __name__ == "__main__":
    sys.exit(main())
