"""Printable reports: one community's check (社区体检报告) as a self-contained HTML page.

No scripts, no external files: styles inline, the map an inline SVG, Chinese fonts
named with fallbacks (Noto Sans CJK, Source Han Sans, PingFang, Microsoft YaHei ...).
Print CSS lays it out on A4; a PDF is the browser's "Print -> Save as PDF".
"""

from __future__ import annotations

from html import escape

import numpy as np
import pandas as pd
import shapely

from grid.h3index import cells_to_polygons
from grid.i18n import t
from grid.queries.community import CommunityReport

__all__ = ["community_report_html"]

_FONTS = ('"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC", "Hiragino Sans GB", '
          '"Microsoft YaHei", "WenQuanYi Micro Hei", SimHei, sans-serif')

_CSS = """
@page { size: A4; margin: 14mm; }
body { font-family: %s; color: #222; margin: 24px; font-size: 13px; line-height: 1.5; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 22px 0 6px; border-bottom: 1px solid #999; }
table { border-collapse: collapse; width: 100%%; margin: 6px 0; }
th, td { border: 1px solid #bbb; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #eee; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.pass { background: #dff0d8; } .partial { background: #fcf3cf; } .fail { background: #f8d7da; }
.no_data { background: #eee; }
.meta { color: #555; } .note { color: #555; font-size: 11px; }
.banner { border: 2px solid #c0392b; padding: 6px 10px; margin: 8px 0; }
@media print { body { margin: 0; } .no-print { display: none; } tr, svg { page-break-inside: avoid; } }
""" % _FONTS

_SHARE_COLOURS = ("#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641")
"""Cell fill by the share of must items within reach: <20 %, <40 %, <60 %, <80 %, >=80 %."""


def _num(value: object, fmt: str = "{:,.0f}") -> str:
    return "–" if value is None or pd.isna(value) else fmt.format(value)


def _name(names: pd.DataFrame, key: str, lang: str) -> str:
    if key not in names.index:
        return key
    return str(names.at[key, "name_en" if lang == "en" else "name_zh"])


