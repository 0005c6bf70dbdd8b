"""The load scenario of ``propmap bench --sessions`` drives real, logged-in sessions.

Not a timed test (the numbers belong to the benchmark): it checks that every
simulated session is logged in through its cookie, that every page of the walk
runs to the end without an error, and that the server's memory is read.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from bench import load


def test_concurrent_sessions_each_load_every_page(demo: Engine) -> None:
    res = load.run(demo, sessions=3, rounds=2, say=lambda _m: None)
    assert res.failures == []
    assert [len(r) for r in res.loads] == [3 * len(load.WALK)] * 2
    assert all(t > 0 for t in res.after_warmup())
    assert len(res.rss) == 2 and min(res.rss) > 50 * 2**20
