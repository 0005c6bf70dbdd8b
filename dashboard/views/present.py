"""会议展示: the city map first, in large type, with no sidebar (1920×1080 projector)."""

from __future__ import annotations

import streamlit as st

from dashboard import common
from dashboard import map as pmap
from layers.street_areas import MEASURES


@common.guarded
def main() -> None:
    common.setup("凯里市物业矛盾纠纷一张图", presentation=True)
    f = common.filters()
    common.headline_tiles(f, big=True)
    measure = st.segmented_control("着色指标", list(MEASURES), format_func=lambda k: MEASURES[k][0],
                                   default="overdue", key="pr_measure") or "overdue"
    streets_layer, streets = common.layer("street_areas", f)
    drawn = [(streets_layer, streets, {"measure": measure}), (*common.layer("sanwu", f), {})]
    m, legend = pmap.build(drawn, bounds=pmap.bounds_of(streets.features))
    common.show_map(m, f'<div class="pm-big-legend">{legend}</div>', key=f"present-{measure}",
                    height=720, legend_width=0.22)
    st.caption(f"时段：{common.period_text(f)}　·　数据截至 {f.as_of:%Y-%m-%d}")


if __name__ == "__main__":
    main()
