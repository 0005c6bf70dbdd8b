"""部门履职 and 街道排名: who is failing, by the same measures, ranked fairly.

Every case carries the lead department (牵头部门) of its category in the
classification list and the co-handling departments (配合部门) the list names
for it (``cases.co_depts``, routed at intake). The joint meeting reviews them
as it reviews the street offices: received, pending, overdue, closed late,
reopened, unsatisfied, and the median handling time against the list's time
limit. Every figure is a measure of :mod:`geo.measures`, counted in one
``GROUP BY`` in PostgreSQL.

A ranking (:func:`rank`) puts the worst first. Counts are ranked as they are;
a rate or a median only for a department or street whose cases in its
denominator reach the minimum of ``data/meeting/rules.toml``
(:func:`geo.measures.min_cases`): below it the figure is shown, marked
样本不足, and not ranked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from geo import measures
from layers import compare, facts
from layers.base import frame
from layers.filters import Filters

#: Roles a department has on a case.
ROLES = {"lead": "牵头", "co": "配合"}
#: Every count the tables carry (all of :mod:`geo.measures` but the levels).
COUNTS = tuple(k for k in measures.KEYS if not k.startswith("level_"))


@dataclass(frozen=True)
class RankKey:
    """A figure a ranking can be ordered by: its key, label, unit, and which way is worse."""

    key: str
    label: str
    unit: str
    worse_high: bool = True

    @property
    def is_rate(self) -> bool:
        return self.unit == "%"


#: What the department and street rankings can be ordered by (worst first).
RANK_KEYS: dict[str, RankKey] = {k.key: k for k in (
    RankKey("overdue", "超期件数", "件"),
    RankKey("overdue_rate", "超期率", "%"),
    RankKey("closed_late", "逾期办结件数", "件"),
    RankKey("closed_late_rate", "逾期办结率", "%"),
    RankKey("reopened", "重新办理件数", "件"),
    RankKey("reopen_rate", "重新办理率", "%"),
    RankKey("unsatisfied", "不满意件数", "件"),
    RankKey("unsatisfied_rate", "不满意率", "%"),
    RankKey("repeat_rate", "办结后再诉率", "%"),
    RankKey("median_limit_used", "时限用时比中位数", "%"),
    RankKey("pending", "待办件数", "件"),
    RankKey("received", "受理件数", "件"),
)}
#: Keys that exist for departments only (medians need the cases, streets use shared counts).
DEPARTMENT_ONLY = ("median_limit_used",)

#: A case once for its lead department and once for each co-handling department (never
#: twice for one department): two scans appended, not a lateral join per case.
_ROLES_OF_CASES = """
    SELECT c.lead_dept::text AS dept, 'lead' AS role, {cols} FROM cases c WHERE {where}
    UNION ALL
    SELECT d::text, 'co', {cols} FROM cases c CROSS JOIN unnest(c.co_depts) d
    WHERE {where} AND d <> c.lead_dept
"""


def _columns(sql: str) -> str:
    """The case columns ``sql`` reads (``c.<name>``), as a select list. Never ``c.*``: the
    meeting screen's role may not read the cases' text and address columns, and narrow
    rows are cheaper to aggregate and sort."""
    return ", ".join(f"c.{name}" for name in sorted(set(re.findall(r"\bc\.([a-z_]+)", sql))))


_COUNTS_SQL = measures.counts_sql("c", COUNTS)
_MEDIANS_SQL = measures.medians_sql("c")

DEPARTMENTS_SQL = f"""
WITH k AS (  -- the counts: one hash aggregate, nothing sorted
    SELECT c.dept, c.role, {_COUNTS_SQL}
    FROM ({_ROLES_OF_CASES.format(cols=_columns(_COUNTS_SQL), where="{where}")}) c
    GROUP BY 1, 2
), m AS (  -- the medians sort only the handled cases' times (the others are NULL in them)
    SELECT c.dept, c.role, {_MEDIANS_SQL}
    FROM ({_ROLES_OF_CASES.format(
        cols=_columns(_MEDIANS_SQL),
        where="{where} AND c.closed_at IS NOT NULL AND c.closed_at < :f_as_of")}) c
    GROUP BY 1, 2
), named AS (  -- every department the list names, so a department without cases shows 0
    SELECT lead_dept::text AS dept, 'lead' AS role FROM categories
    UNION SELECT unnest(co_depts)::text, 'co' FROM categories
    UNION SELECT dept, role FROM k
)
SELECT n.dept, n.role, d.name,
       {", ".join(f"coalesce(k.{m}, 0) AS {m}" for m in COUNTS)},
       {", ".join(f"m.{md.key}" for md in measures.MEDIANS)}
