"""The joint meeting's agenda on 会议展示: one screen per item, stepped with the arrow keys.

The meeting goes through the city in a fixed order: the whole picture, the
street offices, the departments, the hotspots, the 三无 compounds, the typical
cases. Each item is a :class:`Step` of :data:`STEPS` (a registry: another
issue's item is one more entry, or replaces one, e.g. issue 9's progress
figures replace :func:`sanwu`), drawn to fit one screen, 1920×1080 down to
1366×768, without scrolling: maps take the height the window leaves them
(:func:`fit_script`), tables show their first rows in type sized to the
window's height, and every figure is printed, not only shown on hover.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st
import streamlit.components.v1 as components

from dashboard import common, data, meeting
from dashboard import map as pmap
from geo import periods
from layers import accountability, heat, registry
from layers.base import Layer, LayerData
from layers.filters import Filters
from layers.street_areas import MEASURES

#: Height of the maps before the fit script sizes them to the window (fits 1366×768).
MAP_HEIGHT = 520
#: Figures the meeting's maps can show.
PRESENT_MEASURES = ("overdue", "pending", "closed_late", "reopened", "unsatisfied")
#: Period presets offered on the meeting screen (labels of the sidebar's choices).
PRESENT_PERIODS = ("本季度", "上季度", "本月", "去年同期", "近一年")


@dataclass(frozen=True)
class Step:
    """One agenda item: its key (in the URL as ``step``), its title, how it is drawn."""

    key: str
    title: str
    draw: Callable[[Filters, str], None]
    """Draws the item for the filters and the comparison chosen (``prev`` or ``yoy``)."""




def _measure(key: str) -> str:
    return str(st.segmented_control(
        "地图指标", list(PRESENT_MEASURES),
        format_func=lambda k: MEASURES[k][0].removesuffix("件数").removesuffix("数"),
        default="overdue", key=key, label_visibility="collapsed") or "overdue")


def marker(key: str) -> None:
    """An empty element saying which item is on screen (for tests and print)."""
    st.markdown(f'<div class="pm-step" data-step="{key}"></div>', unsafe_allow_html=True)


def overview(f: Filters, kind: str) -> None:
    """总体情况: the headline figures with their change, and the city map by street office."""
    left, right = st.columns([0.64, 0.36])
    with right:
        common.headline_tiles(f, big=True, stacked=True, keys=common.PRESENT_TILES,
                              compare_kind=kind)
        measure = _measure("pr_measure")
    m, legend = meeting.street_map(f, measure, "current", label_px=17, outline=2.2)
    with left:
        common.map_widget(m, key=f"present-map-{measure}", height=MAP_HEIGHT)
    with right:
        st.markdown(f'<div class="pm-big-legend">{legend}</div>', unsafe_allow_html=True)


def streets(f: Filters, kind: str) -> None:
    """街道排名: the change of a figure on the map, the street offices ranked beside it."""
    left, right = st.columns([0.5, 0.5])
    with right:
        measure = _measure("pr_street_measure")
        key = measure if measure in accountability.RANK_KEYS else "overdue"
        table = meeting.street_ranking(f, key)
        word = accountability.CHANGE_KINDS[kind]
        label = accountability.RANK_KEYS[key].label.removesuffix("件数")
        cols = ["排名", "街道/镇", "受理", "超期", "超期率%", "逾期办结", "重新办理", "不满意",
                f"{label}{word}"]
        st.markdown(meeting.html_table(table[[c for c in cols if c in table]], max_rows=9),
                    unsafe_allow_html=True)
        st.caption(meeting.comparison_caption(f, (kind,)))
    m, legend = meeting.street_map(f, measure, f"change_{kind}", label_px=16, outline=2.0)
    with left:
        common.map_widget(m, key=f"present-streets-{measure}-{kind}", height=MAP_HEIGHT)
    with right:
        st.markdown(f'<div class="pm-inline-legend">{legend}</div>', unsafe_allow_html=True)


def departments(f: Filters, kind: str) -> None:
    """部门履职: lead (or co-handling) departments ranked, with the time limit kept."""
    c1, c2, c3 = st.columns([1, 2, 3], vertical_alignment="center")
    role = c1.segmented_control("角色", list(accountability.ROLES),
                                format_func=lambda k: accountability.ROLES[k] + "部门",
                                default="lead", key="pr_dept_role",
                                label_visibility="collapsed") or "lead"
    with c2:
        key = meeting.rank_key_picker(meeting.DEPARTMENT_KEYS, key="pr_dept_key",
                                      label="排序")
    table = meeting.department_ranking(f, key, role)
    word = accountability.CHANGE_KINDS[kind]
    label = accountability.RANK_KEYS[key].label.removesuffix("件数")
    other = [w for w in accountability.CHANGE_KINDS.values() if w != word]
    shown = table.drop(columns=[f"{label}{w}" for w in other if f"{label}{w}" in table])
    shown = shown.drop(columns=[c for c in ("待办", "办理时限中位数（天）") if c in shown])
    c3.caption(f"共 {len(table)} 个{accountability.ROLES[role]}部门，显示前 12 个。"
               + meeting.comparison_caption(f, (kind,)))
    st.markdown(meeting.html_table(shown, max_rows=12, cls="pm-dept"), unsafe_allow_html=True)


def hotspots(f: Filters, kind: str) -> None:
    """热点分布: dispute density on hexagons with open hazards; hazards overdue by theme."""
    hexes = data.layer_data(data.ctx(), "heat", f.area(None, None))
    streets_layer, streets_data = common.layer("street_areas", f.area(None, None))
    drawn: list[tuple[Layer, LayerData, dict[str, Any]]] = [
        (streets_layer, streets_data, {"measure": None, "label_px": 15}),
        (heat.LAYER, hexes, {}),
        (registry.get("hazards"), common.layer("hazards", f.area(None, None))[1], {})]
    m, legend = pmap.build(drawn, bounds=pmap.city_bounds(streets_data.features, margin=0.05))
    left, right = st.columns([0.6, 0.4])
    with left:
        common.map_widget(m, key="present-hotspots", height=MAP_HEIGHT)
    with right:
        st.markdown("**隐患整改**")
        st.markdown(meeting.html_table(data.hazard_summary(data.ctx(), f)),
                    unsafe_allow_html=True)
        st.markdown("**诉求最多的小区**")
        st.markdown(meeting.html_table(data.top_compounds(data.ctx(), f), max_rows=5),
                    unsafe_allow_html=True)
        st.markdown(f'<div class="pm-inline-legend">{legend}</div>', unsafe_allow_html=True)


def sanwu(f: Filters, kind: str) -> None:
    """三无小区与业委会: where the 三无 compounds are, taken over or not, and committees."""
    streets_layer, streets_data = common.layer("street_areas", f.area(None, None))
    drawn: list[tuple[Layer, LayerData, dict[str, Any]]] = [
        (streets_layer, streets_data, {"measure": None, "label_px": 15}),
        (*common.layer("sanwu", f.area(None, None)), {"radius": 6})]
    m, legend = pmap.build(drawn, bounds=pmap.city_bounds(streets_data.features, margin=0.05))
    left, right = st.columns([0.5, 0.5])
    with left:
        common.map_widget(m, key="present-sanwu", height=MAP_HEIGHT)
    with right:
        table = data.sanwu_progress(data.ctx(), f)
        shown = pd.concat([table.tail(1), table.head(len(table) - 1).head(9)]).drop(
            columns=["期内脱离三无", "应建业委会", "已建业委会", "应建未建"])
        st.markdown(meeting.html_table(shown, cls="pm-first-total"), unsafe_allow_html=True)
        st.caption(f"{common.period_text(f)}，依据各小区的管理记录（托管、业委会成立与换届）；"
                   "按三无未托管排序，定义见“工作进展”页。")
        st.markdown(f'<div class="pm-inline-legend">{legend}</div>', unsafe_allow_html=True)


def typical_cases(f: Filters, kind: str) -> None:
    """典型案例: the typical cases of the quarter the period ends in."""
    quarter = periods.quarter_name(f.end)
    table = meeting.typical_table(f, quarter)
    st.markdown(f"**{periods.quarter_label(f.end)}典型案例（{len(table)} 件）**")
    if table.empty:
        st.info(f"{quarter} 尚未标记典型案例：联席会议、住建局账号可在“案件研判”页标记。")
        return
    st.markdown(meeting.html_table(table, cls="pm-wide"), unsafe_allow_html=True)


STEPS: list[Step] = [
    Step("overview", "总体情况", overview),
    Step("streets", "街道排名", streets),
    Step("departments", "部门履职", departments),
    Step("hotspots", "热点分布", hotspots),
    Step("sanwu", "三无与业委会", sanwu),
    Step("typical", "典型案例", typical_cases),
]
KEYS = [s.key for s in STEPS]


def _move(by: int) -> None:
    i = KEYS.index(st.session_state.get("ag_step") or KEYS[0])
    st.session_state["ag_step"] = KEYS[max(0, min(len(KEYS) - 1, i + by))]


def _set_period() -> None:
    st.session_state["f_period"] = st.session_state.get("pr_period") or "近一年"


def header(title: str) -> tuple[Step, str]:
    """The meeting's two header rows: the title with the period (本季度 …), the comparison
    (环比/同比) and the briefing; then the agenda with previous and next (also ← and →).
    Returns the current item and the comparison (``prev``/``yoy``)."""
    from dashboard import briefing_button

    url = st.query_params.get("step")
    if "ag_step" not in st.session_state:
        st.session_state["ag_step"] = url if url in KEYS else KEYS[0]
    elif url in KEYS and url != st.session_state.get("_ag_url"):
        st.session_state["ag_step"] = url  # a link or a reload names the item
    current = st.session_state.get("f_period") or "近一年"
    options = list(PRESENT_PERIODS) + ([current] if current not in PRESENT_PERIODS else [])
    if st.session_state.get("pr_period") != current:
        st.session_state["pr_period"] = current
    top = st.columns([4.2, 3.6, 1.3, 1.3], vertical_alignment="center")
    with top[0]:
        common.compact_title(title)
    top[1].segmented_control("时段", options, key="pr_period", on_change=_set_period,
                             label_visibility="collapsed")
    kind = top[2].segmented_control("对比", list(periods.COMPARISONS),
                                    format_func=lambda k: periods.COMPARISONS[k][0],
                                    default="prev", key="pr_compare",
                                    label_visibility="collapsed") or "prev"
    with top[3]:
        briefing_button.draw(common.filters())
    bar = st.columns([7.6, 1.2, 1.2], vertical_alignment="center")
    bar[0].segmented_control("议程", KEYS, key="ag_step", label_visibility="collapsed",
                             format_func=lambda k: f"{KEYS.index(k) + 1} "
                                                   f"{STEPS[KEYS.index(k)].title}")
    key = st.session_state.get("ag_step") or KEYS[0]
    i = KEYS.index(key)
    bar[1].button("◀ 上一项", key="ag_prev", on_click=_move, args=(-1,), disabled=i == 0,
                  width="stretch")
    bar[2].button("下一项 ▶", key="ag_next", on_click=_move, args=(1,),
                  disabled=i == len(KEYS) - 1, width="stretch", type="primary")
    if st.query_params.get("step") != key:
        st.query_params["step"] = key
    st.session_state["_ag_url"] = key
    return STEPS[i], str(kind)


KEYS_SCRIPT = """
<script>
(function () {
  const doc = window.parent.document;
  if (doc.__pmAgendaKeys) return;
  doc.__pmAgendaKeys = true;
  doc.addEventListener('keydown', function (e) {
    const t = e.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    const which = {ArrowRight: 'next', PageDown: 'next', ArrowLeft: 'prev', PageUp: 'prev'}[e.key];
    if (!which) return;
    const b = doc.querySelector('.st-key-ag_' + which + ' button');
    if (b && !b.disabled) { e.preventDefault(); b.click(); }
  });
})();
</script>
"""

FIT_SCRIPT = """
<script>
(function () {
  const win = window.parent, doc = win.document;
  function fit() {
    if (!doc.querySelector('.pm-present')) return;
    doc.querySelectorAll('iframe[title="streamlit_folium.st_folium"]').forEach(function (f) {
      const top = f.getBoundingClientRect().top + win.scrollY;
      const main = doc.querySelector('[data-testid="stMain"]');
      const below = main ? parseFloat(win.getComputedStyle(
          doc.querySelector('[data-testid="stMainBlockContainer"]') || main).paddingBottom) : 0;
      const h = Math.max(300, Math.floor(win.innerHeight - top - 24 - (below || 0)));
      let changed = false;
      if (Math.abs((parseInt(f.style.height) || 0) - h) >= 4) {
        f.style.height = h + 'px';
        changed = true;
      }
      try {  // st_folium sizes its map itself on every render: size it again
        const d = f.contentDocument, w = f.contentWindow;
        ['map_div', 'map_div2'].forEach(function (id) {
          const el = d && d.getElementById(id);
          if (el && el.style.height !== h + 'px') { el.style.height = h + 'px'; changed = true; }
        });
        if (changed && w && w.map) {
          const view = w.map.getBounds();
          w.map.invalidateSize();
          w.map.fitBounds(view);  // the same extent, larger
        }
      } catch (err) { /* another origin: leave its height */ }
    });
  }
  function forPaper() {  // the map as printed (the print stylesheet sizes its frame)
    doc.querySelectorAll('iframe[title="streamlit_folium.st_folium"]').forEach(function (f) {
      try {
        const h = Math.round(f.getBoundingClientRect().height);
        const d = f.contentDocument, w = f.contentWindow;
        const view = w.map.getBounds();
        d.getElementById('map_div').style.height = h + 'px';
        w.map.invalidateSize();
        w.map.fitBounds(view);
      } catch (err) { /* not ours to size */ }
    });
  }
  if (!doc.__pmFit) {
    doc.__pmFit = true;
    win.addEventListener('beforeprint', forPaper);
    win.matchMedia('print').addEventListener('change', function (m) {
      if (m.matches) forPaper(); else fit(); });
    win.addEventListener('afterprint', fit);
    win.addEventListener('resize', fit);
    new win.MutationObserver(fit).observe(doc.body, {childList: true, subtree: true});
    win.setInterval(fit, 1500);  // the map's own document changes unseen by the observer
  }
  fit();
  setTimeout(fit, 500);
  setTimeout(fit, 2000);
})();
</script>
"""


def scripts() -> None:
    """The arrow keys step the agenda; the maps take the height the window leaves."""
    components.html(KEYS_SCRIPT + FIT_SCRIPT, height=0)
