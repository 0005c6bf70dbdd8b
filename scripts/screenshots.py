"""Take one screenshot per dashboard page (for the README) from a running dashboard.

Usage::

    propmap demo                          # the demo data
    propmap serve --port 8501 &           # the dashboard
    PROPMAP_SCREENSHOT_PASSWORD=… .venv/bin/python scripts/screenshots.py \
        --url http://127.0.0.1:8501 --out docs/screenshots --user demo-leader

Every page needs a login: ``--user`` names an account whose password (already
changed from the one-time password) is in ``PROPMAP_SCREENSHOT_PASSWORD``.
Headless Debian Chromium (/usr/bin/chromium) at 1920×1080; every request to a
host other than the dashboard's is blocked, so the pictures prove the
dashboard works offline.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from dashboard.harness import CHROMIUM, CHROMIUM_ARGS, block_outside, login, wait_for_map

#: (file name, URL path with query, the text of a switch to click first or "") of each shot.
SHOTS = [
    ("overview.png", "", ""),
    ("drilldown.png", "drilldown?street={street}&compound={compound}", ""),
    ("worklist.png", "worklist?street={street}", ""),
    ("hotspots.png", "hotspots", ""),
    ("hotspots-emerging.png", "hotspots", "时空热点模式"),
    ("firms.png", "firms", ""),
    ("present.png", "present", ""),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8501")
    ap.add_argument("--out", default="docs/screenshots", type=Path)
    ap.add_argument("--street", default="522601005000")
    ap.add_argument("--compound", default=None)
    ap.add_argument("--user", default="demo-leader", help="the account to log in as")
    args = ap.parse_args()
    password = os.environ.get("PROPMAP_SCREENSHOT_PASSWORD")
    if not password:
        raise SystemExit("请在环境变量 PROPMAP_SCREENSHOT_PASSWORD 中给出账号的密码")
    args.out.mkdir(parents=True, exist_ok=True)
    compound = args.compound
    if compound is None:
        import sqlalchemy as sa

        from geo.db import make_engine

        with make_engine().connect() as con:
            compound = con.execute(sa.text(
                "SELECT id FROM compounds WHERE street_code = :s AND is_sanwu ORDER BY id LIMIT 1"),
                {"s": args.street}).scalar()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
        blocked = block_outside(page, args.url)
        login(page, args.url.rstrip("/"), args.user, password)
        for name, path, switch in SHOTS:
            target = path.format(street=args.street, compound=compound)
            page.goto(f"{args.url.rstrip('/')}/{target}")
            wait_for_map(page)
            if switch:
                page.get_by_text(switch, exact=True).first.click()
                page.locator(".pm-legend").filter(has_text=f"{switch}：").first.wait_for()
                wait_for_map(page)
            time.sleep(1.5)
            page.screenshot(path=str(args.out / name), full_page=name != "present.png")
            print(f"{args.out / name}")
        browser.close()
    if blocked:
        raise SystemExit(f"blocked outside requests: {blocked}")


if __name__ == "__main__":
    main()
