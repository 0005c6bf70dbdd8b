"""Dispute density on hexagons: counted in PostGIS, binned to H3 in Python.

Cases at a compound (nine in ten) are counted per compound by the shared facts
(:mod:`layers.facts`) and placed at the compound's point on surface; the rest
of the located cases are counted in PostGIS per square cell of ``grid_deg``
degrees (a GROUP BY on rounded coordinates over the partial index of cases
outside compounds). The thousand-odd compound points and occupied cells are
summed into H3 hexagons. At 1,000,000 cases this reads the big table once
(shared with the other layers) instead of decoding a million geometries; the
payload is bounded by the number of occupied hexagons, not by the number of
cases. A compound straddling two hexagons counts wholly in one of them.

With ``Filters.distinct`` (the dashboard's default, the sidebar's 计数 switch) the
hexagons count distinct complaints: one complaint reported through 12345, the
mayor's mailbox and a petition counts once. The compounds' counts then come
from the ``distinct`` measure of the same shared facts, so switching costs no
second pass over the cases.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import folium
import h3
import pandas as pd
import sqlalchemy as sa

from layers import facts, style
from layers.base import COORD_DECIMALS, Layer, LayerData, collection, frame
from layers.filters import Filters

#: H3 resolution of the overview heat layer (≈ 0.74 km² per hexagon) and its grid.
RESOLUTION = 8
GRID_DEG = {7: 0.002, 8: 0.001, 9: 0.0005, 10: 0.0002}

LOOSE_GRID_SQL = """
SELECT round(ST_X(c.geom) / :g)::bigint AS gx, round(ST_Y(c.geom) / :g)::bigint AS gy,
       count(*) AS n
FROM cases c WHERE {where} AND c.compound_id IS NULL AND c.geom IS NOT NULL
GROUP BY 1, 2
"""
COMPOUND_POINTS_SQL = """
WITH {counts}
SELECT round(ST_X(p)::numeric, 5)::float AS lon, round(ST_Y(p)::numeric, 5)::float AS lat,
       k."{measure}" AS n
FROM k JOIN compounds x ON x.id = k.compound_id CROSS JOIN LATERAL ST_PointOnSurface(x.geom) p
WHERE k."{measure}" > 0
"""


def grid_counts(con: sa.Connection, sql: str, params: Mapping[str, Any],
                grid_deg: float) -> pd.DataFrame:
    """Run a grid query returning ``gx, gy, n``; returns cell centres ``lon, lat, n``."""
    df = frame(con, sql, {**params, "g": grid_deg})
    if df.empty:
        return pd.DataFrame({"lon": [], "lat": [], "n": []})
    return pd.DataFrame({"lon": df["gx"].astype(float) * grid_deg,
                         "lat": df["gy"].astype(float) * grid_deg, "n": df["n"].astype(int)})


def to_hexagons(points: pd.DataFrame, resolution: int, column: str = "n") -> dict[str, int]:
    """Sum ``column`` of points (``lon``, ``lat``) into H3 cells."""
    out: dict[str, int] = defaultdict(int)
    for lon, lat, n in zip(points["lon"], points["lat"], points[column], strict=True):
        out[h3.latlng_to_cell(float(lat), float(lon), resolution)] += int(n)
    return dict(out)


def hexagon_feature(cell: str, props: Mapping[str, Any]) -> dict[str, Any]:
    """A GeoJSON polygon for an H3 cell, coordinates rounded."""
    ring = [[round(lng, COORD_DECIMALS), round(lat, COORD_DECIMALS)]
            for lat, lng in h3.cell_to_boundary(cell)]
    ring.append(ring[0])
    return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {"cell": cell, **props}}


def case_points(con: sa.Connection, f: Filters, grid_deg: float) -> pd.DataFrame:
    """Weighted points ``lon, lat, n`` for the located cases matching ``f``.

    Compounds carry their cases; cases outside every compound come as grid cells.
    With ``f.distinct``, distinct complaints (the facts' ``distinct`` measure).
    """
    measure = "distinct" if f.distinct else "received"
    counts, params = facts.cte(con, f.with_(distinct=False), "compound_id", measures=(measure,))
    at_compounds = frame(con, COMPOUND_POINTS_SQL.format(counts=counts, measure=measure), params)
    loose = grid_counts(con, LOOSE_GRID_SQL.format(where=f.case_where("c")), f.params(),
                        grid_deg)
    return pd.concat([at_compounds.astype({"n": int}), loose], ignore_index=True)


def query(con: sa.Connection, f: Filters) -> LayerData:
    """Hexagons with the number of cases (distinct complaints with ``f.distinct``) in each."""
    pts = case_points(con, f, GRID_DEG[RESOLUTION])
    cells = to_hexagons(pts, RESOLUTION)
    feats = [hexagon_feature(c, {"n": n}) for c, n in sorted(cells.items())]
    return LayerData(collection(feats), {"cases": int(pts["n"].sum()) if len(pts) else 0,
                                         "distinct": f.distinct})


def unit(data: LayerData) -> str:
    """What the hexagons count, in Chinese."""
    return "去重诉求" if data.meta.get("distinct") else "工单件数"


def render(data: LayerData, *, name: str = "诉求热力",
           fields: tuple[tuple[str, str], ...] | None = None, **_: Any) -> folium.FeatureGroup:
    fields = fields or (("n", unit(data)),)
    bounds = style.quantile_breaks([ft["properties"]["n"] for ft in data.features])
    for ft in data.features:
        ft["properties"]["fill"] = style.classify(ft["properties"]["n"], bounds)
    fg = folium.FeatureGroup(name=name, show=True)
    folium.GeoJson(
        data.geojson, name="heat",
        style_function=lambda feat: {"fillColor": feat["properties"]["fill"], "fillOpacity": 0.8,
                                     "color": "#7f0000", "weight": 0.6},
        tooltip=folium.GeoJsonTooltip(fields=[k for k, _v in fields],
                                      aliases=[v for _k, v in fields], style="font-size:16px;"),
    ).add_to(fg)
    return fg


def legend(data: LayerData, *, title: str | None = None, **_: Any) -> str:
    bounds = style.quantile_breaks([ft["properties"]["n"] for ft in data.features])
    return style.class_legend(title or f"诉求密度（{unit(data)}/六边形，分位数分级）", bounds,
                              counts=True)


LAYER = Layer("heat", "诉求热力（六边形）", query, render, legend, follows_count=True)
