"""The briefing's sections: a registry, one function each, from the data to blocks.

Each function takes :class:`Inputs` (a connection and the filters of the
period) and returns the blocks of its section; :data:`SECTIONS` lists them in
the order of the document, which numbers them (一、二、…) itself, so a section
can be added, removed or replaced without renumbering the others. 三无
takeovers and owners' committees (:func:`sanwu_committees`) come from the
compounds' recorded histories through :func:`layers.progress.sanwu_and_committees`,
the figures of 工作进展 and of 会议展示. The red and black lists are the credit
model's decisions for the quarter (:func:`geo.credit.lists`), the same the
credit page and ``propmap export firms`` show.

Every figure comes from the function the dashboard shows it with, under the
same filters: :mod:`layers.stats`, :mod:`layers.accountability`,
:mod:`layers.casework`, :mod:`layers.progress`, :mod:`geo.credit`, the map layers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import sqlalchemy as sa

from briefing import maps
from briefing.model import Block, Figure, Para, Table
from geo import credit, history, measures, party, periods
from geo.credit_model import Period
from layers import (
    accountability,
    casework,
    compare,
    hazards,
    heat,
    progress,
    stats,
    street_areas,
)
from layers.filters import Filters


@dataclass(frozen=True)
class Inputs:
    """What every section reads: the connection, the period's filters, the quarter whose
    typical cases are shown, and whether the data are synthetic."""

    con: sa.Connection
    f: Filters
    quarter: str
    synthetic: bool
    first_day: dt.date | None = None
    """The earliest case's day: comparisons reaching before it are not made."""
    _memo: dict[tuple[Any, Filters], Any] = field(default_factory=dict, compare=False,
                                                  repr=False)

    def once(self, fn: Callable[[sa.Connection, Filters], Any], f: Filters) -> Any:
        """``fn(con, f)``, computed once per document: several sections print the same
        table (the departments' figures scan the cases; the shared facts are memoised
        already, this is not)."""
        key = (fn, f)
        if key not in self._memo:
            self._memo[key] = fn(self.con, f)
        return self._memo[key]

    def compared(self, kind: str) -> Filters:
        return self.f.compared(kind)

    def covered(self, kind: str) -> bool:
        return compare.covered(self.f.period, kind, self.first_day)

    def kinds(self) -> list[str]:
        """The comparisons (环比, 同比) the data cover."""
        return [k for k in accountability.CHANGE_KINDS if self.covered(k)]

    def comparisons_text(self) -> str:
        return "；".join(compare.comparison_text(k, self.f.period, self.first_day)
                        for k in accountability.CHANGE_KINDS)


@dataclass(frozen=True)
class SectionSpec:
    key: str
    title: str
    build: Callable[[Inputs], list[Block]]


def fmt(v: Any) -> str:
    """A figure as the dashboard prints it: thousands separated, ``—`` when unknown."""
    if hasattr(v, "item"):
        v = v.item()
    if v is None or (isinstance(v, float) and v != v):
        return "—"
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _pct(v: Any) -> str:
    return "—" if v is None else f"{v}%"


#: Headline rows: key → (label, rate?).
HEADLINE_ROWS = {
    "received": ("受理（件）", False), "pending": ("待办（件）", False),
    "overdue": ("超期（件）", False), "closed_late": ("逾期办结（件）", False),
    "reopened": ("重新办理（件）", False), "unsatisfied": ("不满意（件）", False),
    "closure_rate": ("办结率", True), "satisfaction_rate": ("满意率", True),
}


def headline_table(cur: dict[str, Any], prev: dict[str, Any] | None,
                   yoy: dict[str, Any] | None) -> pd.DataFrame:
    """The headline figures of three periods (:func:`layers.stats.headline`) and changes;
    a comparison period the data do not cover (``None``) shows ``—``."""
    rows = []
    for key, (label, rate) in HEADLINE_ROWS.items():
        show = _pct if rate else fmt
        row = {"指标": label, "本期": show(cur[key])}
        for name, base, word in (("上期", prev, "环比"), ("去年同期", yoy, "同比")):
            row[name] = show(base[key]) if base is not None else "—"
            row[word] = compare.describe(cur[key], base[key], rate=rate) \
                if base is not None else "—"
        rows.append(row)
    return pd.DataFrame(rows)[["指标", "本期", "上期", "环比", "去年同期", "同比"]]


