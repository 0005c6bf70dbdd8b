"""``propmap bench --sessions 20``: many people at once, through Streamlit's own websocket.

A meeting room and the street offices open the dashboard at the same time. This
drives ``sessions`` concurrent sessions against one real ``streamlit run`` server on
a scratch database, speaking Streamlit's websocket protocol the way the browser
does (a ``rerun_script`` back message with the page and its query string; the
page is loaded when ``script_finished`` arrives), each session logged in with
its own session cookie. Each session walks the pages a user opens in a
meeting (overview, a street's drill-down, hotspots, the worklist, the meeting
page), ``rounds`` times, starting together. It reports the median and 90th
percentile page load over every page run after the first round (the warm-up),
and the server's memory (resident set of the Streamlit process) after each
round, so a leak shows as growth from round to round.

No browser draws the map here: the time is the server's (every query, the map
built and sent), which is what many sessions share; the first map render in a
browser is measured separately (``browser_s``).
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

Say = Callable[[str], None]

#: The pages a session opens, in order: (url path of the page, query string).
WALK = (("", ""), ("drilldown", "street={street}"), ("hotspots", ""),
        ("worklist", "street={street}"), ("present", ""))
PASSWORD = "Load-Passw0rd!"


@dataclass
class LoadResult:
    """Page loads (seconds) per round, and the server's memory (bytes) after each round."""

    sessions: int
    rounds: int
    loads: list[list[float]] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def after_warmup(self) -> list[float]:
        return [t for r in self.loads[1:] for t in r] or [t for r in self.loads for t in r]

    def median(self) -> float:
        return statistics.median(self.after_warmup())

    def p90(self) -> float:
        values = sorted(self.after_warmup())
        return values[max(0, round(0.9 * len(values)) - 1)]

    def memory_growth(self) -> float:
        """Relative growth of the server's memory from the end of round 2 to the last."""
        if len(self.rss) < 3:
            return 0.0
        return self.rss[-1] / self.rss[1] - 1


def _rss(pid: int) -> int:
    """Resident memory of process ``pid`` and its children, in bytes (Linux /proc)."""
    total = 0
    pids = [pid]
    with contextlib.suppress(OSError):
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    for p in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    return total


async def _page(ws: Any, page: str, query: str, timeout: float) -> float:
    """Ask for ``page`` on an open session; seconds until the script finished."""
    from dashboard import harness

    t0 = time.perf_counter()
    await ws.send(harness.rerun_message(page, query))
    signed_in = False
    while True:
        kind, text = harness.read_message(await asyncio.wait_for(ws.recv(), timeout=timeout))
        if kind in ("exception", "error"):
            raise RuntimeError(text)
        signed_in |= kind == "markdown" and "当前用户" in text
        if kind == "script_finished":
            if not signed_in:  # a login form loads fast: that would be no page at all
                raise RuntimeError("the session was not logged in")
            return time.perf_counter() - t0


async def _session(base: str, token: str, street: str, rounds: int, start: asyncio.Event,
                   loads: list[list[float]], failures: list[str], timeout: float,
                   after_round: Callable[[int], Any]) -> None:
    from websockets.asyncio.client import connect

    uri = base.replace("http://", "ws://") + "/_stcore/stream"
    async with connect(uri, subprotocols=["streamlit"],  # type: ignore[list-item]
                       additional_headers={"Cookie": f"propmap_session={token}"},
                       max_size=None) as ws:
        await start.wait()
        for r in range(rounds):
            for page, query in WALK:
                try:
                    loads[r].append(await _page(ws, page, query.format(street=street), timeout))
                except Exception as exc:  # a page that fails is reported, not hidden
                    failures.append(f"{page or 'overview'}: {type(exc).__name__}: {exc}")
            await after_round(r)


async def _drive(base: str, tokens: list[str], street: str, rounds: int, pid: int,
                 timeout: float, say: Say) -> LoadResult:
    res = LoadResult(sessions=len(tokens), rounds=rounds,
                     loads=[[] for _ in range(rounds)])
    start = asyncio.Event()
    done = [0] * rounds
    barrier = [asyncio.Event() for _ in range(rounds)]

    async def after_round(r: int) -> None:
        done[r] += 1
        if done[r] == len(tokens):
            res.rss.append(_rss(pid))
            times = res.loads[r]
            say(f"  第 {r + 1} 轮：{len(times)} 次页面加载，中位数 "
                f"{statistics.median(times):.2f} 秒，最长 {max(times):.2f} 秒，"
                f"服务器内存 {res.rss[-1] / 2**20:.0f} MB")
            barrier[r].set()
        await barrier[r].wait()

    tasks = [asyncio.create_task(_session(base, t, street, rounds, start, res.loads,
                                          res.failures, timeout, after_round))
             for t in tokens]
    await asyncio.sleep(0.5)  # every websocket open before the first page is asked for
    start.set()
    await asyncio.gather(*tasks)
    return res


def _tokens(engine: Engine, n: int) -> list[str]:
    """``n`` logged-in sessions of a leader account, as the login form opens them."""
    from geo import auth, db, roles

    with engine.begin() as con:
        con.execute(sa.text("DELETE FROM accounts WHERE name = 'load-leader'"))
        auth.add_user(con, "load-leader", "leader", password=PASSWORD, must_change=False,
                      by="propmap bench")
    app = db.make_engine(roles.app_url(engine.url.render_as_string(hide_password=False)))
    tokens = []
    try:
        for _ in range(n):
            token = auth.new_session_token()
            with app.begin() as con:
                if auth.login(con, "load-leader", PASSWORD, "propmap bench", token).account \
                        is None:
                    raise RuntimeError("the load account could not log in")
            tokens.append(token)
    finally:
        app.dispose()
    return tokens


@contextlib.contextmanager
def _server(engine: Engine) -> Iterator[tuple[str, int]]:
    from dashboard import harness

    with harness.running(engine.url.render_as_string(hide_password=False),
                         timeout_s=120) as base:
        yield base, harness.PIDS[base]


def run(engine: Engine, sessions: int, rounds: int, say: Say = print,
        timeout: float = 120.0) -> LoadResult:
    """Drive ``sessions`` concurrent sessions for ``rounds`` walks on a server over ``engine``."""
    with engine.connect() as con:
        street = str(con.execute(sa.text(
            "SELECT street_code FROM compounds WHERE is_sanwu GROUP BY 1 "
            "ORDER BY count(*) DESC, 1 LIMIT 1")).scalar())
    tokens = _tokens(engine, sessions)
    with _server(engine) as (base, pid):
        say(f"  {sessions} 个会话同时访问 {base}，每个会话 {rounds} 轮、每轮 {len(WALK)} 个页面 …")
        return asyncio.run(_drive(base, tokens, street, rounds, pid, timeout, say))
