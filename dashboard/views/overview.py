"""全市总览: streets by a chosen measure, optional layers, figures, trend, ranking."""

from __future__ import annotations

import streamlit as st

from dashboard import common, data, progress_tiles
from dashboard import map as pmap
from layers import registry
from layers.street_areas import MEASURES


@common.guarded
def main() -> None:
    common.setup("全市总览")
    f = common.filters()
    st.caption(f"时段：{common.period_text(f)}　·　点击地图上的街道/镇进入下钻　·　"
               f"数字按工单件数计（另列去重后的诉求数）；热力与热点按{common.count_text()}计")
    common.headline_tiles(f)
    progress_tiles.tiles(f, keys=(  # the street offices' work: 三无, committees, hazards (工作进展)
        "taken_over", "untaken_end", "custody_end", "committee_rate", "committee_overdue",
        "hazards_late"))

    c1, c2 = st.columns([1, 1])
    measure = c1.radio("着色指标", list(MEASURES), format_func=lambda k: MEASURES[k][0],
                       horizontal=True, key="ov_measure")
    offered = common.layers_for_scope(registry.OVERVIEW_OPTIONAL)
    optional = c2.pills("叠加图层", offered, selection_mode="multi",
                        default=["sanwu"], format_func=lambda k: registry.get(k).label,
                        key="ov_layers") or []
    streets_layer, streets = common.layer("street_areas", f)
    drawn = [(streets_layer, streets, {"measure": measure})]
    for key in offered:
        if key in optional:
            lyr, layer_data = common.layer(key, f)
            drawn.append((lyr, layer_data, {}))
    m, legend = pmap.build(drawn, bounds=pmap.city_bounds(streets.features))
    clicked = common.show_map(m, legend, key=common.nav_key("overview"), height=640)
    if clicked and clicked.get("kind") == "street":
        st.session_state["_nav"] = st.session_state.get("_nav", 0) + 1
        st.switch_page("views/drilldown.py", query_params={"street": clicked["code"]})

    left, right = st.columns([3, 2])
    with left:
        st.subheader("每周受理趋势")
        trend = data.weekly_trend(data.ctx(), f)
        if trend.empty:
            st.info("该时段没有工单。")
        else:
            st.line_chart(trend.rename(columns={"received": "受理", "pending": "其中待办",
                                                "overdue": "其中超期"}).set_index("week"),
                          height=300)
    with right:
        st.subheader("街道/镇排名（按超期）")
        ranking = data.street_ranking(data.ctx(), f)
        shown = set(common.visible_streets().values())
        st.dataframe(ranking[ranking["街道/镇"].isin(shown)], hide_index=True, height=300,
                     width="stretch")
    st.subheader("工作进展：按月趋势")
    progress_tiles.trend(f)


if __name__ == "__main__":
    main()
