"""Excel exports with Chinese headers (openpyxl): what street-office staff take out."""

from __future__ import annotations

import io
from collections.abc import Sequence

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter


def workbook(sheets: Sequence[tuple[str, pd.DataFrame]], notes: Sequence[str] = ()) -> bytes:
    """An .xlsx with one sheet per (title, table), headers bold and frozen, and a 说明 sheet."""
    wb = Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    for title, df in sheets:
        ws = wb.create_sheet(title[:31])
        ws.append([str(c) for c in df.columns])
        for row in df.itertuples(index=False):
            ws.append([None if (v is None or (isinstance(v, float) and v != v) or v is pd.NA)
                       else (v.item() if hasattr(v, "item") else v) for v in row])
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
