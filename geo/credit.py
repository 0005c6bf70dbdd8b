"""Credit evaluation of property firms and owners' committees, and the red and black lists.

The model is data (``data/credit/*.toml``, :mod:`geo.credit_model`); this
module brings the facts to it and keeps the history:

- :func:`evaluate` scores every subject of a kind for the quarters up to a
  period (by default the latest complete quarter at the data's cut-off day),
  with the model's proposal for the red or black list (:func:`propose`) and the
  flags a meeting should see (:func:`flags`);
- the history is appended, never overwritten: ``credit_events`` (awards,
  penalties, contract terminations … recorded by the housing bureau with
  reason, date and document number; a mistaken one is withdrawn by a new
  record), ``credit_list_changes`` (each decision on the lists: a proposal
  confirmed, overridden, or a decision of the bureau's own, with its reason)
  and ``credit_ratings`` (the ratings published for a quarter). The current
  list status and published rating derive from them (for firms, triggers keep
  ``property_firms.list_status`` and ``credit_rating`` equal to the latest
  record; nothing else may write those columns). Every write is audited in
  the same transaction;
- :func:`lists` is what the joint meeting's briefing reads: the current red
  and black lists with the decision behind each entry.

Which compounds a firm answers for is :data:`FIRM_ATTRIBUTION`: the firm
currently serving each compound, ``compounds.firm_id``, which the database folds
from the compound's management history (``compound_events``: the register's
statements and the street offices' records, see :mod:`geo.history`), as every
page reads it; committees come from :mod:`geo.committees`, from the same history.
Evaluate as the owner or under a city-wide scope: a street's scope sees part
of a firm's cases.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import sqlalchemy as sa

from geo import auth, committees, credit_counts, measures
from geo._errors import PropmapError
from geo.credit_model import (
    LIST_STATUSES,
    SUBJECT_COLUMN,
    SUBJECTS,
    Event,
    Facts,
    Model,
    Period,
    Score,
    load,
    score,
    valid_events,
)
from geo.privacy import mask_text

#: Which compounds a firm answers for: those the compound register names it for. Issue 9's
#: dated management history will say which firm served a compound during each quarter;
#: this is the one query to change then.
FIRM_ATTRIBUTION = """
SELECT x.firm_id AS subject_id, x.id AS compound_id, coalesce(x.households, 0) AS households
FROM compounds x WHERE x.firm_id IS NOT NULL
"""
#: How a decision on the lists came about.
BASES = {"proposal": "采纳系统建议", "override": "改判（不采纳建议）", "manual": "直接认定",
         "migration": "迁移前的登记"}
#: The column naming the subject in the history tables.


class CreditInputError(PropmapError, ValueError):
    """A credit record that cannot be written as given (the message says what to fix)."""


@dataclass(frozen=True)
class Subject:
    """A rated firm or committee: its name, what it serves, and (committees) its area."""

    id: int
    name: str
    households: int
    compounds: int
    street_code: str | None = None
    community_id: int | None = None


@dataclass(frozen=True)
class Proposal:
    """What the model proposes for a subject's list status, and why."""

    status: str
    reason: str
    current: str
    pending: bool
    """True when the proposal differs from the current status and no decision on it has been
    recorded for the period yet."""

    @property
    def change(self) -> bool:
        return self.status != self.current


