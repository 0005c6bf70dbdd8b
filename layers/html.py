"""The one escaping function for text that becomes HTML: names, labels, tooltips, popups, cards.

Every name and text in propmap comes from a file someone else wrote (a
boundary file, a compound register, a hotline export). Wherever such text
becomes HTML (a map label, a tooltip, a legend, a card drawn with
``unsafe_allow_html``) it goes through :func:`esc` first, so markup in a name
(``<img src=x onerror=...>``) is shown as text and never runs. Tooltips built
by folium insert property values as HTML, so :func:`escape_properties`
escapes every text property of a GeoJSON collection before it reaches folium.

Line breaks become character references too: Streamlit reads a page's HTML as
Markdown, and a blank line inside a name or a complaint's text would end the
HTML block, so that ``![b](http://…)`` after it became an image the browser
fetches (a beacon to the outside) or a link. Where text goes into Streamlit's
Markdown without HTML (a subheader, a button's label, a message), :func:`md`
shows Markdown's special characters as themselves.

Braces are escaped too. branca renders each folium element's output and then
compiles that output again as a Jinja template (``MacroElement.render`` wraps
it in ``Element(text)``), data and all: a name holding ``{{ 7*7 }}`` came out of
the map as ``49``, a name holding ``{%`` broke the map, and a crafted
expression could run Python on the dashboard's server. As ``&#123;`` and
``&#125;`` a name reads the same in the browser and is never a template.
"""

from __future__ import annotations

import html
from typing import Any

#: Template delimiters (``{{``, ``{%``, ``{#`` all open with a brace) and line breaks (which
#: end an HTML block in Markdown) as character references.
_HTML_EXTRA = str.maketrans({"{": "&#123;", "}": "&#125;", "\n": "&#10;", "\r": "&#13;"})
#: Markdown's special characters (and KaTeX's ``$``; ``:``, ``.`` and ``@``, which GFM needs
#: to make a bare URL or address a link), each shown as itself after a backslash.
_MARKDOWN = str.maketrans({c: "\\" + c for c in "\\`*_{}[]()<>#+-.!|~$=:@"})


def esc(value: object) -> str:
    """``value`` as text safe inside HTML (element content or a quoted attribute), and
    never a template: braces become character references (see the module's note)."""
    if value is None:
        return ""
    return html.escape(str(value), quote=True).translate(_HTML_EXTRA)


def md(value: object) -> str:
    """``value`` as plain text inside Streamlit Markdown (a subheader, a caption, a button's
    label, a message): no image, link, emphasis, heading or formula, one line."""
    if value is None:
        return ""
    return " ".join(str(value).split()).translate(_MARKDOWN)


def escape_properties(geojson: dict[str, Any]) -> dict[str, Any]:
    """Escape every string property of every feature, in place; returns ``geojson``."""
    for ft in geojson.get("features", []):
        props = ft.get("properties") or {}
        for k, v in props.items():
            if isinstance(v, str):
                props[k] = esc(v)
    return geojson
