"""Take one screenshot per dashboard page (for the README) from a running dashboard.

Usage::

    propmap demo                          # the demo data
    propmap serve --port 8501 &           # the dashboard
    .venv/bin/python scripts/screenshots.py --url http://127.0.0.1:8501 --out docs/screenshots \
        --user NAME --password PASSWORD   # a housing-bureau account (password changed)

Headless Debian Chromium (/usr/bin/chromium) at 1920×1080; every request to a
host other than the dashboard's is blocked, so the pictures prove the
dashboard works offline.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from dashboard.harness import CHROMIUM, CHROMIUM_ARGS, block_outside, login, wait_for_map

#: (file name, URL path with query) of each page.
SHOTS = [
    ("overview.png", ""),
    ("drilldown.png", "drilldown?street={street}&compound={compound}"),
    ("worklist.png", "worklist?street={street}"),
    ("hotspots.png", "hotspots"),
    ("firms.png", "firms?firm={firm}"),
    ("firm-profile.png", "firms?firm={firm}"),
    ("credit.png", "credit"),
    ("coverage.png", "coverage"),
    ("present.png", "present"),
]
#: Pages without a map: wait for this text instead.
NO_MAP = {"credit.png": "当前红黑榜"}
#: Shots of a part further down the page: scroll to this text first.
SCROLL_TO = {"firm-profile.png": "企业档案："}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8501")
    ap.add_argument("--out", default="docs/screenshots", type=Path)
    ap.add_argument("--street", default="522601005000")
    ap.add_argument("--compound", default=None)
    ap.add_argument("--firm", default=None, help="the firm whose profile firms.png shows")
    ap.add_argument("--user", required=True, help="an account with every page (housing)")
    ap.add_argument("--password", required=True)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    compound, firm = args.compound, args.firm
    if compound is None or firm is None:
        import sqlalchemy as sa

        from geo import credit
        from geo.db import make_engine

        with make_engine().connect() as con:
            compound = compound or con.execute(sa.text(
                "SELECT id FROM compounds WHERE street_code = :s AND is_sanwu ORDER BY id LIMIT 1"),
                {"s": args.street}).scalar()
            if firm is None:  # a flagged firm, so that the profile shows every part
                ev = credit.evaluate(con, "firm")
                firm = next(iter(ev.flags), next(iter(ev.subjects)))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
        blocked = block_outside(page, args.url)
        login(page, args.url.rstrip("/"), args.user, args.password)
        for name, path in SHOTS:
            target = path.format(street=args.street, compound=compound, firm=firm)
            page.goto(f"{args.url.rstrip('/')}/{target}")
            if name in NO_MAP:
                page.get_by_text(NO_MAP[name]).first.wait_for(timeout=60_000)
            else:
                wait_for_map(page)
            if name in SCROLL_TO:
                page.get_by_text(SCROLL_TO[name]).first.evaluate(
                    "e => e.scrollIntoView({block: 'start'})")
            time.sleep(1.5)
            page.screenshot(path=str(args.out / name), full_page=name != "present.png")
            print(f"{args.out / name}")
        browser.close()
    if blocked:
        raise SystemExit(f"blocked outside requests: {blocked}")


if __name__ == "__main__":
    main()
