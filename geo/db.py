"""Database connection and the local PostgreSQL + PostGIS that propmap prepares itself.

``DATABASE_URL`` selects the database. When it is unset, :func:`ensure_local`
makes sure this machine has what the default URL needs: Debian's PostGIS
package, a running cluster, the ``propmap`` role and database, and the
``postgis`` extension. Each step is skipped when already done and reported
through ``say`` when taken, so running it twice changes nothing.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

from geo import roles, settings
from geo._errors import DatabaseSetupError

Say = Callable[[str], None]

POSTGIS_PACKAGE = "postgresql-{major}-postgis-3"


def database_url() -> str:
    """Return the configured database URL, or the local default."""
    return settings.get("database_url") or settings.LOCAL_URL


#: Session settings for every connection. JIT compilation adds 100–200 ms to the
#: dashboard's aggregate queries and saves nothing at this size (measured on 1M
#: cases); a larger work_mem keeps GROUP BY and sorts in memory. Days, weeks and
#: periods are Kaili's: a day filter, a ``::date`` or a "近30天" starts at
#: midnight in China, whatever time zone the server runs in.
SESSION_OPTIONS = "-c jit=off -c work_mem=64MB -c timezone=Asia/Shanghai"


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` (default: :func:`database_url`)."""
    connect_args = {"options": SESSION_OPTIONS, **kwargs.pop("connect_args", {})}
    return sa.create_engine(
        url or database_url(), pool_pre_ping=True, connect_args=connect_args, **kwargs
    )


