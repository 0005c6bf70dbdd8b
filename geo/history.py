"""A compound's management as a history of dated facts; its current state derives from it.

Street offices take over 三无 compounds (街道托管), bring in firms, help owners
form committees and renew them; a firm leaves. Each such fact is one row of
``compound_events`` (migration 0014), appended and never rewritten: kind,
date, who recorded it, a note, a document number and where it came from
(看板, 命令行, 清单回传, 名录导入). The database folds the events into the
compound's current state (``compounds.management_mode``, ``firm_id``,
``competent_dept``, ``owners_committee``, ``committee_term_end`` …) in the same
transaction, so ``is_sanwu`` and every figure move the moment a fact is
recorded, and :func:`states_on` answers "what was true on day D".

Three parts of the state are set independently (:data:`geo.models.EVENT_GROUPS`):
*management* (mode and firm), *dept* (competent department) and *committee*
(owners' organisation and its term). Each kind of event sets some of them
(:data:`SETS`, mirrored by the trigger ``compound_event_effects``); the state
on a day is, per part, the latest event up to that day that sets it.

三无 and 托管 are two states: a compound taken over by its street office is
still 三无 (no firm, no department, no owners' organisation) but it is being
managed. :data:`CUSTODY` names the split every page and export uses.

Who may record what is data (``data/reference/record-permissions.csv``),
read by :func:`allowed` for the forms and by the database's row-level
security for every write. :func:`check` says, for each proposed record, in
Chinese, why it cannot be taken (or that it is already recorded);
:func:`record` writes the good ones in one statement and audits the write.

The register's precedence (:func:`register_statements`): a compound register
imported later does not silently erase what a street office recorded; see
``docs/history.md``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from geo import auth, reference
from geo._errors import PropmapError
from geo.measures import today
from geo.models import COMPOUND_EVENT_KINDS, EVENT_SOURCES, MANAGEMENT_MODES, OWNERS_COMMITTEE
from geo.privacy import mask_text


class RecordError(PropmapError, ValueError):
    """A record the database (or the rules) refused; the message says why, in Chinese."""


#: The parts of a compound's state each kind of event sets (the trigger
#: ``compound_event_effects`` of migration 0014 applies the same table).
SETS: dict[str, tuple[str, ...]] = {
    "registered": ("management", "dept", "committee"),
    "takeover": ("management",),
    "firm_in": ("management",),
    "owners_self": ("management",),
    "work_unit": ("management", "dept"),
    "firm_out": ("management",),
    "committee_formed": ("committee",),
    "committee_renewed": ("committee",),
    "mgmt_committee": ("committee",),
}
#: Kinds a person records (the register's 名录登记 is not one of them).
ACTIONS = tuple(k for k in COMPOUND_EVENT_KINDS if k != "registered")
#: Sources of records made by people (they take precedence over an older register).
RECORD_SOURCES = ("dashboard", "cli", "worklist", "demo")
#: 三无 split by custody: the work (未托管) and the progress (已托管).
CUSTODY = {"untaken": "三无，未托管", "custody": "三无，已托管"}

R_NO_COMPOUND = "找不到该小区（小区编号有误，或不在您的辖区内）"
R_NO_KIND = "无法识别的措施"
R_NOT_ALLOWED = "您的账号不能记录该事项"
R_TAKEOVER_AREA = "街道托管只能由小区所在的街道办事处记录"
R_NO_DATE = "缺少措施日期"
R_BAD_DATE = "措施日期无法识别"
R_FUTURE = "措施日期晚于今天：只能记录已经发生的事项"
R_NO_FIRM = "引入物业服务企业须填写企业名称"
R_UNKNOWN_FIRM = "物业服务企业不在企业名录中：请先由住建局在名录中登记该企业"
R_NO_UNIT = "单位自管须填写管理单位（产权单位或主管部门）"
R_NO_TERM = "成立业委会或换届须填写本届任期届满日期"
R_BAD_TERM = "任期届满日期应晚于措施日期"
R_HAS_FIRM = "该小区现有物业服务企业：请先记录“退出/撤场”，再记录街道托管"
R_IN_CUSTODY = "该小区已由街道托管"
R_SAME_FIRM = "该小区已由该企业服务"
R_SAME_MODE = "该小区已是该管理方式"
R_NO_COMMITTEE = "该小区尚未成立业委会：请记录“成立业主大会/业主委员会”"
R_HAS_COMMITTEE = "该小区已成立业委会：换届请记录“业委会换届”"
R_HAS_MGMT = "该小区已成立物业管理委员会"
R_NOTHING_LEFT = "该小区无人管理，没有可撤出的企业或单位"
R_BEFORE_STATE = "措施日期早于该小区现状的起始日期，请核对日期"

#: The columns of the worklist xlsx a clerk fills in (see layers.worklist and etl.worklist):
#: proposal field → Chinese header. The compound is identified by 小区编号.
WORKLIST_KEY = "小区编号"
WORKLIST_ACTIONS = {"kind": "采取措施", "on_date": "措施日期", "firm": "物业服务企业",
                    "unit": "管理单位", "term_end": "任期届满", "doc_no": "文号", "note": "备注"}

#: Outcomes of a proposed record.
RECORD, UNCHANGED, REFUSED = "record", "unchanged", "refused"
OUTCOME_LABELS = {RECORD: "已记录", UNCHANGED: "未变", REFUSED: "拒绝"}


def allowed(account_kind: str | None, target: str = "compound") -> tuple[str, ...]:
    """Kinds of event an account of ``account_kind`` may record (``None``: the operator, all)."""
    if account_kind is None:
        return ACTIONS if target == "compound" else ("rectifying", "closed", "overdue")
    return tuple(r["event_kind"] for r in reference.record_permissions()
                 if r["account_kind"] == account_kind and r["target"] == target)


def committee_settings() -> dict[str, int]:
    """``eligible_min_households`` and ``term_years`` (``data/reference/governance.toml``)."""
    g = reference.governance()["owners_committee"]
    return {"eligible_min_households": int(g["eligible_min_households"]),
            "term_years": int(g["term_years"])}


@dataclass(frozen=True)
class Proposal:
    """One record someone wants to make (a form, a worklist row, a command line)."""

    compound: int | str
    """The compound's id, or its code (小区编号)."""
    kind: str
    on: dt.date | None
    firm: str | None = None
    unit: str | None = None
    term_end: dt.date | None = None
    doc_no: str | None = None
    note: str | None = None


