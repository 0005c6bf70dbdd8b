"""Street offices and towns, coloured by a chosen measure of their cases (choropleth).

One row per street office (20 in Kaili): case counts come from the shared
per-compound facts (:mod:`layers.facts`, counted on stored ids, no spatial join
at query time), geometry is simplified, so the payload does not grow with the
number of cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import folium
import sqlalchemy as sa
from shapely.geometry import shape

from geo import measures
from layers import compare, facts, style
from layers.base import Layer, LayerData, features, simplified
from layers.filters import Filters

#: Measures the map can be coloured by: key → (Chinese label, unit, high is good).
MEASURES: dict[str, tuple[str, str, bool]] = {
    "pending": ("待办件数", "件", False),
    "overdue": ("超期件数", "件", False),
    "closed_late": ("逾期办结件数", "件", False),
    "reopened": ("重新办理件数", "件", False),
    "unsatisfied": ("不满意件数", "件", False),
    "per_1000": ("每千户诉求数", "件/千户", False),
    "closure_rate": ("办结率", "%", True),
    "repeat_rate": ("办结后再诉率", "%", False),
}
#: The counts each street carries (shared facts), for the colourings and the tooltip.
COUNTED = ("received", "pending", "overdue", "closed", "closed_late", "reopened", "unsatisfied",
           "repeat")
#: Figures blanked for another area's outline (not shown, not zero).
FIGURES = (*COUNTED, "per_1000", "closure_rate", "repeat_rate")
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
       {", ".join(f"coalesce(k.{m}, 0) AS {m}" for m in COUNTED)},
       coalesce(h.households, 0) AS households, coalesce(h.compounds, 0) AS compounds,
       coalesce(h.sanwu, 0) AS sanwu,
       {measures.per_1000_sql("k.received", "h.households")} AS per_1000,
       CASE WHEN coalesce(k.received, 0) > 0
            THEN round(100.0 * k.closed / k.received, 1) END AS closure_rate,
       CASE WHEN coalesce(k.received, 0) > 0
            THEN round(100.0 * k.repeat / k.received, 1) END AS repeat_rate,
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
    counts, params = facts.cte(con, area, "street_code", measures=COUNTED)
    gj = features(con, SQL.format(counts=counts), params)
    for ft in gj["features"]:
        p = ft["properties"]
        if not p.pop("in_scope"):  # another area's outline, for orientation: no figures
            for k in FIGURES:
                p[k] = None
    return LayerData(gj, {"selected": f.street, "partial": partial})


def _values(data: LayerData, measure: str) -> list[float]:
    return [ft["properties"][measure] or 0 for ft in data.features
            if not isinstance(ft["properties"][measure], str)]


def shared_bounds(datas: Sequence[LayerData], measure: str) -> list[float]:
    """Class bounds of ``measure`` over several periods' data: one classing for all of
    them, so the same colour means the same figure on every map of a comparison."""
    if MEASURES[measure][1] == "%" and MEASURES[measure][2]:  # a rate where high is good
        return [20.0, 40.0, 60.0, 80.0, 100.0]
    return style.breaks([v for d in datas for v in _values(d, measure)])


def _bounds(data: LayerData, measure: str, bounds: Sequence[float] | None) -> list[float]:
    return list(bounds) if bounds else shared_bounds([data], measure)


def palette(measure: str) -> tuple[str, ...]:
    return style.SEQUENTIAL_GOOD if MEASURES[measure][2] else style.SEQUENTIAL


def changes(data: LayerData, base: LayerData, measure: str) -> dict[str, compare.Change]:
    """Per street code: ``measure`` in ``data`` against ``base`` (another period)."""
    before = {ft["properties"]["code"]: ft["properties"][measure] for ft in base.features}
    return {ft["properties"]["code"]: compare.change_of(ft["properties"][measure],
                                                        before.get(ft["properties"]["code"]))
            for ft in data.features}


def _shown(v: Any, unit: str) -> str:
    if v is None or isinstance(v, str):
        return "—"
    if unit == "%":
        return f"{v:.1f}%"
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.1f}"


def render(data: LayerData, *, measure: str | None = "pending", labels: bool = True,
           label_px: int = 15, outline: float = 1.2, bounds: Sequence[float] | None = None,
           change_from: LayerData | None = None, change_label: str = "变化",
           show_values: bool = False, interactive: bool = True,
           **_: Any) -> folium.FeatureGroup:
    """Filled areas coloured by ``measure`` (plain outlines when None); the selected one thick.

    ``bounds`` fixes the class bounds (a comparison: :func:`shared_bounds`).
    With ``change_from`` (the same layer for the comparison period) the areas
    are coloured by the change of ``measure`` instead, in the fixed change
    classes of :mod:`layers.compare`. With ``labels``, every area but the
    selected one carries its name, street offices in bold and towns in grey,
    at ``label_px`` pixels (larger on a projector), and with ``show_values``
    the figure (or the change) under it, readable without hovering; the labels
    let clicks through to the areas. Not ``interactive``, the areas are a
    backdrop: no tooltip, no click, so hovering the layers drawn on them shows
    their figures, not the street's.
    """
    selected = data.meta.get("selected")
    shown: dict[str, str] = {}
    if measure is None:
        for ft in data.features:
            ft["properties"]["fill"] = "#ffffff"
        measure = "pending"
    elif change_from is not None:
        rate = MEASURES[measure][1] == "%"
        diffs = changes(data, change_from, measure)
        for ft in data.features:
            p = ft["properties"]
            ch = diffs[p["code"]]
            p["fill"] = compare.change_colour(ch.pct, ch.delta) or style.NO_DATA
            p["change"] = compare.describe(ch.current, ch.base, rate=rate)
            shown[p["code"]] = p["change"]
    else:
        bnds, colours = _bounds(data, measure, bounds), palette(measure)
        for ft in data.features:
            p = ft["properties"]
            p["fill"] = style.classify(p[measure], bnds, colours)
    label, unit, _good = MEASURES[measure]
    for ft in data.features:
        p = ft["properties"]
        shown.setdefault(p["code"], _shown(p.get(measure), unit))
    for ft in data.features:  # another area's figures are not shown, not zero
        p = ft["properties"]
        for k in ("received", "pending", "overdue", measure):
            if p.get(k) is None:
                p[k] = "—"
    fg = folium.FeatureGroup(name="街道/镇", show=True)

    def _style(feat: dict[str, Any]) -> dict[str, Any]:
        p = feat["properties"]
        sel = p["code"] == selected
        return {"fillColor": p["fill"], "fillOpacity": 0.1 if selected else 0.75,
                "color": "#000000" if sel else "#333333", "weight": 5 if sel else outline}

    fields, aliases = ["name", measure, "received", "pending", "overdue"], [
        "", f"{label}（{unit}）", "受理", "待办", "超期"]
    if change_from is not None:
        fields.insert(2, "change")
        aliases.insert(2, change_label)
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
                fields=["name"] if data.meta.get("partial") else fields,
                aliases=[""] if data.meta.get("partial") else aliases,
                sticky=True, style="font-size:16px;",
            ),
        ).add_to(fg)
    if labels:
        for ft in data.features:
            p = ft["properties"]
            if p["code"] != selected:
                value = shown[p["code"]] if show_values and p.get("in_scope", True) else None
                _label(ft, label_px, value).add_to(fg)
    return fg


def _label(ft: dict[str, Any], px: int, value: str | None = None) -> folium.Marker:
    """The area's name (and ``value``) at a point inside it (a plain Leaflet divIcon:
    no icon font needed)."""
    p = ft["properties"]
    town = p["street_kind"] == "town"
    at = shape(ft["geometry"]).representative_point()
    size = round(px * 0.85) if town else px
    figure = (f'<br><span class="pm-map-value" style="font-size:{round(size * 1.05)}px">'
              f'{value}</span>' if value is not None and value != "—" else "")
    html = (f'<div class="pm-map-label{" town" if town else ""}" '
            f'style="font-size:{size}px">{p["name"]}{figure}</div>')
    return folium.Marker([round(at.y, 5), round(at.x, 5)], interactive=False, keyboard=False,
                         icon=folium.DivIcon(html=html, class_name="pm-map-label-icon",
                                             icon_size=(0, 0)))


def legend(data: LayerData, *, measure: str | None = "pending",
           bounds: Sequence[float] | None = None, change_from: LayerData | None = None,
           change_label: str = "变化", bounds_note: str = "", **_: Any) -> str:
    """The legend of :func:`render` with the same options; it states when classes are fixed
    (``bounds_note``) and, for 超期 and 逾期办结, their written definitions."""
    if measure is None:
        return ""
    label, unit, _good = MEASURES[measure]
    late = [measures.LATE_SHORT] if measure in ("overdue", "closed_late") else []
    if change_from is not None:
        return style.swatches(f"街道/镇：{label}{change_label}", compare.change_legend_items(),
                              columns=2, notes=["变化分级固定：每张图、每个时段相同"])
    return style.class_legend(f"街道/镇：{label}", _bounds(data, measure, bounds),
                              palette(measure), "%" if unit == "%" else "",
                              notes=[n for n in (bounds_note, *late) if n])


LAYER = Layer("street_areas", "街道/镇辖区", query, render, legend)