def headline(x: Inputs) -> list[Block]:
    cur = stats.headline(x.con, x.f)
    prev = stats.headline(x.con, x.compared("prev")) if x.covered("prev") else None
    yoy = stats.headline(x.con, x.compared("yoy")) if x.covered("yoy") else None
    streets = accountability.rank(accountability.streets(x.con, x.f), "overdue")
    depts = x.once(accountability.departments, x.f)
    lead = accountability.rank(depts[depts["role"] == "lead"], "overdue")
    worst_street = streets.iloc[0] if len(streets) and streets["overdue"].iloc[0] else None
    worst_dept = lead.iloc[0] if len(lead) and lead["overdue"].iloc[0] else None
    changes = "".join(f"，{word}{compare.describe(cur['received'], base['received'])}"
                      for word, base in (("环比", prev), ("同比", yoy)) if base is not None)
    text = (f"{period_title(x.f)}，全市受理物业矛盾纠纷诉求 {fmt(cur['received'])} 件"
            f"{changes}。"
            f"截至 {x.f.as_of:%Y年%-m月%-d日}，待办 {fmt(cur['pending'])} 件，其中超期 "
            f"{fmt(cur['overdue'])} 件；逾期办结 {fmt(cur['closed_late'])} 件，重新办理 "
            f"{fmt(cur['reopened'])} 件，回访不满意 {fmt(cur['unsatisfied'])} 件。")
    if worst_street is not None:
        text += f"超期最多的是{worst_street['name']}（{fmt(worst_street['overdue'])} 件）"
    if worst_dept is not None:
        text += (f"{'，' if worst_street is not None else ''}牵头部门中超期最多的是"
                 f"{worst_dept['name']}（{fmt(worst_dept['overdue'])} 件）")
    if worst_street is not None or worst_dept is not None:
        text += "。"
    return [Para(text, "lead"),
            Table(headline_table(cur, prev, yoy), "表1 主要指标及变化",
                  note=x.comparisons_text()
                  + f"；变化在 ±{compare.flat_pct():g}% 以内记为持平（→）。")]


def street_section(x: Inputs) -> list[Block]:
    f = x.f.area(None, None)
    data = {k: street_areas.query(x.con, g) for k, g in
            (("current", f), ("prev", f.compared("prev")), ("yoy", f.compared("yoy")))}
    bounds = street_areas.shared_bounds(list(data.values()), "overdue")
    png = maps.street_map(data["current"], "overdue", bounds,
                          f"各街道（镇）超期件数　{x.f.period.text()}")
    table = accountability.street_table(
        accountability.streets(x.con, f),
        {k: accountability.streets(x.con, f.compared(k)) for k in x.kinds()}, "overdue")
    return [Figure(png, "图1 各街道（镇）超期件数（数字为件数；分级由本期、上期、去年同期三期"
                        "共同确定，与会议展示一致）"),
            Table(table, "表2 街道（镇）排名（按超期件数）", note=measures.ranking_rule_text())]


#: The department table's columns on paper (the dashboard's, less the plain counts of
#: 待办, 逾期办结 and 不满意 and the time limit, whose rates and ratio are kept).
DEPARTMENT_PRINTED = ("排名", "受理", "超期", "超期率%", "逾期办结率%", "重新办理", "不满意率%",
                      "办理时长中位数（天）", "时限用时比中位数%", "超期环比", "超期同比")


def printed_departments(table: pd.DataFrame) -> pd.DataFrame:
    """The department ranking as printed: the department and :data:`DEPARTMENT_PRINTED`."""
    name = table.columns[1]
    return table[[table.columns[0], name, *DEPARTMENT_PRINTED[1:]]]


