"""UI texts in Chinese (default) and English. Keys are stable English ids."""

from __future__ import annotations

__all__ = ["LANGUAGES", "t"]

LANGUAGES = {"zh": "中文", "en": "English"}

_TEXTS: dict[str, tuple[str, str]] = {
    "app_title": ("网格治理与生活圈分析", "Grid governance and life-circle analytics"),
    "home": ("概览", "Overview"),
    "data": ("数据", "Data"),
    "language": ("语言 / Language", "语言 / Language"),
    "no_database": ("尚无数据库：{path}。运行 `make run` 会创建数据库；用 `grid ingest ...` 导入社区边界、设施和诉求数据。",
                    "No database yet at {path}. `make run` creates one; load community boundaries, facilities and "
                    "complaints with `grid ingest ...`."),
    "empty_database": ("数据库为空：还没有导入任何数据。示例：`grid ingest boundaries 社区.gpkg`，"
                       "`grid ingest facilities 设施.csv --mapping amap-poi --crs gcj02`，`grid ingest complaints 12345.xlsx`。",
                       "The database is empty: nothing has been loaded yet. For example `grid ingest boundaries "
                       "communities.gpkg`, `grid ingest facilities pois.csv --mapping amap-poi --crs gcj02`, "
                       "`grid ingest complaints 12345.xlsx`."),
    "database": ("数据库", "Database"),
    "tables": ("数据表", "Tables"),
    "table": ("表", "Table"),
    "rows": ("行数", "Rows"),
    "loads": ("导入记录", "Loads"),
    "quarantine": ("隔离区（被拒绝的行）", "Quarantine (rejected rows)"),
    "choose_load": ("选择导入批次", "Choose a load"),
    "no_loads": ("还没有导入记录。", "No loads yet."),
    "no_rejects": ("这一批次没有被拒绝的行。", "This load rejected no rows."),
    "reason_counts": ("拒绝原因统计", "Rejections by reason"),
    "sources": ("数据来源", "Data sources"),
    "load_notes": ("导入说明（保留的行）", "Notes on kept rows"),
    "synthetic_label": ("演示数据（合成）", "synthetic demo data"),
    "real_label": ("真实数据", "real data"),
    "synthetic_banner": ("演示数据（合成）：这是程序生成的虚构城区，街道、社区、设施和诉求都不是真实的。",
                         "Synthetic demo data: a generated, fictional district; its streets, communities, "
                         "facilities and complaints are not real."),
    "schema_version": ("结构版本", "Schema version"),
    "h3_res": ("H3 分辨率", "H3 resolution"),
}


def t(key: str, lang: str = "zh", **values: object) -> str:
    """The UI text ``key`` in ``lang`` ('zh' or 'en'), with ``{placeholders}`` filled."""
    zh, en = _TEXTS[key]
    return (en if lang == "en" else zh).format(**values)
