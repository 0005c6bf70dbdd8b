"""物业企业: which compounds each firm serves, how each firm's compounds fare, and one firm's
profile (its compounds on the map, its rates against the city median, its complaints, its
credit history and list status, and what a meeting should notice)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard import auth, common, data
from dashboard import map as pmap
from geo import measures, sheets
from geo.credit import CreditInputError
from geo.credit_model import LIST_STATUSES, Period, explain
from layers import style
from layers.base import Layer, LayerData
from layers.filters import Filters
from layers.html import md

#: How the firm table shows its numbers: counts whole, rates and per-1,000 with one decimal.
NUMBER_FORMATS = {"服务小区": "%d", "服务户数": "%d", "期内诉求": "%d", "超期": "%d",
                  "每千户诉求": "%.1f", "超期率%": "%.1f", "逾期办结率%": "%.1f",
                  f"{measures.RATE_BY_KEY['repeat_rate'].label}%": "%.1f", "满意率%": "%.1f"}


def _definitions() -> str:
    keys = ("overdue", "closed_late")
    return "；".join([measures.BY_KEY[k].definition for k in keys]
                    + [measures.RATE_BY_KEY[k].definition
                       for k in ("overdue_rate", "closed_late_rate", "repeat_rate",
                                 "satisfaction_rate")]
                    + [measures.PER_1000_DEFINITION])


def _firm_choice(names: dict[int, str]) -> int | None:
    """The firm in the URL (``firm``), chosen again in a select box."""
    raw = st.query_params.get("firm")
    current = int(raw) if raw and raw.isdigit() and int(raw) in names else None
    options: list[int | None] = [None, *sorted(names, key=lambda i: names[i])]
    chosen = st.selectbox("突出显示企业", options, index=options.index(current),
                          format_func=lambda i: "（全部企业，按信用等级着色）" if i is None
                          else names[i], key="firm_pick")
    if chosen != current:
        common.navigate(firm=None if chosen is None else str(chosen))
    return chosen


@common.guarded
def main() -> None:
    common.setup("物业企业")
    f0 = common.filters()
    c = data.ctx()
    top = st.columns([1, 2, 2])
    with top[0]:
        street = common.street_filter("firms_street")
    f = f0.area(street)
    names = data.firm_names(c)
    with top[1]:
        firm = _firm_choice(names)
    st.caption(f"时段：{common.period_text(f)}　·　{_definitions()}")

    streets_layer, streets = common.layer("street_areas", f0.area(None))
    coverage_layer, coverage = common.layer("firm_coverage", f)
    drawn: list[tuple[Layer, LayerData, dict[str, Any]]] = [
        (streets_layer, streets, {"measure": None, "interactive": False}),
        (coverage_layer, coverage, {"highlight": firm})]
    focus = [ft for ft in streets.features if ft["properties"]["code"] == street]
    m, legend = pmap.build(drawn, bounds=pmap.bounds_of(focus) if focus
                           else pmap.city_bounds(streets.features))
    clicked = common.show_map(m, legend, key=common.nav_key("firms"), height=560,
                              legend_width=0.28)
    if clicked and clicked.get("kind") == "compound" and clicked.get("firm_id"):
        common.navigate(firm=str(int(clicked["firm_id"])))
    st.caption("点击地图上的小区可突出显示其物业企业；街道底图不响应悬停，悬停小区显示小区与企业。")

    st.subheader("各物业企业服务情况")
    table = data.firm_table(c, f)
    shown = table.drop(columns=["id"])
    st.dataframe(shown, hide_index=True, width="stretch", height=460,
                 column_config={k: st.column_config.NumberColumn(k, format=v)
                                for k, v in NUMBER_FORMATS.items()})
    where = common.visible_streets().get(street, "全市") if street else "全市"
    st.caption(f"共 {len(shown)} 家企业（{md(where)}；不在本范围服务小区的企业计为 0）。"
               "信用等级与红黑榜为已发布、已决定的结果，见“信用评价”页。")
    auth.download_button("下载企业服务情况（Excel）",
                         sheets.workbook([("物业企业", shown)],
                                         [f"物业企业服务情况（{where}）",
                                          f"时段：{common.period_text(f)}",
                                          *_definitions().split("；")]),
                         "物业企业服务情况.xlsx", what="firm_table", rows=len(shown),
                         filters={"street": street, "period": common.period_text(f)},
                         key="firms_download")
    if firm is not None:
        _profile(firm, names[firm], f, table)


def _profile(firm: int, name: str, f: Filters, table: pd.DataFrame) -> None:
    """One firm: figures, flags, trend against the median, complaints, credit history."""
    c = data.ctx()
    st.divider()
    st.subheader(f"企业档案：{md(name)}")
    row = table[table["id"] == firm]
    published = data.credit_published(c, "firm").get(firm)
    status = row["红黑榜"].iloc[0] if len(row) else ""
    ev = None
    if c.scope.city_wide:
        try:
            ev = data.credit_evaluation(c, "firm", None)
        except CreditInputError as exc:  # no complete quarter yet: say so, keep the rest
            st.info(str(exc))
    for flag in (ev.flags.get(firm, []) if ev else []):
        st.warning("⚑ " + flag)
    r = row.iloc[0] if len(row) else None
    common.kpis([
        ("服务小区", int(r["服务小区"]) if r is not None else 0, False),
        ("服务户数", int(r["服务户数"]) if r is not None else 0, False),
        ("期内诉求（件）", int(r["期内诉求"]) if r is not None else 0, False),
        ("每千户诉求", None if r is None or pd.isna(r["每千户诉求"]) else f"{r['每千户诉求']:.1f}",
         False),
        ("信用等级（已发布）", f"{published['band']}（{published['period'] or '迁移前'}）"
         if published else "未发布", bool(published and published["band"] in ("C", "D"))),
        ("红黑榜", status or "未列入", status == "黑榜"),
    ])
    left, right = st.columns([3, 2])
    with left:
        st.markdown("**季度指标与全市中位数**")
        if ev is None:
            st.info("季度评分与全市中位数按全市数据计算，仅向全市范围的账号显示。")
        else:
            trend = ev.trend(firm)
            labels = list(dict.fromkeys(trend["label"]))
            pick = st.radio("指标", labels, horizontal=True, key="firm_trend_measure")
            t = trend[trend["label"] == pick].set_index("period")[["value", "median"]]
            st.line_chart(t.rename(columns={"value": "本企业", "median": "全市中位数"}),
                          color=[style.SELECTED_FIRM, style.OTHER_FIRM], height=260)
            st.caption("中位数取样本充足的企业；计入类别见“信用评价”页的模型说明。")
    with right:
        st.markdown(f"**投诉类别（{common.period_text(f)}）**")
        cats = data.firm_categories(c, f.area(None), firm)
        if cats.empty:
            st.info("该时段没有工单。")
        else:
            st.dataframe(cats, hide_index=True, width="stretch", height=300,
                         column_config={"占比%": st.column_config.NumberColumn(
                             "占比%", format="%.1f")})
    if ev is not None and (s := ev.score(firm)) is not None:
        fx = ev.facts.get((firm, ev.period))
        with st.expander(f"{ev.period.label}评分明细（得分 {s.total:g}，"
                         f"{'等级 ' + s.band if s.band else '不评级'}）", expanded=False):
            st.text("\n".join(explain(ev.model, s, fx.households if fx else None,
                                      fx.counts.get("received") if fx else None)))
        prop = ev.proposals.get(firm)
        if prop is not None:
            st.caption(f"红黑榜：当前 {LIST_STATUSES[prop.current]}；系统建议 "
                       f"{LIST_STATUSES[prop.status]}（{prop.reason}）"
                       + ("；待住建局决定" if prop.pending else ""))
    hist = data.credit_history(c, "firm", firm)
    st.markdown("**信用记录**")
    tabs = st.tabs(["已发布的评价", "红黑榜决定", "表彰与处罚等记录"])
    for tab, key, empty in zip(tabs, ("ratings", "lists", "events"),
                               ("尚未发布评价。", "没有红黑榜决定。", "没有记录事项。"),
                               strict=True):
        with tab:
            if hist[key].empty:
                st.info(empty)
            else:
                st.dataframe(hist[key], hide_index=True, width="stretch")
    latest = Period.last_complete(f.as_of)
    st.caption(f"评价按季度进行，最近一个完整季度为{latest.label}；记录只追加，不可修改。")


if __name__ == "__main__":
    main()