def frame(proposals: Sequence[Proposal]) -> pd.DataFrame:
    """Proposals as the frame :func:`check` takes."""
    return pd.DataFrame({
        "compound": [p.compound for p in proposals],
        "kind": [p.kind for p in proposals],
        "on_date": [p.on for p in proposals],
        "firm": [p.firm for p in proposals],
        "unit": [p.unit for p in proposals],
        "term_end": [p.term_end for p in proposals],
        "doc_no": [p.doc_no for p in proposals],
        "note": [p.note for p in proposals],
    })


_STATE_SQL = """
SELECT x.id, x.code, x.name, x.street_code, x.management_mode, x.firm_id, f.name AS firm_name,
       x.competent_dept, x.owners_committee, x.mode_since, x.committee_since
FROM compounds x LEFT JOIN property_firms f ON f.id = x.firm_id
WHERE x.id = ANY (CAST(:ids AS integer[])) OR x.code = ANY (CAST(:codes AS text[]))
"""

_SAME_SQL = """
SELECT e.compound_id, e.kind, e.on_date, e.firm_id, e.competent_dept, e.term_end
FROM compound_events e
WHERE e.compound_id = ANY (CAST(:ids AS integer[])) AND e.kind <> 'registered'
"""


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT or v == ""


def as_date(v: Any) -> dt.date | None:
    if _blank(v) or (not isinstance(v, dt.date) and pd.isna(v)):
        return None
    if isinstance(v, pd.Timestamp):
        return v.date()
    if isinstance(v, dt.datetime):
        return v.date()
    return v if isinstance(v, dt.date) else None


