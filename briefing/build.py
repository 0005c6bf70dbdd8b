"""Build a briefing from the database: the sections of the registry, for one period."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa

from briefing import pdf, word
from briefing.model import Briefing, Section
from briefing.sections import SECTIONS, Inputs, SectionSpec, period_title
from geo import measures, periods
from geo._errors import InputFileError
from layers import stats
from layers.filters import Filters

TITLE = "凯里市物业管理工作联席会议简报"
FORMATS = (".docx", ".pdf")


def quarter_filters(con: sa.Connection, quarter: str) -> Filters:
    """The filters of quarter ``2026Q3`` (up to the data's cut-off day when not over).

    Raises
    ------
    InputFileError
        With a Chinese message when ``quarter`` is malformed or not yet begun.
    """
    as_of = measures.cutoff_day(con)
    try:
        p = periods.parse_quarter(quarter, as_of)
    except ValueError as exc:
        raise InputFileError(str(exc)) from None
    return Filters(start=p.start, end=p.end, as_of=as_of)


def build(con: sa.Connection, f: Filters,
          sections: Sequence[SectionSpec] = SECTIONS) -> Briefing:
    """The briefing of ``f``'s period and filters (city-wide), every section of ``sections``.

    The typical cases are those of the quarter the period ends in.
    """
    f = f.area(None, None)
    x = Inputs(con, f, periods.quarter_name(f.end), stats.is_synthetic(con),
               stats.first_day(con))
    return Briefing(TITLE, period_title(f), f.as_of, x.synthetic,
                    [Section(s.key, s.title, s.build(x)) for s in sections])


def render(b: Briefing, fmt: str, *, filters_note: str = "") -> bytes:
    """``b`` as ``.docx`` or ``.pdf`` bytes."""
    docx = word.to_docx(b, filters_note=filters_note)
    return pdf.docx_to_pdf(docx) if fmt == ".pdf" else docx


def file_format(path: Path) -> str:
    """``.docx`` or ``.pdf`` from the output file's name; refused otherwise."""
    fmt = path.suffix.lower()
    if fmt not in FORMATS:
        raise InputFileError(f"简报只能输出 .docx 或 .pdf 文件，“{path.name}”的扩展名不对")
    return fmt


def file_name(f: Filters, fmt: str) -> str:
    """The briefing's file name: ``联席会议简报-2026Q3.docx`` or with the period's dates."""
    p = f.period
    quarterly = p.start == periods.quarter_start(p.start) and p.end <= periods.quarter_end(
        p.start)
    tag = periods.quarter_name(p.start) if quarterly else f"{p.start:%Y%m%d}-{p.end:%Y%m%d}"
    return f"联席会议简报-{tag}{fmt}"
