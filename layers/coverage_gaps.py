"""Where professional management is missing: communities by the share of households without
it, and the compounds without it, told apart by class (三无, 街道托管, 业主自管, 单位自管).

The figures are :func:`geo.coverage.gaps` (one aggregate query); the classes are
data (``data/reference/management-classes.csv``). Two layers: the communities'
choropleth (:data:`LAYER`) and the compounds as dots (:data:`COMPOUNDS`).
"""

from __future__ import annotations

from typing import Any

import folium
import sqlalchemy as sa

from geo import coverage
from layers import style
from layers.base import Layer, LayerData, as_geojson, features, simplified
from layers.filters import Filters

TOLERANCE = 0.0001
#: Upper bounds of the classes of the share (percent of households).
SHARE_BOUNDS = (10.0, 20.0, 35.0, 50.0, 100.0)

AREAS_SQL = f"""
SELECT 'community' AS kind, m.id, m.name, s.name AS street, m.street_code,
       {simplified("m.geom", TOLERANCE)} AS geometry
FROM communities m JOIN streets s ON s.code = m.street_code
WHERE (CAST(:f_street AS text) IS NULL OR m.street_code = :f_street)
ORDER BY m.id
"""


def query(con: sa.Connection, f: Filters) -> LayerData:
    """Every community of the area with its gap figures (communities without compounds: —)."""
    gj = features(con, AREAS_SQL, f.params())
    figures = {str(r["code"]): r for r in coverage.gaps(con, "community", f.street)
               .to_dict("records")}
    for ft in gj["features"]:
        p = ft["properties"]
        g = figures.get(str(p["id"]), {})
        p["compounds"] = int(g.get("compounds", 0))
        p["households"] = int(g.get("households", 0))
        p["gap_compounds"] = int(g.get("gap_compounds", 0))
        p["gap_households"] = int(g.get("gap_households", 0))
        p["gap_share"] = g.get("gap_share")
        p["sanwu"] = int(g.get("sanwu_compounds", 0))
        p["custody"] = int(g.get("custody_compounds", 0))
    return LayerData(gj)


def render(data: LayerData, **_: Any) -> folium.FeatureGroup:
    for ft in data.features:
        p = ft["properties"]
        p["fill"] = style.classify(p["gap_share"], SHARE_BOUNDS, style.GAP_PALETTE)
        p["share_text"] = "—" if p["gap_share"] is None else f"{p['gap_share']:g}%"
    fg = folium.FeatureGroup(name="无专业物业覆盖缺口", show=True)
    folium.GeoJson(
        data.geojson, name="coverage_gaps",
        style_function=lambda feat: {"fillColor": feat["properties"]["fill"],
                                     "fillOpacity": 0.75, "color": "#555555", "weight": 1},
        highlight_function=lambda _f: {"weight": 3, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(
            fields=["name", "street", "share_text", "gap_households", "gap_compounds", "sanwu",
                    "custody"],
            aliases=["社区", "街道/镇", "无专业物业户数占比", "无专业物业户数", "无专业物业小区",
                     "其中三无（未托管）", "其中街道托管"],
            sticky=True, style="font-size:15px;"),
    ).add_to(fg)
    return fg


def legend(data: LayerData, **_: Any) -> str:
    return style.class_legend("社区：无专业物业户数占比", list(SHARE_BOUNDS), style.GAP_PALETTE,
                              "%")


LAYER = Layer("coverage_gaps", "无专业物业覆盖缺口（社区）", query, render, legend)


COMPOUNDS_SQL = """
SELECT 'compound' AS kind, x.id, x.name, s.name AS street, m.name AS community,
       {cls} AS cls, coalesce(x.households, 0) AS households,
       {geom} AS geometry
FROM compounds x LEFT JOIN streets s ON s.code = x.street_code
LEFT JOIN communities m ON m.id = x.community_id
WHERE (CAST(:f_street AS text) IS NULL OR x.street_code = :f_street)
ORDER BY x.id
"""


def query_compounds(con: sa.Connection, f: Filters) -> LayerData:
    """The compounds without professional management, with their class."""
    gj = features(con, COMPOUNDS_SQL.format(cls=coverage.class_sql("x"),
                                            geom=as_geojson("ST_PointOnSurface(x.geom)")),
                  f.params())
    prof = set(coverage.professional_keys())
    labels = {c.key: c.label for c in coverage.classes()}
    kept = []
    for ft in gj["features"]:
        p = ft["properties"]
        if p["cls"] in prof:
            continue
        p["cls_label"] = labels.get(p["cls"], "其他")
        kept.append(ft)
    return LayerData({**gj, "features": kept})


def render_compounds(data: LayerData, **_: Any) -> folium.FeatureGroup:
    fg = folium.FeatureGroup(name="无专业物业的小区", show=True)
    folium.GeoJson(
        data.geojson, name="gap_compounds", marker=folium.CircleMarker(radius=5, fill=True),
        style_function=lambda feat: {
            "fillColor": style.GAP_CLASS_COLORS.get(feat["properties"]["cls"], style.NO_DATA),
            "color": "#ffffff", "weight": 1, "fillOpacity": 0.95, "radius": 5},
        tooltip=folium.GeoJsonTooltip(fields=["name", "cls_label", "households", "community"],
                                      aliases=["小区", "管理方式", "户数", "社区"],
                                      style="font-size:15px;"),
    ).add_to(fg)
    return fg


def legend_compounds(data: LayerData, **_: Any) -> str:
    counts: dict[str, int] = {}
    for ft in data.features:
        counts[ft["properties"]["cls"]] = counts.get(ft["properties"]["cls"], 0) + 1
    items = [(style.GAP_CLASS_COLORS.get(c.key, style.NO_DATA), f"{c.label}（{counts[c.key]} 个）")
             for c in coverage.classes() if c.key in counts]
    return style.swatches("无专业物业的小区", items, shape="dot")


COMPOUNDS = Layer("gap_compounds", "无专业物业的小区", query_compounds, render_compounds,
                  legend_compounds)
