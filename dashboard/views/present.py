"""会议展示: the city map first, in large type, with no sidebar (1920×1080 projector).

The map takes the left three quarters of the screen at full height; the
headline figures, the measure and the legend stand beside it, so nothing
needs scrolling.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard import common, progress_tiles
from dashboard import map as pmap
from layers.base import Layer, LayerData
from layers.street_areas import MEASURES

MAP_HEIGHT = 880


@common.guarded
def main() -> None:
    common.setup("凯里市物业矛盾纠纷一张图", presentation=True)
    f = common.filters()
    left, right = st.columns([0.72, 0.28])
    with right:
        common.headline_tiles(f, big=True, stacked=True)
        measure = st.pills("着色指标", list(MEASURES), format_func=lambda k: MEASURES[k][0],
                           default="overdue", key="pr_measure",
                           label_visibility="collapsed") or "overdue"
    streets_layer, streets = common.layer("street_areas", f)
    drawn: list[tuple[Layer, LayerData, dict[str, Any]]] = [
        (streets_layer, streets, {"measure": measure, "label_px": 20, "outline": 2.5}),
        (*common.layer("sanwu", f), {"radius": 5.5})]
    m, legend = pmap.build(drawn, bounds=pmap.city_bounds(streets.features, margin=0.12))
    with left:
        common.map_widget(m, key=f"present-{measure}", height=MAP_HEIGHT)
    with right:
        st.markdown(f'<div class="pm-big-legend">{legend}</div>', unsafe_allow_html=True)
        st.caption(f"时段：{common.period_text(f)}　·　数据截至 {f.as_of:%Y-%m-%d}")
        st.caption(progress_tiles.line(f))  # the street offices' work, in one line


if __name__ == "__main__":
    main()
