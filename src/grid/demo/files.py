"""Write the demo city as the files a city would hand over, byte-identical for a seed.

* ``study_area.geojson`` - the district outline (WGS-84)
* ``communities.gpkg`` - 社区 polygons with Chinese columns (CGCS2000 / GK CM 114E, EPSG:4547)
* ``landuse.gpkg`` - buildings with floors, parks, water, factories, campuses (EPSG:4547)
* ``grids.geojson`` - 网格 polygons with 社区编码 (WGS-84)
* ``managers.csv`` - grid-manager roster (UTF-8 with BOM, as Excel saves it)
* ``facilities.csv`` and ``complaints.csv`` - GBK, Chinese headers, WGS-84 经度/纬度
* ``streets.osm.pbf`` - the street network as OpenStreetMap data
* ``design.json`` - the designed gaps, barriers and counts; ``README.txt`` - what this is

GeoPackages embed a timestamp; it is pinned with GDAL's ``OGR_CURRENT_DATE``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import shapely

from grid.demo.city import City
from grid.demo.frame import PROJECTED_CRS, plan_geometries_to, plan_to_lonlat
from grid.demo.names import DISTRICT

__all__ = ["DemoFiles", "SOURCE_LABEL", "SOURCE_ZH", "write_demo_files", "write_study_area", "write_communities",
           "write_landuse", "write_grids", "write_managers", "write_facilities", "write_complaints", "write_streets"]

SOURCE_LABEL = "synthetic-demo"
"""The ``source`` every demo row carries in the database."""

SOURCE_ZH = "演示数据（合成）"
"""The 数据来源 value in every demo file."""

_GPKG_DATE = "2026-01-01T00:00:00Z"
_CSV_CHUNK_ROWS = 200_000
_LANDUSE_ZH = {"residential": "住宅", "commercial": "商业", "public_service": "公共服务", "industrial": "工业",
               "green": "绿地", "water": "水域", "other": "其他用地", "transport": "铁路"}


@dataclass(frozen=True)
class DemoFiles:
    """Paths of the written demo files."""

    folder: Path
    study_area: Path
    communities: Path
    landuse: Path
    grids: Path
    managers: Path
    facilities: Path
    complaints: Path
    streets: Path
    design: Path
    readme: Path

    def all(self) -> list[Path]:
        """Every file, in writing order."""
        return [self.study_area, self.communities, self.landuse, self.grids, self.managers, self.facilities,
                self.complaints, self.streets, self.design, self.readme]


def _files(folder: Path) -> DemoFiles:
    names = {"study_area": "study_area.geojson", "communities": "communities.gpkg", "landuse": "landuse.gpkg",
             "grids": "grids.geojson", "managers": "managers.csv", "facilities": "facilities.csv",
             "complaints": "complaints.csv", "streets": "streets.osm.pbf", "design": "design.json",
             "readme": "README.txt"}
    return DemoFiles(folder=folder, **{k: folder / v for k, v in names.items()})


def _round_coordinates(geoms: np.ndarray, decimals: int) -> np.ndarray:
    return shapely.transform(geoms, lambda xy: np.round(xy, decimals))


def _write_geojson(path: Path, name: str, properties: pd.DataFrame, geoms: np.ndarray) -> None:
    """A FeatureCollection in WGS-84 with 7-decimal coordinates, properties in column order."""
    texts = shapely.to_geojson(_round_coordinates(geoms, 7))
    records = properties.astype(object).where(properties.notna(), None).to_dict("records")
    features = ",\n".join(
        '{"type":"Feature","properties":' + json.dumps(r, ensure_ascii=False, separators=(",", ":"))
        + ',"geometry":' + g + "}" for r, g in zip(records, texts))
    path.write_text('{"type":"FeatureCollection","name":"' + name + '","features":[\n' + features + "\n]}\n",
                    encoding="utf-8")


def _write_gpkg(path: Path, layer: str, frame: pd.DataFrame, geoms: np.ndarray, description: str) -> None:
    """A one-layer GeoPackage in EPSG:4547 with a fixed timestamp (same bytes for the same data)."""
    import geopandas as gpd
    import pyogrio

    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": _GPKG_DATE})
    try:
        gdf = gpd.GeoDataFrame(frame.reset_index(drop=True), geometry=list(_round_coordinates(geoms, 2)),
                               crs=PROJECTED_CRS)
        if path.exists():
            path.unlink()
        pyogrio.write_dataframe(gdf, path, layer=layer, driver="GPKG", layer_options={"DESCRIPTION": description})
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})


def _csv_bytes(frame: pd.DataFrame, *, header: bool) -> bytes:
    table = pa.Table.from_pandas(frame.astype(str), preserve_index=False)
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink, write_options=pacsv.WriteOptions(include_header=header, quoting_style="needed"))
    return sink.getvalue().to_pybytes()


def _write_csv(path: Path, frame: pd.DataFrame, encoding: str) -> None:
    """CSV in ``encoding`` ('gbk' or 'utf-8-sig'), written in chunks (all cells already text)."""
    with open(path, "wb") as handle:
        if encoding == "utf-8-sig":
            handle.write("\ufeff".encode("utf-8"))
        for start in range(0, max(len(frame), 1), _CSV_CHUNK_ROWS):
            chunk = _csv_bytes(frame.iloc[start:start + _CSV_CHUNK_ROWS], header=start == 0)
            handle.write(chunk.decode("utf-8").replace("\r\n", "\n").encode("gbk" if encoding == "gbk" else "utf-8"))


def _lonlat_text(city: City, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = plan_to_lonlat(city.warp, u, v)
    ok = np.isfinite(u) & np.isfinite(v)
    fmt = np.frompyfunc(lambda x: f"{x:.7f}", 1, 1)
    return (np.where(ok, fmt(np.where(ok, lon, 0.0)), ""), np.where(ok, fmt(np.where(ok, lat, 0.0)), ""))


def _time_text(values: pd.Series) -> np.ndarray:
    text = np.datetime_as_string(values.to_numpy(dtype="datetime64[s]"), unit="s").astype(object)
    return np.where(values.isna().to_numpy(), "", pd.Series(text).str.replace("T", " ", regex=False).to_numpy())


def _study_area(city: City) -> shapely.Geometry:
    """The district in plan metres: the union of its communities."""
    return shapely.union_all(city.people.communities["geometry"].to_numpy())


def write_study_area(city: City, path: Path) -> None:
    """The district outline as one WGS-84 polygon."""
    geom = plan_geometries_to(np.array([_study_area(city)]), city.warp, target="lonlat")
    _write_geojson(path, "study_area", pd.DataFrame({"名称": [DISTRICT], "数据来源": [SOURCE_ZH]}), geom)


def write_communities(city: City, path: Path) -> None:
    """社区 polygons with population, households, 65+, workers, social organisations, service space."""
    c = city.people.communities
    frame = pd.DataFrame({"社区编码": c["community_id"], "社区名称": c["name"], "街道": c["subdistrict"],
                          "区": c["district"], "常住人口": c["population"], "总户数": c["households"],
                          "65岁以上人口": c["population_65plus"], "社区工作者": c["workers"],
                          "社会组织数": c["social_organisations"], "服务用房面积": c["service_space_m2"],
                          "数据来源": SOURCE_ZH})
    geoms = plan_geometries_to(c["geometry"].to_numpy(), city.warp, target="projected")
    _write_gpkg(path, "communities", frame, geoms, f"{DISTRICT} 社区边界 - {SOURCE_ZH}, synthetic demo data")


def _landuse_parts(city: City) -> tuple[pd.DataFrame, np.ndarray]:
    b, p, lay = city.buildings, city.parcels, city.layout
    boxes = shapely.box(b["u0"], b["v0"], b["u1"], b["v1"])
    river = shapely.box(lay.u_lines[0], lay.water_v[0], lay.u_lines[-1], lay.water_v[1])
    rail = shapely.box(lay.rail_u - 20.0, lay.v_lines[0], lay.rail_u + 20.0, lay.v_lines[-1])
    names = np.where(b["households"] > 0, b["address"], "")
    frame = pd.concat([
        pd.DataFrame({"class": b["landuse"], "floors": b["floors"].astype(float), "name": names,
                      "households": b["households"].astype(float)}),
        pd.DataFrame({"class": p["landuse"], "floors": np.nan, "name": p["name"], "households": np.nan}),
        pd.DataFrame({"class": ["water", "transport"], "floors": np.nan, "name": ["江滨河", "江北铁路"],
                      "households": np.nan})], ignore_index=True)
    geoms = np.concatenate([boxes, p["geometry"].to_numpy(dtype=object), np.array([river, rail], dtype=object)])
    return frame, geoms


def write_landuse(city: City, path: Path) -> None:
    """Buildings (with 层数 and 户数) and parcels: 住宅 商业 公共服务 工业 绿地 水域 其他用地 铁路."""
    parts, geoms = _landuse_parts(city)
    frame = pd.DataFrame({"编号": [f"LU{i:07d}" for i in range(1, len(parts) + 1)],
                          "用地性质": parts["class"].map(_LANDUSE_ZH), "层数": parts["floors"].astype("Int64"),
                          "名称": parts["name"], "户数": parts["households"].astype("Int64"), "数据来源": SOURCE_ZH})
    warped = plan_geometries_to(geoms, city.warp, target="projected", max_segment_m=25.0)
    _write_gpkg(path, "landuse", frame, warped, f"{DISTRICT} 用地与建筑 - {SOURCE_ZH}, synthetic demo data")


def write_grids(city: City, path: Path) -> None:
    """网格 polygons with 网格编码, 网格名称, 社区编码, 户数, 人口."""
    g = city.people.grids
    frame = pd.DataFrame({"网格编码": g["grid_id"], "网格名称": g["name"], "社区编码": g["community_id"],
                          "户数": g["households"], "人口": g["population"], "数据来源": SOURCE_ZH})
    _write_geojson(path, "grids", frame, plan_geometries_to(g["geometry"].to_numpy(), city.warp, target="lonlat"))


def write_managers(city: City, path: Path) -> None:
    """Grid-manager roster (网格员花名册): one per grid, full made-up names and mobile numbers."""
    m = city.people.managers
    frame = pd.DataFrame({"网格员编号": m["manager_id"], "姓名": m["name"], "性别": m["gender"],
                          "联系电话": m["phone"], "网格编码": m["grid_id"], "网格名称": m["grid_name"],
                          "社区编码": m["community_id"], "社区名称": m["community_name"],
                          "所属街道": m["subdistrict"], "数据来源": SOURCE_ZH})
    _write_csv(path, frame, "utf-8-sig")


def write_facilities(city: City, path: Path, category_zh: dict[str, str]) -> None:
    """Facilities (GBK): 设施编号 设施名称 类别 地址 建筑面积 经度 纬度 所属社区."""
    f = city.facilities
    lon, lat = _lonlat_text(city, f["u"].to_numpy(), f["v"].to_numpy())
    community = city.people.communities["name"].to_numpy()[city.people.block_community[f["block_id"].to_numpy()]]
    area = f["floor_area_m2"]
    frame = pd.DataFrame({"设施编号": f["facility_id"], "设施名称": f["name"],
                          "类别": f["category"].map(category_zh).fillna(f["category"]), "地址": f["address"],
                          "建筑面积": np.where(area.notna(), area.fillna(0).round().astype(np.int64).astype(str), ""),
                          "经度": lon, "纬度": lat, "所属社区": community, "数据来源": SOURCE_ZH})
    _write_csv(path, frame, "gbk")


def write_complaints(city: City, path: Path) -> None:
    """12345 records (GBK) with the headers a 12345 system exports."""
    c = city.complaints
    lon, lat = _lonlat_text(city, c["u"].to_numpy(), c["v"].to_numpy())
    frame = pd.DataFrame({
        "工单编号": c["complaint_id"], "受理时间": _time_text(c["received_at"]), "诉求类型": c["request_type"],
        "诉求分类": c["category"], "紧急程度": c["urgency"], "受理渠道": c["channel"], "工单状态": c["status"],
        "签收时间": _time_text(c["responded_at"]), "办理时限": _time_text(c["due_at"]),
        "办结时间": _time_text(c["closed_at"]), "满意度": c["satisfaction"], "重办次数": c["reopen_count"],
        "诉求内容": c["description"], "事发地址": c["address"], "经度": lon, "纬度": lat,
        "诉求人": c["complainant"], "联系电话": c["phone"], "承办单位": c["department"],
        "所属街道": c["subdistrict"], "数据来源": SOURCE_ZH})
    _write_csv(path, frame, "gbk")


def write_streets(city: City, path: Path) -> None:
    """The street network as OpenStreetMap PBF (ids from 1; the header says the data are synthetic)."""
    import osmium

    net = city.network
    lon, lat = plan_to_lonlat(city.warp, net.node_u, net.node_v)
    header = osmium.io.Header()
    header.set("generator", f"grid demo - {SOURCE_LABEL}: synthetic streets, not a real city")
    tags = [dict(t) for t in net.tags]
    if path.exists():
        path.unlink()
    with osmium.SimpleWriter(str(path), header=header) as writer:
        for node_id, x, y, tag in zip(net.node_id.tolist(), np.round(lon, 7).tolist(), np.round(lat, 7).tolist(),
                                      net.node_tag.tolist()):
            writer.add_node(osmium.osm.mutable.Node(id=node_id, location=(x, y), tags=tags[tag] if tag >= 0 else {}))
        refs = net.way_nodes.tolist()
        offsets = net.way_offsets.tolist()
        for k, (way_id, tag) in enumerate(zip(net.way_id.tolist(), net.way_tag.tolist())):
            writer.add_way(osmium.osm.mutable.Way(id=way_id, nodes=refs[offsets[k]:offsets[k + 1]], tags=tags[tag]))


def _wkt_lonlat(city: City, geom: shapely.Geometry, max_segment_m: float = 25.0) -> str:
    warped = plan_geometries_to(np.array([geom]), city.warp, target="lonlat", max_segment_m=max_segment_m)[0]
    return shapely.to_wkt(warped, rounding_precision=7)


def _point(city: City, u: float, v: float) -> list[float]:
    lon, lat = plan_to_lonlat(city.warp, np.array([u]), np.array([v]))
    return [round(float(lon[0]), 7), round(float(lat[0]), 7)]


def _barriers(city: City) -> dict[str, object]:
    lay = city.layout
    river = shapely.box(lay.u_lines[0], lay.water_v[0], lay.u_lines[-1], lay.water_v[1])
    bridges = [{"name": str(n), "lonlat": _point(city, float(lay.u_lines[i]), lay.river_v)}
               for i, n in zip(lay.bridge_lines, lay.bridge_names)]
    crossings = [{"road": str(lay.v_names[r]), "kind": str(k), "lonlat": _point(city, lay.rail_u, float(lay.v_lines[r]))}
                 for r, k in zip(lay.rail_roads, lay.rail_road_kind)]
    crossings += [{"road": "铁路人行地道", "kind": "footway underpass", "lonlat": _point(city, lay.rail_u, float(v))}
                  for v in lay.rail_foot_v]
    crossings += [{"road": str(lay.v_names[r]), "kind": "under the railway viaduct",
                   "lonlat": _point(city, lay.rail_u, float(lay.v_lines[r]))} for r in (lay.river_row, lay.river_row + 1)]
    return {"river": {"name": "江滨河", "water_wkt": _wkt_lonlat(city, river),
                      "width_m": round(lay.water_v[1] - lay.water_v[0], 1), "walkable_bridges": bridges,
                      "not_walkable": ["江北铁路 railway bridge", "江城快速路 elevated expressway (foot=no)"]},
            "railway": {"name": "江北铁路", "crossings": crossings}}


def _gaps(city: City) -> list[dict[str, object]]:
    from grid.demo.facilities import CUT_OFF_CATEGORIES, CUT_OFF_CLEAR_M, NEW_DEV_CATEGORIES, NEW_DEV_CLEAR_M

    c, g = city.people.communities, city.gaps
    across = city.facilities[(city.facilities["category"] == "community_health_station")
                             & city.facilities["name"].str.contains("江畔", regex=False)]
    return [
        {"kind": "new_development_without_services", "community_id": c["community_id"].iloc[g.new_dev_community],
         "community_name": c["name"].iloc[g.new_dev_community], "categories": list(NEW_DEV_CATEGORIES),
         "clear_of_buildings_m": NEW_DEV_CLEAR_M,
         "note": "new compounds at the district edge: no kindergarten, nursery or elderly day-care nearby; "
                 "childcare and elderly-care complaints cluster here"},
        {"kind": "cut_off_by_river", "community_id": c["community_id"].iloc[g.cut_off_community],
         "community_name": c["name"].iloc[g.cut_off_community], "categories": list(CUT_OFF_CATEGORIES),
         "side": "north" if g.cut_off_north else "south", "clear_on_its_side_m": CUT_OFF_CLEAR_M,
         "nearest_walkable_bridge_m": round(g.nearest_bridge_m), "station_across_river": across["facility_id"].tolist(),
         "note": "its nearest health station stands just across the river; the nearest bridge is far; "
                 "medical-access complaints cluster here"}]


def _design(city: City) -> dict[str, object]:
    spec, people = city.spec, city.people
    complaints = city.complaints
    return {"synthetic": True, "source": SOURCE_LABEL, "district": DISTRICT, "seed": spec.seed, "scale": spec.scale,
            "as_of": spec.as_of.isoformat(), "centre_lonlat": _point(city, 0.0, 0.0),
            "crs": {"communities.gpkg": PROJECTED_CRS, "landuse.gpkg": PROJECTED_CRS, "other files": "EPSG:4326"},
            "gaps": _gaps(city), **_barriers(city),
            "counts": {"communities": len(people.communities), "subdistricts": int(people.communities["subdistrict"].nunique()),
                       "grids": len(people.grids), "residents": int(people.communities["population"].sum()),
                       "households": int(people.communities["households"].sum()), "buildings": len(city.buildings),
                       "facilities": len(city.facilities), "complaints": len(complaints),
                       "osm_nodes": len(city.network.node_id), "osm_ways": len(city.network.way_id)},
            "complaints_overdue_share": round(float(complaints["overdue"].mean()), 4)}


_README = """江滨演示区 - 合成演示数据 / SYNTHETIC DEMO DATA
=================================================

