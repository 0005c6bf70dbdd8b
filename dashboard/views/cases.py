"""案件研判: the cases to discuss, found by level, department, street, satisfaction,
reopening, lateness and words; a case's card with its timeline; marking typical cases.

The page's own filters live in the URL (``level``, ``dept``, ``role``, ``street``,
``sat``, ``reopened``, ``late``, ``q``, ``case``, ``page``) beside the sidebar's
(period, theme, category, channel, status), so a department drill-down from the
overview or a case named in a meeting is one link.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import streamlit as st

from dashboard import auth, common, data
from geo import measures, periods, typical
from geo.models import LEVELS, SATISFACTION
from layers import casework
from layers.casework import CaseQuery
from layers.filters import Filters
from layers.html import esc

REOPENED = {"": "全部", "yes": "曾重新办理", "no": "未重新办理"}
ROLES = {"lead": "牵头", "co": "配合", "any": "牵头或配合"}


def _url_int(name: str) -> int | None:
    try:
        return int(st.query_params.get(name) or "")
    except ValueError:
        return None


def _choice(where: Any, label: str, labels: dict[str, str], url_key: str, key: str,
            default: str = "", help_text: str | None = None) -> str:
    """A select box over ``labels`` (value → label) whose first value comes from the URL."""
    options = list(labels)
    url = st.query_params.get(url_key) or default
    index = options.index(url) if url in options else options.index(default)
    picked = where.selectbox(label, options, index=index, format_func=lambda k: labels[k],
                             key=key, help=help_text)
    return str(picked if picked is not None else default)


def query_from_page(names: dict[str, str], streets: dict[str, str]) -> CaseQuery:
    """Draw the page's filters (first values from the URL) and return them; the URL follows."""
    c1, c2, c3, c4 = st.columns([2, 3, 2, 2])
    levels = c1.multiselect("层级", list(LEVELS), format_func=lambda k: LEVELS[k],
                            default=common.url_list("level", list(LEVELS)), key="cs_level",
                            placeholder="全部层级")
    with c2:
        d1, d2 = st.columns([3, 2])
        depts = {"": "全部部门"} | dict(sorted(names.items(), key=lambda kv: kv[1]))
        dept = _choice(d1, "部门", depts, "dept", "cs_dept")
        role = _choice(d2, "部门角色", ROLES, "role", "cs_role", default="lead")
    street = _choice(c3, "街道/镇", {"": "全部街道/镇"} | streets, "street", "cs_street")
    sat_all = {**SATISFACTION, "none": "未评价"}
    sat = c4.multiselect("满意度", list(sat_all), format_func=lambda k: sat_all[k],
                         default=common.url_list("sat", list(sat_all)), key="cs_sat",
                         placeholder="全部")
    c5, c6, c7 = st.columns([2, 2, 4])
    reopened = _choice(c5, "重新办理", REOPENED, "reopened", "cs_reopened",
                       help_text=measures.help_text("reopened"))
    late = _choice(c6, "超期情况", {"": "全部"} | {k: v[0] for k, v in casework.LATENESS.items()},
                   "late", "cs_late", help_text=measures.LATE_HELP)
    text = c7.text_input("搜索（工单号、类别、小区" + ("、诉求内容、地址" if _sees_text() else "")
                         + "）", value=st.query_params.get("q") or "", key="cs_text",
                         max_chars=60)
    page = max(0, (_url_int("page") or 1) - 1)
    query = CaseQuery(levels=tuple(levels), dept=dept or None, dept_role=role,
                      street=street or None, satisfaction=tuple(sat),
                      reopened={"yes": True, "no": False}.get(reopened), lateness=late or None,
                      text=text.strip(), page=page)
    changed = common.set_url(level=",".join(levels), dept=dept, role=role if dept else "",
                   street=street, sat=",".join(sat), reopened=reopened, late=late,
                   q=text.strip())
    if changed:  # another selection: back to the first page, no case open
        for k in ("page", "case"):
            if k in st.query_params:
                del st.query_params[k]
        query = dataclasses.replace(query, page=0)
    return query


def _sees_text() -> bool:
    return common.scope().sees_case_text


def case_card(f: Filters, case_id: int) -> None:
    """One case: its facts, its text (for accounts that may read it), its timeline, and
    the typical-case marks (with the form, for the accounts allowed to mark)."""
    with_text = _sees_text()
    card = data.case_card(data.ctx(), f, case_id, with_text)
    if card is None:
        st.warning("没有这件工单，或不在您的查看范围内。")
        return
    flags = [t for t, on in (("超期", card["overdue"]), ("逾期办结", card["late"]),
                             ("曾重新办理", card["reopened"])) if on]
    badge = "".join(f'<span class="pm-flag">{esc(t)}</span>' for t in flags)
    st.markdown(f'<div class="pm-case-title">{esc(card["case_no"])} {badge}</div>',
                unsafe_allow_html=True)
    rows: list[tuple[str, Any]] = [
        ("问题类别", card["category"]),
        ("层级", LEVELS.get(card["level"], card["level"])
         + (f"（原为{LEVELS.get(card['base_level'], card['base_level'])}）"
            if isinstance(card["base_level"], str) and card["base_level"] != card["level"]
            else "")),
        ("牵头部门", card["lead_dept"]),
        ("配合部门", "、".join(card["co_dept_names"]) or "无"),
        ("办理状态", {"received": "已受理", "in_progress": "办理中", "closed": "已办结",
                  "visited": "已回访", "reopened": "重新办理"}.get(card["status"], card["status"])),
        ("满意度", SATISFACTION.get(card["satisfaction"] or "", "未评价")),
        ("所在", " › ".join(str(x) for x in (card["street"], card["community"], card["compound"])
                           if isinstance(x, str)) or "未定位"),
    ]
    if card["escalation_reasons"]:
        rows.append(("升级原因", "；".join(card["escalation_reasons"])))
    if with_text:
        rows += [("诉求内容", card["content"] or "—"), ("事发地址", card["address"] or "—")]
    html = "<br>".join(f"<b>{esc(k)}</b>{esc(v)}" for k, v in rows)
    st.markdown(f'<div class="pm-card">{html}</div>', unsafe_allow_html=True)
    st.markdown("**办理时间线**")
    def when(s: casework.Step) -> str:
        return s.at.astimezone(measures.TZ).strftime("%Y-%m-%d %H:%M") if s.at else "时间不详"

    items = "".join(f'<li><span class="t">{esc(when(s))}</span><b>{esc(s.what)}</b> '
                    f"{esc(s.detail)}</li>" for s in card["timeline"])
    st.markdown(f'<ol class="pm-timeline">{items}</ol>', unsafe_allow_html=True)
    typical_marks(f, card)


