"""One translation of errors into messages, used by the command line and the dashboard alike.

The errors are real: a port nobody listens on, a database that does not exist on the
test server, a login with a wrong password, a statement cancelled by its timeout.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.engine import Engine, make_url
from streamlit.testing.v1 import AppTest

from dashboard import harness
from geo import db
from geo._errors import InputFileError, user_message
from propmap.cli import main
from tests import conftest
from tests.conftest import scalar

from .test_settings import APP


def _error_of(url: str, sql: str = "SELECT 1") -> sa.exc.DBAPIError:
    eng = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with eng.connect() as con:
            con.execute(sa.text(sql))
    except sa.exc.DBAPIError as exc:
        return exc
    finally:
        eng.dispose()
    raise AssertionError(f"no error from {sql!r}")


def test_a_server_that_is_down_is_named_with_host_and_port() -> None:
    port = harness.free_port()
    msg = user_message(_error_of(f"postgresql+psycopg://propmap:x@127.0.0.1:{port}/propmap"))
    assert msg is not None and "无法连接数据库" in msg and f"127.0.0.1:{port}" in msg


def test_propmap_errors_pass_unchanged_and_bugs_are_not_translated() -> None:
    assert user_message(InputFileError("缺少列：受理时间")) == "缺少列：受理时间"
    assert user_message(KeyError("x")) is None
    assert user_message(ZeroDivisionError()) is None


def test_a_missing_database_a_bad_password_and_a_timeout(engine: Engine) -> None:
    base = make_url(conftest.test_url())
    missing = base.set(database=f"{base.database}_nosuchdb").render_as_string(
        hide_password=False)
    msg = user_message(_error_of(missing))
    assert msg is not None and f"数据库 {base.database}_nosuchdb 不存在" in msg
    assert "DATABASE_URL" in msg

    wrong = base.set(password="not-the-password").render_as_string(hide_password=False)
    msg = user_message(_error_of(wrong))
    assert msg is not None and f"拒绝用户 {base.username} 登录" in msg
    assert "not-the-password" not in msg

    with engine.connect() as con:
        con.execute(sa.text("SET statement_timeout = 20"))
        with pytest.raises(sa.exc.OperationalError) as err:
            con.execute(sa.text("SELECT pg_sleep(2)"))
    msg = user_message(err.value)
    assert msg is not None and "查询超时" in msg and "PROPMAP_STATEMENT_TIMEOUT_MS" in msg


def test_command_line_and_dashboard_say_the_same_of_a_mistyped_database(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """A typo in the database name is reported, the same way, and creates nothing."""
    base = make_url(conftest.test_url())
    typo = f"{base.database}_typo"
    url = base.set(database=typo).render_as_string(hide_password=False)
    expected = user_message(_error_of(url))
    assert expected is not None
    monkeypatch.setenv("DATABASE_URL", url)
    for args in (["db", "init"], ["demo", "--cases", "1000"], ["serve", "--port", "1"],
                 ["export", "streets", "--format", "csv", "-o", "/dev/null"]):
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 2, (args, res.output)
        assert res.stderr.strip() == f"错误：{expected}", args
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == [expected]
    assert scalar(engine, "SELECT count(*) FROM pg_database WHERE datname = :n", n=typo) == 0
    assert db.database_url() == url
