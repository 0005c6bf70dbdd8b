"""Street offices and towns, coloured by a chosen measure of their cases (choropleth).

One row per street office (20 in Kaili): case counts come from the shared
per-compound facts (:mod:`layers.facts`, counted on stored ids, no spatial join
at query time), geometry is simplified, so the payload does not grow with the
number of cases.
"""

from __future__ import annotations

from typing import Any

import folium
import sqlalchemy as sa
from shapely.geometry import shape

from layers import facts, style
from layers.base import Layer, LayerData, features, simplified
from layers.filters import Filters

#: Measures the map can be coloured by: key → (Chinese label, unit, high is good).
MEASURES: dict[str, tuple[str, str, bool]] = {
    "pending": ("待办件数", "件", False),
    "overdue": ("超期件数", "件", False),
    "per_1000": ("每千户诉求数", "件/千户", False),
    "closure_rate": ("办结率", "%", True),
}
#: Simplification tolerance in degrees (≈ 50 m): invisible at city zoom.
TOLERANCE = 0.0005

SQL = f"""
WITH {{counts}}, h AS (
    SELECT street_code, sum(households) AS households, count(*) AS compounds,
           count(*) FILTER (WHERE is_sanwu) AS sanwu
    FROM compounds GROUP BY street_code
)
SELECT 'street' AS kind, s.code, s.name, s.kind AS street_kind,
       (propmap_scope_streets() IS NULL OR s.code = ANY (propmap_scope_streets())) AS in_scope,
       coalesce(k.received, 0) AS received, coalesce(k.pending, 0) AS pending,
       coalesce(k.overdue, 0) AS overdue,
       coalesce(h.households, 0) AS households, coalesce(h.compounds, 0) AS compounds,
       coalesce(h.sanwu, 0) AS sanwu,
       CASE WHEN coalesce(h.households, 0) > 0
            THEN round(1000.0 * coalesce(k.received, 0) / h.households, 1) END AS per_1000,
       CASE WHEN coalesce(k.received, 0) > 0
            THEN round(100.0 * k.closed / k.received, 1) END AS closure_rate,
       {simplified("s.geom", TOLERANCE)} AS geometry
FROM streets s
LEFT JOIN k ON k.street_code = s.code
LEFT JOIN h ON h.street_code = s.code
ORDER BY s.code
"""


def query(con: sa.Connection, f: Filters) -> LayerData:
    """All street offices and towns with their case measures for ``f``.

    In a drill-down opened directly (``f.street`` set, city-wide facts not at
    hand), only the chosen street carries its counts: the others are context
    outlines, and counting the whole city for their tooltips would cost more
    than the rest of the drill-down together. ``meta["partial"]`` says so.
    """
    partial = bool(f.street) and not facts.has_city(con, f)
    area = f.area(f.street) if partial else f.area(None, None)
    counts, params = facts.cte(con, area, "street_code",
                               measures=("received", "pending", "overdue", "closed"))
    gj = features(con, SQL.format(counts=counts), params)
    for ft in gj["features"]:
        p = ft["properties"]
        if not p.pop("in_scope"):  # another area's outline, for orientation: no figures
            for k in ("received", "pending", "overdue", "per_1000", "closure_rate"):
                p[k] = None
    return LayerData(gj, {"selected": f.street, "partial": partial})


def _bounds(data: LayerData, measure: str) -> list[float]:
    if MEASURES[measure][1] == "%":
        return [20.0, 40.0, 60.0, 80.0, 100.0]
    return style.breaks([ft["properties"][measure] or 0 for ft in data.features
                         if not isinstance(ft["properties"][measure], str)])


def _palette(measure: str) -> tuple[str, ...]:
    return style.SEQUENTIAL_GOOD if MEASURES[measure][2] else style.SEQUENTIAL


def render(data: LayerData, *, measure: str | None = "pending", labels: bool = True,
           label_px: int = 15, outline: float = 1.2, interactive: bool = True,
           **_: Any) -> folium.FeatureGroup:
    """Filled areas coloured by ``measure`` (plain outlines when None); the selected one thick.

    With ``labels``, every area but the selected one carries its name, street
    offices in bold and towns in grey, at ``label_px`` pixels (larger on a
    projector); the labels let clicks through to the areas. Not ``interactive``,
    the areas are a backdrop: no tooltip, no click, so hovering the layers drawn
    on them shows their figures, not the street's.
    """
    selected = data.meta.get("selected")
    if measure is None:
        for ft in data.features:
            ft["properties"]["fill"] = "#ffffff"
        measure = "pending"
    else:
        bounds, palette = _bounds(data, measure), _palette(measure)
        for ft in data.features:
            p = ft["properties"]
            p["fill"] = style.classify(p[measure], bounds, palette)
    for ft in data.features:  # another area's figures are not shown, not zero
        p = ft["properties"]
        for k in ("received", "pending", "overdue", measure):
            if p.get(k) is None:
                p[k] = "—"
    fg = folium.FeatureGroup(name="街道/镇", show=True)
    label, unit, _good = MEASURES[measure]

    def _style(feat: dict[str, Any]) -> dict[str, Any]:
        p = feat["properties"]
        sel = p["code"] == selected
        return {"fillColor": p["fill"], "fillOpacity": 0.1 if selected else 0.75,
                "color": "#000000" if sel else "#333333", "weight": 5 if sel else outline}

    if not interactive:
        folium.GeoJson(data.geojson, name="streets", style_function=_style,
                       interactive=False).add_to(fg)
    else:
        folium.GeoJson(
            data.geojson,
            name="streets",
            style_function=_style,
            highlight_function=lambda _f: {"weight": 4, "color": "#000000"},
            tooltip=folium.GeoJsonTooltip(
                fields=["name"] if data.meta.get("partial") else
                ["name", measure, "received", "pending", "overdue"],
                aliases=[""] if data.meta.get("partial") else
                ["", f"{label}（{unit}）", "受理", "待办", "超期"],
                sticky=True, style="font-size:16px;",
            ),
        ).add_to(fg)
    if labels:
        for ft in data.features:
            p = ft["properties"]
            if p["code"] != selected:
                _label(ft, label_px).add_to(fg)
    return fg


def _label(ft: dict[str, Any], px: int) -> folium.Marker:
    """The area's name at a point inside it (a plain Leaflet divIcon: no icon font needed)."""
    p = ft["properties"]
    town = p["street_kind"] == "town"
    at = shape(ft["geometry"]).representative_point()
    size = round(px * 0.85) if town else px
    html = (f'<div class="pm-map-label{" town" if town else ""}" '
            f'style="font-size:{size}px">{p["name"]}</div>')
    return folium.Marker([round(at.y, 5), round(at.x, 5)], interactive=False, keyboard=False,
                         icon=folium.DivIcon(html=html, class_name="pm-map-label-icon",
                                             icon_size=(0, 0)))


def legend(data: LayerData, *, measure: str | None = "pending", **_: Any) -> str:
    if measure is None:
        return ""
    label, unit, _good = MEASURES[measure]
    return style.class_legend(f"街道/镇：{label}", _bounds(data, measure), _palette(measure),
                              "%" if unit == "%" else "")


LAYER = Layer("street_areas", "街道/镇辖区", query, render, legend)
