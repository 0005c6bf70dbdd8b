"""Cases to discuss: the case list, a case's card and timeline, and the typical cases.

The joint meeting settles hard cases one by one, so it needs to find them (by
level, department, street, status, channel, satisfaction, reopened, overdue,
words in the text), to read one with its history, and to keep the quarter's
typical cases (典型案例, :mod:`geo.typical`).

Case text is for those who handle cases: the meeting-room screen (``viewer``)
may not read ``content`` or ``address`` at all (the database refuses them to
its role, migration 0009), so every function here takes ``with_text`` and
never names those columns without it. Complainants are never read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa

from geo import measures
from geo.models import (
    CASE_EVENT_KINDS,
    CHANNELS,
    ESCALATION_REASONS,
    LEVELS,
    SATISFACTION,
    STATUSES,
)
from geo.privacy import mask_series, mask_text
from layers.base import frame
from layers.filters import Filters

#: The 超期 filter of the case list: key → (label, SQL condition).
LATENESS: dict[str, tuple[str, str]] = {
    "overdue": ("超期（未办结）", measures.is_overdue("c")),
    "closed_late": ("逾期办结", measures.is_closed_late("c")),
    "late": ("超期或逾期办结", f"({measures.is_overdue('c')} OR "
                               f"{measures.is_closed_late('c')})"),
    "on_time": ("未超期", f"NOT ({measures.is_overdue('c')} OR "
                          f"{measures.is_closed_late('c')})"),
}
#: Satisfaction filter values: the ratings, and ``none`` for not rated.
SATISFACTION_FILTER = {**SATISFACTION, "none": "未评价"}
#: Rows of the case list per page.
PAGE_SIZE = 50


@dataclass(frozen=True)
class CaseQuery:
    """What the case list is narrowed to, beyond the sidebar's :class:`Filters`.

    Empty tuples and ``None`` mean "any". ``dept_role`` says whether ``dept`` is
    the lead department (``lead``), a co-handling one (``co``) or either (``any``).
    """

    levels: tuple[str, ...] = ()
    dept: str | None = None
    dept_role: str = "lead"
    street: str | None = None
    satisfaction: tuple[str, ...] = ()
    reopened: bool | None = None
    lateness: str | None = None
    text: str = ""
    page: int = 0

    def where(self, *, with_text: bool) -> tuple[str, dict[str, Any]]:
        """SQL conditions on ``cases c`` (joined ``categories k``, ``compounds x``) and params."""
        parts: list[str] = []
        params: dict[str, Any] = {}
        if self.levels:
            parts.append("c.level = ANY(:q_levels)")
            params["q_levels"] = list(self.levels)
        if self.dept:
            params["q_dept"] = self.dept
            lead, co = "c.lead_dept = :q_dept", ":q_dept = ANY (c.co_depts)"
            parts.append({"lead": lead, "co": co}.get(self.dept_role, f"({lead} OR {co})"))
        if self.street:
            parts.append("c.street_code = :q_street")
            params["q_street"] = self.street
        if self.satisfaction:
            sat = [s for s in self.satisfaction if s != "none"]
            cond = ["c.satisfaction = ANY(:q_sat)"] if sat else []
            if "none" in self.satisfaction:
                cond.append("c.satisfaction IS NULL")
            parts.append("(" + " OR ".join(cond) + ")")
            params["q_sat"] = sat
        if self.reopened is not None:
            parts.append(measures.is_reopened("c") if self.reopened
                         else f"NOT {measures.is_reopened('c')}")
        if self.lateness:
            parts.append(LATENESS[self.lateness][1])
        words = self.text.strip()
        if words:
            fields = ["c.case_no", "k.name", "x.name"] + (
                ["c.content", "c.address"] if with_text else [])
            like = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            parts.append("(" + " OR ".join(f"{fl} ILIKE :q_text" for fl in fields) + ")")
            params["q_text"] = f"%{like}%"
        return (" AND ".join(parts) or "TRUE"), params


def _labels(df: pd.DataFrame) -> pd.DataFrame:
    for col, labels in (("channel", CHANNELS), ("level", LEVELS), ("status", STATUSES),
                        ("satisfaction", SATISFACTION)):
        if col in df:
            df[col] = df[col].map(labels)
    return df


def case_list(con: sa.Connection, f: Filters, q: CaseQuery, *, with_text: bool,
              page_size: int = PAGE_SIZE) -> tuple[pd.DataFrame, int]:
    """One page of the cases matching ``f`` and ``q`` (overdue longest first, then newest),
    and how many match in all. Columns in English; :func:`list_table` gives the Chinese."""
    where, params = q.where(with_text=with_text)
    text_col = "c.content AS content," if with_text else ""
    df = frame(con, f"""
        SELECT c.id, c.case_no, c.channel, c.received_at, k.name AS category, c.level,
               d.name AS lead_dept, c.status, c.due_at, c.closed_at, c.satisfaction,
               {measures.is_overdue("c")} AS overdue, {measures.is_closed_late("c")} AS late,
               {measures.is_reopened("c")} AS reopened, s.name AS street, x.name AS compound,
               {text_col}
               count(*) OVER () AS total
        FROM cases c JOIN categories k ON k.code = c.category_code
        JOIN departments d ON d.code = c.lead_dept
        LEFT JOIN streets s ON s.code = c.street_code
        LEFT JOIN compounds x ON x.id = c.compound_id
        WHERE {f.case_where("c")} AND {where}
        ORDER BY {measures.is_overdue("c")} DESC,
                 CASE WHEN {measures.is_overdue("c")} THEN c.due_at END, c.received_at DESC, c.id
        LIMIT :limit OFFSET :offset
    """, {**f.params(), **params, "limit": page_size, "offset": q.page * page_size})
    total = int(df["total"].iloc[0]) if len(df) else 0
    df = df.drop(columns="total")
    if with_text:
        df["content"] = [t[:60] if isinstance(t, str) else t
                         for t in mask_series(df["content"].astype(object))]
    return _labels(df), total


LIST_HEADERS = {
    "case_no": "工单号", "received_at": "受理时间", "channel": "渠道", "category": "问题类别",
    "level": "层级", "lead_dept": "牵头部门", "status": "状态", "due_at": "办理时限",
    "closed_at": "办结时间", "overdue": "超期", "late": "逾期办结", "reopened": "重新办理",
    "satisfaction": "满意度", "street": "街道/镇", "compound": "小区", "content": "诉求摘要",
}


def list_table(df: pd.DataFrame) -> pd.DataFrame:
    """The case list as shown: local times, 是/否, Chinese headers (``id`` kept for clicks)."""
    t = df.copy()
    for col in ("received_at", "due_at", "closed_at"):
        t[col] = pd.to_datetime(t[col], utc=True).dt.tz_convert(measures.TZ).dt.strftime(
            "%Y-%m-%d %H:%M").fillna("")
    for col in ("overdue", "late", "reopened"):
        t[col] = t[col].map({True: "是", False: ""})
    cols = ["id", *[c for c in LIST_HEADERS if c in t.columns]]
    return t[cols].rename(columns=LIST_HEADERS)


# --- one case ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    """One line of a case's timeline: when (``None``: time not known), what, and detail."""

    at: dt.datetime | None
    what: str
    detail: str = ""


