"""Running the dashboard, and driving it in a browser, from outside Streamlit.

One place for what ``propmap serve``, the browser tests, the screenshots and
the benchmark all do: start ``streamlit run`` on a port with static serving
on, wait until it answers, and drive Debian's Chromium with every request to
another host blocked (offline, as on a government intranet).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlparse

APP = Path(__file__).resolve().with_name("app.py")
CHROMIUM = "/usr/bin/chromium"
#: Root in a container, no GPU, and none of Chromium's own calls home.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'


def streamlit_command(port: int, *, address: str | None = None,
                      headless: bool = True) -> list[str]:
    """The ``streamlit run`` command line for the dashboard (run it with cwd ``dashboard/``)."""
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port),
           "--server.headless", "true" if headless else "false",
           "--server.enableStaticServing", "true", "--browser.gatherUsageStats", "false"]
    if address:
        cmd += ["--server.address", address]
    return cmd


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running(database_url: str, *, log: IO[str] | None = None,
            timeout_s: float = 60.0) -> Iterator[str]:
    """Run the dashboard on ``database_url`` on a free loopback port; yield its base URL."""
    from dashboard import assets

    assets.ensure(say=lambda _m: None)
    port = free_port()
    from geo import roles

    # As propmap serve does: the dashboard knows the application role's URL only.
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["PROPMAP_APP_DATABASE_URL"] = roles.app_url(database_url)
    proc = subprocess.Popen(streamlit_command(port, address="127.0.0.1"), cwd=APP.parent,
                            env=env, stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            with contextlib.suppress(OSError):
                if urllib.request.urlopen(f"{base}/_stcore/health", timeout=1).status == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the dashboard did not start on {base}")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def block_outside(page: Any, base: str) -> list[str]:
    """Abort every request of ``page`` not to ``base``'s host; return those attempted."""
    host = urlparse(base).hostname
    blocked: list[str] = []

    def handle(route: Any, request: Any) -> None:
        h = urlparse(request.url).hostname
        if request.url.startswith(("data:", "blob:", "about:")) or h in (host, "localhost",
                                                                         "127.0.0.1"):
            route.continue_()
        else:
            blocked.append(request.url)
            route.abort()

    page.context.route("**/*", handle)
    return blocked


def wait_for_map(page: Any, timeout_ms: int = 30_000) -> None:
    """Wait until the (first) map's Leaflet layers are drawn and the app is idle.

    Leaflet gives shapes outside the view the empty path ``M0 0``; those
    never become visible, so the wait is for the first one in view.
    """
    page.wait_for_selector(MAP_FRAME, timeout=timeout_ms)
    page.frame_locator(MAP_FRAME).first.locator(
        'path.leaflet-interactive:not([d="M0 0"])').first.wait_for(timeout=timeout_ms)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms)


def login(page: Any, base: str, name: str, password: str, timeout_ms: int = 30_000) -> None:
    """Log in through the dashboard's login form, as a user does."""
    page.goto(base)
    page.get_by_label("账号").fill(name, timeout=timeout_ms)
    page.get_by_label("密码").fill(password, timeout=timeout_ms)
    page.get_by_role("button", name="登录", exact=True).click()
    page.get_by_text("当前用户").first.wait_for(timeout=timeout_ms)
    # the session cookie, so that the next navigation (a new Streamlit session) stays logged in
    page.wait_for_function("() => document.cookie.includes('propmap_session=')",
                           timeout=timeout_ms)
