"""Hotspots of one theme (fire, elevators, public order and noise) for the fire brigade and police.

Cases of the theme in the period and hazards of the theme found in the period
are counted per grid cell in PostGIS and summed into H3 hexagons (resolution
8, ≈ 0.7 km², legible at city zoom); the top compounds and the open hazards (overdue first) come
with them.
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from geo import measures
from geo.models import HAZARD_STATUSES, HAZARD_THEMES
from layers import facts
from layers.base import LayerData, collection, frame
from layers.filters import HOTSPOT_THEMES, Filters
from layers.heat import GRID_DEG, case_points, grid_counts, hexagon_feature, to_hexagons

RESOLUTION = 8

HAZARD_GRID_SQL = """
SELECT round(ST_X(h.geom) / :g)::bigint AS gx, round(ST_Y(h.geom) / :g)::bigint AS gy,
       count(*) AS n
FROM hazards h JOIN compounds x ON x.id = h.compound_id
WHERE h.theme = :theme AND h.found_on BETWEEN :f_start_day AND :f_as_of_day
  AND (CAST(:f_street AS text) IS NULL OR x.street_code = :f_street)
GROUP BY 1, 2
"""


def themed(f: Filters, theme: str) -> Filters:
    """``f`` narrowed to the dispute categories of hotspot ``theme``."""
    return f.with_(themes=HOTSPOT_THEMES[theme])


def _params(f: Filters, theme: str) -> dict[str, object]:
    themes = list(HOTSPOT_THEMES) if theme == "all" else [theme]
    return {**f.params(), "theme": theme, "themes": themes, "f_start_day": f.start}


def hexagons(con: sa.Connection, f: Filters, theme: str) -> LayerData:
    """Hexagons with ``cases``, ``hazards`` and ``n`` (their sum) for ``theme``."""
    p = _params(f, theme)
    g = GRID_DEG[RESOLUTION]
    cases = to_hexagons(case_points(con, themed(f, theme), g), RESOLUTION)
    hazards = to_hexagons(grid_counts(con, HAZARD_GRID_SQL, p, g), RESOLUTION)
    feats = []
    for cell in sorted(set(cases) | set(hazards)):
        a, b = cases.get(cell, 0), hazards.get(cell, 0)
        feats.append(hexagon_feature(cell, {"cases": a, "hazards": b, "n": a + b}))
    return LayerData(collection(feats), {"cases": sum(cases.values()),
                                         "hazards": sum(hazards.values())})


def top_compounds(con: sa.Connection, f: Filters, theme: str, n: int = 15) -> pd.DataFrame:
    """Compounds with the most cases and hazards of ``theme`` (repeat locations)."""
    counts, params = facts.cte(con, themed(f, theme), "compound_id", measures=("received",))
    return frame(con, f"""
        WITH {counts}, z AS (
            SELECT compound_id,
                   count(*) FILTER (WHERE {measures.hazard_open("hazards")}) AS open_hazards,
                   count(*) FILTER (WHERE {measures.hazard_overdue("hazards")})
                       AS overdue_hazards
            FROM hazards WHERE theme = :theme AND found_on <= :f_as_of_day GROUP BY 1
        )
        SELECT x.name AS "小区", s.name AS "街道/镇", coalesce(k.received, 0) AS "期内诉求",
               coalesce(z.open_hazards, 0) AS "未整改隐患",
               coalesce(z.overdue_hazards, 0) AS "超期隐患"
        FROM compounds x JOIN streets s ON s.code = x.street_code
        LEFT JOIN k ON k.compound_id = x.id LEFT JOIN z ON z.compound_id = x.id
        WHERE (k.received > 0 OR z.open_hazards > 0)
          AND (CAST(:f_street AS text) IS NULL OR x.street_code = :f_street)
        ORDER BY coalesce(k.received, 0) + 2 * coalesce(z.open_hazards, 0) DESC, x.name
        LIMIT :n
    """, {**_params(f, theme), **params, "n": n})


def open_hazards(con: sa.Connection, f: Filters, theme: str) -> pd.DataFrame:
    """Hazards of ``theme`` (``all``: every hazard theme) not yet fixed, most overdue first."""
    df = frame(con, f"""
        SELECT x.name AS compound, s.name AS street, h.theme, h.description, h.found_on,
               h.due_on, h.status,
               greatest(0, CAST(:f_as_of_day AS date) - h.due_on) AS overdue_days
        FROM hazards h JOIN compounds x ON x.id = h.compound_id
        JOIN streets s ON s.code = x.street_code
        WHERE h.theme = ANY(:themes) AND {measures.hazard_open("h")} AND h.found_on <= :f_as_of_day
          AND (CAST(:f_street AS text) IS NULL OR x.street_code = :f_street)
        ORDER BY h.due_on, x.name
    """, _params(f, theme))
    df["status"] = df["status"].map(HAZARD_STATUSES)
    df["theme"] = df["theme"].map(HAZARD_THEMES)
    return df.rename(columns={"compound": "小区", "street": "街道/镇", "theme": "隐患类别",
                              "description": "隐患描述",
                              "found_on": "发现日期", "due_on": "整改期限", "status": "状态",
                              "overdue_days": "超期天数"})
