"""The 三无 and old compounds of one street office, ranked by a documented priority score.

Priority score
--------------
Street-office staff go first where people are most affected and problems are
open. Each compound's score is the sum of these terms (see :data:`WEIGHTS`):

=====================================  ======  =====================================
term                                   weight  cap
=====================================  ======  =====================================
cases per 100 households in the period   10    10 per 100 households (100 points)
open hazards (fire, elevator, order)      8    —
of which past their due date             +8    —
pending cases past their time limit       5    10 cases (50 points)
age in years (``as_of`` − build year)   0.5    50 years (25 points)
households / 50                           1    20 points
三无 (no firm, no department, no owners) 20    —
三无 and not taken over (三无，未托管)       10    —
=====================================  ======  =====================================

Rate terms use households so a large compound is not first just for being
large; the capped size term then breaks ties toward more people affected. A
三无 compound its street office has taken over (三无，已托管) is still on the
list, but below the ones nobody manages yet: those are the work, the others
the progress.

The round trip
--------------
The xlsx (:func:`workbook`, the same bytes for the dashboard's download and
``propmap export worklist``) carries 小区编号 and empty columns for the action
taken (:data:`geo.history.WORKLIST_ACTIONS`), with a drop-down of the actions;
filled in and uploaded again (``etl.worklist``) each row becomes a record.
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from geo import measures, sheets
from geo.history import ACTIONS, CUSTODY, WORKLIST_ACTIONS
from geo.models import COMPOUND_EVENT_KINDS, MANAGEMENT_MODES, OWNERS_COMMITTEE
from layers import facts
from layers.base import frame
from layers.filters import Filters

#: (column, weight, cap on the column before weighting, Chinese explanation).
WEIGHTS: tuple[tuple[str, float, float | None, str], ...] = (
    ("cases_per_100", 10.0, 10.0, "期内每百户诉求数 × 10（上限 10）"),
    ("open_hazards", 8.0, None, "未整改隐患数 × 8"),
    ("overdue_hazards", 8.0, None, "其中超期隐患再 × 8"),
    ("overdue_cases", 5.0, 10.0, "超期待办工单 × 5（上限 10 件）"),
    ("age", 0.5, 50.0, "房龄（年）× 0.5（上限 50 年）"),
    ("size", 1.0, 20.0, "户数 ÷ 50（上限 20）"),
    ("sanwu", 20.0, None, "三无小区 + 20"),
    ("untaken", 10.0, None, "三无且尚未由街道托管 + 10"),
)

SQL = f"""
WITH {{counts}}, z AS (
    SELECT compound_id, count(*) AS open_hazards,
           count(*) FILTER (WHERE {measures.hazard_overdue("hazards")}) AS overdue_hazards
    FROM hazards WHERE {measures.hazard_open("hazards")} AND found_on <= :f_as_of_day GROUP BY 1
)
SELECT x.id, x.code, x.name, m.name AS community, x.address, x.build_year,
       coalesce(x.households, 0) AS households, x.management_mode, x.owners_committee,
       x.is_sanwu, x.is_old, coalesce(k.received, 0) AS cases,
       coalesce(k.overdue, 0) AS overdue_cases,
       coalesce(z.open_hazards, 0) AS open_hazards,
       coalesce(z.overdue_hazards, 0) AS overdue_hazards,
       round(ST_X(ST_PointOnSurface(x.geom))::numeric, 5)::float AS lon,
       round(ST_Y(ST_PointOnSurface(x.geom))::numeric, 5)::float AS lat
