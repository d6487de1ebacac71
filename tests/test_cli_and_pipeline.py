"""The `grid` command and the load_city pipeline, run as a user would."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import yaml

from pipelines.load_city import load_city

from conftest import PROJECT_ROOT



def _run(*args: str, env_db) -> subprocess.CompletedProcess:
    return subprocess.run([str(PROJECT_ROOT / ".venv" / "bin" / "grid"), "--db", str(env_db), *args],
                          capture_output=True, text=True, timeout=120)


def _facilities_csv(tmp_path):
    path = tmp_path / "设施.csv"
    pd.DataFrame({"名称": ["紫阳幼儿园", "首义小学", "无名"], "类别": ["幼儿园", "小学", "幼儿园"],
                  "经度": ["114.30", "114.31", "abc"], "纬度": ["30.54", "30.55", "30.56"]}
                 ).to_csv(path, index=False, encoding="gbk")
    return path


def test_help_reads_well() -> None:
    out = subprocess.run([str(PROJECT_ROOT / ".venv" / "bin" / "grid"), "ingest", "--help"],
                         capture_output=True, text=True, timeout=60).stdout
    flat = " ".join(out.split())  # click wraps lines at the terminal width
    assert "boundaries, grids, facilities, complaints, landuse or managers" in flat and "gcj02" in flat
    assert "--mapping" in flat and "route every complaint again" in flat


def test_ingest_reports_counts_and_quarantine(tmp_path) -> None:
    db = tmp_path / "g.duckdb"
    result = _run("ingest", "facilities", str(_facilities_csv(tmp_path)), env_db=db)
    assert result.returncode == 0, result.stderr
    assert "rows in 3  ok 2  rejected 1" in result.stdout
    assert "encoding gb18030" in result.stdout
    assert "rejected for unparseable_coordinate: 1" in result.stdout
    shown = _run("quarantine", "--raw", env_db=db).stdout
    assert "row 3: unparseable coordinate lon='abc' lat='30.56'" in shown
    assert '{"名称": "无名", "类别": "幼儿园", "经度": "abc", "纬度": "30.56"}' in shown
    again = _run("ingest", "facilities", str(_facilities_csv(tmp_path)), env_db=db).stdout
    assert "[unchanged]" in again and "nothing changed" in again


def test_errors_are_one_clear_line(tmp_path) -> None:
    bad = tmp_path / "no_names.csv"
    pd.DataFrame({"lon": [114.3], "lat": [30.5]}).to_csv(bad, index=False)
    result = _run("ingest", "facilities", str(bad), env_db=tmp_path / "g.duckdb")
    assert result.returncode == 2
    assert result.stderr.startswith("error: no column for required field 'name'")
    assert "--mapping" in result.stderr and "Traceback" not in result.stderr
    missing = _run("loads", env_db=tmp_path / "none.duckdb")
    assert missing.returncode == 2 and "no database at" in missing.stderr


def test_load_city_pipeline_runs_a_manifest(tmp_path) -> None:
    _facilities_csv(tmp_path)
    manifest = tmp_path / "city.yaml"
    manifest.write_text(yaml.safe_dump({"loads": [{"kind": "facilities", "file": "设施.csv"}]},
                                       allow_unicode=True), encoding="utf-8")
    reports = load_city(manifest, tmp_path / "city.duckdb")
    assert [(r.rows_ok, r.rows_rejected) for r in reports] == [(2, 1)]
    assert load_city(manifest, tmp_path / "city.duckdb")[0].status == "unchanged"
