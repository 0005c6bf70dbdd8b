"""Compounds of the area in view, coloured by management mode; 三无 compounds stand out in red."""

from __future__ import annotations

from typing import Any

import folium
import sqlalchemy as sa

from geo.history import CUSTODY
from geo.models import MANAGEMENT_MODES
from layers import facts, style
from layers.base import Layer, LayerData, features, simplified
from layers.filters import Filters

TOLERANCE = 0.00002

SQL = f"""
WITH {{counts}}
SELECT 'compound' AS kind, x.id, x.name, x.management_mode AS mode, x.is_sanwu AS sanwu,
       x.is_old AS old, coalesce(x.households, 0) AS households, x.build_year,
       coalesce(k.received, 0) AS received, coalesce(k.pending, 0) AS pending,
       coalesce(k.overdue, 0) AS overdue,
       {simplified("x.geom", TOLERANCE)} AS geometry
FROM compounds x LEFT JOIN k ON k.compound_id = x.id
WHERE x.street_code = :f_street
  AND (CAST(:f_community AS integer) IS NULL OR x.community_id = :f_community)
ORDER BY x.id
"""


def query(con: sa.Connection, f: Filters) -> LayerData:
    """Compounds of ``f.street`` (and ``f.community_id`` when set); empty without a street."""
    if not f.street:
        return LayerData({"type": "FeatureCollection", "features": []})
    counts, params = facts.cte(con, f, "compound_id", measures=("received", "pending", "overdue"))
    gj = features(con, SQL.format(counts=counts), {**f.params(), **params})
    return LayerData(gj)


def render(data: LayerData, *, selected: int | None = None, **_: Any) -> folium.FeatureGroup:
    """Compound outlines by management mode, 三无 ones as large red dots; the ``selected``
    compound (the one whose card is open) ringed in black and yellow."""
    for ft in data.features:
        p = ft["properties"]
        p["mode_label"] = (CUSTODY["custody" if p["mode"] == "street_custody" else "untaken"]
                           if p["sanwu"] else MANAGEMENT_MODES.get(p["mode"], p["mode"]))
    fg = folium.FeatureGroup(name="小区", show=True)

    def _style(feat: dict[str, Any]) -> dict[str, Any]:
        p = feat["properties"]
        if p["sanwu"]:
            fill = style.SANWU_CUSTODY_COLOR if p["mode"] == "street_custody" else style.SANWU_COLOR
            return {"fillColor": fill, "fillOpacity": 0.85, "color": "#000000",
                    "weight": 2.5}
        return {"fillColor": style.MODE_COLORS.get(p["mode"], style.NO_DATA), "fillOpacity": 0.7,
                "color": "#222222", "weight": 1}

    folium.GeoJson(
        data.geojson, name="compounds", style_function=_style,
        highlight_function=lambda _f: {"weight": 4, "color": "#ffff00"},
        tooltip=folium.GeoJsonTooltip(
            fields=["name", "mode_label", "households", "pending", "overdue"],
            aliases=["小区", "管理方式", "户数", "待办", "超期"], style="font-size:16px;"),
    ).add_to(fg)
    # 三无 compounds also get a large dot: at street zoom their polygons are small.
    dots = [{"type": "Feature", "properties": ft["properties"],
             "geometry": {"type": "Point", "coordinates": _centre(ft["geometry"])}}
            for ft in data.features if ft["properties"]["sanwu"]]
    if dots:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": dots}, name="sanwu_dots",
            marker=folium.CircleMarker(radius=9, fill=True),
            style_function=lambda f: {
                "fillColor": style.SANWU_CUSTODY_COLOR if f["properties"]["mode"] ==
                "street_custody" else style.SANWU_COLOR, "color": "#000000", "weight": 2.5,
                "fillOpacity": 0.95, "radius": 9},
            tooltip=folium.GeoJsonTooltip(fields=["name", "mode_label", "households", "pending"],
                                          aliases=["三无小区", "状态", "户数", "待办"],
                                          style="font-size:16px;"),
        ).add_to(fg)
    for ft in data.features:
        if selected is not None and ft["properties"]["id"] == selected:
            x, y = _centre(ft["geometry"])
            for colour, weight in (("#000000", 8), ("#ffd400", 4)):
                folium.CircleMarker([y, x], radius=20, color=colour, weight=weight, fill=False,
                                    interactive=False).add_to(fg)
    return fg


def _centre(geom: dict[str, Any]) -> list[float]:
    """The mean vertex of the outer ring (a compound is small and compact), rounded."""
    coords = geom["coordinates"]
    ring = coords[0][0] if geom["type"] == "MultiPolygon" else coords[0]
    ring = ring[:-1] or ring
    return [round(sum(c[0] for c in ring) / len(ring), 5),
            round(sum(c[1] for c in ring) / len(ring), 5)]


def legend(data: LayerData, **_: Any) -> str:
    items = [(style.SANWU_COLOR, CUSTODY["untaken"]),
             (style.SANWU_CUSTODY_COLOR, CUSTODY["custody"])] + [
        (style.MODE_COLORS[k], v) for k, v in MANAGEMENT_MODES.items()]
    return style.swatches("小区管理方式", items)


LAYER = Layer("compounds", "小区（按管理方式）", query, render, legend, needs_area=True)
