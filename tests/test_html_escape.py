"""Names become HTML and, inside folium, Jinja templates: both must see them as text.

branca compiles the output of every folium element again as a Jinja template,
data included, so an unescaped ``{{ … }}`` in a name is evaluated on the server.
These tests draw names through the same path as the map (escape_properties,
then folium) and read the HTML that would reach the browser.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import folium
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dashboard import map as pmap
from layers import registry
from layers.filters import Filters
from layers.html import esc, escape_properties, md
from tests.conftest import AS_OF

#: Names as a hostile register could hold them: markup, a template expression, a template
#: statement left open (which breaks the compile), a comment, and an expression that
#: reaches the operating system through Jinja's globals without a quote, ``<``, ``>`` or
#: ``&`` (so HTML escaping alone let it through: it made a directory, ``CANARY``, in the
#: server's working directory).
CANARY = "propmap_pwned"
NAMES = [
    '<img src=x onerror="alert(1)">苑',
    "{{ 7*7 }}XQ小区",
    "{% if true %}花园",
    "{# 注释",
    f"{{{{ cycler.__init__.__globals__.os.makedirs(dict({CANARY}=1)|first, exist_ok=true) }}}}",
]


def _in_script(text: str) -> str:
    """``text`` as folium writes it into the page's script (JSON, HTML-safe)."""
    return json.dumps(text)[1:-1].replace("&", "\\u0026")


def _map_html(names: list[str], *, escaped: bool = True) -> str:
    """The names drawn as the map draws them: tooltips of a GeoJSON layer and DivIcon labels."""
    feats = [{"type": "Feature", "properties": {"name": n},
              "geometry": {"type": "Point", "coordinates": [107.98 + i / 100, 26.58]}}
             for i, n in enumerate(names)]
    gj: dict[str, Any] = {"type": "FeatureCollection", "features": feats}
    if escaped:
        gj = escape_properties(gj)
    m = folium.Map(location=[26.58, 107.98], zoom_start=12, tiles=None)
    folium.GeoJson(gj, tooltip=folium.GeoJsonTooltip(fields=["name"])).add_to(m)
    for ft in gj["features"]:
        lon, lat = ft["geometry"]["coordinates"]
        folium.Marker([lat, lon], icon=folium.DivIcon(
            html=f'<div class="pm-map-label">{ft["properties"]["name"]}</div>')).add_to(m)
    return m.get_root().render()


def test_esc_leaves_no_markup_and_no_template_delimiter() -> None:
    for text in ("<b>", "a & b", '"q"', "'q'", "{{x}}", "{%x%}", "{#x#}", "}}"):
        out = esc(text)
        assert not set(out) & set("<>\"'{}"), out
        assert html.unescape(out) == text  # the browser shows the name as it was written


def test_a_blank_line_never_ends_the_html_a_name_sits_in() -> None:
    out = esc("楼上漏水\r\n\n![b](http://beacon.example/b.png)")
    assert "\n" not in out and "\r" not in out
    assert html.unescape(out) == "楼上漏水\r\n\n![b](http://beacon.example/b.png)"


def test_md_leaves_no_markdown_syntax() -> None:
    text = "![b](http://x/b.png) [点此](http://x) *粗* _斜_ `码` # 标题 $x^2$ ~~删~~ <b> a|b"
    out = md(text + "\n\n第二段")
    assert "\n" not in out and out.endswith("第二段")
    # every special character is escaped, so none of them starts any syntax
    assert all(out[i - 1] == "\\" for i, c in enumerate(out) if c in "![]()*_`#$~<>|")
    assert out.replace("\\", "") == text + " 第二段"  # and reads as written
    assert md(None) == ""


def test_names_reach_the_map_as_text_never_as_a_template(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    page = _map_html(NAMES)
    assert not (tmp_path / CANARY).exists()
    assert "49XQ" not in page and "<img src=x" not in page
    # every name is in the page, escaped once, as the browser will read it back
    for n in NAMES:
        assert _in_script(esc(n)) in page, n


def test_folium_still_evaluates_braces_it_is_given(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Why :func:`esc` escapes braces: unescaped, folium's output is a template, and HTML
    escaping is not enough. If this fails, branca stopped compiling its output and the
    escaping of braces is only belt and braces."""
    monkeypatch.chdir(tmp_path)
    assert "49XQ" in _map_html(["{{ 7*7 }}XQ"], escaped=False)
    with pytest.raises(Exception, match="(?i)tag|end of template|unexpected"):
        _map_html(["{% if true %}花园"], escaped=False)
    _map_html([html.escape(NAMES[-1], quote=True)], escaped=False)
    assert (tmp_path / CANARY).is_dir()


def test_a_compound_named_as_a_template_runs_nothing_on_the_server(
        demo: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real path: a 三无 compound's name from the database, its layer's query, and the
    map built and rendered once for every session, as the dashboard does."""
    monkeypatch.chdir(tmp_path)
    pmap.clear()
    layer = registry.get("sanwu")
    with demo.connect() as con, con.begin() as tx:
        cid = con.execute(sa.text("SELECT min(id) FROM compounds WHERE is_sanwu")).scalar()
        con.execute(sa.text("UPDATE compounds SET name = :n WHERE id = :i"),
                    {"n": NAMES[-1] + NAMES[1], "i": cid})
        shown = layer.query(con, Filters.year_to(AS_OF))
        tx.rollback()
    view, _legend = pmap.build([(layer, shown, {})])
    assert not (tmp_path / CANARY).exists()
    assert _in_script(esc(NAMES[-1] + NAMES[1])) in view.script and "49XQ" not in view.script
