"""``propmap serve`` and ``propmap demo`` as operations: where they listen, how they stop,
and which databases the synthetic demo may fill.

The server tests start the real command in a subprocess, as a service manager would,
and look at the real sockets and processes (``/proc``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.engine import Engine, make_url

from dashboard import harness
from etl import demo_guard
from geo import db
from propmap.cli import main
from tests import conftest
from tests.conftest import scalar

PASSWORD = "pw-Never-Shown-42"


@contextlib.contextmanager
def foreign_database(suffix: str) -> Iterator[tuple[Engine, str]]:
    """An empty database beside the test database, created by someone else (no mark)."""
    base = make_url(conftest.test_url())
    name = f"{base.database}{suffix}"
    url = base.set(database=name).render_as_string(hide_password=False)
    db.drop_database(url)
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT",
                             poolclass=sa.pool.NullPool)
    with admin.connect() as con:
        con.execute(sa.text(f"CREATE DATABASE {db.quote_identifier(name)}"))
    admin.dispose()
    eng = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        yield eng, url
    finally:
        eng.dispose()
        db.drop_database(url)


def _cli(url: str, *args: str, **env: str) -> tuple[int, str]:
    res = CliRunner().invoke(main, list(args), env={"DATABASE_URL": url, **env})
    return res.exit_code, res.stderr


def _has_schema(eng: Engine) -> bool:
    with eng.connect() as con:
        return sa.inspect(con).has_table("alembic_version")


# --- the password --------------------------------------------------------------------

def test_db_url_never_prints_the_password() -> None:
    url = f"postgresql+psycopg://clerk:{PASSWORD}@10.0.0.9:5432/propmap"
    res = CliRunner().invoke(main, ["db", "url"], env={"DATABASE_URL": url})
    assert res.exit_code == 0
    assert res.output.strip() == "postgresql+psycopg://clerk:***@10.0.0.9:5432/propmap"


# --- which database the demo may fill --------------------------------------------------

def test_a_database_propmap_created_is_the_demos_to_fill() -> None:
    """A fresh, migrated database holds nothing foreign: any table added to the schema
    without a place in geo.models would make the demo refuse every database."""
    with conftest.scratch_database("_guard") as (eng, _url), eng.connect() as con:
        assert db.created_by_propmap(con)
        assert demo_guard.foreign_content(con) == []
        assert demo_guard.refusal(con, asked=False) is None


def test_serve_refuses_to_fill_an_empty_database_it_did_not_create() -> None:
    with foreign_database("_foreign") as (eng, url):
        code, err = _cli(url, "serve", "--port", "1")
        assert code == 2 and "不是 propmap 创建的" in err and "--demo" in err, err
        assert not _has_schema(eng)  # refused before creating a single table
        with eng.connect() as con:
            assert demo_guard.refusal(con, asked=True) is None


def test_the_demo_never_overwrites_data_that_is_not_the_demos() -> None:
    with conftest.scratch_database("_real") as (eng, url):
        code, err = _cli(url, "demo", "--cases", "1000", "--seed", "7")
        assert code == 0, err
        with eng.begin() as con:
            con.execute(sa.text("UPDATE streets SET synthetic = false WHERE code = "
                                "(SELECT min(code) FROM streets)"))
        code, err = _cli(url, "demo", "--cases", "1000")
        assert code == 2 and "streets" in err and "非演示数据" in err, err
        assert scalar(eng, "SELECT count(*) FROM streets WHERE NOT synthetic") == 1
        code, err = _cli(url, "demo", "--cases", "1000", "--overwrite")
        assert code == 0, err
        assert scalar(eng, "SELECT count(*) FROM streets WHERE NOT synthetic") == 0
    with foreign_database("_payroll") as (eng, url):
        with eng.begin() as con:
            con.execute(sa.text("CREATE TABLE payroll (id int)"))
        code, err = _cli(url, "demo", "--cases", "1000")
        assert code == 2 and "public.payroll" in err, err
        assert not _has_schema(eng)  # refused before migrating into someone else's database


def test_import_batches_count_as_real_data() -> None:
    with conftest.scratch_database("_imported") as (eng, _url):
        with eng.begin() as con:
            con.execute(sa.text("INSERT INTO imports (kind, file, file_sha256) "
                                "VALUES ('cases', '12345.xlsx', repeat('0', 64))"))
        with eng.connect() as con:
            reason = demo_guard.refusal(con, asked=True)
        assert reason is not None and "imports" in reason


# --- serving -------------------------------------------------------------------------

def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def _listeners(port: int) -> set[str]:
    """Local addresses listening on TCP ``port`` (IPv4 and IPv6), as in /proc/net."""
    out = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, _, hexport = local.partition(":")
            if state == "0A" and int(hexport, 16) == port:
                out.add(addr)
    return out


def _wait_healthy(proc: subprocess.Popen[bytes], port: int, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            url = f"http://127.0.0.1:{port}/_stcore/health"
            if urllib.request.urlopen(url, timeout=1).status == 200:
                return
        assert proc.poll() is None, "propmap serve exited before the dashboard answered"
        time.sleep(0.2)
    raise AssertionError(f"the dashboard did not answer on port {port}")


def _serve_and_stop(url: str, sig: signal.Signals, tmp_path: Path, **env: str) -> None:
    """Start ``propmap serve`` on ``url``; check where it listens; stop it with ``sig``."""
    port = harness.free_port()
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "propmap.cli", "serve", "--port", str(port)],
        env={**os.environ, "DATABASE_URL": url, **env}, stdout=log, stderr=subprocess.STDOUT,
        cwd=tmp_path)
    try:
        _wait_healthy(proc, port)
        (child,) = _children(proc.pid)
        assert "streamlit" in Path(f"/proc/{child}/cmdline").read_text()
        assert _listeners(port) == {"0100007F"}, "listens beyond 127.0.0.1"
        proc.send_signal(sig)
        assert proc.wait(timeout=30) == 0
        assert not Path(f"/proc/{child}").exists(), "the dashboard outlived propmap serve"
        with pytest.raises(ConnectionRefusedError), socket.create_connection(
                ("127.0.0.1", port), timeout=2):
            pass
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()


@pytest.mark.slow
def test_serve_fills_its_own_empty_database_and_stops_on_sigterm(tmp_path: Path) -> None:
    with conftest.scratch_database("_serve") as (eng, url):
        _serve_and_stop(url, signal.SIGTERM, tmp_path)
        assert scalar(eng, "SELECT count(*) FROM cases") == 20_000
        assert scalar(eng, "SELECT bool_and(synthetic) FROM streets") is True


@pytest.mark.slow
def test_serve_fills_a_database_it_was_told_to_and_stops_on_sigint(tmp_path: Path) -> None:
    with foreign_database("_allowed") as (eng, url):
        _serve_and_stop(url, signal.SIGINT, tmp_path, PROPMAP_ALLOW_DEMO="1")
        assert scalar(eng, "SELECT count(*) FROM streets") == 20
