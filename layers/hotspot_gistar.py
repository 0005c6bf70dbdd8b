"""Significant hot and cold spots (Getis-Ord Gi*) on H3 hexagons, in ArcGIS's colours.

The statistic, the analysed area and the memo are :mod:`layers.hotspot_stats`;
this module draws its result. Hot spots are reds, cold spots blues, the
stronger the confidence the darker (ArcGIS's Hot Spot Analysis palette, which
fire brigades and police know); hexagons without a significant result are
drawn faintly, so the significant ones stand out on a projector. The legend
says in plain Chinese what each confidence level means.

As a registry layer (the city overview's optional overlay) it analyses the
cases matching the page's filters: the theme filter when it names exactly one
hot-spot theme (fire, elevators, public order and noise), otherwise every
dispute the filters keep; it counts distinct complaints or cases as the
dashboard's 计数 switch says (``Filters.distinct``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import folium
import sqlalchemy as sa

from layers import hotspot_stats, style
from layers.analysis import gistar
from layers.base import Layer, LayerData
from layers.filters import Filters

#: What the confidence levels mean, in one sentence for the legend's foot.
NOTE = ("置信度：99% 表示这样的聚集纯属偶然的可能性不到 1%，95% 不到 5%，90% 不到 10%"
        "（已按同时检验的六边形数校正）。浅色六边形为“不显著”。")


def theme_of(f: Filters) -> str:
    """The hot-spot theme ``f``'s theme filter names exactly, else ``all`` (its own themes)."""
    for key, themes in hotspot_stats.THEMES.items():
        if themes and tuple(f.themes) == themes:
            return key
    return "all"


def query(con: sa.Connection, f: Filters) -> LayerData:
    """Hexagons of the analysed area with their Gi* class, for ``f`` (see the module docstring).

    Text as it is: the map (:func:`dashboard.map.build`) escapes every text property.
    """
    return hotspot_stats.layer(con, f, theme_of(f), distinct=f.distinct, escaped=False)


def counted(data: LayerData) -> str:
    """What the analysis counted, in Chinese (去重诉求, 工单件数, per 1,000 households)."""
    unit = "去重诉求" if data.meta.get("distinct", True) else "工单件数"
    return f"每千户{unit}" if data.meta.get("per_households") else unit


def _fill(feat: dict[str, Any]) -> dict[str, Any]:
    p = feat["properties"]
    significant = p["class"] != "not_significant"
    return {"fillColor": p["colour"], "fillOpacity": 0.85 if significant else 0.25,
            "color": "#5a0000" if p["class"].startswith("hot") else
                     "#0b2f6b" if p["class"].startswith("cold") else "#9a9a8a",
            "weight": 0.9 if significant else 0.3}


def render(data: LayerData, *, name: str = "显著热点（Gi*）", **_: Any) -> folium.FeatureGroup:
    """Hexagons coloured by Gi* class; the tooltip gives class, count, z-score and compounds."""
    value = (("value", counted(data)),) if data.meta.get("per_households") else ()
    fields = (("class_label", "热点类别"), ("distinct", "去重诉求"), ("cases", "工单件数"),
              *value, ("z", "Gi* z 得分"), ("compounds_short", "所含小区"))
    return hexagons(data, name, _fill, fields)


def hexagons(data: LayerData, name: str, fill: Callable[[dict[str, Any]], dict[str, Any]],
             fields: Sequence[tuple[str, str]]) -> folium.FeatureGroup:
    """The hexagons of ``data`` styled by ``fill``, with a tooltip of (property, label)."""
    fg = folium.FeatureGroup(name=name, show=True)
    folium.GeoJson(
        data.geojson, name=name, style_function=fill,
        highlight_function=lambda _f: {"weight": 3, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(fields=[k for k, _v in fields],
                                      aliases=[v for _k, v in fields], style="font-size:16px;"),
    ).add_to(fg)
    return fg


def legend(data: LayerData, **_: Any) -> str:
    """Every class found (and "not significant") with its count and meaning; what confidence
    means."""
    counts = data.meta.get("classes", {})
    items = [(c.colour, f"{c.label}（{counts.get(c.key, 0)} 个）", c.explanation)
             for c in gistar.CLASSES if counts.get(c.key) or c.key == "not_significant"]
    title = f"显著热点（Gi*）：{data.meta.get('label', '')}，按{counted(data)}"
    return style.explained(title, items, NOTE)


LAYER = Layer("gistar", "显著热点（Gi*）", query, render, legend, follows_count=True,
              needs_all_cases=True)