def department_section(x: Inputs) -> list[Block]:
    cur = x.once(accountability.departments, x.f)
    bases = {k: x.once(accountability.departments, x.compared(k)) for k in x.kinds()}
    lead = printed_departments(accountability.department_table(cur, bases, "overdue", "lead"))
    co = printed_departments(accountability.department_table(cur, bases, "overdue", "co"))
    return [Table(lead, "表3 牵头部门履职（按超期件数）", note=measures.ranking_rule_text()),
            Table(co, "表4 配合部门履职（按超期件数）",
                  note="配合部门：分类处置清单为该类诉求列明的配合单位；一件工单计入每个配合部门。"
                       + measures.help_text("median_limit_used"))]


def hotspot_section(x: Inputs) -> list[Block]:
    f = x.f.area(None, None)
    png = maps.hotspot_map(street_areas.query(x.con, f), heat.query(x.con, f),
                           hazards.query(x.con, f), f"诉求热点与未整改隐患　{x.f.period.text()}")
    return [Figure(png, "图2 诉求热点（六边形约 0.7 平方公里，分位数分级）与未整改隐患"),
            Table(stats.top_compounds(x.con, f), "表5 诉求最多的小区")]


def sanwu_committees(x: Inputs) -> list[Block]:
    """三无 taken over and owners' committees over the period, from the compounds' recorded
    histories: the figures of 工作进展 and of 会议展示's 三无与业委会 item."""
    table = progress.sanwu_and_committees(x.con, x.f)
    cm = history.committee_settings()["eligible_min_households"]
    return [Table(table, "表6 三无小区托管与业委会组建（按三无未托管排序）",
                  note="依据各小区的管理记录（街道托管、引入物业、成立业委会、换届等）；"
                       + "；".join(measures.progress_definitions(cm)))]


def hazard_section(x: Inputs) -> list[Block]:
    overdue = stats.overdue_hazards(x.con, x.f)
    total = overdue.attrs.get("total", len(overdue))
    return [Table(stats.hazard_summary(x.con, x.f), "表7 隐患整改情况",
                  note="；".join(measures.HAZARD_DEFINITIONS)),
            Table(overdue, f"表8 逾期未整改隐患（共 {fmt(total)} 处，列出逾期最久的 "
                           f"{len(overdue)} 处）")]


def city_case_section(x: Inputs) -> list[Block]:
    df, total = casework.city_cases(x.con, x.f)
    table = pd.DataFrame({
        "工单号": df["case_no"], "问题类别": df["category"], "牵头部门": df["lead_dept"],
        "街道/镇": df["street"].fillna("—"), "小区": df["compound"].fillna("—"),
        "受理日期": pd.to_datetime(df["received_at"], utc=True).dt.tz_convert(measures.TZ)
        .dt.strftime("%Y-%m-%d"),
        "超期天数": df["overdue_days"], "状态": df["status"]})
    return [Table(table, f"表9 市级复杂案件（期内受理、截至数据截止日仍未办结：共 {fmt(total)} 件，"
                         f"列出超期最久的 {len(table)} 件）")]


def typical_section(x: Inputs) -> list[Block]:
    df = casework.typical_cases(x.con, x.quarter, x.f)
    if df.empty:
        return [Para(f"{x.quarter} 尚未选定典型案例。")]
    table = pd.DataFrame({
        "工单号": df["case_no"], "问题类别": df["category"], "牵头部门": df["lead_dept"],
        "街道/镇": df["street"].fillna("—"), "小区": df["compound"].fillna("—"),
        "状态": df["status"], "说明": df["note"]})
    return [Table(table, f"表10 {periods.quarter_label_of(x.quarter)}典型案例")]


def firm_list_table(con: sa.Connection, quarter: str) -> pd.DataFrame:
    """The firms on the red and black lists as decided for ``quarter`` (``2026Q2``), as
    printed: :func:`geo.credit.lists` (red first, then black), its columns in Chinese."""
    df = credit.lists(con, "firm", Period.parse(quarter))
    return pd.DataFrame({
        "红黑榜": df["红黑榜"], "物业企业": df["名称"],
        "列入日期": pd.to_datetime(df["列入日期"]).dt.strftime("%Y-%m-%d"),
        "理由": df["理由"], "文号": df["文号"].fillna("—"), "依据": df["依据"].fillna("—")})