FROM compounds x
LEFT JOIN communities m ON m.id = x.community_id
LEFT JOIN k ON k.compound_id = x.id
LEFT JOIN z ON z.compound_id = x.id
WHERE x.street_code = :f_street AND (x.is_sanwu OR x.is_old)
"""

HEADERS = {
    "rank": "排序", "name": "小区名称", "community": "所属社区", "address": "地址",
    "kind": "类型", "mode": "管理方式", "committee": "业主组织",
    "build_year": "建成年份",
    "households": "户数", "cases": "期内诉求", "cases_per_100": "每百户诉求",
    "overdue_cases": "超期待办", "open_hazards": "未整改隐患", "overdue_hazards": "超期隐患",
    "score": "优先分", "code": "小区编号",
}


def priority(df: pd.DataFrame, as_of_year: int) -> pd.DataFrame:
    """Add the score terms and ``score``; sort by score (highest first) and number the rows."""
    out = df.copy()
    hh = out["households"].where(out["households"] > 0)
    out["cases_per_100"] = (100.0 * out["cases"] / hh).fillna(0.0).round(2)
    out["age"] = (as_of_year - out["build_year"]).clip(lower=0).fillna(0)
    out["size"] = out["households"] / 50.0
    out["sanwu"] = out["is_sanwu"].astype(float)
    custody = (out["management_mode"] == "street_custody" if "management_mode" in out
               else pd.Series(False, index=out.index))
    out["untaken"] = (out["is_sanwu"] & ~custody).astype(float)
    score = pd.Series(0.0, index=out.index)
    for col, weight, cap, _text in WEIGHTS:
        v = out[col].astype(float)
        score += weight * (v.clip(upper=cap) if cap is not None else v)
    out["score"] = score.round(1)
    out = out.sort_values(["score", "households", "id"], ascending=[False, False, True])
    out["rank"] = range(1, len(out) + 1)
    return out.reset_index(drop=True)


def query(con: sa.Connection, f: Filters) -> pd.DataFrame:
    """The ranked worklist of ``f.street`` (empty without a street)."""
    counts, params = facts.cte(con, f, "compound_id", measures=("received", "overdue"))
    df = frame(con, SQL.format(counts=counts), {**f.params(), **params})
    return priority(df, f.as_of.year)


def table(ranked: pd.DataFrame) -> pd.DataFrame:
    """The worklist as shown and exported: Chinese headers, labels instead of codes."""
    t = ranked.copy()
    t["kind"] = [(CUSTODY["custody" if m == "street_custody" else "untaken"]
                  + ("、老旧小区" if o else "")) if s else "老旧小区"
                 for s, o, m in zip(t["is_sanwu"], t["is_old"], t["management_mode"], strict=True)]
    t["mode"] = t["management_mode"].map(MANAGEMENT_MODES)
    t["committee"] = t["owners_committee"].map(OWNERS_COMMITTEE)
    t["build_year"] = t["build_year"].astype("Int64")
    return t[list(HEADERS)].rename(columns=HEADERS)


def explanation() -> list[str]:
    """The score's terms, in Chinese, for the page and the export."""
    return ["优先分 = 以下各项之和："] + [f"· {text}" for *_x, text in WEIGHTS]


def workbook(ranked: pd.DataFrame, *, street_name: str, f: Filters, synthetic: bool) -> bytes:
    """The worklist xlsx, for the dashboard's download and ``propmap export worklist``.

    The ranked table, then the empty action columns a clerk fills in (采取措施 with a
    drop-down of the actions, 措施日期, and what the action needs), and a 说明 sheet:
    the filters, the score's terms, how to fill in and upload the file again.
    """
    t = table(ranked)
    for header in WORKLIST_ACTIONS.values():
        t[header] = None
    actions = [COMPOUND_EVENT_KINDS[k] for k in ACTIONS]
    notes = [
        f"{street_name} 三无小区与老旧小区工作清单",
        f"时段：{f.start:%Y-%m-%d} 至 {f.end:%Y-%m-%d}；数据截至 {f.as_of:%Y-%m-%d}",
        *explanation(),
        "类型：“三无，未托管”是仍待开展的工作；“三无，已托管”是已由街道托管的三无小区（仍属三无）。",
        "回传：在“采取措施”中选择已采取的措施（" + "、".join(actions) + "），填写“措施日期”"
        "（不晚于今天），引入物业须填写“物业服务企业”（名录中的企业名称），单位自管须填写"
        "“管理单位”，成立业委会或换届须填写“任期届满”；保存后在看板“三无小区清单”页上传，"
        "或运行 propmap import worklist 文件名。“小区编号”请勿修改。未填措施的行不作处理。",
        *(["演示数据（合成），非真实小区。"] if synthetic else []),
    ]
    return sheets.workbook([(f"{street_name}工作清单", t)], notes,
                           choices={WORKLIST_ACTIONS["kind"]: actions})