def _run(cmd: list[str], *, check: bool = True, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if check and proc.returncode != 0:
        raise DatabaseSetupError(
            f"命令执行失败：{' '.join(cmd)}\n{proc.stderr.strip() or proc.stdout.strip()}"
        )
    return proc.stdout


def _pg_major() -> str:
    majors = sorted(os.path.basename(p) for p in glob.glob("/usr/lib/postgresql/*"))
    if not majors:
        raise DatabaseSetupError(
            "本机未安装 PostgreSQL。请先执行：apt-get install -y postgresql，或设置 DATABASE_URL 指向已有数据库。"
        )
    return majors[-1]


def _apt_install(package: str, say: Say) -> None:
    if os.geteuid() != 0:
        raise DatabaseSetupError(
            f"缺少软件包 {package}，安装需要 root 权限：sudo apt-get install -y {package}"
        )
    say(f"安装 {package} …")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    proc = subprocess.run(
        ["apt-get", "install", "-y", "-q", package], capture_output=True, text=True, env=env
    )
    if proc.returncode != 0:  # package lists may be missing on a fresh machine
        _run(["apt-get", "update", "-q"], env=env)
        _run(["apt-get", "install", "-y", "-q", package], env=env)


def _ensure_cluster(major: str, port: int, say: Say) -> None:
    if not shutil.which("pg_lsclusters"):
        raise DatabaseSetupError("找不到 pg_lsclusters（postgresql-common），请安装 postgresql。")
    rows = [line.split() for line in _run(["pg_lsclusters", "--no-header"]).splitlines() if line]
    mine = [r for r in rows if r[0] == major and int(r[2]) == port]
    if not mine:
        say(f"创建 PostgreSQL {major} 集群 main（端口 {port}）…")
        _run(["pg_createcluster", major, "main", "--port", str(port)])
        rows = [line.split() for line in _run(["pg_lsclusters", "--no-header"]).splitlines()]
        mine = [r for r in rows if r[0] == major and int(r[2]) == port]
    ver, name, _port, status = mine[0][:4]
    if status != "online":
        say(f"启动 PostgreSQL {ver}/{name} …")
        _run(["pg_ctlcluster", "--skip-systemctl-redirect", ver, name, "start"])
        for _ in range(50):
            if "online" in _run(["pg_lsclusters", "--no-header", ver, name], check=False):
                break
            time.sleep(0.2)


def _ready(con: sa.Connection) -> bool:
    """Whether the local database is prepared: PostGIS, a non-superuser owner, every role."""
    names = [roles.app_role(), *(roles.scope_role(k) for k in roles.SCOPE_KINDS)]
    return bool(con.execute(sa.text("""
        SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'postgis')
           AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
           AND (SELECT count(*) FROM pg_roles WHERE rolname = ANY (CAST(:n AS text[]))) = :k
    """), {"n": names, "k": len(names)}).scalar())


def ensure_local(url: str | None = None, say: Say = print) -> str:
    """Prepare the local PostgreSQL + PostGIS behind ``url`` and return the URL.

    Only acts when ``url`` points at this machine (``localhost``/``127.0.0.1``)
    and no ``DATABASE_URL`` was given; a remote database is used as it is.

    Parameters
    ----------
    url
        Target URL; the configured one when omitted.
    say
        Receives one line, in Chinese, for every step actually taken.
    """
    url = url or database_url()
    u: URL = make_url(url)
    if u.host not in (None, "", "localhost", "127.0.0.1"):
        return url
    # Fast path: everything is already there.
    probe = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with probe.connect() as con:
            if _ready(con) and roles.password_file(u).is_file():
                return url
    except sa.exc.OperationalError:
        pass
    finally:
        probe.dispose()
    major = _pg_major()
    if not os.path.exists(f"/usr/share/postgresql/{major}/extension/postgis.control"):
        _apt_install(POSTGIS_PACKAGE.format(major=major), say)
    port = u.port or 5432
    _ensure_cluster(major, port, say)
    user, password, dbname = (
        u.username or "propmap",
        u.password or "propmap",
        u.database or "propmap",
    )

    def admin(sql: str, database: str = "postgres") -> str:
        return roles.admin_psql(sql, port=port, dbname=database).strip()

    q, lit = roles.quote_ident, roles.quote_literal
    found = admin(f"SELECT rolsuper FROM pg_roles WHERE rolname = {lit(user)}")
    if not found:
        say(f"创建数据库角色 {user}（可建库，非超级用户）…")
        admin(f"CREATE ROLE {q(user)} LOGIN NOSUPERUSER CREATEDB PASSWORD {lit(password)}")
    elif found == "t":
        # Earlier versions made the local role a superuser; least privilege: it owns the
        # tables and may create (scratch) databases, nothing more.
        say(f"撤销数据库角色 {user} 的超级用户权限（保留建库权限）…")
        admin(f"ALTER ROLE {q(user)} NOSUPERUSER CREATEDB")
    # PostGIS is not a trusted extension: installed by the administrator in template1,
    # every database the owner creates (tests, benchmarks) has it already.
    if not admin("SELECT 1 FROM pg_extension WHERE extname = 'postgis'", "template1"):
        say("在模板库 template1 中启用 postgis 扩展 …")
        admin("CREATE EXTENSION IF NOT EXISTS postgis", "template1")
    if not admin(f"SELECT 1 FROM pg_database WHERE datname = {lit(dbname)}"):
        say(f"创建数据库 {dbname} …")
        admin(f"CREATE DATABASE {q(dbname)} OWNER {q(user)}")
    if not admin("SELECT 1 FROM pg_extension WHERE extname = 'postgis'", dbname):
        say(f"在 {dbname} 中启用 postgis 扩展 …")
        admin("CREATE EXTENSION IF NOT EXISTS postgis", dbname)
    roles.provision_local(u, say)
    return url


def create_database(url: str, say: Say = print) -> None:
    """Create the database named in ``url`` with PostGIS, on the same server (for scratch use)."""
    u = make_url(url)
    admin = u.set(database="postgres")
    eng = sa.create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with eng.connect() as con:
        exists = con.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname=:n"), {"n": u.database}
        ).first()
        if not exists:
            say(f"创建数据库 {u.database} …")
            con.execute(sa.text(f"CREATE DATABASE {roles.quote_ident(u.database or '')}"))
    eng.dispose()
    eng = sa.create_engine(u, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with eng.connect() as con:
        con.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
    eng.dispose()


def drop_database(url: str) -> None:
    """Drop the database named in ``url`` (scratch databases only)."""
    u = make_url(url)
    eng = sa.create_engine(
        u.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool
    )
    with eng.connect() as con:
        con.execute(
            sa.text(f"DROP DATABASE IF EXISTS {roles.quote_ident(u.database or '')} WITH (FORCE)")
        )
    eng.dispose()
