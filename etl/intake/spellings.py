"""The intake's data files: header aliases, value spellings and rules (``data/intake/``).

They are data a city edits; code only reads them. See ``docs/intake.md``.
"""

from __future__ import annotations

import csv
import functools
import tomllib
import unicodedata
from typing import Any

from geo import datafiles

DATA = datafiles.path("intake")


def norm(text: object) -> str:
    """Normalize a header or a value for lookup: NFKC, no spaces or ``*`` marks, lower case."""
    s = unicodedata.normalize("NFKC", str(text)).strip().lower()
    return s.replace(" ", "").replace("*", "").replace("\u3000", "")


def _csv(name: str) -> list[dict[str, str]]:
    with open(DATA / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@functools.cache
def header_aliases(kind: str = "cases") -> dict[str, str]:
    """Normalized header spelling → canonical header for files of ``kind`` (cases, compounds, ...).

    Canonical names map to themselves.
    """
    out: dict[str, str] = {}
    for r in _csv("header-aliases.csv"):
        if r["kind"] != kind:
            continue
        out[norm(r["canonical"])] = r["canonical"]
        out[norm(r["alias"])] = r["canonical"]
    return out


@functools.cache
def values(field: str) -> dict[str, str]:
    """Normalized spelling → canonical value for ``field`` (status, satisfaction, channel, ...)."""
    return {norm(r["spelling"]): r["value"] for r in _csv("value-spellings.csv")
            if r["field"] == field}


@functools.cache
def rules() -> dict[str, Any]:
    """The rules in ``rules.toml`` (levels, escalation, compound defaults)."""
    with open(DATA / "rules.toml", "rb") as f:
        return tomllib.load(f)
