"""Open hazards (fire, elevator, public order), coloured by theme; overdue ones ringed.

Capped at :data:`CAP` points, overdue first. The hazard themes shown follow
the theme filter when it names hazard themes, otherwise all three.
"""

from __future__ import annotations

from typing import Any

import folium
import sqlalchemy as sa

from geo import measures
from geo.models import HAZARD_STATUSES, HAZARD_THEMES
from layers import style
from layers.base import Layer, LayerData, as_geojson, features
from layers.filters import Filters

CAP = 1500

SQL = f"""
SELECT 'hazard' AS kind, h.id, h.theme, h.status, h.description, h.found_on, h.due_on,
       {measures.hazard_overdue("h")} AS overdue, x.name AS compound, count(*) OVER () AS total,
       {as_geojson("h.geom")} AS geometry
FROM hazards h LEFT JOIN compounds x ON x.id = h.compound_id
WHERE {measures.hazard_open("h")} AND h.found_on <= :f_as_of_day AND h.theme = ANY(:themes)
  AND (CAST(:f_street AS text) IS NULL OR x.street_code = :f_street)
  AND (CAST(:f_community AS integer) IS NULL OR x.community_id = :f_community)
ORDER BY h.due_on, h.id
LIMIT :cap
"""


def themes_of(f: Filters) -> list[str]:
    """Hazard themes selected by the theme filter (all when it names none)."""
    chosen = [t for t in f.themes if t in HAZARD_THEMES]
    return chosen or list(HAZARD_THEMES)


def query(con: sa.Connection, f: Filters) -> LayerData:
    gj = features(con, SQL, {**f.params(), "themes": themes_of(f), "cap": CAP})
    total = gj["features"][0]["properties"]["total"] if gj["features"] else 0
    for ft in gj["features"]:
        p = ft["properties"]
        p.pop("total")
        p["theme_label"] = HAZARD_THEMES[p["theme"]]
        p["status_label"] = HAZARD_STATUSES[p["status"]]
    return LayerData(gj, {"total": int(total), "shown": len(gj["features"])})


def render(data: LayerData, **_: Any) -> folium.FeatureGroup:
    fg = folium.FeatureGroup(name="隐患", show=True)

    def _style(feat: dict[str, Any]) -> dict[str, Any]:
        p = feat["properties"]
        return {"fillColor": style.THEME_COLORS[p["theme"]], "fillOpacity": 0.9,
                "color": "#000000" if p["overdue"] else "#ffffff",
                "weight": 3 if p["overdue"] else 1.5, "radius": 7}

    folium.GeoJson(
        data.geojson, name="hazards", marker=folium.CircleMarker(radius=7, fill=True),
        style_function=_style,
        tooltip=folium.GeoJsonTooltip(
            fields=["theme_label", "description", "status_label", "due_on", "compound"],
            aliases=["隐患类别", "描述", "状态", "整改期限", "小区"], style="font-size:15px;"),
    ).add_to(fg)
    return fg


def legend(data: LayerData, **_: Any) -> str:
    """The themes drawn (a page about one theme does not list the other two)."""
    shown = {ft["properties"]["theme"] for ft in data.features}
    items = [(c, f"{HAZARD_THEMES[k]}隐患") for k, c in style.THEME_COLORS.items() if k in shown]
    return style.swatches("未整改隐患（黑圈：超期）", items, shape="dot")


LAYER = Layer("hazards", "未整改隐患", query, render, legend)
