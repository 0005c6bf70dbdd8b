"""典型案例: the quarter's typical cases (典型案例), as the joint meeting picked them."""

from __future__ import annotations

import streamlit as st

from dashboard import common, data, meeting
from geo import periods, typical


@common.guarded
def main() -> None:
    common.setup("典型案例")
    f = common.filters()
    c = data.ctx()
    current = periods.quarter_name(f.as_of)
    quarters = sorted({current, *data.typical_quarters(c)}, reverse=True)
    url = st.query_params.get("quarter")
    quarter = st.selectbox("季度", quarters, index=quarters.index(url) if url in quarters else 0,
                           key="tc_list_quarter") or current
    if quarter != url:
        st.query_params["quarter"] = quarter
    table = meeting.typical_table(f, quarter)
    who = "、".join({"leader": "联席会议", "housing": "住建局"}[k] for k in typical.MARKERS)
    st.caption(f"{quarter} 共 {len(table)} 件典型案例。典型案例由{who}账号在“案件研判”页的"
               "工单卡片中标记，并写明理由。")
    if table.empty:
        st.info(f"{quarter} 尚未标记典型案例。")
        return
    st.markdown(meeting.html_table(table, cls="pm-wide"), unsafe_allow_html=True)
    ids = data.typical_cases(c, f, quarter)["id"].tolist()
    pick = st.selectbox("打开工单卡片", list(range(len(ids))), index=None,
                        format_func=lambda i: str(table["工单号"].iloc[i]), key="tc_open",
                        placeholder="选择工单…")
    if pick is not None:
        st.switch_page("views/cases.py", query_params={"case": str(ids[int(pick)])})


if __name__ == "__main__":
    main()