def case_card(con: sa.Connection, case_id: int, f: Filters, *,
              with_text: bool) -> dict[str, Any] | None:
    """Everything about one case (without the complainant), or ``None`` when not visible.

    Keys: the case's fields with Chinese labels, ``co_dept_names``,
    ``escalation_reasons``, ``timeline`` (a list of :class:`Step`), ``typical``
    (the quarters it is a typical case of, with notes), and ``content`` and
    ``address`` (masked) only ``with_text``.
    """
    text_cols = "c.content, c.address," if with_text else ""
    rows = frame(con, f"""
        SELECT c.id, c.case_no, c.channel, c.received_at, c.due_at, c.closed_at, c.status,
               c.level, c.base_level, c.escalations, c.reopen_count, c.satisfaction,
               c.co_depts, c.street_code, c.compound_id, c.community_id, c.located_by,
               k.name AS category, k.time_limit_days, d.name AS lead_dept,
               s.name AS street, m.name AS community, x.name AS compound, {text_cols}
               {measures.is_overdue("c")} AS overdue, {measures.is_closed_late("c")} AS late,
               {measures.is_reopened("c")} AS reopened, c.synthetic
        FROM cases c JOIN categories k ON k.code = c.category_code
        JOIN departments d ON d.code = c.lead_dept
        LEFT JOIN streets s ON s.code = c.street_code
        LEFT JOIN communities m ON m.id = c.community_id
        LEFT JOIN compounds x ON x.id = c.compound_id
        WHERE c.id = :id
    """, {**f.params(), "id": case_id})
    if rows.empty:
        return None
    card: dict[str, Any] = rows.iloc[0].to_dict()
    names = {r.code: r.name for r in con.execute(sa.text("SELECT code, name FROM departments"))}
    card["co_dept_names"] = [names.get(c, c) for c in (card["co_depts"] or [])]
    card["escalation_reasons"] = [ESCALATION_REASONS.get(e, e)
                                  for e in (card["escalations"] or [])]
    if with_text:
        card["content"] = mask_text(card["content"])
        card["address"] = mask_text(card["address"])
    events = frame(con, """
        SELECT at, kind, status, level, note FROM case_events WHERE case_id = :id
        ORDER BY at, id
    """, {"id": case_id})
    card["timeline"] = timeline(card, events, with_text=with_text)
    card["typical"] = frame(con, """
        SELECT quarter, note, marked_by, marked_at FROM typical_cases WHERE case_id = :id
        ORDER BY quarter
    """, {"id": case_id})
    return card


