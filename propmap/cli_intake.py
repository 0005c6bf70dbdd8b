"""``propmap import ...`` and ``propmap quarantine ...``: intake commands (:mod:`etl.intake`)."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from sqlalchemy.engine import Engine

from propmap._command import date_option
from propmap._command import engine as _engine
from propmap._command import say as _say
from propmap._command import user_errors as _user_errors

if TYPE_CHECKING:
    from etl.intake.accounting import ImportResult

F = TypeVar("F", bound=Callable[..., Any])

_STEPS = {"cases": ["读取文件", "解析与定位", "空间归属", "升级规则", "比对与写入", "隔离与记账"]}
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
    """Import case exports, the compound register, boundary files and party-building
    registers."""


# Built without decorator syntax so the type is explicit: propmap.cli imports these
# names back, and mypy cannot infer a decorated name through that import cycle.
import_group: click.Group = click.group("import")(_import_group)


def _map_option(fn: F) -> F:
    return click.option(
        "--map", "pairs", multiple=True, metavar="标准列名=文件列名",
        help="指定某列的对应关系（可重复），优先于列名别名表，如 --map 工单编号=任务号")(fn)


def _given(pairs: tuple[str, ...], known: tuple[str, ...]) -> dict[str, str]:
    from etl.intake.headers import parse_given

    return parse_given(pairs, known)


@import_group.command("cases")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--channel", type=click.Choice(["12345", "mailbox", "petition"]), default=None,
              help="来源渠道（文件中“来源渠道”为空的行使用它）")
@_map_option
@click.option("--dry-run", is_flag=True,
              help="试运行：显示表头对应与将新增、更新、未变、作废、隔离的行数及原因，不写入数据库")
@click.option("--json", "as_json", is_flag=True,
              help="输出一个 JSON 对象（行数核算、表头对应、定位方式、作废与隔离原因、"
                   "数据质量提示、各阶段耗时）")
@_user_errors
def import_cases_cmd(path: Path, channel: str | None, pairs: tuple[str, ...], dry_run: bool,
                     as_json: bool) -> None:
    """Import a 12345 / mailbox / petition export (.xlsx or .csv) into cases."""
    from etl.intake.cases import HEADERS, import_cases

    given = _given(pairs, HEADERS)
    show_bar = not as_json and path.is_file() and path.stat().st_size >= _LONG_FILE_BYTES
    with _db() as engine:
        if show_bar:
            steps = _STEPS["cases"]
            with click.progressbar(length=len(steps), label="导入工单",
                                   file=sys.stderr) as bar:

                def step(label: str) -> None:
                    bar.label = label
                    bar.update(1)

                result = import_cases(engine, path, channel=channel, step=step,
                                      header_map=given, dry_run=dry_run)
        else:
            result = import_cases(engine, path, channel=channel, header_map=given,
                                  dry_run=dry_run)
    _report(result, as_json)


@import_group.command("compounds")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@_map_option
@click.option("--as-of", "as_of", default=None,
              help="名录所反映的日期 YYYY-MM-DD（默认今天）：街道在此日及之后的记录不被名录覆盖")
@click.option("--json", "as_json", is_flag=True, help="输出一个 JSON 对象")
@_user_errors
def import_compounds_cmd(path: Path, pairs: tuple[str, ...], as_of: str | None,
                         as_json: bool) -> None:
    """Import the compound register (.xlsx or .csv, point coordinates or WKT boundaries).

    Where the register disagrees with a street office's record, the newer dated fact
    wins and the disagreement is listed for review (``propmap record conflicts``).
    """
    from etl.intake.compounds import HEADERS, import_compounds
    from geo import history

    day = date_option(as_of, "--as-of")
    given = _given(pairs, HEADERS)
    with _db() as engine:
        result = import_compounds(engine, path, header_map=given, registered_on=day)
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
@_map_option
@click.option("--json", "as_json", is_flag=True, help="输出一个 JSON 对象")
@_user_errors
def import_boundaries_cmd(path: Path, level: str, pairs: tuple[str, ...], as_json: bool) -> None:
    """Import street or community boundaries (GeoJSON, Shapefile, GeoPackage)."""
    from etl.intake.boundaries import HEADERS, import_boundaries

    given = _given(pairs, HEADERS)
    with _db() as engine:
        result = import_boundaries(engine, path, level=level, header_map=given)
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
    from propmap._command import operator as _operator

    with _db() as engine:
        acc, res = import_worklist(engine, path, recorded_by=_operator())
    if as_json:
        click.echo(json.dumps({**acc.as_dict(), "recorded": res.recorded,
                               "refused": res.refused}, ensure_ascii=False))
    else:
        _say(res.summary_zh())
        if res.refused:
            _say(f"被拒绝的行及原因：propmap quarantine list --import-id {acc.import_id}")


@import_group.command("party")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="输出一个 JSON 对象（逐行核算与拒收原因）")
@_user_errors
def import_party_cmd(path: Path, as_json: bool) -> None:
    """Import a party-building register of firms and owners' committees (.xlsx or .csv)."""
    from etl.intake.party import import_party
    from propmap._command import operator as _operator

    with _db() as engine, engine.begin() as con:
        result = import_party(con, path, by=_operator())
    if as_json:
        click.echo(json.dumps({"file": result.file, "rows_read": result.rows_read,
                               "recorded": result.recorded, "unchanged": result.unchanged,
                               "refused": [{"row": r, "name": n, "reason": why}
                                           for r, n, why in result.refused]},
                              ensure_ascii=False))
        return
    _say(result.summary())
    for row, name, why in result.refused:
        _say(f"  第 {row} 行 {name}：{why}")


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
