"""Every kind of account sees exactly its part of Kaili, on the pages and in the downloads.

Through AppTest for every kind of account (the figures against SQL run as the
table owner with the scope's condition written out), and in Chromium for a
login of every kind with its figures, its downloads and a refused URL.
"""

from __future__ import annotations

import datetime as dt
import io
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest

from dashboard import harness
from dashboard.harness import block_outside
from geo import measures
from tests.conftest import AS_OF, TEST_PASSWORD, app_test, scalar
from tests.test_browser import TIMEOUT_MS, screenshot_on_failure
from tests.test_one_truth import _tiles
from tests.test_pages import PAGES

KINDS = ("leader", "housing", "street", "community", "dept", "viewer", "admin")


def _street(demo: Engine) -> str:
    return str(scalar(demo, "SELECT street_code FROM compounds WHERE is_sanwu GROUP BY 1 "
                            "ORDER BY count(*) DESC, 1 LIMIT 1"))


def _community(demo: Engine) -> int:
    return int(scalar(demo, "SELECT community_id FROM cases WHERE street_code = :s GROUP BY 1 "  # type: ignore[arg-type]
                            "ORDER BY count(*) DESC, 1 LIMIT 1", s=_street(demo)))


def _scope(demo: Engine, kind: str) -> tuple[dict[str, object], str, dict[str, object]]:
    """The scope keywords of ``kind``, its SQL condition on cases ``c``, and the parameters."""
    if kind == "street":
        s = _street(demo)
        return {"streets": (s,)}, "c.street_code = :s", {"s": s}
    if kind == "community":
        m = _community(demo)
        return ({"community_id": m, "streets": (_street(demo),)}, "c.community_id = :m",
                {"m": m})
    if kind == "dept":
        return ({"dept": "fire", "themes": ("fire",)},
                "(c.lead_dept = 'fire' OR 'fire' = ANY (c.co_depts) OR c.category_code IN "
                "(SELECT code FROM categories WHERE theme = 'fire'))", {})
    return {}, "TRUE", {}


def _expected(demo: Engine, where: str, params: dict[str, object]) -> dict[str, str]:
    start = AS_OF - dt.timedelta(days=364)
    with demo.connect() as con:
        row = con.execute(sa.text(f"""
            SELECT {measures.counts_sql("c", ("received", "pending", "overdue"))}
            FROM cases c WHERE {where} AND c.received_at >= :a AND c.received_at < :b"""),
            {**params, **measures.cutoff_params(AS_OF),
             "a": dt.datetime.combine(start, dt.time.min, tzinfo=measures.TZ),
             "b": dt.datetime.combine(AS_OF + dt.timedelta(days=1), dt.time.min,
                                      tzinfo=measures.TZ)}).one()
    return {"受理（件）": f"{row.received:,}", "待办（件）": f"{row.pending:,}",
            "超期（件）": f"{row.overdue:,}"}


def _visit(at: AppTest, page: str, **params: str) -> AppTest:
    at.query_params.update(params)
    if page != PAGES[0]:
        at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("kind", KINDS)
def test_the_overview_shows_the_accounts_part_only(demo: Engine,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   kind: str) -> None:
    scope, where, params = _scope(demo, kind)
    at = _visit(app_test(demo, monkeypatch, kind, **scope), PAGES[0])  # type: ignore[arg-type]
    assert not at.error, [e.value for e in at.error]
    tiles = _tiles(at)
    expected = _expected(demo, where, params)
    assert {k: tiles[k] for k in expected} == expected
    ranking = at.dataframe[0].value
    if kind in ("street", "community"):
        name = scalar(demo, "SELECT name FROM streets WHERE code = :s", s=_street(demo))
        assert list(ranking["街道/镇"]) == [name]
    else:
        assert len(ranking) == 20
    texts = "\n".join(m.value for m in at.markdown)
    assert "当前用户" in texts


