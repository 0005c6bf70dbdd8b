"""Progress of the street offices' work over a period: 三无 taken over, committees, hazards.

The joint meeting asks, per street office and for the city: how many 三无
compounds there were at the start of the period, how many were taken over,
how many left 三无 and how many are still open (三无，未托管); what share of
the compounds that should have an owners' committee have one, and how many
committees are past their term; how many hazards were found, rectified on
time, or overdue. Every figure is defined once, in :mod:`geo.measures`
(``PROGRESS``), and computed here from the histories in one query: the
compounds' states on the day before the period and on its last day come from
``compound_states_on`` (the history folded to those days), so a record made
today moves the figures at once, and a record dated last month moves last
month's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import sqlalchemy as sa

from geo import history, measures
from geo.measures import (
    committee_eligible,
    committee_formed,
    committee_missing,
    committee_overdue,
    hazard_closed_on_time,
    hazard_found_in_period,
    hazard_late,
    sanwu,
    sanwu_in_custody,
    sanwu_untaken,
)
from layers.base import frame
from layers.filters import Filters

#: The counted figures (the rate is computed from two of them).
COUNTS = tuple(p.key for p in measures.PROGRESS if p.key != "committee_rate")

_AREA = ("(CAST(:f_street AS text) IS NULL OR x.street_code = :f_street) AND "
         "(CAST(:f_community AS integer) IS NULL OR x.community_id = :f_community)")

SQL = f"""
WITH s AS (
    SELECT s.*, x.street_code, x.households
    FROM compound_states_on(ARRAY[CAST(:d_before AS date), CAST(:p_end AS date)]) s
    JOIN compounds x ON x.id = s.compound_id
    WHERE {_AREA}
), b AS (SELECT * FROM s WHERE day = :d_before), e AS (SELECT * FROM s WHERE day = :p_end),
c AS (
    SELECT coalesce(e.street_code, b.street_code) AS street_code,
           count(*) FILTER (WHERE {sanwu("b")}) AS sanwu_start,
           count(*) FILTER (WHERE {sanwu("b")} AND NOT coalesce({sanwu("e")}, false))
               AS left_sanwu,
           count(*) FILTER (WHERE {sanwu("e")}) AS sanwu_end,
           count(*) FILTER (WHERE {sanwu_untaken("e")}) AS untaken_end,
           count(*) FILTER (WHERE {sanwu_in_custody("e")}) AS custody_end,
           count(*) FILTER (WHERE {committee_eligible("e")}) AS eligible,
           count(*) FILTER (WHERE {committee_eligible("e")} AND {committee_formed("e")})
               AS committees,
           count(*) FILTER (WHERE {committee_overdue("e")}) AS committee_overdue,
           count(*) FILTER (WHERE {committee_missing("e")}) AS committee_missing
    FROM b FULL JOIN e ON e.compound_id = b.compound_id
    GROUP BY 1
), t AS (
    SELECT x.street_code, count(DISTINCT v.compound_id) AS taken_over
    FROM compound_events v JOIN compounds x ON x.id = v.compound_id
    WHERE v.kind = 'takeover' AND v.applied AND v.on_date BETWEEN :p_start AND :p_end
      AND {_AREA}
    GROUP BY 1
), z AS (
    SELECT x.street_code, count(*) AS hazards_found,
           count(*) FILTER (WHERE {hazard_closed_on_time("h")}) AS hazards_on_time,
           count(*) FILTER (WHERE {hazard_late("h")}) AS hazards_late
    FROM hazards h JOIN compounds x ON x.id = h.compound_id
    WHERE {hazard_found_in_period("h")} AND {_AREA}
    GROUP BY 1
)
SELECT st.code AS street_code, st.name AS street,
       {", ".join(f"coalesce({k}, 0) AS {k}" for k in COUNTS)}
FROM streets st LEFT JOIN c ON c.street_code = st.code LEFT JOIN t ON t.street_code = st.code
LEFT JOIN z ON z.street_code = st.code
WHERE (CAST(:f_street AS text) IS NULL OR st.code = :f_street)
ORDER BY st.code
"""


def period_end(f: Filters) -> dt.date:
    """The last day the progress figures count: ``f.end``, or today when the period runs
    to the data's cut-off day.

    The cut-off day is the day of the last case import (or the demo's date); records
    of the street offices and rectification steps are made every day, so a period that
    runs to the cut-off ("the last 90 days") runs to today for them, and a record made
    today counts at once.
    """
    return max(f.end, measures.today()) if f.end >= f.as_of else f.end


def params(f: Filters) -> dict[str, Any]:
    """Bind parameters: the period of ``f`` (to :func:`period_end`), its area, the threshold."""
    cm = history.committee_settings()["eligible_min_households"]
    return {**f.params(), **measures.progress_params(f.start, period_end(f), cm),
            "d_before": f.start - dt.timedelta(days=1)}


def by_street(con: sa.Connection, f: Filters) -> pd.DataFrame:
    """Each street office's (and town's) progress figures over ``f``'s period (codes as columns).

    Rows for street offices outside the scope come back with zeros (row-level security
    hides their compounds); pages show only the streets the account may see.
    """
    df = frame(con, SQL, params(f))
    for k in COUNTS:
        df[k] = df[k].astype("int64")
    df["committee_rate"] = rate(df["committees"], df["eligible"])
    return df


def rate(num: pd.Series | int, den: pd.Series | int) -> Any:
    """业委会组建率 in percent, one decimal (``None`` where nothing should have one)."""
    if isinstance(num, pd.Series):
        assert isinstance(den, pd.Series)
        return [None if d == 0 else round(100.0 * n / d, 1) for n, d in
                zip(num, den, strict=True)]
    return None if not den else round(100.0 * num / den, 1)


def totals(df: pd.DataFrame) -> dict[str, Any]:
    """The figures summed over the rows of :func:`by_street` (the city, or one area)."""
    out: dict[str, Any] = {k: int(df[k].sum()) for k in COUNTS}
    out["committee_rate"] = rate(out["committees"], out["eligible"])
    return out


def table(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`by_street` with Chinese headers, for a page and an export."""
    cols = {"street": "街道/镇", **{p.key: p.label for p in measures.PROGRESS}}
    out = df.rename(columns=cols)[list(cols.values())]
    return out.rename(columns={"业委会组建率": "业委会组建率%"})


