"""The login in front of the dashboard, in Chromium: first login, logout, idle expiry, lockout.

A server of its own runs with a short idle time (6 s) and three failures before
a lockout, so each behaviour can be seen in seconds; every step is checked in
the audit log too. No request leaves the machine.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dashboard import harness
from dashboard.harness import CHROMIUM, CHROMIUM_ARGS, block_outside
from geo import auth
from tests.conftest import TEST_PASSWORD
from tests.test_browser import ARTIFACTS, TIMEOUT_MS, screenshot_on_failure

pytestmark = pytest.mark.browser

SETTINGS = {"PROPMAP_SESSION_IDLE_MINUTES": "0.1", "PROPMAP_LOGIN_MAX_FAILURES": "3",
            "PROPMAP_LOGIN_LOCKOUT_MINUTES": "10"}


@pytest.fixture(scope="module")
def strict_server(demo: Engine) -> Iterator[str]:
    saved = {k: os.environ.get(k) for k in SETTINGS}
    os.environ.update(SETTINGS)
    try:
        ARTIFACTS.mkdir(exist_ok=True)
        with open(ARTIFACTS / "streamlit-login.log", "w") as log, harness.running(
                demo.url.render_as_string(hide_password=False), log=log) as base:
            yield base
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture
def page(strict_server: str, request: pytest.FixtureRequest) -> Iterator[tuple[object, list[str]]]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = b.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
        pg = context.new_page()
        pg.set_default_timeout(TIMEOUT_MS)
        blocked = block_outside(pg, strict_server)
        yield pg, blocked
        context.close()
        b.close()


def _new_account(demo: Engine, must_change: bool = False) -> tuple[str, str]:
    name = f"t-web-{time.monotonic_ns()}"
    with demo.begin() as con:
        pw = auth.add_user(con, name, "leader", password=None if must_change else TEST_PASSWORD,
                           must_change=must_change, by="tests")
    return name, pw


def _events(demo: Engine, name: str) -> list[str]:
    with demo.connect() as con:
        return list(con.execute(sa.text(
            "SELECT event FROM audit_log WHERE account = :n ORDER BY id"), {"n": name}).scalars())


def _fill_login(pg, base: str, name: str, password: str) -> None:  # type: ignore[no-untyped-def]
    pg.goto(base)
    pg.get_by_label("账号").fill(name)
    pg.get_by_label("密码").fill(password)
    pg.get_by_role("button", name="登录", exact=True).click()


def test_nothing_is_shown_before_login(page, strict_server: str) -> None:  # type: ignore[no-untyped-def]
    pg, blocked = page
    for path in ("", "drilldown", "worklist", "hotspots", "firms", "present", "admin"):
        pg.goto(f"{strict_server}/{path}")
        pg.get_by_role("button", name="登录", exact=True).wait_for()
        assert pg.locator(".pm-kpi").count() == 0
        assert pg.locator('[data-testid="stDownloadButton"]').count() == 0
    assert blocked == []


def test_first_login_changes_the_password_then_logout(page, strict_server: str,  # type: ignore[no-untyped-def]
                                                      demo: Engine) -> None:
    pg, blocked = page
    name, once = _new_account(demo, must_change=True)
    with screenshot_on_failure(pg, "first-login"):
        _fill_login(pg, strict_server, name, once)
        pg.get_by_text("首次登录：请修改密码").wait_for()
        assert pg.locator(".pm-kpi").count() == 0  # no figures before the password is changed
        boxes = pg.locator('input[type="password"]')
        boxes.nth(0).fill(once)
        boxes.nth(1).fill("Brand-New-pw9")
        boxes.nth(2).fill("Brand-New-pw9")
        pg.get_by_role("button", name="修改密码并继续").click()
        pg.get_by_text("当前用户").first.wait_for()
        # the change ended the old session and opened a new one, whose cookie a reload keeps
        pg.wait_for_timeout(500)
        pg.reload()
        pg.get_by_text("当前用户").first.wait_for()
        pg.get_by_role("button", name="退出登录").click()
        pg.get_by_role("button", name="登录", exact=True).wait_for()
        pg.reload()  # the session is over in the database and the cookie is gone
        pg.get_by_role("button", name="登录", exact=True).wait_for()
        assert pg.get_by_text("当前用户").count() == 0
    assert _events(demo, name) == ["login", "password_changed", "login", "logout"]
    assert blocked == []


def test_an_idle_session_is_logged_out(page, strict_server: str, demo: Engine) -> None:  # type: ignore[no-untyped-def]
    pg, _blocked = page
    name, pw = _new_account(demo)
    with screenshot_on_failure(pg, "idle"):
        harness.login(pg, strict_server, name, pw, TIMEOUT_MS)
        pg.reload()
        pg.get_by_text("当前用户").first.wait_for()  # a reload keeps the session
        time.sleep(7.0)
        pg.reload()
        pg.get_by_text("未操作").first.wait_for()
        pg.get_by_role("button", name="登录", exact=True).wait_for()
    assert _events(demo, name)[-1] == "session_expired"


def test_repeated_failures_lock_the_account(page, strict_server: str, demo: Engine) -> None:  # type: ignore[no-untyped-def]
    pg, _blocked = page
    name, pw = _new_account(demo)
    with screenshot_on_failure(pg, "lockout"):
        for _ in range(3):
            _fill_login(pg, strict_server, name, "wrong-password")
        pg.get_by_text("账号已暂时锁定").wait_for()
        _fill_login(pg, strict_server, name, pw)  # even the right password, while locked
        pg.get_by_text("账号已暂时锁定").wait_for()
    events = _events(demo, name)
    assert events.count("lockout") == 1 and "login" not in events


def test_a_download_after_the_session_ended_makes_no_file(page, strict_server: str,  # type: ignore[no-untyped-def]
                                                         demo: Engine) -> None:
    """A download button already on screen is still clickable after the session ended
    (Streamlit keeps the file's maker until the next run): it makes no file then."""
    pg, blocked = page
    name, pw = _new_account(demo)
    got: list[object] = []
    with screenshot_on_failure(pg, "download-expired"):
        harness.login(pg, strict_server, name, pw, TIMEOUT_MS)
        pg.goto(f"{strict_server}/hotspots")
        button = pg.get_by_role("button", name="下载未整改隐患清单（Excel）")
        button.wait_for()
        time.sleep(7.0)  # idle past this server's limit (0.1 minute): the session is over
        pg.on("download", lambda d: got.append(d))
        button.click()
        pg.wait_for_timeout(4000)
    made = [d for d in got if d.failure() is None]  # type: ignore[attr-defined]
    assert made == [], [d.suggested_filename for d in made]  # type: ignore[attr-defined]
    assert "download" not in _events(demo, name)
    assert blocked == []
