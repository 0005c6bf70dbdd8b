"""Markup or a template in any name never runs, in the real dashboard, in Chromium.

Names come from files nobody here controls. This plants an ``<img onerror>``
payload in every kind of name the map and the pages show (street, community,
compound, firm, case number, category, hazard description), opens every page,
hovers over the map's shapes so that every tooltip is built, and asserts that
the payload never ran, in the page or in the map's frame, and that the
markup is shown as text.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dashboard import harness
from dashboard.harness import CHROMIUM, CHROMIUM_ARGS, MAP_FRAME, block_outside, wait_for_map
from geo import auth
from tests.conftest import AS_OF, TEST_PASSWORD, scratch_database
from tests.test_browser import ARTIFACTS, TIMEOUT_MS, screenshot_on_failure

pytestmark = pytest.mark.browser

#: Markup; a template expression (folium's output is compiled again as a Jinja template,
#: layers/html.py, so ``{{ 7*7 }}`` would come out as ``49``); and, after a blank line, a
#: Markdown image and link (a blank line ends an HTML block in Streamlit's Markdown, and
#: the image would be fetched from outside: ``blocked`` would list it).
PAYLOAD = ("<img src=x onerror=\"window.top.__pwned=(window.top.__pwned||0)+1\">{{ 7*7 }}"
           "\n\n![b](http://beacon.example/b.png) [点此](http://beacon.example/login) $x^2$")

PLANT = [
    "UPDATE streets SET name = name || :p",
    "UPDATE communities SET name = name || :p",
    "UPDATE compounds SET name = name || :p",
    "UPDATE property_firms SET name = name || :p",
    "UPDATE cases SET case_no = case_no || :p",
    "UPDATE categories SET name = name || :p",
    "UPDATE hazards SET description = description || :p",
    "UPDATE cases SET content = content || :p, address = address || :p",
    # credit and party-building records are appended, never updated: plant new ones
    "INSERT INTO credit_events (subject, firm_id, kind, occurred_on, reason, doc_no, recorded_by) "
    "SELECT 'firm', min(id), 'penalty', '2026-06-01', '处罚' || :p, :p, 'tests' "
    "FROM property_firms",
    "INSERT INTO party_building (subject, firm_id, has_party_org, party_org_name, source, "
    "recorded_by) SELECT 'firm', min(id), true, :p, 'import', 'tests' FROM property_firms",
]


@pytest.fixture(scope="module")
def hostile() -> Iterator[tuple[Engine, str]]:
    from etl import demo as demo_mod

    with scratch_database("_hostile") as (eng, url):
        demo_mod.build(eng, seed=7, n_cases=2_000, as_of=AS_OF, say=lambda _m: None)
        with eng.begin() as con:
            for sql in PLANT:
                con.execute(sa.text(sql), {"p": PAYLOAD})
            auth.add_user(con, "t-leader", "leader", password=TEST_PASSWORD, must_change=False,
                          display_name=f"领导{PAYLOAD}", by="tests")
        ARTIFACTS.mkdir(exist_ok=True)
        with open(ARTIFACTS / "streamlit-hostile.log", "w") as log, \
                harness.running(url, log=log) as base:
            yield eng, base


@contextlib.contextmanager
def _browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _hover_shapes(pg, limit: int = 40) -> int:  # type: ignore[no-untyped-def]
    """Hover over up to ``limit`` visible shapes of the map, so their tooltips are built."""
    pg.locator(MAP_FRAME).first.scroll_into_view_if_needed()  # the mouse moves in the window
    box = pg.locator(MAP_FRAME).first.bounding_box()
    frame = next(f for f in pg.frames if f.query_selector("path.leaflet-interactive"))
    points = frame.evaluate(f"""() => [...document.querySelectorAll('path.leaflet-interactive')]
        .slice(0, {limit}).map(p => {{ const b = p.getBoundingClientRect();
            return [b.left + b.width / 2, b.top + b.height / 2]; }})""")
    for x, y in points:
        pg.mouse.move(box["x"] + x, box["y"] + y)
        pg.wait_for_timeout(30)
    return len(points)


#: The centre of the first hexagon whose compound names hold markup, in the map's frame.
HEXAGON_JS = """() => { const l = Object.values(window.map._layers).find(l => l.feature
    && l.feature.properties.cell && (l.feature.properties.compounds_short || '').includes('img'));
  if (!l) return null; const b = l._path.getBoundingClientRect();
  return [b.left + b.width / 2, b.top + b.height / 2]; }"""


def _hexagon_tooltip(pg) -> str:  # type: ignore[no-untyped-def]
    """Hover over a hot-spot hexagon holding a hostile compound name; its tooltip's text."""
    pg.locator(MAP_FRAME).first.scroll_into_view_if_needed()  # the mouse moves in the window
    box = pg.locator(MAP_FRAME).first.bounding_box()
    frame = next(f for f in pg.frames if f.query_selector("path.leaflet-interactive"))
    point = frame.evaluate(HEXAGON_JS)
    assert point, "no hexagon with a planted compound name"
    pg.mouse.move(box["x"] + point[0], box["y"] + point[1])
    tooltip = pg.frame_locator(MAP_FRAME).first.locator(".leaflet-tooltip").last
    tooltip.wait_for()
    return str(tooltip.inner_text())


