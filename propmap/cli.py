"""The ``propmap`` command: database, demo data, import, export, dashboard, benchmark.

Every command runs under :func:`propmap._command.user_errors`, the one place that
turns an error into a message (through :func:`geo._errors.user_message`, as the
dashboard does) and exit code 2; everything below raises, nothing below prints
errors. Every setting is checked before any command runs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from geo._errors import DemoRefusedError
from propmap._command import date_option
from propmap._command import engine as _engine
from propmap._command import say as _say
from propmap._command import user_errors as _user_errors
from propmap.cli_accounts import audit_group, user_group
from propmap.cli_credit import credit_group
from propmap.cli_intake import import_group, quarantine_group
from propmap.cli_records import record_group


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="propmap")
@_user_errors
def main() -> None:
    """凯里市物业管理一张图 (propmap)."""
    from geo import settings

    settings.check()


@main.group()
def db() -> None:
    """Database: prepare, migrate, show where it is."""


@db.command("init")
@click.option("--create", is_flag=True,
              help="DATABASE_URL 中的用户或库不存在时新建（本机数据库）；默认只新建本机默认库")
@_user_errors
def db_init(create: bool) -> None:
    """Prepare the database and bring its schema up to date (safe to run again)."""
    from geo import schema

    engine = _engine(create=create or None)
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
@click.option("--overwrite", is_flag=True,
              help="库中已有非演示数据（导入的真实数据等）时也清空并载入演示数据")
@_user_errors
def demo(seed: int, n_cases: int, as_of: str | None, overwrite: bool) -> None:
    """Replace all data with the deterministic, synthetic Kaili demo.

    Refuses a database that holds data other than the demo's, unless ``--overwrite``.
    """
    import datetime as dt
    import time

    from etl import demo as demo_mod
    from etl import demo_guard
    from geo import schema

    day = date_option(as_of, "--as-of") or dt.date.today()
    engine = _engine(init=False)
    if not overwrite:  # before migrating: the database may not be ours
        with engine.connect() as con:
            reason = demo_guard.refusal(con, asked=True)
        if reason:
            raise DemoRefusedError(reason)
    schema.prepare(engine)
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
                                            "hazards", "worklist", "firms"]))
@click.option("--format", "fmt", type=click.Choice(["geojson", "gpkg", "csv", "xlsx"]),
              default=None,
              help="文件格式（默认按 --output 的扩展名；firms、worklist 只能是 xlsx）")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--street", default=None, help="只导出该街道（区划代码）；worklist 必填")
@click.option("--period", default=None,
              help="firms：评价季度，如 2026Q2（默认：最近一个完整季度）")
@_user_errors
def export_cmd(layer: str, fmt: str | None, output: Path, street: str | None,
               period: str | None) -> None:
    """Export a layer to GeoJSON, GeoPackage, CSV (UTF-8 with BOM, opens in Excel) or xlsx.

    ``firms``: every firm's credit score, grade, list status and the parts of its score.
    ``worklist`` writes a street office's 三无小区清单, the same file as the dashboard's
    download, with the columns to fill in and upload again (``propmap import worklist``).
    """
    from etl import export
    from geo import auth
    from propmap._command import operator as _operator
    from propmap.cli_credit import export_firms

    fmt = fmt or output.suffix.lstrip(".").lower()
    if fmt not in ("geojson", "gpkg", "csv", "xlsx"):
        raise click.BadParameter("请用 --format 指定 geojson、gpkg、csv 或 xlsx，"
                                 "或让 --output 以这些扩展名结尾", param_hint="--format")
    if period and layer != "firms":
        raise click.BadParameter("--period 只用于 firms", param_hint="--period")
    if layer in ("firms", "worklist") and fmt != "xlsx":
        raise click.BadParameter(f"{layer} 只能导出为 xlsx", param_hint="--format")
    if layer == "firms":
        if street:
            raise click.BadParameter("信用评价按全市计算，firms 不能按街道导出",
                                     param_hint="--street")
        n = export_firms(output, period)
    elif layer == "worklist":
        n = _export_worklist(_engine(), street, output)
    else:
        n = export.export(_engine(), layer, fmt, output, street=street)
    with _engine(init=False).begin() as con:
        auth.audit(con, "export", {"what": layer, "format": fmt, "file": str(output),
                                   "rows": n, "filters": {"street": street, "period": period}},
                   account=_operator(), role="operator")
    _say(f"已导出 {n:,} 条到 {output}")


def _export_worklist(engine: object, street: str | None, output: Path) -> int:
    """The street office's worklist xlsx (:func:`layers.worklist.workbook`); returns its rows."""
    import sqlalchemy as sa

    from geo import measures
    from layers import stats, worklist
    from layers.filters import Filters

    if not street:
        raise click.UsageError("导出工作清单须用 --street 指定街道/镇（12 位区划代码）")
    assert isinstance(engine, sa.Engine)
    with engine.connect() as con:
        name = con.execute(sa.text("SELECT name FROM streets WHERE code = :s"),
                           {"s": street}).scalar()
        if name is None:
            raise click.BadParameter(f"没有区划代码为 {street} 的街道/镇", param_hint="--street")
        f = Filters.year_to(measures.cutoff_day(con), street=street)
        ranked = worklist.query(con, f)
        data = worklist.workbook(ranked, street_name=str(name), f=f,
                                 synthetic=stats.is_synthetic(con))
    output.write_bytes(data)
    return len(ranked)