def check(con: sa.Connection, proposals: pd.DataFrame, *, account_kind: str | None,
          streets: Sequence[str] = (), day: dt.date | None = None) -> pd.DataFrame:
    """Decide, for every proposed record, whether it is recorded, unchanged or refused (and why).

    Parameters
    ----------
    con
        A connection under the account's scope (:meth:`geo.scope.Scope.apply`): a
        compound outside the scope is not found. The operator's connection sees all.
    proposals
        Columns ``compound`` (id or 小区编号), ``kind``, ``on_date``, ``firm`` (name),
        ``unit``, ``term_end``, ``doc_no``, ``note``; ``on_date`` may hold the text
        ``"bad"`` for a date that could not be read. Extra columns are kept.
    account_kind
        The kind of account recording (``None`` for the operator: every kind).
    streets
        The account's street offices (a takeover is a street's own act).
    day
        Today (Kaili), for the "not in the future" rule.

    Returns
    -------
    pandas.DataFrame
        ``proposals`` with ``compound_id``, ``firm_id``, ``outcome`` (:data:`RECORD`,
        :data:`UNCHANGED`, :data:`REFUSED`) and ``reason`` (Chinese, or ``None``).
    """
    out = proposals.copy().reset_index(drop=True)
    n = len(out)
    day = day or today()
    ids = [int(c) for c in out["compound"] if isinstance(c, int | np.integer)]
    codes = [str(c) for c in out["compound"] if isinstance(c, str) and c]
    state = pd.DataFrame(con.execute(sa.text(_STATE_SQL), {"ids": ids, "codes": codes}).mappings()
                         .all())
    by_id = {int(r["id"]): r for r in state.to_dict("records")} if len(state) else {}
    by_code = {str(r["code"]): r for r in by_id.values()}
    names = [str(f) for f in out["firm"] if not _blank(f)]
    firms = {r.name: int(r.id) for r in con.execute(sa.text(
        "SELECT id, name FROM property_firms WHERE name = ANY (CAST(:n AS text[]))"),
        {"n": names})} if names else {}
    same = pd.DataFrame(con.execute(sa.text(_SAME_SQL), {"ids": list(by_id)}).mappings().all())
    seen = {(int(r["compound_id"]), r["kind"], r["on_date"], r["firm_id"], r["competent_dept"],
             r["term_end"]) for r in same.to_dict("records")} if len(same) else set()
    may = set(allowed(account_kind))

    compound_id: list[int | None] = []
    firm_id: list[int | None] = []
    outcome: list[str] = []
    reason: list[str | None] = []
    for r in out.to_dict("records"):
        c = r["compound"]
        row = by_id.get(int(c)) if isinstance(c, int | np.integer) else by_code.get(str(c))
        kind = r["kind"]
        on = r["on_date"]
        fid = firms.get(str(r["firm"])) if not _blank(r["firm"]) else None
        compound_id.append(None if row is None else int(row["id"]))
        firm_id.append(fid)
        why = _basic(row, kind, on, r, fid, may, account_kind, streets, day)
        if why is None and row is not None:
            key = (int(row["id"]), kind, as_date(on), fid,
                   None if _blank(r["unit"]) or kind != "work_unit" else str(r["unit"]).strip(),
                   as_date(r["term_end"]) if kind in ("committee_formed", "committee_renewed",
                                                    "mgmt_committee") else None)
            if key in seen:
                outcome.append(UNCHANGED)
                reason.append("该事项已记录过")
                continue
            why = _transition(row, kind, as_date(on) or day, fid)
            if why is None:
                seen.add(key)
        outcome.append(REFUSED if why else RECORD)
        reason.append(why)
    out["compound_id"] = pd.array(compound_id, dtype="Int64") if n else pd.array([], "Int64")
    out["firm_id"] = pd.array(firm_id, dtype="Int64") if n else pd.array([], "Int64")
    out["outcome"] = outcome
    out["reason"] = reason
    return out