@dataclass
class Evaluation:
    """Every subject of one kind scored for ``periods`` (oldest first; the last is the one
    the lists are decided on)."""

    model: Model
    subject: str
    periods: list[Period]
    cutoff: dt.date
    subjects: dict[int, Subject]
    facts: dict[tuple[int, Period], Facts]
    scores: dict[tuple[int, Period], Score]
    status: dict[int, str] = field(default_factory=dict)
    proposals: dict[int, Proposal] = field(default_factory=dict)
    flags: dict[int, list[str]] = field(default_factory=dict)

    @property
    def period(self) -> Period:
        return self.periods[-1]

    def score(self, subject_id: int, period: Period | None = None) -> Score | None:
        return self.scores.get((subject_id, period or self.period))

    def history(self, subject_id: int) -> list[Score | None]:
        return [self.scores.get((subject_id, p)) for p in self.periods]

    def pending(self) -> list[int]:
        """Subjects with a proposed list change still waiting for a decision."""
        return [i for i, p in self.proposals.items() if p.pending]

    def table(self) -> pd.DataFrame:
        """One row per subject for the latest period: score, grade, list status, proposal and
        every line of the score (value and points), with Chinese headers."""
        rows = []
        for sid, subj in self.subjects.items():
            s = self.score(sid)
            prop = self.proposals.get(sid)
            row: dict[str, Any] = {
                "编号": sid, "名称": subj.name, "服务小区": subj.compounds,
                "服务户数": subj.households,
                "得分": s.total if s and s.band else None,
                "等级": (s.band if s and s.band else "不评级"),
                "红黑榜": LIST_STATUSES[self.status.get(sid, "none")],
                "建议": LIST_STATUSES[prop.status] if prop else "",
                "建议理由": prop.reason if prop else "",
                "待决定": "是" if prop and prop.pending else "",
            }
            for part, label in (("cases", "工单扣分"), ("hazards", "隐患扣分"),
                                ("governance", "履职扣分"), ("events", "记录事项")):
                if any(i.part == part for i in self.model.items) or part == "events":
                    row[label] = s.part(part) if s else None
            for item in self.model.items:
                ln = s.line(item.key) if s else None
                unit = "%" if item.unit == "%" else f"（{item.unit}）" if item.unit else ""
                row[f"{item.label}{unit}"] = ln.value if ln else None
                row[f"{item.label}扣分"] = ln.points if ln and ln.counted else None
            row["提示"] = "；".join(self.flags.get(sid, []))
            rows.append(row)
        df = pd.DataFrame(rows)
        if df.empty:
            return df
        return df.sort_values(["得分", "名称"], ascending=[True, True],
                              na_position="last").reset_index(drop=True)

    def trend(self, subject_id: int) -> pd.DataFrame:
        """Per quarter: the subject's value of each case item and the median over subjects
        (``period, key, label, value, median``). Values here ignore the minimum sample; the
        median is over subjects whose sample counts."""
        rows = []
        for p in self.periods:
            for item in self.model.items:
                if item.part != "cases":
                    continue
                mine = _raw_value(item.key, item.kind, self.facts.get((subject_id, p)))
                counted = [ln.value for (sid, q), s in self.scores.items()
                           if q == p and (ln := s.line(item.key)) and ln.counted
                           and ln.value is not None]
                rows.append({"period": str(p), "key": item.key, "label": item.label,
                             "value": mine,
                             "median": round(statistics.median(counted), 1) if counted else None})
        return pd.DataFrame(rows, columns=["period", "key", "label", "value", "median"])


def _raw_value(key: str, kind: str, f: Facts | None) -> float | None:
    if f is None:
        return None
    if kind == "per_1000":
        return measures.per_1000(f.counts.get("received", 0), f.households)
    if kind == "rate":
        return measures.RATE_BY_KEY[key].of(dict(f.counts))
    return None


# --- sources of facts ------------------------------------------------------------------------

Source = Callable[[sa.Connection, Model, Sequence[Period], dt.date],
                  tuple[dict[int, Subject], dict[tuple[int, Period], Facts]]]


def _firms(con: sa.Connection, model: Model, periods: Sequence[Period],
           cutoff: dt.date) -> tuple[dict[int, Subject], dict[tuple[int, Period], Facts]]:
    served = credit_counts.households(con, FIRM_ATTRIBUTION, {})
    subjects = {
        int(r.id): Subject(int(r.id), r.name, *served.get(int(r.id), (0, 0)))
        for r in con.execute(sa.text("SELECT id, name FROM property_firms ORDER BY id"))}
    counts = credit_counts.case_counts(con, FIRM_ATTRIBUTION, {}, model.categories, periods,
                                       cutoff)
    hazards = credit_counts.hazard_counts(con, FIRM_ATTRIBUTION, {}, periods, cutoff)
    events = credit_counts.events(con, "firm")
    facts = {(sid, p): Facts(sid, s.name, p, s.households, counts.get((sid, p), {}),
                             hazards.get((sid, p), {}), {}, tuple(events.get(sid, ())))
             for sid, s in subjects.items() for p in periods}
    return subjects, facts


def _committees(con: sa.Connection, model: Model, periods: Sequence[Period],
                cutoff: dt.date) -> tuple[dict[int, Subject], dict[tuple[int, Period], Facts]]:
    found, facts = committees.load_facts(con, model, periods, cutoff)
    subjects = {c.id: Subject(c.id, c.name, c.households, 1, c.street_code, c.community_id)
                for c in found}
    return subjects, facts


#: Where the facts of each kind of subject come from.
SOURCES: dict[str, Source] = {"firm": _firms, "committee": _committees}


