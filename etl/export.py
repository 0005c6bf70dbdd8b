"""Export layers to files staff and GIS users open: GeoJSON, GeoPackage, CSV, xlsx.

Columns carry Chinese headers in every format, and coded values (channel,
level, status ...) their Chinese labels. CSV is UTF-8 with a byte-order mark,
which Excel opens without garbling. No export reads ``complainants``, and
phone numbers typed into free text are masked, so a default export never
carries personal data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geo import measures, models, sheets
from geo._errors import InputFileError
from geo.privacy import mask_series

TZ = "Asia/Shanghai"
XLSX_MAX_ROWS = 1_048_575


@dataclass(frozen=True)
class ExportLayer:
    """One exportable layer: its SQL (with ``:street`` filter) and Chinese columns."""

    sql: str
    columns: dict[str, str]
    labels: dict[str, dict[str, str]] = field(default_factory=dict)
    masked: tuple[str, ...] = ()


_STREET_FILTER = "(CAST(:street AS text) IS NULL OR {col} = :street)"

LAYERS: dict[str, ExportLayer] = {
    "streets": ExportLayer(
        f"SELECT code, name, kind, synthetic, geom FROM streets "
        f"WHERE {_STREET_FILTER.format(col='code')} ORDER BY code",
        {"code": "区划代码", "name": "名称", "kind": "类型", "synthetic": "合成数据"},
        {"kind": {"street": "街道", "town": "镇"}},
    ),
    "communities": ExportLayer(
        f"SELECT m.code, m.name, s.name AS street, m.street_code, m.synthetic, m.geom "
        f"FROM communities m JOIN streets s ON s.code = m.street_code "
        f"WHERE {_STREET_FILTER.format(col='m.street_code')} ORDER BY m.code",
        {
            "code": "社区代码",
            "name": "社区",
            "street": "街道",
            "street_code": "街道代码",
            "synthetic": "合成数据",
        },
    ),
    "compounds": ExportLayer(
        f"""SELECT x.code, x.name, array_to_string(x.aliases, '、') AS aliases, x.address,
            s.name AS street, m.name AS community, x.build_year, x.households, x.buildings,
            x.floors, x.management_mode, f.name AS firm, x.owners_committee, x.competent_dept,
            x.is_sanwu, x.is_old, x.synthetic, x.geom
        FROM compounds x LEFT JOIN streets s ON s.code = x.street_code
        LEFT JOIN communities m ON m.id = x.community_id
        LEFT JOIN property_firms f ON f.id = x.firm_id
        WHERE {_STREET_FILTER.format(col="x.street_code")} ORDER BY x.code""",
        {
            "code": "小区编码",
            "name": "小区名称",
            "aliases": "别名",
            "address": "地址",
            "street": "街道",
            "community": "社区",
            "build_year": "建成年份",
            "households": "户数",
            "buildings": "楼栋数",
            "floors": "最高层数",
            "management_mode": "管理模式",
            "firm": "物业服务企业",
            "owners_committee": "业主组织",
            "competent_dept": "主管部门",
            "is_sanwu": "三无小区",
            "is_old": "老旧小区",
            "synthetic": "合成数据",
        },
        {"management_mode": models.MANAGEMENT_MODES, "owners_committee": models.OWNERS_COMMITTEE},
    ),
    "cases": ExportLayer(
        f"""SELECT c.case_no, c.channel, c.received_at, k.name AS category, c.content, c.address,
            c.level, d.name AS lead_dept, c.status, c.due_at, c.closed_at,
            {measures.is_overdue("c")} AS overdue,
            {measures.is_closed_late("c")} AS closed_late,
            {measures.is_reopened("c")} AS reopened,
            c.satisfaction, s.name AS street, m.name AS community, x.name AS compound,
            c.located_by, round(ST_X(c.geom)::numeric, 6) AS lon,
            round(ST_Y(c.geom)::numeric, 6) AS lat, c.synthetic, c.geom
        FROM cases c JOIN categories k ON k.code = c.category_code
        JOIN departments d ON d.code = c.lead_dept
        LEFT JOIN streets s ON s.code = c.street_code
        LEFT JOIN communities m ON m.id = c.community_id
        LEFT JOIN compounds x ON x.id = c.compound_id
        WHERE {_STREET_FILTER.format(col="c.street_code")} ORDER BY c.received_at, c.id""",
        {
            "case_no": "工单编号",
            "channel": "来源渠道",
            "received_at": "受理时间",
            "category": "问题类别",
            "content": "诉求内容",
            "address": "事发地址",
            "level": "层级",
            "lead_dept": "牵头部门",
            "status": "办理状态",
            "due_at": "办理时限",
            "closed_at": "办结时间",
            "overdue": "是否超期",
            "closed_late": "是否逾期办结",
            "reopened": "是否重新办理",
            "satisfaction": "满意度",
            "street": "街道",
            "community": "社区",
            "compound": "小区",
            "located_by": "定位方式",
            "lon": "经度",
            "lat": "纬度",
            "synthetic": "合成数据",
        },
        {
            "channel": models.CHANNELS,
            "level": models.LEVELS,
            "status": models.STATUSES,
            "satisfaction": models.SATISFACTION,
            "located_by": models.LOCATED_BY,
        },
        masked=("content", "address"),
    ),
    "hazards": ExportLayer(
        f"""SELECT h.id, h.theme, x.name AS compound, s.name AS street, h.description,
            h.found_on, h.due_on, h.status, h.closed_on,
            {measures.hazard_overdue("h")} AS overdue, h.synthetic, h.geom
        FROM hazards h LEFT JOIN compounds x ON x.id = h.compound_id
        LEFT JOIN streets s ON s.code = x.street_code
        WHERE {_STREET_FILTER.format(col="x.street_code")} ORDER BY h.due_on, h.id""",
        {
            "id": "隐患编号",
            "theme": "类别",
            "compound": "小区",
            "street": "街道",
            "description": "隐患描述",
            "found_on": "发现日期",
            "due_on": "整改期限",
            "status": "整改状态",
            "closed_on": "整改完成日期",
            "overdue": "是否逾期未整改",
            "synthetic": "合成数据",
        },
        {"theme": models.HAZARD_THEMES, "status": models.HAZARD_STATUSES},
    ),
}


def read_layer(con: sa.Connection, layer: str, street: str | None = None) -> gpd.GeoDataFrame:
    """Read ``layer`` as a GeoDataFrame with Chinese headers and labels, in EPSG:4326.

    超期 and 逾期 are judged at the data's cut-off day (:func:`geo.measures.cutoff_day`),
    as on every page of the dashboard.
    """
    spec = LAYERS[layer]
    params = {"street": street, **measures.cutoff_params(measures.cutoff_day(con))}
    gdf = gpd.read_postgis(sa.text(spec.sql), con, geom_col="geom", params=params)
    if gdf.crs is None:
        gdf = gdf.set_crs("EPSG:4326")
    for col, labels in spec.labels.items():
        gdf[col] = gdf[col].map(labels).astype(object)
    for col in spec.masked:
        gdf[col] = mask_series(gdf[col])
    for col in gdf.columns:
        if isinstance(gdf[col].dtype, pd.DatetimeTZDtype):
            # Local time without zone: what Excel and staff expect.
            gdf[col] = gdf[col].dt.tz_convert(TZ).dt.tz_localize(None)
        elif gdf[col].dtype == bool:
            gdf[col] = gdf[col].map({True: "是", False: "否"})
    return gdf.rename(columns=spec.columns).rename_geometry("geometry")


def notes(engine: Engine, layer: str) -> list[str]:
    """The 说明 sheet of an xlsx export: the cut-off day and the written definitions."""
    with engine.connect() as con:
        day = measures.cutoff_day(con)
        meta = {k: v for k, v in con.execute(sa.text("SELECT key, value FROM dataset_meta"))}
    synthetic = meta.get("synthetic") == "true"
    lines = [f"数据截止日：{day:%Y-%m-%d}（超期、逾期均按此日判断，与看板一致）"]
    if layer == "cases":
        lines += measures.definitions()
    elif layer == "hazards":
        lines += list(measures.HAZARD_DEFINITIONS)
    if synthetic and meta.get("real_parts") and meta.get("synthetic_parts"):
        lines.append(f"演示数据（合成）。真实：{meta['real_parts']}。"
                     f"程序生成：{meta['synthetic_parts']}。")
    elif synthetic:
        lines.append("演示数据（合成）：边界、小区与工单均为程序生成，不是真实数据。")
    return lines


def export(engine: Engine, layer: str, fmt: str, output: Path, *, street: str | None = None) -> int:
    """Write ``layer`` to ``output`` in ``fmt``; returns the number of rows written.

    Raises
    ------
    InputFileError
        When the street code is unknown or an xlsx would exceed Excel's row limit.
    """
    if layer not in LAYERS:
        raise InputFileError(f"未知图层“{layer}”，可选：{'、'.join(LAYERS)}")
    with engine.connect() as con:
        if (
            street
            and not con.execute(
                sa.text("SELECT 1 FROM streets WHERE code = :c"), {"c": street}
            ).first()
        ):
            raise InputFileError(f"没有区划代码为 {street} 的街道或镇，请用 12 位统计区划代码")
        gdf = read_layer(con, layer, street)
    output.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "geojson":
        output.unlink(missing_ok=True)
        gdf.to_file(output, driver="GeoJSON", engine="pyogrio")
    elif fmt == "gpkg":
        output.unlink(missing_ok=True)
        gdf.to_file(output, driver="GPKG", layer=layer, engine="pyogrio")
    elif fmt == "csv":
        sheets.write_csv(output, pd.DataFrame(gdf.drop(columns="geometry")))
    elif fmt == "xlsx":
        if len(gdf) > XLSX_MAX_ROWS:
            raise InputFileError(
                f"{len(gdf):,} 行超过 Excel 单表上限 {XLSX_MAX_ROWS:,} 行，请改用 --format csv "
                "或按 --street 分街道导出"
            )
        sheets.write_xlsx(output, [(layer, pd.DataFrame(gdf.drop(columns="geometry")))],
                          notes(engine, layer))
    else:
        raise InputFileError(f"不支持的格式“{fmt}”，可选 geojson、gpkg、csv、xlsx")
    return len(gdf)