FROM named n JOIN departments d ON d.code = n.dept
LEFT JOIN k ON k.dept = n.dept AND k.role = n.role
LEFT JOIN m ON m.dept = n.dept AND m.role = n.role
ORDER BY n.role, n.dept
"""


def _with_rates(df: pd.DataFrame) -> pd.DataFrame:
    for r in measures.RATES:
        df[r.key] = [r.of({r.numerator: n, r.denominator: d})
                     for n, d in zip(df[r.numerator], df[r.denominator], strict=True)]
    return df


def departments(con: sa.Connection, f: Filters) -> pd.DataFrame:
    """Per department and role (``lead``/``co``): every count, rate and median for ``f``.

    Columns: ``dept, role, name``, the counts of :data:`COUNTS`, the rates of
    :data:`geo.measures.RATES` and the medians of :data:`geo.measures.MEDIANS`.
    A case counts once for its lead department and once for each co-handling
    department (never twice for one department).
    """
    df = frame(con, DEPARTMENTS_SQL.format(where=f.case_where("c")), f.params())
    for m in COUNTS:
        df[m] = df[m].astype("int64")
    for md in measures.MEDIANS:
        df[md.key] = pd.to_numeric(df[md.key]).astype("float64")
    return _with_rates(df)


def streets(con: sa.Connection, f: Filters) -> pd.DataFrame:
    """Per street office and town: every count and rate for ``f`` (city-wide), and
    cases per 1,000 households. Columns ``code, name, kind, households``, counts, rates,
    ``per_1000``. Counted from the shared facts (:mod:`layers.facts`), no scan of its own."""
    counts = facts.by(con, f.area(None, None), "street_code")
    areas = frame(con, """
        SELECT s.code, s.name, s.kind, coalesce(h.hh, 0) AS households
        FROM streets s LEFT JOIN (SELECT street_code, sum(households) AS hh FROM compounds
                                  GROUP BY 1) h ON h.street_code = s.code
        ORDER BY s.code
    """)
    df = areas.merge(counts.rename(columns={"street_code": "code"}), on="code", how="left")
    for m in COUNTS:
        df[m] = df[m].fillna(0).astype("int64")
    df = df.drop(columns=[c for c in df.columns if c.startswith("level_")])
    df["households"] = df["households"].astype("int64")
    df["per_1000"] = [measures.per_1000(r, h)
                      for r, h in zip(df["received"], df["households"], strict=True)]
    return _with_rates(df)


def rank(df: pd.DataFrame, key: str) -> pd.DataFrame:
    """``df`` ordered worst first by ``key`` (:data:`RANK_KEYS`), with ``rank`` and ``sample``.

    ``rank`` is 1, 2, … over the rows that may be ranked (ties share a rank);
    ``sample`` is ``False`` where a rate's or median's denominator is below
    :func:`geo.measures.min_cases`: such rows keep their figure, get no rank, and
    come last. Rows without a figure (no case at all) come last too.
    """
    rk = RANK_KEYS[key]
    out = df.copy()
    den = measures.denominator(key)
    minimum = measures.min_cases(key)
    out["sample"] = (out[den] >= minimum) if den else True
    value = pd.to_numeric(out[key], errors="coerce")
    rankable = out["sample"] & value.notna()
    order = value if rk.worse_high else -value
    out["_order"] = order.where(rankable)
    out["rank"] = out["_order"].rank(method="min", ascending=False).astype("Int64")
    out = out.sort_values(["_order", "received"], ascending=[False, False],
                          na_position="last", kind="stable")
    return out.drop(columns="_order").reset_index(drop=True)


# --- the tables the meeting reads (the dashboard and the briefing show the same) ----------

#: Chinese headers of the figures.
HEADERS = {
    "received": "受理", "pending": "待办", "overdue": "超期", "overdue_rate": "超期率%",
    "closed_late": "逾期办结", "closed_late_rate": "逾期办结率%", "reopened": "重新办理",
    "reopen_rate": "重新办理率%", "unsatisfied": "不满意", "unsatisfied_rate": "不满意率%",
    "closure_rate": "办结率%", "repeat_rate": "办结后再诉率%", "per_1000": "每千户诉求",
    "median_days": "办理时长中位数（天）", "median_limit": "办理时限中位数（天）",
    "median_limit_used": "时限用时比中位数%",
}
#: The repeat rate (办结后再诉率) stands beside the closure rate, and in the departments'
#: table (no closure rate there) after the other rates of how cases were handled.
STREET_COLUMNS = ("received", "pending", "overdue", "overdue_rate", "closed_late", "reopened",
                  "unsatisfied", "closure_rate", "repeat_rate", "per_1000")
DEPARTMENT_COLUMNS = ("received", "pending", "overdue", "overdue_rate", "closed_late",
                      "closed_late_rate", "reopened", "unsatisfied", "unsatisfied_rate",
                      "repeat_rate", "median_days", "median_limit", "median_limit_used")
#: Comparisons shown beside a ranking: suffix of the merged column → Chinese.
CHANGE_KINDS = {"prev": "环比", "yoy": "同比"}


def _change_columns(df: pd.DataFrame, key: str) -> pd.DataFrame:
    label = RANK_KEYS[key].label.removesuffix("件数")
    for kind, word in CHANGE_KINDS.items():
        col = f"{key}_{kind}"
        df[f"{label}{word}"] = [compare.describe(c, b, rate=RANK_KEYS[key].is_rate)
                                for c, b in zip(df[key], df[col], strict=True)] \
            if col in df else "—"
    return df


def ranking_table(df: pd.DataFrame, key: str, columns: tuple[str, ...],
                  first: dict[str, str]) -> pd.DataFrame:
    """A ranked frame (:func:`rank`, with ``<key>_prev``/``<key>_yoy`` merged) as the
    meeting reads it: 排名, the ``first`` columns renamed, the figures, the changes."""
    out = df.copy()
    out["排名"] = [str(int(r)) if pd.notna(r) else ("样本不足" if not s else "—")
                 for r, s in zip(out["rank"], out["sample"], strict=True)]
    out = _change_columns(out, key)
    label = RANK_KEYS[key].label.removesuffix("件数")
    changes = [f"{label}{w}" for w in CHANGE_KINDS.values()]
    shown = ["排名", *first, *[c for c in columns if c in out], *changes]
    return out[shown].rename(columns={**first, **HEADERS})


def street_table(cur: pd.DataFrame, bases: dict[str, pd.DataFrame],
                 key: str = "overdue") -> pd.DataFrame:
    """The street offices ranked by ``key``, with 环比/同比 of it (``bases``: kind → the
    :func:`streets` frame of that comparison period)."""
    merged = compare.with_changes(cur, bases, ["code"], [key])
    return ranking_table(rank(merged, key), key, STREET_COLUMNS, {"name": "街道/镇"})


def department_table(cur: pd.DataFrame, bases: dict[str, pd.DataFrame], key: str = "overdue",
                     role: str = "lead") -> pd.DataFrame:
    """The departments in ``role`` ranked by ``key``, with 环比/同比 of it."""
    merged = compare.with_changes(cur[cur["role"] == role], bases, ["dept", "role"], [key])
    return ranking_table(rank(merged, key), key, DEPARTMENT_COLUMNS,
                         {"name": f"{ROLES[role]}部门"})