# --- proposals and flags (pure) --------------------------------------------------------------

def _streak(history: Sequence[Score | None], bands: Sequence[str], n: int,
            full_sample: bool = False) -> bool:
    last = list(history)[-n:]
    return len(last) == n and all(
        s is not None and s.band in bands
        and (not full_sample or s.complete)
        for s in last)


def _grades(history: Sequence[Score | None], n: int) -> str:
    return "、".join(f"{s.period.label} {s.band}（{s.total:g} 分）" for s in list(history)[-n:]
                    if s is not None)


def propose(model: Model, history: Sequence[Score | None], current: str,
            events_now: Sequence[Event]) -> tuple[str, str]:
    """The list status the model proposes after ``history`` (scores, oldest first, the last
    being the period decided on), and why, in Chinese."""
    black_events = [e for e in events_now if (k := model.events.get(e.kind)) and k.black]
    if black_events:
        e = black_events[-1]
        return "black", (f"{e.on:%Y-%m-%d} {model.event_label(e.kind)}（{e.doc_no}）："
                         "属严重失信事项，列入黑榜")
    rule = model.black
    if _streak(history, rule.bands, rule.quarters):
        return "black", (f"连续 {rule.quarters} 个季度等级为 {'/'.join(rule.bands)}："
                         f"{_grades(history, rule.quarters)}")
    if current == "black":
        rule = model.leave_black
        if _streak(history, rule.bands, rule.quarters):
            return "none", (f"连续 {rule.quarters} 个季度等级达到 {rule.bands[-1]} 及以上："
                            f"{_grades(history, rule.quarters)}，可移出黑榜")
        return "black", (f"尚未连续 {rule.quarters} 个季度达到 {rule.bands[-1]} 级及以上，"
                         "保留黑榜")
    rule = model.red
    barred = [e for e in events_now if e.kind in rule.barred_events]
    bar = (f"有效期内有{model.event_label(barred[-1].kind)}记录（{barred[-1].on:%Y-%m-%d}，"
           f"{barred[-1].doc_no}）") if barred else ""
    latest = history[-1] if history else None
    if current == "red":  # staying needs the grade, not the streak (and no barred event)
        if latest is not None and latest.band in rule.bands and not barred:
            return "red", (f"{latest.period.label}等级 {latest.band}（{latest.total:g} 分），"
                           "保持红榜")
        if barred:
            return "none", f"{bar}，建议移出红榜"
        now = f"{latest.period.label}等级 {latest.band or '不评级'}" if latest else "本季度无评价"
        return "none", f"{now}，低于 {rule.bands[-1]}，建议移出红榜"
    if _streak(history, rule.bands, rule.quarters, rule.full_sample):
        grades = (f"连续 {rule.quarters} 个季度等级为 {'/'.join(rule.bands)}："
                  f"{_grades(history, rule.quarters)}")
        if not barred:
            return "red", grades
        return "none", f"虽{grades}，但{bar}，不列入红榜"
    return "none", "未达到列入红榜或黑榜的条件"


def flags(model: Model, ev: Evaluation) -> dict[int, list[str]]:
    """What a meeting should notice: a red-listed subject whose score or a rate is among the
    worst ``worst_share`` in the latest quarter, a black-listed one whose performance has
    improved (pure, over ``ev``)."""
    p = ev.period
    latest = {sid: s for (sid, q), s in ev.scores.items() if q == p and s.band}
    n = len(latest)
    out: dict[int, list[str]] = {}
    if not n:
        return out
    k = max(1, math.ceil(n * model.worst_share))
    what = SUBJECTS[model.subject]
    worst_score = sorted(s.total for s in latest.values())[k - 1]
    worst: dict[str, tuple[float, int]] = {}
    for item in model.items:
        vals = sorted((ln.value for s in latest.values()
                       if (ln := s.line(item.key)) and ln.counted and ln.value is not None),
                      reverse=True)
        if len(vals) >= 2 and item.part == "cases":
            worst[item.key] = (vals[min(k, len(vals)) - 1], len(vals))
    share = f"{model.worst_share:.0%}"
    for sid, s in latest.items():
        status = ev.status.get(sid, "none")
        if status == "red":
            bad = []
            if s.total <= worst_score:
                bad.append(f"得分 {s.total:g}")
            for item in model.items:
                ln = s.line(item.key)
                if item.key in worst and ln and ln.counted and ln.value is not None \
                        and ln.value >= worst[item.key][0] and ln.value > 0:
                    bad.append(f"{item.label} {ln.value:g}{'%' if item.unit == '%' else ''}")
            if bad:
                out.setdefault(sid, []).append(
                    f"红榜{what}，但{p.label}{'、'.join(bad)}处于全市最差的 {share}（共 {n} 家），"
                    "请核实是否仍宜保留红榜")
        elif status == "black":
            earlier = [x for q in ev.periods[:-1] if (x := ev.scores.get((sid, q))) is not None]
            low = min(earlier, key=lambda x: x.performance, default=None)
            if (s.performance >= model.improved_performance and low is not None
                    and s.performance > low.performance):
                out.setdefault(sid, []).append(
                    f"黑榜{what}，{p.label}履约表现（不计记录事项）{s.performance:g} 分，"
                    f"较{low.period.label}的 {low.performance:g} 分明显改善，可安排复核")
    return out


