"""Exceptions raised by propmap, and the one translation of errors into messages for staff.

Each exception subclasses a builtin so callers can catch broadly, and each message
says, in Chinese, what went wrong and what to do about it: these reach staff through
the command line and the dashboard unchanged.

:func:`user_message` is the one place that decides what staff read when something
fails: propmap's own errors as they are, a database that cannot be reached, does not
exist or refuses the login, and a query cancelled by the statement timeout, each with
its remedy. The command line (``propmap.cli``) and the dashboard
(``dashboard.common.guarded``) both call it, so they say the same thing.
"""

from __future__ import annotations

import re

import sqlalchemy as sa


class PropmapError(Exception):
    """Base class: an error whose message is meant for the user as-is."""


class DatabaseSetupError(PropmapError, RuntimeError):
    """The local database could not be prepared (package, cluster, role, extension)."""


class InputFileError(PropmapError, ValueError):
    """A whole input file is unusable: not a table, wrong format, required columns missing."""


class CRSError(PropmapError, ValueError):
    """Geometry arrived without a coordinate reference system, or with one we cannot convert."""


class SettingError(PropmapError, ValueError):
    """A setting holds a value propmap cannot use (the message names the variable)."""


class DemoRefusedError(PropmapError, RuntimeError):
    """The synthetic demo would overwrite data or fill a database not meant for it."""


#: SQLSTATE of a cancelled statement (statement timeout, or a cancel request).
_QUERY_CANCELED = "57014"
#: SQLSTATE of a refused privilege (no grant, or a row-level security policy's WITH CHECK).
_NO_PRIVILEGE = "42501"
#: SQLSTATEs of a server that is going away or not yet accepting connections.
_SERVER_GONE = {"57P01", "57P02", "57P03"}

_SERVER = re.compile(r'connection to server (?:at "([^"]+)"(?: \([^)]*\))?, port (\d+)|'
                     r'on socket "[^"]*?(\d+)")')
_NO_DATABASE = re.compile(r'database "([^"]+)" does not exist')
_NO_ROLE = re.compile(r'role "([^"]+)" does not exist')
_BAD_LOGIN = re.compile(r'(?:password|Ident|Peer) authentication failed for user "([^"]+)"')


def _where(text: str) -> str:
    """``（主机:端口）`` of the server a connection error names, or nothing."""
    m = _SERVER.search(text)
    if not m:
        return ""
    return f"（{m.group(1)}:{m.group(2)}）" if m.group(1) else f"（本机端口 {m.group(3)}）"


def _timeout_ms() -> str:
    from geo import settings  # settings imports this module

    try:
        return f"{settings.get('statement_timeout_ms')} 毫秒"
    except SettingError:
        return "设定时长"


def user_message(exc: BaseException) -> str | None:
    """The message staff should read for ``exc``, or ``None`` when it is a bug.

    Parameters
    ----------
    exc
        Any exception caught at the edge (a command, a dashboard page).

    Returns
    -------
    str or None
        Chinese text saying what is wrong and what to do; ``None`` for an error
        that is not the user's to fix (let it propagate, with its traceback).
    """
    if isinstance(exc, PropmapError):
        return str(exc)
    if not isinstance(exc, sa.exc.DBAPIError):
        return None
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    text = str(orig)
    if sqlstate == _QUERY_CANCELED:
        if "statement timeout" in text:
            return (f"查询超时（超过 {_timeout_ms()}）：请缩短时段或缩小范围；"
                    "管理员可调大设置 PROPMAP_STATEMENT_TIMEOUT_MS。")
        return "查询被取消（数据库管理员中止了它，或数据库正在关闭）：请稍后重试。"
    if sqlstate == _NO_PRIVILEGE:  # a grant or a row-level security policy said no
        return ("数据库拒绝了这项操作：您的账号无权在此范围内读写这些数据"
                "（权限由数据库按账号类型与辖区检查）。如确需办理，请联系系统管理员。")
    if not isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
        return None
    where = _where(text)
    if m := _NO_DATABASE.search(text):
        return (f"数据库 {m.group(1)} 不存在{where}：请检查 DATABASE_URL 中的库名是否拼写正确；"
                "确需新建该库，请运行 propmap db init --create。")
    if m := _NO_ROLE.search(text):
        return (f"数据库中没有用户 {m.group(1)}{where}：请检查 DATABASE_URL 中的用户名；"
                "确需新建，请运行 propmap db init --create。")
    if m := _BAD_LOGIN.search(text):
        return (f"数据库拒绝用户 {m.group(1)} 登录{where}：请检查 DATABASE_URL 中的用户名和密码。")
    if sqlstate in _SERVER_GONE or sqlstate is None or sqlstate.startswith("08"):
        return (f"无法连接数据库{where}：请确认数据库已启动（propmap db init 会启动本机数据库），"
                "或检查 DATABASE_URL 设置。")
    return None
