"""Repeats after closing (办结后再诉) beside the closure rate, per area, department and firm.

A case counted as closed that comes back within the window (``cases.repeat_of``,
:func:`geo.complaints.link_repeats`) is a success on paper only. Every table
here shows the closure rate and the repeat rate side by side, from the one
definition in :mod:`geo.measures`; compounds, communities and street offices
come from the shared facts (:mod:`layers.facts`), lead departments from one
grouped query, property firms from the compounds they serve.
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from geo import measures
from layers import facts
from layers.base import frame
from layers.filters import Filters

#: What a repeat table counts, and its Chinese headers.
KEYS = ("received", "closed", "repeat")
HEADERS = {"received": "受理", "closed": "办结", "closure_rate": "办结率",
           "repeat": "办结后再诉", "repeat_rate": "办结后再诉率"}
BY = ("compound", "street", "lead_dept", "firm")


def _rates(df: pd.DataFrame) -> pd.DataFrame:
    for key in ("closure_rate", "repeat_rate"):
        r = measures.RATE_BY_KEY[key]
        df[key] = [r.of({r.numerator: n, r.denominator: d})
                   for n, d in zip(df[r.numerator], df[r.denominator], strict=True)]
    return df


def by(con: sa.Connection, f: Filters, key: str) -> pd.DataFrame:
    """Received, closed, closure rate, repeats and repeat rate per ``key``.

    ``key``: ``compound``, ``street``, ``lead_dept`` (牵头部门) or ``firm``
    (物业企业, through the compounds it serves). Columns: ``id``, ``name`` and
    :data:`KEYS` with the two rates, most repeats first.
    """
    if key == "compound":
        df = facts.by(con, f, "compound_id").rename(columns={"compound_id": "id"})
        names = frame(con, "SELECT id, name FROM compounds")
    elif key == "street":
        df = facts.by(con, f, "street_code").rename(columns={"street_code": "id"})
        names = frame(con, "SELECT code AS id, name FROM streets")
    elif key == "firm":
        per = facts.by(con, f, "compound_id")
        firms = frame(con, "SELECT id AS compound_id, firm_id FROM compounds "
                           "WHERE firm_id IS NOT NULL")
        df = per.merge(firms, on="compound_id").groupby("firm_id", as_index=False)[
            list(KEYS)].sum().rename(columns={"firm_id": "id"})
        names = frame(con, "SELECT id, name FROM property_firms")
    elif key == "lead_dept":
        df = frame(con, f"""
            SELECT c.lead_dept AS id, {measures.counts_sql("c", KEYS)}
            FROM cases c WHERE {f.case_where("c")} GROUP BY 1""", f.params())
        names = frame(con, "SELECT code AS id, name FROM departments")
    else:
        raise ValueError(f"unknown key {key!r}; one of {', '.join(BY)}")
    df = df[["id", *KEYS]].merge(names, on="id", how="left")
    for k in KEYS:
        df[k] = df[k].astype(int)
    df = _rates(df[df["received"] > 0].copy())
    return df.sort_values(["repeat", "received"], ascending=False).reset_index(drop=True)


def top_compounds(con: sa.Connection, f: Filters, n: int = 15,
                  min_received: int = 10) -> pd.DataFrame:
    """Compounds with the highest repeat rate (at least ``min_received`` cases), Chinese headers."""
    df = by(con, f, "compound")
    df = df[df["received"] >= min_received]
    df = df.sort_values(["repeat_rate", "repeat"], ascending=False).head(n)
    return df.rename(columns={"name": "小区", **HEADERS}).drop(columns=["id"]).reset_index(
        drop=True)