# --- evaluation ------------------------------------------------------------------------------

def _latest(subject: str) -> str:
    """SQL: each ``subject``'s latest list decision that stands (:data:`_DECIDED_BY`); of
    ``:sid`` only when it is not NULL. :func:`current_status` and :func:`lists` read it."""
    col = SUBJECT_COLUMN[subject]
    return f"""
        SELECT DISTINCT ON ({col}) {col} AS subject_id, status, decided_on, reason, doc_no,
               basis, period, recorded_by
        FROM credit_list_changes WHERE subject = :s AND {_DECIDED_BY}
          AND (CAST(:sid AS integer) IS NULL OR {col} = :sid)
        ORDER BY {col}, decided_on DESC, id DESC"""


def current_status(con: sa.Connection, subject: str, period: Period | None = None,
                   subject_id: int | None = None) -> dict[int, dict[str, Any]]:
    """The latest list decision per subject (status, date, reason, document, basis, period);
    of ``subject_id`` only, when given.

    With ``period``, the lists as they stood when that quarter was decided: decisions on it
    or an earlier quarter, and decisions of the bureau's own taken before the next quarter
    ended.
    """
    rows = con.execute(sa.text(_latest(subject)),
                       {"s": subject, "sid": subject_id, **_decided_by(period)}).mappings().all()
    return {int(r["subject_id"]): dict(r) for r in rows}


#: The list decisions that stand for a quarter (:func:`_decided_by`'s parameters): those on
#: it or an earlier quarter, and the bureau's own taken before the next quarter ended.
_DECIDED_BY = """(CAST(:p AS text) IS NULL OR period <= :p
               OR (period IS NULL AND decided_on <= CAST(:d AS date)))"""


def _decided_by(period: Period | None) -> dict[str, Any]:
    return {"p": str(period) if period else None,
            "d": period.shift(1).end if period else None}


def _decided(con: sa.Connection, subject: str, period: Period) -> set[int]:
    col = SUBJECT_COLUMN[subject]
    return set(con.execute(sa.text(
        f"SELECT DISTINCT {col} FROM credit_list_changes WHERE subject = :s AND period = :p"),
        {"s": subject, "p": str(period)}).scalars())


def data_start(con: sa.Connection) -> dt.date | None:
    """The day of the earliest case (Kaili time): quarters before it are not evaluated."""
    first = con.execute(sa.text("SELECT min(received_at) FROM cases")).scalar()
    return first.astimezone(measures.TZ).date() if first is not None else None


def first_full_quarter(start: dt.date) -> Period:
    """The first quarter that begins on or after ``start``."""
    p = Period.of(start)
    return p if p.start >= start else p.shift(1)


def covered_periods(con: sa.Connection, cutoff: dt.date | None = None,
                    limit: int = 40) -> list[Period]:
    """The quarters the data cover from first to last day, newest first (at most ``limit``)."""
    cutoff = cutoff or measures.cutoff_day(con)
    latest = Period.last_complete(cutoff)
    start = data_start(con)
    first = first_full_quarter(start) if start else latest
    out: list[Period] = []
    p = latest
    while p >= first and len(out) < limit:
        out.append(p)
        p = p.shift(-1)
    return out


