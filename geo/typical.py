"""Typical cases (典型案例): the joint meeting marks a case for a quarter, with a short note.

The policy asks for typical cases every quarter. A mark is a row of
``typical_cases`` (migration 0015): the case, the quarter (``2026Q3``), a note
of at most :data:`NOTE_MAX` characters (masked of phone and ID numbers, as
every free text stored for display), who marked it and when. Marking and
unmarking are each one transaction with their audit row.

Who may mark (:data:`MARKERS`): the joint meeting itself (``leader``) and the
housing bureau (``housing``), which runs the meeting's office and prepares the
quarterly report of typical cases. Street offices, communities and departments
handle cases and must not pick which of their own cases the meeting holds up;
the meeting-room screen only shows; the system administrator runs the system,
not the meeting. The pages ask :func:`may_mark`; the database grants INSERT and
DELETE to the same two roles only and checks that a mark is in the account's
own name, so a page that forgot to ask is still refused.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from geo import auth, measures, periods, privacy
from geo._errors import PropmapError
from geo.scope import Scope

#: Kinds of account that may mark and unmark typical cases (migration 0015 grants the same).
MARKERS = ("leader", "housing")
#: Longest note, in characters (the table CHECKs the same).
NOTE_MAX = 200


class TypicalCaseError(PropmapError, ValueError):
    """A mark that cannot be made: no right, a bad quarter, an empty or long note."""


def may_mark(scope: Scope) -> bool:
    """Whether accounts of ``scope`` may mark cases as typical."""
    return scope.kind in MARKERS


def clean_note(note: str) -> str:
    """The note as stored: trimmed, personal numbers masked; refused when empty or too long."""
    text = privacy.mask_text((note or "").strip()) or ""
    if not text:
        raise TypicalCaseError("请填写简要说明（为什么作为典型案例），不超过 200 字。")
    if len(text) > NOTE_MAX:
        raise TypicalCaseError(f"说明过长（{len(text)} 字），请压缩到 {NOTE_MAX} 字以内。")
    return text


def check_quarter(quarter: str, as_of: dt.date) -> periods.Period:
    """The quarter ``2026Q3`` as a period; refused when malformed or not yet begun."""
    try:
        return periods.parse_quarter(quarter, as_of)
    except ValueError as exc:
        raise TypicalCaseError(str(exc)) from None


def mark(con: sa.Connection, scope: Scope, case_id: int, quarter: str, note: str, *,
         as_of: dt.date) -> None:
    """Mark case ``case_id`` as typical for ``quarter`` (in ``con``'s transaction, audited).

    ``con`` runs under ``scope`` (:meth:`geo.scope.Scope.apply`); the database
    refuses the write for any other kind of account whatever this function says.

    Raises
    ------
    TypicalCaseError
        No right to mark, a bad quarter, a case not visible or received after the
        quarter, a case already marked for the quarter, an empty or too long note.
    """
    if not may_mark(scope):
        raise TypicalCaseError("只有联席会议和住建局账号可以标记典型案例。")
    p = check_quarter(quarter, as_of)
    text = clean_note(note)
    row = con.execute(sa.text("SELECT case_no, received_at FROM cases WHERE id = :i"),
                      {"i": case_id}).first()
    if row is None:
        raise TypicalCaseError("没有这件工单，或不在您的查看范围内。")
    received = row.received_at.astimezone(measures.TZ).date()
    if received > p.end:
        raise TypicalCaseError(f"工单 {row.case_no} 受理于 {received:%Y-%m-%d}，"
                               f"晚于 {quarter} 末，不能作为该季度的典型案例。")
    done = con.execute(sa.text(
        "INSERT INTO typical_cases (case_id, quarter, note, marked_by) "
        "VALUES (:c, :q, :n, :by) ON CONFLICT (case_id, quarter) DO NOTHING"),
        {"c": case_id, "q": quarter, "n": text, "by": scope.account}).rowcount
    if not done:
        raise TypicalCaseError(f"工单 {row.case_no} 已是 {quarter} 的典型案例。")
    auth.audit(con, "write", {"what": "typical_case", "action": "mark", "case_id": case_id,
                              "case_no": row.case_no, "quarter": quarter, "note": text})


def unmark(con: sa.Connection, scope: Scope, case_id: int, quarter: str) -> None:
    """Take case ``case_id`` off ``quarter``'s typical cases (audited)."""
    if not may_mark(scope):
        raise TypicalCaseError("只有联席会议和住建局账号可以取消典型案例。")
    row = con.execute(sa.text(
        "DELETE FROM typical_cases t USING cases c WHERE c.id = t.case_id "
        "AND t.case_id = :c AND t.quarter = :q RETURNING c.case_no, t.note"),
        {"c": case_id, "q": quarter}).first()
    if row is None:
        raise TypicalCaseError(f"该工单不是 {quarter} 的典型案例。")
    auth.audit(con, "write", {"what": "typical_case", "action": "unmark", "case_id": case_id,
                              "case_no": row.case_no, "quarter": quarter, "note": row.note})

