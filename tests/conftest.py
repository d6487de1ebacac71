"""Shared fixtures: an isolated database and hash key per test, and the real data folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from grid.settings import Settings, get_settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]
REALDATA = PROJECT_ROOT.parent / "shared" / "realdata"


def realdata(*parts: str) -> Path:
    """Path of a file under ../shared/realdata; skips the test with a reason when it is absent."""
    path = REALDATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path} (needs ../shared/realdata beside the project)")
    return path


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings with a fresh database file and hash key under ``tmp_path``."""
    monkeypatch.setenv("GRID_DB", str(tmp_path / "grid.duckdb"))
    monkeypatch.setenv("GRID_HASH_KEY_FILE", str(tmp_path / "config" / "hash.key"))
    return get_settings()
