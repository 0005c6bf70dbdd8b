"""信用评价: firms' and owners' committees' credit per quarter, the red and black lists, and
the housing bureau's decisions.

Everyone allowed on the page sees the lists and the published ratings. The quarter's
scores, parts and proposals need the whole city's cases for firms, so they show to
city-wide accounts (committees are scored within the account's area). Only the housing
bureau (住建局) records events, decides on proposals and publishes a quarter; the database
refuses the same writes from any other account (row-level security), so the forms here are
a convenience, not the guard.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import sqlalchemy as sa
import streamlit as st

from dashboard import auth, common, data, records
from geo import credit, measures, sheets
from geo.credit_model import LIST_STATUSES, SUBJECTS, Period, explain
from layers.html import md

#: The kind of account that may write credit records.
WRITER = "housing"


def _may_write() -> bool:
    return data.ctx().scope.kind == WRITER


def _account() -> auth.Account:
    acc = auth.current()
    assert acc is not None
    return acc


def _save(write: Callable[[sa.Connection], object], message: str) -> None:
    """Run ``write`` in the account's own transaction; say what was saved, or why not."""
    try:
        with data.writing(data.ctx(), _account().scope) as con:
            write(con)
    except common.WRITE_ERRORS as exc:
        st.error(common.write_error(exc))
        return
    records.done(message)


@common.guarded
def main() -> None:
    common.setup("信用评价与红黑榜")
    c = data.ctx()
    records.flash()
    top = st.columns([2, 2, 3])
    with top[0]:
        subject = st.radio("评价对象", list(SUBJECTS), format_func=lambda k: SUBJECTS[k],
                           horizontal=True, key="credit_subject")
    periods = data.credit_periods(c)
    with top[1]:
        raw = st.query_params.get("quarter")  # not "period": the sidebar's filter owns that
        period = st.selectbox("评价季度", periods,
                              index=periods.index(raw) if raw in periods else 0,
                              format_func=lambda p: Period.parse(p).label, key="credit_period")
    common.set_url(quarter=None if period == periods[0] else period)
    what = SUBJECTS[subject]
    model = credit.load(subject)
    st.caption(f"模型：{model.name}（版本 {model.version}）。评分规则、等级与红黑榜条件见 "
               "docs/credit.md；红黑榜的每一项决定都留有记录，当前状态为最新一条。")

    live = c.scope.city_wide or subject == "committee"
    ev = None
    if live:
        try:
            ev = data.credit_evaluation(c, subject, period)
        except credit.CreditInputError as exc:
            st.info(str(exc))
    else:
        st.info("物业企业的季度评分按全市数据计算，只向全市范围的账号显示；"
                "下面是已发布的评价与当前红黑榜。")
    if ev is not None:
        _figures(ev)
        _pending(ev, subject)
        _results(ev, subject)
    _lists(subject, what)
    if _may_write():
        _record_event(subject, model)
        if ev is not None and subject == ev.subject:
            _manual_decision(ev, subject)
            _publish(ev)


def _figures(ev: credit.Evaluation) -> None:
    summary = credit.summary(ev)
    tiles = [(f"{b} 级", summary[b], b in ("C", "D")) for b in
             [x.band for x in ev.model.bands]]
    tiles += [("不评级", summary["不评级"], False), ("红榜", summary["红榜"], False),
              ("黑榜", summary["黑榜"], summary["黑榜"] > 0),
              ("待决定的建议", summary["待决定"], summary["待决定"] > 0)]
    common.kpis(tiles)
    flagged = [(sid, fl) for sid, fls in ev.flags.items() for fl in fls]
    for sid, fl in flagged:
        st.warning(md(f"⚑ {ev.subjects[sid].name}：{fl}"))


