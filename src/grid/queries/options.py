"""What a page offers to choose from: circles, speed profiles, categories and communities, with their names."""

from __future__ import annotations

import duckdb
import pandas as pd

from grid.categories import read_table
from grid.settings import Settings
from grid.standards import read_circles, read_levels, read_speed_profiles

__all__ = ["category_names", "complaint_vocabulary", "level_names", "list_circles", "list_communities", "list_facilities", "list_profiles"]


def list_circles(settings: Settings) -> pd.DataFrame:
    """Life circles in file order: circle_id, name_zh, name_en, mode, combine, categories (list), computable.

    ``computable`` is False for drive circles: only a walking network is loaded.
    """
    circles = read_circles(settings)
    out = circles[["circle_id", "name_zh", "name_en", "mode", "combine"]].astype(object).copy()
    out["categories"] = [[c.strip() for c in str(text).split(";") if c.strip()] for text in circles["categories"]]
    out["computable"] = (circles["mode"] == "walk").to_numpy(bool)
    return out.reset_index(drop=True)


def list_profiles(settings: Settings, *, mode: str = "walk") -> pd.DataFrame:
    """Speed profiles of ``mode``: profile_id, name_zh, name_en, speed_m_per_min."""
    profiles = read_speed_profiles(settings)
    profiles = profiles[profiles["mode"] == mode]
    return profiles[["profile_id", "name_zh", "name_en", "speed_m_per_min"]].astype(
        {"profile_id": object, "name_zh": object, "name_en": object}).reset_index(drop=True)


def category_names(settings: Settings) -> pd.DataFrame:
    """Facility categories with their Chinese and English names, indexed by category."""
    table = read_table("facility_categories", settings.categories_dir)
    return table[["category", "name_zh", "name_en"]].astype(object).set_index("category")


_VOCABULARIES = {"category": ("complaint_categories", "category"), "status": ("complaint_statuses", "status"),
                 "request_type": ("request_types", "request_type"), "urgency": ("urgencies", "urgency"),
                 "channel": ("channels", "channel")}


def complaint_vocabulary(settings: Settings, kind: str) -> pd.DataFrame:
    """Complaint categories, statuses, request types, urgencies or channels with name_zh, name_en,
    indexed by id (categories also carry ``parent``)."""
    if kind not in _VOCABULARIES:
        raise ValueError(f"unknown vocabulary {kind!r}; use {sorted(_VOCABULARIES)}")
    table, key = _VOCABULARIES[kind]
    frame = read_table(table, settings.categories_dir)
    columns = [key, "name_zh", "name_en"] + (["parent"] if kind == "category" else [])
    return frame[columns].astype(object).set_index(key)


def level_names(settings: Settings) -> pd.DataFrame:
    """Life-circle levels of GB 50180-2018 (15min, 10min, 5min, block) with name_zh, name_en, in table order."""
    levels = read_levels(settings)
    return levels[["level", "name_zh", "name_en"]].astype(object).set_index("level")


def list_communities(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Communities: community_id, name, subdistrict, population, in id order."""
    return con.execute("SELECT community_id, name, subdistrict, population FROM communities "
                       "ORDER BY community_id").to_arrow_table().to_pandas()


def list_facilities(con: duckdb.DuckDBPyConnection, *, categories: list[str]) -> pd.DataFrame:
    """Facilities of ``categories``: facility_id, name, category, floor_area_m2, address, lon, lat (WGS-84)."""
    return con.execute(
        "SELECT facility_id, name, category, floor_area_m2, address, lon, lat FROM facilities "
        "WHERE list_contains(?, category) ORDER BY category, facility_id",
        [list(categories)]).to_arrow_table().to_pandas()