def evaluate(con: sa.Connection, subject: str, period: Period | None = None, *,
             model: Model | None = None, cutoff: dt.date | None = None) -> Evaluation:
    """Score every subject of ``subject`` kind for the model's history of quarters up to
    ``period`` (default: the latest complete quarter at the cut-off day), with proposals
    and flags."""
    model = model or load(subject)
    cutoff = cutoff or measures.cutoff_day(con)
    period = period or Period.last_complete(cutoff)
    start = data_start(con)
    # A quarter the data do not cover from its first day would look better than it was.
    periods = [p for p in period.back(model.history_quarters) if start is None or p.start >= start]
    if not periods or period.end > cutoff:
        first = first_full_quarter(start) if start else period
        raise CreditInputError(
            f"无法评价{period.label}：数据从 {start or '—'} 起、截至 {cutoff:%Y-%m-%d}，"
            f"只能评价完整覆盖的季度（{first} 至 {Period.last_complete(cutoff)}）。")
    subjects, facts = SOURCES[subject](con, model, periods, cutoff)
    scores = {key: score(model, f) for key, f in facts.items()}
    ev = Evaluation(model, subject, periods, cutoff, subjects, facts, scores)
    ev.status = {sid: r["status"] for sid, r in current_status(con, subject, period).items()}
    decided = _decided(con, subject, period)
    for sid in subjects:
        current = ev.status.get(sid, "none")
        f = facts.get((sid, period))
        now = valid_events(model, f.events, period) if f else []
        status, reason = propose(model, ev.history(sid), current, now)
        ev.proposals[sid] = Proposal(status, reason, current,
                                     status != current and sid not in decided)
    ev.flags = flags(model, ev)
    return ev


# --- history: reading -----------------------------------------------------------------------

def lists(con: sa.Connection, subject: str = "firm",
          period: Period | None = None) -> pd.DataFrame:
    """The current red and black lists of ``subject`` kind, for the briefing and the pages:
    ``编号, 名称, 红黑榜, 列入日期, 理由, 文号, 依据`` (best first: red, then black).

    With ``period``, the lists as they stood when that quarter was decided (the statuses
    :func:`current_status` gives for it, which :func:`evaluate` shows for the quarter): what
    the joint meeting's briefing of the quarter prints.
    """
    name = ("(SELECT name FROM property_firms WHERE id = d.subject_id)" if subject == "firm"
            else "(SELECT name || '业主委员会' FROM compounds WHERE id = d.subject_id)")
    df = pd.DataFrame(con.execute(sa.text(f"""
        WITH d AS ({_latest(subject)})
        SELECT d.subject_id, {name} AS name, d.status, d.decided_on, d.reason, d.doc_no, d.basis
        FROM d WHERE d.status <> 'none'
        ORDER BY d.status = 'black', d.decided_on DESC, d.subject_id
    """), {"s": subject, "sid": None, **_decided_by(period)}).fetchall(),
        columns=["subject_id", "name", "status", "decided_on", "reason", "doc_no", "basis"])
    df["status"] = df["status"].map(LIST_STATUSES)
    df["basis"] = df["basis"].map(BASES)
    return df.rename(columns={"subject_id": "编号", "name": "名称", "status": "红黑榜",
                              "decided_on": "列入日期", "reason": "理由", "doc_no": "文号",
                              "basis": "依据"})


def history(con: sa.Connection, subject: str, subject_id: int) -> dict[str, pd.DataFrame]:
    """A subject's credit history, newest first: ``ratings`` (published), ``lists`` (every
    decision) and ``events`` (every record, withdrawn ones marked)."""
    col = SUBJECT_COLUMN[subject]
    p = {"s": subject, "i": subject_id}
    ratings = pd.DataFrame(con.execute(sa.text(f"""
        SELECT coalesce(period, '（迁移前）') AS period, score, band, recorded_at::date AS on,
               recorded_by, note
        FROM credit_ratings WHERE subject = :s AND {col} = :i
        ORDER BY period DESC NULLS LAST, id DESC"""), p).fetchall(),
        columns=["季度", "得分", "等级", "发布日期", "发布人", "说明"]).fillna({"说明": ""})
    changes = pd.DataFrame(con.execute(sa.text(f"""
        SELECT decided_on, previous, status, basis, period, proposed, reason, doc_no, recorded_by
        FROM credit_list_changes WHERE subject = :s AND {col} = :i
        ORDER BY decided_on DESC, id DESC"""), p).fetchall(),
        columns=["决定日期", "原状态", "新状态", "依据", "对应季度", "系统建议", "理由", "文号",
                 "记录人"]).fillna({"对应季度": "", "文号": ""})
    for c in ("原状态", "新状态", "系统建议"):
        changes[c] = changes[c].map(lambda v: LIST_STATUSES.get(v, "") if v else "")
    changes["依据"] = changes["依据"].map(BASES)
    events = pd.DataFrame(con.execute(sa.text(f"""
        SELECT e.occurred_on, e.kind, e.reason, e.doc_no, e.recorded_by,
               w.occurred_on AS withdrawn_on, w.reason AS withdrawn_why
        FROM credit_events e LEFT JOIN credit_events w ON w.withdraws = e.id
        WHERE e.subject = :s AND e.{col} = :i AND e.kind <> 'withdrawal'
        ORDER BY e.occurred_on DESC, e.id DESC"""), p).fetchall(),
        columns=["日期", "事项", "事由", "文号", "记录人", "撤销日期", "撤销理由"]).fillna(
            {"撤销理由": ""})
    model = load(subject)
    events["事项"] = events["事项"].map(model.event_label)
    return {"ratings": ratings, "lists": changes, "events": events}


