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
    # pages
    "coverage": ("生活圈覆盖", "Life-circle coverage"),
    "community": ("社区体检", "Community report"),
    "whatif": ("情景模拟", "What-if"),
    "coverage_intro": ("谁在步行范围之外：按生活圈、设施类别和步速查看覆盖与缺口",
                       "who is out of walking reach: coverage and gaps by circle, category and walking speed"),
    "community_intro": ("逐项检查一个社区的配套设施和社区标准，并下载可打印的报告",
                        "check one community item by item against the standards and download a printable report"),
    "whatif_intro": ("在地图上新增或移除设施，比较前后的覆盖率和缺口人口",
                     "add or remove a facility on the map and compare coverage and people in gaps before and after"),
    # empty states
    "missing_communities": ("还没有社区边界。运行 `grid ingest boundaries 社区边界.gpkg`（或 `make run` 生成演示城市）。",
                            "No community boundaries yet. Run `grid ingest boundaries communities.gpkg` (or `make run` "
                            "to build the demo city)."),
    "missing_facilities": ("还没有设施。运行 `grid ingest facilities 设施.csv --mapping amap-poi --crs gcj02`，"
                           "然后运行 `grid access compute`。",
                           "No facilities yet. Run `grid ingest facilities pois.csv --mapping amap-poi --crs gcj02`, "
                           "then `grid access compute`."),
    "missing_network": ("还没有步行路网。运行 `grid ingest network 路网.osm.pbf`，然后运行 `grid access compute`。",
                        "No walking network yet. Run `grid ingest network streets.osm.pbf`, then "
                        "`grid access compute`."),
    "missing_access": ("还没有计算步行可达性。运行 `grid access compute`。",
                       "Walking access has not been computed yet. Run `grid access compute`."),
    "stale_access": ("这些类别的设施是在上次计算可达性之后导入的，还没有步行距离：{categories}。运行 `grid access compute`。",
                     "These categories' facilities were loaded after access was last computed and have no walking "
                     "distances yet: {categories}. Run `grid access compute`."),
    "no_facilities": ("数据库中没有这些类别的设施，覆盖率为 0：{categories}。用 `grid ingest facilities ...` 导入后运行 "
                      "`grid access compute`。",
                      "The database has no facilities of these categories, so nobody is covered: {categories}. Load "
                      "them with `grid ingest facilities ...`, then run `grid access compute`."),
    # coverage page
    "circle": ("生活圈", "Life circle"),
    "category": ("设施类别", "Facility category"),
    "all_required": ("全部必配设施", "all required facilities"),
    "profile": ("步速", "Walking speed"),
    "basemap": ("底图", "Base map"),
    "tianditu_key": ("天地图密钥（tk）", "Tianditu key (tk)"),
    "basemap_fallback": ("现在不显示底图。", "Showing no base map for now."),
    "synthetic_tiles": ("底图默认关闭：演示城市是合成的，它的街道和社区与真实底图上的位置不对应。",
                        "Base map tiles are off by default: the demo city is synthetic, so its streets and "
                        "communities do not match what real tiles show."),
    "drive_suffix": ("（驾车圈，暂不可算）", " (drive circle, not computable)"),
    "drive_circle": ("「{name}」是驾车时间圈：只导入了步行路网，还不能计算驾车可达性。请选择一个步行生活圈。",
                     "'{name}' is a drive-time circle: only a walking network is loaded, so drive access cannot be "
                     "computed yet. Choose a walking circle."),
    "covered_pct": ("覆盖人口比例", "Residents covered"),
    "people_in_gaps": ("缺口人口", "People in gaps"),
    "fully_compliant": ("全部达标的社区", "Communities fully compliant"),
    "fully_compliant_help": ("GB 50180-2018 必配设施全部达标（覆盖 ≥ 95% 居民）的社区数，按{level}检查。",
                             "Communities where every must-have facility of GB 50180-2018 passes (≥ 95 % of residents "
                             "covered), checked at: {level}."),
    "all_levels": ("全部层级", "all levels"),
    "coverage_caption": ("步行距离沿街道计算；阈值 {threshold}；步速 {speed} 米/分钟。颜色为到最近设施的步行分钟数，红框为缺口。",
                         "Walking distances along streets; threshold {threshold}; speed {speed} m/min. Colour: walking "
                         "minutes to the nearest facility; red outlines: gaps."),
    "all_required_note": ("「全部必配设施」：居民要在各自半径内走到本生活圈全部 {n} 类必配设施才算覆盖（地图颜色取最慢的一类），"
                          "所以比例通常远低于单一类别；在“设施类别”中选一类可看该类的分布。",
                          "\"All required\": residents count as covered only if they reach every one of the circle's {n} "
                          "required categories within its radius (the map shows the slowest one), so the share is "
                          "usually far below any single category; choose one category to see its pattern."),
    "each_threshold": ("各类别按各自半径", "each category at its own radius"),
    "zoom_to": ("地图定位到社区", "Zoom the map to a community"),
    "whole_city": ("全市", "whole city"),
    "communities_table": ("各社区覆盖情况（点击一行定位地图）", "Coverage per community (select a row to zoom the map)"),
    "exports": ("导出当前视图", "Export this view"),
    "export_cells": ("有人口的网格单元（颜色、人口、步行时间）", "Populated cells (colour, residents, walking time)"),
    "export_gaps": ("缺口单元", "Gap cells"),
    "export_map": ("当前地图（离线可打开的 HTML）", "This map (HTML that opens offline)"),
    "export_cells_csv": ("CSV", "CSV"),
    "export_cells_geojson": ("GeoJSON", "GeoJSON"),
    "export_cells_parquet": ("GeoParquet", "GeoParquet"),
    "export_gaps_csv": ("CSV", "CSV"),
    "export_gaps_geojson": ("GeoJSON", "GeoJSON"),
    "export_gaps_parquet": ("GeoParquet", "GeoParquet"),
    "export_map_html": ("HTML", "HTML"),
    # community page and report
    "choose_community": ("选择社区", "Choose a community"),
    "must_pass": ("必配项达标", "Must items passing"),
    "must_partial": ("必配项部分达标", "Must items partial"),
    "must_fail": ("必配项不达标", "Must items failing"),
    "status_pass": ("达标", "pass"),
    "status_partial": ("部分达标", "partial"),
    "status_fail": ("不达标", "fail"),
    "status_no_data": ("无数据", "no data"),
    "req_must": ("必配 ▲", "must ▲"),
    "req_should": ("宜配 △", "should △"),
    "status_policy": ("达标：≥ {pass_pct} 的居民在服务半径内；不达标：< {fail_pct}（项目规则，非标准条文）。",
                      "pass: ≥ {pass_pct} of residents within the radius; fail: < {fail_pct} (project policy, not the "
                      "standard's)."),
    "map_item": ("地图显示的设施项", "Facility item on the map"),
    "report_title": ("{name} 社区体检报告", "Community report: {name}"),
    "report_facts": ("{district} {subdistrict} · 常住人口 {population} · 户数 {households}",
                     "{district}, {subdistrict} · residents {population} · households {households}"),
    "report_generated": ("生成时间：{at}", "Generated: {at}"),
    "report_summary": ("必配设施：{passed} 项达标，{partial} 项部分达标，{failed} 项不达标。",
                       "Must-have facilities: {passed} pass, {partial} partial, {failed} fail."),
    "report_requirements": ("配套设施（GB 50180-2018 附录 B，各层级）", "Facilities (GB 50180-2018 Appendix B, every level)"),
    "report_checks": ("社区标准检查", "Community standard checks"),
    "report_map": ("社区网格单元", "The community's cells"),
    "report_map_legend": ("单元颜色：步行范围内的必配设施项占比。", "Cell colour: share of must items within walking reach."),
    "report_notes": ("距离为沿街道的步行距离（米）。达标：≥ {pass_pct} 居民在服务半径内；不达标：< {fail_pct}（项目规则）。"
                     "依据 GB 50180-2018《城市居住区规划设计标准》。",
                     "Distances are walking distances along streets (m). pass: ≥ {pass_pct} of residents within the "
                     "radius; fail: < {fail_pct} (project policy). Standard: GB 50180-2018."),
    "report_print_hint": ("需要 PDF：在浏览器中打开下载的 HTML，选择「打印 → 另存为 PDF」。",
                          "For a PDF, open the downloaded HTML in a browser and use Print → Save as PDF."),
    "report_download": ("下载可打印报告（HTML）", "Download the printable report (HTML)"),
    # what-if page
    "whatif_remove": ("移除现有设施", "Remove existing facilities"),
    "whatif_no_facilities": ("数据库中还没有「{category}」设施：可以在地图上点击或输入坐标新增一处。",
                             "The database has no '{category}' facilities yet: click the map or enter coordinates to "
                             "add one."),
    "whatif_off_network": ("这些位置距离最近的街道超过 {max_snap_m} 米，未计入：{points}",
                           "These points are more than {max_snap_m} m from any street and were left out: {points}"),
    "changed_cells": ("步行距离变化的单元", "Cells whose distance changed"),
    "whatif_before": ("调整前", "before"),
    "whatif_after": ("调整后", "after"),
    "whatif_caption": ("「{category}」服务半径 {threshold} 米；只重新计算变化附近的路网（增量更新）。",
                       "'{category}' radius {threshold} m; only the network near each change is searched again "
                       "(incremental update)."),
    "whatif_show": ("地图显示", "Map shows"),
    "whatif_show_after": ("调整后的全部单元", "all cells after the change"),
    "whatif_show_changed": ("仅变化的单元", "changed cells only"),
    "whatif_new": ("新增设施", "new facility"),
    "whatif_click_hint": ("在地图上点击即可在该处新增一个设施。", "Click the map to add a facility there."),
    "lon": ("经度（WGS-84）", "Longitude (WGS-84)"),
    "lat": ("纬度（WGS-84）", "Latitude (WGS-84)"),
    "whatif_add": ("在此坐标新增", "Add here"),
    "whatif_clear": ("清除全部调整", "Clear changes"),
    # data page
    "network_access": ("步行路网与可达性计算", "Walking network and access"),
    "item_network_nodes": ("路网节点", "network nodes"),
    "item_network_edges": ("路段", "street segments"),
    "item_network_km": ("路网总长（公里）", "network length (km)"),
    "item_network_components": ("连通分量", "connected components"),
    "item_network_islands": ("孤立小路网（未连接）", "small islands (not joined)"),
    "item_cells_off_network": ("离路网过远的单元", "cells off the network"),
    "item_cells_snapped": ("有人口的单元", "populated cells"),
    "item_facilities_off_network": ("离路网过远的设施", "facilities off the network"),
    "item_access_categories": ("已计算的设施类别", "categories computed"),
    "item_access_computed_at": ("可达性计算时间（UTC）", "access computed at (UTC)"),
    "item_access_bound_m": ("搜索上限（米）", "search bound (m)"),
    "item_access_speed_m_per_min": ("默认步速（米/分钟）", "default speed (m/min)"),
    # column labels
    **{f"col_{k}": v for k, v in {
        "load_id": ("批次", "load"), "kind": ("类型", "kind"), "file_name": ("文件", "file"),
        "status": ("状态", "status"), "rows_in": ("读入行数", "rows in"), "rows_ok": ("接受", "accepted"),
        "rows_rejected": ("拒绝", "rejected"), "rows_inserted": ("新增", "inserted"), "rows_updated": ("更新", "updated"),
        "rows_unchanged": ("未变", "unchanged"), "rows_unmapped": ("未映射", "unmapped"),
        "rows_repaired": ("已修复", "repaired"), "rows_without_location": ("无位置", "without location"),
        "source_crs": ("坐标系", "datum"), "mapping": ("字段映射", "mapping"), "encoding": ("编码", "encoding"),
        "started_at": ("开始时间", "started"), "finished_at": ("完成时间", "finished"), "message": ("说明", "message"),
        "row_number": ("行号", "row"), "reason": ("原因", "reason"), "raw_json": ("原始内容", "raw row"),
        "code": ("问题代码", "code"), "rows": ("行数", "rows"), "record_id": ("记录编号", "record id"),
        "note": ("说明", "note"), "table_name": ("表", "table"), "source": ("来源", "source"),
        "source_type": ("来源类型", "source type"), "label": ("标签", "label"), "item": ("项目", "item"),
        "value": ("数值", "value"), "name": ("社区", "community"), "subdistrict": ("街道", "sub-district"),
        "population": ("人口", "residents"), "households": ("户数", "households"),
        "coverage_pct": ("覆盖率", "coverage"), "people_in_gaps": ("缺口人口", "people in gaps"),
        "covered_population": ("覆盖人口", "residents covered"), "pass": ("达标项", "pass"),
        "partial": ("部分达标项", "partial"), "fail": ("不达标项", "fail"), "fully_compliant": ("全部达标", "fully compliant"),
        "level": ("层级", "level"), "category": ("设施", "facility"), "requirement": ("配置要求", "requirement"),
        "share_covered": ("覆盖居民", "residents covered"), "nearest_m": ("最近距离（米）", "nearest (m)"),
        "median_m": ("中位距离（米）", "median (m)"), "threshold_m": ("服务半径（米）", "radius (m)"),
        "clause": ("条文", "clause"), "verified": ("已核对", "verified"), "check": ("检查项", "check"),
        "required": ("要求", "required"), "unit": ("单位", "unit"), "scenario": ("情景", "scenario"),
        "lon": ("经度", "lon"), "lat": ("纬度", "lat"), "on_network": ("在路网上", "on network"),
        "snap_m": ("到街道（米）", "to street (m)"), "facility_id": ("设施编号", "facility id"),
    }.items()},
}


def t(key: str, lang: str = "zh", **values: object) -> str:
    """The UI text ``key`` in ``lang`` ('zh' or 'en'), with ``{placeholders}`` filled."""
    zh, en = _TEXTS[key]
    return (en if lang == "en" else zh).format(**values)
