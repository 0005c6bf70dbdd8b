"""Every map layer, by key. Pages loop over this instead of special-casing layers."""

from __future__ import annotations

from layers import (
    communities,
    compounds,
    firm_coverage,
    hazards,
    heat,
    hotspot_emerging,
    hotspot_gistar,
    pending_cases,
    sanwu,
    street_areas,
)
from layers.base import Layer

REGISTRY: dict[str, Layer] = {
    m.LAYER.key: m.LAYER
    for m in (street_areas, heat, sanwu, hazards, communities, compounds, pending_cases,
              firm_coverage, hotspot_gistar, hotspot_emerging)
}

#: Layers of the city overview that the user can switch on and off, in drawing order.
OVERVIEW_OPTIONAL = ("heat", "gistar", "hazards", "sanwu")
#: Layers of a street office's drill-down, in drawing order.
DRILLDOWN = ("street_areas", "communities", "compounds", "pending_cases")


def get(key: str) -> Layer:
    """The layer registered as ``key``."""
    try:
        return REGISTRY[key]
    except KeyError:
        raise KeyError(f"unknown layer {key!r}; known: {', '.join(REGISTRY)}") from None
