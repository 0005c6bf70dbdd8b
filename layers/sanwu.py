"""三无 compounds (no firm, no competent department, no owners' organisation) as dots.

Red: 三无，未托管 (nobody manages it: the work). Orange with a red rim: 三无，已托管
(its street office has taken it over: progress, still 三无). The conditions are
:mod:`geo.measures`'s.
"""

from __future__ import annotations

from typing import Any

import folium
import sqlalchemy as sa

from geo.history import CUSTODY
from geo.measures import sanwu_in_custody
from layers import facts, style
from layers.base import Layer, LayerData, as_geojson, features
from layers.filters import Filters

SQL = f"""
WITH {{counts}}
SELECT 'compound' AS kind, x.id, x.name, s.name AS street, coalesce(x.households, 0) AS households,
       x.build_year, coalesce(k.received, 0) AS received, coalesce(k.pending, 0) AS pending,
       {sanwu_in_custody("x")} AS custody,
       {as_geojson("ST_PointOnSurface(x.geom)")} AS geometry
FROM compounds x LEFT JOIN k ON k.compound_id = x.id LEFT JOIN streets s ON s.code = x.street_code
WHERE x.is_sanwu AND (CAST(:f_street AS text) IS NULL OR x.street_code = :f_street)
ORDER BY x.id
"""


def query(con: sa.Connection, f: Filters) -> LayerData:
    """Every 三无 compound of the area (the whole city without a street)."""
    counts, params = facts.cte(con, f, "compound_id", measures=("received", "pending"))
    gj = features(con, SQL.format(counts=counts), {**f.params(), **params})
    for ft in gj["features"]:
        p = ft["properties"]
        p["state"] = CUSTODY["custody" if p["custody"] else "untaken"]
    custody = sum(1 for ft in gj["features"] if ft["properties"]["custody"])
    return LayerData(gj, {"custody": custody, "untaken": len(gj["features"]) - custody})


def render(data: LayerData, *, radius: float = 4.5, **_: Any) -> folium.FeatureGroup:
    """Small dots with a rim, so the colours of the areas beneath still show: red for
    三无，未托管, orange ringed red for 三无，已托管."""
    fg = folium.FeatureGroup(name="三无小区", show=True)

    def _style(feat: dict[str, Any]) -> dict[str, Any]:
        custody = feat["properties"]["custody"]
        return {"fillColor": style.SANWU_CUSTODY_COLOR if custody else style.SANWU_COLOR,
                "color": style.SANWU_COLOR if custody else "#ffffff",
                "weight": 2.0 if custody else 1.2, "fillOpacity": 0.95, "radius": radius}

    folium.GeoJson(
        data.geojson, name="sanwu",
        marker=folium.CircleMarker(radius=radius, fill=True),
        style_function=_style,
        tooltip=folium.GeoJsonTooltip(fields=["name", "state", "street", "households",
                                              "received"],
                                      aliases=["三无小区", "状态", "街道", "户数", "期内诉求"],
                                      style="font-size:16px;"),
    ).add_to(fg)
    return fg


def legend(data: LayerData, **_: Any) -> str:
    untaken = data.meta.get("untaken", len(data))
    custody = data.meta.get("custody", 0)
    return style.swatches("三无小区", [
        (style.SANWU_COLOR, f"{CUSTODY['untaken']}（{untaken} 个）"),
        (style.SANWU_CUSTODY_COLOR, f"{CUSTODY['custody']}（{custody} 个）")], shape="dot")


LAYER = Layer("sanwu", "三无小区", query, render, legend)