def _basic(row: dict[str, Any] | None, kind: Any, on: Any, r: dict[str, Any],
           fid: int | None, may: set[str], account_kind: str | None, streets: Sequence[str],
           day: dt.date) -> str | None:
    """The first reason a proposal is not a valid record at all, or ``None``."""
    if row is None:
        return R_NO_COMPOUND
    if kind not in ACTIONS:
        return R_NO_KIND
    if kind not in may:
        return R_TAKEOVER_AREA if kind == "takeover" else (
            f"{R_NOT_ALLOWED}“{COMPOUND_EVENT_KINDS[kind]}”")
    if kind == "takeover" and account_kind == "street" and row["street_code"] not in streets:
        return R_TAKEOVER_AREA
    if isinstance(on, str) and on:
        return R_BAD_DATE
    on = as_date(on)
    if on is None:
        return R_NO_DATE
    if on > day:
        return R_FUTURE
    term = as_date(r["term_end"])
    if kind == "firm_in":
        if _blank(r["firm"]):
            return R_NO_FIRM
        if fid is None:
            return f"{R_UNKNOWN_FIRM}（{r['firm']}）"
    if kind == "work_unit" and _blank(r["unit"]):
        return R_NO_UNIT
    if kind in ("committee_formed", "committee_renewed", "mgmt_committee"):
        if isinstance(r["term_end"], str) and r["term_end"]:
            return "任期届满日期无法识别"
        if term is None and kind != "mgmt_committee":
            return R_NO_TERM
        if term is not None and term <= on:
            return R_BAD_TERM
    return None


def _transition(row: dict[str, Any], kind: str, on: dt.date, fid: int | None) -> str | None:
    """Why ``kind`` makes no sense from the compound's current state, or ``None``."""
    mode, committee = row["management_mode"], row["owners_committee"]
    if kind == "firm_in" and row["firm_id"] == fid:
        return R_SAME_FIRM
    if kind == "takeover":
        if mode == "property_firm":
            return f"{R_HAS_FIRM}（{row['firm_name']}）"
        if mode == "street_custody":
            return R_IN_CUSTODY
    if kind in ("owners_self", "work_unit") and mode == kind:
        return R_SAME_MODE
    if kind == "firm_out" and mode == "none":
        return R_NOTHING_LEFT
    if kind == "committee_renewed" and committee != "established":
        return R_NO_COMMITTEE
    if kind == "committee_formed" and committee == "established":
        return R_HAS_COMMITTEE
    if kind == "mgmt_committee" and committee == "mgmt_committee":
        return R_HAS_MGMT
    since = row["committee_since"] if "committee" in SETS[kind] else row["mode_since"]
    if since is not None and not pd.isna(since) and on < since:
        return f"{R_BEFORE_STATE}（现状自 {since:%Y-%m-%d} 起）"
    return None


_INSERT_SQL = """
INSERT INTO compound_events (compound_id, kind, on_date, firm_id, competent_dept, term_end,
                             doc_no, note, source, import_id, recorded_by)
SELECT * FROM unnest(CAST(:compound AS integer[]), CAST(:kind AS text[]), CAST(:on AS date[]),
                     CAST(:firm AS integer[]), CAST(:unit AS text[]), CAST(:term AS date[]),
                     CAST(:doc AS text[]), CAST(:note AS text[]), CAST(:source AS text[]),
                     CAST(:imp AS integer[]), CAST(:by AS text[]))
RETURNING id
"""


def clean_text(v: Any) -> str | None:
    """A note or number as stored: ``None`` when blank (``None``, NaN, spaces), else trimmed
    and masked (:func:`geo.privacy.mask_text`)."""
    return None if _blank(v) else mask_text(str(v).strip()) or None


