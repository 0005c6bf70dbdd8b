"""Pure parts of the layers and the map: no database, no browser."""

from __future__ import annotations

import datetime as dt

import pandas as pd

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
    assert g.params()["f_end"] == dt.datetime(2026, 7, 1)
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
        "overdue_hazards": [0, 0]})
    ranked = worklist.priority(df, 2026)
    assert list(ranked["id"]) == [2, 1]
    assert ranked.loc[0, "score"] - ranked.loc[1, "score"] == 28.0  # 三无 20 + hazard 8


def test_gcj02_tiles_shift_layers_once() -> None:
    gj = {"type": "FeatureCollection", "features": [
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
