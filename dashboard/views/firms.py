"""物业企业: which compounds each firm serves, and how each firm's compounds fare."""

from __future__ import annotations

import streamlit as st

from dashboard import common, data
from dashboard import map as pmap
from geo import measures


@common.guarded
def main() -> None:
    common.setup("物业企业")
    f = common.filters()
    st.caption(f"时段：{common.period_text(f)}　·　{measures.LATE_HELP}"
               f"{measures.help_text('satisfaction_rate')}。")
    streets_layer, streets = common.layer("street_areas", f)
    drawn = [(streets_layer, streets, {"measure": None}), (*common.layer("firm_coverage", f), {})]
    m, legend = pmap.build(drawn, bounds=pmap.city_bounds(streets.features))
    common.show_map(m, legend, key="firms", height=640, legend_width=0.3)
    st.subheader("各物业企业服务情况")
    st.dataframe(data.firm_table(data.ctx(), f), hide_index=True, width="stretch", height=560)


if __name__ == "__main__":
    main()
