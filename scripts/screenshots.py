"""Take one screenshot per dashboard page (for the README) from a running dashboard.

Usage::

    propmap demo                          # the demo data
    propmap serve --port 8501 &           # the dashboard
    .venv/bin/python scripts/screenshots.py --url http://127.0.0.1:8501 --out docs/screenshots

Headless Debian Chromium (/usr/bin/chromium) at 1920×1080; every request to a
host other than the dashboard's is blocked, so the pictures prove the
dashboard works offline.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from urllib.parse import urlparse

from playwright.sync_api import Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'

#: (file name, URL path with query) of each page.
SHOTS = [
    ("overview.png", ""),
    ("drilldown.png", "drilldown?street={street}&compound={compound}"),
    ("worklist.png", "worklist?street={street}"),
    ("hotspots.png", "hotspots"),
    ("firms.png", "firms"),
    ("present.png", "present"),
]


def block_outside(page: Page, base: str) -> list[str]:
    """Abort every request not to ``base``'s host; return the list of those attempted."""
    host = urlparse(base).hostname
    blocked: list[str] = []

    def handle(route, request):  # type: ignore[no-untyped-def]
        h = urlparse(request.url).hostname
        if request.url.startswith(("data:", "blob:", "about:")) or h in (host, "localhost",
                                                                         "127.0.0.1"):
            route.continue_()
        else:
            blocked.append(request.url)
            route.abort()

    page.context.route("**/*", handle)
    return blocked


def wait_for_map(page: Page, timeout_ms: int = 30_000) -> None:
    """Wait until the (first) map's Leaflet layers are drawn.

    Leaflet gives shapes outside the view the empty path ``M0 0``; those
    never become visible, so the wait is for the first one in view.
    """
    page.wait_for_selector(MAP_FRAME, timeout=timeout_ms)
    page.frame_locator(MAP_FRAME).first.locator(
        'path.leaflet-interactive:not([d="M0 0"])').first.wait_for(timeout=timeout_ms)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8501")
    ap.add_argument("--out", default="docs/screenshots", type=Path)
    ap.add_argument("--street", default="522601005000")
    ap.add_argument("--compound", default=None)
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
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
        blocked = block_outside(page, args.url)
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
