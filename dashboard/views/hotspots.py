"""隐患热点: significant and emerging hot spots of a theme, repeats, the inspection list, hazards.

For the fire brigade and the police: for the theme chosen (the account's own
themes for a department; every dispute only for an account that reads every
case) and the sidebar's period, the hexagons that are significant hot or cold
spots (Getis-Ord Gi*, :mod:`layers.hotspot_stats`) or, switched, their emerging
pattern over the period; the compounds where closed cases come back (办结后再诉);
the ranked inspection list (documented score, downloadable as xlsx) and the
open hazards, overdue first. Everything is read under the account's scope, so
row-level security decides which cases the statistics count.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard import auth, common, data, records
from dashboard import map as pmap
from geo import measures, sheets
from layers import hotspot, hotspot_stats, registry
from layers.analysis import gistar
from layers.base import Layer, LayerData

#: The map's two views (registered layers over the same data).
VIEWS = ("gistar", "emerging")
#: Compounds need at least this many cases of the theme in the period to be ranked by
#: repeat rate (a rate of 1 in 2 says little).
REPEAT_MIN_RECEIVED = 5
HOT = ("hot_99", "hot_95", "hot_90")
EMERGING_NOW = ("new_hot", "consecutive_hot", "intensifying_hot")


def _scope_note(label: str) -> str:
    sc = common.scope()
    if sc.kind == "dept":
        return (f"本账号可查看全市全部{label}工单：热点按全市{label}工单计算，"
                "与联席会议看到的相同。")
    if not sc.city_wide:
        return ("热点按本账号辖区内的工单计算（辖区外的工单不在本账号权限内），"
                "是相对本辖区的热点。")
    return ""


@common.guarded
def main() -> None:
    common.setup("隐患热点")
    f0 = common.filters()
    themes = common.hotspot_themes()
    if not themes:
        st.info("本账号所属部门没有对应的隐患主题（消防、电梯、治安与噪声），没有可显示的热点。")
        return
    top = st.columns([3, 2, 1, 1], vertical_alignment="bottom")
    theme = top[0].segmented_control(
        "主题", themes, format_func=lambda k: hotspot_stats.THEME_LABELS[k],
        default=themes[0], key="hs_theme") or themes[0]
    view = top[1].segmented_control(
        "地图", VIEWS, format_func=lambda k: registry.get(k).label, default="gistar",
        key="hs_view") or "gistar"
    per_hh = top[2].toggle("按每千户折算", key="hs_per_hh",
                           help="分析每千户的诉求数而非诉求数：人多的地方诉求多不算热点。"
                                "没有住户的六边形不参与。时空模式始终按诉求数。")
    show_hazards = top[3].toggle("叠加未整改隐患", value=True, key="hs_show_hazards")
    distinct = common.distinct()
    label = hotspot_stats.THEME_LABELS[theme]
    # the page's theme replaces the sidebar's theme and category filters
    f = f0.with_(themes=hotspot_stats.THEMES[theme], categories=(), distinct=distinct)
    ctx = data.ctx()
    cells = data.hotspot_map(ctx, f, theme, per_hh)
    inspect_cells, inspect_compounds = data.hotspot_inspection(ctx, f, theme, per_hh)
    cases = f.with_(distinct=False)
    h = data.headline(ctx, cases)
    open_hz = data.hotspot_open_hazards(ctx, cases, theme)
    overdue = int(open_hz["overdue"].sum()) if len(open_hz) else 0
    classes, patterns = cells.meta["classes"], cells.meta["patterns"]
    hot = sum(classes.get(k, 0) for k in HOT)
    emerging_now = sum(patterns.get(k, 0) for k in EMERGING_NOW)
    repeat_rate = measures.RATE_BY_KEY["repeat_rate"]
    common.kpis([
        (f"期内{label}诉求（去重）", h["distinct"], False),
        ("工单（件）", h["received"], False),
        ("显著热点六边形", hot, hot > 0),
        ("新出现或加剧的热点", emerging_now, emerging_now > 0),
        (repeat_rate.label, f"{h['repeat_rate']}%" if h["repeat_rate"] is not None else None,
         False),
        ("未整改隐患", len(open_hz), False),
        ("其中逾期未整改", overdue, overdue > 0),
    ])
    unlocated = (h["distinct"] if distinct else h["received"]) - (
        cells.meta["complaints"] if distinct else cells.meta["cases"])
    st.caption(
        f"时段：{common.period_text(f)}　·　计数：{common.count_text(distinct)}"
        + ("，按每千户折算" if per_hh else "")
        + "　·　六边形约 0.7 平方公里，连同相邻 6 个六边形与全市比较"
        + (f"　·　{unlocated:,} 件无位置，未参与分析" if unlocated > 0 else "")
        + (f"　·　{_scope_note(label)}" if _scope_note(label) else ""))

    streets_layer, streets = common.layer("street_areas", f0)
    drawn: list[tuple[Layer, LayerData, dict[str, Any]]] = [
        (streets_layer, streets, {"measure": None}), (registry.get(view), cells, {})]
    if show_hazards:
        drawn.append((*common.layer("hazards", cases), {}))
    focus = [ft for ft in cells.features
             if (ft["properties"]["class"] in HOT if view == "gistar"
                 else ft["properties"]["pattern"].endswith("_hot"))]
    m, legend = pmap.build(drawn, bounds=pmap.bounds_of(focus)
                           or pmap.city_bounds(streets.features))
    common.show_map(m, legend, key=f"hs-{theme}-{view}", height=640, legend_width=0.3)
    with st.expander("图例说明：热点类别与时空模式是什么意思"):
        st.caption(gistar.LEGEND_NOTE)
        st.dataframe(hotspot_stats.legend_rows().drop(columns=["颜色"]), hide_index=True,
                     width="stretch")

    st.subheader(f"{label}排查清单（按排查优先分）")
    with st.container(key="hs_score"):
        st.markdown("\n".join(f"- {line}" for line in [
            *hotspot_stats.score_lines(),
            "小区取所在六边形的热点类别与时空模式，加上本小区自己的隐患与办结后再诉；"
            "六边形取其中各小区之和。"]))
    synthetic = ["演示数据（合成）"] if data.synthetic(ctx) else []
    notes = [f"计数：{common.count_text(distinct)}" + ("，按每千户折算" if per_hh else ""),
             *synthetic]
    auth.download_button(
        "下载排查清单（Excel）",
        lambda: hotspot_stats.inspection_workbook(inspect_cells, inspect_compounds, theme, f,
                                                  notes),
        f"{label}排查清单.xlsx", what="inspection",
        rows=len(inspect_cells) + len(inspect_compounds),
        filters={"theme": theme, "period": common.period_text(f), "distinct": distinct,
                 "per_households": per_hh}, key="hs_inspection", primary=True)
    every = data.hotspot_classified(ctx, f, theme, per_hh)
    auth.download_button(
        "下载全部热点、冷点与时空模式（Excel）",
        lambda: hotspot_stats.classified_workbook(every, theme, f, notes),
        f"{label}热点与时空模式.xlsx", what="hotspot_classes", rows=len(every),
        filters={"theme": theme, "period": common.period_text(f), "distinct": distinct,
                 "per_households": per_hh}, key="hs_classified")
    left, right = st.columns([3, 2])
    with left:
        st.markdown("**重点小区**")
        st.dataframe(inspect_compounds, hide_index=True, width="stretch", height=380)
    with right:
        st.markdown("**重点六边形**")
        st.dataframe(inspect_cells.drop(columns=["中心经度", "中心纬度"]), hide_index=True,
                     width="stretch", height=380)

    left, right = st.columns([2, 3])
    with left:
        st.subheader("办结后再诉最多的小区")
        st.caption(f"{measures.BY_KEY['repeat'].definition}。"
                   f"期内{label}诉求至少 {REPEAT_MIN_RECEIVED} 件的小区，"
                   f"按{repeat_rate.label}排序。")
        rep = data.repeat_compounds(ctx, cases, 15, REPEAT_MIN_RECEIVED)
        if rep.empty:
            st.info("该时段没有达到件数的小区。")
        else:
            st.dataframe(rep, hide_index=True, width="stretch", height=420)
    with right:
        st.subheader("未整改隐患（超期在前）")
        auth.download_button(
            "下载未整改隐患清单（Excel）",
            lambda: sheets.workbook([("未整改隐患", hotspot.table(open_hz))], [
                f"{label}未整改隐患，数据截止 {f.as_of:%Y-%m-%d}，超期在前",
                *measures.HAZARD_DEFINITIONS, *synthetic]),
            f"{label}未整改隐患.xlsx", what="hazards", rows=len(open_hz),
            filters={"theme": theme}, key="hs_hazards_download")
        st.dataframe(hotspot.table(open_hz), hide_index=True, width="stretch", height=420)
        # the form offers the hazards of the list above, no more and no fewer
        records.flash()
        records.hazard_form(open_hz, key=f"hs-{theme}")


if __name__ == "__main__":
    main()
