"""Take one screenshot per dashboard page (for the README) from a running dashboard.

Usage::

    propmap demo                          # the demo data
    propmap serve --port 8501 &           # the dashboard
    .venv/bin/python scripts/screenshots.py --url http://127.0.0.1:8501 --out docs/screenshots \
        --user demo-leader --password '…'   # an account with its password changed

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
    ("firms.png", "firms"),
    ("present.png", "present"),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8501")
    ap.add_argument("--out", default="docs/screenshots", type=Path)
    ap.add_argument("--street", default="522601005000")
    ap.add_argument("--compound", default=None)
    ap.add_argument("--user", default=None, help="log in as this account (every page needs one)")
    ap.add_argument("--password", default=None)
    args = ap.parse_args()
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
        if args.user:
            login(page, args.url.rstrip("/"), args.user, args.password or "", 60_000)
        for name, path in SHOTS:
            target = path.format(street=args.street, compound=compound)
            page.goto(f"{args.url.rstrip('/')}/{target}")
            wait_for_map(page)
            time.sleep(1.5)
            page.screenshot(path=str(args.out / name), full_page=name != "present.png")
            print(f"{args.out / name}")
        browser.close()
    if blocked:
        raise SystemExit(f"blocked outside requests: {blocked}")


if __name__ == "__main__":
    main()
