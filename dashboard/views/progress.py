"""工作进展: the street offices' work over the chosen period, per street office and city-wide.

三无 compounds at the start, taken over, left 三无, still open; owners' committees
formed and past their term; hazards found, rectified on time, overdue; and the
trend by month. The figures are :mod:`geo.measures`'s, computed from the
histories (:mod:`layers.progress`), so a record made today shows on the next run.
"""

from __future__ import annotations

import streamlit as st

from dashboard import auth, common, data, progress_tiles
from geo import history, measures, sheets
from layers import progress
from layers.html import md


@common.guarded
def main() -> None:
    common.setup("工作进展：托管、业委会与隐患整改")
    f = common.filters()
    sc = common.scope()
    names = common.visible_streets()
    area = "全市" if sc.city_wide else "、".join(names.values())
    st.caption(f"范围：{md(area)}　·　时段：{f.start:%Y-%m-%d} 至 "
               f"{progress.period_end(f):%Y-%m-%d}（管理记录与整改进展计至今日）")
    progress_tiles.tiles(f)
    df = data.progress_by_street(data.ctx(), f)
    df = df[df["street_code"].isin(list(names))]
    table = progress.table(df)
    st.subheader("各街道/镇")
    st.dataframe(table, hide_index=True, width="stretch", height=min(38 + 35 * len(table), 740))
    cm = history.committee_settings()["eligible_min_households"]
    auth.download_button(
        "下载工作进展（Excel）",
        sheets.workbook([("工作进展", table)],
                        [f"工作进展，范围 {area}，时段 {common.period_text(f)}",
                         *measures.progress_definitions(cm),
                         *(["演示数据（合成）"] if data.synthetic(data.ctx()) else [])]),
        "工作进展.xlsx", what="progress", rows=len(table),
        filters={"period": common.period_text(f)}, key="pg_download")
    st.subheader("按月趋势")
    progress_tiles.trend(f, height=300)
    progress_tiles.definitions()


if __name__ == "__main__":
    main()
