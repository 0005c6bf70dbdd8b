"""Time the dashboard's map builds (query + folium HTML) on the configured database.

    DATABASE_URL=... .venv/bin/python scripts/measure_dashboard.py [--runs 5]

Prints medians: city overview (every overview layer, headline figures and the
map HTML sent to the browser, with its size), one street's drill-down, the
hotspot aggregation.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from dashboard import map as pmap
from geo.db import make_engine
from layers import hotspot, registry, stats
from layers.filters import Filters


def _median(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    eng = make_engine()
    with eng.connect() as con:
        f = Filters.year_to(stats.data_as_of(con))
        n = con.execute(sa.text("SELECT count(*) FROM cases")).scalar()
        street = con.execute(sa.text("SELECT street_code FROM cases GROUP BY 1 "
                                     "ORDER BY count(*) DESC LIMIT 1")).scalar()

    def overview() -> int:
        with eng.connect() as con:
            drawn = [(registry.get(k), registry.get(k).query(con, f), {})
                     for k in ("street_areas", *registry.OVERVIEW_OPTIONAL)]
            stats.headline(con, f)
        m, _legend = pmap.build(drawn, bounds=pmap.bounds_of(drawn[0][1].features))
        return pmap.html_bytes(m)

    def drilldown() -> int:
        g = f.area(street)
        with eng.connect() as con:
            drawn = [(registry.get(k), registry.get(k).query(con, g), {})
                     for k in registry.DRILLDOWN]
        m, _legend = pmap.build(drawn, bounds=pmap.bounds_of(drawn[1][1].features))
        return pmap.html_bytes(m)

    def hot() -> None:
        with eng.connect() as con:
            hotspot.hexagons(con, f, "fire")

    ov_ms, ov_bytes = _median(overview, args.runs)
    dd_ms, dd_bytes = _median(drilldown, args.runs)
    hs_ms, _ = _median(hot, args.runs)
    print(f"cases {n:,}")
    print("| measure | median |\n| --- | --- |")
    print(f"| overview build (all layers + HTML) | {ov_ms:.0f} ms, {ov_bytes:,} bytes |")
    print(f"| street drill-down ({street}) | {dd_ms:.0f} ms, {dd_bytes:,} bytes |")
    print(f"| hotspot aggregation (fire) | {hs_ms:.0f} ms |")


if __name__ == "__main__":
    main()
