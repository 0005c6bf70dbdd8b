"""街道下钻: one street office's area with its communities, compounds and pending cases.

The selection lives in the URL (``?street=…&community=…&compound=…``), so a
view can be bookmarked and shared; the breadcrumb leads back up.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard import common, data, progress_tiles, records
from dashboard import map as pmap
from layers import registry
from layers.html import esc, md


def _int(v: str | None) -> int | None:
    try:
        return int(v) if v else None
    except ValueError:
        return None


def breadcrumb(street: str | None, street_name: str | None, community: int | None,
               community_name: str | None, card: dict[str, Any] | None) -> None:
    parts: list[tuple[str, dict[str, str | None] | None]] = [
        ("凯里市", {"street": None, "community": None, "compound": None})]
    if street:
        parts.append((street_name or street, {"community": None, "compound": None}))
    if community is not None:
        parts.append((community_name or str(community),
                      {"community": str(community), "compound": None}))
    if card:
        parts.append((card["name"], None))
    cols = st.columns([1] * len(parts) + [max(1, 6 - len(parts))])
    for i, (label, target) in enumerate(parts):
        last = i == len(parts) - 1
        text = f"{md(label)} ›" if not last else md(label)  # a button's label is Markdown
        if cols[i].button(text, key=f"crumb-{i}", disabled=last, width="stretch",
                          type="secondary" if not last else "primary"):
            common.navigate(**(target or {}))


def compound_card(card: dict[str, Any]) -> None:
    flag = '<span class="pm-sanwu">三无小区</span>' if card["is_sanwu"] else ""
    old = "（老旧小区）" if card["is_old"] else ""
    firm = esc(card["firm"] or "无")
    if card["firm"]:
        firm += f"（信用 {esc(card['credit_rating'] or '—')}" + (
            "，红榜" if card["list_status"] == "red" else
            "，黑榜" if card["list_status"] == "black" else "") + "）"
    rows = [
        ("小区", f"{esc(card['name'])} {flag}"), ("地址", esc(card["address"] or "—")),
        ("所属", f"{esc(card['street'] or '—')} › {esc(card['community'] or '—')}"),
        ("建成年份", f"{esc(card['build_year'] or '—')}{old}"),
        ("户数 / 楼栋", f"{esc(card['households'] or 0)} 户 / {esc(card['buildings'] or 0)} 栋"),
        ("管理方式", esc(card["mode_label"])), ("物业企业", firm),
        ("业主组织", esc(card["committee_label"]) + (
            f"（任期至 {card['committee_term_end']:%Y-%m-%d}）"
            if pd.notna(card.get("committee_term_end")) else "")),
        ("主管部门", esc(card["competent_dept"] or "无")),
    ]
    if card["is_sanwu"]:
        rows.insert(1, ("三无状态", '<span class="pm-sanwu">' + (
            "三无，已托管" if card["management_mode"] == "street_custody" else "三无，未托管")
            + "</span>"))
    html = "<br>".join(f"<b>{k}</b>{v}" for k, v in rows)  # values escaped above
    st.markdown(f'<div class="pm-card">{html}</div>', unsafe_allow_html=True)
    records.flash()
    records.compound_form(card)
    records.compound_history(card)
    st.markdown("**隐患**")
    if card["hazards"].empty:
        st.caption("无隐患记录")
    else:
        shown = [c for c in ("类别", "描述", "整改期限", "状态", "超期") if c in card["hazards"]]
        st.dataframe(card["hazards"][shown], hide_index=True, width="stretch")
        records.hazard_form(data.compound_hazards(data.ctx(), int(card["id"])),
                            key=f"card-{card['id']}")
    st.markdown(f"**诉求记录（期内 {len(card['cases'])} 件）**")
    st.dataframe(card["cases"], hide_index=True, width="stretch", height=280)


@common.guarded
def main() -> None:
    common.setup("街道下钻")
    f0 = common.filters()
    names = common.visible_streets()
    sc = common.scope()
    qp = st.query_params
    if qp.get("street") and qp.get("street") not in names:
        common.refuse("该街道/镇不在您的辖区内。")
    if not qp.get("street") and len(sc.streets) == 1 and not sc.city_wide:
        common.navigate(street=sc.streets[0])  # an area account starts at its own area
    street = qp.get("street") if qp.get("street") in names else None
    community = _int(qp.get("community")) if street else None
    compound = _int(qp.get("compound")) if street else None
    if sc.community_id is not None and street:
        if community is not None and community != sc.community_id:
            common.refuse("该社区不在您的辖区内。")
        community = sc.community_id

    pick_col, crumb_col = st.columns([1, 3], vertical_alignment="bottom")
    options = ["", *names]
    pick = pick_col.selectbox("选择街道/镇（或点击地图）", options,
                              index=options.index(street) if street else 0,
                              format_func=lambda c: names.get(c, "全市"), key=f"pick-{street}")
    if (pick or None) != street:
        common.navigate(street=pick or None, community=None, compound=None)

    comm_names: dict[int, str] = {}
    if street:
        cdf = data.communities(data.ctx(), street)
        comm_names = dict(zip(cdf["id"].astype(int), cdf["name"], strict=True))
        if community not in comm_names:
            community = None
    f = f0.area(street, community)
    card = data.compound_card(data.ctx(), f, compound) if compound is not None else None
    if compound is not None and (card is None or card["street_code"] != street):
        common.refuse("该小区不在您的辖区内，或已不存在。")
    # a compound chosen at street level still shows its community in the breadcrumb and on the map
    home = community if community is not None or not card else _int(str(card["community_id"]))
    with crumb_col:
        breadcrumb(street, names.get(street or ""), home, comm_names.get(home or -1), card)

    streets_layer, streets = common.layer("street_areas", f)
    if not street:
        st.caption("点击地图上的街道/镇进入该辖区")
        m, legend = pmap.build([(streets_layer, streets, {"measure": "pending"})],
                               bounds=pmap.city_bounds(streets.features))
        clicked = common.show_map(m, legend, key=common.nav_key("drill-city"))
        if clicked and clicked.get("kind") == "street":
            common.navigate(street=clicked["code"], community=None, compound=None)
        return

    if card:  # the tiles under a compound's breadcrumb are the compound's
        st.caption("以下工单数字为该小区期内的工单（不是整个街道的）")
        common.headline_tiles(f.area(street, community, int(card["id"])))
        st.caption("所选街道（社区）的工作进展（时段内）：在小区卡片上记录的事项立即计入")
    else:
        common.headline_tiles(f)
    progress_tiles.tiles(f, keys=("sanwu_start", "taken_over", "untaken_end", "custody_end",
                                  "committee_rate", "hazards_late"))
    layer_options: dict[str, dict[str, Any]] = {"street_areas": {"measure": None},
                                                "communities": {"selected": home},
                                                "compounds": {"selected": compound}}
    drawn = [(*common.layer(key, f), layer_options.get(key, {})) for key in registry.DRILLDOWN]
    focus = [ft for ft in streets.features if ft["properties"]["code"] == street]
    if home is not None:  # the chosen community, or the open compound's
        comms = common.layer("communities", f)[1]
        focus = [ft for ft in comms.features if ft["properties"]["id"] == home] or focus
    m, legend = pmap.build(drawn, bounds=pmap.bounds_of(focus))
    pending = common.layer("pending_cases", f)[1].meta
    if pending.get("total", 0) > pending.get("shown", 0):
        st.caption(f"待办工单共 {pending['total']} 件，"
                   f"地图只显示超期最久的 {pending['shown']} 件。")
    if card:
        left, right = st.columns([3, 2])
        with left:
            clicked = common.show_map(m, legend, key=common.nav_key("drill"), height=600,
                                      legend_width=0.3)
        with right:
            compound_card(card)
    else:
        st.caption("点击社区进入社区，点击小区查看小区档案")
        clicked = common.show_map(m, legend, key=common.nav_key("drill"), height=640)
    if clicked:
        kind = clicked.get("kind")
        if kind == "compound":
            common.navigate(compound=str(clicked["id"]))
        elif kind == "community" and clicked.get("id") != community:
            common.navigate(community=str(clicked["id"]), compound=None)
        elif kind == "street" and clicked.get("code") != street:
            common.navigate(street=clicked["code"], community=None, compound=None)


if __name__ == "__main__":
    main()
