"""Take the dashboard's screenshots (for the README and docs/) from a running dashboard.

Usage::

    propmap demo --as-of 2026-06-30       # the demo data (prints the demo accounts)
    propmap serve --port 8501 &           # the dashboard
    .venv/bin/python scripts/screenshots.py --url http://127.0.0.1:8501 \\
        --user demo-leader --password '…' --out docs/screenshots

Logs in as the account given (a leader sees every page), then takes each page in
headless Debian Chromium (/usr/bin/chromium), at 1920×1080 unless the shot says
otherwise (the meeting screen also at 1366×768); a page taller than the window is
taken whole. Every request to a host other than the dashboard's is blocked, so
the pictures prove the dashboard works offline.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from dashboard import harness
from dashboard.harness import CHROMIUM, CHROMIUM_ARGS, block_outside, wait_for_map

#: (file name, URL path with query, window size, whether a map is drawn, whole page).
SHOTS: list[tuple[str, str, tuple[int, int], bool, bool]] = [
    ("overview.png", "?period=q", (1920, 1080), True, True),
    ("drilldown.png", "drilldown?street={street}&compound={compound}", (1920, 1080), True, True),
    ("worklist.png", "worklist?street={street}", (1920, 1080), True, True),
    ("hotspots.png", "hotspots", (1920, 1080), True, True),
    ("hotspots-emerging.png", "hotspots", (1920, 1080), True, False),
    ("firms.png", "firms?firm={firm}", (1920, 1080), True, False),
    ("firm-profile.png", "firms?firm={firm}", (1920, 1080), True, False),
    ("credit.png", "credit", (1920, 1080), False, False),
    ("coverage.png", "coverage", (1920, 1080), True, False),
    ("present.png", "present?period=q&step=overview", (1920, 1080), True, False),
    ("present-1366.png", "present?period=q&step=overview", (1366, 768), True, False),
    ("present-streets.png", "present?period=q&step=streets", (1920, 1080), True, False),
    ("present-departments.png", "present?period=q&step=departments", (1366, 768), False, False),
    ("present-hotspots.png", "present?period=q&step=hotspots", (1920, 1080), True, False),
    ("present-sanwu.png", "present?period=q&step=sanwu", (1366, 768), True, False),
    ("present-typical.png", "present?period=q&step=typical", (1366, 768), False, False),
    ("cases.png", "cases?period=q&level=city&reopened=yes&case={case}", (1920, 1080), False,
     True),
    ("typical.png", "typical?quarter={quarter}", (1920, 1080), False, True),
]
#: Pages without a map: wait for this text instead.
NO_MAP = {"credit.png": "当前红黑榜"}
#: Shots of a part further down the page: scroll to this text first.
SCROLL_TO = {"firm-profile.png": "企业档案："}
#: Shots of a switched view: click the switch with this text, wait for its legend.
SWITCH = {"hotspots-emerging.png": "时空热点模式"}


def _settle(page: Any) -> None:
    """Wait until the run is over: no running indicator, no stale element, no skeleton."""
    time.sleep(1.0)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]') "
        "&& !document.querySelector('[data-stale=\"true\"]') "
        "&& !document.querySelector('[data-testid=\"stSkeleton\"]')", timeout=60_000)
    time.sleep(1.5)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8501")
    ap.add_argument("--out", default="docs/screenshots", type=Path)
    ap.add_argument("--user", default="demo-leader")
    ap.add_argument("--password", default=os.environ.get("PROPMAP_SCREENSHOT_PASSWORD", ""))
    ap.add_argument("--street", default="522601005000")
    ap.add_argument("--compound", default=None)
    ap.add_argument("--firm", default=None, help="the firm whose profile firms.png shows")
    ap.add_argument("--only", nargs="*", default=None, help="take only these files")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    import sqlalchemy as sa

    from geo import credit, measures, periods
    from geo.db import make_engine

    with make_engine().connect() as con:
        compound = args.compound or con.execute(sa.text(
            "SELECT id FROM compounds WHERE street_code = :s AND is_sanwu ORDER BY id LIMIT 1"),
            {"s": args.street}).scalar()
        case = con.execute(sa.text(
            "SELECT id FROM cases WHERE level = 'city' AND reopen_count > 0 "
            "AND escalations <> '{}' ORDER BY received_at DESC LIMIT 1")).scalar()
        quarter = periods.quarter_name(measures.cutoff_day(con))
        firm = args.firm
        if firm is None:  # a flagged firm, so that the profile shows every part
            ev = credit.evaluate(con, "firm")
            firm = next(iter(ev.flags), next(iter(ev.subjects)))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for name, path, (width, height), has_map, whole in SHOTS:
            if args.only and name not in args.only:
                continue
            context = browser.new_context(viewport={"width": width, "height": height},
                                          locale="zh-CN")
            page = context.new_page()
            blocked = block_outside(page, args.url)
            harness.login(page, args.url.rstrip("/"), args.user, args.password, 60_000)
            target = path.format(street=args.street, compound=compound, case=case,
                                 quarter=quarter, firm=firm)
            page.goto(f"{args.url.rstrip('/')}/{target}")
            if "step=" in target:  # 会议展示: the agenda item is drawn
                step = target.split("step=")[1].split("&")[0]
                page.locator(f'.pm-step[data-step="{step}"]').wait_for(state="attached",
                                                                       timeout=60_000)
            if name in NO_MAP:
                page.get_by_text(NO_MAP[name]).first.wait_for(timeout=60_000)
            elif has_map:
                wait_for_map(page, 60_000)
            if name in SWITCH:
                page.get_by_text(SWITCH[name], exact=True).first.click()
                page.locator(".pm-legend").filter(has_text=f"{SWITCH[name]}：").first.wait_for()
                wait_for_map(page, 60_000)
            _settle(page)
            if name in SCROLL_TO:
                page.get_by_text(SCROLL_TO[name]).first.evaluate(
                    "e => e.scrollIntoView({block: 'start'})")
                _settle(page)
            if whole:  # Streamlit scrolls inside its main block: grow the window to it
                tall = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]')"
                                     ".scrollHeight")
                page.set_viewport_size({"width": width, "height": min(int(tall) + 40, 6000)})
                _settle(page)
            page.screenshot(path=str(args.out / name))
            print(f"{args.out / name}")
            context.close()
            if blocked:
                raise SystemExit(f"blocked outside requests: {blocked}")
        browser.close()


if __name__ == "__main__":
    main()
