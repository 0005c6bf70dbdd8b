"""三无 compounds and owners' committees per street office: what the meeting asks of the streets.

A stand-in, from what the compound register says today
(``compounds.management_mode``, ``is_sanwu``, ``owners_committee``), for the
progress figures issue 9 derives from each compound's recorded history. It is
one function, :func:`sanwu_and_committees`, so the meeting page and the
briefing can take issue 9's figures by swapping it.

三无 and 托管 are two states: a 三无 compound taken over by its street office
(街道托管) is being managed, one not taken over is the work still to do; the
meeting asks for both counts.
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from layers.base import frame
from layers.filters import Filters

HEADERS = {
    "name": "街道/镇", "compounds": "小区", "sanwu": "三无小区", "taken_over": "其中已托管",
    "not_taken_over": "其中未托管", "committees": "已成立业委会",
    "committee_rate": "业委会组建率%", "preparing": "业委会筹备中",
}


def sanwu_and_committees(con: sa.Connection, f: Filters) -> pd.DataFrame:
    """Per street office (those with compounds), and a 全市 row last: compounds, 三无
    compounds taken over by the street office or not, owners' committees formed or
    being prepared, and the share of compounds with a committee. Chinese headers."""
    df = frame(con, """
        SELECT s.name, count(*) AS compounds,
               count(*) FILTER (WHERE x.is_sanwu) AS sanwu,
               count(*) FILTER (WHERE x.is_sanwu AND x.management_mode = 'street_custody')
                   AS taken_over,
               count(*) FILTER (WHERE x.is_sanwu AND x.management_mode <> 'street_custody')
                   AS not_taken_over,
               count(*) FILTER (WHERE x.owners_committee = 'established') AS committees,
               count(*) FILTER (WHERE x.owners_committee = 'preparing') AS preparing
        FROM compounds x JOIN streets s ON s.code = x.street_code
        WHERE (CAST(:f_street AS text) IS NULL OR x.street_code = :f_street)
        GROUP BY s.code, s.name ORDER BY not_taken_over DESC, sanwu DESC, s.code
    """, f.params())
    total = df.drop(columns="name").sum(numeric_only=True)
    df = pd.concat([df, pd.DataFrame([{"name": "全市", **total.to_dict()}])], ignore_index=True)
    for col in ("compounds", "sanwu", "taken_over", "not_taken_over", "committees", "preparing"):
        df[col] = df[col].astype("int64")
    df["committee_rate"] = [round(100.0 * c / n, 1) if n else None
                            for c, n in zip(df["committees"], df["compounds"], strict=True)]
    return df[list(HEADERS)].rename(columns=HEADERS)
