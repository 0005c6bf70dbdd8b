"""Owners' committees of one street office: formed, term end, overdue renewal, missing.

Forming owners' assemblies and committees (业主大会、业主委员会) and having them
renewed when their term ends (换届) is a street office's duty in the policy;
where none can be formed the street office forms a 物业管理委员会. The list
holds every compound of the area that has an owners' organisation, and every
compound that should have one (households at the threshold of
``data/reference/governance.toml``) but has neither, overdue renewals first.
The conditions are :mod:`geo.measures`'s.
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from geo.measures import (
    ORGANISATIONS,
    committee_eligible,
    committee_formed,
    committee_missing,
    committee_overdue,
)
from geo.models import MANAGEMENT_MODES, OWNERS_COMMITTEE
from layers import progress
from layers.base import frame
from layers.filters import Filters

SQL = f"""
SELECT x.id, x.code, x.name, m.name AS community, x.households, x.management_mode,
       x.owners_committee, x.committee_since, x.committee_term_end,
       {committee_eligible("x")} AS eligible, {committee_formed("x")} AS formed,
       {committee_overdue("x")} AS overdue, {committee_missing("x")} AS missing
FROM compounds x LEFT JOIN communities m ON m.id = x.community_id
WHERE x.street_code = :f_street
  AND (CAST(:f_community AS integer) IS NULL OR x.community_id = :f_community)
  AND (x.owners_committee <> 'none' OR {committee_eligible("x")})
ORDER BY {committee_overdue("x")} DESC, {committee_missing("x")} DESC, x.committee_term_end,
         x.households DESC NULLS LAST, x.id
"""

HEADERS = {"code": "小区编号", "name": "小区名称", "community": "所属社区", "households": "户数",
           "status": "业主组织", "committee_since": "成立/换届日期",
           "committee_term_end": "任期届满", "flag": "提示", "mode": "管理方式"}


def query(con: sa.Connection, f: Filters) -> pd.DataFrame:
    """The list for ``f.street`` (and ``f.community_id``), judged at the end of ``f``'s period."""
    return frame(con, SQL, progress.params(f))


def counts(df: pd.DataFrame) -> dict[str, int]:
    """应建、已建、到期未换届、应建未建、物业管理委员会 over the list."""
    return {"eligible": int(df["eligible"].sum()),
            "committees": int((df["eligible"] & df["formed"]).sum()),
            "overdue": int(df["overdue"].sum()), "missing": int(df["missing"].sum()),
            "mgmt": int((df["owners_committee"] == "mgmt_committee").sum())}


def table(df: pd.DataFrame) -> pd.DataFrame:
    """The list as shown and exported: Chinese headers and labels."""
    t = df.copy()
    t["status"] = t["owners_committee"].map(OWNERS_COMMITTEE)
    t["flag"] = ["到期未换届" if o else "应建未建" if m else ""
                 for o, m in zip(t["overdue"], t["missing"], strict=True)]
    t["mode"] = t["management_mode"].map(MANAGEMENT_MODES)
    t["households"] = t["households"].astype("Int64")
    # dates of an owners' organisation only: a compound without one shows none
    has = t["owners_committee"].isin(ORGANISATIONS)
    for c in ("committee_since", "committee_term_end"):
        t[c] = [f"{d:%Y-%m-%d}" if h and pd.notna(d) else ""
                for d, h in zip(t[c], has, strict=True)]
    return t[list(HEADERS)].rename(columns=HEADERS)