@main.command("briefing")
@click.option("--period", required=True, help="季度，如 2026Q3（未结束的季度截至数据截止日）")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="输出文件：.docx（Word）或 .pdf（经 LibreOffice 转换）")
@_user_errors
def briefing_cmd(period: str, output: Path) -> None:
    """Write the joint meeting's briefing of a quarter (A4, Chinese) as .docx or .pdf."""
    import time

    from briefing import build
    from geo import auth
    from propmap._command import operator as _operator

    fmt = build.file_format(output)
    engine = _engine()
    t0 = time.perf_counter()
    with engine.connect() as con:
        f = build.quarter_filters(con, period)
        doc = build.build(con, f)
    payload = build.render(doc, fmt)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(payload)
    with engine.begin() as con:
        auth.audit(con, "export", {"what": "briefing", "format": fmt.lstrip("."),
                                   "file": str(output), "period": period},
                   account=_operator(), role="operator")
    _say(f"简报已写入 {output}（{f.period.text()}，{len(doc.sections)} 节，"
         f"{len(payload) / 1024:.0f} KB，{time.perf_counter() - t0:.1f} 秒）"
         + ("；演示数据（合成）" if doc.synthetic else ""))


@main.command()
@click.option("--cases", "n_cases", default=1_000_000, show_default=True,
              type=click.IntRange(1_000, 5_000_000), help="大样本工单数 N")
@click.option("--runs", default=5, show_default=True, type=click.IntRange(1, 50),
              help="每项测量次数（取中位数）")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="结果另存为 JSON")
@click.option("--browser/--no-browser", default=True, show_default=True,
              help="是否测量浏览器首屏（需要 /usr/bin/chromium）")
@click.option("--sessions", default=0, show_default=True, type=click.IntRange(0, 200),
              help="同时访问的会话数（0：不做并发测量）")
@click.option("--rounds", default=4, show_default=True, type=click.IntRange(2, 20),
              help="并发测量中每个会话浏览的轮数（第一轮为预热）")
@_user_errors
def bench(n_cases: int, runs: int, json_path: Path | None, browser: bool, sessions: int,
          rounds: int) -> None:
    """Measure the speed budgets on a scratch database (created and dropped)."""
    from bench import run as bench_run

    res = bench_run.run(n_cases, runs, say=_say, browser=browser, sessions=sessions,
                        rounds=rounds)
    click.echo(bench_run.markdown(res))
    if json_path:
        bench_run.save(res, json_path)
        _say(f"结果已写入 {json_path}")


@main.command()
@click.option("--port", default=8501, show_default=True, type=click.IntRange(1, 65535))
@click.option("--address", default="127.0.0.1", show_default=True,
              help="监听地址；供局域网访问请用 0.0.0.0 或本机的局域网地址")
@click.option("--demo/--no-demo", "demo_flag", default=None,
              help="数据库为空时：--demo 载入演示数据（即使该库不是 propmap 创建的）；"
                   "--no-demo 从不载入。默认只向 propmap 自建的库载入")
@click.option("--headless/--no-headless", default=True)
@_user_errors
def serve(port: int, address: str, demo_flag: bool | None, headless: bool) -> None:
    """Run the dashboard (Streamlit) on this machine, on 127.0.0.1 unless ``--address``.

    An empty database gets the synthetic demo first when propmap created it (the
    quick start), or with ``--demo`` or ``PROPMAP_ALLOW_DEMO``; never over data that
    is not the demo's. SIGTERM and SIGINT stop the dashboard with the command.
    """
    import sqlalchemy as sa

    from dashboard import assets, harness
    from etl import demo_guard
    from geo import db, settings

    engine = _engine(init=False)
    with engine.connect() as con:
        empty = not sa.inspect(con).has_table("streets") or not con.execute(
            sa.text("SELECT 1 FROM streets LIMIT 1")).first()
        asked = bool(demo_flag) or settings.get("allow_demo") or db.is_default()
        reason = demo_guard.refusal(con, asked=asked) if empty and demo_flag is not False \
            else None
    if reason:  # before any table is created in a database that may not be ours
        raise DemoRefusedError(reason)
    from geo import schema

    schema.prepare(engine)
    if empty and demo_flag is not False:
        import datetime as dt

        from etl import demo as demo_mod

        _say("数据库为空，先生成演示数据 …")
        demo_mod.build(engine, seed=42, n_cases=20_000, as_of=dt.date.today(), say=_say)
        _print_demo_accounts(demo_mod.create_accounts(engine))
    assets.ensure(say=_say)
    shown = "localhost" if address in ("127.0.0.1", "localhost") else address
    _say(f"看板地址：http://{shown}:{port}")
    from geo import roles

    # The dashboard gets the application role's URL only, never the owner's.
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["PROPMAP_APP_DATABASE_URL"] = roles.app_url(
        engine.url.render_as_string(hide_password=False))
    engine.dispose()
    cmd = harness.streamlit_command(port, address=address, headless=headless)
    sys.exit(harness.run_foreground(cmd, env=env, cwd=harness.APP.parent))


main.add_command(import_group, "import")
main.add_command(quarantine_group, "quarantine")
main.add_command(user_group, "user")
main.add_command(audit_group, "audit")
main.add_command(record_group, "record")
main.add_command(credit_group, "credit")

from propmap.cli_hotspots import hotspots as hotspots_command  # noqa: E402

main.add_command(hotspots_command, "hotspots")


if __name__ == "__main__":
    main()
