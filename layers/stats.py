"""Non-map queries of the dashboard: headline figures, trend, rankings, a compound's card.

Every function takes the connection and the :class:`~layers.filters.Filters`
and aggregates in PostgreSQL; only summary rows come back. The complainants
table and case texts are never read.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import sqlalchemy as sa

from geo import measures
from geo.models import (
    CHANNELS,
    HAZARD_STATUSES,
    HAZARD_THEMES,
    LEVELS,
    MANAGEMENT_MODES,
    OWNERS_COMMITTEE,
    SATISFACTION,
    STATUSES,
)
from layers import facts
from layers.base import frame, set_timeout
from layers.filters import Filters


def dataset_meta(con: sa.Connection) -> dict[str, str]:
    """The ``dataset_meta`` key/value rows (``synthetic``, ``as_of`` …)."""
    set_timeout(con)
    return {k: v for k, v in con.execute(sa.text("SELECT key, value FROM dataset_meta"))}


def is_synthetic(con: sa.Connection) -> bool:
    """True when any area or case shown is synthetic (the page must say so)."""
    set_timeout(con)
    return bool(con.execute(sa.text(
        "SELECT EXISTS (SELECT 1 FROM streets WHERE synthetic) "
        "OR EXISTS (SELECT 1 FROM dataset_meta WHERE key = 'synthetic' AND value = 'true')"
    )).scalar())


def data_as_of(con: sa.Connection) -> dt.date:
    """The data's cut-off day (:func:`geo.measures.cutoff_day`)."""
    set_timeout(con)
    return measures.cutoff_day(con)


def first_day(con: sa.Connection) -> dt.date | None:
    """The day of the earliest case (Kaili time), or ``None`` without cases: a comparison
    period starting before it would compare with data that were never loaded."""
    set_timeout(con)
    first = con.execute(sa.text("SELECT min(received_at) FROM cases")).scalar()
    return first.astimezone(measures.TZ).date() if first is not None else None


def streets(con: sa.Connection) -> pd.DataFrame:
    """Street offices and towns: ``code, name, kind``."""
    return frame(con, "SELECT code, name, kind FROM streets ORDER BY code")


def communities(con: sa.Connection, street: str) -> pd.DataFrame:
    """Communities of one street office: ``id, name``."""
    return frame(con, "SELECT id, name FROM communities WHERE street_code = :s ORDER BY name",
                 {"s": street})


def headline(con: sa.Connection, f: Filters) -> dict[str, Any]:
    """Received, pending, overdue, closure and satisfaction rates, and the share of each level.

    Summed from the shared per-compound facts (:mod:`layers.facts`): no scan of its own.
    """
    r: dict[str, Any] = dict(facts.totals(con, f))
    n = r["received"]
    r.update(measures.rates(r))
    r["level_share"] = {k: (round(100.0 * r[f"level_{k}"] / n, 1) if n else 0.0) for k in LEVELS}
    return r


#: Seconds from the Unix epoch (a Thursday, 08:00 in Kaili) back to Monday 00:00 in Kaili.
_WEEK_OFFSET_S = 3 * 86400 + 8 * 3600


def weekly_trend(con: sa.Connection, f: Filters) -> pd.DataFrame:
    """Cases received per week (Monday 00:00 Kaili time), with how many are pending or overdue.

    ``days`` is how many days of the week lie in the period: the first and the last
    week of a period are usually partial, and a chart must not read their smaller
    counts as a drop (:func:`per_full_week`).

    Weeks are counted on the epoch seconds: ``date_trunc('week', …)`` converts every
    row's time zone and took 630 ms at 1,000,000 cases against 160 ms for the arithmetic.
    """
    df = frame(con, f"""
        WITH k AS (
            SELECT floor((date_part('epoch', c.received_at) + {_WEEK_OFFSET_S}) / 604800)::int
                       AS w,
                   count(*) AS received,
                   {measures.counts_sql("c", ("pending", "overdue"))}
            FROM cases c WHERE {f.case_where()}
            GROUP BY 1
        )
        SELECT (to_timestamp(w * 604800.0 - {_WEEK_OFFSET_S})
                AT TIME ZONE 'Asia/Shanghai')::date AS week, received, pending, overdue
        FROM k ORDER BY w
    """, f.params())
    df["days"] = [(min(w + dt.timedelta(days=6), f.end) - max(w, f.start)).days + 1
                  for w in df["week"]]
    return df


