"""三无 compounds (no firm, no competent department, no owners' organisation) as red dots."""

from __future__ import annotations

from typing import Any

import folium
import sqlalchemy as sa

from layers import style
from layers.base import Layer, LayerData, as_geojson, features
from layers.filters import Filters, pending_sql

SQL = f"""
WITH k AS (
    SELECT c.compound_id, count(*) FILTER (WHERE {pending_sql()}) AS pending, count(*) AS received
    FROM cases c WHERE {{where}} AND c.compound_id IS NOT NULL GROUP BY c.compound_id
)
SELECT 'compound' AS kind, x.id, x.name, s.name AS street, coalesce(x.households, 0) AS households,
       x.build_year, coalesce(k.received, 0) AS received, coalesce(k.pending, 0) AS pending,
       {as_geojson("ST_PointOnSurface(x.geom)")} AS geometry
FROM compounds x LEFT JOIN k ON k.compound_id = x.id LEFT JOIN streets s ON s.code = x.street_code
WHERE x.is_sanwu AND (CAST(:f_street AS text) IS NULL OR x.street_code = :f_street)
ORDER BY x.id
"""


def query(con: sa.Connection, f: Filters) -> LayerData:
    """Every 三无 compound of the area (the whole city without a street)."""
    return LayerData(features(con, SQL.format(where=f.case_where("c")), f.params()))


def render(data: LayerData, **_: Any) -> folium.FeatureGroup:
    fg = folium.FeatureGroup(name="三无小区", show=True)
    folium.GeoJson(
        data.geojson, name="sanwu",
        marker=folium.CircleMarker(radius=7, fill=True),
        style_function=lambda _f: {"fillColor": style.SANWU_COLOR, "color": "#ffffff",
                                   "weight": 2, "fillOpacity": 0.95, "radius": 7},
        tooltip=folium.GeoJsonTooltip(fields=["name", "street", "households", "received"],
                                      aliases=["三无小区", "街道", "户数", "期内诉求"],
                                      style="font-size:16px;"),
    ).add_to(fg)
    return fg


def legend(data: LayerData, **_: Any) -> str:
    return style.swatches("三无小区", [(style.SANWU_COLOR, f"三无小区（{len(data)} 个）")],
                          shape="dot")


LAYER = Layer("sanwu", "三无小区", query, render, legend)
