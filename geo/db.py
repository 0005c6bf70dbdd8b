"""Database connection and the local PostgreSQL + PostGIS that propmap prepares itself.

``DATABASE_URL`` selects the database. When it is unset, :func:`ensure_local`
makes sure this machine has what the default URL needs: Debian's PostGIS
package, a running cluster, the ``propmap`` role and database, and the
``postgis`` extension. Each step is skipped when already done and reported
through ``say`` when taken, so running it twice changes nothing.

A URL the user gave is never taken as an order to create: a role or database
it names that does not exist is reported (a typo must not become a new, empty
database that the demo then fills), unless creation is asked for
(``propmap db init --create``). Names from the URL reach SQL quoted as
identifiers, the password as a literal, by psql or the driver; every database
propmap creates carries :data:`CREATED_MARK`.
"""

from __future__ import annotations

import glob
import os
import secrets
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


def _run(cmd: list[str], *, check: bool = True, env: dict[str, str] | None = None,
         stdin: str | None = None, secret: str | None = None) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, input=stdin)
    if check and proc.returncode != 0:
        detail = proc.stderr.strip() or proc.stdout.strip()
        if secret:  # never show a password, even inside a server's error context
            detail = detail.replace(secret, "***")
        raise DatabaseSetupError(f"命令执行失败：{' '.join(cmd)}\n{detail}")
    return proc.stdout


def _as_postgres(sql: str, *, port: int, dbname: str = "postgres",
                 variables: dict[str, str] | None = None, password: str | None = None) -> str:
    r"""Run ``sql`` with psql as the ``postgres`` superuser on the local cluster at ``port``.

    Names and values reach the SQL as psql variables (``:"name"`` is quoted as an
    identifier, ``:'name'`` as a literal, by psql itself), never spliced into its
    text. The SQL goes in on stdin, where psql interpolates variables (it does not
    in ``-c``). A password never appears on a command line (visible to every local
    user in ``ps``): it travels in the environment and psql reads it with
    ``\getenv`` into the variable ``password``.
    """
    cmd = ["runuser", "-u", "postgres", "--", "psql", "-X", "-v", "ON_ERROR_STOP=1", "-qAt",
           "-p", str(port)]
    for name, value in (variables or {}).items():
        cmd += ["-v", f"{name}={value}"]
    # The database name goes in PGDATABASE: psql reads a -d argument holding "=" as a
    # whole connection string (host=..., user=...), an environment variable as a name.
    env = {**os.environ, "PGDATABASE": dbname}
    if password is not None:
        env["PROPMAP_NEW_ROLE_PASSWORD"] = password
        sql = "\\getenv password PROPMAP_NEW_ROLE_PASSWORD\n" + sql
    return _run(cmd + ["-f", "-"], env=env, stdin=sql, secret=password)


