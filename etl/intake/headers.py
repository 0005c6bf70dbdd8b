"""Map a file's header spellings to the canonical Chinese headers, through the alias table.

The alias table is ``data/intake/header-aliases.csv`` with the site's own
table merged over it (:mod:`.spellings`); a mapping given on the command line
(``--map 工单编号=任务号``, canonical = file header) wins over both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from etl.intake.spellings import header_aliases, norm
from geo._errors import InputFileError


def canonical(header: str, kind: str = "cases") -> str | None:
    """The canonical header for ``header``; ``None`` when the alias table has no such spelling."""
    return header_aliases(kind).get(norm(header))


def header_test(known: Iterable[str], kind: str = "cases", minimum: int = 2,
                given: Mapping[str, str] | None = None) -> Callable[[list[str]], bool]:
    """A predicate: does a row of cells look like a header (``minimum`` known headers)?"""
    wanted = set(known)
    extra = {norm(h) for h in (given or {}).values()}

    def is_header(cells: list[str]) -> bool:
        return sum(canonical(c, kind) in wanted or norm(c) in extra
                   for c in cells if c) >= minimum

    return is_header


def parse_given(pairs: Iterable[str], known: Sequence[str]) -> dict[str, str]:
    """``["工单编号=任务号", ...]`` (canonical = file header) as a dict, checked.

    Raises
    ------
    InputFileError
        A pair without ``=``, or a canonical header that does not exist.
    """
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, header = pair.partition("=")
        name, header = name.strip(), header.strip()
        if not sep or not name or not header:
            raise InputFileError(f"--map “{pair}” 应写成 标准列名=文件列名，"
                                 "如 --map 工单编号=任务号")
        if name not in known:
            raise InputFileError(f"--map “{pair}”：没有标准列名“{name}”，可用：{'、'.join(known)}")
        out[name] = header
    return out


@dataclass(frozen=True)
class HeaderMap:
    """How a file's headers were read: the column used for each canonical header."""

    used: dict[str, str]
    """Canonical header → the file's column."""
    unmapped: list[str]
    """The file's columns that no canonical header uses (ignored on import)."""

    def as_dict(self) -> dict[str, object]:
        return {"mapped": {col: name for name, col in self.used.items()},
                "unmapped": self.unmapped}


def map_headers(columns: Sequence[str], *, known: Sequence[str], kind: str = "cases",
                given: Mapping[str, str] | None = None, file: str = "") -> HeaderMap:
    """Choose a file column for each canonical header it has.

    A ``given`` mapping (canonical → file header) wins; then, when two columns
    map to the same header, the one spelled canonically, else the leftmost.

    Raises
    ------
    InputFileError
        A ``given`` file header that is not in the file.
    """
    chosen: dict[str, str] = {}
    taken: set[str] = set()
    for name, header in (given or {}).items():
        col = next((c for c in columns if norm(c) == norm(header)), None)
        if col is None:
            raise InputFileError(f"{file}：--map 指定的列“{header}”不在文件中，"
                                 f"现有列：{'、'.join(map(str, columns))}")
        chosen[name] = col
        taken.add(col)
    fixed = set(chosen)
    for col in columns:
        if col in taken:
            continue
        found = canonical(col, kind) or (col if col in known else None)
        if found is None or found not in known or found in fixed:
            continue
        if found not in chosen or norm(col) == norm(found):
            chosen[found] = col
    used = set(chosen.values())
    return HeaderMap({n: chosen[n] for n in known if n in chosen},
                     [str(c) for c in columns if c not in used])


def rename(frame: pd.DataFrame, *, known: Sequence[str], required: Sequence[str],
           file: str, kind: str = "cases", given: Mapping[str, str] | None = None,
           ) -> pd.DataFrame:
    """Return ``frame``'s known columns under canonical names; unknown columns are dropped.

    Columns are chosen by :func:`map_headers`. Missing optional columns are added blank.

    Raises
    ------
    InputFileError
        Naming every required column that is missing.
    """
    chosen = map_headers(list(frame.columns), known=known, kind=kind, given=given,
                         file=file).used
    missing = [c for c in required if c not in chosen]
    if missing:
        raise InputFileError(
            f"{file}：缺少必需的列：{'、'.join(missing)}。请在表头中加上这些列"
            "（可用的写法见 data/intake/header-aliases.csv，也可在 PROPMAP_INTAKE_DIR 的 "
            "header-aliases.csv 中补充，或用 --map 标准列名=文件列名 指定），"
            f"现有列：{'、'.join(map(str, frame.columns))}"
        )
    out = pd.DataFrame({name: frame[col] for name, col in chosen.items()}, index=frame.index)
    for name in known:
        if name not in out.columns:
            out[name] = ""
    return out[list(known)]
