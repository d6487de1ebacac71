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


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, object]:
    """The default demo city (``grid demo``), built once per session into its own database and hash key.

    Returns (settings, files) with ``files`` a :class:`grid.demo.DemoFiles`.
    """
    from grid.demo import build_demo

    folder = tmp_path_factory.mktemp("demo")
    settings = get_settings(db_path=folder / "grid.duckdb", hash_key_path=folder / "config" / "hash.key")
    return settings, build_demo(settings, out_dir=folder / "files").files


@pytest.fixture
def demo(demo_db: tuple[Settings, object], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The session's demo city as the app's database (``GRID_DB`` and the hash key point at it)."""
    settings, _files = demo_db
    monkeypatch.setenv("GRID_DB", str(settings.db_path))
    monkeypatch.setenv("GRID_HASH_KEY_FILE", str(settings.hash_key_path))
    return get_settings()


@pytest.fixture
def media(monkeypatch: pytest.MonkeyPatch) -> list:
    """The media file managers of AppTest's runs, to read what a download button would send."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    managers: list[MediaFileManager] = []

    class Recording(MediaFileManager):
        def __init__(self, storage) -> None:  # noqa: ANN001
            super().__init__(storage)
            managers.append(self)

    monkeypatch.setattr("streamlit.testing.v1.app_test.MediaFileManager", Recording)
    return managers
