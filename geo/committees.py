"""Owners' committees (业主委员会) as credit subjects: who they are and what they did.

Everything the credit model needs to know about committees comes through this
module, so that it can be pointed at a better source without touching the
scoring. Two halves:

- **pure functions** over a small input (:class:`Committee`: the compound,
  households, its successive terms of office, the meetings it held) that say,
  per quarter, whether it met and whether its term had run out without
  renewal (:func:`governance`), and turn that and the case counts into the
  :class:`~geo.credit_model.Facts` the model scores (:func:`facts`);
- **the source** (:func:`from_history`): the compounds whose current state
  (folded from their management history, ``compound_events``, see
  :mod:`geo.history`) has an elected committee, by the one condition
  :func:`geo.measures.committee_formed` that the progress pages, the owners'
  committee list and the coverage figures use too. Each such compound is one
  committee (its id is the compound's). Its terms are the dated formations and
  renewals (成立业主大会/业主委员会, 业委会换届, each with its term's end) since
  the compound last had no elected committee; a committee known only from a
  register statement has unknown terms, and meetings are not recorded yet, so
  the model's duty lines say "资料缺失，不计分" for what is unknown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from geo import credit_counts, measures
from geo.credit_model import Event, Facts, Model, Period

#: The compounds of each committee (``subject_id, compound_id, households``).
ATTRIBUTION = f"""
SELECT x.id AS subject_id, x.id AS compound_id, coalesce(x.households, 0) AS households
FROM compounds x WHERE {measures.committee_formed("x")}
"""


@dataclass(frozen=True)
class Term:
    """One term of office of a committee: elected (or renewed) on ``start``, ends ``end``."""

    start: dt.date
    end: dt.date


@dataclass(frozen=True)
class Committee:
    """An owners' committee as the credit model sees it.

    ``terms`` (oldest first) and ``meetings`` are ``None`` when unknown, which
    is not the same as none: an unknown costs nothing, an empty list of
    meetings costs the missing meetings.
    """

    id: int
    compound_id: int
    name: str
    households: int
    street_code: str | None = None
    community_id: int | None = None
    terms: tuple[Term, ...] | None = None
    meetings: tuple[dt.date, ...] | None = None


def in_force(c: Committee, day: dt.date) -> Term | None:
    """The term that started last on or before ``day`` (``None``: none known then)."""
    started = [t for t in (c.terms or ()) if t.start <= day]
    return max(started, key=lambda t: t.start) if started else None


def exists_in(c: Committee, period: Period) -> bool:
    """Whether the committee existed during ``period`` (unknown terms: assumed so)."""
    if c.terms is None:
        return True
    return any(t.start <= period.end for t in c.terms)


def governance(c: Committee, period: Period, cutoff: dt.date) -> dict[str, Any]:
    """What the committee did in ``period``, judged at the period's end (or the cut-off day
    when earlier): ``meetings`` held (``None``: unknown), ``renewal`` ``True`` when the
    term in force had ended without a new one (``None``: unknown) and that term's end."""
    day = min(period.end, cutoff)
    out: dict[str, Any] = {"meetings": None, "renewal": None, "term_end": None}
    if c.meetings is not None:
        out["meetings"] = sum(1 for d in c.meetings if period.start <= d <= day)
    if c.terms is not None:
        term = in_force(c, day)
        if term is not None:
            out["renewal"] = term.end < day
            out["term_end"] = term.end
    return out


def facts(committees: Sequence[Committee], counts: Mapping[tuple[int, Period], Mapping[str, int]],
          periods: Sequence[Period], cutoff: dt.date,
          events: Mapping[int, Sequence[Event]] | None = None
          ) -> dict[tuple[int, Period], Facts]:
    """The :class:`Facts` of every committee in every period it existed (pure)."""
    events = events or {}
    out: dict[tuple[int, Period], Facts] = {}
    for c in committees:
        for p in periods:
            if not exists_in(c, p):
                continue
            out[(c.id, p)] = Facts(c.id, c.name, p, c.households, dict(counts.get((c.id, p), {})),
                                   {}, governance(c, p, cutoff), tuple(events.get(c.id, ())))
    return out


# --- the source: what the database holds today --------------------------------------------

#: The terms of the committees in office: formations and renewals (with their term's end)
#: after the last event that left the compound without an elected committee, in the order
#: the history folds them (undated register statements first, then by date, then recorded).
_TERMS = f"""
WITH ev AS (
    SELECT e.id, e.compound_id, e.kind, e.on_date, e.term_end,
           count(*) FILTER (WHERE e.owners_committee IS DISTINCT FROM 'established') OVER (
               PARTITION BY e.compound_id ORDER BY e.on_date DESC NULLS LAST, e.id DESC
               ROWS UNBOUNDED PRECEDING) AS ended_after
    FROM compound_events e JOIN compounds x ON x.id = e.compound_id
    WHERE e.applied AND 'committee' = ANY (e.sets) AND {measures.committee_formed("x")}
)
SELECT compound_id, on_date, term_end FROM ev
WHERE ended_after = 0 AND kind IN ('committee_formed', 'committee_renewed')
  AND on_date IS NOT NULL AND term_end IS NOT NULL
ORDER BY compound_id, on_date, id
"""


def from_history(con: sa.Connection) -> list[Committee]:
    """The committees in office (one per compound whose current state has an elected
    committee), with their terms from the management history (``None``: none dated)."""
    terms: dict[int, list[Term]] = {}
    for r in con.execute(sa.text(_TERMS)):
        terms.setdefault(int(r.compound_id), []).append(Term(r.on_date, r.term_end))
    rows = con.execute(sa.text(f"""
        SELECT x.id, x.name, coalesce(x.households, 0) AS households, x.street_code,
               x.community_id
        FROM compounds x WHERE {measures.committee_formed("x")} ORDER BY x.id
    """)).all()
    return [Committee(int(r.id), int(r.id), f"{r.name}业主委员会", int(r.households),
                      r.street_code, r.community_id,
                      tuple(terms[r.id]) if r.id in terms else None) for r in rows]


def load_facts(con: sa.Connection, model: Model, periods: Sequence[Period],
               cutoff: dt.date) -> tuple[list[Committee], dict[tuple[int, Period], Facts]]:
    """The committees and their facts for ``periods`` from the database."""
    committees = from_history(con)
    counts = credit_counts.case_counts(con, ATTRIBUTION, {}, model.categories, periods, cutoff)
    return committees, facts(committees, counts, periods, cutoff,
                             credit_counts.events(con, "committee"))


def exists(con: sa.Connection, committee_id: int) -> bool:
    """Whether ``committee_id`` is a committee the source knows."""
    return bool(con.execute(sa.text(
        f"SELECT 1 FROM compounds x WHERE x.id = :i AND {measures.committee_formed('x')}"),
        {"i": committee_id}).first())
