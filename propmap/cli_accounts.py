"""``propmap user …`` and ``propmap audit …``: the operator's account management on the server.

The command line runs as the table owner (the administrator's tool on the
server); every change it makes to an account is written to the audit log.
One-time passwords are printed once and must be changed at first login.
"""

from __future__ import annotations

import datetime as dt
import json

import click
import sqlalchemy as sa

from propmap._command import date_option
from propmap._command import engine as _engine
from propmap._command import operator as _operator
from propmap._command import say as _say
from propmap._command import user_errors as _user_errors


def _user_group() -> None:
    """Accounts of the dashboard: add, list, disable, reset passwords, change scopes."""


user_group: click.Group = click.group("user")(_user_group)


@user_group.command("add")
@click.argument("name")
@click.option("--role", required=True,
              type=click.Choice(["leader", "housing", "street", "community", "dept", "viewer",
                                 "admin"]),
              help="账号类型：leader 联席会议，housing 住建局，street 街道/镇，community 社区，"
                   "dept 职能部门，viewer 会议大屏，admin 系统管理员")
@click.option("--street", "streets", multiple=True, help="街道/镇区划代码（街道账号，可重复）")
@click.option("--community", type=int, default=None, help="社区编号（社区账号）")
@click.option("--dept", default=None, help="部门代码（部门账号，见 departments.csv）")
@click.option("--display-name", default=None, help="显示名称，如“湾溪街道办事处”")
@click.option("--oidc", "oidc_subject", default=None, help="统一身份认证中的用户标识（可选）")
@_user_errors
def user_add(name: str, role: str, streets: tuple[str, ...], community: int | None,
             dept: str | None, display_name: str | None, oidc_subject: str | None) -> None:
    """Create an account and print its one-time password."""
    from geo import auth

    with _engine().begin() as con:
        pw = auth.add_user(con, name, role, streets=streets, community=community, dept=dept,
                           display_name=display_name, oidc_subject=oidc_subject,
                           by=_operator())
    click.echo(f"已创建账号 {name}（{role}）。一次性密码：{pw}")
    _say("请将一次性密码当面或经安全渠道交给使用人；首次登录时必须修改。")


@user_group.command("list")
@_user_errors
def user_list() -> None:
    """List the accounts (never their passwords)."""
    from geo.scope import KIND_LABELS

    with _engine().connect() as con:
        rows = con.execute(sa.text(
            "SELECT name, display_name, role, streets, community_id, dept, disabled, "
            "must_change, locked_until > now() AS locked, last_login_at FROM accounts "
            "ORDER BY role, name")).all()
    if not rows:
        _say("还没有账号。用 propmap user add 创建。")
        return
    for r in rows:
        scope = ("、".join(r.streets) if r.streets else
                 f"社区 {r.community_id}" if r.community_id else r.dept or "全市")
        flags = "".join([" [已停用]" if r.disabled else "", " [待改密码]" if r.must_change else "",
                         " [已锁定]" if r.locked else ""])
        last = f"{r.last_login_at:%Y-%m-%d %H:%M}" if r.last_login_at else "从未登录"
        click.echo(f"{r.name}\t{KIND_LABELS.get(r.role, r.role)}\t{scope}\t{last}{flags}")


@user_group.command("disable")
@click.argument("name")
@_user_errors
def user_disable(name: str) -> None:
    """Disable an account (it can no longer log in)."""
    from geo import auth

    with _engine().begin() as con:
        auth.set_disabled(con, name, True, by=_operator())
    click.echo(f"已停用账号 {name}")


@user_group.command("enable")
@click.argument("name")
@_user_errors
def user_enable(name: str) -> None:
    """Enable a disabled account again."""
    from geo import auth

    with _engine().begin() as con:
        auth.set_disabled(con, name, False, by=_operator())
    click.echo(f"已启用账号 {name}")


@user_group.command("reset-password")
@click.argument("name")
@_user_errors
def user_reset_password(name: str) -> None:
    """Give an account a new one-time password (and unlock it); prints it once."""
    from geo import auth

    with _engine().begin() as con:
        pw = auth.reset_password(con, name, by=_operator())
    click.echo(f"账号 {name} 的新一次性密码：{pw}")


@user_group.command("set-scope")
@click.argument("name")
@click.option("--street", "streets", multiple=True, help="街道/镇区划代码（街道账号，可重复）")
@click.option("--community", type=int, default=None, help="社区编号（社区账号）")
@click.option("--dept", default=None, help="部门代码（部门账号）")
@_user_errors
def user_set_scope(name: str, streets: tuple[str, ...], community: int | None,
                   dept: str | None) -> None:
    """Change what area or department an account covers."""
    from geo import auth

    with _engine().begin() as con:
        auth.set_scope(con, name, streets=streets, community=community, dept=dept,
                       by=_operator())
    click.echo(f"已变更账号 {name} 的范围")


def _audit_group() -> None:
    """The audit log: logins, lockouts, downloads, exports and writes (append-only)."""


audit_group: click.Group = click.group("audit")(_audit_group)


@audit_group.command("list")
@click.option("--user", "who", default=None, help="只看该账号")
@click.option("--since", default=None, help="起始日期 YYYY-MM-DD（默认近 7 天）")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--json", "as_json", is_flag=True, help="每行输出一个 JSON 对象")
@_user_errors
def audit_list(who: str | None, since: str | None, limit: int, as_json: bool) -> None:
    """Show the audit log, newest first."""
    day = date_option(since, "--since") or dt.date.today() - dt.timedelta(days=7)
    with _engine().connect() as con:
        rows = con.execute(sa.text(
            "SELECT at, account, role, event, detail FROM audit_log "
            "WHERE at >= CAST(:d AS date) AND (CAST(:u AS text) IS NULL OR account = :u "
            "OR detail ->> 'name' = :u) "
            "ORDER BY at DESC, id DESC LIMIT :n"), {"d": day, "u": who, "n": limit}).all()
    for r in rows:
        if as_json:
            click.echo(json.dumps({"at": r.at.isoformat(), "account": r.account, "role": r.role,
                                   "event": r.event, "detail": r.detail}, ensure_ascii=False))
        else:
            click.echo(f"{r.at:%Y-%m-%d %H:%M:%S}\t{r.account or '-'}\t{r.event}\t"
                       f"{json.dumps(r.detail, ensure_ascii=False)}")
    if not rows and not as_json:
        _say("该时段没有审计记录")
