"""Emerging hot spots: how each hexagon's hot or cold spot status changed over the period.

The space-time cube, the per-step Gi* and the Mann–Kendall trend are
:mod:`layers.hotspot_stats` and :mod:`layers.analysis.emerging`; this module
draws the pattern of each hexagon in ArcGIS's Emerging Hot Spot Analysis
colours (reds for hot patterns, blues for cold ones, the most urgent darkest)
with a legend giving each pattern present its meaning in plain Chinese. The
data are the same as the Gi* layer's (:mod:`layers.hotspot_gistar`), so a
page switching between the two reads them once.
"""

from __future__ import annotations

from typing import Any

import folium
import sqlalchemy as sa

from layers import hotspot_gistar, style
from layers.analysis import emerging
from layers.base import Layer, LayerData
from layers.filters import Filters

NOTE = ("把时段切成每周（或每月），逐段计算各六边形的 Gi* 热点，再用 Mann–Kendall "
        "检验看聚集程度是上升还是下降。按全部工单或去重诉求计数，不按住户数折算。")


def query(con: sa.Connection, f: Filters) -> LayerData:
    """Hexagons with their emerging pattern (the same data as the Gi* layer)."""
    return hotspot_gistar.query(con, f)


def _fill(feat: dict[str, Any]) -> dict[str, Any]:
    p = feat["properties"]
    pattern = emerging.BY_KEY.get(p["pattern"], emerging.BY_KEY["no_pattern"])
    found = pattern.key != "no_pattern"
    return {"fillColor": pattern.colour, "fillOpacity": 0.85 if found else 0.2,
            "color": "#5a0000" if pattern.key.endswith("_hot") else
                     "#0b2f6b" if pattern.key.endswith("_cold") else "#9a9a9a",
            "weight": 0.9 if found else 0.3}


def render(data: LayerData, *, name: str = "时空热点模式", **_: Any) -> folium.FeatureGroup:
    """Hexagons coloured by pattern; the tooltip gives pattern, Gi* class, counts, compounds."""
    fields = (("pattern_label", "时空模式"), ("class_label", "全时段热点类别"),
              ("distinct", "去重诉求"), ("cases", "工单件数"), ("compounds_short", "所含小区"))
    return hotspot_gistar.hexagons(data, name, _fill, fields)


def legend(data: LayerData, **_: Any) -> str:
    """Each pattern found (and "no pattern"), with its count and its meaning."""
    counts = data.meta.get("patterns", {})
    items = [(p.colour, f"{p.label}（{counts.get(p.key, 0)} 个）", p.explanation)
             for p in emerging.PATTERNS if counts.get(p.key) or p.key == "no_pattern"]
    title = (f"时空热点模式：{data.meta.get('label', '')}，"
             f"按{'去重诉求' if data.meta.get('distinct', True) else '工单件数'}")
    return style.explained(title, items, NOTE)


LAYER = Layer("emerging", "时空热点模式", query, render, legend, follows_count=True,
              needs_all_cases=True)
