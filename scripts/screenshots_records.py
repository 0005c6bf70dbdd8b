"""Screenshots of the record forms and the progress pages (issue 9), for the README.

Usage::

    propmap demo                          # the demo data
    propmap user add shots-street --role street --street 522601005000
    propmap user add shots-fire --role dept --dept fire
    propmap user add shots-leader --role leader
    # (log in once with each one-time password and set the password given below)
    propmap serve --port 8501 &
    .venv/bin/python scripts/screenshots_records.py --url http://127.0.0.1:8501 \\
        --street-user shots-street --fire-user shots-fire --leader-user shots-leader \\
        --password '…' --out docs/screenshots

Headless Debian Chromium at 1600×1000, every request to another host blocked.
Nothing is recorded: the forms are opened and filled in, not submitted, except
the worklist upload, which is made with a copy of the downloaded file whose
action columns are left empty (every row comes back 未变).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from dashboard.harness import CHROMIUM, CHROMIUM_ARGS, block_outside, login, wait_for_map


def _table_page(page: Any, url: str, out: Path, charts: int = 0) -> None:
    """A page of tables (and charts): wait until they are drawn, then take it."""
    page.goto(url)
    page.locator('[data-testid="stDataFrame"] canvas').first.wait_for()
    for i in range(charts):
        page.locator('[data-testid="stVegaLiteChart"] svg.marks').nth(i).wait_for()
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')")
    time.sleep(2.0)
    page.screenshot(path=str(out), full_page=True)
    print(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8501")
    ap.add_argument("--out", default="docs/screenshots", type=Path)
    ap.add_argument("--street-user", required=True)
    ap.add_argument("--fire-user", required=True)
    ap.add_argument("--leader-user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--street", default="522601005000")
    ap.add_argument("--compound", default=None, help="id of a 三无，未托管 compound of the street")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    base = args.url.rstrip("/")
    compound = args.compound
    if compound is None:
        import sqlalchemy as sa

        from geo.db import make_engine

        with make_engine().connect() as con:
            compound = con.execute(sa.text(
                "SELECT id FROM compounds WHERE street_code = :s AND is_sanwu "
                "AND management_mode = 'none' ORDER BY households DESC LIMIT 1"),
                {"s": args.street}).scalar()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1250}, locale="zh-CN")
        blocked = block_outside(page, base)
        login(page, base, args.street_user, args.password, 60_000)

        page.set_viewport_size({"width": 1600, "height": 1500})
        page.goto(f"{base}/drilldown?street={args.street}&compound={compound}")
        wait_for_map(page)
        page.get_by_text("记录管理事项").first.click()
        box = page.locator(f".st-key-ev-kind-{compound} input")
        box.click()
        box.fill("成立业主大会")
        box.press("Enter")
        page.get_by_text("本届任期届满").first.wait_for()
        page.get_by_label("文号（可选）").fill("凯湾街〔2026〕15号")
        time.sleep(1.5)
        page.screenshot(path=str(args.out / "record-compound.png"), full_page=True)
        print(args.out / "record-compound.png")

        page.set_viewport_size({"width": 1600, "height": 1250})
        page.goto(f"{base}/worklist?street={args.street}")
        wait_for_map(page)
        with page.expect_download() as info:
            page.get_by_role("button", name="下载 Excel 清单").click()
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "清单回传.xlsx"
            copy.write_bytes(Path(info.value.path()).read_bytes())
            page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
                str(copy))
            page.get_by_role("button", name="记录清单中的措施").click()
            page.get_by_text("上次上传的逐行结果").wait_for()
        time.sleep(1.5)
        page.screenshot(path=str(args.out / "worklist-upload.png"), full_page=True)
        print(args.out / "worklist-upload.png")

        _table_page(page, f"{base}/owners?street={args.street}", args.out / "owners.png")

        page.context.clear_cookies()
        login(page, base, args.leader_user, args.password, 60_000)
        page.set_viewport_size({"width": 1600, "height": 2000})
        _table_page(page, f"{base}/progress", args.out / "progress.png", charts=2)
        page.set_viewport_size({"width": 1600, "height": 1250})

        page.context.clear_cookies()
        login(page, base, args.fire_user, args.password, 60_000)
        page.goto(f"{base}/hotspots")
        wait_for_map(page)
        page.get_by_text("记录隐患整改进展").first.click()
        page.get_by_role("button", name="记录整改进展").scroll_into_view_if_needed()
        time.sleep(1.5)
        page.screenshot(path=str(args.out / "hazard-rectify.png"), full_page=False)
        print(args.out / "hazard-rectify.png")
        browser.close()
    if blocked:
        raise SystemExit(f"blocked outside requests: {blocked}")


if __name__ == "__main__":
    main()
