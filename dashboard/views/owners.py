"""业主委员会: a street office's owners' committees: formed, term end, overdue renewal, missing.

Forming and renewing owners' committees is a street-office duty; the list holds
every compound with an owners' organisation and every compound that should
have one (:mod:`layers.owners`), overdue renewals first, downloadable. A
committee formed or renewed is recorded on the compound's card (街道下钻).
"""

from __future__ import annotations

import streamlit as st

from dashboard import auth, common, data
from geo import history, sheets
from layers import owners, progress


@common.guarded
def main() -> None:
    common.setup("业主委员会")
    f0 = common.filters()
    names = common.visible_streets()
    street = common.street_choice("ow_street")
    sc = common.scope()
    f = f0.area(street, sc.community_id)
    df = data.owners_list(data.ctx(), f)
    n = owners.counts(df) if len(df) else {"eligible": 0, "committees": 0, "overdue": 0,
                                           "missing": 0, "mgmt": 0}
    rate = progress.rate(n["committees"], n["eligible"])
    cm = history.committee_settings()["eligible_min_households"]
    common.kpis([("应建业委会", n["eligible"], False), ("已建业委会", n["committees"], False),
                 ("业委会组建率", None if rate is None else f"{rate}%", False),
                 ("到期未换届", n["overdue"], n["overdue"] > 0),
                 ("应建未建", n["missing"], n["missing"] > 0),
                 ("物业管理委员会", n["mgmt"], False)])
    st.caption(f"应建业委会：户数不少于 {cm} 户的小区（data/reference/governance.toml）；"
               f"到期未换届按 {progress.period_end(f):%Y-%m-%d} 判断。成立、换届请在"
               "“街道下钻”的小区档案中记录。")
    table = owners.table(df)
    xlsx = sheets.workbook([(f"{names[street]}业委会", table)],
                           [f"{names[street]} 业主委员会名单",
                            *(["演示数据（合成）"] if data.synthetic(data.ctx()) else [])])
    auth.download_button("下载业委会名单（Excel）", xlsx,
                         f"{names[street]}-业主委员会.xlsx", what="owners", rows=len(table),
                         filters={"street": street}, key="ow_download")
    st.dataframe(table, hide_index=True, width="stretch", height=620)



if __name__ == "__main__":
    main()