def firm_lists(x: Inputs) -> list[Block]:
    """Firms on the red and black lists, as the housing bureau decided them for the quarter."""
    table = firm_list_table(x.con, x.quarter)
    label = periods.quarter_label_of(x.quarter)
    if table.empty:
        return [Para(f"{label}没有列入红榜或黑榜的物业服务企业。")]
    return [Table(table, "表11 物业服务企业红黑榜",
                  note=f"住建局对{label}及以前各季度作出的红黑榜决定（信用评价页、"
                       "propmap export firms 与此一致）；理由与文号为决定所载。")]


#: The party-building coverage columns the briefing prints (the page shows every column).
PARTY_COLUMNS = ("街道/镇", "业委会数", "已建党组织的业委会", "业委会党组织覆盖率%",
                 "服务本区的物业企业", "已建党组织的企业", "企业党组织覆盖率%")


def party_section(x: Inputs) -> list[Block]:
    """Party and mass organisations of owners' committees and firms (红色物业, 党建引领): the
    summary and the table per street office of 覆盖缺口与党建 (:func:`geo.party.report`)."""
    rep = party.report(x.con)
    streets = rep["streets"]
    table = streets[[c for c in PARTY_COLUMNS if c in streets.columns]]
    return [*(Para(line) for line in rep["lines"]),
            Table(table, "表12 党组织与群团组织覆盖（按街道/镇）",
                  note="；".join(party.DEFINITIONS) + "。与“覆盖缺口与党建”页一致。")]


def definitions(x: Inputs) -> list[Block]:
    lines = [f"时段：{x.f.period.text()}；数据截止日 {x.f.as_of:%Y-%m-%d}，"
             "超期、逾期办结均按此日判断，与看板一致。",
             *measures.definitions(), *(m.definition for m in measures.MEDIANS),
             *measures.HAZARD_DEFINITIONS, measures.ranking_rule_text(),
             "环比：与上一周期相比（季度与上季度、月与上月的同样天数，其他时段与紧邻的前一段）；"
             "同比：与去年同期相比。对比期按其自身截止时点判断超期。"]
    if x.synthetic:
        lines.append(synthetic_text(x.con))
    return [Para(t, "note") for t in lines]


def synthetic_text(con: sa.Connection) -> str:
    """What of the demo is real and what is generated, as the demo recorded it (etl.demo)."""
    meta = {str(k): str(v) for k, v in con.execute(sa.text(
        "SELECT key, value FROM dataset_meta WHERE key IN ('real_parts', 'synthetic_parts')"))}
    if meta.get("real_parts") and meta.get("synthetic_parts"):
        return (f"本简报所用为演示数据（合成）。真实：{meta['real_parts']}。"
                f"程序生成：{meta['synthetic_parts']}。")
    return "本简报所用为演示数据（合成）：边界、小区与工单均为程序生成，不是真实数据。"


#: The briefing's sections, in order.
SECTIONS: list[SectionSpec] = [
    SectionSpec("headline", "总体情况", headline),
    SectionSpec("streets", "各街道（镇）情况", street_section),
    SectionSpec("departments", "部门履职", department_section),
    SectionSpec("hotspots", "热点分布", hotspot_section),
    SectionSpec("sanwu", "三无小区与业主委员会", sanwu_committees),
    SectionSpec("hazards", "隐患整改", hazard_section),
    SectionSpec("city_cases", "市级复杂案件", city_case_section),
    SectionSpec("typical", "典型案例", typical_section),
    SectionSpec("firms", "物业服务企业红黑榜", firm_lists),
    SectionSpec("party", "党建引领：党组织与群团组织覆盖", party_section),
    SectionSpec("definitions", "口径说明", definitions),
]


def period_title(f: Filters) -> str:
    """``2026年第3季度（2026-07-01 至 2026-09-30）``, or the dates of another period."""
    p = f.period
    if p.start == periods.quarter_start(p.start) and p.end <= periods.quarter_end(p.start):
        return f"{periods.quarter_label(p.start)}（{p.text()}）"
    return p.text()
