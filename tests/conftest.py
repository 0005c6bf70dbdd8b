"""Shared fixtures: a real PostGIS test database, and the demo data on it.

The test database is ``DATABASE_URL`` with ``_test`` appended to its name
(``propmap_test`` locally), so the suite never touches the user's demo data.
Without a reachable PostGIS the fixtures fail: a test that needs PostGIS
never skips.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from geo import db, schema

#: The as-of date every demo fixture uses, so test data never depends on today.
AS_OF = dt.date(2026, 6, 30)
DEMO_CASES = 5_000


def test_url() -> str:
    explicit = os.environ.get("PROPMAP_TEST_DATABASE_URL")
    if explicit:
        return explicit
    base = make_url(db.ensure_local(say=lambda _m: None))
    return base.set(database=f"{base.database}_test").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    """An engine on a fresh test database with the schema and reference data."""
    eng = schema.fresh_database(test_url())
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def demo(engine: Engine) -> Engine:
    """The engine after the deterministic demo (seed 42, ``DEMO_CASES`` cases, ``AS_OF``).

    Tests that change data must restore it or use their own tables; tests that
    need a pristine demo call :func:`etl.demo.build` again.
    """
    from etl import demo as demo_mod

    demo_mod.build(engine, seed=42, n_cases=DEMO_CASES, as_of=AS_OF, say=lambda _m: None)
    return engine


def scalar(engine: Engine, sql: str, **params: object) -> object:
    with engine.connect() as con:
        return con.execute(sa.text(sql), params).scalar()


@contextlib.contextmanager
def scratch_database(suffix: str) -> Iterator[tuple[Engine, str]]:
    """A fresh database beside the test database (``<test db><suffix>``), dropped afterwards."""
    base = make_url(test_url())
    url = base.set(database=f"{base.database}{suffix}").render_as_string(hide_password=False)
    eng = schema.fresh_database(url)
    try:
        yield eng, url
    finally:
        eng.dispose()
        db.drop_database(url)
