"""Which property firm serves which compound: one coloured dot per compound served."""

from __future__ import annotations

from typing import Any

import folium
import sqlalchemy as sa

from layers import style
from layers.base import Layer, LayerData, as_geojson, features
from layers.filters import Filters

SQL = f"""
SELECT 'compound' AS kind, x.id, x.name, p.id AS firm_id, p.name AS firm,
       coalesce(x.households, 0) AS households,
       {as_geojson("ST_PointOnSurface(x.geom)")} AS geometry
FROM compounds x JOIN property_firms p ON p.id = x.firm_id
WHERE (CAST(:f_street AS text) IS NULL OR x.street_code = :f_street)
ORDER BY p.id, x.id
"""


def firm_color(firm_id: int) -> str:
    return style.FIRM_COLORS[(firm_id - 1) % len(style.FIRM_COLORS)]


def query(con: sa.Connection, f: Filters) -> LayerData:
    return LayerData(features(con, SQL, f.params()))


def render(data: LayerData, **_: Any) -> folium.FeatureGroup:
    for ft in data.features:
        ft["properties"]["fill"] = firm_color(ft["properties"]["firm_id"])
    fg = folium.FeatureGroup(name="物业企业服务范围", show=True)
    folium.GeoJson(
        data.geojson, name="firm_coverage", marker=folium.CircleMarker(radius=6, fill=True),
        style_function=lambda feat: {"fillColor": feat["properties"]["fill"], "color": "#ffffff",
                                     "weight": 1, "fillOpacity": 0.95, "radius": 6},
        tooltip=folium.GeoJsonTooltip(fields=["name", "firm", "households"],
                                      aliases=["小区", "物业企业", "户数"],
                                      style="font-size:15px;"),
    ).add_to(fg)
    return fg


def legend(data: LayerData, **_: Any) -> str:
    firms: dict[int, str] = {}
    for ft in data.features:
        firms.setdefault(ft["properties"]["firm_id"], ft["properties"]["firm"])
    return style.swatches("物业企业", [(firm_color(i), short_name(n))
                                       for i, n in sorted(firms.items())],
                          shape="dot", columns=2)


def short_name(firm: str) -> str:
    """A firm's name as a legend fits it: 凯里市宏达物业服务有限公司 → 宏达物业."""
    return firm.removeprefix("凯里市").replace("物业服务有限公司", "物业")


LAYER = Layer("firm_coverage", "物业企业服务范围", query, render, legend)
