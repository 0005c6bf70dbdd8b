"""隐患热点 and the heat layer in headless Chromium, logged in as the fire brigade and a leader.

The real dashboard (``streamlit run``) on the demo test database, every request to
another host blocked: the page shows the hot-spot classes with their Chinese legend,
the inspection list downloads as xlsx with Chinese headers and exactly the rows
:func:`layers.hotspot_stats.inspection` gives the table owner (both accounts read every
fire case), and the overview's heat hexagons add up to the distinct complaints counted
in SQL, or to the cases when the sidebar says so.
"""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy.engine import Engine

from dashboard import harness
from dashboard.harness import block_outside, wait_for_map
from geo import measures
from layers import hotspot_stats
from layers.analysis import emerging, gistar
from layers.filters import Filters
from tests.conftest import AS_OF, TEST_PASSWORD, scalar
from tests.test_browser import TIMEOUT_MS, screenshot_on_failure

pytestmark = pytest.mark.browser

#: The page's filters as a fresh session has them: the last year, distinct complaints.
FIRE = Filters.year_to(AS_OF).with_(themes=("fire",), distinct=True)

#: The features of the map's GeoJSON layers, read from Leaflet in the map's frame.
FEATURES_JS = """() => Object.values(window.map._layers)
    .filter(l => l.feature && l.feature.properties)
    .map(l => l.feature.properties)"""



def _page(browser: Any, server: str, name: str) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN",
                                  accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    blocked = block_outside(pg, server)
    harness.login(pg, server, name, TEST_PASSWORD, TIMEOUT_MS)
    return context, pg, blocked


def _map_frame(pg: Any) -> Any:
    return next(f for f in pg.frames if f.query_selector("path.leaflet-interactive"))


def _download(pg: Any, label: str) -> tuple[bytes, str]:
    button = pg.get_by_role("button", name=label)
    button.wait_for(timeout=TIMEOUT_MS)
    with pg.expect_download(timeout=TIMEOUT_MS) as info:
        button.click()
    return Path(info.value.path()).read_bytes(), info.value.suggested_filename


def _rows(ws: Any) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in ws.iter_rows(min_row=2, values_only=True)]


def _expected_rows(df: Any) -> list[tuple[Any, ...]]:
    """``df``'s rows as an xlsx gives them back: empty cells as None, floats to 15 digits."""
    def cell(v: Any) -> Any:
        if v is None or v != v or v == "":
            return None
        return pytest.approx(v, rel=1e-14) if isinstance(v, float) else v
    return [tuple(cell(v) for v in r) for r in df.itertuples(index=False)]


@pytest.mark.parametrize("kind", ["dept", "leader"])
def test_hotspots_page_shows_classes_and_downloads_the_inspection_list(
        browser: Any, server: str, demo: Engine, accounts: dict[str, str], kind: str) -> None:
    with demo.connect() as con:
        owner = hotspot_stats.gistar_cells(con, FIRE, "fire")
        cells, compounds = hotspot_stats.inspection(con, FIRE, "fire")
    context, pg, blocked = _page(browser, server, accounts[kind])
    with screenshot_on_failure(pg, f"hotspots-{kind}"):
        pg.goto(f"{server}/hotspots")
        wait_for_map(pg, TIMEOUT_MS)
        legend = pg.locator(".pm-legend").filter(has_text="显著热点（Gi*）").first
        legend.wait_for()
        text = legend.inner_text()
        for c in gistar.CLASSES:
            n = int((owner["class"] == c.key).sum())
            if n:
                assert f"{c.label}（{n} 个）" in text and c.explanation in text, c.key
        assert "置信度：99% 表示这样的聚集纯属偶然的可能性不到 1%" in text
        # the hexagons on the map carry the owner's classes, one per analysed cell
        props = [p for p in _map_frame(pg).evaluate(FEATURES_JS) if "class" in p]
        assert sorted(p["cell"] for p in props) == sorted(owner["cell"])
        by_cell = dict(zip(owner["cell"], owner["class"], strict=True))
        assert all(by_cell[p["cell"]] == p["class"] for p in props)
        themes = pg.locator(".st-key-hs_theme button").all_inner_texts()
        assert ("全部诉求" in themes) == (kind == "leader")
        data, name = _download(pg, "下载排查清单（Excel）")
    wb = load_workbook(io.BytesIO(data))
    assert name == "消防安全排查清单.xlsx"
    assert wb.sheetnames == ["重点六边形", "重点小区", "说明"]
    for sheet, df in (("重点六边形", cells), ("重点小区", compounds)):
        ws = wb[sheet]
        assert [c.value for c in ws[1]] == list(df.columns)
        assert all(any("\u4e00" <= ch <= "\u9fff" for ch in str(h)) for h in df.columns)
        got = _rows(ws)
        assert len(got) == len(df) > 0
        assert got == _expected_rows(df), sheet
    notes = "\n".join(str(r[0]) for r in wb["说明"].iter_rows(values_only=True))
    assert "排查优先分 = 热点类别分" in notes and "演示数据（合成）" in notes
    assert scalar(demo, "SELECT count(*) FROM audit_log WHERE account = :a AND event = 'download' "
                        "AND detail->>'what' = 'inspection'", a=accounts[kind])  # type: ignore[operator]
    context.close()
    assert blocked == [], blocked


