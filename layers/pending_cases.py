"""Pending cases of the area in view, coloured by level, overdue ones ringed in black.

At most :data:`CAP` points are sent, the most overdue first; ``meta`` says
how many matched so the page can say how many are not shown. Cases without
coordinates are placed on their compound. The case text and the complainant
are never read. The meeting-room screen (``viewer``: no addresses) gets no
case's own coordinates, which point at a building: its cases are placed on
their compound, or on a grid of :data:`VIEWER_GRID_DEG` (about 200 m) without one.
"""

from __future__ import annotations

from typing import Any

import folium
import sqlalchemy as sa

from geo import measures, roles
from geo.models import LEVELS, STATUSES
from layers import style
from layers.base import Layer, LayerData, as_geojson, features
from layers.filters import Filters

#: Most points drawn in one area.
CAP = 300
#: The grid a case without a compound is placed on for the meeting-room screen (degrees).
VIEWER_GRID_DEG = 0.002

SQL = f"""
SELECT 'case' AS kind, c.id, c.case_no, c.level, c.status, cat.name AS category,
       c.received_at::date AS received_on, c.due_at::date AS due_on,
       greatest(0, CAST(:f_as_of_day AS date) - c.due_at::date) AS overdue_days,
       {measures.is_overdue("c")} AS overdue, x.name AS compound,
       count(*) OVER () AS total,
       {as_geojson("CASE WHEN current_user = :viewer_role THEN coalesce(ST_PointOnSurface("
                   "x.geom), ST_SnapToGrid(c.geom, :viewer_grid)) "
                   "ELSE coalesce(c.geom, ST_PointOnSurface(x.geom)) END")} AS geometry
FROM cases c
JOIN categories cat ON cat.code = c.category_code
LEFT JOIN compounds x ON x.id = c.compound_id
WHERE {{where}} AND {measures.is_open("c")} AND (c.geom IS NOT NULL OR x.id IS NOT NULL)
ORDER BY c.due_at, c.id
LIMIT :cap
"""


def query(con: sa.Connection, f: Filters, cap: int = CAP) -> LayerData:
    """Up to ``cap`` pending cases of the area, most overdue first; empty without a street."""
    if not f.street:
        return LayerData({"type": "FeatureCollection", "features": []}, {"total": 0, "shown": 0})
    gj = features(con, SQL.format(where=f.case_where("c")),
                  {**f.params(), "cap": cap, "viewer_role": roles.scope_role("viewer"),
                   "viewer_grid": VIEWER_GRID_DEG})
    total = gj["features"][0]["properties"]["total"] if gj["features"] else 0
    for ft in gj["features"]:
        p = ft["properties"]
        p.pop("total")
        p["level_label"] = LEVELS.get(p["level"], p["level"])
        p["status_label"] = STATUSES.get(p["status"], p["status"])
    return LayerData(gj, {"total": int(total), "shown": len(gj["features"])})


def render(data: LayerData, **_: Any) -> folium.FeatureGroup:
    fg = folium.FeatureGroup(name="待办工单", show=True)

    def _style(feat: dict[str, Any]) -> dict[str, Any]:
        p = feat["properties"]
        return {"fillColor": style.LEVEL_COLORS.get(p["level"], "#888888"), "fillOpacity": 0.95,
                "color": "#000000" if p["overdue"] else "#ffffff",
                "weight": 3 if p["overdue"] else 1.5, "radius": 8 if p["overdue"] else 6}

    folium.GeoJson(
        data.geojson, name="pending_cases", marker=folium.CircleMarker(radius=6, fill=True),
        style_function=_style,
        tooltip=folium.GeoJsonTooltip(
            fields=["case_no", "category", "level_label", "status_label", "due_on",
                    "overdue_days", "compound"],
            aliases=["工单号", "类别", "层级", "状态", "办理时限", "超期天数", "小区"],
            style="font-size:15px;"),
    ).add_to(fg)
    return fg


def legend(data: LayerData, **_: Any) -> str:
    items = [(c, f"{LEVELS[k].removesuffix('级')}级待办") for k, c in style.LEVEL_COLORS.items()]
    html = style.swatches("待办工单", items, shape="dot")
    note = '<div class="pm-legend-row">黑圈：已超期</div>'
    total, shown = data.meta.get("total", 0), data.meta.get("shown", 0)
    if total > shown:
        note += f'<div class="pm-legend-row">共 {total} 件，图上显示超期最久的 {shown} 件</div>'
    return html + note


LAYER = Layer("pending_cases", "待办工单", query, render, legend, needs_area=True)
