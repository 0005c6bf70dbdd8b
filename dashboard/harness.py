"""Running the dashboard, and driving it in a browser, from outside Streamlit.

One place for what ``propmap serve``, the browser tests, the screenshots and
the benchmark all do: start ``streamlit run`` on a port with static serving
on, wait until it answers, and drive Debian's Chromium with every request to
another host blocked (offline, as on a government intranet).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
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
           "--server.enableStaticServing", "true", "--browser.gatherUsageStats", "false",
           # No file watcher: it rescanned every imported module's path on every page
           # run (a fifth of the server's time under 10 concurrent sessions, py-spy).
           "--server.fileWatcherType", "none", "--server.runOnSave", "false",
           # No full garbage collection after every page run: it took a fifth of the
           # server's time under 10 concurrent sessions (py-spy); Python's own collector
           # still runs, and propmap bench --sessions shows the memory stays flat.
           "--runner.postScriptGC", "false",
           # No "Download as CSV" on the tables: downloads are checked and audited buttons.
           "--client.disableDataExport", "true"]
    if address:
        cmd += ["--server.address", address]
    return cmd


#: Signals that stop ``propmap serve`` and, with it, the dashboard it runs.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child, before exec
    """In the child: be sent SIGTERM when the parent dies, even by SIGKILL (Linux)."""
    parent = os.getppid()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


class _Stop(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def stop(proc: subprocess.Popen[Any], *, grace_s: float = 15.0) -> None:
    """Stop ``proc``: SIGTERM, then SIGKILL if it has not exited after ``grace_s``."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_foreground(cmd: list[str], *, env: dict[str, str], cwd: Path) -> int:
    """Run ``cmd`` (the dashboard) until it exits or this process is told to stop.

    ``propmap serve`` used to leave its Streamlit child serving when it was sent
    SIGTERM (a service manager stopping it) because the default action ends the
    parent only. Here SIGTERM, SIGINT and SIGHUP stop the child first, and the
    child is also sent SIGTERM should this process die without a chance to (Linux
    ``PR_SET_PDEATHSIG``).

    Returns
    -------
    int
        The child's exit code, or 0 when it was stopped on request.
    """
    def on_signal(signum: int, _frame: FrameType | None) -> None:
        raise _Stop(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
    proc: subprocess.Popen[Any] | None = None
    try:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd,
                                preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        return proc.wait()
    except _Stop:
        return 0
    finally:
        if proc is not None:
            # A second signal while stopping must not leave the child behind.
            for sig in STOP_SIGNALS:
                signal.signal(sig, signal.SIG_IGN)
            stop(proc)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: The process id of each dashboard :func:`running` serves, by base URL (the load
#: benchmark reads the server's memory from it).
PIDS: dict[str, int] = {}


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
    PIDS[base] = proc.pid
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
        PIDS.pop(base, None)
        stop(proc)


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


def idle(page: Any, timeout_ms: int = 30_000) -> None:
    """Wait until Streamlit's run is over and nothing stale is left on the page."""
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]') "
        "&& !document.querySelector('[data-stale=\"true\"]')", timeout=timeout_ms)


def choose(page: Any, key: str, option: str, timeout_ms: int = 30_000, tries: int = 3) -> None:
    """Pick ``option`` in the selectbox whose widget key is ``key``, as a user does.

    Streamlit's select is a combobox with a button that opens its list. A rerun
    that lands between opening the list and clicking (a map reporting its first
    view does that) redraws the select and closes its list; then it is opened
    again, up to ``tries`` times.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    box = page.locator(f'.st-key-{key} [role="combobox"]')
    opener = page.locator(f'.st-key-{key} button[aria-haspopup="listbox"]')
    for attempt in range(tries):
        idle(page, timeout_ms)
        if box.get_attribute("aria-expanded", timeout=timeout_ms) != "true":
            opener.click(timeout=timeout_ms)
        item = page.get_by_role("option", name=option, exact=True)
        try:
            item.wait_for(timeout=5_000)
            item.click(timeout=5_000)
            return
        except PlaywrightTimeout:
            if attempt == tries - 1:
                raise


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


def rerun_message(page: str, query: str = "") -> bytes:
    """The back message a browser sends to run ``page`` (url path) with ``query``."""
    from streamlit.proto.BackMsg_pb2 import BackMsg

    msg = BackMsg()
    msg.rerun_script.query_string = query
    msg.rerun_script.page_name = page
    return msg.SerializeToString()


def read_message(raw: bytes) -> tuple[str, str]:
    """A forward message from the server as ``(kind, text)``.

    ``kind`` is ``script_finished``, an element's type for a new element
    (``markdown``, ``exception``, ``error`` for an error box …) or the message's type.
    """
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    msg = ForwardMsg()
    msg.ParseFromString(raw)
    kind = msg.WhichOneof("type") or ""
    if kind != "delta":
        return kind, ""
    element = msg.delta.new_element
    etype = element.WhichOneof("type") or ""
    if etype == "exception":
        return "exception", element.exception.message
    if etype == "alert":
        return ("error" if element.alert.format == 1 else "alert"), element.alert.body
    if etype == "markdown":
        return "markdown", element.markdown.body
    return etype, ""