def _pg_major() -> str:
    majors = sorted(os.path.basename(p) for p in glob.glob("/usr/lib/postgresql/*"))
    if not majors:
        raise DatabaseSetupError(
            "本机未安装 PostgreSQL。请先执行：apt-get install -y postgresql，"
            "或设置 DATABASE_URL 指向已有数据库。"
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


def _clusters() -> list[list[str]]:
    return [line.split() for line in _run(["pg_lsclusters", "--no-header"]).splitlines()
            if line.strip()]


def _ensure_cluster(major: str, port: int, say: Say, *, create: bool) -> bool:
    """Start the cluster listening on ``port``; with ``create``, make one if there is none.

    Returns whether a cluster now runs on ``port``.
    """
    if not shutil.which("pg_lsclusters"):
        raise DatabaseSetupError("找不到 pg_lsclusters（postgresql-common），请安装 postgresql。")
    mine = [r for r in _clusters() if int(r[2]) == port]
    if not mine:
        if not create:
            return False
        taken = {r[1] for r in _clusters() if r[0] == major}
        name = "main" if "main" not in taken else f"propmap{port}"
        say(f"创建 PostgreSQL {major} 集群 {name}（端口 {port}）…")
        _run(["pg_createcluster", major, name, "--port", str(port)])
        mine = [r for r in _clusters() if int(r[2]) == port]
    ver, name, _port, status = mine[0][:4]
    if status != "online":
        say(f"启动 PostgreSQL {ver}/{name} …")
        _run(["pg_ctlcluster", "--skip-systemctl-redirect", ver, name, "start"])
        for _ in range(50):
            if "online" in _run(["pg_lsclusters", "--no-header", ver, name], check=False):
                break
            time.sleep(0.2)
    return True


def is_default(url: str | None = None) -> bool:
    """Whether ``url`` (default: the configured one) is the built-in local quick-start URL.

    Only that database is propmap's to create unasked: a URL the user typed may
    hold a typo, and a typo must not become a new database.
    """
    return (url or database_url()) == settings.LOCAL_URL


def quote_identifier(name: str) -> str:
    """``name`` quoted as a PostgreSQL identifier, by the dialect's own preparer."""
    from sqlalchemy.dialects import postgresql

    return postgresql.dialect().identifier_preparer.quote_identifier(name)


#: The comment propmap puts on every database it creates (``COMMENT ON DATABASE``), so
#: that the demo can tell a database made for propmap from one that only looks empty.
CREATED_MARK = "created by propmap"


def created_by_propmap(con: sa.Connection) -> bool:
    """Whether the database ``con`` is on was created by propmap (it carries the mark)."""
    return con.execute(sa.text(
        "SELECT shobj_description(oid, 'pg_database') = :m FROM pg_database "
        "WHERE datname = current_database()"), {"m": CREATED_MARK}).scalar() is True


def ensure_local(url: str | None = None, say: Say = print, *, create: bool | None = None) -> str:
    """Prepare the local PostgreSQL + PostGIS behind ``url`` and return the URL.

    Only acts when ``url`` points at this machine (``localhost``/``127.0.0.1``);
    a remote database is used as it is. With ``create`` (by default for the
    built-in local URL alone, :func:`is_default`) it installs PostGIS, creates and
    starts the cluster, the role and the database, and enables ``postgis``; a
    database created here carries :data:`CREATED_MARK`. Without, it only starts a
    stopped local cluster: a mistyped name in ``DATABASE_URL`` is then reported
    by the connection (see :func:`geo._errors.user_message`), not created, and an
    existing database is not changed.

    Parameters
    ----------
    url
        Target URL; the configured one when omitted.
    say
        Receives one line, in Chinese, for every step actually taken.
    create
        Create what is missing; ``None`` means "only for the built-in local URL".

    Raises
    ------
    DatabaseSetupError
        Something to create cannot be (no root, no PostgreSQL, a failed command).
    """
    url = url or database_url()
    if create is None:
        create = is_default(url)
    u: URL = make_url(url)
    if u.host not in (None, "", "localhost", "127.0.0.1"):
        return url
    # Fast path: everything is already there.
    reachable = False
    probe = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with probe.connect() as con:
            reachable = True
            if _ready(con) and roles.password_file(u).is_file():
                return url
    except sa.exc.OperationalError:
        pass
    finally:
        probe.dispose()
    port = u.port or 5432
    if not create:
        # Nothing to create: start a stopped local cluster if there is one, and let the
        # connection say what else is wrong (geo._errors.user_message names a missing
        # database or role, a refused login, a server that is down). A database that
        # exists is left as it is: postgis is enabled by the migration (geo.schema),
        # after the demo's check of whose database this is.
        if not reachable and os.geteuid() == 0 and shutil.which("pg_lsclusters"):
            _ensure_cluster(_pg_major(), port, say, create=False)
        return url
    if os.geteuid() != 0:
        raise DatabaseSetupError(
            "准备本机数据库（安装 PostGIS、建集群、建用户和库）需要 root 权限："
            "请用 sudo 运行，或设置 DATABASE_URL 指向已有的 PostGIS 数据库。")
    major = _pg_major()
    if not os.path.exists(f"/usr/share/postgresql/{major}/extension/postgis.control"):
        _apt_install(POSTGIS_PACKAGE.format(major=major), say)
    _ensure_cluster(major, port, say, create=True)
    user, password, dbname = (
        u.username or "propmap",
        u.password or "propmap",
        u.database or "propmap",
    )
    names = {"role": user, "db": dbname}
    superuser = _as_postgres("SELECT rolsuper FROM pg_roles WHERE rolname = :'role'",
                             port=port, variables=names).strip()
    if not superuser:
        say(f"创建数据库角色 {user}（表的属主，可建库，非超级用户）…")
        _as_postgres("CREATE ROLE :\"role\" LOGIN NOSUPERUSER CREATEDB PASSWORD :'password'",
                     port=port, variables=names, password=password)
    elif superuser == "t":
        # Earlier versions made the local role a superuser; least privilege: it owns the
        # tables and may create (scratch) databases, nothing more.
        say(f"撤销数据库角色 {user} 的超级用户权限（保留建库权限）…")
        _as_postgres("ALTER ROLE :\"role\" NOSUPERUSER CREATEDB", port=port, variables=names)
    # PostGIS is not a trusted extension: enabled by the administrator in template1, it is
    # in every database the owner creates (tests, benchmarks) without a superuser.
    _enable_postgis("template1", port, say)
    if not _as_postgres("SELECT 1 FROM pg_database WHERE datname = :'db'",
                        port=port, variables=names).strip():
        say(f"创建数据库 {dbname} …")
        _as_postgres(f"CREATE DATABASE :\"db\" OWNER :\"role\";\n"
                     f"COMMENT ON DATABASE :\"db\" IS '{CREATED_MARK}'",
                     port=port, variables=names)
    _enable_postgis(dbname, port, say)
    provision_roles(u, say)
    return url


def _ready(con: sa.Connection) -> bool:
    """Whether the local database is prepared: PostGIS, a non-superuser owner, every role."""
    names = [roles.app_role(), *(roles.scope_role(k) for k in roles.SCOPE_KINDS)]
    return bool(con.execute(sa.text("""
        SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'postgis')
           AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
           AND (SELECT count(*) FROM pg_roles WHERE rolname = ANY (CAST(:n AS text[]))) = :k
    """), {"n": names, "k": len(names)}).scalar())


def provision_roles(u: URL, say: Say = print) -> None:
    """Create or complete the dashboard's roles on the local cluster at ``u``'s port.

    The application role gets a new random password when none is kept yet, written
    to :func:`geo.roles.password_file` (mode 600); see :mod:`geo.roles`.
    """
    port = u.port or 5432
    path = roles.password_file(u)
    password = path.read_text().strip() if path.is_file() else None
    wanted = [roles.app_role(), *(roles.scope_role(k) for k in roles.SCOPE_KINDS)]
    have = int(_as_postgres(
        "SELECT count(*) FROM pg_roles WHERE rolname = ANY (string_to_array(:'names', ','))",
        port=port, variables={"names": ",".join(wanted)}).strip() or 0)
    if password and have == len(wanted):
        return
    new = password or secrets.token_urlsafe(24)
    say(f"创建看板数据库角色 {roles.app_role()} 及各类账号的角色 …")
    _as_postgres(roles.roles_sql(None) + "\nALTER ROLE " + roles.quote_ident(roles.app_role())
                 + " PASSWORD :'password';", port=port, password=new)
    if not password:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(new + "\n")


def _enable_postgis(dbname: str, port: int, say: Say) -> None:
    if not _as_postgres("SELECT 1 FROM pg_extension WHERE extname='postgis'",
                        port=port, dbname=dbname).strip():
        say(f"在 {dbname} 中启用 postgis 扩展 …")
        _as_postgres("CREATE EXTENSION IF NOT EXISTS postgis", port=port, dbname=dbname)


def create_database(url: str, say: Say = print) -> None:
    """Create the database named in ``url`` with PostGIS, on the same server (for scratch use).

    The new database carries :data:`CREATED_MARK`, like every database propmap creates.
    """
    u = make_url(url)
    admin = u.set(database="postgres")
    eng = sa.create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with eng.connect() as con:
        exists = con.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname=:n"), {"n": u.database}
        ).first()
        if not exists:
            say(f"创建数据库 {u.database} …")
            name = quote_identifier(u.database or "")
            con.execute(sa.text(f"CREATE DATABASE {name}"))
            # Utility statements take no bind parameters; the mark is a constant of ours.
            con.execute(sa.text(f"COMMENT ON DATABASE {name} IS '{CREATED_MARK}'"))
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
    sql = sa.text(f"DROP DATABASE IF EXISTS {quote_identifier(u.database or '')} WITH (FORCE)")
    try:
        # The owner is no superuser: FORCE may not end an autovacuum worker still in a
        # freshly loaded scratch database ("permission denied to terminate process").
        # Such a worker ends within seconds; wait for it rather than fail the caller.
        for attempt in range(20):
            try:
                with eng.connect() as con:
                    con.execute(sql)
                return
            except sa.exc.DBAPIError as exc:
                if "terminate" not in str(exc) or attempt == 19:
                    raise
                time.sleep(0.5)
    finally:
        eng.dispose()