def _at(v: Any) -> dt.datetime | None:
    if v is None or (isinstance(v, float) and v != v) or v is pd.NaT:
        return None
    return pd.Timestamp(v).to_pydatetime()


def timeline(card: dict[str, Any], events: pd.DataFrame, *, with_text: bool) -> list[Step]:
    """The case's timeline: its recorded events, and what its columns say that no event does.

    Recorded events (``case_events``, appended by intake and by the demo) come
    first in their own words; receipt, the due time, closing, the return visit,
    reopening and escalation are added from the case's columns when no event
    records them, so a case imported before events were kept still has its
    history. Free-text notes are shown only ``with_text`` (masked); escalations
    always say why, from the routing rules' vocabulary.
    """
    steps: list[Step] = []
    kinds = set(events["kind"]) if len(events) else set()
    for ev in events.itertuples(index=False):
        what = CASE_EVENT_KINDS.get(ev.kind, ev.kind)
        detail: list[str] = []
        status = ev.status if isinstance(ev.status, str) else ""
        level = ev.level if isinstance(ev.level, str) else ""
        if status and ev.kind == "status":
            detail.append(STATUSES.get(status, status))
        if level:
            detail.append(f"升至{LEVELS.get(level, level)}" if ev.kind == "escalated"
                          else LEVELS.get(level, level))
        note = ev.note if isinstance(ev.note, str) else ""
        if note and (with_text or ev.kind in ("escalated", "reopened", "closed", "visited")):
            detail.append(mask_text(note) or "")
        steps.append(Step(_at(ev.at), what, "，".join(d for d in detail if d)))
    received, due, closed = _at(card["received_at"]), _at(card["due_at"]), _at(card["closed_at"])
    if "received" not in kinds:
        via = CHANNELS.get(card["channel"], card["channel"])
        steps.append(Step(received, "受理", f"{via}，{card['category']}"))
    limit = f"办理时限 {card['time_limit_days']} 天"
    steps.append(Step(due, "办理时限", limit + ("，已超期" if card["overdue"] else
                                               "，逾期办结" if card["late"] else "")))
    is_closed = card["status"] in ("closed", "visited")
    if is_closed and not any(s.what == "办结" and s.at == closed for s in steps):
        steps.append(Step(closed, "办结", "" if closed else "办结时间不详（计入办结，不计逾期）"))
    if card["status"] == "visited" and "visited" not in kinds:
        sat = SATISFACTION.get(card["satisfaction"] or "", "未评价")
        steps.append(Step(None, "回访", f"时间不详，{sat}"))
    if card["reopen_count"] and "reopened" not in kinds:
        steps.append(Step(None, "重新办理", f"共 {card['reopen_count']} 次，时间不详"))
    if card["escalations"] and "escalated" not in kinds:
        for e in card["escalations"]:
            steps.append(Step(None, "升级", ESCALATION_REASONS.get(e, e)))
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    return sorted(steps, key=lambda s: (s.at is None, s.at or far))