def event_ids(con: sa.Connection, subject: str, subject_id: int) -> pd.DataFrame:
    """The subject's events in force (``id, 日期, 事项, 文号``), for choosing one to withdraw."""
    col = SUBJECT_COLUMN[subject]
    model = load(subject)
    rows = con.execute(sa.text(f"""
        SELECT e.id, e.occurred_on, e.kind, e.doc_no FROM credit_events e
        WHERE e.subject = :s AND e.{col} = :i AND e.kind <> 'withdrawal'
          AND NOT EXISTS (SELECT 1 FROM credit_events w WHERE w.withdraws = e.id)
        ORDER BY e.occurred_on DESC, e.id DESC"""), {"s": subject, "i": subject_id}).all()
    return pd.DataFrame([(r.id, r.occurred_on, model.event_label(r.kind), r.doc_no)
                         for r in rows], columns=["id", "日期", "事项", "文号"])


# --- history: writing (appended, audited) ----------------------------------------------------

def _today() -> dt.date:
    return measures.today()


def _subject_ok(con: sa.Connection, subject: str, subject_id: int) -> bool:
    if subject == "firm":
        return bool(con.execute(sa.text("SELECT 1 FROM property_firms WHERE id = :i"),
                                {"i": subject_id}).first())
    return committees.exists(con, subject_id)


def _check(problems: list[str]) -> None:
    if problems:
        raise CreditInputError("无法保存：" + "；".join(problems) + "。")


def _text(value: str | None) -> str:
    return mask_text(" ".join((value or "").split())) or ""


def _ids(subject: str, subject_id: int) -> dict[str, Any]:
    return {"s": subject, "firm": subject_id if subject == "firm" else None,
            "compound": subject_id if subject == "committee" else None}


def _common(con: sa.Connection, subject: str, subject_id: int, on: dt.date,
            reason: str, problems: list[str], *, today: dt.date | None = None) -> None:
    if subject not in SUBJECTS:
        problems.append(f"对象类型应为 {'、'.join(SUBJECTS)}")
    elif not _subject_ok(con, subject, subject_id):
        problems.append(f"没有编号为 {subject_id} 的{SUBJECTS[subject]}（或不在您的范围内）")
    if on > (today or _today()):
        problems.append(f"日期 {on:%Y-%m-%d} 晚于今天，不能记录将来的事项")
    if on < dt.date(2000, 1, 1):
        problems.append(f"日期 {on:%Y-%m-%d} 过早，请检查")
    if len(reason) < 4:
        problems.append("请写明理由（至少 4 个字）")


def record_event(con: sa.Connection, subject: str, subject_id: int, kind: str, on: dt.date,
                 reason: str, doc_no: str, *, by: str, model: Model | None = None,
                 today: dt.date | None = None) -> int:
    """Append an event (award, penalty …) of a subject; returns its id. Audited.

    Raises
    ------
    CreditInputError
        Naming every problem: unknown kind or subject, a date in the future, no reason, no
        document number.
    """
    model = model or load(subject if subject in SUBJECTS else "firm")
    reason, doc_no = _text(reason), _text(doc_no)
    problems: list[str] = []
    if kind not in model.events:
        problems.append(f"事项应为：{'、'.join(e.label for e in model.events.values())}")
    _common(con, subject, subject_id, on, reason, problems, today=today)
    if not doc_no:
        problems.append("请填写文号（处罚决定书、表彰文件或通报的文号）")
    _check(problems)
    new_id = int(con.execute(sa.text("""
        INSERT INTO credit_events (subject, firm_id, compound_id, kind, occurred_on, reason,
                                   doc_no, recorded_by)
        VALUES (:s, :firm, :compound, :k, :on, :r, :d, :by) RETURNING id"""),
        {**_ids(subject, subject_id), "k": kind, "on": on, "r": reason, "d": doc_no,
         "by": by}).scalar_one())
    auth.audit(con, "write", {"what": "credit_event", "id": new_id, "subject": subject,
                              "subject_id": subject_id, "kind": kind, "on": on,
                              "doc_no": doc_no}, account=by)
    return new_id


