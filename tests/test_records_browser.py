"""In Chromium, as a street office's clerk: take over a 三无 compound on its card, see it move
from 未托管 to 已托管, download the worklist, fill it in, upload it, and read every row's outcome.

A dashboard of its own runs on a scratch database (these tests write); no request
leaves the machine.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy.engine import Engine

from dashboard import harness
from dashboard.harness import CHROMIUM, CHROMIUM_ARGS, block_outside
from etl import demo as demo_mod
from geo import auth
from geo.measures import today
from propmap.cli import main
from tests import conftest
from tests.conftest import AS_OF, TEST_PASSWORD
from tests.test_browser import ARTIFACTS, TIMEOUT_MS, screenshot_on_failure

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[Engine, str, str, str]]:
    """(engine, database URL, dashboard URL, street code) with a street account ``t-web-street``."""
    with conftest.scratch_database("_records_web") as (eng, url):
        demo_mod.build(eng, seed=42, n_cases=1_000, as_of=AS_OF, say=lambda _m: None)
        with eng.begin() as con:
            street = str(con.execute(sa.text(
                "SELECT street_code FROM compounds WHERE is_sanwu AND management_mode = 'none' "
                "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")).scalar())
            auth.add_user(con, "t-web-street", "street", streets=(street,),
                          password=TEST_PASSWORD, must_change=False, by="tests")
        ARTIFACTS.mkdir(exist_ok=True)
        with open(ARTIFACTS / "streamlit-records.log", "w") as log, \
                harness.running(url, log=log) as base:
            yield eng, url, base, street


@pytest.fixture
def page(site: tuple[Engine, str, str, str]) -> Iterator[tuple[object, list[str]]]:
    from playwright.sync_api import sync_playwright

    _eng, _url, base, _street = site
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = b.new_context(viewport={"width": 1600, "height": 1100}, locale="zh-CN",
                                accept_downloads=True)
        pg = context.new_page()
        pg.set_default_timeout(TIMEOUT_MS)
        blocked = block_outside(pg, base)
        harness.login(pg, base, "t-web-street", TEST_PASSWORD, TIMEOUT_MS)
        yield pg, blocked
        context.close()
        b.close()


def test_a_clerk_takes_over_a_compound_on_its_card(site, page) -> None:  # type: ignore[no-untyped-def]
    eng, _url, base, street = site
    pg, blocked = page
    with eng.connect() as con:
        cid, name = con.execute(sa.text(
            "SELECT id, name FROM compounds WHERE street_code = :s AND is_sanwu "
            "AND management_mode = 'none' ORDER BY households DESC LIMIT 1"), {"s": street}).one()
    with screenshot_on_failure(pg, "records-takeover"):
        pg.goto(f"{base}/drilldown?street={street}&compound={cid}")
        pg.get_by_text("三无，未托管").first.wait_for()
        pg.get_by_text("记录管理事项").first.click()
        pg.get_by_role("button", name="记录", exact=True).wait_for()
        # first a change of mind: the firm's field comes and goes with the kind of event
        harness.choose(pg, f"ev-kind-{cid}", "引入物业服务企业", TIMEOUT_MS)
        pg.get_by_text("物业服务企业（企业名录）").wait_for()
        harness.choose(pg, f"ev-kind-{cid}", "街道托管", TIMEOUT_MS)
        pg.get_by_text("物业服务企业（企业名录）").wait_for(state="detached")
        pg.get_by_role("button", name="记录", exact=True).click()
        pg.get_by_text(f"已记录：{name} 街道托管").wait_for()
        pg.get_by_text("三无，已托管").first.wait_for()
    with eng.connect() as con:
        row = con.execute(sa.text(
            "SELECT management_mode, is_sanwu, mode_since FROM compounds WHERE id = :i"),
            {"i": cid}).one()
        audited = con.execute(sa.text(
            "SELECT count(*) FROM audit_log WHERE account = 't-web-street' AND event = 'write' "
            "AND detail -> 'compounds' @> CAST(:c AS jsonb)"), {"c": f"[{cid}]"}).scalar()
    assert tuple(row) == ("street_custody", True, today())
    assert audited == 1
    assert blocked == []


def test_the_worklist_round_trip_in_the_browser(site, page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    eng, url, base, street = site
    pg, blocked = page
    with screenshot_on_failure(pg, "records-worklist"):
        pg.goto(f"{base}/worklist?street={street}")
        with pg.expect_download() as info:
            pg.get_by_role("button", name="下载 Excel 清单").click()
        data = Path(info.value.path()).read_bytes()
        exported = tmp_path / "cli.xlsx"
        res = CliRunner().invoke(main, ["export", "worklist", "--street", street, "-o",
                                        str(exported)], env={"DATABASE_URL": url})
        assert res.exit_code == 0, res.output
        downloaded = [list(r) for r in load_workbook(io.BytesIO(data)).worksheets[0]
                      .iter_rows(values_only=True)]
        assert downloaded == [list(r) for r in load_workbook(exported).worksheets[0]
                              .iter_rows(values_only=True)]  # one file, whoever asks
        wb = load_workbook(io.BytesIO(data))
        ws = wb.worksheets[0]
        col = {c.value: i + 1 for i, c in enumerate(ws[1])}
        rows = [r for r in range(2, ws.max_row + 1)
                if str(ws.cell(r, col["类型"]).value).startswith("三无，未托管")]
        ws.cell(rows[0], col["采取措施"]).value = "街道托管"
        ws.cell(rows[0], col["措施日期"]).value = today().isoformat()
        ws.cell(rows[1], col["采取措施"]).value = "成立业委会"  # no term: refused, with a reason
        ws.cell(rows[1], col["措施日期"]).value = today().isoformat()
        filled = tmp_path / "回传.xlsx"
        wb.save(filled)
        pg.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(filled))
        pg.get_by_role("button", name="记录清单中的措施").click()
        n = ws.max_row - 1
        pg.get_by_text(f"已记录 1，未变 {n - 2}，拒绝 1").wait_for()
        pg.get_by_text("上次上传的逐行结果").wait_for()
    code = ws.cell(rows[0], col["小区编号"]).value
    with eng.connect() as con:
        src = con.execute(sa.text(
            "SELECT e.source, e.recorded_by FROM compound_events e JOIN compounds x "
            "ON x.id = e.compound_id WHERE x.code = :c ORDER BY e.id DESC LIMIT 1"),
            {"c": code}).one()
    assert tuple(src) == ("worklist", "t-web-street")
    assert blocked == []
