"""隐患热点: a theme's cases and hazards on hexagons, top compounds, open hazards."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard import auth, common, data
from dashboard import map as pmap
from geo import measures, sheets
from layers import heat, registry
from layers.base import Layer, LayerData
from layers.filters import HOTSPOT_LABELS


@common.guarded
def main() -> None:
    common.setup("隐患热点")
    f0 = common.filters()
    theme = st.segmented_control("主题", list(HOTSPOT_LABELS),
                                 format_func=lambda k: HOTSPOT_LABELS[k],
                                 default="fire", key="hs_theme") or "fire"
    f = f0.with_(themes=(theme,), categories=())
    hexes = data.hotspot_hexagons(data.ctx(), f, theme)
    top = data.hotspot_top_compounds(data.ctx(), f, theme)
    open_hz = data.hotspot_open_hazards(data.ctx(), f, theme)
    overdue = int((open_hz["超期天数"] > 0).sum()) if len(open_hz) else 0
    received = data.headline(data.ctx(), f)["received"]
    common.kpis([(f"期内{HOTSPOT_LABELS[theme]}诉求", received, False),
                 ("期内发现隐患", hexes.meta["hazards"], False),
                 ("未整改隐患", len(open_hz), False), ("其中逾期未整改", overdue, overdue > 0)])
    unlocated = received - hexes.meta["cases"]
    st.caption(f"时段：{common.period_text(f)}　·　六边形约 0.7 平方公里，颜色为诉求与隐患合计"
               + (f"　·　{unlocated:,} 件诉求无位置，未上图" if unlocated else ""))

    streets_layer, streets = common.layer("street_areas", f)
    drawn: list[tuple[Layer, LayerData, dict[str, Any]]] = [
             (streets_layer, streets, {"measure": None}),
             (heat.LAYER, hexes, {"name": "热点", "fields": (("cases", "诉求"), ("hazards", "隐患"),
                                                           ("n", "合计")),
                                  "title": "热点密度（诉求＋隐患，件/六边形，分位数分级）"}),
             (registry.get("hazards"), common.layer("hazards", f)[1], {})]
    # fit to the busier hexagons (top fifth), so the hotspots fill the screen
    ns = sorted(ft["properties"]["n"] for ft in hexes.features)
    cut = ns[int(len(ns) * 0.8)] if ns else 0
    busy = [ft for ft in hexes.features if ft["properties"]["n"] >= cut]
    m, legend = pmap.build(drawn, bounds=pmap.bounds_of(busy) or pmap.bounds_of(streets.features))
    common.show_map(m, legend, key=f"hs-{theme}", height=600)

    notes = [f"{HOTSPOT_LABELS[theme]}热点，时段 {common.period_text(f)}",
             *measures.HAZARD_DEFINITIONS,
             *(["演示数据（合成）"] if data.synthetic(data.ctx()) else [])]
    auth.download_button("下载热点与隐患清单（Excel）",
                         lambda: sheets.workbook([("热点小区", top), ("未整改隐患", open_hz)],
                                                 notes),
                         f"{HOTSPOT_LABELS[theme]}热点.xlsx", what="hotspots",
                         rows=len(top) + len(open_hz),
                         filters={"theme": theme, "period": common.period_text(f)},
                         key="hs_download")
    left, right = st.columns([2, 3])
    with left:
        st.subheader("热点小区（重复发生地）")
        st.dataframe(top, hide_index=True, width="stretch")
    with right:
        st.subheader("未整改隐患（超期在前）")
        st.dataframe(open_hz, hide_index=True, width="stretch", height=420)


if __name__ == "__main__":
    main()
