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


@pytest.fixture(scope="session")
def server(demo: Engine) -> Iterator[str]:
    """The real dashboard (``streamlit run``) on the demo test database, for browser tests."""
    from dashboard import harness

    artifacts = __import__("pathlib").Path(__file__).resolve().parent / "artifacts"
    artifacts.mkdir(exist_ok=True)
    with open(artifacts / "streamlit-test.log", "w") as log, harness.running(
            demo.url.render_as_string(hide_password=False), log=log) as base:
        yield base


#: The password of every test account (strong enough for the password rules).
TEST_PASSWORD = "Test-Passw0rd!"


@pytest.fixture(scope="session")
def accounts(demo: Engine) -> dict[str, str]:
    """One account per kind on the demo test database (password :data:`TEST_PASSWORD`).

    Returns kind → login name. Street and community accounts cover the street office
    with the most 三无 compounds and its busiest community.
    """
    from geo import auth

    with demo.begin() as con:
        street = con.execute(sa.text(
            "SELECT street_code FROM compounds WHERE is_sanwu GROUP BY 1 "
            "ORDER BY count(*) DESC, 1 LIMIT 1")).scalar()
        community = con.execute(sa.text(
            "SELECT community_id FROM cases WHERE street_code = :s GROUP BY 1 "
            "ORDER BY count(*) DESC, 1 LIMIT 1"), {"s": street}).scalar()
        con.execute(sa.text("DELETE FROM accounts WHERE name LIKE 't-%'"))
        scopes: dict[str, dict[str, object]] = {
            "street": {"streets": (street,)}, "community": {"community": community},
            "dept": {"dept": "fire"}}
        names = {}
        for kind in ("leader", "housing", "street", "community", "dept", "viewer", "admin"):
            names[kind] = f"t-{kind}"
            auth.add_user(con, f"t-{kind}", kind, password=TEST_PASSWORD, must_change=False,
                          by="tests", **scopes.get(kind, {}))  # type: ignore[arg-type]
    return names


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


def app_test(engine: Engine, monkeypatch: pytest.MonkeyPatch, kind: str = "leader",
             **scope: object) -> object:
    """An AppTest of the dashboard on ``engine``'s database, logged in as an account of ``kind``.

    The login form itself is tested in tests/test_accounts.py; here the session
    starts logged in (the account is put where the login form puts it), and
    every query runs as the application role under that account's scope.
    """
    from streamlit.testing.v1 import AppTest

    from geo.auth import Account
    from geo.scope import Scope

    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.delenv("PROPMAP_APP_DATABASE_URL", raising=False)
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["account"] = Account(f"test-{kind}", f"测试账号（{kind}）",
                                          Scope(kind, account=f"test-{kind}", **scope),  # type: ignore[arg-type]
                                          False)
    return at


APP = str(__import__("pathlib").Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