def test_a_street_account_is_refused_another_streets_url(demo: Engine,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    own = _street(demo)
    other = str(scalar(demo, "SELECT min(code) FROM streets WHERE code <> :s", s=own))
    for page in (PAGES[1], PAGES[2]):
        at = _visit(app_test(demo, monkeypatch, "street", streets=(own,)),  # type: ignore[arg-type]
                    page, street=other)
        assert any("无权查看" in e.value for e in at.error), page
        assert not at.dataframe  # no figures, no table
    other_compound = str(scalar(demo, "SELECT min(id) FROM compounds WHERE street_code <> :s",
                                s=own))
    at = _visit(app_test(demo, monkeypatch, "street", streets=(own,)),  # type: ignore[arg-type]
                PAGES[1], street=own, compound=other_compound)
    assert any("无权查看" in e.value for e in at.error)


def test_the_meeting_screen_has_no_downloads(demo: Engine,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    at = _visit(app_test(demo, monkeypatch, "viewer"), PAGES[3])  # type: ignore[arg-type]
    assert not at.get("download_button")
    leader = _visit(app_test(demo, monkeypatch, "leader"), PAGES[3])  # type: ignore[arg-type]
    assert leader.get("download_button")


# --- in the browser, logged in through the form ----------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_logs_in_and_sees_its_part(browser, server: str, demo: Engine,  # type: ignore[no-untyped-def]
                                             accounts: dict[str, str], kind: str) -> None:
    _scope_kw, where, params = _scope(demo, kind)
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="zh-CN",
                                  accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    blocked = block_outside(pg, server)
    with screenshot_on_failure(pg, f"scope-{kind}"):
        harness.login(pg, server, accounts[kind], TEST_PASSWORD, TIMEOUT_MS)
        pg.goto(server)  # a new page load: the session survives it
        tile = pg.locator(".pm-kpi").filter(has_text="受理（件）").locator(".v")
        assert tile.first.inner_text() == _expected(demo, where, params)["受理（件）"]
        assert pg.get_by_text("当前用户").first.is_visible()
        if kind == "street":
            own = _street(demo)
            other = str(scalar(demo, "SELECT min(code) FROM streets WHERE code <> :s", s=own))
            pg.goto(f"{server}/drilldown?street={other}")
            pg.get_by_text("无权查看").first.wait_for()
            pg.goto(f"{server}/worklist?street={own}")
            button = pg.get_by_role("button", name="下载 Excel 清单")
            with pg.expect_download() as info:
                button.click()
            from openpyxl import load_workbook

            ws = load_workbook(io.BytesIO(Path(info.value.path()).read_bytes())).worksheets[0]
            names = {r[1] for r in ws.iter_rows(min_row=2, values_only=True)}
            expected = set(demo.connect().execute(sa.text(
                "SELECT name FROM compounds WHERE street_code = :s AND (is_sanwu OR is_old)"),
                {"s": own}).scalars())
            assert names == expected
            # the download's audit row is written by its callback, on the run the click
            # starts: it may land a moment after the file
            deadline = time.monotonic() + 15
            while not scalar(demo, "SELECT count(*) FROM audit_log WHERE account = :a "
                                   "AND event = 'download'", a=accounts[kind]):
                assert time.monotonic() < deadline, "the download was not audited"
                time.sleep(0.2)
        if kind == "viewer":
            pg.goto(f"{server}/hotspots")
            pg.get_by_text("未整改隐患（超期在前）").wait_for()
            assert pg.get_by_role("button", name="下载排查清单（Excel）").count() == 0
            assert pg.get_by_role("button", name="下载未整改隐患清单（Excel）").count() == 0
            # nor the tables' own CSV download (which would also escape the audit)
            table = pg.locator('[data-testid="stDataFrame"] >> visible=true').first
            table.hover()
            tools = pg.locator('[data-testid="stElementToolbarButton"] button >> visible=true')
            tools.first.wait_for()
            labels = [tools.nth(i).get_attribute("aria-label") for i in range(tools.count())]
            assert "Search" in labels and "Download as CSV" not in labels, labels
    context.close()
    assert blocked == [], blocked
