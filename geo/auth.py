"""Accounts and login: Argon2 passwords, lockout, and the audit trail of every login.

Passwords are hashed with Argon2id (``argon2-cffi``) and stored as the PHC
string (``$argon2id$v=19$m=…,t=…,p=…$salt$hash``); a clear password is never
stored or logged. The dashboard's database role may not read the hash column:
it asks the database (a ``SECURITY DEFINER`` function, :data:`AUTH_SQL` in the
accounts migration) for the hash's parameters and salt only, computes the
candidate hash itself (:func:`candidate`), and hands that to
``propmap_auth_login``, which compares it with the stored one, counts
failures, locks the account after ``login_max_failures`` in a row for
``login_lockout_minutes``, and writes the audit row, all in one statement. An
unknown name gets plausible fake parameters, so a login attempt does not tell
whether a name exists.

The command line (run by the operator, as the table owner) creates accounts,
resets passwords (a one-time password the user must change at first login),
changes scopes and disables accounts, each written to the audit log.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher, extract_parameters, low_level
from argon2.exceptions import InvalidHashError

from geo import roles, settings
from geo._errors import PropmapError
from geo.scope import Scope

_HASHER = PasswordHasher()
#: Shortest password accepted at a password change.
MIN_PASSWORD = 10


class AuthError(PropmapError, ValueError):
    """An account operation that cannot be done (unknown account, bad scope, weak password)."""


def hash_password(password: str) -> str:
    """The Argon2id PHC string of ``password``."""
    return _HASHER.hash(password)


def _b64decode(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def candidate(prefix: str, password: str) -> str:
    """The hash part a PHC string with ``prefix`` (everything but the hash) would have.

    ``prefix`` is ``$argon2id$v=19$m=…,t=…,p=…$salt``, as the database hands it out.
    """
    try:
        params = extract_parameters(prefix + "$" + "A" * 43)
    except InvalidHashError as exc:
        raise AuthError("账号数据异常，请联系管理员") from exc
    salt = _b64decode(prefix.rsplit("$", 1)[1])
    raw = low_level.hash_secret_raw(password.encode(), salt, time_cost=params.time_cost,
                                    memory_cost=params.memory_cost,
                                    parallelism=params.parallelism, hash_len=params.hash_len,
                                    type=params.type, version=params.version)
    return base64.b64encode(raw).decode().rstrip("=")


def check_new_password(password: str, name: str) -> None:
    """Refuse a weak new password with a reason in Chinese."""
    if len(password) < MIN_PASSWORD:
        raise AuthError(f"新密码至少需要 {MIN_PASSWORD} 个字符")
    if name and name.lower() in password.lower():
        raise AuthError("新密码不能包含账号名")
    kinds = sum(any(f(ch) for ch in password) for f in (
        str.isdigit, str.isupper, str.islower, lambda ch: not ch.isalnum()))
    if kinds < 3:
        raise AuthError("新密码需包含大写字母、小写字母、数字、符号中的至少三类")


def one_time_password() -> str:
    """A random password to hand out once (it must be changed at first login)."""
    return "Pm-" + secrets.token_urlsafe(9)


@dataclass(frozen=True)
class Account:
    """A logged-in account, as the dashboard holds it."""

    name: str
    display_name: str
    scope: Scope
    must_change: bool


@dataclass(frozen=True)
class LoginResult:
    """What a login attempt came to: ``ok``, ``bad``, ``locked`` or ``disabled``."""

    status: str
    account: Account | None = None
    locked_until: Any = None

    def message(self) -> str:
        """What the login page says, in Chinese."""
        if self.status == "locked":
            until = f"，{self.locked_until:%H:%M} 后可再试" if self.locked_until else ""
            return f"连续登录失败次数过多，账号已暂时锁定{until}。如需立即解锁请联系管理员。"
        if self.status == "disabled":
            return "该账号已停用，请联系管理员。"
        return "账号或密码不正确。"


def _account(row: Any) -> Account:
    themes = tuple(row.themes or ())
    scope = Scope(row.role, streets=tuple(row.streets or ()), community_id=row.community_id,
                  dept=row.dept, themes=themes, account=row.name)
    return Account(row.name, row.display_name or row.name, scope, bool(row.must_change))


def new_session_token() -> str:
    """A random session token for the browser's cookie (the database keeps its SHA-256 only)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def login(con: sa.Connection, name: str, password: str, client: str = "",
          session: str | None = None) -> LoginResult:
    """Check ``password`` for account ``name`` (as the dashboard's role); audited either way.

    On success the session ``session`` (a token from :func:`new_session_token`) is opened.
    """
    prefix = con.execute(sa.text("SELECT propmap_auth_prefix(:n)"), {"n": name}).scalar_one()
    digest = candidate(prefix, password)
    row = con.execute(sa.text(
        "SELECT * FROM propmap_auth_login(:n, :d, CAST(:max AS integer), "
        "CAST(:minutes AS numeric), :client, :s)"),
        {"n": name, "d": digest, "max": int(settings.get("login_max_failures")),
         "minutes": float(settings.get("login_lockout_minutes")), "client": client[:200],
         "s": token_hash(session or new_session_token())}).one()
    if row.status != "ok":
        return LoginResult(row.status, locked_until=row.locked_until)
    return LoginResult("ok", _account(row))