def record(con: sa.Connection, checked: pd.DataFrame, *, source: str,
           recorded_by: str | None = None, import_id: int | None = None,
           role: str | None = None) -> list[int]:
    """Write the rows of ``checked`` (from :func:`check`) whose outcome is :data:`RECORD`.

    One INSERT for all of them; the database fills in what each kind sets,
    refolds the compounds' state and bumps the data version. The write is
    audited (``write``) in the same transaction. Notes and document numbers are
    masked (:func:`geo.privacy.mask_text`) before they are stored.

    Raises
    ------
    RecordError
        The database refused the write (outside the account's area, a kind the
        account may not record, an inconsistent record); nothing was written.
    """
    if source not in EVENT_SOURCES:
        raise ValueError(f"unknown source {source!r}")
    rows = checked[checked["outcome"] == RECORD]
    if rows.empty:
        return []
    units = [None if k != "work_unit" else clean_text(u) for k, u in zip(rows["kind"], rows["unit"],
                                                                     strict=True)]
    terms = [as_date(t) if k in ("committee_formed", "committee_renewed", "mgmt_committee")
             else None for k, t in zip(rows["kind"], rows["term_end"], strict=True)]
    params = {
        "compound": [int(v) for v in rows["compound_id"]],
        "kind": list(rows["kind"]),
        "on": [as_date(v) for v in rows["on_date"]],
        "firm": [None if pd.isna(v) else int(v) for v in rows["firm_id"]],
        "unit": units, "term": terms,
        "doc": [clean_text(v) for v in rows["doc_no"]],
        "note": [clean_text(v) for v in rows["note"]],
        "source": [source] * len(rows), "imp": [import_id] * len(rows),
        "by": [recorded_by] * len(rows),
    }
    try:
        with con.begin_nested():
            ids = [int(i) for i in con.execute(sa.text(_INSERT_SQL), params).scalars()]
    except sa.exc.DBAPIError as exc:
        raise RecordError(refusal(exc)) from exc
    auth.audit(con, "write", {
        "what": "compound_events", "source": source, "ids": ids,
        "compounds": params["compound"], "kinds": params["kind"], "import_id": import_id},
        account=recorded_by, role=role)
    return ids


def refusal(exc: sa.exc.DBAPIError) -> str:
    """What a refused write means for the person who tried it, in Chinese."""
    orig = exc.orig
    state = getattr(orig, "sqlstate", None)
    text = str(orig).strip().splitlines()[0] if orig is not None else str(exc)
    if state == "42501":  # row-level security or a missing grant
        return "数据库拒绝写入：该小区（隐患）不在您的辖区或范围内，或您的账号不能记录该事项。"
    if state == "P0001":  # a trigger's message, already in Chinese
        return text.removeprefix("ERROR:").strip()
    if state == "23503":
        return "记录引用了不存在的小区、企业或隐患，请刷新页面后重试。"
    if state and state.startswith("23"):
        return f"记录不完整或前后矛盾，未写入（{text[:120]}）。"
    return f"写入失败：{text[:160]}"


# --- what was true when ---------------------------------------------------------------------

def states_on(con: sa.Connection, days: Sequence[dt.date],
              ids: Sequence[int] | None = None) -> pd.DataFrame:
    """Each compound's state on each of ``days`` (the history folded up to that day).

    Columns: ``day, compound_id, management_mode, firm_id, competent_dept,
    owners_committee, mode_since, committee_since, committee_term_end, is_sanwu``.
    A compound first registered after a day has no row for that day.
    """
    res = con.execute(sa.text(
        "SELECT * FROM compound_states_on(CAST(:d AS date[]), CAST(:i AS integer[])) "
        "ORDER BY day, compound_id"), {"d": list(days), "i": None if ids is None else list(ids)})
    return pd.DataFrame(res.mappings().all(), columns=list(res.keys()))