def test_every_class_and_pattern_downloads_with_the_compounds_of_its_hexagon(
        browser: Any, server: str, demo: Engine, accounts: dict[str, str]) -> None:
    """Issue 10: each class (cold ones too) is in a downloadable list, with each cell's
    compounds; the list is what the owner computes, row for row."""
    with demo.connect() as con:
        every = hotspot_stats.cells(con, FIRE, "fire")
    expected = hotspot_stats.classified(every)
    context, pg, blocked = _page(browser, server, accounts["dept"])
    with screenshot_on_failure(pg, "hotspots-classified"):
        pg.goto(f"{server}/hotspots")
        wait_for_map(pg, TIMEOUT_MS)
        data, name = _download(pg, "下载全部热点、冷点与时空模式（Excel）")
    wb = load_workbook(io.BytesIO(data))
    assert name == "消防安全热点与时空模式.xlsx"
    assert wb.sheetnames == ["热点与时空模式", "图例", "说明"]
    ws = wb["热点与时空模式"]
    assert [c.value for c in ws[1]] == list(expected.columns)
    got = _rows(ws)
    assert got == _expected_rows(expected)
    classes = {c.key: c.label for c in gistar.CLASSES}
    found = {classes[k] for k in set(every["class"]) - {"not_significant"}}
    patterns = {p.key: p.label for p in emerging.PATTERNS}
    found_p = {patterns[k] for k in set(every["pattern"].dropna()) - {"no_pattern"}}
    assert {r[9] for r in got} - {"不显著"} == found != set()
    assert {r[10] for r in got} - {"无明显模式", None} == found_p != set()
    assert any(r[16] for r in got)  # the compounds in each hexagon (as computed, row for row)
    assert len(got) == int(((every["class"] != "not_significant")
                            | every["pattern"].notna() & (every["pattern"] != "no_pattern")).sum())
    assert scalar(demo, "SELECT count(*) FROM audit_log WHERE account = :a AND event = 'download' "
                        "AND detail->>'what' = 'hotspot_classes'", a=accounts["dept"])  # type: ignore[operator]
    context.close()
    assert blocked == [], blocked


def test_open_hazards_download_has_every_open_fire_hazard(
        browser: Any, server: str, demo: Engine, accounts: dict[str, str]) -> None:
    context, pg, blocked = _page(browser, server, accounts["dept"])
    with screenshot_on_failure(pg, "hotspots-hazards"):
        pg.goto(f"{server}/hotspots")
        data, name = _download(pg, "下载未整改隐患清单（Excel）")
    ws = load_workbook(io.BytesIO(data))["未整改隐患"]
    assert name == "消防安全未整改隐患.xlsx"
    assert "小区" in [c.value for c in ws[1]]
    assert ws.max_row - 1 == scalar(demo, "SELECT count(*) FROM hazards WHERE theme = 'fire' "
                                          "AND status <> 'closed' AND found_on <= :d", d=AS_OF)
    context.close()
    assert blocked == [], blocked


def test_heat_hexagons_add_up_to_distinct_complaints_then_cases(
        browser: Any, server: str, demo: Engine, accounts: dict[str, str]) -> None:
    f = Filters.year_to(AS_OF)

    def count(where: str) -> int:
        with demo.connect() as con:
            return int(con.execute(sa.text(
                f"SELECT count(*) FROM cases c WHERE {f.case_where('c')} AND {where}"),
                f.params()).scalar_one())

    distinct = count(f"c.geom IS NOT NULL AND {measures.is_distinct('c')}")
    cases = count("c.geom IS NOT NULL")
    assert distinct < cases

    def heat_total(pg: Any, before: int | None = None) -> int:
        """The hexagons' total once the map shows heat (and, with ``before``, a new total)."""
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while True:
            totals = []
            for frame in pg.frames:
                try:  # a frame may be replaced while it is read (the map remounts)
                    props = frame.evaluate(f"() => window.map ? ({FEATURES_JS})() : []")
                except PlaywrightError:
                    continue
                totals.append(sum(int(p["n"]) for p in props if "n" in p and "cell" in p))
            total = next((t for t in totals if t and t != before), None)
            if total is not None:
                return total
            assert time.monotonic() < deadline, f"no heat on the map (totals {totals})"
            pg.wait_for_timeout(250)

    context, pg, blocked = _page(browser, server, accounts["leader"])
    with screenshot_on_failure(pg, "heat-distinct"):
        pg.goto(server)
        wait_for_map(pg, TIMEOUT_MS)
        pg.get_by_role("button", name="诉求热力（六边形）").click()
        first = heat_total(pg)
        assert first == distinct
        assert pg.locator(".pm-legend").filter(has_text="去重诉求/六边形").first.is_visible()
        pg.get_by_text("全部工单", exact=True).click()
        pg.wait_for_url("**count=cases*", timeout=TIMEOUT_MS)
        pg.locator(".pm-legend").filter(has_text="工单件数/六边形").first.wait_for()
        assert heat_total(pg, before=first) == cases
        # the headline figures count cases whichever way the heat counts
        tile = pg.locator(".pm-kpi").filter(has_text="受理（件）").locator(".v")
        assert tile.first.inner_text() == f"{count('TRUE'):,}"
    context.close()
    assert blocked == [], blocked
