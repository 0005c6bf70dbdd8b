"""The rules of the hotspot statistics, repeats and duplicate grouping (``data/analysis.toml``).

A city edits the file, the software follows: grid resolution and neighbourhood,
permutations and seed, the emerging-hotspot thresholds, the repeat window, the
duplicate-grouping window, distance, similarity threshold and boilerplate, and
the weights of the inspection score.
"""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path
from typing import Any

PATH = Path(__file__).resolve().parent.parent / "data" / "analysis.toml"


@functools.cache
def load() -> dict[str, Any]:
    """The whole file, parsed once per process."""
    with open(PATH, "rb") as f:
        return tomllib.load(f)


def section(name: str) -> dict[str, Any]:
    """One section: ``gistar``, ``emerging``, ``repeat``, ``grouping`` or ``inspection``."""
    return dict(load()[name])