Everything in this folder is made up by `grid demo` (seed {seed}, scale {scale}, as-of {as_of}).
It is NOT a real city: the district, its streets, communities, grids, residents, facilities,
12345 records, names and phone numbers are all synthetic. It is placed near 114.27 E, 30.60 N
(Wuhan) only so that coordinates look familiar; never draw it over real map tiles.
Every file says so (数据来源 = {source_zh}; layer descriptions; the OSM header), and the
database rows loaded from it carry source = '{source}'.

Files (loaded in this order by `grid demo`):
  study_area.geojson   district outline (WGS-84)
  communities.gpkg     社区 boundaries, population, households, 65+, workers, organisations, space (EPSG:4547)
  landuse.gpkg         buildings (层数, 户数) and parcels (EPSG:4547)
  grids.geojson        网格 with 社区编码 (WGS-84)
  facilities.csv       facilities, GBK, 经度/纬度 WGS-84
  complaints.csv       12345 records, GBK, 经度/纬度 WGS-84 (a few only have an address)
  streets.osm.pbf      street network (OpenStreetMap PBF)
  managers.csv         grid-manager roster (written, not loaded yet)
  design.json          the designed gaps and barriers, for tests and the app

Regenerate with: grid demo --seed {seed} --scale {scale}
"""


def write_demo_files(city: City, folder: Path, *, category_zh: dict[str, str],
                     progress: Callable[[str], None] | None = None) -> DemoFiles:
    """Write every demo file of ``city`` into ``folder`` (created if missing); return their paths."""
    step = progress or (lambda _name: None)
    folder.mkdir(parents=True, exist_ok=True)
    files = _files(folder)
    writers = (("study area", lambda: write_study_area(city, files.study_area)),
               ("communities", lambda: write_communities(city, files.communities)),
               ("land use", lambda: write_landuse(city, files.landuse)),
               ("grids", lambda: write_grids(city, files.grids)),
               ("managers", lambda: write_managers(city, files.managers)),
               ("facilities", lambda: write_facilities(city, files.facilities, category_zh)),
               ("complaints", lambda: write_complaints(city, files.complaints)),
               ("streets", lambda: write_streets(city, files.streets)))
    for name, write in writers:
        step(f"write {name}")
        write()
    files.design.write_text(json.dumps(_design(city), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    spec = city.spec
    files.readme.write_text(_README.format(seed=spec.seed, scale=spec.scale, as_of=spec.as_of.isoformat(),
                                           source=SOURCE_LABEL, source_zh=SOURCE_ZH), encoding="utf-8")
    return files