def withdraw_event(con: sa.Connection, event_id: int, on: dt.date, reason: str, doc_no: str, *,
                   by: str, today: dt.date | None = None) -> int:
    """Withdraw a mistaken event by appending a withdrawal (the event itself stays on record)."""
    row = con.execute(sa.text(
        "SELECT subject, coalesce(firm_id, compound_id) AS sid, kind, "
        "EXISTS (SELECT 1 FROM credit_events w WHERE w.withdraws = e.id) AS gone "
        "FROM credit_events e WHERE id = :i"), {"i": event_id}).first()
    reason, doc_no = _text(reason), _text(doc_no)
    problems: list[str] = []
    if row is None or row.kind == "withdrawal":
        _check([f"没有编号为 {event_id} 的记录事项"])
    assert row is not None
    if row.gone:
        problems.append("该记录已撤销过")
    _common(con, row.subject, int(row.sid), on, reason, problems, today=today)
    if not doc_no:
        problems.append("请填写撤销决定的文号")
    _check(problems)
    new_id = int(con.execute(sa.text("""
        INSERT INTO credit_events (subject, firm_id, compound_id, kind, occurred_on, reason,
                                   doc_no, withdraws, recorded_by)
        VALUES (:s, :firm, :compound, 'withdrawal', :on, :r, :d, :w, :by) RETURNING id"""),
        {**_ids(row.subject, int(row.sid)), "on": on, "r": reason, "d": doc_no,
         "w": event_id, "by": by}).scalar_one())
    auth.audit(con, "write", {"what": "credit_event_withdrawal", "id": new_id,
                              "withdraws": event_id, "doc_no": doc_no}, account=by)
    return new_id


def record_list_change(con: sa.Connection, subject: str, subject_id: int, status: str,
                       reason: str, *, by: str, basis: str = "manual",
                       period: Period | None = None, proposed: str | None = None,
                       doc_no: str | None = None, decided_on: dt.date | None = None,
                       today: dt.date | None = None) -> int:
    """Append a decision on a subject's list status; returns its id. Audited.

    ``basis`` is ``proposal`` (the model's proposal for ``period`` confirmed: ``status``
    must equal ``proposed``), ``override`` (the proposal for ``period`` not followed: the
    reason says why; ``status`` may be the current one, which closes the proposal) or
    ``manual`` (a decision of the bureau's own).
    """
    decided_on = decided_on or today or _today()
    reason = _text(reason)
    problems: list[str] = []
    if status not in LIST_STATUSES:
        problems.append(f"红黑榜状态应为 {'、'.join(LIST_STATUSES)}")
    if basis not in BASES or basis == "migration":
        problems.append("依据应为 proposal（采纳建议）、override（改判）或 manual（直接认定）")
    _common(con, subject, subject_id, decided_on, reason, problems, today=today)
    previous = current_status(con, subject, subject_id=subject_id).get(
        subject_id, {}).get("status", "none") if subject in SUBJECTS else "none"
    if basis in ("proposal", "override") and (period is None or proposed is None):
        problems.append("采纳或改判须注明对应季度和系统建议")
    if basis == "proposal" and proposed is not None and status != proposed:
        problems.append("采纳建议时，新状态应与系统建议一致；不一致请选择改判并说明理由")
    if basis == "override" and proposed is not None and status == proposed:
        problems.append("新状态与系统建议一致，请选择采纳建议")
    if basis != "override" and status == previous:
        problems.append(f"当前已是“{LIST_STATUSES.get(status, status)}”，状态没有变化")
    _check(problems)
    new_id = int(con.execute(sa.text("""
        INSERT INTO credit_list_changes (subject, firm_id, compound_id, status, previous, basis,
            period, proposed, reason, doc_no, decided_on, recorded_by)
        VALUES (:s, :firm, :compound, :st, :prev, :b, :p, :pr, :r, :d, :on, :by)
        RETURNING id"""),
        {**_ids(subject, subject_id), "st": status, "prev": previous, "b": basis,
         "p": str(period) if period else None, "pr": proposed, "r": reason,
         "d": _text(doc_no) or None, "on": decided_on, "by": by}).scalar_one())
    auth.audit(con, "write", {"what": "credit_list_change", "id": new_id, "subject": subject,
                              "subject_id": subject_id, "from": previous, "to": status,
                              "basis": basis, "period": str(period) if period else None},
               account=by)
    return new_id


