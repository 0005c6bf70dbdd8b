"""覆盖缺口与党建: where professional management is missing (三无, 街道托管, 业主自管, 单位自管
told apart) per street office and community, and the party-building coverage of owners'
committees and firms (红色物业), with their registers: imported from files, edited by the
accounts allowed (住建局: firms and committees; street offices and communities: the
committees of their area; the database enforces the same).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import auth, common, data, records
from dashboard import map as pmap
from etl.intake import party as party_import
from geo import coverage, party, sheets
from layers.html import md

#: Kinds of account that may edit party-building records, and what.
EDITORS = {"housing": ("firm", "committee"), "street": ("committee",),
           "community": ("committee",)}


@common.guarded
def main() -> None:
    common.setup("覆盖缺口与党建")
    records.flash()
    f0 = common.filters()
    c = data.ctx()
    with st.columns([1, 3])[0]:
        street = common.street_filter("coverage_street")
    f = f0.area(street)
    level = "community" if street else "street"
    gaps = data.coverage_gaps(c, level, street)
    _tiles(gaps)
    st.caption("；".join(coverage.definitions()))

    streets_layer, streets = common.layer("street_areas", f0.area(None))
    drawn = [(streets_layer, streets, {"measure": None, "interactive": False,
                                       "labels": street is None}),
             (*common.layer("coverage_gaps", f), {}), (*common.layer("gap_compounds", f), {})]
    focus = [ft for ft in streets.features if ft["properties"]["code"] == street]
    m, legend = pmap.build(drawn, bounds=pmap.bounds_of(focus) if focus
                           else pmap.city_bounds(streets.features))
    common.show_map(m, legend, key=common.nav_key(f"coverage-{street}"), height=560,
                    legend_width=0.28)

    where = common.visible_streets().get(street, "全市") if street else "全市"
    st.subheader(f"无专业物业的小区与户数（{'各社区' if street else '各街道/镇'}）")
    table = coverage.table(gaps, level)
    st.dataframe(table, hide_index=True, width="stretch", height=380,
                 column_config={"无专业物业户数占比%": st.column_config.NumberColumn(
                     "无专业物业户数占比%", format="%.1f")})
    auth.download_button("下载覆盖缺口表（Excel）",
                         sheets.workbook([("覆盖缺口", table)],
                                         [f"无专业物业覆盖缺口（{where}）",
                                          *coverage.definitions()]),
                         f"覆盖缺口-{where}.xlsx", what="coverage_gaps", rows=len(table),
                         filters={"street": street}, key="gaps_download")
    _party(street, level, where)


def _tiles(gaps: pd.DataFrame) -> None:
    def total(col: str) -> int:
        return int(gaps[col].sum()) if len(gaps) else 0

    hh = total("households")
    gap = total("gap_households")
    common.kpis([
        ("小区", total("compounds"), False), ("户数", hh, False),
        ("无专业物业户数", gap, gap > 0),
        ("无专业物业户数占比", f"{100.0 * gap / hh:.1f}%" if hh else None, False),
        ("三无（未托管）小区", total("sanwu_compounds"), total("sanwu_compounds") > 0),
        ("街道托管小区（其中原三无）",
         f"{total('custody_compounds')}（{total('sanwu_custody')}）", False),
        ("业主自管小区", total("owners_self_compounds"), False),
        ("单位自管小区", total("work_unit_compounds"), False),
    ])


def _party(street: str | None, level: str, where: str) -> None:
    c = data.ctx()
    st.divider()
    st.subheader(f"党建引领：党组织与群团组织覆盖（{'各社区' if street else '各街道/镇'}）")
    cov = data.party_coverage(c, level)
    if street:
        cov = cov[cov["street"] == common.visible_streets().get(street)]
    table = party.coverage_table(cov, level)
    st.dataframe(table, hide_index=True, width="stretch", height=320,
                 column_config={k: st.column_config.NumberColumn(k, format="%.1f")
                                for k in table.columns if k.endswith("%")})
    st.caption("；".join(party.DEFINITIONS))
    firms = party.display(data.party_firms(c))
    committees = party.display(data.party_committees(c, street))
    left, right = st.columns(2)
    with left:
        st.markdown(f"**物业服务企业（{len(firms)} 家）**")
        st.dataframe(firms, hide_index=True, width="stretch", height=320)
    with right:
        st.markdown(f"**业主委员会（{len(committees)} 个，{md(where)}）**")
        st.dataframe(committees, hide_index=True, width="stretch", height=320)
    auth.download_button("下载党建情况（Excel）",
                         sheets.workbook([("覆盖率", table), ("物业企业", firms),
                                          ("业主委员会", committees)],
                                         [f"党组织与群团组织覆盖（{where}）", *party.DEFINITIONS]),
                         f"党建情况-{where}.xlsx", what="party_building",
                         rows=len(firms) + len(committees), filters={"street": street},
                         key="party_download")
    kinds = EDITORS.get(c.scope.kind)
    if kinds:
        _edit(kinds)
        _import(kinds)


def _edit(kinds: tuple[str, ...]) -> None:
    c = data.ctx()
    acc = auth.current()
    assert acc is not None
    with st.expander("登记或更新党建情况"):
        labels = {"firm": "物业服务企业", "committee": "业主委员会"}
        kind = st.radio("对象类型", kinds, format_func=lambda k: labels[k], horizontal=True,
                        key="party_kind")
        names = data.firm_names(c) if kind == "firm" else data.committee_names(c)
        if not names:
            st.info("您的范围内没有可登记的对象。")
            return
        with st.form("party_edit", border=True):
            sid = st.selectbox("对象", list(names), format_func=lambda i: names[i],
                               key="party_subject")
            cols = st.columns(3)
            has = cols[0].checkbox("已建立党组织", key="party_has")
            org = cols[1].text_input("党组织名称", key="party_name")
            members = cols[2].number_input("党员人数", min_value=0, step=1, value=0,
                                           key="party_members")
            cols2 = st.columns(2)
            eligible = cols2[0].selectbox("符合群团组织组建条件", [None, True, False],
                                         format_func=lambda v: "不详" if v is None
                                         else "是" if v else "否", key="party_eligible")
            mass = cols2[1].checkbox("已建立群团组织", key="party_mass")
            note = st.text_input("备注", key="party_note")
            ok = st.form_submit_button("保存", type="primary")
        if not ok:
            return
        try:
            with data.writing(c, acc.scope) as con:
                new = party.record(con, kind, sid, has_party_org=has,
                                   party_org_name=org or None,
                                   party_members=int(members) if has and members else None,
                                   mass_eligible=eligible, has_mass_org=mass, note=note,
                                   by=acc.name)
        except common.WRITE_ERRORS as exc:
            st.error(common.write_error(exc))
            return
        records.done(f"已登记：{names[sid]}。" if new else
                     f"{names[sid]} 的登记内容没有变化，未新增记录。")


def _import(kinds: tuple[str, ...]) -> None:
    c = data.ctx()
    acc = auth.current()
    assert acc is not None
    refused = st.session_state.pop("_party_refused", None)
    if refused is not None:
        st.markdown("**上次导入拒收的行**")
        st.dataframe(refused, hide_index=True, width="stretch")
    with st.expander("从登记表导入（xlsx 或 CSV）"):
        st.caption("表头写法见 data/intake/header-aliases.csv（类型 party）：类型、名称、"
                   "小区编号、是否建立党组织、党组织名称、党员人数、是否符合群团组建条件、"
                   "是否建立群团组织、备注。每一行都有交代：登记、未变或拒收（附原因）。")
        up = st.file_uploader("登记表", type=["xlsx", "csv"], key="party_file")
        if up is None or not st.button("导入", key="party_import"):
            return
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / Path(up.name).name
            path.write_bytes(up.getvalue())
            try:
                with data.writing(c, acc.scope) as con:
                    result = party_import.import_party(con, path, by=acc.name, kinds=kinds)
            except common.WRITE_ERRORS as exc:
                st.error(common.write_error(exc))
                return
        if result.refused:
            st.session_state["_party_refused"] = result.refused_table()
        records.done(result.summary())


if __name__ == "__main__":
    main()
