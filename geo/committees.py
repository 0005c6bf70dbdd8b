"""Owners' committees (业主委员会) as credit subjects: who they are and what they did.

Everything the credit model needs to know about committees comes through this
module, so that it can be pointed at a better source without touching the
scoring. Two halves:

- **pure functions** over a small input (:class:`Committee`: the compound,
  households, its successive terms of office, the meetings it held) that say,
  per quarter, whether it met and whether its term had run out without
  renewal (:func:`governance`), and turn that and the case counts into the
  :class:`~geo.credit_model.Facts` the model scores (:func:`facts`);
- **the source** (:func:`from_register`): what the database holds today. The
  compound register only says whether a compound has an established committee
  (``compounds.owners_committee = 'established'``), with no dates and no
  meetings, so each such compound is one committee (its id is the compound's),
  its terms and meetings are unknown, and the model's duty lines say
  "资料缺失，不计分". Issue 9's dated management history (formation, terms,
  renewals) replaces :func:`from_register`: build :class:`Committee` rows with
  ``terms`` and ``meetings`` from it, and nothing else changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from geo import credit_counts
from geo.credit_model import Event, Facts, Model, Period

#: The compounds of each committee (``subject_id, compound_id, households``).
ATTRIBUTION = """
SELECT x.id AS subject_id, x.id AS compound_id, coalesce(x.households, 0) AS households
FROM compounds x WHERE x.owners_committee = 'established'
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

def from_register(con: sa.Connection) -> list[Committee]:
    """The committees the compound register knows (one per compound with an established
    committee; terms and meetings unknown)."""
    rows = con.execute(sa.text("""
        SELECT x.id, x.name, coalesce(x.households, 0) AS households, x.street_code,
               x.community_id
        FROM compounds x WHERE x.owners_committee = 'established' ORDER BY x.id
    """)).all()
    return [Committee(int(r.id), int(r.id), f"{r.name}业主委员会", int(r.households),
                      r.street_code, r.community_id) for r in rows]


def load_facts(con: sa.Connection, model: Model, periods: Sequence[Period],
               cutoff: dt.date) -> tuple[list[Committee], dict[tuple[int, Period], Facts]]:
    """The committees and their facts for ``periods`` from the database."""
    committees = from_register(con)
    counts = credit_counts.case_counts(con, ATTRIBUTION, {}, model.categories, periods, cutoff)
    return committees, facts(committees, counts, periods, cutoff,
                             credit_counts.events(con, "committee"))


def exists(con: sa.Connection, committee_id: int) -> bool:
    """Whether ``committee_id`` is a committee the source knows."""
    return bool(con.execute(sa.text(
        "SELECT 1 FROM compounds WHERE id = :i AND owners_committee = 'established'"),
        {"i": committee_id}).first())