def parts_of(s: Score) -> dict[str, Any]:
    """A score's parts and lines as JSON-ready data (stored with a published rating)."""
    return {"parts": {p: s.part(p) for p in ("cases", "hazards", "governance", "events")},
            "performance": s.performance,
            "lines": [{"key": ln.key, "value": ln.value, "points": ln.points,
                       "counted": ln.counted, "text": ln.text} for ln in s.lines]}


def publish(con: sa.Connection, ev: Evaluation, *, by: str, note: str | None = None) -> int:
    """Publish the ratings of ``ev``'s period (one appended row per rated subject); returns
    the number of rows. A period published before needs a ``note`` saying why again."""
    period = ev.period
    again = con.execute(sa.text("SELECT count(*) FROM credit_ratings WHERE subject = :s "
                                "AND period = :p"), {"s": ev.subject, "p": str(period)}).scalar()
    note = _text(note)
    if again and len(note) < 4:
        raise CreditInputError(f"{period.label}的评价已发布过；重新发布请写明理由（至少 4 个字）。")
    rows = [{**_ids(ev.subject, sid), "p": str(period), "score": s.total, "band": s.band,
             "parts": json.dumps(parts_of(s), ensure_ascii=False), "v": ev.model.version,
             "n": note or None, "by": by}
            for sid in ev.subjects if (s := ev.score(sid)) is not None and s.band]
    if rows:
        con.execute(sa.text("""
            INSERT INTO credit_ratings (subject, firm_id, compound_id, period, score, band,
                                        parts, model_version, note, recorded_by)
            VALUES (:s, :firm, :compound, :p, :score, :band, CAST(:parts AS jsonb), :v, :n, :by)
        """), rows)
    auth.audit(con, "write", {"what": "credit_ratings", "subject": ev.subject,
                              "period": str(period), "rows": len(rows),
                              "model_version": ev.model.version}, account=by)
    return len(rows)


def published(con: sa.Connection, subject: str) -> dict[int, dict[str, Any]]:
    """The latest published rating per subject (``period, score, band``)."""
    col = SUBJECT_COLUMN[subject]
    rows = con.execute(sa.text(f"""
        SELECT DISTINCT ON ({col}) {col} AS subject_id, period, score, band
        FROM credit_ratings WHERE subject = :s
        ORDER BY {col}, period DESC NULLS LAST, id DESC"""), {"s": subject}).mappings().all()
    return {int(r["subject_id"]): dict(r) for r in rows}


def find_firm(con: sa.Connection, text: str) -> tuple[int, str]:
    """The firm named (or numbered) ``text``: an exact name, an id, or a unique part of a name.

    Raises
    ------
    CreditInputError
        No firm, or several, match (the message lists them).
    """
    text = text.strip()
    if text.isdigit():
        row = con.execute(sa.text("SELECT id, name FROM property_firms WHERE id = :i"),
                          {"i": int(text)}).first()
        if row:
            return int(row.id), row.name
    rows = con.execute(sa.text(
        "SELECT id, name FROM property_firms WHERE name = :t OR strpos(name, :t) > 0 "
        "ORDER BY name = :t DESC, name"), {"t": text}).all()
    if rows and rows[0].name == text:
        return int(rows[0].id), rows[0].name
    if len(rows) == 1:
        return int(rows[0].id), rows[0].name
    if not rows:
        raise CreditInputError(f"没有名称含“{text}”的物业服务企业")
    raise CreditInputError(f"有 {len(rows)} 家企业名称含“{text}”："
                           + "、".join(r.name for r in rows[:10]) + "；请写得更完整")


def summary(ev: Evaluation) -> Mapping[str, int]:
    """Counts per grade and list for the latest period (the briefing's one-line summary)."""
    out: dict[str, int] = {b.band: 0 for b in ev.model.bands}
    out["不评级"] = 0
    for sid in ev.subjects:
        s = ev.score(sid)
        out[s.band if s and s.band else "不评级"] += 1
    for st in ("red", "black"):
        out[LIST_STATUSES[st]] = sum(1 for v in ev.status.values() if v == st)
    out["待决定"] = len(ev.pending())
    return out
