"""``propmap import ...`` and ``propmap quarantine ...``: intake commands (:mod:`etl.intake`)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click
from sqlalchemy.engine import Engine

from propmap._command import engine as _engine
from propmap._command import say as _say
from propmap._command import user_errors as _user_errors

if TYPE_CHECKING:
    from etl.intake.accounting import ImportResult

_STEPS = {"cases": ["读取文件", "解析与定位", "空间归属", "升级规则", "隔离与记账"]}
_LONG_FILE_BYTES = 5 << 20


@contextlib.contextmanager
def _db() -> Iterator[Engine]:
    """The prepared engine, disposed after the command (no connection left open)."""
    engine = _engine()
    try:
        yield engine
    finally:
        engine.dispose()


def _report(result: ImportResult, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False))
    else:
        _say(result.summary_zh())


def _import_group() -> None:
    """Import case exports, the compound register and boundary files."""


# Built without decorator syntax so the type is explicit: propmap.cli imports these
# names back, and mypy cannot infer a decorated name through that import cycle.
import_group: click.Group = click.group("import")(_import_group)


@import_group.command("cases")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--channel", type=click.Choice(["12345", "mailbox", "petition"]), default=None,
              help="来源渠道（文件中“来源渠道”为空的行使用它）")
@click.option("--json", "as_json", is_flag=True,
              help="输出一个 JSON 对象（行数核算、定位方式、隔离原因、各阶段耗时）")
@_user_errors
def import_cases_cmd(path: Path, channel: str | None, as_json: bool) -> None:
    """Import a 12345 / mailbox / petition export (.xlsx or .csv) into cases."""
    from etl.intake.cases import import_cases

    show_bar = not as_json and path.is_file() and path.stat().st_size >= _LONG_FILE_BYTES
    with _db() as engine:
        if show_bar:
            steps = _STEPS["cases"]
            with click.progressbar(length=len(steps), label="导入工单",
                                   file=sys.stderr) as bar:

                def step(label: str) -> None:
                    bar.label = label
                    bar.update(1)

                result = import_cases(engine, path, channel=channel, step=step)
        else:
            result = import_cases(engine, path, channel=channel)
    _report(result, as_json)


@import_group.command("compounds")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--as-of", "as_of", default=None,
              help="名录所反映的日期 YYYY-MM-DD（默认今天）：街道在此日及之后的记录不被名录覆盖")
@click.option("--json", "as_json", is_flag=True, help="输出一个 JSON 对象")
@_user_errors
def import_compounds_cmd(path: Path, as_of: str | None, as_json: bool) -> None:
    """Import the compound register (.xlsx or .csv, point coordinates or WKT boundaries).

    Where the register disagrees with a street office's record, the newer dated fact
    wins and the disagreement is listed for review (``propmap record conflicts``).
    """
    from etl.intake.compounds import import_compounds
    from geo import history

    try:
        day = dt.date.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise click.BadParameter(f"“{as_of}”不是 YYYY-MM-DD 格式的日期",
                                 param_hint="--as-of") from None
    with _db() as engine:
        result = import_compounds(engine, path, registered_on=day)
        with engine.connect() as con:
            conflicts = history.conflicts(con, result.import_id)
    _report(result, as_json)
    if not conflicts.empty and not as_json:
        _say(f"名录与街道记录不一致 {len(conflicts):,} 处（较新的记录生效），"
             f"请核对：propmap record conflicts --import-id {result.import_id}")


@import_group.command("boundaries")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--level", type=click.Choice(["street", "community"]), required=True,
              help="边界层级：street 街道/镇，community 社区")
@click.option("--json", "as_json", is_flag=True, help="输出一个 JSON 对象")
@_user_errors
def import_boundaries_cmd(path: Path, level: str, as_json: bool) -> None:
    """Import street or community boundaries (GeoJSON, Shapefile, GeoPackage)."""
    from etl.intake.boundaries import import_boundaries

    with _db() as engine:
        result = import_boundaries(engine, path, level=level)
    _report(result, as_json)


@import_group.command("hazards")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--theme", type=click.Choice(["fire", "elevator", "security"]), default=None,
              help="隐患类别（文件中“隐患类别”为空的行使用它）：fire 消防，elevator 电梯，"
                   "security 治安")
@click.option("--json", "as_json", is_flag=True, help="输出一个 JSON 对象")
@_user_errors
def import_hazards_cmd(path: Path, theme: str | None, as_json: bool) -> None:
    """Import inspection records (fire brigade, elevator inspections) and rectification updates."""
    from etl.intake.hazards import import_hazards

    with _db() as engine:
        result = import_hazards(engine, path, theme=theme)
    _report(result, as_json)


@import_group.command("worklist")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="输出一个 JSON 对象")
@_user_errors
def import_worklist_cmd(path: Path, as_json: bool) -> None:
    """Record the actions written into a 三无小区清单 (the worklist xlsx) taken out and back."""
    from etl.worklist import import_worklist
    from propmap.cli_accounts import _operator

    with _db() as engine:
        acc, res = import_worklist(engine, path, recorded_by=_operator())
    if as_json:
        click.echo(json.dumps({**acc.as_dict(), "recorded": res.recorded,
                               "refused": res.refused}, ensure_ascii=False))
    else:
        _say(res.summary_zh())
        if res.refused:
            _say(f"被拒绝的行及原因：propmap quarantine list --import-id {acc.import_id}")


def _quarantine_group() -> None:
    """Rows an import could not take: list and export them (personal data masked)."""


quarantine_group: click.Group = click.group("quarantine")(_quarantine_group)


@quarantine_group.command("list")
@click.option("--import-id", type=int, default=None, help="只看该导入批次")
@click.option("--limit", type=int, default=50, show_default=True)
@_user_errors
def quarantine_list(import_id: int | None, limit: int) -> None:
    """Show quarantined rows: batch, file, row number, reason, raw values (masked)."""
    from etl.intake import quarantine

    with _db() as engine, engine.connect() as con:
        df = quarantine.fetch(con, import_id, limit)
    if df.empty:
        _say("隔离区为空")
        return
    for r in df.itertuples(index=False):
        click.echo(f"[批次 {r.import_id}] {r.file} 第 {r.row_no} 行：{r.reason}"
                   + (f"（{r.detail}）" if r.detail else "") + f"\n    {r.raw}")


@quarantine_group.command("export")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help=".xlsx 或 .csv（UTF-8 带 BOM）")
@click.option("--import-id", type=int, default=None, help="只导出该导入批次")
@_user_errors
def quarantine_export(output: Path, import_id: int | None) -> None:
    """Export quarantined rows with Chinese headers (personal data masked)."""
    from etl.intake import quarantine

    with _db() as engine, engine.connect() as con:
        n = quarantine.export(con, output, import_id)
    _say(f"已导出 {n:,} 条隔离行到 {output}")
