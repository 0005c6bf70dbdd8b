"""``propmap record …``: management events of compounds and rectification of hazards.

The command line runs as the table owner (the operator, on the server): it may
record any kind of event for any compound, under the same rules as the
dashboard's forms (:func:`geo.history.check`), with source 命令行 and the
operator's name; every record is audited.
"""

from __future__ import annotations

import json

import click
import pandas as pd
import sqlalchemy as sa

from geo.models import COMPOUND_EVENT_KINDS, HAZARD_EVENT_KINDS
from propmap._command import date_option as _date
from propmap._command import engine as _engine
from propmap._command import operator as _operator
from propmap._command import say as _say
from propmap._command import user_errors as _user_errors


def _record_group() -> None:
    """Record what was done: a compound's management, a hazard's rectification."""


record_group: click.Group = click.group("record")(_record_group)

_KINDS = [k for k in COMPOUND_EVENT_KINDS if k != "registered"]


@record_group.command("compound")
@click.argument("code")
@click.option("--kind", type=click.Choice(_KINDS), required=True,
              help="事项：" + "，".join(f"{k} {v}" for k, v in COMPOUND_EVENT_KINDS.items()
                                      if k != "registered"))
@click.option("--date", "on", required=True, help="事项日期 YYYY-MM-DD（不晚于今天）")
@click.option("--firm", default=None, help="物业服务企业名称（引入物业时必填，须在企业名录中）")
@click.option("--unit", default=None, help="管理单位（单位自管时必填）")
@click.option("--term-end", default=None, help="本届任期届满日期（成立业委会、换届时必填）")
@click.option("--doc", "doc_no", default=None, help="文号")
@click.option("--note", default=None, help="备注")
@_user_errors
def record_compound(code: str, kind: str, on: str, firm: str | None, unit: str | None,
                    term_end: str | None, doc_no: str | None, note: str | None) -> None:
    """Record one management event of the compound with 小区编号 CODE."""
    from geo import history

    p = history.Proposal(code, kind, _date(on, "--date"), firm=firm, unit=unit,
                         term_end=_date(term_end, "--term-end"), doc_no=doc_no, note=note)
    with _engine().begin() as con:
        checked = history.check(con, history.frame([p]), account_kind=None)
        row = checked.iloc[0]
        if row["outcome"] == history.REFUSED:
            raise history.RecordError(f"未记录：{row['reason']}")
        if row["outcome"] == history.UNCHANGED:
            _say(f"未变：{row['reason']}")
            return
        history.record(con, checked, source="cli", recorded_by=_operator(), role="operator")
        sanwu = con.execute(sa.text(
            "SELECT is_sanwu, management_mode FROM compounds WHERE code = :c"), {"c": code}).one()
    state = ("三无，已托管" if sanwu.management_mode == "street_custody" else "三无，未托管") \
        if sanwu.is_sanwu else "非三无"
    _say(f"已记录：{code} {COMPOUND_EVENT_KINDS[kind]}（{on}）；现为{state}")


@record_group.command("hazard")
@click.argument("hazard_id", type=int)
@click.option("--status", "kind", type=click.Choice(["rectifying", "closed", "overdue"]),
              required=True, help="rectifying 整改中，closed 已整改，overdue 逾期未整改")
@click.option("--date", "on", required=True, help="日期 YYYY-MM-DD（不晚于今天）")
@click.option("--note", default=None, help="整改情况（已整改时必填）")
@_user_errors
def record_hazard(hazard_id: int, kind: str, on: str, note: str | None) -> None:
    """Record a rectification step of hazard HAZARD_ID."""
    from geo import history, rectification

    proposal = pd.DataFrame({"hazard_id": [hazard_id], "kind": [kind],
                             "on_date": [_date(on, "--date")], "note": [note]})
    with _engine().begin() as con:
        checked = rectification.check(con, proposal, account_kind=None)
        row = checked.iloc[0]
        if row["outcome"] != history.RECORD:
            raise history.RecordError(f"未记录：{row['reason']}")
        rectification.record(con, checked, source="cli", recorded_by=_operator(),
                             role="operator")
    _say(f"已记录：隐患 {hazard_id} {HAZARD_EVENT_KINDS[kind]}（{on}）")


@record_group.command("history")
@click.argument("code")
@click.option("--on", "day", default=None, help="另外给出该日的状态（YYYY-MM-DD）")
@_user_errors
def record_history(code: str, day: str | None) -> None:
    """Show the management history of the compound with 小区编号 CODE."""
    from geo import history

    on = _date(day, "--on")
    with _engine().connect() as con:
        cid = con.execute(sa.text("SELECT id FROM compounds WHERE code = :c"), {"c": code}
                          ).scalar()
        if cid is None:
            raise history.RecordError(f"没有小区编号为 {code} 的小区")
        df = history.history(con, int(cid))
        was = history.was_sanwu(con, int(cid), on) if on else None
    for r in df.itertuples(index=False):
        click.echo("\t".join(str(v) if v is not None and v == v else "" for v in r))
    if on is not None:
        click.echo(f"{on:%Y-%m-%d}：" + ("尚未登记" if was is None else
                                        "三无" if was else "非三无"))


@record_group.command("conflicts")
@click.option("--import-id", type=int, default=None, help="只看该次名录导入")
@click.option("--json", "as_json", is_flag=True, help="每行输出一个 JSON 对象")
@_user_errors
def record_conflicts(import_id: int | None, as_json: bool) -> None:
    """Register statements that disagreed with a street office's record, for review."""
    from geo import history

    with _engine().connect() as con:
        df = history.conflicts(con, import_id)
    if df.empty:
        _say("没有待核对的名录冲突")
        return
    for r in df.to_dict("records"):
        if as_json:
            click.echo(json.dumps(r, ensure_ascii=False, default=str))
        else:
            click.echo("\t".join(f"{k}：{v}" for k, v in r.items() if v not in (None, "")))
