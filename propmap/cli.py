"""The ``propmap`` command: database, demo data, import, export, dashboard, benchmark.

This is the one place that turns :class:`geo._errors.PropmapError` into a
message and an exit code; everything below raises, nothing below prints errors.
"""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click

from geo._errors import PropmapError

F = TypeVar("F", bound=Callable[..., Any])


def _user_errors(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except PropmapError as exc:
            click.secho(f"错误：{exc}", fg="red", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def _say(msg: str) -> None:
    click.echo(msg, err=True)


def _engine(init: bool = True) -> Any:
    """Prepare the database (local one if ``DATABASE_URL`` is unset) and return an engine."""
    from geo import db, reference, schema

    url = db.ensure_local(say=_say)
    engine = db.make_engine(url)
    if init:
        schema.upgrade(engine)
        with engine.begin() as con:
            reference.load(con)
    return engine


@contextlib.contextmanager
def _db() -> Iterator[Any]:
    """The prepared engine, disposed after the command (no connection left open)."""
    engine = _engine()
    try:
        yield engine
    finally:
        engine.dispose()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="propmap")
def main() -> None:
    """凯里市物业管理一张图 (propmap)."""


@main.group()
def db() -> None:
    """Database: prepare, migrate, show where it is."""


@db.command("init")
@_user_errors
def db_init() -> None:
    """Prepare the database and bring its schema up to date (safe to run again)."""
    from geo import schema

    engine = _engine()
    _say(f"数据库已就绪：{engine.url.render_as_string(hide_password=True)}，"
         f"结构版本 {schema.current(engine)}")


@db.command("roles")
def db_roles() -> None:
    """Print the SQL a database administrator runs once to create propmap's roles."""
    from geo import roles

    click.echo("-- 由数据库管理员（超级用户）执行一次；之后设置 PROPMAP_APP_DATABASE_URL 为以 "
               f"{roles.app_role()} 连接的地址，再执行 propmap db init。")
    click.echo(roles.roles_sql(None))
    click.echo(f"-- ALTER ROLE {roles.quote_ident(roles.app_role())} PASSWORD '…';"
               "  -- 请设置一个强密码")


@db.command("url")
def db_url() -> None:
    """Print the database URL in use (password hidden)."""
    from sqlalchemy.engine import make_url

    from geo import db as gdb

    click.echo(make_url(gdb.database_url()).render_as_string(hide_password=True))


@main.command()
@click.option("--seed", default=42, show_default=True, help="随机种子：同一种子生成同样的数据")
@click.option("--cases", "n_cases", default=20_000, show_default=True,
              type=click.IntRange(0, 1_000_000), help="工单数量（最多 1,000,000）")
@click.option("--as-of", "as_of", default=None, help="数据截止日期 YYYY-MM-DD（默认今天）")
@_user_errors
def demo(seed: int, n_cases: int, as_of: str | None) -> None:
    """Replace all data with the deterministic, synthetic Kaili demo."""
    import datetime as dt
    import time

    from etl import demo as demo_mod

    engine = _engine()
    day = dt.date.fromisoformat(as_of) if as_of else dt.date.today()
    t0 = time.perf_counter()
    counts = demo_mod.build(engine, seed=seed, n_cases=n_cases, as_of=day, say=_say)
    _say(f"演示数据已生成（{time.perf_counter() - t0:.1f} 秒，合成数据）：" + "，".join(
        f"{k} {v:,}" for k, v in counts.items()))
    _print_demo_accounts(demo_mod.create_accounts(engine))


def _print_demo_accounts(accounts: list[tuple[str, str, str, str]]) -> None:
    """The demo's accounts and their one-time passwords (shown once, changed at first login)."""
    click.echo("演示账号（一次性密码，首次登录须修改；"
               "忘记时用 propmap user reset-password 账号）：")
    for name, kind, scope, pw in accounts:
        click.echo(f"  {name:<16} {kind:<6} {scope:<24} {pw}")


@main.command("export")
@click.argument("layer", type=click.Choice(["streets", "communities", "compounds", "cases",
                                            "hazards"]))
@click.option("--format", "fmt", type=click.Choice(["geojson", "gpkg", "csv", "xlsx"]),
              required=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--street", default=None, help="只导出该街道（区划代码）")
@_user_errors
def export_cmd(layer: str, fmt: str, output: Path, street: str | None) -> None:
    """Export a layer to GeoJSON, GeoPackage, CSV (UTF-8 with BOM, opens in Excel) or xlsx."""
    from etl import export
    from geo import auth
    from propmap.cli_accounts import _operator

    with _db() as engine:
        n = export.export(engine, layer, fmt, output, street=street)
        with engine.begin() as con:
            auth.audit(con, "export", {"what": layer, "format": fmt, "file": str(output),
                                       "rows": n, "filters": {"street": street}},
                       account=_operator(), role="operator")
    _say(f"已导出 {n:,} 条到 {output}")


@main.command()
@click.option("--cases", "n_cases", default=1_000_000, show_default=True,
              type=click.IntRange(1_000, 5_000_000), help="大样本工单数 N")
@click.option("--runs", default=5, show_default=True, type=click.IntRange(1, 50),
              help="每项测量次数（取中位数）")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="结果另存为 JSON")
@click.option("--browser/--no-browser", default=True, show_default=True,
              help="是否测量浏览器首屏（需要 /usr/bin/chromium）")
@_user_errors
def bench(n_cases: int, runs: int, json_path: Path | None, browser: bool) -> None:
    """Measure issue 5's speed budgets on a scratch database (created and dropped)."""
    from bench import run as bench_run

    res = bench_run.run(n_cases, runs, say=_say, browser=browser)
    click.echo(bench_run.markdown(res))
    if json_path:
        bench_run.save(res, json_path)
        _say(f"结果已写入 {json_path}")


@main.command()
@click.option("--port", default=8501, show_default=True)
@click.option("--demo-if-empty/--no-demo", default=True, show_default=True,
              help="数据库为空时先生成演示数据")
@click.option("--headless/--no-headless", default=True)
@_user_errors
def serve(port: int, demo_if_empty: bool, headless: bool) -> None:
    """Run the dashboard (Streamlit) on this machine."""
    import sqlalchemy as sa

    from dashboard import assets, harness

    engine = _engine()
    with engine.connect() as con:
        empty = not con.execute(sa.text("SELECT 1 FROM streets LIMIT 1")).first()
    if empty and demo_if_empty:
        import datetime as dt

        from etl import demo as demo_mod

        _say("数据库为空，先生成演示数据 …")
        demo_mod.build(engine, seed=42, n_cases=20_000, as_of=dt.date.today(), say=_say)
        _print_demo_accounts(demo_mod.create_accounts(engine))
    assets.ensure(say=_say)
    _say(f"看板地址：http://localhost:{port}")
    from geo import roles

    # The dashboard gets the application role's URL only, never the owner's.
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["PROPMAP_APP_DATABASE_URL"] = roles.app_url(
        engine.url.render_as_string(hide_password=False))
    cmd = harness.streamlit_command(port, headless=headless)
    sys.exit(subprocess.call(cmd, env=env, cwd=harness.APP.parent))


from propmap.cli_accounts import audit_group, user_group  # noqa: E402
from propmap.cli_intake import import_group, quarantine_group  # noqa: E402

main.add_command(import_group, "import")
main.add_command(quarantine_group, "quarantine")
main.add_command(user_group, "user")
main.add_command(audit_group, "audit")

from propmap.cli_hotspots import hotspots as hotspots_command  # noqa: E402

main.add_command(hotspots_command, "hotspots")


if __name__ == "__main__":
    main()
