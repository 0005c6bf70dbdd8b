"""The joint meeting in headless Chromium: rankings, presets, the agenda, printing, clicks.

The real dashboard on the demo test database, offline; a deputy mayor's and a
projector's screen sizes. Figures on screen are compared with the layer
functions the pages call, run here as the table owner.
"""

from __future__ import annotations

import contextlib
import io
import re
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from dashboard import harness
from dashboard.harness import MAP_FRAME, block_outside, wait_for_map
from geo import periods
from layers import accountability, compare, stats
from layers.filters import Filters
from tests.conftest import AS_OF, TEST_PASSWORD, scalar

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
TIMEOUT_MS = 45_000
QUARTER = Filters(start=periods.quarter_start(AS_OF), end=AS_OF, as_of=AS_OF)



@contextlib.contextmanager
def _page(browser: Any, server: str, accounts: dict[str, str], name: str,
          size: tuple[int, int] = (1600, 1000), kind: str = "leader") -> Iterator[Any]:
    context = browser.new_context(viewport={"width": size[0], "height": size[1]},
                                  locale="zh-CN", accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    blocked = block_outside(pg, server)
    try:
        harness.login(pg, server, accounts[kind], TEST_PASSWORD, TIMEOUT_MS)
        yield pg
        assert blocked == [], blocked
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        with contextlib.suppress(Exception):
            pg.screenshot(path=str(ARTIFACTS / f"meeting-{name}.png"))
        raise
    finally:
        context.close()


def _idle(pg: Any, step: str | None = None) -> None:
    """Wait until the run is over and nothing stale is left on the page (and, on the
    meeting page, until agenda item ``step`` is drawn)."""
    time.sleep(0.5)
    harness.idle(pg, TIMEOUT_MS)
    if step:
        pg.locator(f'.pm-step[data-step="{step}"]').wait_for(state="attached")
    time.sleep(0.3)


def _rows(pg: Any, selector: str) -> list[list[str]]:
    return pg.locator(selector).first.evaluate(
        "t => [...t.querySelectorAll('tr')].map(r => [...r.children].map(c => c.innerText))")


def test_department_ranking_and_its_drill_down(browser: Any, server: str, demo: Engine,
                                               accounts: dict[str, str]) -> None:
    with demo.connect() as con:
        depts = accountability.departments(con, QUARTER)
        bases = {k: accountability.departments(con, QUARTER.compared(k)) for k in ("prev",)}
    want = accountability.department_table(depts, bases, "overdue", "lead")
    with _page(browser, server, accounts, "departments", (1366, 768)) as pg:
        pg.goto(f"{server}/present?period=q&step=departments")
        pg.locator("table.pm-dept").wait_for()
        _idle(pg)
        rows = _rows(pg, "table.pm-dept")
        head, body = rows[0], rows[1:]
        assert head[:4] == ["排名", "牵头部门", "受理", "超期"] and "超期环比" in head
        assert len(body) == min(12, len(want))
        for got, (_i, exp) in zip(body, want.iterrows(), strict=False):
            shown = dict(zip(head, got, strict=True))
            assert shown["牵头部门"] == exp["牵头部门"]
            assert shown["排名"] == exp["排名"]
            assert shown["受理"] == f"{exp['受理']:,}" and shown["超期"] == f"{exp['超期']:,}"
            assert shown["超期环比"] == exp["超期环比"]
        # from the overview's ranking into one department's cases
        top = str(want["牵头部门"].iloc[0])
        pg.goto(f"{server}/?period=q")
        pg.get_by_text("部门履职").first.wait_for()
        _idle(pg)
        pg.locator(".st-key-ov_dept_pick").click()
        pg.keyboard.type(top)
        pg.get_by_role("option", name=top).first.wait_for()
        pg.keyboard.press("Enter")
        _idle(pg)
        pg.get_by_role("button", name="查看工单 →").click()
        pg.get_by_text("案件研判").first.wait_for()
        _idle(pg)
        code = str(depts[(depts["role"] == "lead") & (depts["name"] == top)]["dept"].iloc[0])
        assert f"dept={code}" in pg.url and "role=lead" in pg.url
        n = scalar(demo, "SELECT count(*) FROM cases WHERE lead_dept = :d AND received_at >= :a "
                         "AND received_at < :b", d=code, a=QUARTER.params()["f_start"],
                   b=QUARTER.params()["f_end"])
        pg.get_by_text(f"共 {n:,} 件").first.wait_for()


def test_comparison_presets_and_fixed_classes(browser: Any, server: str, demo: Engine,
                                              accounts: dict[str, str]) -> None:
    prev_q = Filters(start=periods.preset("prev_q", AS_OF).start,
                     end=periods.preset("prev_q", AS_OF).end, as_of=AS_OF)
    with demo.connect() as con:
        h = stats.headline(con, prev_q)
        now = stats.headline(con, QUARTER)
        base = stats.headline(con, QUARTER.compared("yoy"))
        first = stats.first_day(con)
    # the demo reaches back to the same quarter last year, not to the one before
    assert compare.covered(QUARTER.period, "yoy", first)
    assert not compare.covered(prev_q.period, "yoy", first)
    with _page(browser, server, accounts, "presets", (1366, 768)) as pg:
        pg.goto(f"{server}/present")
        wait_for_map(pg)
        pg.locator(".st-key-pr_period").get_by_role("radio", name="上季度").click()
        pg.get_by_text(f"时段 {prev_q.start:%Y-%m-%d} 至 {prev_q.end:%Y-%m-%d}").wait_for()
        _idle(pg)
        assert "period=prev_q" in pg.url
        tile = pg.locator(".pm-kpi").filter(has_text="受理（件）")
        assert tile.locator(".v").inner_text() == f"{h['received']:,}"
        pg.locator(".st-key-pr_compare").get_by_role("radio", name="同比").click()
        _idle(pg)
        pg.locator(".pm-kpi .d").filter(has_text="同比：对比期无完整数据").first.wait_for()
        pg.locator(".st-key-pr_period").get_by_role("radio", name="本季度").click()
        _idle(pg)
        assert "period=q" in pg.url
        assert tile.locator(".v").inner_text() == f"{now['received']:,}"
        expected = "同比 " + compare.describe(now["received"], base["received"])
        assert tile.locator(".d").inner_text() == expected
        # the overview's map: the same classes for this period and the one before, stated
        pg.goto(f"{server}/?period=q")
        wait_for_map(pg)
        _idle(pg)
        legends = {}
        for view in ("本期", "上期", "去年同期"):
            pg.locator(".st-key-ov_view").get_by_role("radio", name=view).click()
            _idle(pg)
            legend = pg.locator(".pm-legend").filter(has_text="街道/镇：待办件数").first
            legend.wait_for()
            legends[view] = legend.inner_text()
        assert len(set(legends.values())) == 1, legends
        assert "三期共用分级" in legends["本期"]
        pg.locator(".st-key-ov_view").get_by_role("radio", name="环比变化").click()
        _idle(pg)
        pg.locator(".pm-legend").filter(has_text="变化分级固定").first.wait_for()


def test_the_agenda_steps_and_every_filter_shows(browser: Any, server: str,
                                                 accounts: dict[str, str]) -> None:
    for size in ((1366, 768), (1920, 1080)):
        with _page(browser, server, accounts, f"agenda-{size[0]}", size) as pg:
            pg.goto(f"{server}/present?period=q&status=reopened")
            wait_for_map(pg)
            _idle(pg)
            # a filter taken from the link is on screen
            pg.locator(".pm-chip").filter(has_text="状态 重新办理").wait_for()
            steps = ["overview", "streets", "departments", "hotspots", "sanwu", "typical"]
            for i, how in enumerate(("key", "button", "key", "key", "button", "")):
                _idle(pg, steps[i])
                assert f"step={steps[i]}" in pg.url
                _fits(pg, size)
                if how == "key":
                    pg.locator("body").press("ArrowRight")
                elif how == "button":
                    pg.get_by_role("button", name="下一项 ▶").click()
            pg.get_by_text("典型案例（3 件）").first.wait_for()
            pg.locator("body").press("ArrowLeft")
            _idle(pg, "sanwu")
            assert "step=sanwu" in pg.url


def _fits(pg: Any, size: tuple[int, int]) -> None:
    """Nothing of the page lies below the window (no scrolling at this screen size)."""
    over = pg.evaluate("""() => { const m = document.querySelector('[data-testid="stMain"]');
        return m.scrollHeight - m.clientHeight; }""")
    assert over <= 4, f"{over}px below the window at {size}"


def test_the_meeting_page_prints_on_a4_landscape_without_broken_numbers(
        browser: Any, server: str, demo: Engine, accounts: dict[str, str]) -> None:
    from pypdf import PdfReader

    with demo.connect() as con:
        h = stats.headline(con, QUARTER)
    numbers = [f"{h[k]:,}" for k in ("received", "pending", "overdue", "closed_late",
                                     "reopened", "unsatisfied")]
    with _page(browser, server, accounts, "print", (1366, 768)) as pg:
        pg.goto(f"{server}/present?period=q&step=overview")
        wait_for_map(pg)
        _idle(pg)
        pdf = pg.pdf(prefer_css_page_size=True, print_background=True)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "meeting-print.pdf").write_bytes(pdf)
    reader = PdfReader(io.BytesIO(pdf))
    first = reader.pages[0]
    width, height = float(first.mediabox.width), float(first.mediabox.height)
    assert abs(width - 842) < 2 and abs(height - 595) < 2, (width, height)  # A4 landscape
    # NFKC: the CJK font's glyphs read back as Kangxi radicals (⽰ for 示) without it
    lines = [unicodedata.normalize("NFKC", ln).strip()
             for p in reader.pages for ln in (p.extract_text() or "").splitlines()]
    text = "\n".join(lines)
    for n in numbers:
        assert any(n in ln for ln in lines), f"{n} is not whole on one line:\n{text}"
    # no figure broken across lines: no line ends in a digit or separator and the next starts
    # with one (a number wrapped in the middle)
    for a, b in zip(lines, lines[1:], strict=False):
        assert not (re.search(r"[\d,.]$", a) and re.match(r"^[\d,.%]", b)
                    and re.search(r"\d[,.]$", a)), (a, b)
    assert "下一项" not in text  # the controls are not printed
    assert "演示数据" in text.replace(" ", "")