def _pending(ev: credit.Evaluation, subject: str) -> None:
    pending = ev.pending()
    st.subheader(f"待决定的红黑榜建议（{ev.period.label}）")
    if not pending:
        st.info("没有待决定的建议：系统建议与当前状态一致，或已作出决定。")
        return
    rows = [{"编号": sid, "名称": ev.subjects[sid].name,
             "当前": LIST_STATUSES[ev.proposals[sid].current],
             "建议": LIST_STATUSES[ev.proposals[sid].status], "理由": ev.proposals[sid].reason}
            for sid in pending]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    if not _may_write():
        st.caption("红黑榜由住建局账号决定。")
        return
    names = {sid: ev.subjects[sid].name for sid in pending}
    with st.form("credit_decide", border=True):
        st.markdown("**作出决定**：采纳系统建议，或改判（须写明理由）")
        sid = st.selectbox("对象", pending, format_func=lambda i: names[i], key="decide_subject")
        choice = st.radio("决定", ["proposal", "override"], horizontal=True,
                          format_func=lambda b: credit.BASES[b], key="decide_basis")
        status = st.selectbox("改判为（仅改判时）", list(LIST_STATUSES),
                              format_func=lambda s: LIST_STATUSES[s], key="decide_status")
        reason = st.text_area("理由（采纳时可沿用系统理由）", key="decide_reason")
        doc_no = st.text_input("文号（可选）", key="decide_doc")
        submitted = st.form_submit_button("保存决定", type="primary")
    if not submitted:
        return
    prop = ev.proposals[sid]
    new = prop.status if choice == "proposal" else status
    why = reason.strip() or (prop.reason if choice == "proposal" else "")
    _save(lambda con: credit.record_list_change(
        con, subject, sid, new, why, by=_account().name, basis=choice, period=ev.period,
        proposed=prop.status, doc_no=doc_no),
        f"已记录：{names[sid]} {LIST_STATUSES[prop.current]} → {LIST_STATUSES[new]}。")


def _results(ev: credit.Evaluation, subject: str) -> None:
    st.subheader(f"{ev.period.label}评价结果")
    table = ev.table()
    if len(table):  # party building beside the grades (红色物业)
        c = data.ctx()
        reg = data.party_firms(c) if subject == "firm" else data.party_committees(c, None)
        has = {int(i): v for i, v in zip(reg["id"], reg["has_party_org"], strict=True)}
        table.insert(6, "党组织", [
            "" if has.get(int(i)) is None or has.get(int(i)) != has.get(int(i))
            else "已建" if has[int(i)] else "未建" for i in table["编号"]])
    st.dataframe(table.drop(columns=["编号"]), hide_index=True, width="stretch", height=420)
    st.caption("扣分为负、加分为正；样本不足或资料缺失的项目不计分（空白）。"
               + ("业主委员会的任期与会议资料尚未接入（见 docs/credit.md），履职项目暂不计分，"
                  "等级仅反映涉业委会诉求与记录事项。" if subject == "committee" else ""))
    auth.download_button(
        f"下载{ev.period.label}评价结果（Excel）",
        sheets.workbook([(f"{SUBJECTS[subject]}信用评价", table)],
                        [f"{ev.model.name}（版本 {ev.model.version}）",
                         f"评价季度：{ev.period.label}；数据截至 {ev.cutoff:%Y-%m-%d}",
                         *measures.definitions()]),
        f"{SUBJECTS[subject]}信用评价-{ev.period}.xlsx", what=f"credit_{subject}",
        rows=len(table), filters={"period": str(ev.period)}, key="credit_download")
    names = {sid: s.name for sid, s in ev.subjects.items()}
    order = list(table["编号"])
    pick = st.selectbox("查看评分明细", order, format_func=lambda i: names[i],
                        key="credit_explain")
    s = ev.score(pick)
    fx = ev.facts.get((pick, ev.period))
    if s is not None:
        st.text("\n".join(explain(ev.model, s, fx.households if fx else None,
                                  fx.counts.get("received") if fx else None)))


def _lists(subject: str, what: str) -> None:
    st.subheader(f"当前红黑榜（{what}）")
    lists = data.credit_lists(data.ctx(), subject)
    if lists.empty:
        st.info("红榜、黑榜目前均无。")
    else:
        st.dataframe(lists.drop(columns=["编号"]), hide_index=True, width="stretch")


def _subjects(subject: str) -> dict[int, str]:
    c = data.ctx()
    return data.firm_names(c) if subject == "firm" else data.committee_names(c)