def was_sanwu(con: sa.Connection, compound_id: int, day: dt.date) -> bool | None:
    """Whether compound ``compound_id`` was 三无 on ``day`` (``None``: not registered then)."""
    v = con.execute(sa.text("SELECT compound_was_sanwu(:c, :d)"),
                    {"c": compound_id, "d": day}).scalar()
    return None if v is None else bool(v)


HISTORY_HEADERS = {
    "on_date": "日期", "kind": "事项", "detail": "内容", "doc_no": "文号", "note": "备注",
    "recorded_by": "记录人", "source": "来源", "status": "状态",
}


#: Columns of a record the meeting-room screen (viewer) may not read: free text and who wrote it.
PRIVATE = ("doc_no", "note", "recorded_by")


def history(con: sa.Connection, compound_id: int, *, with_text: bool = True) -> pd.DataFrame:
    """One compound's events, newest first, with Chinese labels (the card and the CLI).

    ``with_text=False`` leaves out the document numbers, notes and who recorded
    (:data:`PRIVATE`), which the viewer's database role may not read.
    """
    from geo.models import EVENT_CONFLICTS

    private = ", ".join(f"e.{c}" if with_text else f"NULL AS {c}" for c in PRIVATE)
    df = pd.DataFrame(con.execute(sa.text(f"""
        SELECT e.on_date, e.kind, e.mode, f.name AS firm, e.competent_dept, e.owners_committee,
               e.term_end, {private}, e.source, e.applied, e.conflict, e.sets
        FROM compound_events e LEFT JOIN property_firms f ON f.id = e.firm_id
        WHERE e.compound_id = :c ORDER BY e.on_date DESC NULLS LAST, e.id DESC"""),
        {"c": compound_id}).mappings().all(),
        columns=["on_date", "kind", "mode", "firm", "competent_dept", "owners_committee",
                 "term_end", "doc_no", "note", "recorded_by", "source", "applied", "conflict",
                 "sets"])
    if df.empty:
        return pd.DataFrame(columns=list(HISTORY_HEADERS.values()))
    df["detail"] = [_detail(r) for r in df.to_dict("records")]
    df["status"] = [EVENT_CONFLICTS.get(c, "") if c else ("生效" if a else "未生效")
                    for a, c in zip(df["applied"], df["conflict"], strict=True)]
    df["kind"] = df["kind"].map(COMPOUND_EVENT_KINDS)
    df["source"] = df["source"].map(EVENT_SOURCES)
    df["on_date"] = [("日期不详" if d is None or pd.isna(d) else f"{d:%Y-%m-%d}")
                     for d in df["on_date"]]
    return df[list(HISTORY_HEADERS)].fillna("").rename(columns=HISTORY_HEADERS)


def _detail(r: dict[str, Any]) -> str:
    parts = []
    sets = r["sets"] or []
    if "management" in sets:
        parts.append(MANAGEMENT_MODES.get(r["mode"], r["mode"] or "")
                     + (f"：{r['firm']}" if r["firm"] else ""))
    if "dept" in sets:
        parts.append(f"主管部门：{r['competent_dept'] or '无'}")
    if "committee" in sets:
        parts.append(OWNERS_COMMITTEE.get(r["owners_committee"], "")
                     + (f"，任期至 {r['term_end']:%Y-%m-%d}" if r["term_end"] else ""))
    return "；".join(p for p in parts if p)


# --- the register's precedence ---------------------------------------------------------------

_GROUP_DIFF = {
    "management": "(s.management_mode, s.firm_id) IS DISTINCT FROM (x.management_mode, x.firm_id)",
    "dept": "s.competent_dept IS DISTINCT FROM x.competent_dept",
    "committee": "s.owners_committee IS DISTINCT FROM x.owners_committee",
}