def resume(con: sa.Connection, session: str) -> LoginResult:
    """The account of an open session (idle time checked by the database), or why not.

    ``status`` is ``ok``, ``none`` (no such open session), ``expired`` (idle for longer
    than ``session_idle_minutes``: now ended, audited) or ``disabled``.
    """
    row = con.execute(sa.text(
        "SELECT * FROM propmap_session_resume(:s, CAST(:idle AS numeric))"),
                      {"s": token_hash(session),
                       "idle": float(settings.get("session_idle_minutes"))}).one()
    return LoginResult("ok", _account(row)) if row.status == "ok" else LoginResult(row.status)


def end_session(con: sa.Connection, session: str) -> None:
    """Log the session out (audited)."""
    con.execute(sa.text("SELECT propmap_session_end(:s)"), {"s": token_hash(session)})


def login_oidc(con: sa.Connection, subject: str, client: str = "",
               session: str | None = None) -> LoginResult:
    """The account whose OIDC subject is ``subject`` (the identity provider vouched for it)."""
    row = con.execute(sa.text("SELECT * FROM propmap_auth_oidc(:s, :client, :t)"),
                      {"s": subject, "client": client[:200],
                       "t": token_hash(session or new_session_token())}).one()
    return LoginResult("ok", _account(row)) if row.status == "ok" else LoginResult(row.status)


def change_password(con: sa.Connection, name: str, old: str, new: str) -> None:
    """Change ``name``'s password, proving the old one (as the dashboard's role). Every open
    session of the account ends (a stolen token does not outlive the change)."""
    check_new_password(new, name)
    if old == new:
        raise AuthError("新密码不能与当前密码相同")
    prefix = con.execute(sa.text("SELECT propmap_auth_prefix(:n)"), {"n": name}).scalar_one()
    ok = con.execute(sa.text("SELECT propmap_auth_change_password(:n, :d, :h)"),
                     {"n": name, "d": candidate(prefix, old), "h": hash_password(new)}).scalar()
    if not ok:
        raise AuthError("当前密码不正确")


def audit(con: sa.Connection, event: str, detail: dict[str, Any] | None = None, *,
          account: str | None = None, role: str | None = None) -> None:
    """Append one row to the audit log (the account comes from the scope when not given)."""
    con.execute(sa.text(
        "INSERT INTO audit_log (account, role, event, detail) VALUES ("
        "coalesce(:a, nullif(current_setting('propmap.account', true), '')), "
        "coalesce(:r, current_user), :e, CAST(:d AS jsonb))"),
        {"a": account, "r": role, "e": event,
         "d": json.dumps(detail or {}, ensure_ascii=False, default=str)})


# --- the operator's side (command line, as the owner) -------------------------------------

