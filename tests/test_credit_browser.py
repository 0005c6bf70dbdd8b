"""A firm's profile in headless Chromium, logged in as the housing bureau, offline.

The chosen firm's compounds stand out on the map (one colour, the rest grey), hovering one
names the firm (not a street's pending count), the flag for a red-listed firm among the
worst is on the page, and nothing is requested from another host.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dashboard import harness
from dashboard.harness import MAP_FRAME, block_outside, wait_for_map
from layers import style
from tests.conftest import TEST_PASSWORD
from tests.test_browser import TIMEOUT_MS, screenshot_on_failure

pytestmark = pytest.mark.browser


def test_a_firm_profile_in_the_browser(browser, big_server: str, big_demo: Engine,  # type: ignore[no-untyped-def]
                                       big_accounts: dict[str, str]) -> None:
    from geo import credit

    with big_demo.connect() as con:
        ev = credit.evaluate(con, "firm")
        flagged = [sid for sid in ev.flags if ev.status.get(sid) == "red"]
        assert flagged
        sid = flagged[0]
        name = ev.subjects[sid].name
        n = con.execute(sa.text("SELECT count(*) FROM compounds WHERE firm_id = :i"),
                        {"i": sid}).scalar()
    context = browser.new_context(viewport={"width": 1600, "height": 1200}, locale="zh-CN")
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    blocked = block_outside(pg, big_server)
    with screenshot_on_failure(pg, "firm-profile"):
        harness.login(pg, big_server, big_accounts["housing"], TEST_PASSWORD, TIMEOUT_MS)
        pg.goto(f"{big_server}/firms?firm={sid}")
        wait_for_map(pg, TIMEOUT_MS)
        pg.get_by_text(f"企业档案：{name}").wait_for()
        assert pg.get_by_text("处于全市最差的", exact=False).first.is_visible()
        short = name.removeprefix("凯里市").replace("物业服务有限公司", "物业")
        assert pg.get_by_text(f"{short}（{n} 个小区）").first.is_visible()
        frame = pg.frame_locator(MAP_FRAME).first
        mine = frame.locator(f'path.leaflet-interactive[fill="{style.SELECTED_FIRM}"]')
        others = frame.locator(f'path.leaflet-interactive[fill="{style.OTHER_FIRM}"]')
        assert mine.count() == n and others.count() > n
        # the street areas are a backdrop: no tooltip of theirs, no pending counts
        streets = frame.locator('path:not(.leaflet-interactive)[fill="#ffffff"]')
        assert streets.count() >= 20
        visible = [i for i in range(mine.count())
                   if mine.nth(i).get_attribute("d") not in (None, "M0 0")]
        mine.nth(visible[0]).hover(force=True)
        tip = frame.locator(".leaflet-tooltip").first
        tip.wait_for()
        text = tip.inner_text()
        assert name in text and "户数" in text and "待办" not in text
        pg.get_by_role("tab", name="红黑榜决定").click()
        # the decisions' grid (drawn on a canvas; its cells are in the DOM for readers)
        pg.locator('td[role="gridcell"]', has_text="采纳系统建议").first.wait_for(
            state="attached")
    context.close()
    assert blocked == [], blocked
