"""What every page shares: the filter sidebar, the map widget, error messages, figures as
tiles and the synthetic-data notice. The data come from :mod:`dashboard.data` (named
cached queries keyed by the data version, the scope and the filters).
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
import streamlit as st

from dashboard import data
from dashboard import map as pmap
from geo import measures, periods
from geo._errors import PropmapError, user_message
from geo.models import CHANNELS, STATUSES
from geo.scope import Scope
from layers import compare, hotspot_stats, registry
from layers.base import Layer, LayerData
from layers.filters import CATEGORY_THEMES, Filters
from layers.html import esc, md

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("propmap.dashboard")

# Once per server process, after the heavy imports: move everything alive now out of
# the cyclic collector's reach. Without it a full collection, walking every object of
# pandas, folium and Streamlit, paused a map build for ~80 ms now and then (measured at
# 1,000,000 cases: overview 365-600 ms, 380-460 ms after).
gc.collect()
gc.freeze()

CSS = (Path(__file__).resolve().parent / "static" / "propmap.css").read_text(encoding="utf-8")
PERIODS = {"近30天": 30, "近90天": 90, "近半年": 182, "近一年": 365}
#: The 计数 switch: what heat and hot spots count (URL ``count``; distinct is the default).
COUNTS = {"distinct": "去重后的诉求", "cases": "全部工单"}
#: The meeting's presets (:data:`geo.periods.PRESETS`): label → URL value.
PRESETS = {label: key for key, label in periods.PRESETS.items()}
#: Order of the period choices in the sidebar.
PERIOD_CHOICES = ["近30天", "近90天", "近半年", "近一年", "本月", "本季度", "上季度", "去年同期",
                  "自定义"]


def layer(key: str, f: Filters) -> tuple[Layer, LayerData]:
    """A registered layer and its (cached) data for ``f`` under this run's context.

    A layer that counts complaints (``follows_count``: heat, hot spots) counts what the
    sidebar's 计数 switch says; every other layer counts cases, whatever the switch.
    """
    lyr = registry.get(key)
    if lyr.follows_count:
        f = f.with_(distinct=distinct())
    return lyr, data.layer_data(data.ctx(), key, f)


def distinct() -> bool:
    """Whether heat and hot spots count distinct complaints (the sidebar's 计数 switch).

    Only the layers and pages that count demand follow it; work figures (pending,
    overdue, the worklist, the drill-down's cases, every export) count cases.
    """
    return bool(st.session_state.get("count_distinct", True))


def count_text(distinct_: bool | None = None) -> str:
    """What heat and hot spots count, in Chinese, for captions."""
    d = distinct() if distinct_ is None else distinct_
    return ("去重后的诉求（同一诉求经多个渠道反映只计一次）" if d else "全部工单（每件工单都计）")


def layers_for_scope(keys: Sequence[str]) -> list[str]:
    """The layers of ``keys`` this account may be offered.

    A statistic over every case of the area (``needs_all_cases``: hot spots) is not
    offered to an account that reads only some themes' cases (a department).
    """
    every = scope().every_theme
    return [k for k in keys if every or not registry.get(k).needs_all_cases]


def hotspot_themes() -> list[str]:
    """The hot-spot themes offered to this account (:data:`layers.hotspot_stats.THEMES`).

    A department gets its own themes (its row-level security lets it read every case
    of them, city-wide); ``all`` (every dispute) only an account that reads every case
    of its area.
    """
    sc = scope()
    if sc.every_theme:
        return list(hotspot_stats.THEMES)
    return [t for t, cats in hotspot_stats.THEMES.items() if cats and set(cats) <= set(sc.themes)]


def scope() -> Scope:
    """The scope of the logged-in account (this run's context)."""
    return data.ctx().scope


def visible_streets() -> dict[str, str]:
    """Street offices and towns whose figures the account may see: code → name."""
    sc = scope()
    return {c: n for c, n in data.street_names(data.ctx()).items() if sc.sees_street(c)}


def street_choice(key: str) -> str:
    """The street office of a per-street page: the URL's ``street`` when the account sees it,
    else the first it sees; chosen in a selectbox that writes the choice back to the URL."""
    names = visible_streets()
    codes = list(names)
    current = st.query_params.get("street")
    if current and current not in names:
        refuse("该街道/镇不在您的辖区内。")
    street: str = st.selectbox("街道办事处/镇", codes,
                               index=codes.index(current) if current in names else 0,
                               format_func=lambda c: names[c], key=key) or codes[0]
    if street != current:
        st.query_params["street"] = street
    return street


def refuse(message: str) -> None:
    """A clear refusal in place of the page (nothing else is drawn)."""
    st.error(f"无权查看：{md(message)}")
    st.stop()


#: What a form's write may raise that the user should read (anything else is a bug).
WRITE_ERRORS: tuple[type[Exception], ...] = (PropmapError, sa.exc.DBAPIError)


def write_error(exc: Exception) -> str:
    """What a refused write says to the user: the error's own words, the database's refusal
    in Chinese, or, for a constraint the form did not foresee, a plain request to check."""
    message = user_message(exc)
    if message is None:
        log.warning("write refused: %s", exc)
        message = "数据库未接受这次保存（数据不符合约束）。请检查填写的内容后重试。"
    return message


def street_filter(key: str, *, label: str = "街道/镇", everything: str = "全市") -> str | None:
    """A street-office filter for the page (in the URL as ``street``): ``None`` is every street
    the account sees (the whole city for city-wide accounts). A street outside the account's
    area in the URL is refused."""
    names = visible_streets()
    sc = scope()
    options: list[str | None] = ([None] if sc.city_wide or len(names) > 1 else []) + list(names)
    current = st.query_params.get("street") or None
    if current is not None and current not in names:
        refuse("该街道/镇不在您的辖区内。")
    if current is None and None not in options:
        current = options[0]
    chosen = st.selectbox(label, options, index=options.index(current),
                          format_func=lambda c: everything if c is None else names[c], key=key)
    if (chosen or None) != (st.query_params.get("street") or None):
        set_url(street=chosen)
    return chosen


def filter_text(f: Filters) -> str:
    """The filters in force, in Chinese, for the page and the downloads' 说明."""
    parts = [f"时段 {period_text(f)}"]
    if f.themes:
        parts.append("主题 " + "、".join(CATEGORY_THEMES.get(t, t) for t in f.themes))
    if f.categories:
        parts.append(f"类别 {len(f.categories)} 项")
    if f.channels:
        parts.append("渠道 " + "、".join(CHANNELS.get(c, c) for c in f.channels))
    if f.statuses:
        parts.append("状态 " + "、".join(STATUSES.get(s, s) for s in f.statuses))
    return "；".join(parts)


# --- filters ----------------------------------------------------------------

def url_list(param: str, allowed: Sequence[str]) -> list[str]:
    """The values of a comma-separated URL parameter that are among ``allowed``."""
    return [v for v in (st.query_params.get(param) or "").split(",") if v in allowed]


def _url_dates(as_of: dt.date) -> tuple[dt.date, dt.date]:
    """The custom period in the URL (``from``, ``to``), or the last 90 days."""
    try:
        start = dt.date.fromisoformat(st.query_params.get("from") or "")
        end = dt.date.fromisoformat(st.query_params.get("to") or "")
    except ValueError:
        return as_of - dt.timedelta(days=89), as_of
    return (start, end) if start <= end <= as_of else (as_of - dt.timedelta(days=89), as_of)


def set_url(**params: str | None) -> bool:
    """Write parameters to the URL, changing only what differs (``None`` or ``""`` removes);
    whether anything changed."""
    qp = st.query_params
    changed = False
    for k, v in params.items():
        if not v:
            if k in qp:
                del qp[k]
                changed = True
        elif qp.get(k) != v:
            qp[k] = v
            changed = True
    return changed


#: The sidebar's widgets, whose values are kept across pages (:func:`_seed`).
FILTER_KEYS = ("f_period", "f_dates", "f_themes", "f_categories", "f_channels", "f_statuses")
_KEPT = "_filters_kept"


def _seed(key: str, value: Any) -> None:
    """Give widget ``key`` its value: the session's (kept across pages), else ``value``
    (from the URL).

    Streamlit forgets a widget's state when another page runs (the widget is a new
    one there), and a page switched to with a link of its own has no filters in its
    URL: going from the overview to a street's drill-down dropped the period. The
    values are therefore also kept under a key of the session's own, which survives.
    """
    if key not in st.session_state:
        kept = st.session_state.get(_KEPT, {})
        st.session_state[key] = kept.get(key, value)


def _keep() -> None:
    st.session_state[_KEPT] = {k: st.session_state[k] for k in FILTER_KEYS
                               if k in st.session_state}


def sidebar_filters() -> Filters:
    """Draw the filter sidebar (in the entry script, so it persists across pages).

    The filters live in the URL too (``period``, ``from``/``to``, ``theme``,
    ``category``, ``channel``, ``status``, ``count``), so a shared link reproduces the
    view: the URL gives the widgets their first value, and every run writes
    the current choice back. ``period`` is a number of days (``30``), ``custom``
    (with ``from``/``to``), or one of the meeting's presets (``q`` 本季度,
    ``prev_q`` 上季度, ``m`` 本月, ``yoy`` 去年同期, :mod:`geo.periods`).
    """
    c = data.ctx()
    as_of = data.as_of(c)
    sb = st.sidebar
    sb.markdown("### 筛选")
    url_value = {str(d): label for label, d in PERIODS.items()} | {
        v: k for k, v in PRESETS.items()} | {"custom": "自定义"}
    # The URL gives each widget its first value, once per session. A widget whose default
    # changed between runs would be a new widget to Streamlit: going to another page with
    # a link that does not name the period reset the period under a sidebar showing the old
    # one. Seeding the state instead keeps the choice across pages.
    _seed("f_period", url_value.get(st.query_params.get("period") or "", "近一年"))
    _seed("f_dates", _url_dates(as_of))
    _seed("f_themes", url_list("theme", list(CATEGORY_THEMES)))
    _seed("f_channels", url_list("channel", list(CHANNELS)))
    _seed("f_statuses", url_list("status", list(STATUSES)))
    period = sb.selectbox("时段", PERIOD_CHOICES, key="f_period",
                          help="本季度、本月：从季初、月初到数据截止日；上季度：上一个完整季度；"
                               "去年同期：本季度的同一段日子往前推一年。")
    if period == "自定义":
        picked = sb.date_input("起止日期", max_value=as_of, key="f_dates")
        start, end = (picked if isinstance(picked, tuple) and len(picked) == 2
                      else _url_dates(as_of))
    elif period in PRESETS:
        p = periods.preset(PRESETS[period], as_of)
        start, end = p.start, p.end
    else:
        start, end = as_of - dt.timedelta(days=PERIODS[period] - 1), as_of
    themes = sb.multiselect("主题", list(CATEGORY_THEMES), format_func=lambda k: CATEGORY_THEMES[k],
                            key="f_themes", placeholder="全部主题")
    cats = data.categories(c)
    if themes:
        cats = cats[cats["theme"].isin(themes)]
    names = dict(zip(cats["code"], cats["name"], strict=True))
    _seed("f_categories", url_list("category", list(names)))
    st.session_state["f_categories"] = [k for k in st.session_state["f_categories"]
                                        if k in names]  # a theme taken away takes its categories
    categories = sb.multiselect("类别", list(names), format_func=lambda k: names[k],
                                key="f_categories", placeholder="全部类别")
    channels = sb.multiselect("渠道", list(CHANNELS), format_func=lambda k: CHANNELS[k],
                              key="f_channels", placeholder="全部渠道")
    statuses = sb.multiselect("状态", list(STATUSES), format_func=lambda k: STATUSES[k],
                              key="f_statuses", placeholder="全部状态")
    counted = url_list("count", list(COUNTS))
    count = sb.radio("计数（热力与热点）", list(COUNTS), format_func=lambda k: COUNTS[k],
                     index=list(COUNTS).index(counted[0] if counted else "distinct"),
                     horizontal=True, key="f_count",
                     help="去重后的诉求：同一诉求经12345热线、市长信箱、信访等多个渠道反映的"
                          "只计一次。待办、超期、办结率与各类清单、导出始终按工单件数计。")
    st.session_state["count_distinct"] = count != "cases"
    sb.caption(f"数据截至 {as_of:%Y-%m-%d}")
    _keep()
    categories = [c for c in categories if c in names]
    custom = period == "自定义"
    set_url(period=None if period == "近一年" else
             "custom" if custom else PRESETS.get(period) or str(PERIODS[period]),
             **{"from": f"{start:%Y-%m-%d}" if custom else None,
                "to": f"{end:%Y-%m-%d}" if custom else None},
             theme=",".join(themes), category=",".join(categories),
             channel=",".join(channels), status=",".join(statuses),
             count=None if count == "distinct" else count)
    return Filters(start=start, end=end, as_of=as_of, themes=tuple(themes),
                   categories=tuple(categories), channels=tuple(channels),
                   statuses=tuple(statuses))


def filters() -> Filters:
    """The filters chosen in the sidebar (defaults when the sidebar was not drawn)."""
    f = st.session_state.get("filters")
    if isinstance(f, Filters):
        return f
    return Filters.year_to(data.as_of(data.ctx()))


def period_text(f: Filters) -> str:
    return f"{f.start:%Y-%m-%d} 至 {f.end:%Y-%m-%d}"


# --- page furniture ---------------------------------------------------------

SYNTHETIC_NOTICE = "⚠ 演示数据（合成）：边界、小区与工单均为程序生成，不是真实数据。"


def setup(title: str, *, presentation: bool = False) -> None:
    """Page CSS and title; the synthetic-data notice when the data are synthetic."""
    page_css(presentation=presentation)
    st.markdown(f'<h1 class="pm-title{" pm-big" if presentation else ""}">{esc(title)}</h1>',
                unsafe_allow_html=True)
    if data.synthetic(data.ctx()):
        text = synthetic_notice()
        # Text from the database: Markdown's special characters shown as themselves.
        st.caption(text.translate({ord(c): "\\" + c for c in "\\`*_[]<>#~$|"}))


def synthetic_notice() -> str:
    """The synthetic-data notice; the demo says which of its parts are real (etl.demo)."""
    meta = data.dataset_meta(data.ctx())
    real, invented = meta.get("real_parts"), meta.get("synthetic_parts")
    if real and invented:
        return f"⚠ 演示数据（合成）。真实：{real}。程序生成：{invented}。"
    return SYNTHETIC_NOTICE


def page_css(*, presentation: bool = False) -> None:
    """The stylesheet (and, for 会议展示, the marker that hides the sidebar and header)."""
    st.markdown(f"<style>{CSS}</style>", unsafe_allow_html=True)
    if presentation:
        st.markdown('<div class="pm-present"></div>', unsafe_allow_html=True)


def compact_title(title: str) -> None:
    """A one-line title with the synthetic-data notice beside it (会议展示's header)."""
    note = (f'<span class="pm-synthetic" title="{esc(synthetic_notice())}">⚠ 演示数据（合成）'
            '</span>' if data.synthetic(data.ctx()) else "")
    st.markdown(f'<h1 class="pm-title pm-big">{esc(title)}{note}</h1>', unsafe_allow_html=True)


def guarded(fn: F) -> F:
    """Turn errors into messages staff can act on (the one place in the dashboard that does so).

    The message comes from :func:`geo._errors.user_message`, as on the command line: a
    user's error, a bad setting, a database that is down, missing or too slow. Anything
    else is a bug: the page says so in Chinese, without a traceback or file paths, and
    the traceback goes to the server log.
    """
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # st.rerun and st.stop are BaseExceptions: they pass
            message = user_message(exc)  # the same words as the command line
            if message is None:  # a bug: never show a traceback to staff
                log.exception("page failed")
                message = ("页面出错，已记录在服务器日志中。请刷新页面重试；"
                           "如仍出错，请联系系统管理员。")
            st.error(message)
        return None
    return wrapper  # type: ignore[return-value]


def map_widget(m: pmap.MapView, *, key: str, height: int = 620) -> dict[str, Any] | None:
    """Draw the rendered map ``m``; returns the clicked feature's properties, if new.

    The component of streamlit-folium (pinned in pyproject) gets the map rendered once
    per server (:class:`dashboard.map.MapView`) instead of rendering it again in every
    session, as ``st_folium`` would. Only ``last_active_drawing`` is returned, so
    panning and zooming do not rerun the script. A click is reported once: the map
    remembers its last value, so the value handled last is kept per key.
    """
    from streamlit_folium import _component_func, generate_js_hash

    hash_key = generate_js_hash(m.script, key, False)

    def _on_change() -> None:
        st.session_state[key] = st.session_state.get(hash_key, {})

    out = _component_func(
        script=m.script, header=m.header, html=m.html, id=m.map_id, key=hash_key,
        height=height, width=None, returned_objects=["last_active_drawing"],
        default={"last_active_drawing": None}, zoom=None, center=None, feature_group=None,
        return_on_hover=False, layer_control=None, pixelated=False,
        css_links=list(m.css_links), js_links=list(m.js_links), on_change=_on_change,
        wrap_longitude=False)
    feat = (out or {}).get("last_active_drawing")
    if not feat:
        return None
    seen = st.session_state.setdefault("_clicks", {})
    token = json.dumps(feat.get("properties", {}), sort_keys=True, ensure_ascii=False)
    if seen.get(key) == token:
        return None
    seen[key] = token
    return dict(feat.get("properties") or {})


def show_map(m: pmap.MapView, legend_html: str, *, key: str, height: int = 620,
             legend_width: float = 0.24) -> dict[str, Any] | None:
    """:func:`map_widget` with its legend beside it."""
    left, right = st.columns([1 - legend_width, legend_width])
    with left:
        clicked = map_widget(m, key=key, height=height)
    with right:
        st.markdown(legend_html, unsafe_allow_html=True)
    return clicked


def nav_key(prefix: str) -> str:
    """A map key that changes on every navigation, so a remounted map starts unclicked."""
    return f"{prefix}-{st.session_state.get('_nav', 0)}"


def _navigated() -> None:
    """Count a navigation, so the maps of the next run are new (:func:`nav_key`)."""
    st.session_state["_nav"] = st.session_state.get("_nav", 0) + 1


def go(page: str, **query_params: str) -> None:
    """Open another page with ``query_params`` (a click on a map that leads elsewhere)."""
    _navigated()
    st.switch_page(page, query_params=query_params)


def navigate(**params: str | None) -> None:
    """Set the URL's selection (``None`` removes a key) and rerun."""
    _navigated()
    for k, v in params.items():
        if v is None:
            if k in st.query_params:
                del st.query_params[k]
        else:
            st.query_params[k] = v
    st.rerun()


def legend_block(items: Sequence[str]) -> str:
    return "".join(items)


#: A tile: (label, value, highlight as bad), optionally (…, help text, change line).
Tile = tuple[Any, ...]


def fmt_value(v: Any) -> str:
    """A figure as shown on a tile or in a table: thousands separated, ``—`` when unknown."""
    if v is None or (isinstance(v, float) and v != v):
        return "—"
    return f"{v:,}" if isinstance(v, int) else str(v)


def kpis(items: Sequence[Tile], *, big: bool = False, stacked: bool = False,
         cls: str = "") -> None:
    """Headline figures as large tiles: (label, value, highlight as bad[, help[, change]]).

    ``help`` is the figure's written definition (:func:`geo.measures.help_text`),
    shown when the pointer rests on the tile (marked ⓘ); ``change`` a line under
    the label (环比/同比). ``stacked`` lays them out two by two, for a narrow
    column beside a map.
    """
    tiles = []
    for label, v, bad, *more in items:
        help_text = more[0] if more else ""
        change = more[1] if len(more) > 1 else ""
        tone = more[2] if len(more) > 2 else ""
        title = f' title="{esc(help_text)}"' if help_text else ""
        tiles.append(
            f'<div class="pm-kpi{" bad" if bad else ""}{" pm-help" if help_text else ""}"'
            f'{title}><div class="v">{esc(fmt_value(v))}</div><div class="l">{esc(label)}</div>'
            + (f'<div class="d {tone}">{esc(change)}</div>' if change else "") + "</div>")
    classes = "pm-kpis" + (" pm-big" if big else "") + (" pm-stack" if stacked else "") + (
        f" {cls}" if cls else "")
    st.markdown(f'<div class="{classes}">{"".join(tiles)}</div>', unsafe_allow_html=True)


def _pct(v: float | None) -> str | None:
    return f"{v}%" if v is not None else None


#: The headline tiles: key → (label, how the value is shown, highlight as bad when > 0).
HEADLINE: dict[str, tuple[str, str, bool]] = {
    "received": ("受理（件）", "count", False),
    "distinct": (measures.BY_KEY["distinct"].label, "count", False),
    "pending": ("待办（件）", "count", False),
    "overdue": ("超期（件）", "count", True),
    "closed_late": ("逾期办结（件）", "count", True),
    "reopened": ("重新办理（件）", "count", True),
    "unsatisfied": ("不满意（件）", "count", True),
    "closure_rate": ("办结率", "pct", False),
    "repeat_rate": (measures.RATE_BY_KEY["repeat_rate"].label, "pct", False),
    "satisfaction_rate": ("满意率", "pct", False),
    "levels": ("社区 / 街道 / 市级", "share", False),
}
#: Rates where a rise is bad news (the others: a fall is).
RATES_HIGH_IS_WORSE = ("repeat_rate",)
#: Tiles of the overview and the drill-down (cases and distinct complaints side by side, the
#: repeat rate beside the closure rate), and of the meeting screen (fewer, larger).
PAGE_TILES = ("received", "distinct", "pending", "overdue", "closed_late", "reopened",
              "unsatisfied", "closure_rate", "repeat_rate", "satisfaction_rate", "levels")
PRESENT_TILES = ("received", "pending", "overdue", "closed_late", "reopened", "unsatisfied")


def headline_items(h: dict[str, Any], keys: Sequence[str] = PAGE_TILES,
                   base: dict[str, Any] | None = None, compare_label: str = "") -> list[Tile]:
    """Tiles for headline figures ``h`` (:func:`layers.stats.headline`), with the change
    against ``base`` (the same figures of the comparison period) when given."""
    out: list[Tile] = []
    for key in keys:
        label, kind, bad_when_any = HEADLINE[key]
        if kind == "share":
            share = h["level_share"]
            out.append((label, f"{share['community']:.0f} / {share['street']:.0f} / "
                               f"{share['city']:.0f}%", False,
                        "工单按调处层级（社区、街道、市级）所占比例"))
            continue
        value = h[key] if kind == "count" else _pct(h[key])
        change, tone = "", ""
        if base is not None:
            change = f"{compare_label} " + compare.describe(h[key], base[key],
                                                           rate=kind == "pct")
            direction = compare.change_of(h[key], base[key]).direction
            # more cases, or a lower rate (a higher one where high is bad)
            worse = "up" if kind == "count" or key in RATES_HIGH_IS_WORSE else "down"
            tone = "" if direction in (None, "flat") else (
                "worse" if direction == worse else "better")
        out.append((label, value, bool(bad_when_any and h[key]), measures.help_text(key),
                    change, tone))
    return out


def headline_tiles(f: Filters, *, big: bool = False, stacked: bool = False,
                   keys: Sequence[str] = PAGE_TILES, compare_kind: str | None = None) -> None:
    """The headline tiles of ``f``'s area, each with its definition as help and, with
    ``compare_kind`` (``prev`` 环比, ``yoy`` 同比), its change."""
    c = data.ctx()
    h = data.headline(c, f)
    base = (data.headline(c, f.compared(compare_kind))
            if compare_kind and comparable(f, compare_kind) else None)
    label = periods.COMPARISONS[compare_kind][0] if compare_kind else ""
    items = headline_items(h, keys, base, label)
    if compare_kind and base is None:  # the data do not reach back that far
        items = [(*t[:4], f"{label}：对比期无完整数据") if len(t) > 4 else t for t in items]
    kpis(items, big=big, stacked=stacked)


def comparable(f: Filters, kind: str | None) -> bool:
    """Whether ``f``'s period can be compared by ``kind`` (the data reach back that far)."""
    return kind is not None and compare.covered(f.period, kind, data.first_day(data.ctx()))


def active_filters(f: Filters, *, extra: Sequence[str] = ()) -> None:
    """Every filter in force, on screen (a filter from the URL must never act unseen)."""
    parts = filter_text(f).split("；")
    chips = "".join(f'<span class="pm-chip">{esc(p)}</span>' for p in [*parts, *extra])
    st.markdown(f'<div class="pm-filters"><b>当前筛选</b>{chips}</div>', unsafe_allow_html=True)
