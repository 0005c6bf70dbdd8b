"""三无小区清单: a street office's unmanaged and old compounds, ranked, on the map and in Excel.

三无 and 托管 are told apart (三无，未托管 is the work; 三无，已托管 the progress); the
xlsx carries columns for the actions taken, and a filled-in file uploaded here
records them (:mod:`dashboard.records`).
"""

from __future__ import annotations

import streamlit as st

from dashboard import auth, common, data, progress_tiles, records
from dashboard import map as pmap
from layers import worklist


@common.guarded
def main() -> None:
    common.setup("三无小区与老旧小区工作清单")
    f0 = common.filters()
    names = common.visible_streets()
    street = common.street_choice("wl_street")
    f = f0.area(street)
    ranked = data.worklist_ranked(data.ctx(), f)
    table = worklist.table(ranked)
    records.flash()
    n_sanwu = int(ranked["is_sanwu"].sum()) if len(ranked) else 0
    custody = int((ranked["is_sanwu"] & (ranked["management_mode"] == "street_custody")).sum()) \
        if len(ranked) else 0
    common.kpis([("清单小区", len(ranked), False),
                 ("三无，未托管", n_sanwu - custody, n_sanwu - custody > 0),
                 ("三无，已托管", custody, False),
                 ("涉及户数", int(ranked["households"].sum()) if len(ranked) else 0, False),
                 ("未整改隐患", int(ranked["open_hazards"].sum()) if len(ranked) else 0, False)])
    st.caption(f"时段：{common.period_text(f)}　·　" + " ".join(worklist.explanation()))
    st.markdown("**本街道工作进展（时段内）**")
    progress_tiles.tiles(f, keys=("sanwu_start", "taken_over", "left_sanwu", "committee_rate",
                                  "committee_overdue", "hazards_late"))

    synthetic, name = data.synthetic(data.ctx()), names[street]
    auth.download_button("下载 Excel 清单",  # made on click, as `propmap export worklist` makes it
                         lambda: worklist.workbook(ranked, street_name=name, f=f,
                                                   synthetic=synthetic),
                         f"{names[street]}-三无小区清单.xlsx",
                         what="worklist", rows=len(table),
                         filters={"street": street, "period": common.period_text(f)},
                         key="wl_download", primary=True)
    records.worklist_upload(street)

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
            common.go("views/drilldown.py", street=street, compound=str(clicked["id"]))
    conflicts = data.register_conflicts(data.ctx())
    mine = conflicts[conflicts["街道"] == names[street]] if len(conflicts) else conflicts
    if len(mine):
        with st.expander(f"名录与街道记录不一致，待核对（{len(mine)} 处）"):
            st.caption("小区名录导入时，与街道记录不一致之处：较新的事实生效，另一方留存备查。")
            st.dataframe(mine, hide_index=True, width="stretch")


if __name__ == "__main__":
    main()
