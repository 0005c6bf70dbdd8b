"""Communities (社区) of the area in view, outlined, with their pending cases."""

from __future__ import annotations

from typing import Any

import folium
import sqlalchemy as sa

from layers import facts, style
from layers.base import Layer, LayerData, features, simplified
from layers.filters import Filters

TOLERANCE = 0.0001

SQL = f"""
WITH {{counts}}
SELECT 'community' AS kind, m.id, m.name, m.street_code,
       coalesce(k.received, 0) AS received, coalesce(k.pending, 0) AS pending,
       coalesce(k.overdue, 0) AS overdue,
       {simplified("m.geom", TOLERANCE)} AS geometry
FROM communities m LEFT JOIN k ON k.community_id = m.id
WHERE (CAST(:f_street AS text) IS NULL OR m.street_code = :f_street)
ORDER BY m.id
"""


def query(con: sa.Connection, f: Filters) -> LayerData:
    """Communities of ``f.street`` (all when no street is chosen)."""
    counts, params = facts.cte(con, f.area(f.street), "community_id",
                               measures=("received", "pending", "overdue"))
    gj = features(con, SQL.format(counts=counts), {**f.params(), **params})
    return LayerData(gj, {"selected": f.community_id})


def render(data: LayerData, *, selected: int | None = None, **_: Any) -> folium.FeatureGroup:
    """Dashed community outlines; the ``selected`` one (default: the filtered one) solid."""
    selected = selected if selected is not None else data.meta.get("selected")
    fg = folium.FeatureGroup(name="社区", show=True)

    def _style(feat: dict[str, Any]) -> dict[str, Any]:
        sel = feat["properties"]["id"] == selected
        return {"fillColor": "#ffffff", "fillOpacity": 0.05,
                "color": "#000000" if sel else "#555555",
                "weight": 4 if sel else 1.5, "dashArray": None if sel else "6 4"}

    folium.GeoJson(
        data.geojson, name="communities", style_function=_style,
        highlight_function=lambda _f: {"weight": 3, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(fields=["name", "pending", "overdue"],
                                      aliases=["社区", "待办", "超期"], style="font-size:16px;"),
    ).add_to(fg)
    return fg


def legend(data: LayerData, **_: Any) -> str:
    return style.swatches("社区", [("#555555", "社区边界（虚线）")])


LAYER = Layer("communities", "社区", query, render, legend)
