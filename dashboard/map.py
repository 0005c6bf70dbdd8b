"""The folium map, built from registry layers, with every script served locally.

Folium's defaults load Leaflet, jQuery, Bootstrap, awesome-markers and Font
Awesome from public CDNs. Here the map loads only Leaflet, from
``/app/static/vendor`` (installed by :mod:`dashboard.assets`); nothing else is
needed because layers are GeoJSON and circle markers and legends are HTML.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import folium
import folium.elements
import numpy as np
from branca.element import MacroElement
from jinja2 import Template

from dashboard import assets
from geo import crs, settings
from layers import style
from layers.base import COORD_DECIMALS, Layer, LayerData
from layers.html import escape_properties

LOCAL_JS = [("leaflet", assets.url("leaflet", "leaflet.js"))]
LOCAL_CSS = [("leaflet_css", assets.url("leaflet", "leaflet.css"))]
folium.Map.default_js = LOCAL_JS
folium.Map.default_css = LOCAL_CSS

#: Kaili's urban centre, used before any data is loaded.
KAILI = (26.566, 107.981)
BACKGROUND = "#eef1f4"

_STYLE = f"""<style>
.leaflet-container {{ background: {BACKGROUND}; font-family: "Noto Sans CJK SC", sans-serif; }}
.leaflet-tooltip {{ font-size: 16px; }}
.pm-map-label {{ transform: translate(-50%, -50%); white-space: nowrap; font-weight: 700;
  color: #111; pointer-events: none; text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 2px #fff; }}
.pm-map-label.town {{ font-weight: 400; color: #444; }}
</style>"""


#: A click on a small shape (a 三无 compound's dot, a case) must reach it. Pressing the
#: mouse in the map gives the map's frame the focus, and the browser then scrolls the page
#: to show the whole frame when part of it is below the window: the button came up over
#: another shape (or none), and only large polygons still caught the click. The page's
#: scroll is put back at once, so the shape under the pointer stays under it.
NO_FOCUS_SCROLL = """
if (!window.__pmKeepScroll) {
  window.__pmKeepScroll = true;
  document.addEventListener('mousedown', function (e) {
    if (e.button !== 0) return;
    let held = [];
    try {
      for (let el = window.frameElement; el; el = el.parentElement) {
        if (el.scrollHeight > el.clientHeight) held.push([el, el.scrollTop]);
      }
    } catch (err) { return; }  /* not inside a page we may read */
    const restore = function () {
      held.forEach(function (h) { if (h[0].scrollTop !== h[1]) h[0].scrollTop = h[1]; });
    };
    held.forEach(function (h) { h[0].addEventListener('scroll', restore, {once: true}); });
    setTimeout(restore, 0);
    setTimeout(function () {
      held.forEach(function (h) { h[0].removeEventListener('scroll', restore); });
    }, 400);
  }, true);
}
"""


class _Script(MacroElement):
    """JavaScript run with the map's own script (st_folium runs only the map's scripts:
    a ``<script>`` in the header is inserted as text and never runs)."""

    def __init__(self, js: str) -> None:
        super().__init__()
        self._name = "PropmapScript"
        self.js = js
        self._template = Template("{% macro script(this, kwargs) %}{{ this.js }}{% endmacro %}")


def _shift(coords: Any, system: str) -> Any:
    arr = np.asarray(coords, dtype=float)
    if arr.ndim == 1:
        x, y = crs.from_wgs84(arr[0:1], arr[1:2], system)
        return [round(float(x[0]), COORD_DECIMALS), round(float(y[0]), COORD_DECIMALS)]
    if arr.ndim == 2:
        x, y = crs.from_wgs84(arr[:, 0], arr[:, 1], system)
        return np.round(np.column_stack([x, y]), COORD_DECIMALS).tolist()
    return [_shift(c, system) for c in coords]


def to_tile_datum(geojson: dict[str, Any], system: str) -> dict[str, Any]:
    """A copy of ``geojson`` (WGS84) with coordinates in ``system`` (for GCJ-02 tiles)."""
    if crs.normalize(system) in ("wgs84", "cgcs2000"):
        return geojson
    out = copy.deepcopy(geojson)
    for ft in out["features"]:
        ft["geometry"]["coordinates"] = _shift(ft["geometry"]["coordinates"], system)
    return out


def _coords(geom: dict[str, Any]) -> Iterable[Sequence[float]]:
    def walk(c: Any) -> Iterable[Sequence[float]]:
        if c and isinstance(c[0], (int, float)):
            yield c
        else:
            for sub in c:
                yield from walk(sub)
    return walk(geom["coordinates"])


def bounds_of(features: Iterable[dict[str, Any]]) -> list[list[float]] | None:
    """``[[south, west], [north, east]]`` of GeoJSON features, or None when empty."""
    xs, ys = [], []
    for ft in features:
        for x, y in _coords(ft["geometry"]):
            xs.append(x)
            ys.append(y)
    if not xs:
        return None
    return [[min(ys), min(xs)], [max(ys), max(xs)]]


def city_bounds(streets: Sequence[dict[str, Any]], *,
                margin: float = 0.2) -> list[list[float]] | None:
    """The first view of a city map: the street offices, where nearly all cases are.

    The towns around them stay in sight at the edges (``margin`` is a fraction
    of the extent added on each side), and zooming out reaches the whole city.
    """
    core = [ft for ft in streets if ft["properties"].get("street_kind") == "street"]
    b = bounds_of(core or streets)
    if not b or not core:
        return b
    (s, w), (n, e) = b
    dy, dx = (n - s) * margin, (e - w) * margin
    return [[s - dy, w - dx], [n + dy, e + dx]]


def base_map(*, bounds: list[list[float]] | None = None) -> folium.Map:
    """An empty map: no tiles unless ``tile_url`` is set, fitted to ``bounds``."""
    m = folium.Map(location=KAILI, zoom_start=11, tiles=None, max_zoom=18, min_zoom=8,
                   control_scale=True, zoom_control=True)
    url = settings.get("tile_url")
    if url:
        # Tianditu serves from subdomains t0–t7; other servers use the usual a, b, c.
        subdomains = "01234567" if "tianditu" in url else "abc"
        folium.TileLayer(tiles=url, attr=settings.get("tile_attribution") or " ",
                         subdomains=subdomains, max_zoom=18).add_to(m)
    m.get_root().header.add_child(folium.Element(_STYLE))  # type: ignore[attr-defined]
    m.add_child(_Script(NO_FOCUS_SCROLL))
    if bounds:
        m.fit_bounds(_tile_bounds(bounds))
    return m


def _tile_bounds(bounds: list[list[float]]) -> list[list[float]]:
    system = settings.get("tile_crs")
    if crs.normalize(system) in ("wgs84", "cgcs2000"):
        return bounds
    (s, w), (n, e) = bounds
    x, y = crs.from_wgs84(np.array([w, e]), np.array([s, n]), system)
    return [[float(y[0]), float(x[0])], [float(y[1]), float(x[1])]]


@dataclass(frozen=True)
class MapView:
    """A map rendered once for the browser: what streamlit-folium's component receives.

    Building a folium map and rendering it to Leaflet script took most of a page run
    (measured with py-spy under 10 concurrent sessions: the render path was the
    largest part of the page's own work). A map is a pure function of its layers'
    data, their options and its bounds, so :func:`build` renders each distinct map
    once per server and every session showing the same map reuses the result.
    """

    script: str
    header: str
    html: str
    map_id: str
    css_links: tuple[str, ...]
    js_links: tuple[str, ...]
    legend: str

    def payload_bytes(self) -> int:
        """What the browser receives for the map (script, header and HTML)."""
        return len((self.script + self.header + self.html).encode())


_VIEWS: OrderedDict[tuple[Any, ...], MapView] = OrderedDict()
_VIEWS_LOCK = threading.Lock()
_BUILDING: dict[tuple[Any, ...], threading.Lock] = {}
#: Rendered maps kept per server (about 0.1–0.6 MB each).
VIEWS_KEPT = 64


def _option_keys(options: dict[str, Any]) -> list[tuple[str, Any]]:
    """A layer's options for the map's key: other layers' data (a comparison period's,
    ``change_from``) by their digest, not their whole repr."""
    return [(k, v.digest if isinstance(v, LayerData) else v) for k, v in options.items()]


def _view_key(layers: Sequence[tuple[Layer, LayerData, dict[str, Any]]],
              bounds: list[list[float]] | None) -> tuple[Any, ...]:
    return (tuple((layer.key, data.digest, repr(sorted(_option_keys(options))))
                  for layer, data, options in layers),
            repr(bounds), settings.get("tile_url"), settings.get("tile_crs"),
            settings.get("tile_attribution"))


def build(layers: Sequence[tuple[Layer, LayerData, dict[str, Any]]], *,
          bounds: list[list[float]] | None = None) -> tuple[MapView, str]:
    """The map with each (layer, data, options) drawn in order, and its legend HTML.

    Rendered once per distinct map and server (:class:`MapView`), then reused.
    """
    key = _view_key(layers, bounds)
    with _VIEWS_LOCK:
        building = _BUILDING.setdefault(key, threading.Lock())
    with building:  # twenty sessions asking for one new map: one builds it, the rest wait
        with _VIEWS_LOCK:
            hit = _VIEWS.get(key)
            if hit is not None:
                _VIEWS.move_to_end(key)
                return hit, hit.legend
        m, legend = draw(layers, bounds=bounds)
        view = render(m, legend)
        with _VIEWS_LOCK:
            _VIEWS[key] = view
            _BUILDING.pop(key, None)
            while len(_VIEWS) > VIEWS_KEPT:
                _VIEWS.popitem(last=False)
    return view, legend


def render(m: folium.Map, legend: str = "") -> MapView:
    """Render ``m`` as streamlit-folium's ``st_folium`` does, once (see :func:`show`)."""
    from streamlit_folium import _get_header, _get_html, _get_map_string, get_full_id

    m.get_root().render()  # type: ignore[attr-defined]
    m.render()
    html, header = _get_html(m), _get_header(m)
    script = _get_map_string(m)
    css: list[str] = []
    js: list[str] = []
    for elem in _walk(m):
        css.extend(href for _name, href in getattr(elem, "default_css", []))
        js.extend(src for _name, src in getattr(elem, "default_js", []))
    return MapView(script, header, html, get_full_id(m), tuple(dict.fromkeys(css)),
                   tuple(dict.fromkeys(js)), legend)


def _walk(elem: Any) -> Iterable[Any]:
    if isinstance(elem, folium.elements.JSCSSMixin):
        yield elem
    for child in getattr(elem, "_children", {}).values():
        yield from _walk(child)


def draw(layers: Sequence[tuple[Layer, LayerData, dict[str, Any]]], *,
         bounds: list[list[float]] | None = None) -> tuple[folium.Map, str]:
    """A folium map with each (layer, data, options) drawn in order, and the legend HTML."""
    m = base_map(bounds=bounds)
    system = settings.get("tile_crs")
    legends = []
    for layer, data, options in layers:
        if not data.features:  # nothing to draw under these filters: say so where it would be
            legends.append(style.swatches(layer.label, [(style.NO_DATA, "无数据")]))
            continue
        # Names come from files nobody here controls: every text property is escaped
        # before folium puts it into labels and tooltips (which it inserts as HTML).
        shown = LayerData(escape_properties(to_tile_datum(copy.deepcopy(data.geojson), system)),
                          data.meta)
        layer.render(shown, **options).add_to(m)
        legends.append(layer.legend(data, **options))  # legends escape their own text
    return m, "".join(legends)


def html_bytes(m: folium.Map | MapView) -> int:
    """Size of the map as sent to the browser (the script st_folium sends)."""
    if isinstance(m, MapView):
        return m.payload_bytes()
    return len(m.get_root().render().encode())


def clear() -> None:
    """Forget every rendered map (benchmarks measure the build, not the cache)."""
    with _VIEWS_LOCK:
        _VIEWS.clear()
