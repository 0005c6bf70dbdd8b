"""Shared fixtures: a real PostGIS test database, and the demo data on it.

The test database is ``DATABASE_URL`` with ``_test`` appended to its name
(``propmap_test`` locally), so the suite never touches the user's demo data.
Without a reachable PostGIS the fixtures fail: a test that needs PostGIS
never skips.

Every test that uses the database is marked ``db`` here, at collection, so
``pytest -m "not db"`` runs the pure tests alone, in seconds. A test uses the
database when it (or any fixture it depends on) calls one of :data:`DB_HELPERS`
or requests the ``engine`` fixture; nobody has to remember to mark it, and CI
runs the pure tests with no database reachable, so a test that reached the
database unmarked would fail there. A skipped test fails the run: what a test
needs is installed by ``scripts/bootstrap``, so a skip would only hide it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import inspect
import os
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from geo import db, schema

#: The as-of date every demo fixture uses, so test data never depends on today.
AS_OF = dt.date(2026, 6, 30)
DEMO_CASES = 5_000


#: The functions of this module that reach the database; a test or fixture whose code
#: names one of them uses the database (as does every test depending on ``engine``).
DB_HELPERS = frozenset({"test_url", "scratch_database", "scalar"})


def _uses_database(fn: object, seen: set[int] | None = None) -> bool:
    """Whether ``fn``'s code names a helper of :data:`DB_HELPERS`, or calls a function of
    its own module that does (followed through the module, any depth)."""
    fn = inspect.unwrap(fn) if callable(fn) else fn
    code = getattr(fn, "__code__", None)
    if code is None:
        return False
    seen = seen if seen is not None else set()
    if id(code) in seen:
        return False
    seen.add(id(code))
    names = set(code.co_names)
    if DB_HELPERS & names:
        return True
    module = getattr(fn, "__globals__", {})
    return any(_uses_database(module[n], seen) for n in names
               if inspect.isfunction(module.get(n))
               and getattr(module[n], "__module__", None) == module.get("__name__"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark ``db`` every test that uses the database, directly or through a fixture."""
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        names = set(getattr(item, "fixturenames", ()))
        fixtures = [d.func for defs in (info.name2fixturedefs.values() if info else ())
                    for d in defs]
        if ("engine" in names or _uses_database(getattr(item, "function", None))
                or any(_uses_database(f) for f in fixtures)):
            item.add_marker(pytest.mark.db)


_SKIPPED: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _SKIPPED.append(report.nodeid)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _SKIPPED:
        terminalreporter.write_line(
            f"{len(_SKIPPED)} skipped test(s) fail the run: tests here fail, never skip",
            red=True)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _SKIPPED and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


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


@contextlib.contextmanager
def _dashboard(engine: Engine, log_name: str) -> Iterator[str]:
    """The real dashboard (``streamlit run``) on ``engine``'s database; its log in artifacts."""
    from dashboard import harness

    artifacts = __import__("pathlib").Path(__file__).resolve().parent / "artifacts"
    artifacts.mkdir(exist_ok=True)
    with open(artifacts / log_name, "w") as log, harness.running(
            engine.url.render_as_string(hide_password=False), log=log) as base:
        yield base


@pytest.fixture(scope="session")
def server(demo: Engine) -> Iterator[str]:
    """The real dashboard (``streamlit run``) on the demo test database, for browser tests."""
    with _dashboard(demo, "streamlit-test.log") as base:
        yield base


#: Cases of the second demo (:func:`big_demo`): the demo's default, so that a firm's
#: quarter has cases enough for the credit model's minimum samples.
BIG_DEMO_CASES = 20_000


@pytest.fixture(scope="session")
def big_demo() -> Iterator[Engine]:
    """A second demo database (``<test db>_big``) with :data:`BIG_DEMO_CASES` cases, dropped
    at the end: credit scores, lists and the pages that write them. Tests that write to it
    may commit (it is theirs); they must not rely on another test's writes."""
    from etl import demo as demo_mod

    with scratch_database("_big") as (eng, _url):
        demo_mod.build(eng, seed=42, n_cases=BIG_DEMO_CASES, as_of=AS_OF, say=lambda _m: None)
        yield eng
        # Pages run in this process (AppTest) keep the dashboard role's engine cached; its
        # connections must close before the owner, who may not end them, drops the database.
        for obj in gc.get_objects():
            if isinstance(obj, Engine) and obj.url.database == eng.url.database:
                obj.dispose()


@pytest.fixture(scope="session")
def big_accounts(big_demo: Engine) -> dict[str, str]:
    """One account per kind on :func:`big_demo` (password :data:`TEST_PASSWORD`)."""

    with big_demo.begin() as con:
        street = con.execute(sa.text(
            "SELECT street_code FROM compounds WHERE owners_committee = 'established' "
            "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")).scalar()
        community = con.execute(sa.text(
            "SELECT community_id FROM compounds WHERE street_code = :s GROUP BY 1 "
            "ORDER BY count(*) DESC, 1 LIMIT 1"), {"s": street}).scalar()
        return _test_accounts(con, str(street), community)


@pytest.fixture(scope="session")
def big_server(big_demo: Engine) -> Iterator[str]:
    """The real dashboard on :func:`big_demo`, for browser tests of the credit pages."""
    with _dashboard(big_demo, "streamlit-big.log") as base:
        yield base


def _test_accounts(con: sa.Connection, street: str, community: object) -> dict[str, str]:
    """One ``t-<kind>`` account per kind (password :data:`TEST_PASSWORD`); the street and
    community accounts cover ``street`` and ``community``. Returns kind → login name."""
    from geo import auth

    scopes: dict[str, dict[str, object]] = {
        "street": {"streets": (street,)}, "community": {"community": community},
        "dept": {"dept": "fire"}}
    names = {}
    for kind in ("leader", "housing", "street", "community", "dept", "viewer", "admin"):
        names[kind] = f"t-{kind}"
        auth.add_user(con, f"t-{kind}", kind, password=TEST_PASSWORD, must_change=False,
                      by="tests", **scopes.get(kind, {}))  # type: ignore[arg-type]
    return names


#: The password of every test account (strong enough for the password rules).
TEST_PASSWORD = "Test-Passw0rd!"


@pytest.fixture
def accounts(demo: Engine) -> dict[str, str]:
    """One account per kind on the demo test database (password :data:`TEST_PASSWORD`).

    Made afresh for each test: a test that rebuilds the demo or migrates down and up
    again takes the accounts with it.

    Returns kind → login name. Street and community accounts cover the street office
    with the most 三无 compounds and its busiest community.
    """

    with demo.begin() as con:
        street = con.execute(sa.text(
            "SELECT street_code FROM compounds WHERE is_sanwu GROUP BY 1 "
            "ORDER BY count(*) DESC, 1 LIMIT 1")).scalar()
        community = con.execute(sa.text(
            "SELECT community_id FROM cases WHERE street_code = :s GROUP BY 1 "
            "ORDER BY count(*) DESC, 1 LIMIT 1"), {"s": street}).scalar()
        con.execute(sa.text("DELETE FROM accounts WHERE name LIKE 't-%'"))
        return _test_accounts(con, str(street), community)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium (never Playwright's download), for one test module.

    Module-scoped: Playwright's sync API cannot run twice at once in a thread, and some
    modules start their own for a page with its own server.
    """
    from playwright.sync_api import sync_playwright

    from dashboard.harness import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def scalar(engine: Engine, sql: str, **params: object) -> Any:
    """The one value ``sql`` returns (whatever its type: the test compares it)."""
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
