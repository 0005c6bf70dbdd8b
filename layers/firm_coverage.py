"""Which property firm serves which compound: one dot per compound a firm serves.

Twenty firms in twenty colours cannot be told apart on a projector, so the layer
has two readings. With a firm chosen (``highlight``), its compounds stand out in
one strong colour on top and every other firm's are small grey dots. Without,
each dot takes the colour of its firm's published credit grade (an ordered
scale, AAA green to D red, 未评级 grey) and black-listed firms' dots a black
rim. The tooltip names the compound, the firm, its grade and list status.
"""

from __future__ import annotations

from typing import Any

import folium
import sqlalchemy as sa

from layers import style
from layers.base import Layer, LayerData, as_geojson, features
from layers.filters import Filters

SQL = f"""
SELECT 'compound' AS kind, x.id, x.name, p.id AS firm_id, p.name AS firm,
       coalesce(p.credit_rating, '') AS grade, p.list_status,
       coalesce(x.households, 0) AS households,
       {as_geojson("ST_PointOnSurface(x.geom)")} AS geometry
FROM compounds x JOIN property_firms p ON p.id = x.firm_id
WHERE (CAST(:f_street AS text) IS NULL OR x.street_code = :f_street)
ORDER BY p.id, x.id
"""
LIST_LABELS = {"red": "红榜", "black": "黑榜", "none": ""}


def query(con: sa.Connection, f: Filters) -> LayerData:
    return LayerData(features(con, SQL, f.params()))


def _tooltip() -> folium.GeoJsonTooltip:
    return folium.GeoJsonTooltip(fields=["name", "firm", "grade_text", "households"],
                                 aliases=["小区", "物业企业", "信用等级", "户数"],
                                 style="font-size:15px;")


def render(data: LayerData, *, highlight: int | None = None, **_: Any) -> folium.FeatureGroup:
    """Dots of every firm's compounds; ``highlight`` (a firm id) in front, the rest grey."""
    for ft in data.features:
        p = ft["properties"]
        p["grade_text"] = (p["grade"] or "未评级") + (
            f"（{LIST_LABELS[p['list_status']]}）" if LIST_LABELS.get(p["list_status"]) else "")
    fg = folium.FeatureGroup(name="物业企业服务范围", show=True)
    if highlight is not None:
        others = {**data.geojson, "features": [ft for ft in data.features
                                               if ft["properties"]["firm_id"] != highlight]}
        mine = {**data.geojson, "features": [ft for ft in data.features
                                             if ft["properties"]["firm_id"] == highlight]}
        folium.GeoJson(
            others, name="firm_coverage_others",
            marker=folium.CircleMarker(radius=3.5, fill=True),
            style_function=lambda _f: {"fillColor": style.OTHER_FIRM, "color": style.OTHER_FIRM,
                                       "weight": 0.5, "fillOpacity": 0.55, "radius": 3.5},
            tooltip=_tooltip(),
        ).add_to(fg)
        if mine["features"]:
            folium.GeoJson(
                mine, name="firm_coverage_selected",
                marker=folium.CircleMarker(radius=8, fill=True),
                style_function=lambda _f: {"fillColor": style.SELECTED_FIRM, "color": "#ffffff",
                                           "weight": 2, "fillOpacity": 0.95, "radius": 8},
                tooltip=_tooltip(),
            ).add_to(fg)
        return fg
    folium.GeoJson(
        data.geojson, name="firm_coverage", marker=folium.CircleMarker(radius=6, fill=True),
        style_function=lambda feat: {
            "fillColor": style.GRADE_COLORS.get(feat["properties"]["grade"], style.NO_DATA),
            "color": "#000000" if feat["properties"]["list_status"] == "black" else "#ffffff",
            "weight": 2.5 if feat["properties"]["list_status"] == "black" else 1,
            "fillOpacity": 0.95, "radius": 6},
        tooltip=_tooltip(),
    ).add_to(fg)
    return fg


def legend(data: LayerData, *, highlight: int | None = None, **_: Any) -> str:
    if highlight is not None:
        mine = [ft for ft in data.features if ft["properties"]["firm_id"] == highlight]
        name = short_name(mine[0]["properties"]["firm"]) if mine else "所选企业"
        return style.swatches("物业企业服务范围", [
            (style.SELECTED_FIRM, f"{name}（{len(mine)} 个小区）"),
            (style.OTHER_FIRM, f"其他企业（{len(data) - len(mine)} 个小区）")], shape="dot")
    shown = {ft["properties"]["grade"] for ft in data.features}
    items = [(c, g) for g, c in style.GRADE_COLORS.items() if g in shown]
    if "" in shown:
        items.append((style.NO_DATA, "未评级"))
    black = any(ft["properties"]["list_status"] == "black" for ft in data.features)
    out = style.swatches("小区所属物业企业的信用等级（已发布）", items, shape="dot")
    if black:
        out += style.swatches("", [("#000000", "黑榜企业（黑色描边）")], shape="dot")
    return out


def short_name(firm: str) -> str:
    """A firm's name as a legend fits it: 凯里市宏达物业服务有限公司 → 宏达物业."""
    return firm.removeprefix("凯里市").replace("物业服务有限公司", "物业")


LAYER = Layer("firm_coverage", "物业企业服务范围", query, render, legend)
