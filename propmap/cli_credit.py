"""``propmap credit …`` and ``propmap export firms``: the credit model from the command line.

The command line runs as the table owner, so it scores firms on the whole city's cases.
``credit explain`` prints how a firm's (or committee's) score was made, line by line, in
Chinese; ``credit lists`` the current red and black lists; ``export firms`` writes every
firm's score, grade, list status and the parts of its score to an xlsx.
"""

from __future__ import annotations

from pathlib import Path

import click

from propmap._command import engine as _engine
from propmap._command import say as _say
from propmap._command import user_errors as _user_errors


def _credit_group() -> None:
    """Credit of property firms and owners' committees: explain a score, show the lists."""


credit_group: click.Group = click.group("credit")(_credit_group)


@credit_group.command("explain")
@click.argument("subject")
@click.option("--period", default=None, help="评价季度，如 2026Q2（默认：最近一个完整季度）")
@click.option("--committee", is_flag=True,
              help="SUBJECT 是业主委员会（写小区编号或小区编码）而不是物业企业")
@_user_errors
def credit_explain(subject: str, period: str | None, committee: bool) -> None:
    """Print how SUBJECT's credit score was made (a firm's name, part of it, or its id)."""
    import sqlalchemy as sa

    from geo import credit
    from geo.credit_model import LIST_STATUSES, Period, explain

    kind = "committee" if committee else "firm"
    with _engine().connect() as con:
        if committee:
            row = con.execute(sa.text(
                "SELECT id FROM compounds WHERE (code = :t OR id::text = :t) "
                "AND owners_committee = 'established'"), {"t": subject}).first()
            if row is None:
                raise credit.CreditInputError(f"没有小区编号为 {subject} 的业主委员会")
            sid = int(row.id)
        else:
            sid, _name = credit.find_firm(con, subject)
        ev = credit.evaluate(con, kind, Period.parse(period) if period else None)
    s = ev.score(sid)
    if s is None:
        raise credit.CreditInputError(f"{ev.period.label}没有该对象的评价")
    f = ev.facts.get((sid, ev.period))
    for line in explain(ev.model, s, f.households if f else None,
                        f.counts.get("received") if f else None):
        click.echo(line)
    prop = ev.proposals[sid]
    click.echo(f"红黑榜：当前 {LIST_STATUSES[prop.current]}；系统建议 "
               f"{LIST_STATUSES[prop.status]}（{prop.reason}）"
               + ("；待住建局决定" if prop.pending else ""))
    for flag in ev.flags.get(sid, []):
        click.echo(f"提示：{flag}")
    history = [x for x in ev.history(sid) if x is not None]
    click.echo("近几个季度：" + "，".join(
        f"{x.period} {x.total:g} 分 {x.band or '不评级'}" for x in history))


@credit_group.command("lists")
@click.option("--committee", is_flag=True, help="业主委员会的红黑榜（默认物业企业）")
@_user_errors
def credit_lists(committee: bool) -> None:
    """Print the current red and black lists with the decision behind each entry."""
    from geo import credit

    with _engine().connect() as con:
        df = credit.lists(con, "committee" if committee else "firm")
    if df.empty:
        _say("红榜、黑榜目前均无")
        return
    for r in df.itertuples(index=False):
        click.echo("\t".join(str(v) for v in r))


def export_firms(output: Path, period: str | None) -> int:
    """Write every firm's evaluation for ``period`` to ``output`` (xlsx); returns the rows."""
    import sqlalchemy as sa

    from geo import credit, measures, sheets
    from geo.credit_model import Period

    engine = _engine()
    with engine.connect() as con:
        ev = credit.evaluate(con, "firm", Period.parse(period) if period else None)
        synthetic = bool(con.execute(sa.text(
            "SELECT EXISTS (SELECT 1 FROM dataset_meta WHERE key = 'synthetic' "
            "AND value = 'true')")).scalar())
    table = ev.table()
    notes = [f"{ev.model.name}（版本 {ev.model.version}）",
             f"评价季度：{ev.period.label}；数据截至 {ev.cutoff:%Y-%m-%d}"
             "（超期、逾期均按此日判断）",
             "得分 = 基础分 − 工单扣分 − 隐患扣分 ± 记录事项（加分每季度有上限）；"
             "样本不足或资料缺失的项目不计分（空白）",
             *(f"{b.band}：{b.min:g} 分及以上，{b.label}" for b in ev.model.bands),
             *measures.definitions(), *measures.HAZARD_DEFINITIONS]
    if synthetic:
        notes.append("演示数据（合成）：企业、小区与工单均为程序生成，不是真实数据。")
    output.parent.mkdir(parents=True, exist_ok=True)
    sheets.write_xlsx(output, [("物业企业信用评价", table)], notes)
    return len(table)