def _record_event(subject: str, model: credit.Model) -> None:
    st.subheader("记录表彰、处罚等事项")
    names = _subjects(subject)
    if not names:
        st.info("没有可记录的对象。")
        return
    with st.form("credit_event", border=True):
        cols = st.columns([3, 2, 2])
        sid = cols[0].selectbox("对象", list(names), format_func=lambda i: names[i],
                                key="event_subject")
        kind = cols[1].selectbox("事项", list(model.events),
                                 format_func=lambda k: f"{model.events[k].label}"
                                 f"（{model.events[k].points:+g} 分）", key="event_kind")
        on = cols[2].date_input("日期", value=measures.today(), max_value=measures.today(),
                                key="event_on")
        reason = st.text_area("事由", key="event_reason")
        doc_no = st.text_input("文号（处罚决定书、表彰文件或通报的文号）", key="event_doc")
        submitted = st.form_submit_button("保存记录", type="primary")
    if submitted:
        _save(lambda con: credit.record_event(con, subject, sid, kind, on, reason, doc_no,
                                              by=_account().name, model=model),
              f"已记录：{names[sid]} {model.event_label(kind)}（{doc_no.strip()}）。")
    with st.expander("撤销一条记录（记录本身保留，另加一条撤销记录）"):
        sid2 = st.selectbox("对象", list(names), format_func=lambda i: names[i],
                            key="withdraw_subject")
        events = data.credit_events_in_force(data.ctx(), subject, sid2)
        if events.empty:
            st.info("该对象没有可撤销的记录。")
            return
        with st.form("credit_withdraw", border=True):
            eid = st.selectbox("要撤销的记录", list(events["id"]),
                               format_func=lambda i: " ".join(
                                   str(v) for v in events[events["id"] == i].iloc[0, 1:]),
                               key="withdraw_event")
            on = st.date_input("撤销日期", value=measures.today(), max_value=measures.today(),
                               key="withdraw_on")
            reason = st.text_area("撤销理由", key="withdraw_reason")
            doc_no = st.text_input("撤销决定文号", key="withdraw_doc")
            ok = st.form_submit_button("撤销")
        if ok:
            _save(lambda con: credit.withdraw_event(con, int(eid), on, reason, doc_no,
                                                    by=_account().name), "已撤销该记录。")


def _manual_decision(ev: credit.Evaluation, subject: str) -> None:
    with st.expander("直接认定红黑榜（不经系统建议，须写明理由）"):
        names = {sid: s.name for sid, s in ev.subjects.items()}
        with st.form("credit_manual", border=True):
            sid = st.selectbox("对象", list(names), format_func=lambda i: names[i],
                               key="manual_subject")
            status = st.selectbox("认定为", list(LIST_STATUSES),
                                  format_func=lambda s: LIST_STATUSES[s], key="manual_status")
            on = st.date_input("决定日期", value=measures.today(), max_value=measures.today(),
                               key="manual_on")
            reason = st.text_area("理由", key="manual_reason")
            doc_no = st.text_input("文号（可选）", key="manual_doc")
            ok = st.form_submit_button("保存认定")
        if ok:
            _save(lambda con: credit.record_list_change(
                con, subject, sid, status, reason, by=_account().name, basis="manual",
                doc_no=doc_no, decided_on=on),
                f"已记录：{names[sid]} 认定为{LIST_STATUSES[status]}。")


def _publish(ev: credit.Evaluation) -> None:
    published = {p.get("period") for p in data.credit_published(data.ctx(), ev.subject).values()}
    again = str(ev.period) in published
    with st.expander(f"发布{ev.period.label}评价结果"
                     + ("（已发布过，重新发布须写明理由）" if again else "")):
        with st.form("credit_publish", border=True):
            note = st.text_input("说明" + ("（必填）" if again else "（可选）"), key="publish_note")
            ok = st.form_submit_button("发布")
        if ok:
            _save(lambda con: credit.publish(con, ev, by=_account().name, note=note),
                  f"已发布{ev.period.label}的评价结果，当前信用等级随之更新。")


if __name__ == "__main__":
    main()
