"""PostgreSQL roles: who the dashboard connects as, and the roles its accounts act through.

Least privilege, enforced by the database and not only by the pages:

- the **owner** (the role in ``DATABASE_URL``) owns the tables, runs the
  migrations and the command line. On the local default cluster it is not a
  superuser: it may create databases (tests, benchmarks) and nothing more;
- the **application role** ``<prefix>_app`` is what the dashboard logs in as.
  It is neither superuser nor owner. Row-level security gives it no row of any
  case, compound or hazard by itself (``SELECT * FROM cases`` returns nothing),
  it cannot read ``complainants`` at all, nor the accounts' password hashes;
- one **scope role** per kind of account (``<prefix>_leader``, ``_housing``,
  ``_street``, ``_community``, ``_dept``, ``_viewer``, ``_admin``), NOLOGIN.
  The application role is a member of each but does not inherit their rights
  (NOINHERIT): every transaction of the dashboard switches to the account's
  scope role with ``SET LOCAL ROLE`` and states the account's area in
  transaction-local settings (:mod:`geo.scope`), and the policies of that role
  (migration "accounts") restrict every row to the area. A leader's policy is
  ``USING (true)``, so the city-wide figures cost nothing extra.

Roles belong to the whole PostgreSQL cluster; grants and policies to each
database. Creating roles needs an administrator: on the local cluster
:func:`provision_local` does it as the ``postgres`` system user; for another
server, ``propmap db roles`` prints the SQL for its administrator.

The application role's password is random. Locally it is kept in a file only
root can read (``state_dir``), from which :func:`app_url` builds the
dashboard's URL; elsewhere ``PROPMAP_APP_DATABASE_URL`` gives the URL.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from geo import settings
from geo._errors import DatabaseSetupError

#: Kinds of account (and their scope roles), in the order pages list them.
SCOPE_KINDS = ("leader", "housing", "street", "community", "dept", "viewer", "admin")


def prefix() -> str:
    return str(settings.get("role_prefix"))


def scope_role(kind: str) -> str:
    """The database role of accounts of ``kind`` (``street`` → ``propmap_street``)."""
    if kind not in SCOPE_KINDS:
        raise KeyError(kind)
    return f"{prefix()}_{kind}"


def app_role() -> str:
    """The role the dashboard logs in as."""
    return f"{prefix()}_app"


def quote_ident(name: str) -> str:
    """``name`` as an SQL identifier (double quotes doubled)."""
    if "\x00" in name:
        raise DatabaseSetupError("角色名或数据库名中不能含有空字符")
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """``text`` as an SQL string literal (standard-conforming strings: quotes doubled)."""
    if "\x00" in text:
        raise DatabaseSetupError("密码中不能含有空字符")
    return "'" + text.replace("'", "''") + "'"


def roles_sql(app_password: str | None) -> str:
    """SQL an administrator runs once per cluster: the scope roles and the application role.

    Idempotent. With ``app_password`` the application role's password is set
    (always: the caller keeps it); without, a new role gets none and must be
    given one by the administrator.
    """
    lines = []
    for kind in SCOPE_KINDS:
        r = scope_role(kind)
        lines.append(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = "
            f"{quote_literal(r)}) THEN CREATE ROLE {quote_ident(r)} NOLOGIN; END IF; END $$;")
    app = app_role()
    lines.append(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = "
        f"{quote_literal(app)}) THEN CREATE ROLE {quote_ident(app)} LOGIN NOINHERIT; END IF; "
        f"END $$;")
    lines.append(f"ALTER ROLE {quote_ident(app)} LOGIN NOINHERIT NOSUPERUSER NOCREATEDB "
                 f"NOCREATEROLE NOBYPASSRLS;")
    if app_password is not None:
        lines.append(f"ALTER ROLE {quote_ident(app)} PASSWORD {quote_literal(app_password)};")
    lines.append(f"GRANT {', '.join(quote_ident(scope_role(k)) for k in SCOPE_KINDS)} "
                 f"TO {quote_ident(app)};")
    return "\n".join(lines)


def _state_dir() -> Path:
    return Path(str(settings.get("state_dir"))).expanduser()


def password_file(url: URL) -> Path:
    """Where the local application role's password is kept (one file per cluster)."""
    host = (url.host or "localhost").replace("/", "_")
    return _state_dir() / f"app-password-{host}-{url.port or 5432}-{app_role()}"


def admin_psql(sql: str, *, port: int, dbname: str = "postgres") -> str:
    """Run ``sql`` on the local cluster at ``port`` as the ``postgres`` system user."""
    proc = subprocess.run(
        ["runuser", "-u", "postgres", "--", "psql", "-X", "-v", "ON_ERROR_STOP=1", "-qAt",
         "-p", str(port), "-d", dbname],
        input=sql, capture_output=True, text=True)
    if proc.returncode != 0:
        raise DatabaseSetupError(f"以 postgres 管理员身份执行 SQL 失败（端口 {port}）："
                                 f"{proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


def provision_local(url: URL, say: object = None) -> None:
    """Create or update the scope roles and the application role on the local cluster.

    The application role gets a fresh random password when none is kept yet;
    the password is written to :func:`password_file` (mode 600).
    """
    path = password_file(url)
    password = path.read_text().strip() if path.is_file() else None
    known = bool(admin_psql(
        f"SELECT 1 FROM pg_roles WHERE rolname = {quote_literal(app_role())} AND "
        f"rolcanlogin AND NOT rolinherit", port=url.port or 5432).strip())
    missing = not known or any(not admin_psql(
        f"SELECT 1 FROM pg_roles WHERE rolname = {quote_literal(scope_role(k))}",
        port=url.port or 5432).strip() for k in SCOPE_KINDS)
    if password and not missing:
        return
    new = password or secrets.token_urlsafe(24)
    if callable(say):
        say(f"创建看板数据库角色 {app_role()} 及各账号类型的角色 …")
    admin_psql(roles_sql(new), port=url.port or 5432)
    if not password:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(new + "\n")


def app_url(owner_url: str) -> str:
    """The dashboard's database URL: ``app_database_url`` when set, else the local app role.

    Raises
    ------
    DatabaseSetupError
        For a remote database without ``PROPMAP_APP_DATABASE_URL``.
    """
    explicit = str(settings.get("app_database_url") or "")
    if explicit:
        return explicit
    u = make_url(owner_url)
    if u.host not in (None, "", "localhost", "127.0.0.1"):
        raise DatabaseSetupError(
            "看板需以专用的数据库角色连接：请让数据库管理员执行 `propmap db roles` 输出的 SQL，"
            "并设置 PROPMAP_APP_DATABASE_URL（以该角色连接的地址）。")
    path = password_file(u)
    if not path.is_file():
        provision_local(u)
    password = path.read_text().strip()
    return u.set(username=app_role(), password=password).render_as_string(hide_password=False)
