"""The local PostgreSQL that propmap prepares itself (:func:`geo.db.ensure_local`).

On a cluster of its own (created on a free port for the test and dropped after it, so
that no role of the shared cluster is touched), with a role name, a password and a
database name made to break SQL spliced together by hand: each must arrive intact,
quoted as an identifier or passed as a literal, and psql must talk to the URL's port.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.engine import URL

from dashboard import harness
from geo import db
from geo._errors import DatabaseSetupError, user_message
from propmap.cli import main

ROLE = 'pm"; DROP ROLE postgres; --'
PASSWORD = "it's \\ a \"pw\"\n:'password' $$"
DATABASE = 'demo db"; host=evil'

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def cluster() -> Iterator[int]:
    """A PostgreSQL cluster on a free port, created stopped; dropped after the module."""
    assert os.geteuid() == 0, "this test prepares a PostgreSQL cluster and needs root"
    major = db._pg_major()
    port = harness.free_port()
    name = f"pmtest{port}"
    subprocess.run(["pg_createcluster", major, name, "--port", str(port)], check=True,
                   capture_output=True)
    try:
        yield port
    finally:
        subprocess.run(["pg_dropcluster", "--stop", major, name], check=True,
                       capture_output=True)


def _url(port: int, password: str = PASSWORD) -> str:
    return URL.create("postgresql+psycopg", username=ROLE, password=password,
                      host="127.0.0.1", port=port, database=DATABASE).render_as_string(
        hide_password=False)


def _connect_error(url: str) -> sa.exc.DBAPIError:
    eng = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with eng.connect():
            pass
    except sa.exc.DBAPIError as exc:
        return exc
    finally:
        eng.dispose()
    raise AssertionError("connected")


def test_names_and_password_from_the_url_arrive_intact_on_the_urls_port(cluster: int) -> None:
    port = cluster
    url = _url(port)
    # Not the built-in URL: nothing is created, the stopped cluster is started, and
    # the connection says what is missing.
    steps: list[str] = []
    assert db.ensure_local(url, say=steps.append) == url
    assert steps and "启动" in steps[0]
    msg = user_message(_connect_error(url))
    assert msg is not None and "DATABASE_URL" in msg and PASSWORD not in msg
    roles = db._as_postgres("SELECT count(*) FROM pg_roles WHERE rolname = :'role'",
                            port=port, variables={"role": ROLE})
    assert roles.strip() == "0"

    steps.clear()
    db.ensure_local(url, say=steps.append, create=True)
    # the owner role, PostGIS in template1 (so databases the owner creates have it), the
    # database, the dashboard's roles; the cluster already ran
    assert len(steps) == 4, steps
    assert "非超级用户" in steps[0] and "template1" in steps[1] and "propmap_app" in steps[3]
    eng = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with eng.connect() as con:
        who = con.execute(sa.text("SELECT current_user, current_database(), "
                                  "inet_server_port()")).one()
        assert tuple(who) == (ROLE, DATABASE, port)
        assert con.execute(sa.text("SELECT postgis_lib_version()")).scalar()
        assert db.created_by_propmap(con)
    eng.dispose()
    assert db._as_postgres("SELECT count(*) FROM pg_roles WHERE rolname = 'postgres'",
                           port=port).strip() == "1"

    steps.clear()
    db.ensure_local(url, say=steps.append, create=True)
    assert steps == []  # everything is there: nothing done twice

    msg = user_message(_connect_error(_url(port, password="wrong")))
    assert msg is not None and "拒绝" in msg


def test_a_failing_psql_never_shows_the_password(cluster: int) -> None:
    port = cluster
    db._ensure_cluster(db._pg_major(), port, say=lambda _m: None, create=False)
    with pytest.raises(DatabaseSetupError) as err:
        db._as_postgres("SELECT :'password'::int", port=port, password="S3cret-42")
    assert "S3cret-42" not in str(err.value) and "***" in str(err.value)


def test_a_database_without_postgis_and_a_user_who_may_not_enable_it(cluster: int) -> None:
    """``propmap db init`` by a plain user, in a database the administrator made without
    PostGIS: a message saying who must do what, exit code 2, and the database unchanged."""
    port = cluster
    db._ensure_cluster(db._pg_major(), port, say=lambda _m: None, create=False)
    names = {"role": "clerk", "db": "no_postgis"}
    db._as_postgres("CREATE ROLE :\"role\" LOGIN PASSWORD :'password';\n"
                    "CREATE DATABASE :\"db\" TEMPLATE template0;\n", port=port, variables=names,
                    password="pw")
    url = f"postgresql+psycopg://clerk:pw@127.0.0.1:{port}/no_postgis"
    res = CliRunner().invoke(main, ["db", "init"], env={"DATABASE_URL": url})
    assert res.exit_code == 2, res.output
    assert "未启用 PostGIS" in res.stderr and "CREATE EXTENSION postgis" in res.stderr
    tables = db._as_postgres("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
                             port=port, dbname="no_postgis")
    assert tables.strip() == "0"