def _pwned(pg) -> list[object]:  # type: ignore[no-untyped-def]
    return [f.evaluate("() => window.__pwned || null") for f in pg.frames]


def test_markup_in_every_name_is_shown_as_text_and_never_runs(
        hostile: tuple[Engine, str]) -> None:
    eng, base = hostile
    with eng.connect() as con:
        street = con.execute(sa.text(
            "SELECT street_code FROM compounds GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")).scalar()
        compound = con.execute(sa.text(
            "SELECT min(id) FROM compounds WHERE street_code = :s"), {"s": street}).scalar()
        firm = con.execute(sa.text("SELECT min(id) FROM property_firms")).scalar()
        case = con.execute(sa.text("SELECT min(id) FROM cases WHERE street_code = :s"),
                           {"s": street}).scalar()
    pages = ["", "drilldown", f"drilldown?street={street}",
             f"drilldown?street={street}&compound={compound}", f"worklist?street={street}",
             "hotspots", "firms", f"firms?firm={firm}", "coverage", "present", "credit",
             f"cases?case={case}", "progress"]
    with _browser() as browser:
        context = browser.new_context(viewport={"width": 1600, "height": 1000},  # type: ignore[attr-defined]
                                      locale="zh-CN")
        pg = context.new_page()
        pg.set_default_timeout(TIMEOUT_MS)
        blocked = block_outside(pg, base)
        harness.login(pg, base, "t-leader", TEST_PASSWORD, TIMEOUT_MS)
        hovered = 0
        for path in pages:
            with screenshot_on_failure(pg, f"hostile-{path.split('?')[0] or 'overview'}"):
                pg.goto(f"{base}/{path}")
                no_map = {"credit": "当前红黑榜", "cases": "共", "progress": "范围："}
                if path.split("?")[0] in no_map:  # no map: the lists, the card, the lines
                    pg.get_by_text(no_map[path.split("?")[0]]).first.wait_for()
                    if path.startswith("cases"):
                        pg.locator(".pm-case-title").first.wait_for()
                    pg.wait_for_timeout(500)
                    assert _pwned(pg) == [None] * len(pg.frames), path
                    continue
                wait_for_map(pg, TIMEOUT_MS)
                hovered += _hover_shapes(pg)
                pg.wait_for_timeout(300)
                assert _pwned(pg) == [None] * len(pg.frames), path
        # the hot-spot layers (Gi*, emerging, and Gi* on the overview): names as text
        for path, switch in (("hotspots", None), ("hotspots", "时空热点模式"),
                             ("", "显著热点（Gi*）")):
            with screenshot_on_failure(pg, f"hostile-hexagons-{switch or path}"):
                pg.goto(f"{base}/{path}")
                wait_for_map(pg, TIMEOUT_MS)
                if switch:
                    pg.get_by_text(switch, exact=True).first.click()
                    pg.locator(".pm-legend").filter(has_text=f"{switch}：").first.wait_for()
                    wait_for_map(pg, TIMEOUT_MS)
                hovered += _hover_shapes(pg)
                text = _hexagon_tooltip(pg)
                assert "<img src=x" in text and "{{ 7*7 }}" in text and "&lt;" not in text, text
                pg.wait_for_timeout(300)
                assert _pwned(pg) == [None] * len(pg.frames), (path, switch)
        # the names are there, as text: the map's labels and tooltips show the markup literally
        pg.goto(base)
        wait_for_map(pg, TIMEOUT_MS)
        labels = pg.frame_locator(MAP_FRAME).first.locator(".pm-map-label")
        assert "<img src=x" in labels.first.inner_text()
        assert "{{ 7*7 }}" in labels.first.inner_text() and "49" not in labels.first.inner_text()
        assert pg.frame_locator(MAP_FRAME).first.locator("img[src='x']").count() == 0
        # and in Streamlit's Markdown (a subheader, a button's label): as written, no backslash
        pg.goto(f"{base}/firms?firm={firm}")
        title = pg.get_by_role("heading").filter(has_text="企业档案").first.inner_text()
        assert "![b](http://beacon.example/b.png)" in title and "$x^2$" in title, title
        pg.goto(f"{base}/drilldown?street={street}&compound={compound}")
        crumb = pg.locator(".st-key-crumb-3 button").inner_text()
        assert "[点此](http://beacon.example/login)" in crumb and "\\" not in crumb, crumb
        context.close()  # type: ignore[attr-defined]
    assert hovered > 50
    assert blocked == [], blocked