def _requirements_table(report: CommunityReport, lang: str) -> str:
    head = "".join(f"<th>{escape(t(k, lang))}</th>" for k in (
        "col_level", "col_category", "col_requirement", "col_status", "col_share_covered", "col_nearest_m",
        "col_median_m", "col_threshold_m", "col_clause"))
    rows = []
    for r in report.requirements.itertuples(index=False):
        rows.append(
            f'<tr class="{r.status}"><td>{escape(_name(report.levels, r.level, lang))}</td>'
            f"<td>{escape(_name(report.names, r.category, lang))}</td>"
            f"<td>{escape(t('req_' + r.requirement, lang))}</td><td>{escape(t('status_' + r.status, lang))}</td>"
            f'<td class="num">{_num(r.share_covered * 100, "{:.1f}%")}</td><td class="num">{_num(r.nearest_m)}</td>'
            f'<td class="num">{_num(r.median_m)}</td><td class="num">{_num(r.threshold_m)}</td>'
            f"<td>{escape(str(r.clause))}</td></tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _checks_table(report: CommunityReport, lang: str) -> str:
    head = "".join(f"<th>{escape(t(k, lang))}</th>" for k in (
        "col_check", "col_value", "col_required", "col_unit", "col_status", "col_source"))
    rows = [f'<tr class="{r.status}"><td>{escape(str(r.name_en if lang == "en" else r.name_zh))}</td>'
            f'<td class="num">{_num(r.value, "{:,.1f}")}</td><td class="num">{_num(r.required, "{:,.1f}")}</td>'
            f"<td>{escape(str(r.unit))}</td><td>{escape(t('status_' + r.status, lang))}</td>"
            f"<td>{escape(str(r.source))}</td></tr>" for r in report.checks.itertuples(index=False)]
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _svg_path(geom: shapely.Geometry, project) -> str:  # noqa: ANN001 - a coordinate projector
    parts = []
    for poly in getattr(geom, "geoms", [geom]):
        for ring in [poly.exterior, *poly.interiors]:
            xy = project(np.asarray(ring.coords))
            parts.append("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in xy) + " Z")
    return " ".join(parts)


def _map_svg(report: CommunityReport, lang: str, *, max_width: float = 640.0, max_height: float = 480.0) -> str:
    """Cells coloured by the share of must items within reach, the community's outline on top."""
    cells = report.must_share_per_cell()
    outline = report.boundary.geometry.iloc[0]
    if cells.empty or outline is None or outline.is_empty:
        return ""
    polygons = cells_to_polygons(cells["h3"].to_numpy(np.uint64))
    west, south, east, north = shapely.total_bounds(np.append(polygons, outline))
    kx = np.cos(np.radians((south + north) / 2))
    scale = min(max_width / max((east - west) * kx, 1e-9), max_height / max(north - south, 1e-9))
    width, height = (east - west) * kx * scale, (north - south) * scale

    def project(coords: np.ndarray) -> np.ndarray:
        return np.column_stack([(coords[:, 0] - west) * kx * scale, (north - coords[:, 1]) * scale])

    bins = np.minimum((cells["must_share"].to_numpy(float) * 5).astype(int), 4)
    paths = [f'<path d="{_svg_path(p, project)}" fill="{_SHARE_COLOURS[b]}" stroke="#fff" stroke-width="0.5"/>'
             for p, b in zip(polygons, bins)]
    paths.append(f'<path d="{_svg_path(outline, project)}" fill="none" stroke="#222" stroke-width="2"/>')
    legend = " ".join(f'<span style="background:{c};padding:0 8px;margin-left:6px"></span> {lo}–{lo + 20}%'
                      for c, lo in zip(_SHARE_COLOURS, range(0, 100, 20)))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}">{"".join(paths)}</svg>'
            f'<p class="note">{escape(t("report_map_legend", lang))} {legend}</p>')


def community_report_html(report: CommunityReport, *, lang: str = "zh", generated_at: str = "",
                          pass_share: float = 0.95, fail_share: float = 0.5) -> str:
    """The community's report as one self-contained HTML document in ``lang`` ('zh' or 'en').

    ``pass_share``/``fail_share`` are the policy shares the statuses used (settings
    ``compliance_pass_share``/``compliance_fail_share``), printed in the notes.
    """
    c = report.community
    counts = report.status_counts()
    banner = (f'<p class="banner">{escape(t("synthetic_banner", lang))}</p>'
              if str(c.get("source", "")).startswith("synthetic") else "")
    facts = t("report_facts", lang, population=_num(c["population"]), households=_num(c["households"]),
              subdistrict=c["subdistrict"] or "–", district=c.get("district") or "–")
    return f"""<!DOCTYPE html>
<html lang="{'en' if lang == 'en' else 'zh-CN'}"><head><meta charset="utf-8">
<title>{escape(t("report_title", lang, name=c["name"]))}</title><style>{_CSS}</style></head><body>
<h1>{escape(t("report_title", lang, name=c["name"]))}</h1>
<p class="meta">{escape(facts)}<br>{escape(t("report_generated", lang, at=generated_at))}</p>{banner}
<p>{escape(t("report_summary", lang, passed=counts["pass"], partial=counts["partial"], failed=counts["fail"]))}</p>
<h2>{escape(t("report_requirements", lang))}</h2>{_requirements_table(report, lang)}
<h2>{escape(t("report_checks", lang))}</h2>{_checks_table(report, lang)}
<h2>{escape(t("report_map", lang))}</h2>{_map_svg(report, lang)}
<p class="note">{escape(t("report_notes", lang, pass_pct=f"{pass_share:.0%}", fail_pct=f"{fail_share:.0%}"))}</p>
<p class="note no-print">{escape(t("report_print_hint", lang))}</p>
</body></html>
"""