_REGISTER_SQL = """
WITH s AS (
    SELECT x.id AS compound_id, st.management_mode, f.id AS firm_id, st.competent_dept,
           st.owners_committee
    FROM {stage} st JOIN compounds x ON x.code = st.code
    LEFT JOIN property_firms f ON f.name = st.firm
), d AS (
    SELECT s.*, g.grp
    FROM s JOIN compounds x ON x.id = s.compound_id
    CROSS JOIN LATERAL (VALUES {groups}) g(grp, differs)
    WHERE g.differs
), l AS (
    SELECT d.*, last.id AS last_id, last.source AS last_source, last.on_date AS last_on
    FROM d LEFT JOIN LATERAL (
        SELECT e.id, e.source, e.on_date FROM compound_events e
        WHERE e.compound_id = d.compound_id AND e.applied AND d.grp = ANY (e.sets)
        ORDER BY e.on_date DESC NULLS LAST, e.id DESC LIMIT 1) last ON true
), decided AS (
    SELECT l.*, last_source = ANY (CAST(:records AS text[])) AS human,
           CASE WHEN last_source = ANY (CAST(:records AS text[])) THEN last_on >= :d
                ELSE last_on > :d END AS keep
    FROM l
    WHERE NOT EXISTS (  -- the same stale statement, already kept for review: once is enough
        SELECT 1 FROM compound_events e
        WHERE e.compound_id = l.compound_id AND e.kind = 'registered' AND e.on_date = :d
          AND NOT e.applied AND e.sets = ARRAY[l.grp]::varchar[]
          AND CASE l.grp WHEN 'management' THEN (e.mode, e.firm_id)
                             IS NOT DISTINCT FROM (l.management_mode, l.firm_id)
                         WHEN 'dept' THEN e.competent_dept IS NOT DISTINCT FROM l.competent_dept
                         ELSE e.owners_committee IS NOT DISTINCT FROM l.owners_committee END)
)
INSERT INTO compound_events (compound_id, kind, on_date, sets, mode, firm_id, competent_dept,
                             owners_committee, source, import_id, applied, conflict,
                             conflict_event_id)
SELECT compound_id, 'registered', :d, ARRAY[grp]::varchar[],
       CASE WHEN grp = 'management' THEN management_mode END,
       CASE WHEN grp = 'management' THEN firm_id END,
       CASE WHEN grp = 'dept' THEN competent_dept END,
       CASE WHEN grp = 'committee' THEN owners_committee END,
       'register', :imp, NOT coalesce(keep, false),
       CASE WHEN keep THEN 'kept_record' WHEN human THEN 'overrode_record' END,
       CASE WHEN keep OR human THEN last_id END
FROM decided ORDER BY compound_id, grp
RETURNING compound_id, applied
"""

_SETTLE_SQL = """
UPDATE {stage} st SET management_mode = x.management_mode, firm = f.name,
       competent_dept = x.competent_dept, owners_committee = x.owners_committee
FROM compounds x LEFT JOIN property_firms f ON f.id = x.firm_id
WHERE x.code = st.code
"""


