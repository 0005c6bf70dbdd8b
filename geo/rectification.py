"""A hazard's rectification as a history: found, being rectified, rectified, overdue.

The fire brigade and market regulation find hazards (消防、电梯、治安隐患) and
follow them until they are rectified. Each step is one row of
``hazard_events`` (migration 0014), appended and never rewritten; the hazard's
``status`` and ``closed_on`` derive from the latest step, in the same
transaction, so the layers and the figures follow at once.

A step is the status it leaves the hazard in (:data:`geo.models.HAZARD_EVENT_KINDS`).
Which steps follow which is :data:`NEXT`; 已整改 needs a note saying what was
done; 逾期未整改 can only be recorded once the deadline has passed. Who may
record is data, as for compounds (:func:`geo.history.allowed`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import sqlalchemy as sa

from geo import auth
from geo.history import (
    RECORD,
    REFUSED,
    UNCHANGED,
    RecordError,
    allowed,
    as_date,
    clean_text,
    refusal,
)
from geo.measures import today
from geo.models import EVENT_SOURCES, HAZARD_EVENT_KINDS, HAZARD_STATUSES

#: From a status, the steps that may follow it.
NEXT: dict[str, tuple[str, ...]] = {
    "open": ("rectifying", "closed", "overdue"),
    "rectifying": ("closed", "overdue"),
    "overdue": ("rectifying", "closed"),
    "closed": (),
}

R_NO_HAZARD = "找不到该隐患（编号有误，或不在您的范围内）"
R_NOT_ALLOWED = "您的账号不能记录该整改进展"
R_NO_DATE = "缺少日期"
R_FUTURE = "日期晚于今天：只能记录已经发生的整改进展"
R_BEFORE_FOUND = "日期早于隐患发现日期"
R_NO_NOTE = "整改完成须填写整改情况"
R_NOT_DUE = "整改期限未到，不能记为逾期"


def check(con: sa.Connection, proposals: pd.DataFrame, *, account_kind: str | None,
          day: dt.date | None = None) -> pd.DataFrame:
    """Decide for each proposed step (``hazard_id, kind, on_date, note``) whether it is taken.

    Under the account's scope a hazard outside it is not found. Adds ``outcome``
    and ``reason`` as :func:`geo.history.check` does.
    """
    out = proposals.copy().reset_index(drop=True)
    day = day or today()
    ids = [int(v) for v in out["hazard_id"] if not pd.isna(v)]
    state = {int(r.id): r for r in con.execute(sa.text(
        "SELECT id, status, found_on, due_on FROM hazards WHERE id = ANY (CAST(:i AS integer[]))"),
        {"i": ids})}
    may = set(allowed(account_kind, "hazard"))
    outcome, reason = [], []
    for r in out.to_dict("records"):
        why, same = _why(state.get(int(r["hazard_id"])) if not pd.isna(r["hazard_id"]) else None,
                         r, may, day)
        outcome.append(UNCHANGED if same else REFUSED if why else RECORD)
        reason.append(why)
    out["outcome"] = outcome
    out["reason"] = reason
    return out


def _why(h: Any, r: dict[str, Any], may: set[str], day: dt.date) -> tuple[str | None, bool]:
    if h is None:
        return R_NO_HAZARD, False
    kind = r["kind"]
    if kind not in may:
        return f"{R_NOT_ALLOWED}“{HAZARD_EVENT_KINDS.get(kind, kind)}”", False
    on = as_date(r["on_date"])
    if on is None:
        return R_NO_DATE, False
    if on > day:
        return R_FUTURE, False
    if on < h.found_on:
        return f"{R_BEFORE_FOUND}（{h.found_on:%Y-%m-%d}）", False
    if kind == h.status:
        return f"该隐患已是“{HAZARD_STATUSES[kind]}”", True
    if kind not in NEXT[h.status]:
        return (f"隐患当前为“{HAZARD_STATUSES[h.status]}”，不能记为“{HAZARD_STATUSES[kind]}”",
                False)
    if kind == "closed" and not clean_text(r.get("note")):
        return R_NO_NOTE, False
    if kind == "overdue" and on <= h.due_on:
        return f"{R_NOT_DUE}（期限 {h.due_on:%Y-%m-%d}）", False
    return None, False


def record(con: sa.Connection, checked: pd.DataFrame, *, source: str,
           recorded_by: str | None = None, import_id: int | None = None,
           role: str | None = None) -> list[int]:
    """Write the steps of ``checked`` whose outcome is :data:`geo.history.RECORD`, audited.

    Raises
    ------
    RecordError
        The database refused the write; nothing was written.
    """
    if source not in EVENT_SOURCES:
        raise ValueError(f"unknown source {source!r}")
    rows = checked[checked["outcome"] == RECORD]
    if rows.empty:
        return []
    params = {
        "h": [int(v) for v in rows["hazard_id"]], "k": list(rows["kind"]),
        "d": [as_date(v) for v in rows["on_date"]],
        "n": [clean_text(v) for v in rows["note"]],
        "s": [source] * len(rows), "i": [import_id] * len(rows),
        "b": [recorded_by] * len(rows),
    }
    try:
        with con.begin_nested():
            ids = [int(i) for i in con.execute(sa.text("""
                INSERT INTO hazard_events (hazard_id, kind, on_date, note, source, import_id,
                                           recorded_by)
                SELECT * FROM unnest(CAST(:h AS integer[]), CAST(:k AS text[]),
                                     CAST(:d AS date[]), CAST(:n AS text[]), CAST(:s AS text[]),
                                     CAST(:i AS integer[]), CAST(:b AS text[]))
                RETURNING id"""), params).scalars()]
    except sa.exc.DBAPIError as exc:
        raise RecordError(refusal(exc)) from exc
    auth.audit(con, "write", {"what": "hazard_events", "source": source, "ids": ids,
                              "hazards": params["h"], "kinds": params["k"],
                              "import_id": import_id}, account=recorded_by, role=role)
    return ids


HISTORY_HEADERS = {"on_date": "日期", "kind": "进展", "note": "整改情况", "recorded_by": "记录人",
                   "source": "来源"}


def history(con: sa.Connection, hazard_id: int) -> pd.DataFrame:
    """One hazard's steps, newest first, with Chinese labels."""
    df = pd.DataFrame(con.execute(sa.text(
        "SELECT on_date, kind, note, recorded_by, source FROM hazard_events "
        "WHERE hazard_id = :h ORDER BY on_date DESC, id DESC"), {"h": hazard_id}).mappings().all(),
        columns=list(HISTORY_HEADERS))
    df["kind"] = df["kind"].map(HAZARD_EVENT_KINDS)
    df["source"] = df["source"].map(EVENT_SOURCES)
    return df.fillna("").rename(columns=HISTORY_HEADERS)


__all__ = ["NEXT", "RecordError", "check", "history", "record"]
