"""What a briefing is made of: sections of blocks, independent of the file format."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Para:
    text: str
    style: str = "body"
    """``body``, ``lead`` (a summary in bold) or ``note`` (small, grey)."""


@dataclass(frozen=True)
class Table:
    df: pd.DataFrame
    title: str = ""
    note: str = ""
    max_rows: int | None = None


@dataclass(frozen=True)
class Figure:
    png: bytes
    caption: str
    width_cm: float = 16.0


Block = Heading | Para | Table | Figure


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    blocks: list[Block] = field(default_factory=list)


@dataclass(frozen=True)
class Briefing:
    """A whole briefing: its title, the period, the data's cut-off, and its sections."""

    title: str
    period_text: str
    as_of: dt.date
    synthetic: bool
    sections: list[Section]

    @property
    def notice(self) -> str:
        """The line in every page's header."""
        base = f"凯里市物业管理联席会议简报 · {self.period_text} · 数据截至 {self.as_of:%Y-%m-%d}"
        return base + ("　【演示数据（合成），非真实情况】" if self.synthetic else "")
