"""Every map layer, by key. Pages loop over this instead of special-casing layers."""

from __future__ import annotations

from layers import (
    communities,
    compounds,
    coverage_gaps,
    firm_coverage,
    hazards,
    heat,
    pending_cases,
    sanwu,
    street_areas,
)
from layers.base import Layer

REGISTRY: dict[str, Layer] = {
    layer.key: layer
    for layer in (street_areas.LAYER, heat.LAYER, sanwu.LAYER, hazards.LAYER, communities.LAYER,
                  compounds.LAYER, pending_cases.LAYER, firm_coverage.LAYER, coverage_gaps.LAYER,
                  coverage_gaps.COMPOUNDS)
}

#: Layers of the city overview that the user can switch on and off, in drawing order.
OVERVIEW_OPTIONAL = ("heat", "hazards", "sanwu")
#: Layers of a street office's drill-down, in drawing order.
DRILLDOWN = ("street_areas", "communities", "compounds", "pending_cases")


def get(key: str) -> Layer:
    """The layer registered as ``key``."""
    try:
        return REGISTRY[key]
    except KeyError:
        raise KeyError(f"unknown layer {key!r}; known: {', '.join(REGISTRY)}") from None
