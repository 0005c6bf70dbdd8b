"""End to end in headless Chromium: the real dashboard, offline, on the demo test database.

``streamlit run`` serves the app on a free port; Playwright drives Debian's
``/usr/bin/chromium`` with every request to another host aborted, and each
test asserts that none was even attempted. A failing test leaves a screenshot
in ``tests/artifacts/``.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from dashboard import harness
from dashboard.harness import MAP_FRAME, block_outside, wait_for_map

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

pytestmark = pytest.mark.browser
TIMEOUT_MS = 45_000



@pytest.fixture
def page(browser, server: str, accounts: dict[str, str],  # type: ignore[no-untyped-def]
         request: pytest.FixtureRequest) -> Iterator[tuple[object, list[str]]]:
    """A logged-in (leader) browser page, every request to another host blocked."""
    from tests.conftest import TEST_PASSWORD

    context = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="zh-CN",
                                  accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    blocked = block_outside(pg, server)
    harness.login(pg, server, accounts["leader"], TEST_PASSWORD, TIMEOUT_MS)
    failed = True
    try:
        yield pg, blocked
        failed = False
    finally:
        if failed or getattr(request.node, "_failed", False):
            ARTIFACTS.mkdir(exist_ok=True)
            with contextlib.suppress(Exception):
                pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        context.close()


@contextlib.contextmanager
def screenshot_on_failure(pg, name: str) -> Iterator[None]:  # type: ignore[no-untyped-def]
    try:
        yield
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        with contextlib.suppress(Exception):
            pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        raise


def _street_paths(pg):  # type: ignore[no-untyped-def]
    return pg.frame_locator(MAP_FRAME).first.locator("path.leaflet-interactive")


INSIDE_POINT_JS = """
(i) => {
  const paths = [...document.querySelectorAll('path.leaflet-interactive')];
  const p = paths[i];
  const b = p.getBoundingClientRect();
  for (let fy = 0.5; fy < 1; fy += 0.05) for (const s of [1, -1]) {
    const y = b.top + b.height * (s > 0 ? fy : 1 - fy);
    for (let fx = 0.5; fx < 1; fx += 0.05) for (const t of [1, -1]) {
      const x = b.left + b.width * (t > 0 ? fx : 1 - fx);
      if (document.elementFromPoint(x, y) === p) return [x, y];
    }
  }
  return null;
}
"""


def test_overview_loads_offline_with_every_street_area(page, server: str, demo: Engine) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import scalar

    pg, blocked = page
    with screenshot_on_failure(pg, "overview"):
        t0 = time.perf_counter()
        pg.goto(server)
        wait_for_map(pg, TIMEOUT_MS)
        first_render = time.perf_counter() - t0
        n_streets = scalar(demo, "SELECT count(*) FROM streets")
        assert _street_paths(pg).count() >= int(n_streets)
        assert pg.get_by_text("全市总览").first.is_visible()
        assert pg.get_by_text("演示数据（合成）", exact=False).first.is_visible()
        leaflet = pg.frame_locator(MAP_FRAME).first.locator("script[src*='leaflet']")
        assert leaflet.count() >= 1
        assert "/app/static/vendor/leaflet/" in (leaflet.first.get_attribute("src") or "")
    print(f"first map render {first_render:.2f} s")
    assert blocked == [], f"requests to other hosts were attempted: {blocked}"


def test_clicking_a_street_area_drills_down(page, server: str, demo: Engine) -> None:  # type: ignore[no-untyped-def]
    pg, blocked = page
    with screenshot_on_failure(pg, "drilldown-click"):
        pg.goto(f"{server}/drilldown")
        wait_for_map(pg, TIMEOUT_MS)
        frame = pg.frame(url=lambda u: "streamlit_folium" in u) or next(
            f for f in pg.frames if f.query_selector("path.leaflet-interactive"))
        before = _street_paths(pg).count()
        box = pg.locator(MAP_FRAME).first.bounding_box()
        assert box
        point = None
        for i in range(before):
            point = frame.evaluate(INSIDE_POINT_JS, i)
            if point:
                break
        assert point, "no clickable street area found"
        pg.mouse.click(box["x"] + point[0], box["y"] + point[1])
        pg.wait_for_url("**street=*", timeout=TIMEOUT_MS)
        code = pg.url.split("street=")[1].split("&")[0]
        from tests.conftest import scalar

        name = scalar(demo, "SELECT name FROM streets WHERE code = :c", c=code)
        pg.get_by_role("button", name=f"{name}").wait_for(timeout=TIMEOUT_MS)
        wait_for_map(pg, TIMEOUT_MS)
        # the street view draws its communities and compounds on top of the 20 areas
        pg.wait_for_function(
            f"() => [...document.querySelectorAll('iframe')].some(f => "
            f"f.contentDocument && f.contentDocument.querySelectorAll("
            f"'path.leaflet-interactive').length > {before})", timeout=TIMEOUT_MS)
        # and the breadcrumb leads back to the city
        pg.get_by_role("button", name="凯里市 ›").click()
        pg.wait_for_function("() => !location.search.includes('street=')", timeout=TIMEOUT_MS)
    assert blocked == [], f"requests to other hosts were attempted: {blocked}"


def test_worklist_downloads_a_valid_xlsx(page, server: str, demo: Engine) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    from tests.conftest import scalar

    pg, blocked = page
    street = scalar(demo, "SELECT street_code FROM compounds WHERE is_sanwu "
                          "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
    expected = scalar(demo, "SELECT count(*) FROM compounds WHERE street_code = :s "
                            "AND (is_sanwu OR is_old)", s=street)
    with screenshot_on_failure(pg, "worklist-download"):
        pg.goto(f"{server}/worklist?street={street}")
        button = pg.get_by_role("button", name="下载 Excel 清单")
        button.wait_for(timeout=TIMEOUT_MS)
        with pg.expect_download(timeout=TIMEOUT_MS) as info:
            button.click()
        data = Path(info.value.path()).read_bytes()
    wb = load_workbook(io.BytesIO(data))
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    assert header[:2] == ["排序", "小区名称"] and "优先分" in header
    assert ws.max_row - 1 == expected
    assert "说明" in wb.sheetnames
    assert info.value.suggested_filename.endswith(".xlsx")
    assert blocked == [], f"requests to other hosts were attempted: {blocked}"


def test_firms_page_shows_its_coverage_map_and_table(page, server: str, demo: Engine) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import scalar

    pg, blocked = page
    served = scalar(demo, "SELECT count(*) FROM compounds WHERE firm_id IS NOT NULL")
    with screenshot_on_failure(pg, "firms"):
        pg.goto(f"{server}/firms")
        wait_for_map(pg, TIMEOUT_MS)
        # one dot per compound served (they answer hovers), over the 20 street and town
        # areas (a backdrop that does not)
        pg.wait_for_function(
            f"() => [...document.querySelectorAll('iframe')].some(f => f.contentDocument && "
            f"f.contentDocument.querySelectorAll('path.leaflet-interactive').length >= "
            f"{int(served)} && f.contentDocument.querySelectorAll("
            f"'path:not(.leaflet-interactive)').length >= 20)",
            timeout=TIMEOUT_MS)  # type: ignore[call-overload]
        assert pg.get_by_text("各物业企业服务情况").is_visible()
        assert pg.locator(".pm-legend").filter(has_text="物业企业").first.is_visible()
        assert pg.locator('[data-testid="stDataFrame"]').first.is_visible()
    assert blocked == [], f"requests to other hosts were attempted: {blocked}"