def month_ends(start: dt.date, end: dt.date) -> list[dt.date]:
    """The last day of every month from ``start`` to ``end`` (``end`` itself last)."""
    days: list[dt.date] = []
    d = dt.date(start.year, start.month, 1)
    while d <= end:
        nxt = dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1)
        days.append(min(nxt - dt.timedelta(days=1), end))
        d = nxt
    return days


MONTHLY_SQL = f"""
WITH s AS (
    SELECT s.*, x.households
    FROM compound_states_on(CAST(:days AS date[])) s JOIN compounds x ON x.id = s.compound_id
    WHERE {_AREA}
), c AS (
    SELECT day, count(*) FILTER (WHERE {sanwu_untaken("s")}) AS untaken,
           count(*) FILTER (WHERE {sanwu_in_custody("s")}) AS custody,
           count(*) FILTER (WHERE {committee_eligible("s")} AND {committee_formed("s")})
               AS committees,
           count(*) FILTER (WHERE {committee_overdue("s", "s.day")}) AS committee_overdue
    FROM s GROUP BY day
), m AS (SELECT d AS day, date_trunc('month', d)::date AS first FROM unnest(CAST(:days AS date[])) d
), z AS (
    SELECT m.day, count(*) FILTER (WHERE h.found_on BETWEEN greatest(m.first, :p_start) AND m.day)
               AS found,
           count(*) FILTER (WHERE h.closed_on BETWEEN greatest(m.first, :p_start) AND m.day)
               AS rectified
    FROM m CROSS JOIN hazards h JOIN compounds x ON x.id = h.compound_id
    WHERE {_AREA} AND h.found_on <= :p_end
    GROUP BY m.day
)
SELECT m.day, coalesce(c.untaken, 0) AS untaken, coalesce(c.custody, 0) AS custody,
       coalesce(c.committees, 0) AS committees,
       coalesce(c.committee_overdue, 0) AS committee_overdue,
       coalesce(z.found, 0) AS found, coalesce(z.rectified, 0) AS rectified
FROM m LEFT JOIN c ON c.day = m.day LEFT JOIN z ON z.day = m.day ORDER BY m.day
"""

MONTHLY_HEADERS = {"untaken": "三无未托管", "custody": "三无已托管", "committees": "已建业委会",
                   "committee_overdue": "到期未换届", "found": "当月发现隐患",
                   "rectified": "当月整改完成"}


def monthly(con: sa.Connection, f: Filters) -> pd.DataFrame:
    """The trend by month over ``f``'s period and area: states at each month's end, hazards
    found and rectified within each month (``day`` is the month's last day, or the period's)."""
    days = month_ends(f.start, period_end(f))
    df = frame(con, MONTHLY_SQL, {**params(f), "days": days})
    for k in MONTHLY_HEADERS:
        df[k] = df[k].astype("int64")
    return df


#: The 三无 and owners' committee figures the joint meeting reviews (会议展示's 三无与业委会
#: item and the briefing's table), in this order.
MEETING = ("sanwu_start", "taken_over", "left_sanwu", "untaken_end", "custody_end",
           "eligible", "committees", "committee_rate", "committee_overdue", "committee_missing")


def sanwu_and_committees(con: sa.Connection, f: Filters) -> pd.DataFrame:
    """The meeting's 三无 and owners' committee table over ``f``'s period: one row per street
    office or town that has compounds (the work still open first), and a 全市 row last.

    The same figures as the 工作进展 page (:func:`by_street`, :func:`totals`): the
    compounds' recorded histories, not the register's present state. Chinese headers.
    """
    df = by_street(con, f)
    df = df[(df[["sanwu_start", "sanwu_end", "eligible"]].sum(axis=1) > 0)]
    df = df.sort_values(["untaken_end", "sanwu_start", "street_code"],
                        ascending=[False, False, True])
    total = {"street": "全市", **totals(df)}
    out = pd.concat([df, pd.DataFrame([total])], ignore_index=True)
    labels = {p.key: p.label for p in measures.PROGRESS}
    cols = {"street": "街道/镇", **{k: labels[k] for k in MEETING}}
    out = out.rename(columns=cols)[list(cols.values())]
    return out.rename(columns={"业委会组建率": "业委会组建率%"})
