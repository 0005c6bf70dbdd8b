"""全市总览: streets by a chosen measure (and its change), figures, trend, rankings of street
offices and departments."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard import charts, common, data, meeting, progress_tiles
from geo import measures
from layers import accountability, registry
from layers.base import Layer, LayerData
from layers.filters import Filters
from layers.street_areas import MEASURES


def city_map(f: Filters) -> None:
    """The street offices coloured by a measure, a period or a change; optional layers."""
    measure = st.radio("着色指标", list(MEASURES), format_func=lambda k: MEASURES[k][0],
                       horizontal=True, key="ov_measure")
    c2, c3 = st.columns([1, 1])
    view = c2.segmented_control("时段与对比", list(meeting.MAP_VIEWS),
                                format_func=lambda k: meeting.MAP_VIEWS[k], default="current",
                                key="ov_view") or "current"
    offered = common.layers_for_scope(registry.OVERVIEW_OPTIONAL)
    optional = c3.pills("叠加图层", offered, selection_mode="multi",
                        default=["sanwu"], format_func=lambda k: registry.get(k).label,
                        key="ov_layers") or []
    extra: list[tuple[Layer, LayerData, dict[str, Any]]] = [
        (*common.layer(key, f), {}) for key in offered if key in optional]
    m, legend = meeting.street_map(f, measure, view, extra=extra)
    st.caption(meeting.view_period_text(f, view) + "　·　点击地图上的街道/镇进入下钻")
    clicked = common.show_map(m, legend, key=common.nav_key(f"overview-{view}"), height=640)
    if clicked and clicked.get("kind") == "street":
        common.go("views/drilldown.py", street=clicked["code"])


def trend_and_streets(f: Filters) -> None:
    left, right = st.columns([2, 3])
    with left:
        st.subheader("每周受理趋势")
        trend = data.weekly_trend(data.ctx(), f)
        if trend.empty:
            st.info("该时段没有工单。")
        else:
            st.altair_chart(charts.weekly_trend(trend), width="stretch")
            if bool((trend["days"] < 7).any()):
                st.caption("空心点：时段首尾不满 7 天的周，已按 7 天折算，避免看成下降。")
    with right:
        st.subheader("街道/镇排名")
        key = meeting.rank_key_picker(meeting.STREET_KEYS, key="ov_street_key")
        meeting.show_ranking(meeting.street_ranking(f, key), height=330)
        st.caption(meeting.comparison_caption(f))


def departments(f: Filters) -> None:
    """部门履职: lead and co-handling departments ranked, with a way into their cases."""
    st.subheader("部门履职")
    c1, c2, c3 = st.columns([1, 2, 3], vertical_alignment="bottom")
    role = c1.segmented_control("角色", list(accountability.ROLES),
                                format_func=lambda k: accountability.ROLES[k] + "部门",
                                default="lead", key="ov_dept_role") or "lead"
    with c2:
        key = meeting.rank_key_picker(meeting.DEPARTMENT_KEYS, key="ov_dept_key")
    table = meeting.department_ranking(f, key, role)
    meeting.show_ranking(table, height=440, key="ov_dept_table")
    st.caption(measures_caption())
    names = data.department_names(data.ctx())
    codes = {v: k for k, v in names.items()}
    first = table.columns[1]
    with c3:
        pick_col, go_col = st.columns([3, 1], vertical_alignment="bottom")
        pick = pick_col.selectbox("查看部门的工单", list(table[first]), key="ov_dept_pick",
                                  index=None, placeholder="选择部门…")
        if go_col.button("查看工单 →", key="ov_dept_go", disabled=pick is None):
            st.switch_page("views/cases.py",
                           query_params={"dept": codes[str(pick)], "role": role})


def measures_caption() -> str:
    return measures.ranking_rule_text() + " " + measures.LATE_HELP


def progress(f: Filters) -> None:
    """The street offices' work month by month (工作进展: 三无, committees, hazards)."""
    st.subheader("工作进展：按月趋势")
    progress_tiles.trend(f)


def main_sections(f: Filters) -> None:
    """The overview's sections, in order (another issue's section is one more call here)."""
    city_map(f)
    trend_and_streets(f)
    departments(f)
    progress(f)


@common.guarded
def main() -> None:
    common.setup("全市总览")
    f = common.filters()
    st.caption(f"时段：{common.period_text(f)}　·　各项指标的口径：将鼠标停在数字上查看　·　"
               f"数字按工单件数计（另列去重后的诉求数）；热力与热点按{common.count_text()}计")
    common.headline_tiles(f, compare_kind="prev")
    progress_tiles.tiles(f, keys=(  # the street offices' work: 三无, committees, hazards (工作进展)
        "taken_over", "untaken_end", "custody_end", "committee_rate", "committee_overdue",
        "hazards_late"))
    main_sections(f)


if __name__ == "__main__":
    main()