# --- typical cases and complex cases -------------------------------------------------------

def typical_cases(con: sa.Connection, quarter: str, f: Filters) -> pd.DataFrame:
    """The typical cases of ``quarter`` with their notes (no case text: the note says why)."""
    df = frame(con, f"""
        SELECT c.id, c.case_no, t.note, k.name AS category, c.level, d.name AS lead_dept,
               c.status, s.name AS street, x.name AS compound, c.received_at,
               {measures.is_reopened("c")} AS reopened, c.satisfaction,
               {measures.is_overdue("c")} AS overdue, t.marked_by, t.marked_at
        FROM typical_cases t JOIN cases c ON c.id = t.case_id
        JOIN categories k ON k.code = c.category_code
        JOIN departments d ON d.code = c.lead_dept
        LEFT JOIN streets s ON s.code = c.street_code
        LEFT JOIN compounds x ON x.id = c.compound_id
        WHERE t.quarter = :quarter
        ORDER BY t.marked_at, t.id
    """, {**f.params(), "quarter": quarter})
    df["note"] = mask_series(df["note"])
    return _labels(df)


def quarters_with_typical(con: sa.Connection) -> list[str]:
    """Quarters that have typical cases, newest first."""
    return list(con.execute(sa.text(
        "SELECT DISTINCT quarter FROM typical_cases ORDER BY quarter DESC")).scalars())


def city_cases(con: sa.Connection, f: Filters, limit: int = 15) -> tuple[pd.DataFrame, int]:
    """Complex (市级) cases of the period still open at the cut-off, longest overdue first,
    and how many there are."""
    df = frame(con, f"""
        SELECT c.id, c.case_no, k.name AS category, d.name AS lead_dept, s.name AS street,
               x.name AS compound, c.received_at, c.due_at, c.status,
               greatest(0, CAST(:f_as_of_day AS date)
                           - (c.due_at AT TIME ZONE 'Asia/Shanghai')::date) AS overdue_days,
               {measures.is_overdue("c")} AS overdue, {measures.is_reopened("c")} AS reopened,
               count(*) OVER () AS total
        FROM cases c JOIN categories k ON k.code = c.category_code
        JOIN departments d ON d.code = c.lead_dept
        LEFT JOIN streets s ON s.code = c.street_code
        LEFT JOIN compounds x ON x.id = c.compound_id
        WHERE {f.case_where("c")} AND c.level = 'city' AND {measures.is_pending("c")}
        ORDER BY c.due_at, c.id
        LIMIT :limit
    """, {**f.params(), "limit": limit})
    total = int(df["total"].iloc[0]) if len(df) else 0
    return _labels(df.drop(columns="total")), total
