"""三无 compounds (no firm, no competent department, no owners' organisation) as red dots."""

from __future__ import annotations

from typing import Any

import folium
import sqlalchemy as sa

from layers import facts, style
from layers.base import Layer, LayerData, as_geojson, features
from layers.filters import Filters

SQL = f"""
WITH {{counts}}
SELECT 'compound' AS kind, x.id, x.name, s.name AS street, coalesce(x.households, 0) AS households,
       x.build_year, coalesce(k.received, 0) AS received, coalesce(k.pending, 0) AS pending,
       {as_geojson("ST_PointOnSurface(x.geom)")} AS geometry
FROM compounds x LEFT JOIN k ON k.compound_id = x.id LEFT JOIN streets s ON s.code = x.street_code
WHERE x.is_sanwu AND (CAST(:f_street AS text) IS NULL OR x.street_code = :f_street)
ORDER BY x.id
"""


def query(con: sa.Connection, f: Filters) -> LayerData:
    """Every 三无 compound of the area (the whole city without a street)."""
    counts, params = facts.cte(con, f, "compound_id", measures=("received", "pending"))
    return LayerData(features(con, SQL.format(counts=counts), {**f.params(), **params}))


def render(data: LayerData, *, radius: float = 4.5, **_: Any) -> folium.FeatureGroup:
    """Small red dots with a white rim, so the colours of the areas beneath still show."""
    fg = folium.FeatureGroup(name="三无小区", show=True)
    folium.GeoJson(
        data.geojson, name="sanwu",
        marker=folium.CircleMarker(radius=radius, fill=True),
        style_function=lambda _f: {"fillColor": style.SANWU_COLOR, "color": "#ffffff",
                                   "weight": 1.2, "fillOpacity": 0.95, "radius": radius},
        tooltip=folium.GeoJsonTooltip(fields=["name", "street", "households", "received"],
                                      aliases=["三无小区", "街道", "户数", "期内诉求"],
                                      style="font-size:16px;"),
    ).add_to(fg)
    return fg


def legend(data: LayerData, **_: Any) -> str:
    return style.swatches("三无小区", [(style.SANWU_COLOR, f"三无小区（{len(data)} 个）")],
                          shape="dot")


LAYER = Layer("sanwu", "三无小区", query, render, legend)
