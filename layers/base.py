"""What every layer shares: its interface, the data it hands to the map, and SQL helpers.

A layer is a :class:`Layer`: ``query(con, filters) -> LayerData`` runs one
aggregate query in PostGIS and returns GeoJSON already simplified and rounded
to 5 decimals (about 1 m), so what reaches the browser is bounded by the
number of areas, hexagons or capped points, never by the number of cases;
``render(data, **options) -> folium.FeatureGroup`` draws it; ``legend(data,
**options) -> str`` is plain HTML (a branca colormap would pull d3 from a CDN).
"""

from __future__ import annotations

import decimal
import functools
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import folium
import pandas as pd
import sqlalchemy as sa

from geo import settings
from layers.filters import Filters

#: Decimal places kept in coordinates sent to the browser (5 ≈ 1 m).
COORD_DECIMALS = 5


@dataclass(frozen=True)
class LayerData:
    """A layer's features as a GeoJSON FeatureCollection, plus facts about them.

    ``meta`` holds what the page should say about the layer, e.g. ``total`` and
    ``shown`` when points were capped.
    """

    geojson: dict[str, Any]
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def features(self) -> list[dict[str, Any]]:
        return self.geojson["features"]  # type: ignore[no-any-return]

    def __len__(self) -> int:
        return len(self.features)

    def payload_bytes(self) -> int:
        """Size of the GeoJSON as sent to the browser."""
        return len(json.dumps(self.geojson, ensure_ascii=False, separators=(",", ":")).encode())

    @functools.cached_property
    def digest(self) -> str:
        """A digest of the features and meta: equal data, equal digest (the map cache's key).

        Computed once; a cached data function touches it before returning, so the copies
        every session gets carry it.
        """
        text = json.dumps([self.geojson, dict(self.meta)], ensure_ascii=False,
                          separators=(",", ":"), sort_keys=True, default=str)
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


@dataclass(frozen=True)
class Layer:
    """One map layer: a key, a Chinese label, and its three functions."""

    key: str
    label: str
    query: Callable[[sa.Connection, Filters], LayerData]
    render: Callable[..., folium.FeatureGroup]
    legend: Callable[..., str]
    #: True when the layer only makes sense inside one street office's area.
    needs_area: bool = False


def set_timeout(con: sa.Connection) -> None:
    """Apply ``statement_timeout_ms`` to the rest of ``con``'s transaction."""
    con.execute(sa.text("SELECT set_config('statement_timeout', :t, true)"),
                {"t": str(int(settings.get("statement_timeout_ms")))})


def frame(con: sa.Connection, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Run ``sql`` under the statement timeout and return a DataFrame."""
    set_timeout(con)
    res = con.execute(sa.text(sql), dict(params or {}))
    cols = list(res.keys())
    rows = res.fetchall()
    # Column by column: pandas inspects every row object when given rows (70 ms for the
    # 10,000 grid cells of the heat layer at 1M cases), a column tuple at once (2 ms).
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in cols]
    return pd.DataFrame({c: _floats(v) for c, v in zip(cols, columns, strict=True)}, columns=cols)


def _floats(values: tuple[Any, ...]) -> list[Any]:
    """A column with SQL ``numeric`` values (rates, ``round(...)``) as floats, for display."""
    if any(isinstance(v, decimal.Decimal) for v in values):
        return [float(v) if isinstance(v, decimal.Decimal) else v for v in values]
    return list(values)


def _plain(v: Any) -> Any:
    if v is None or isinstance(v, (str, int, bool)):
        return v
    if isinstance(v, decimal.Decimal):
        v = float(v)
    if isinstance(v, float):
        return None if v != v else round(v, 4)
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if hasattr(v, "item"):
        return _plain(v.item())
    return str(v)


def features(con: sa.Connection, sql: str, params: Mapping[str, Any],
             geometry: str = "geometry") -> dict[str, Any]:
    """Run ``sql`` whose ``geometry`` column is ``ST_AsGeoJSON`` text; return a FeatureCollection.

    Every other column becomes a property.
    """
    set_timeout(con)
    res = con.execute(sa.text(sql), dict(params))
    cols = list(res.keys())
    out = []
    for row in res:
        rec = dict(zip(cols, row, strict=True))
        geom = rec.pop(geometry)
        if geom is None:
            continue
        out.append({"type": "Feature", "geometry": json.loads(geom),
                    "properties": {k: _plain(v) for k, v in rec.items()}})
    return {"type": "FeatureCollection", "features": out}


def collection(feats: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(feats)}


def as_geojson(geom_sql: str) -> str:
    """SQL expression: ``geom_sql`` as GeoJSON text with rounded coordinates."""
    return f"ST_AsGeoJSON({geom_sql}, {COORD_DECIMALS})"


def simplified(geom_sql: str, tolerance_deg: float) -> str:
    """SQL expression: ``geom_sql`` simplified (topology kept) and as rounded GeoJSON."""
    return as_geojson(f"ST_SimplifyPreserveTopology({geom_sql}, {tolerance_deg})")