def per_full_week(trend: pd.DataFrame) -> pd.DataFrame:
    """``trend`` with each count scaled to a whole week (× 7 / ``days``), and ``partial``.

    A period rarely starts on a Monday or ends on a Sunday; its first and last
    weeks hold fewer days and so fewer cases. Scaled, they read as the rate they
    are, and ``partial`` lets the chart mark them.
    """
    out = trend.copy()
    factor = 7.0 / out["days"].clip(lower=1)
    for col in ("received", "pending", "overdue"):
        out[col] = (out[col] * factor).round(1)
    out["partial"] = out["days"] < 7
    return out


#: Columns of :func:`firm_table`, in order, with their Chinese headers.
FIRM_COLUMNS = {
    "name": "物业企业", "credit_rating": "信用等级", "list_status": "红黑榜",
    "compounds": "服务小区", "hh": "服务户数", "received": "期内诉求", "per_1000": "每千户诉求",
    "overdue": "超期", "overdue_rate": "超期率%", "closed_late_rate": "逾期办结率%",
    "repeat_rate": f"{measures.RATE_BY_KEY['repeat_rate'].label}%", "satisfaction_rate": "满意率%",
}


def firm_table(con: sa.Connection, f: Filters) -> pd.DataFrame:
    """Every firm (none hidden: a firm serving no compound of the area shows zeros) with its
    compounds, households and the measures of its compounds' cases for ``f`` (and
    ``f.street``): counts from the shared facts, rates and per-1,000 computed by
    :mod:`geo.measures` (one rounding, one definition of 超期). The grade and list status
    are the published ones (derived from the credit history)."""
    counts, params = facts.cte(con, f, "compound_id", name="kc",
                               measures=("received", "overdue", "closed", "closed_late",
                                         "repeat", "satisfied", "rated"))
    df = frame(con, f"""
        WITH {counts}, x AS (
            SELECT firm_id, count(*) AS compounds, sum(coalesce(households, 0)) AS hh
            FROM compounds WHERE firm_id IS NOT NULL
              AND (CAST(:f_street AS text) IS NULL OR street_code = :f_street)
            GROUP BY 1
        ), k AS (
            SELECT x.firm_id, sum(kc.received)::bigint AS received,
                   sum(kc.overdue)::bigint AS overdue, sum(kc.closed) AS closed,
                   sum(kc.closed_late) AS closed_late, sum(kc.repeat) AS repeat,
                   sum(kc.satisfied) AS satisfied, sum(kc.rated) AS rated
            FROM kc JOIN compounds x ON x.id = kc.compound_id
            WHERE x.firm_id IS NOT NULL GROUP BY 1
        )
        SELECT p.id, p.name, coalesce(p.credit_rating, '') AS credit_rating, p.list_status,
               coalesce(x.compounds, 0) AS compounds, coalesce(x.hh, 0) AS hh,
               coalesce(k.received, 0) AS received, coalesce(k.overdue, 0) AS overdue,
               coalesce(k.closed, 0) AS closed, coalesce(k.closed_late, 0) AS closed_late,
               coalesce(k.repeat, 0) AS repeat, coalesce(k.satisfied, 0) AS satisfied,
               coalesce(k.rated, 0) AS rated
        FROM property_firms p LEFT JOIN x ON x.firm_id = p.id LEFT JOIN k ON k.firm_id = p.id
        ORDER BY p.name
    """, {**f.params(), **params})
    for c in ("compounds", "hh", "received", "overdue", "closed", "closed_late", "repeat",
              "satisfied", "rated"):
        df[c] = df[c].astype("int64")
    rows = df.to_dict("records")
    df["per_1000"] = [measures.per_1000(r["received"], r["hh"]) for r in rows]
    for key in ("overdue_rate", "closed_late_rate", "repeat_rate", "satisfaction_rate"):
        df[key] = [measures.RATE_BY_KEY[key].of(r) for r in rows]
    df = df.sort_values(["per_1000", "name"], ascending=[False, True], na_position="last")
    df["list_status"] = df["list_status"].map({"red": "红榜", "black": "黑榜", "none": ""})
    out = df[["id", *FIRM_COLUMNS]].rename(columns=FIRM_COLUMNS).reset_index(drop=True)
    return out.astype({h: "Float64" for k, h in FIRM_COLUMNS.items()
                       if k in ("per_1000", "overdue_rate", "closed_late_rate", "repeat_rate",
                                "satisfaction_rate")})


