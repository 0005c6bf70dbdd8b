"""Excel files with Chinese headers (openpyxl): what street-office staff take out.

The one xlsx writer of the project, kept beside the model so that both the
dashboard's downloads (through ``layers``) and the command line's exports
(``etl``) use it: bold frozen header, readable widths, an optional 说明 sheet.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter


def _cell(v: object) -> object:
    """A value openpyxl accepts: missing values (None, NaN, NaT, NA) empty, numpy scalars plain."""
    if v is None or (not isinstance(v, (str, bytes)) and pd.isna(v)):  # type: ignore[call-overload]
        return None
    return v.item() if hasattr(v, "item") and not isinstance(v, pd.Timestamp) else v


def workbook(sheets: Sequence[tuple[str, pd.DataFrame]], notes: Sequence[str] = ()) -> bytes:
    """An .xlsx with one sheet per (title, table), headers bold and frozen, and a 说明 sheet."""
    wb = Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    for title, df in sheets:
        ws = wb.create_sheet(title[:31])
        ws.append([str(c) for c in df.columns])
        for row in df.itertuples(index=False):
            ws.append([_cell(v) for v in row])
        for cell in ws[1]:
            cell.font = Font(bold=True, color="FFFFFF")
            cell.fill = PatternFill("solid", fgColor="305496")
            cell.alignment = Alignment(horizontal="center", vertical="center")
        ws.freeze_panes = "A2"
        for i, col in enumerate(df.columns, start=1):
            width = max([len(str(col)) * 2] + [len(str(v)) * 1.6 for v in df.iloc[:200, i - 1]])
            ws.column_dimensions[get_column_letter(i)].width = min(max(8, width + 2), 50)
    if notes:
        ws = wb.create_sheet("说明")
        for line in notes:
            ws.append([line])
        ws.column_dimensions["A"].width = 90
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write(path: Path, sheets: Sequence[tuple[str, pd.DataFrame]],
          notes: Sequence[str] = ()) -> None:
    """:func:`workbook` written to ``path``."""
    Path(path).write_bytes(workbook(sheets, notes))
