"""Pure parts of the layers and the map: no database, no browser."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from dashboard import map as pmap
from layers import heat, style, worklist
from layers.filters import Filters


def test_filters_are_hashable_and_build_sql() -> None:
    f = Filters.year_to(dt.date(2026, 6, 30))
    assert hash(f) == hash(Filters.year_to(dt.date(2026, 6, 30)))
    assert f.start == dt.date(2025, 7, 1)
    assert "channel" not in f.case_where()
    g = f.with_(channels=("12345",), street="522601001000")
    assert "c.channel = ANY(:f_channels)" in g.case_where()
    assert "street_code" not in g.case_where(area=False)
    assert g.params()["f_end"] == dt.datetime(2026, 7, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert f != g


def test_class_breaks_and_colours() -> None:
    b = style.breaks([0, 3, 47])
    assert b == [10, 20, 30, 40, 50]
    assert style.classify(0, b) == style.SEQUENTIAL[0]
    assert style.classify(47, b) == style.SEQUENTIAL[-1]
    assert style.classify(None, b) == style.NO_DATA


def test_hexagons_sum_grid_counts() -> None:
    pts = pd.DataFrame({"lon": [107.98, 107.98, 108.2], "lat": [26.58, 26.58, 26.7],
                        "n": [3, 4, 5]})
    cells = heat.to_hexagons(pts, 8)
    assert sum(cells.values()) == 12 and len(cells) == 2
    ft = heat.hexagon_feature(next(iter(cells)), {"n": 1})
    ring = ft["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 7


def test_priority_puts_sanwu_with_open_hazards_first() -> None:
    df = pd.DataFrame({
        "id": [1, 2], "households": [200, 200], "cases": [2, 2], "build_year": [1990, 1990],
        "is_sanwu": [False, True], "overdue_cases": [0, 0], "open_hazards": [0, 1],
        "overdue_hazards": [0, 0], "management_mode": ["property_firm", "street_custody"]})
    ranked = worklist.priority(df, 2026)
    assert list(ranked["id"]) == [2, 1]
    assert ranked.loc[0, "score"] - ranked.loc[1, "score"] == 28.0  # 三无 20 + hazard 8
    # 三无 that nobody has taken over yet comes before: +10 (三无，未托管 is the work)
    ranked = worklist.priority(df.assign(management_mode=["property_firm", "none"]), 2026)
    assert ranked.loc[0, "score"] - ranked.loc[1, "score"] == 38.0


def test_gcj02_tiles_shift_layers_once() -> None:
    gj: dict[str, Any] = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {},
         "geometry": {"type": "Point", "coordinates": [107.98, 26.58]}}]}
    assert pmap.to_tile_datum(gj, "wgs84") is gj
    out = pmap.to_tile_datum(gj, "gcj02")
    x, y = out["features"][0]["geometry"]["coordinates"]
    assert gj["features"][0]["geometry"]["coordinates"] == [107.98, 26.58]
    assert 0.001 < abs(x - 107.98) + abs(y - 26.58) < 0.01  # a few hundred metres


def test_map_uses_only_local_leaflet() -> None:
    m = pmap.base_map(bounds=[[26.5, 107.9], [26.6, 108.0]])
    html = m.get_root().render()
    assert "/app/static/vendor/leaflet/leaflet.js" in html
    assert "cdn.jsdelivr" not in html and "code.jquery" not in html


def test_quantile_classes_spread_skewed_counts() -> None:
    counts = [1] * 40 + [2] * 30 + [3] * 15 + [5, 8, 13, 21, 40, 90] * 2
    b = style.quantile_breaks(counts)
    assert b[-1] == 90 and b == sorted(set(b))
    # equal intervals would put all but a handful in the palest class; quantiles do not
    palest = sum(style.classify(n, b) == style.SEQUENTIAL[0] for n in counts)
    assert palest < len(counts) * 0.6
    assert style.classify(90, b) == style.SEQUENTIAL[-1]  # fewer classes still end darkest
    legend = style.class_legend("密度", b, counts=True)
    assert f"≤{b[0]:.0f}" in legend and f"–{b[-1]:.0f}" in legend
    assert style.quantile_breaks([]) == [1.0]


def test_city_view_fits_the_street_offices_with_the_towns_around() -> None:
    def square(x: float, y: float, size: float, kind: str) -> dict[str, object]:
        ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
        return {"type": "Feature", "properties": {"street_kind": kind},
                "geometry": {"type": "Polygon", "coordinates": [ring]}}

    areas = [square(108.0, 26.5, 0.1, "street"), square(107.5, 26.0, 1.0, "town")]
    (s, w), (n, e) = pmap.city_bounds(areas, margin=0.2)  # type: ignore[misc]
    assert (s, w, n, e) == pytest.approx((26.48, 107.98, 26.62, 108.12))
    assert pmap.city_bounds([areas[1]]) == pmap.bounds_of([areas[1]])


def test_street_areas_are_labelled_and_the_selected_compound_ringed() -> None:
    from layers import compounds, street_areas
    from layers.base import LayerData

    ring = [[108.0, 26.5], [108.01, 26.5], [108.01, 26.51], [108.0, 26.51], [108.0, 26.5]]
    geom = {"type": "Polygon", "coordinates": [ring]}
    streets = LayerData({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": geom, "properties": {
            "kind": "street", "code": "1", "name": "湾溪街道", "street_kind": "street",
            "received": 1, "pending": 1, "overdue": 0}}]})
    m = pmap.base_map()
    street_areas.render(streets, measure="pending", label_px=20).add_to(m)
    html = m.get_root().render()
    name = json.dumps("湾溪街道")[1:-1]  # folium writes the label's HTML as a JS string
    assert name in html and "font-size:20px" in html and "pm-map-label" in html
    comps = LayerData({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": geom, "properties": {
            "kind": "compound", "id": 7, "name": "龙泉华庭", "mode": "none", "sanwu": True,
            "households": 56, "pending": 0, "overdue": 0}}]})
    plain = compounds.render(comps)._children
    ringed = compounds.render(comps, selected=7)._children
    assert len(ringed) == len(plain) + 2
