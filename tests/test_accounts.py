"""Accounts and scopes, enforced by PostgreSQL: as the dashboard's own database role, in SQL.

The dashboard connects as the application role; every transaction switches to
the account's scope role (:class:`geo.scope.Scope`). These tests run as that
role directly and compare with the same questions asked as the table owner.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from geo import auth, db, roles
from geo.scope import Scope
from tests import conftest
from tests.conftest import TEST_PASSWORD, scalar


@pytest.fixture(scope="module")
def app(demo: Engine) -> Iterator[Engine]:
    """The dashboard's engine: the application role on the demo test database."""
    eng = db.make_engine(roles.app_url(conftest.test_url()))
    yield eng
    eng.dispose()


def _count(app: Engine, scope: Scope | None, sql: str, **params: object) -> Any:
    with app.begin() as con:
        if scope is not None:
            scope.apply(con)
        return con.execute(sa.text(sql), params).scalar()


def _street(demo: Engine) -> str:
    return str(scalar(demo, "SELECT street_code FROM cases GROUP BY 1 ORDER BY count(*) DESC "
                            "LIMIT 1"))


def test_the_dashboard_role_is_neither_superuser_nor_owner(app: Engine, demo: Engine) -> None:
    with app.connect() as con:
        me, superuser = con.execute(sa.text(
            "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")).one()
        owners = set(con.execute(sa.text(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")).scalars())
    assert me == roles.app_role() and not superuser and me not in owners
    # and the local owner is no superuser either (it may create databases, nothing more)
    assert scalar(demo, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user") is False


def test_without_a_scope_the_dashboard_role_sees_no_row(app: Engine) -> None:
    for table in ("cases", "compounds", "hazards", "case_events", "communities"):
        assert _count(app, None, f"SELECT count(*) FROM {table}") == 0, table
    # while the areas' outlines and the reference lists are there for everyone
    assert _count(app, None, "SELECT count(*) FROM streets") == 20


@pytest.mark.parametrize("kind", ["leader", "street", "dept", "viewer", "admin"])
def test_personal_data_and_password_hashes_are_refused(app: Engine, demo: Engine,
                                                       kind: str) -> None:
    scope = Scope(kind, streets=(_street(demo),) if kind == "street" else (),
                  dept="fire" if kind == "dept" else None)
    for sql in ("SELECT * FROM complainants", "SELECT pw_hash FROM accounts",
                "SELECT * FROM sessions"):
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            _count(app, scope, sql)


def test_a_street_scope_sees_its_street_only(app: Engine, demo: Engine) -> None:
    street = _street(demo)
    scope = Scope("street", streets=(street,))
    assert _count(app, scope, "SELECT count(*) FROM cases") == scalar(
        demo, "SELECT count(*) FROM cases WHERE street_code = :s", s=street)
    assert _count(app, scope, "SELECT count(DISTINCT street_code) FROM cases") == 1
    assert _count(app, scope, "SELECT count(*) FROM compounds") == scalar(
        demo, "SELECT count(*) FROM compounds WHERE street_code = :s", s=street)
    assert _count(app, scope, "SELECT count(*) FROM hazards") == scalar(
        demo, "SELECT count(*) FROM hazards h JOIN compounds x ON x.id = h.compound_id "
              "WHERE x.street_code = :s", s=street)
    assert _count(app, scope, "SELECT count(*) FROM communities WHERE street_code <> :s",
                  s=street) == 0


def test_a_community_scope_sees_its_community_only(app: Engine, demo: Engine) -> None:
    community = int(scalar(demo, "SELECT community_id FROM cases WHERE community_id IS NOT NULL "  # type: ignore[arg-type]
                                 "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"))
    scope = Scope("community", community_id=community)
    assert _count(app, scope, "SELECT count(*) FROM cases") == scalar(
        demo, "SELECT count(*) FROM cases WHERE community_id = :c", c=community)
    assert _count(app, scope, "SELECT count(*) FROM compounds WHERE community_id <> :c",
                  c=community) == 0


def test_a_department_sees_its_cases_and_its_themes_hazards_city_wide(
        app: Engine, demo: Engine) -> None:
    scope = Scope("dept", dept="fire", themes=("fire",))
    expected = scalar(demo, """SELECT count(*) FROM cases c WHERE c.lead_dept = 'fire'
        OR 'fire' = ANY (c.co_depts) OR c.category_code IN (
            SELECT code FROM categories WHERE theme = 'fire')""")
    assert _count(app, scope, "SELECT count(*) FROM cases") == expected
    assert _count(app, scope, "SELECT count(*) FROM hazards") == scalar(
        demo, "SELECT count(*) FROM hazards WHERE theme = 'fire'")
    assert _count(app, scope, "SELECT count(DISTINCT street_code) FROM cases") > 5  # city-wide


def test_the_meeting_screen_sees_figures_but_no_case_text(app: Engine, demo: Engine) -> None:
    viewer = Scope("viewer")
    assert _count(app, viewer, "SELECT count(*) FROM cases") == scalar(
        demo, "SELECT count(*) FROM cases")
    for col in ("content", "address"):
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            _count(app, viewer, f"SELECT {col} FROM cases LIMIT 1")
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        _count(app, viewer, "SELECT * FROM cases LIMIT 1")


def test_the_meeting_screen_gets_no_cases_own_coordinates(app: Engine, demo: Engine) -> None:
    """A pending case's point marks a building; the viewer's map places it on its compound
    (or a 200 m grid), while a leader's map keeps the case's own point."""
    from layers import pending_cases
    from layers.filters import Filters

    street = _street(demo)
    f = Filters.year_to(conftest.AS_OF).area(street)
    shown = {}
    for kind in ("viewer", "leader"):
        with app.begin() as con:
            Scope(kind, account=f"t-{kind}").apply(con)
            shown[kind] = {ft["properties"]["id"]: ft["geometry"]["coordinates"]
                           for ft in pending_cases.query(con, f).features}
    assert shown["viewer"].keys() == shown["leader"].keys() and shown["viewer"]
    with demo.connect() as con:
        rows = con.execute(sa.text(
            "SELECT c.id, ST_X(p) AS x, ST_Y(p) AS y, ST_X(c.geom) AS cx, ST_Y(c.geom) AS cy "
            "FROM cases c LEFT JOIN compounds m ON m.id = c.compound_id, "
            "LATERAL (SELECT coalesce(ST_PointOnSurface(m.geom), "
            "ST_SnapToGrid(c.geom, :g)) AS p) q WHERE c.id = ANY(:ids)"),
            {"g": pending_cases.VIEWER_GRID_DEG, "ids": list(shown["viewer"])}).all()
    moved = 0
    for r in rows:
        assert shown["viewer"][r.id] == pytest.approx([r.x, r.y], abs=1e-5)
        if r.cx is not None:
            assert shown["leader"][r.id] == pytest.approx([r.cx, r.cy], abs=1e-5)
            moved += shown["viewer"][r.id] != shown["leader"][r.id]
    assert moved > 0


def test_the_audit_log_is_append_only(app: Engine, demo: Engine) -> None:
    leader = Scope("leader", account="t-audit")
    with app.begin() as con:
        leader.apply(con)
        auth.audit(con, "download", {"what": "test"})
    for sql in ("UPDATE audit_log SET event = 'login'", "DELETE FROM audit_log"):
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            _count(app, leader, sql)
    with pytest.raises(sa.exc.DBAPIError, match="只能追加"), demo.begin() as con:
        con.execute(sa.text("DELETE FROM audit_log WHERE account = 't-audit'"))
    assert scalar(demo, "SELECT count(*) FROM audit_log WHERE account = 't-audit'") == 1


# --- login -----------------------------------------------------------------------------------

@pytest.fixture
def person(demo: Engine) -> Iterator[str]:
    name = f"t-person-{time.monotonic_ns()}"
    with demo.begin() as con:
        auth.add_user(con, name, "leader", password=TEST_PASSWORD, must_change=False, by="tests")
    yield name


def _audit(demo: Engine, name: str) -> list[str]:
    with demo.connect() as con:
        return list(con.execute(sa.text(
            "SELECT event FROM audit_log WHERE account = :n ORDER BY id"), {"n": name}).scalars())


def _login(app: Engine, name: str, password: str) -> auth.LoginResult:
    with app.begin() as con:
        return auth.login(con, name, password, "pytest")


def test_login_checks_the_password_and_audits(app: Engine, demo: Engine, person: str) -> None:
    ok = _login(app, person, TEST_PASSWORD)
    assert ok.status == "ok" and ok.account and ok.account.scope.kind == "leader"
    assert _login(app, person, "wrong").status == "bad"
    assert _login(app, "nobody-here", "x").status == "bad"
    assert _audit(demo, person) == ["login", "login_failed"]
    assert "login_failed" not in _audit(demo, "nobody-here")  # audited without the name typed
    assert scalar(demo, "SELECT count(*) FROM audit_log WHERE account IS NULL AND "
                        "detail ->> 'name_sha256' = left(encode(sha256('nobody-here'), 'hex'), 12)"
                  ) >= 1
    # the hash is Argon2id, and the clear password is nowhere in the database
    pw_hash = str(scalar(demo, "SELECT pw_hash FROM accounts WHERE name = :n", n=person))
    assert pw_hash.startswith("$argon2id$") and TEST_PASSWORD not in pw_hash
    assert scalar(demo, "SELECT count(*) FROM audit_log WHERE detail::text LIKE :p",
                  p=f"%{TEST_PASSWORD}%") == 0


def test_lockout_after_repeated_failures_and_unlock_after_the_set_time(
        app: Engine, demo: Engine, person: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROPMAP_LOGIN_MAX_FAILURES", "3")
    monkeypatch.setenv("PROPMAP_LOGIN_LOCKOUT_MINUTES", "0.03")  # 1.8 s
    assert [_login(app, person, "wrong").status for _ in range(3)] == ["bad", "bad", "locked"]
    locked = _login(app, person, TEST_PASSWORD)
    assert locked.status == "locked" and "锁定" in locked.message()
    assert _audit(demo, person).count("lockout") == 1
    time.sleep(2.0)
    assert _login(app, person, TEST_PASSWORD).status == "ok"


def test_a_name_typed_wrong_is_not_kept_in_the_audit_log(app: Engine, demo: Engine) -> None:
    """People type their password into the name's field: an unknown name's attempt is
    audited without the text typed (only a short hash of it, to see repeats)."""
    typed = f"MySecret-Passw0rd!{time.monotonic_ns()}"
    assert _login(app, typed, "x").status == "bad"
    with demo.connect() as con:
        row = con.execute(sa.text(
            "SELECT account, detail FROM audit_log WHERE event = 'login_failed' "
            "ORDER BY id DESC LIMIT 1")).one()
        kept = con.execute(sa.text(
            "SELECT count(*) FROM audit_log WHERE account LIKE :t OR detail::text LIKE :t"),
            {"t": f"%{typed[:18]}%"}).scalar()
    assert row.account is None and row.detail["reason"] == "unknown_account"
    assert len(row.detail["name_sha256"]) == 12 and kept == 0


def test_a_new_password_ends_every_open_session(app: Engine, demo: Engine) -> None:
    name = f"t-sessions-{time.monotonic_ns()}"
    with demo.begin() as con:
        once = auth.add_user(con, name, "leader", by="tests")
    tokens = [auth.new_session_token() for _ in range(2)]
    for token in tokens:  # two browsers (or a stolen cookie)
        with app.begin() as con:
            assert auth.login(con, name, once, "pytest", token).status == "ok"
    with app.begin() as con:
        auth.change_password(con, name, once, "A-much-Better-pw1")
    for token in tokens:
        with app.begin() as con:
            assert auth.resume(con, token).status == "none"
    with demo.connect() as con:
        ended = con.execute(sa.text(
            "SELECT detail ->> 'sessions_ended' FROM audit_log WHERE account = :n "
            "AND event = 'password_changed'"), {"n": name}).scalar()
    assert ended == "2"


def test_a_disabled_account_cannot_log_in(app: Engine, demo: Engine, person: str) -> None:
    with demo.begin() as con:
        auth.set_disabled(con, person, True)
    assert _login(app, person, TEST_PASSWORD).status == "disabled"


def test_first_login_must_change_the_one_time_password(app: Engine, demo: Engine) -> None:
    name = f"t-first-{time.monotonic_ns()}"
    with demo.begin() as con:
        once = auth.add_user(con, name, "viewer", by="tests")
    first = _login(app, name, once)
    assert first.account and first.account.must_change
    with app.begin() as con, pytest.raises(auth.AuthError, match="至少"):
        auth.change_password(con, name, once, "short")
    with app.begin() as con, pytest.raises(auth.AuthError, match="当前密码不正确"):
        auth.change_password(con, name, "not-it", "A-much-Better-pw1")
    with app.begin() as con:
        auth.change_password(con, name, once, "A-much-Better-pw1")
    again = _login(app, name, "A-much-Better-pw1")
    assert again.account and not again.account.must_change
    assert _login(app, name, once).status == "bad"
    assert "password_changed" in _audit(demo, name)


def test_sessions_end_when_idle_and_at_logout(app: Engine, demo: Engine, person: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    token = auth.new_session_token()
    with app.begin() as con:
        assert auth.login(con, person, TEST_PASSWORD, "pytest", token).status == "ok"
    with app.begin() as con:
        assert auth.resume(con, token).status == "ok"
    monkeypatch.setenv("PROPMAP_SESSION_IDLE_MINUTES", "0.01")  # 0.6 s
    time.sleep(1.0)
    with app.begin() as con:
        assert auth.resume(con, token).status == "expired"
    with app.begin() as con:
        assert auth.resume(con, token).status == "none"
    assert _audit(demo, person)[-1] == "session_expired"
    monkeypatch.setenv("PROPMAP_SESSION_IDLE_MINUTES", "30")
    token = auth.new_session_token()
    with app.begin() as con:
        auth.login(con, person, TEST_PASSWORD, "pytest", token)
    with app.begin() as con:
        auth.end_session(con, token)
    with app.begin() as con:
        assert auth.resume(con, token).status == "none"
    assert _audit(demo, person)[-1] == "logout"
    # the database keeps the token's hash, never the token
    assert scalar(demo, "SELECT count(*) FROM sessions WHERE token_hash = :t", t=token) == 0


def test_an_identity_providers_subject_logs_in_its_account_only(app: Engine,
                                                                 demo: Engine) -> None:
    """OIDC (``PROPMAP_AUTH_MODE=oidc``): after the identity provider vouched for a subject,
    the database opens a session for the account bound to it, with that account's scope,
    and nothing for an unknown or disabled subject. (The provider itself is not here.)"""
    street = _street(demo)
    name, subject = f"t-oidc-{time.monotonic_ns()}", f"sub-{time.monotonic_ns()}"
    with demo.begin() as con:
        auth.add_user(con, name, "street", streets=(street,), by="tests", oidc_subject=subject)
    token = auth.new_session_token()
    with app.begin() as con:
        ok = auth.login_oidc(con, subject, "pytest", token)
    assert ok.status == "ok" and ok.account is not None
    assert ok.account.name == name and ok.account.scope.kind == "street"
    assert ok.account.scope.streets == (street,) and not ok.account.must_change
    with app.begin() as con:
        assert auth.resume(con, token).status == "ok"
    with app.begin() as con:
        assert auth.login_oidc(con, "sub-nobody", "pytest").status == "bad"
        assert auth.login_oidc(con, "", "pytest").status == "bad"
    with demo.begin() as con:
        auth.set_disabled(con, name, True)
    with app.begin() as con:
        assert auth.login_oidc(con, subject, "pytest").status == "bad"
    assert _audit(demo, name)[0] == "login"
    assert "login_failed" in _audit(demo, "sub-nobody")


# --- the operator's command line ------------------------------------------------------------

def test_user_commands(demo: Engine, monkeypatch: pytest.MonkeyPatch, app: Engine) -> None:
    from propmap.cli import main

    monkeypatch.setenv("DATABASE_URL", demo.url.render_as_string(hide_password=False))
    run = CliRunner().invoke
    street = _street(demo)
    name = f"t-cli-{time.monotonic_ns()}"
    res = run(main, ["user", "add", name, "--role", "street", "--street", street,
                     "--display-name", "测试街道"])
    assert res.exit_code == 0, res.output
    once = res.output.split("一次性密码：")[1].split()[0]
    assert _login(app, name, once).status == "ok"
    res = run(main, ["user", "add", f"{name}-bad", "--role", "street"])
    assert res.exit_code == 2 and "--street" in res.output
    res = run(main, ["user", "add", f"{name}-bad", "--role", "dept", "--dept", "nope"])
    assert res.exit_code == 2 and "没有代码为 nope 的部门" in res.output
    assert name in run(main, ["user", "list"]).output
    res = run(main, ["user", "reset-password", name])
    fresh = res.output.split("一次性密码：")[1].split()[0]
    assert _login(app, name, once).status == "bad" and _login(app, name, fresh).status == "ok"
    assert run(main, ["user", "disable", name]).exit_code == 0
    assert _login(app, name, fresh).status == "disabled"
    res = run(main, ["user", "set-scope", name, "--street", "522601999999"])
    assert res.exit_code == 2 and "没有这些街道/镇" in res.output
    res = run(main, ["audit", "list", "--user", name])
    assert res.exit_code == 0
    for event in ("account_created", "login", "password_reset", "account_disabled"):
        assert event in res.output
    # the URL command never prints a password
    out = run(main, ["db", "url"]).output
    assert ":***@" in out and f":{demo.url.password}@" not in out


def test_logging_out_of_the_dashboard_ends_the_identity_providers_login_too(
        demo: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """In OIDC mode the account's pages open at once (no one-time password to change: the
    password login is not used), and 退出登录 also logs out of Streamlit's OIDC login;
    otherwise the next run found the provider's login still there and opened a new session."""
    from streamlit.testing.v1 import AppTest

    street = _street(demo)
    name, subject = f"t-oidc-out-{time.monotonic_ns()}", f"sub-out-{time.monotonic_ns()}"
    with demo.begin() as con:
        auth.add_user(con, name, "street", streets=(street,), by="tests", oidc_subject=subject,
                      must_change=True)  # as `propmap user add --oidc` creates it
    monkeypatch.setenv("DATABASE_URL", demo.url.render_as_string(hide_password=False))
    monkeypatch.delenv("PROPMAP_APP_DATABASE_URL", raising=False)
    monkeypatch.setenv("PROPMAP_AUTH_MODE", "oidc")
    at = AppTest.from_file(conftest.APP, default_timeout=60)
    at.user = {"is_logged_in": True, "sub": subject}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("当前用户" in m.value for m in at.sidebar.markdown)
    at.sidebar.button(key="logout").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not any("当前用户" in m.value for m in at.sidebar.markdown)
    assert [b.label for b in at.button] == ["使用统一身份认证登录"]
    assert _audit(demo, name)[-1] == "logout"