@pytest.mark.parametrize("page", ["drilldown", "worklist"])
def test_the_red_sanwu_dots_open_the_compound_card(browser: Any, server: str, demo: Engine,
                                                   accounts: dict[str, str], page: str) -> None:
    street = str(scalar(demo, "SELECT street_code FROM compounds WHERE is_sanwu GROUP BY 1 "
                              "ORDER BY count(*) DESC, 1 LIMIT 1"))
    with _page(browser, server, accounts, f"dots-{page}", (1600, 1000)) as pg:
        pg.goto(f"{server}/{page}?street={street}")
        wait_for_map(pg)
        _idle(pg)
        frame = pg.frame_locator(MAP_FRAME).first
        # the map runs below the window's edge, as on a laptop: the case that failed
        box = pg.locator(MAP_FRAME).first.bounding_box()
        assert box["y"] + box["height"] > 1000
        dot = frame.locator("body").evaluate("""(_body, bottom) => {
            for (const p of document.querySelectorAll('path.leaflet-interactive')) {
              const r = p.getBoundingClientRect();
              if (p.getAttribute('fill') === '#c00000' && Math.abs(r.width - r.height) < 2
                  && r.width > 14 && r.width < 26 && r.top > 4 && r.left > 60
                  && r.bottom < bottom) {
                const x = r.left + r.width / 2, y = r.top + r.height / 2;
                if (document.elementFromPoint(x, y) === p) return [x, y];
              }
            }
            return null; }""", 980 - box["y"])
        assert dot, "no 三无 dot in view"
        # a person's click: the button comes up a tenth of a second after it went down
        pg.mouse.click(box["x"] + dot[0], box["y"] + dot[1], delay=120)
        pg.wait_for_function("() => /compound=\\d+/.test(location.search)", timeout=TIMEOUT_MS)
        compound = int(re.search(r"compound=(\d+)", pg.url).group(1))  # type: ignore[union-attr]
        assert scalar(demo, "SELECT is_sanwu FROM compounds WHERE id = :i", i=compound) is True
        pg.locator(".pm-card").filter(has_text="三无小区").first.wait_for()
