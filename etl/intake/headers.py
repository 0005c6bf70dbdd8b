"""Map a file's header spellings to the canonical Chinese headers, through the alias table."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import pandas as pd

from etl.intake.spellings import header_aliases, norm
from geo._errors import InputFileError


def canonical(header: str, kind: str = "cases") -> str | None:
    """The canonical header for ``header``; ``None`` when the alias table has no such spelling."""
    return header_aliases(kind).get(norm(header))


def header_test(known: Iterable[str], kind: str = "cases",
                minimum: int = 2) -> Callable[[list[str]], bool]:
    """A predicate: does a row of cells look like a header (``minimum`` known headers)?"""
    wanted = set(known)

    def is_header(cells: list[str]) -> bool:
        return sum(canonical(c, kind) in wanted for c in cells if c) >= minimum

    return is_header


def rename(frame: pd.DataFrame, *, known: Sequence[str], required: Sequence[str],
           file: str, kind: str = "cases") -> pd.DataFrame:
    """Return ``frame``'s known columns under canonical names; unknown columns are dropped.

    When two columns map to the same header, the one spelled canonically wins,
    else the leftmost. Missing optional columns are added blank.

    Raises
    ------
    InputFileError
        Naming every required column that is missing.
    """
    chosen: dict[str, str] = {}
    for col in frame.columns:
        name = canonical(col, kind) or (col if col in known else None)
        if name is None or name not in known:
            continue
        if name not in chosen or norm(col) == norm(name):
            chosen[name] = col
    missing = [c for c in required if c not in chosen]
    if missing:
        raise InputFileError(
            f"{file}：缺少必需的列：{'、'.join(missing)}。请在表头中加上这些列"
            "（可用的写法见 data/intake/header-aliases.csv），"
            f"现有列：{'、'.join(map(str, frame.columns))}"
        )
    out = pd.DataFrame({name: frame[col] for name, col in chosen.items()}, index=frame.index)
    for name in known:
        if name not in out.columns:
            out[name] = ""
    return out[list(known)]