def _validate_scope(con: sa.Connection, role: str, streets: tuple[str, ...],
                    community: int | None, dept: str | None) -> tuple[str, ...]:
    """Check the scope's parts exist; returns the department's themes."""
    if role == "street":
        if not streets:
            raise AuthError("街道账号须用 --street 指定至少一个街道/镇（12 位区划代码）")
        known = set(con.execute(sa.text("SELECT code FROM streets")).scalars())
        unknown = [s for s in streets if s not in known]
        if unknown:
            raise AuthError(f"没有这些街道/镇：{'、'.join(unknown)}（请用 12 位区划代码）")
    elif streets:
        raise AuthError("只有街道账号可以指定 --street")
    if role == "community":
        if community is None:
            raise AuthError("社区账号须用 --community 指定社区编号")
        if not con.execute(sa.text("SELECT 1 FROM communities WHERE id = :i"),
                           {"i": community}).first():
            raise AuthError(f"没有编号为 {community} 的社区")
    elif community is not None:
        raise AuthError("只有社区账号可以指定 --community")
    if role == "dept":
        if not dept:
            raise AuthError("部门账号须用 --dept 指定部门代码（见 departments.csv）")
        if not con.execute(sa.text("SELECT 1 FROM departments WHERE code = :c"),
                           {"c": dept}).first():
            raise AuthError(f"没有代码为 {dept} 的部门（见 data/reference/departments.csv）")
        return tuple(con.execute(sa.text(
            "SELECT theme FROM department_themes WHERE dept = :d ORDER BY theme"),
            {"d": dept}).scalars())
    if dept:
        raise AuthError("只有部门账号可以指定 --dept")
    return ()


def add_user(con: sa.Connection, name: str, role: str, *, streets: tuple[str, ...] = (),
             community: int | None = None, dept: str | None = None,
             display_name: str | None = None, password: str | None = None,
             must_change: bool = True, oidc_subject: str | None = None,
             by: str = "cli") -> str:
    """Create an account; returns its (one-time) password."""
    if role not in roles.SCOPE_KINDS:
        raise AuthError(f"未知的账号类型 {role}，可选：{'、'.join(roles.SCOPE_KINDS)}")
    if not name or len(name) > 64 or not name.isprintable() or any(c.isspace() for c in name):
        raise AuthError("账号名须为 1–64 个可打印字符，且不含空格")
    _validate_scope(con, role, streets, community, dept)
    if con.execute(sa.text("SELECT 1 FROM accounts WHERE name = :n"), {"n": name}).first():
        raise AuthError(f"账号 {name} 已存在")
    pw = password or one_time_password()
    con.execute(sa.text(
        "INSERT INTO accounts (name, display_name, role, streets, community_id, dept, pw_hash, "
        "must_change, oidc_subject) VALUES (:n, :dn, :r, :s, :c, :d, :h, :m, :o)"),
        {"n": name, "dn": display_name or name, "r": role, "s": list(streets), "c": community,
         "d": dept, "h": hash_password(pw), "m": must_change, "o": oidc_subject or None})
    audit(con, "account_created", {"name": name, "role": role, "streets": list(streets),
                                   "community": community, "dept": dept}, account=by,
          role="operator")
    return pw


def reset_password(con: sa.Connection, name: str, by: str = "cli") -> str:
    """A new one-time password for ``name`` (unlocks it); returns the password."""
    pw = one_time_password()
    n = con.execute(sa.text(
        "UPDATE accounts SET pw_hash = :h, must_change = true, failed_count = 0, "
        "locked_until = NULL WHERE name = :n"), {"h": hash_password(pw), "n": name}).rowcount
    if not n:
        raise AuthError(f"没有账号 {name}")
    audit(con, "password_reset", {"name": name}, account=by, role="operator")
    return pw


def set_disabled(con: sa.Connection, name: str, disabled: bool = True, by: str = "cli") -> None:
    n = con.execute(sa.text("UPDATE accounts SET disabled = :d WHERE name = :n"),
                    {"d": disabled, "n": name}).rowcount
    if not n:
        raise AuthError(f"没有账号 {name}")
    audit(con, "account_disabled" if disabled else "account_enabled", {"name": name},
          account=by, role="operator")


def set_scope(con: sa.Connection, name: str, *, streets: tuple[str, ...] = (),
              community: int | None = None, dept: str | None = None, by: str = "cli") -> None:
    row = con.execute(sa.text("SELECT role FROM accounts WHERE name = :n"), {"n": name}).first()
    if row is None:
        raise AuthError(f"没有账号 {name}")
    _validate_scope(con, row.role, streets, community, dept)
    con.execute(sa.text("UPDATE accounts SET streets = :s, community_id = :c, dept = :d "
                        "WHERE name = :n"),
                {"s": list(streets), "c": community, "d": dept, "n": name})
    audit(con, "scope_changed", {"name": name, "streets": list(streets), "community": community,
                                 "dept": dept}, account=by, role="operator")