def firm_categories(con: sa.Connection, f: Filters, firm_id: int) -> pd.DataFrame:
    """The categories of the cases at one firm's compounds for ``f``: ``类别, 受理, 超期,
    占比%`` (most frequent first)."""
    df = frame(con, f"""
        SELECT k.name AS category, count(*) AS received,
               {measures.BY_KEY["overdue"].count_sql("c")}
        FROM cases c JOIN compounds x ON x.id = c.compound_id
        JOIN categories k ON k.code = c.category_code
        WHERE x.firm_id = :firm AND {f.case_where("c")}
        GROUP BY k.name ORDER BY received DESC, k.name
    """, {**f.params(), "firm": firm_id})
    total = int(df["received"].sum()) if len(df) else 0
    df["share"] = [round(100.0 * n / total, 1) if total else None for n in df["received"]]
    return df.rename(columns={"category": "类别", "received": "受理", "overdue": "超期",
                              "share": "占比%"})


def compound_card(con: sa.Connection, compound_id: int, f: Filters) -> dict[str, Any] | None:
    """Register facts, firm, owners' committee, hazards and case history of one compound."""
    facts = frame(con, """
        SELECT x.id, x.code, x.name, x.address, x.build_year, x.households, x.buildings,
               x.floors, x.management_mode, x.owners_committee, x.competent_dept, x.is_sanwu,
               x.is_old, x.committee_term_end, x.mode_since, x.street_code, s.name AS street,
               x.community_id, m.name AS community,
               p.name AS firm, p.credit_rating, p.list_status, x.synthetic
        FROM compounds x LEFT JOIN streets s ON s.code = x.street_code
        LEFT JOIN communities m ON m.id = x.community_id
        LEFT JOIN property_firms p ON p.id = x.firm_id
        WHERE x.id = :id
    """, {"id": compound_id})
    if facts.empty:
        return None
    card: dict[str, Any] = facts.iloc[0].to_dict()
    card["mode_label"] = MANAGEMENT_MODES.get(card["management_mode"], "")
    card["committee_label"] = OWNERS_COMMITTEE.get(card["owners_committee"], "")
    hz = frame(con, f"""
        SELECT theme, description, found_on, due_on, status, closed_on,
               {measures.hazard_overdue("hazards")} AS overdue
        FROM hazards WHERE compound_id = :id ORDER BY (status = 'closed'), due_on
    """, {**f.params(), "id": compound_id})
    hz["theme"] = hz["theme"].map(HAZARD_THEMES)
    hz["status"] = hz["status"].map(HAZARD_STATUSES)
    card["hazards"] = hz.rename(columns={
        "theme": "类别", "description": "描述", "found_on": "发现日期", "due_on": "整改期限",
        "status": "状态", "closed_on": "整改完成", "overdue": "超期"})
    # A case's complaint group (一事多诉) and the closed case it repeats (办结后再诉), as the
    # other case's number: whatever the filters, the group is read whole (under the scope).
    cs = frame(con, f"""
        WITH c AS (
            SELECT c.id, c.case_no, c.channel, c.received_at, c.category_code, c.level,
                   c.status, c.due_at, c.closed_at, c.satisfaction, c.complaint_group,
                   c.repeat_of
            FROM cases c
            WHERE c.compound_id = :id AND {f.case_where(area=False)}
            ORDER BY c.received_at DESC LIMIT 200
        )
        SELECT c.case_no, c.channel, c.received_at::date AS received_on, cat.name AS category,
               c.level, c.status, c.due_at::date AS due_on, c.closed_at::date AS closed_on,
               {measures.is_overdue("c")} AS overdue, c.satisfaction,
               g.case_no AS group_first,
               (SELECT count(*) FROM cases m WHERE m.complaint_group = c.complaint_group)
                   AS group_size,
               r.case_no AS repeat_of
        FROM c JOIN categories cat ON cat.code = c.category_code
        LEFT JOIN cases g ON g.id = c.complaint_group
        LEFT JOIN cases r ON r.id = c.repeat_of
        ORDER BY c.received_at DESC
    """, {**f.params(), "id": compound_id})
    cs["group"] = [group_text(first, size)
                   for first, size in zip(cs.pop("group_first"), cs.pop("group_size"),
                                          strict=True)]
    cs["repeat_of"] = cs["repeat_of"].fillna("")
    cs["channel"] = cs["channel"].map(CHANNELS)
    cs["level"] = cs["level"].map(LEVELS)
    cs["status"] = cs["status"].map(STATUSES)
    cs["satisfaction"] = cs["satisfaction"].map(SATISFACTION)
    # the links (same complaint, repeat of) next to the category, where they are seen
    cs = cs[["case_no", "channel", "received_on", "category", "group", "repeat_of", "level",
             "status", "due_on", "closed_on", "overdue", "satisfaction"]]
    card["cases"] = cs.rename(columns={
        "case_no": "工单号", "channel": "渠道", "received_on": "受理日期", "category": "类别",
        "level": "层级", "status": "状态", "due_on": "办理时限", "closed_on": "办结日期",
        "overdue": "超期", "satisfaction": "满意度", "group": "同一诉求",
        "repeat_of": "再诉前案"})
    return card


