"""Map layers and dashboard queries against PostGIS (the demo test database).

Counts are checked against plain SQL over the same tables; payloads must stay
bounded by areas, hexagons or capped points, never by the number of cases.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geo import sheets
from layers import hotspot, registry, stats, worklist
from layers.filters import Filters
from tests.conftest import AS_OF, scalar

F = Filters.year_to(AS_OF)
PERIOD = "received_at >= :a AND received_at < :b"
PARAMS = {"a": F.params()["f_start"], "b": F.params()["f_end"], "t": F.params()["f_as_of"]}
OPEN = "status IN ('received', 'in_progress', 'reopened')"


def q(demo: Engine, key: str, f: Filters = F):  # type: ignore[no-untyped-def]
    with demo.connect() as con:
        return registry.get(key).query(con, f)


@pytest.fixture(scope="module")
def busy_street(demo: Engine) -> str:
    return str(scalar(demo, "SELECT street_code FROM compounds WHERE is_sanwu "
                            "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"))


def test_street_areas_count_every_case_once(demo: Engine) -> None:
    data = q(demo, "street_areas")
    assert len(data) == scalar(demo, "SELECT count(*) FROM streets")
    props = [ft["properties"] for ft in data.features]
    assert sum(p["received"] for p in props) == scalar(
        demo, f"SELECT count(*) FROM cases WHERE {PERIOD} AND street_code IS NOT NULL", **PARAMS)
    assert sum(p["pending"] for p in props) == scalar(
        demo, f"SELECT count(*) FROM cases WHERE {PERIOD} AND {OPEN} "
              "AND street_code IS NOT NULL", **PARAMS)
    assert sum(p["overdue"] for p in props) == scalar(
        demo, f"SELECT count(*) FROM cases WHERE {PERIOD} AND {OPEN} AND due_at < :t "
              "AND street_code IS NOT NULL", **PARAMS)
    assert sum(p["overdue"] for p in props) > 0
    assert all(p["closure_rate"] is None or 0 <= p["closure_rate"] <= 100 for p in props)


def test_coordinates_are_rounded_and_payload_small(demo: Engine) -> None:
    data = q(demo, "street_areas")
    text = json.dumps(data.geojson)
    assert not re.search(r"\d+\.\d{6,}", text), "coordinates must be rounded to 5 decimals"
    assert data.payload_bytes() < 150_000


def test_filters_narrow_the_counts(demo: Engine) -> None:
    f = F.with_(channels=("petition",), statuses=("in_progress",))
    data = q(demo, "street_areas", f)
    assert sum(ft["properties"]["received"] for ft in data.features) == scalar(
        demo, f"SELECT count(*) FROM cases WHERE {PERIOD} AND channel = 'petition' "
              "AND status = 'in_progress' AND street_code IS NOT NULL", **PARAMS)
    themed = F.with_(themes=("fire",))
    with demo.connect() as con:
        h = stats.headline(con, themed)
    assert h["received"] == scalar(
        demo, f"SELECT count(*) FROM cases WHERE {PERIOD} AND category_code IN "
              "(SELECT code FROM categories WHERE theme = 'fire')", **PARAMS)


def test_heat_hexagons_hold_every_located_case_and_stay_bounded(demo: Engine) -> None:
    data = q(demo, "heat")
    total = sum(ft["properties"]["n"] for ft in data.features)
    assert total == scalar(demo, f"SELECT count(*) FROM cases WHERE {PERIOD} AND geom IS NOT NULL",
                           **PARAMS)
    # one feature per occupied hexagon: far fewer than cases
    assert 0 < len(data) < total / 5
    assert data.payload_bytes() < 400_000


def test_pending_cases_are_capped_most_overdue_first(demo: Engine, busy_street: str) -> None:
    f = F.area(busy_street)
    from layers import pending_cases

    with demo.connect() as con:
        data = pending_cases.query(con, f, cap=10)
    expected = scalar(demo, f"SELECT count(*) FROM cases c LEFT JOIN compounds x "
                            f"ON x.id = c.compound_id WHERE {PERIOD} AND {OPEN} "
                            "AND c.street_code = :s AND (c.geom IS NOT NULL OR x.id IS NOT NULL)",
                      s=busy_street, **PARAMS)
    assert data.meta["total"] == expected > 10
    assert data.meta["shown"] == len(data) == 10
    days = [ft["properties"]["overdue_days"] for ft in data.features]
    assert days == sorted(days, reverse=True)
    assert not any("content" in ft["properties"] for ft in data.features)


def test_drilldown_layers_match_the_register(demo: Engine, busy_street: str) -> None:
    f = F.area(busy_street)
    compounds = q(demo, "compounds", f)
    assert len(compounds) == scalar(demo, "SELECT count(*) FROM compounds WHERE street_code = :s",
                                    s=busy_street)
    assert sum(ft["properties"]["sanwu"] for ft in compounds.features) == scalar(
        demo, "SELECT count(*) FROM compounds WHERE street_code = :s AND is_sanwu", s=busy_street)
    assert len(q(demo, "communities", f)) == scalar(
        demo, "SELECT count(*) FROM communities WHERE street_code = :s", s=busy_street)
    assert len(q(demo, "compounds", F)) == 0, "compounds need an area"
    assert len(q(demo, "sanwu")) == scalar(demo, "SELECT count(*) FROM compounds WHERE is_sanwu")
    assert len(q(demo, "hazards")) == scalar(
        demo, "SELECT count(*) FROM hazards WHERE status <> 'closed' AND found_on <= :d", d=AS_OF)
    assert len(q(demo, "firm_coverage")) == scalar(
        demo, "SELECT count(*) FROM compounds WHERE firm_id IS NOT NULL")


def test_every_layer_renders_without_any_outside_url(demo: Engine, busy_street: str) -> None:
    from dashboard import map as pmap

    f = F.area(busy_street)
    drawn: list[tuple[Any, Any, dict[str, Any]]] = [
        (layer, q(demo, key, f), {}) for key, layer in registry.REGISTRY.items()]
    m, legend = pmap.draw(drawn, bounds=pmap.bounds_of(drawn[0][1].features))
    html = m.get_root().render()
    assert "/app/static/vendor/leaflet/leaflet.js" in html
    assert not re.search(r"(src|href)=\"https?://", html), "no script or style from a CDN"
    # and what the component loads in the browser, as rendered once for every session
    view, _legend = pmap.build(drawn, bounds=pmap.bounds_of(drawn[0][1].features))
    assert view.js_links and all(u.startswith("/app/static/") for u in view.js_links)
    assert all(u.startswith("/app/static/") for u in view.css_links)
    for key in registry.REGISTRY:
        assert registry.get(key).label
    assert "pm-legend" in legend


def test_headline_trend_and_firms_agree_with_sql(demo: Engine) -> None:
    with demo.connect() as con:
        h = stats.headline(con, F)
        trend = stats.weekly_trend(con, F)
        firms = stats.firm_table(con, F)
    assert h["received"] == scalar(demo, f"SELECT count(*) FROM cases WHERE {PERIOD}", **PARAMS)
    assert sum(h[f"level_{k}"] for k in ("community", "street", "city")) == h["received"]
    assert int(trend["received"].sum()) == h["received"]
    assert int(firms["服务小区"].sum()) == scalar(
        demo, "SELECT count(*) FROM compounds WHERE firm_id IS NOT NULL")


def test_worklist_ranks_by_the_documented_score(demo: Engine, busy_street: str) -> None:
    with demo.connect() as con:
        ranked = worklist.query(con, F.area(busy_street))
    assert len(ranked) == scalar(demo, "SELECT count(*) FROM compounds WHERE street_code = :s "
                                       "AND (is_sanwu OR is_old)", s=busy_street)
    assert ranked["score"].is_monotonic_decreasing
    r = ranked.iloc[0]
    by_hand = (10 * min(r.cases_per_100, 10) + 8 * r.open_hazards + 8 * r.overdue_hazards
               + 5 * min(r.overdue_cases, 10) + 0.5 * min(r.age, 50) + min(r.households / 50, 20)
               + 20 * r.is_sanwu + 10 * (r.is_sanwu and r.management_mode != "street_custody"))
    assert r.score == pytest.approx(by_hand, abs=0.06)
    table = worklist.table(ranked)
    assert list(table.columns) == list(worklist.HEADERS.values())


def test_xlsx_opens_with_chinese_headers(demo: Engine, busy_street: str) -> None:
    import io

    from openpyxl import load_workbook

    with demo.connect() as con:
        table = worklist.table(worklist.query(con, F.area(busy_street)))
    wb = load_workbook(io.BytesIO(sheets.workbook([("清单", table)], ["说明一行"])))
    assert [c.value for c in wb["清单"][1]] == list(table.columns)
    assert wb["清单"].max_row == len(table) + 1
    assert wb["说明"]["A1"].value == "说明一行"


def test_the_open_hazards_of_a_hotspot_theme(demo: Engine) -> None:
    with demo.connect() as con:
        fire = hotspot.open_hazards(con, F, "fire")
        every = hotspot.open_hazards(con, F, "all")
    assert len(fire) == scalar(demo, "SELECT count(*) FROM hazards WHERE theme = 'fire' "
                                     "AND status <> 'closed' AND found_on <= :d", d=AS_OF)
    assert len(every) == scalar(demo, "SELECT count(*) FROM hazards WHERE status <> 'closed' "
                                      "AND found_on <= :d", d=AS_OF)
    assert set(fire["theme"]) == {"fire"} and set(every["theme"]) == {"fire", "elevator",
                                                                      "security"}
    assert fire["overdue"].sum() == scalar(
        demo, "SELECT count(*) FROM hazards WHERE theme = 'fire' AND status <> 'closed' "
              "AND found_on <= :d AND due_on < :d", d=AS_OF) > 0
    assert (fire["overdue"] == (fire["overdue_days"] > 0)).all()
    shown = hotspot.table(fire)
    assert list(shown.columns) == list(hotspot.TABLE_COLUMNS.values())
    assert shown["超期天数"].is_monotonic_decreasing and shown["隐患编号"].is_unique
    assert set(shown["隐患类别"]) == {"消防安全"}


def test_compound_card_never_reads_personal_data(demo: Engine) -> None:
    cid = scalar(demo, "SELECT compound_id FROM cases WHERE compound_id IS NOT NULL LIMIT 1")
    with demo.connect() as con:
        card = stats.compound_card(con, int(cid), F)
    assert card is not None and card["id"] == cid
    cols = set(card["cases"].columns)
    assert not cols & {"name", "phone", "姓名", "电话", "content", "内容"}
    with demo.connect() as con:
        assert stats.compound_card(con, -1, F) is None


def test_statement_timeout_applies(demo: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from layers.base import set_timeout

    monkeypatch.setenv("PROPMAP_STATEMENT_TIMEOUT_MS", "1234")
    with demo.connect() as con:
        set_timeout(con)
        assert con.execute(sa.text("SHOW statement_timeout")).scalar() == "1234ms"
