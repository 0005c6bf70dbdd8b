"""三无小区清单: a street office's unmanaged and old compounds, ranked, on the map and in Excel."""

from __future__ import annotations

import streamlit as st

from dashboard import auth, common, data
from dashboard import map as pmap
from geo import measures, sheets
from layers import worklist


@common.guarded
def main() -> None:
    common.setup("三无小区与老旧小区工作清单")
    f0 = common.filters()
    names = common.visible_streets()
    codes = list(names)
    current = st.query_params.get("street")
    if current and current not in names:
        common.refuse("该街道/镇不在您的辖区内。")
    street: str = st.selectbox("街道办事处/镇", codes,
                               index=codes.index(current) if current in names else 0,
                               format_func=lambda c: names[c], key="wl_street") or codes[0]
    if street != current:
        st.query_params["street"] = street
    f = f0.area(street)
    ranked = data.worklist_ranked(data.ctx(), f)
    table = worklist.table(ranked)
    n_sanwu = int(ranked["is_sanwu"].sum()) if len(ranked) else 0
    common.kpis([("清单小区", len(ranked), False), ("其中三无", n_sanwu, n_sanwu > 0),
                 ("涉及户数", int(ranked["households"].sum()) if len(ranked) else 0, False),
                 ("未整改隐患", int(ranked["open_hazards"].sum()) if len(ranked) else 0, False)])
    st.caption(f"时段：{common.period_text(f)}　·　" + " ".join(worklist.explanation()))

    notes = [f"{names[street]} 三无小区与老旧小区工作清单",
             f"时段：{common.period_text(f)}；数据截至 {f.as_of:%Y-%m-%d}",
             *worklist.explanation(), measures.LATE_HELP, *measures.HAZARD_DEFINITIONS,
             *(["演示数据（合成），非真实小区。"] if data.synthetic(data.ctx()) else [])]
    sheet = f"{names[street]}工作清单"
    auth.download_button("下载 Excel 清单", lambda: sheets.workbook([(sheet, table)], notes),
                         f"{names[street]}-三无小区清单.xlsx",
                         what="worklist", rows=len(table),
                         filters={"street": street, "period": common.period_text(f)},
                         key="wl_download", primary=True)

    left, right = st.columns([1, 1])
    with left:
        st.dataframe(table, hide_index=True, width="stretch", height=620)
    with right:
        streets_layer, streets = common.layer("street_areas", f)
        drawn = [(streets_layer, streets, {"measure": None}), (*common.layer("compounds", f), {})]
        focus = [ft for ft in streets.features if ft["properties"]["code"] == street]
        m, legend = pmap.build(drawn, bounds=pmap.bounds_of(focus))
        clicked = common.show_map(m, legend, key=common.nav_key(f"wl-{street}"), height=600,
                                  legend_width=0.32)
        if clicked and clicked.get("kind") == "compound":
            st.session_state["_nav"] = st.session_state.get("_nav", 0) + 1
            st.switch_page("views/drilldown.py",
                           query_params={"street": street, "compound": str(clicked["id"])})


if __name__ == "__main__":
    main()
