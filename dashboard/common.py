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
from geo import measures
from geo._errors import PropmapError, user_message
from geo.models import CHANNELS, STATUSES
from geo.scope import Scope
from layers import hotspot_stats, registry
from layers.base import Layer, LayerData
from layers.filters import CATEGORY_THEMES, Filters
from layers.html import esc

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
    st.error(f"无权查看：{message}")
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


def set_url(**params: str | None) -> None:
    """Write parameters to the URL (``None`` or ``""`` removes one)."""
    _set_url(**params)


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
        _set_url(street=chosen)
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

def _url_list(param: str, allowed: Sequence[str]) -> list[str]:
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


def _set_url(**params: str | None) -> None:
    """Write parameters to the URL, changing only what differs (``None`` or ``""`` removes)."""
    qp = st.query_params
    for k, v in params.items():
        if not v:
            if k in qp:
                del qp[k]
        elif qp.get(k) != v:
            qp[k] = v


def sidebar_filters() -> Filters:
    """Draw the filter sidebar (in the entry script, so it persists across pages).

    The filters live in the URL too (``period``, ``from``/``to``, ``theme``,
    ``category``, ``channel``, ``status``, ``count``), so a shared link reproduces the
    view: the URL gives the widgets their first value, and every run writes
    the current choice back.
    """
    c = data.ctx()
    as_of = data.as_of(c)
    sb = st.sidebar
    sb.markdown("### 筛选")
    days = {str(d): label for label, d in PERIODS.items()} | {"custom": "自定义"}
    labels = list(days.values())
    period = sb.selectbox("时段", labels,
                          index=labels.index(days.get(st.query_params.get("period") or "",
                                                      "近一年")),
                          key="f_period")
    if period == "自定义":
        picked = sb.date_input("起止日期", value=_url_dates(as_of), max_value=as_of,
                               key="f_dates")
        start, end = (picked if isinstance(picked, tuple) and len(picked) == 2
                      else _url_dates(as_of))
    else:
        start, end = as_of - dt.timedelta(days=PERIODS[period] - 1), as_of
    themes = sb.multiselect("主题", list(CATEGORY_THEMES), format_func=lambda k: CATEGORY_THEMES[k],
                            default=_url_list("theme", list(CATEGORY_THEMES)),
                            key="f_themes", placeholder="全部主题")
    cats = data.categories(c)
    if themes:
        cats = cats[cats["theme"].isin(themes)]
    names = dict(zip(cats["code"], cats["name"], strict=True))
    categories = sb.multiselect("类别", list(names), format_func=lambda k: names[k],
                                default=_url_list("category", list(names)),
                                key="f_categories", placeholder="全部类别")
    channels = sb.multiselect("渠道", list(CHANNELS), format_func=lambda k: CHANNELS[k],
                              default=_url_list("channel", list(CHANNELS)),
                              key="f_channels", placeholder="全部渠道")
    statuses = sb.multiselect("状态", list(STATUSES), format_func=lambda k: STATUSES[k],
                              default=_url_list("status", list(STATUSES)),
                              key="f_statuses", placeholder="全部状态")
    counted = _url_list("count", list(COUNTS))
    count = sb.radio("计数（热力与热点）", list(COUNTS), format_func=lambda k: COUNTS[k],
                     index=list(COUNTS).index(counted[0] if counted else "distinct"),
                     horizontal=True, key="f_count",
                     help="去重后的诉求：同一诉求经12345热线、市长信箱、信访等多个渠道反映的"
                          "只计一次。待办、超期、办结率与各类清单、导出始终按工单件数计。")
    st.session_state["count_distinct"] = count != "cases"
    sb.caption(f"数据截至 {as_of:%Y-%m-%d}")
    categories = [c for c in categories if c in names]
    custom = period == "自定义"
    _set_url(period=None if period == "近一年" else
             "custom" if custom else str(PERIODS[period]),
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

def setup(title: str, *, presentation: bool = False) -> None:
    """Page CSS and title; the synthetic-data notice when the data are synthetic."""
    st.markdown(f"<style>{CSS}</style>", unsafe_allow_html=True)
    if presentation:
        st.markdown('<div class="pm-present"></div>', unsafe_allow_html=True)
    st.markdown(f'<h1 class="pm-title{" pm-big" if presentation else ""}">{esc(title)}</h1>',
                unsafe_allow_html=True)
    if data.synthetic(data.ctx()):
        meta = data.dataset_meta(data.ctx())
        real, invented = meta.get("real_parts"), meta.get("synthetic_parts")
        if real and invented:  # the demo says which of its parts are real (etl.demo)
            # Text from the database: Markdown's special characters shown as themselves.
            md = {ord(c): "\\" + c for c in "\\`*_[]<>#~$|"}
            real, invented = real.translate(md), invented.translate(md)
            st.caption(f"⚠ 演示数据（合成）。真实：{real}。程序生成：{invented}。")
        else:
            st.caption("⚠ 演示数据（合成）：边界、小区与工单均为程序生成，不是真实数据。")


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


def navigate(**params: str | None) -> None:
    """Set the URL's selection (``None`` removes a key) and rerun."""
    st.session_state["_nav"] = st.session_state.get("_nav", 0) + 1
    for k, v in params.items():
        if v is None:
            if k in st.query_params:
                del st.query_params[k]
        else:
            st.query_params[k] = v
    st.rerun()


def legend_block(items: Sequence[str]) -> str:
    return "".join(items)


def kpis(items: Sequence[tuple[str, Any, bool]], *, big: bool = False,
         stacked: bool = False) -> None:
    """Headline figures as large tiles: (label, value, highlight as bad).

    ``stacked`` lays them out two by two, for a narrow column beside a map.
    """
    def fmt(v: Any) -> str:
        if v is None:
            return "—"
        return f"{v:,}" if isinstance(v, int) else str(v)
    tiles = "".join(f'<div class="pm-kpi{" bad" if bad else ""}"><div class="v">{esc(fmt(v))}'
                    f'</div><div class="l">{esc(label)}</div></div>' for label, v, bad in items)
    cls = "pm-kpis" + (" pm-big" if big else "") + (" pm-stack" if stacked else "")
    st.markdown(f'<div class="{cls}">{tiles}</div>', unsafe_allow_html=True)


def _pct(v: float | None) -> str | None:
    return f"{v}%" if v is not None else None


def headline_tiles(f: Filters, *, big: bool = False, stacked: bool = False) -> None:
    """The headline figures of ``f``: cases (件) and distinct complaints side by side, the
    work figures in cases, the repeat rate beside the closure rate (:mod:`geo.measures`)."""
    h = data.headline(data.ctx(), f)
    share = h["level_share"]
    rate = measures.RATE_BY_KEY
    kpis([
        ("受理（件）", h["received"], False),
        (f"{measures.BY_KEY['distinct'].label}", h["distinct"], False),
        ("待办（件）", h["pending"], False),
        ("超期（件）", h["overdue"], h["overdue"] > 0),
        (rate["closure_rate"].label, _pct(h["closure_rate"]), False),
        (rate["repeat_rate"].label, _pct(h["repeat_rate"]), False),
        (rate["satisfaction_rate"].label, _pct(h["satisfaction_rate"]), False),
        ("社区 / 街道 / 市级", f"{share['community']:.0f} / {share['street']:.0f} / "
                              f"{share['city']:.0f}%", False),
    ], big=big, stacked=stacked)