def register_statements(con: sa.Connection, stage: str, *, on: dt.date,
                        import_id: int | None) -> list[str]:
    """The precedence hook of the compound register import (call it before the merge).

    ``stage`` is the import's staging table (``code, management_mode, firm,
    owners_committee, competent_dept`` per register row). For every compound
    already known and every part of its state (management, dept, committee) where
    the register says something else than the current state:

    - the register's statement becomes an event of kind 名录登记, dated ``on``
      (the day the register describes), source ``register``;
    - it takes effect unless a newer fact stands: a record made by people
      (看板, 命令行, 清单回传) dated on or after ``on``, or a register statement
      dated after ``on``. Then it is kept as an event that did not take effect
      (``conflict = 'kept_record'``), for review;
    - when it takes effect over a record made by people, it is marked
      ``overrode_record``, for review too.

    The staging rows of known compounds are then set to the compounds' state as
    decided, so the register's merge changes only the other columns. New
    compounds get their first 名录登记 event dated ``on`` (the database's baseline
    trigger reads the date and the import from this transaction's settings).

    Returns
    -------
    list of str
        Codes of the compounds whose state the register changed.
    """
    groups = ", ".join(f"('{g}', {cond})" for g, cond in _GROUP_DIFF.items())
    rows = con.execute(sa.text(_REGISTER_SQL.format(stage=stage, groups=groups)),
                       {"d": on, "imp": import_id, "records": list(RECORD_SOURCES)}).all()
    changed = sorted({int(r.compound_id) for r in rows if r.applied})
    con.execute(sa.text(_SETTLE_SQL.format(stage=stage)))
    con.execute(sa.text("SELECT set_config('propmap.registered_on', :d, true), "
                        "set_config('propmap.import_id', :i, true)"),
                {"d": on.isoformat(), "i": "" if import_id is None else str(import_id)})
    if not changed:
        return []
    return list(con.execute(sa.text("SELECT code FROM compounds WHERE id = ANY (:i) ORDER BY code"),
                            {"i": changed}).scalars())


CONFLICT_HEADERS = {
    "import_id": "导入批次", "code": "小区编号", "name": "小区名称", "street": "街道",
    "register_on": "名录日期", "register_says": "名录所载", "record_on": "记录日期",
    "record_says": "街道记录", "recorded_by": "记录人", "outcome": "处理",
}


def conflicts(con: sa.Connection, import_id: int | None = None) -> pd.DataFrame:
    """Register statements that disagreed with a record (kept or overridden), for review."""
    from geo.models import EVENT_CONFLICTS

    df = pd.DataFrame(con.execute(sa.text("""
        SELECT e.import_id, x.code, x.name, s.name AS street, e.on_date AS register_on,
               e.kind, e.mode, f.name AS firm, e.competent_dept, e.owners_committee, e.term_end,
               e.sets, r.on_date AS record_on, r.kind AS r_kind, r.mode AS r_mode,
               rf.name AS r_firm, r.competent_dept AS r_dept,
               r.owners_committee AS r_committee, r.term_end AS r_term, r.sets AS r_sets,
               r.recorded_by, e.conflict
        FROM compound_events e JOIN compounds x ON x.id = e.compound_id
        LEFT JOIN streets s ON s.code = x.street_code
        LEFT JOIN property_firms f ON f.id = e.firm_id
        LEFT JOIN compound_events r ON r.id = e.conflict_event_id
        LEFT JOIN property_firms rf ON rf.id = r.firm_id
        WHERE e.conflict IS NOT NULL
          AND (CAST(:imp AS integer) IS NULL OR e.import_id = :imp)
        ORDER BY e.import_id DESC, x.code, e.id"""), {"imp": import_id}).mappings().all())
    if df.empty:
        return pd.DataFrame(columns=list(CONFLICT_HEADERS.values()))
    df["register_says"] = [_detail(r) for r in df.to_dict("records")]
    df["record_says"] = [
        COMPOUND_EVENT_KINDS.get(r["r_kind"], "") + "：" + _detail(
            {"sets": r["r_sets"], "mode": r["r_mode"], "firm": r["r_firm"],
             "competent_dept": r["r_dept"], "owners_committee": r["r_committee"],
             "term_end": r["r_term"]}) if r["r_kind"] else ""
        for r in df.to_dict("records")]
    df["outcome"] = df["conflict"].map(EVENT_CONFLICTS)
    return df[list(CONFLICT_HEADERS)].astype(object).where(lambda d: d.notna(), "").rename(
        columns=CONFLICT_HEADERS)


def summary_zh(checked: pd.DataFrame) -> str:
    """``已记录 n，未变 n，拒绝 n`` for a checked batch."""
    counts = checked["outcome"].value_counts()
    return "，".join(f"{OUTCOME_LABELS[k]} {int(counts.get(k, 0)):,}"
                    for k in (RECORD, UNCHANGED, REFUSED))