def typical_marks(f: Filters, card: dict[str, Any]) -> None:
    """The quarters the case is typical for; mark and unmark for the accounts allowed."""
    marks = card["typical"]
    st.markdown("**典型案例**")
    for r in marks.itertuples(index=False):
        c1, c2 = st.columns([5, 1])
        c1.markdown(f'<div class="pm-typical"><b>{esc(r.quarter)}</b> {esc(r.note)}'
                    f'<span class="by">（{esc(r.marked_by)}）</span></div>',
                    unsafe_allow_html=True)
        acc = auth.current()
        if acc is not None and typical.may_mark(acc.scope) and c2.button(
                "取消", key=f"unmark-{card['id']}-{r.quarter}"):
            with data.writing(data.ctx(), acc.scope) as con:
                typical.unmark(con, acc.scope, int(card["id"]), str(r.quarter))
            st.rerun()
    if marks.empty:
        st.caption("未标记为典型案例。")
    acc = auth.current()
    if acc is None or not typical.may_mark(acc.scope):
        st.caption("典型案例由联席会议、住建局账号标记。")
        return
    received = card["received_at"].astimezone(measures.TZ).date()
    quarters = _quarters_from(received, f.as_of)
    taken = set(marks["quarter"])
    quarters = [q for q in quarters if q not in taken]
    if not quarters:
        return
    with st.form(f"mark-{card['id']}", border=True):
        quarter = st.selectbox("季度", quarters, key="tc_quarter")
        note = st.text_area("简要说明（为什么作为典型案例，不超过 200 字）",
                            max_chars=typical.NOTE_MAX, key="tc_note")
        if st.form_submit_button("标记为典型案例", type="primary"):
            try:
                with data.writing(data.ctx(), acc.scope) as con:
                    typical.mark(con, acc.scope, int(card["id"]), str(quarter), note,
                                 as_of=f.as_of)
            except typical.TypicalCaseError as exc:
                st.error(str(exc))
            else:
                st.rerun()


def _quarters_from(day: Any, as_of: Any) -> list[str]:
    """Quarters from the one of ``day`` to the one of ``as_of``, newest first."""
    out, q = [], periods.quarter_start(as_of)
    while q >= periods.quarter_start(day):
        out.append(periods.quarter_name(q))
        q = periods.add_months(q, -3)
    return out


@common.guarded
def main() -> None:
    common.setup("案件研判")
    f = common.filters()
    c = data.ctx()
    names = data.department_names(c)
    streets = common.visible_streets()
    common.active_filters(f)
    st.caption("时段、主题、类别、渠道、状态见左侧筛选；下面的条件只用于本页。"
               + ("" if _sees_text() else "会议大屏账号不显示诉求内容与地址。"))
    q = query_from_page(names, streets)
    df, total = data.case_list(c, f, q, _sees_text())
    pages = max(1, math.ceil(total / casework.PAGE_SIZE))
    case_id = _url_int("case")
    left, right = st.columns([3, 2]) if case_id is not None else (st.container(), None)
    with left:
        st.markdown(f"**共 {total:,} 件**（超期最久的在前）　第 {q.page + 1} / {pages} 页")
        table = casework.list_table(df)
        event = st.dataframe(table.drop(columns="id"), hide_index=True, width="stretch",
                             height=560, on_select="rerun", selection_mode="single-row",
                             key=f"cs_table-{abs(hash(q))}")
        rows = event.selection.rows if event is not None else []
        if rows:
            chosen = int(table["id"].iloc[rows[0]])
            if chosen != case_id:
                st.query_params["case"] = str(chosen)
                st.rerun()
        p1, p2, _p3 = st.columns([1, 1, 4])
        if p1.button("上一页", disabled=q.page == 0, key="cs_prev"):
            st.query_params["page"] = str(q.page)
            st.rerun()
        if p2.button("下一页", disabled=q.page + 1 >= pages, key="cs_next"):
            st.query_params["page"] = str(q.page + 2)
            st.rerun()
        st.caption("点击表格左侧的方框打开工单卡片。")
    if right is not None and case_id is not None:
        with right:
            case_card(f, case_id)


if __name__ == "__main__":
    main()