def group_text(first: str | None, size: int | None) -> str:
    """A case's complaint group as shown on its card: the group's first case and its size.

    ``""`` for a case in no group (one channel only).
    """
    if not first or not size or int(size) < 2:
        return ""
    return f"{first}（共 {int(size)} 件）"


def hazard_summary(con: sa.Connection, f: Filters) -> pd.DataFrame:
    """Per hazard theme, in ``f``'s area: found in the period, not yet rectified at the
    cut-off, of which past their deadline (逾期未整改), and rectified on time. Chinese headers."""
    df = frame(con, f"""
        SELECT h.theme,
               count(*) FILTER (WHERE h.found_on BETWEEN :f_start_day AND :f_as_of_day) AS found,
               count(*) FILTER (WHERE {measures.hazard_open("h")}) AS open,
               count(*) FILTER (WHERE {measures.hazard_overdue("h")}) AS overdue,
               count(*) FILTER (WHERE h.found_on BETWEEN :f_start_day AND :f_as_of_day
                                AND {measures.hazard_rectified_on_time("h")}) AS on_time
        FROM hazards h JOIN compounds x ON x.id = h.compound_id
        WHERE h.found_on <= :f_as_of_day
          AND (CAST(:f_street AS text) IS NULL OR x.street_code = :f_street)
        GROUP BY 1
    """, {**f.params(), "f_start_day": f.start})
    out = pd.DataFrame({"theme": list(HAZARD_THEMES)}).merge(df, on="theme", how="left")
    for col in ("found", "open", "overdue", "on_time"):
        out[col] = out[col].fillna(0).astype("int64")
    out["theme"] = out["theme"].map(HAZARD_THEMES)
    return out.rename(columns={"theme": "类别", "found": "期内发现", "open": "未整改",
                               "overdue": "其中逾期未整改", "on_time": "期内发现且按期整改"})


def top_compounds(con: sa.Connection, f: Filters, n: int = 10) -> pd.DataFrame:
    """The compounds with the most cases in the period (repeat locations), with pending
    and overdue. Chinese headers."""
    counts, params = facts.cte(con, f, "compound_id",
                               measures=("received", "pending", "overdue", "reopened"))
    return frame(con, f"""
        WITH {counts}
        SELECT x.name AS "小区", s.name AS "街道/镇", k.received AS "期内诉求",
               k.pending AS "待办", k.overdue AS "超期", k.reopened AS "重新办理"
        FROM k JOIN compounds x ON x.id = k.compound_id JOIN streets s ON s.code = x.street_code
        WHERE k.received > 0
        ORDER BY k.received DESC, k.overdue DESC, x.name
        LIMIT :n
    """, {**params, "n": n})


def overdue_hazards(con: sa.Connection, f: Filters, n: int = 15) -> pd.DataFrame:
    """Hazards past their deadline and not rectified at the cut-off (逾期未整改), the longest
    overdue first, and how many there are. Chinese headers."""
    df = frame(con, f"""
        SELECT h.theme, x.name AS compound, s.name AS street, h.found_on, h.due_on, h.status,
               CAST(:f_as_of_day AS date) - h.due_on AS overdue_days, count(*) OVER () AS total
        FROM hazards h JOIN compounds x ON x.id = h.compound_id
        JOIN streets s ON s.code = x.street_code
        WHERE {measures.hazard_overdue("h")} AND h.found_on <= :f_as_of_day
          AND (CAST(:f_street AS text) IS NULL OR x.street_code = :f_street)
        ORDER BY h.due_on, h.id
        LIMIT :n
    """, {**f.params(), "n": n})
    df["theme"] = df["theme"].map(HAZARD_THEMES)
    df["status"] = df["status"].map(HAZARD_STATUSES)
    df.attrs["total"] = int(df["total"].iloc[0]) if len(df) else 0
    return df.drop(columns="total").rename(columns={
        "theme": "类别", "compound": "小区", "street": "街道/镇", "found_on": "发现日期",
        "due_on": "整改期限", "status": "状态", "overdue_days": "逾期天数"})
