"""Spreadsheets staff open: the one xlsx writer and the one CSV writer of the project.

Kept beside the model so that the dashboard's downloads (through ``layers``)
and the command line's exports and quarantine (``etl``) use the same two
writers: Chinese headers, bold frozen header row, readable widths, an
optional 说明 sheet; CSV in UTF-8 with a byte-order mark, which Excel opens
without garbling.

Text from outside (a complaint, a compound name) is hostile: a cell that
begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be
read by Excel as a formula (``=HYPERLINK(...)``, the classic CSV/formula
injection). Both writers neutralise such text (:func:`neutralise`): in xlsx
the cell is written as text with Excel's own quote prefix (what Excel stores
when a user types a leading apostrophe), so it shows the text as it came and
stays text when edited; in CSV, which has no cell types, a leading
apostrophe is added, as OWASP recommends.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Excel's limit on the characters of one cell.
MAX_CELL = 32_767
#: What Excel refuses in a sheet's name, as the full-width forms a Chinese title reads the same in.
_TITLE_CHARS = str.maketrans({"/": "／", "\\": "＼", "?": "？", "*": "＊", "[": "［", "]": "］",
                              ":": "："})


def is_formula_like(value: object) -> bool:
    """True for text a spreadsheet would read as a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_START)


def neutralise(value: object) -> object:
    """``value`` safe for a CSV cell: formula-like text gets a leading apostrophe."""
    return "'" + value if is_formula_like(value) else value  # type: ignore[operator]


def sheet_title(title: str) -> str:
    """``title`` as Excel accepts a sheet's name (titles carry street names from files): no
    ``/\\?*[]:`` (their full-width forms instead), no quote at either end, at most 31
    characters, never empty."""
    text = str(_cell(title) or "").translate(_TITLE_CHARS).strip("'")[:31].strip("'")
    return text or "表"


def _cell(v: object) -> object:
    """A value openpyxl accepts: missing values (None, NaN, NaT, NA) empty, numpy scalars plain."""
    if v is None or (not isinstance(v, (str, bytes)) and pd.isna(v)):  # type: ignore[call-overload]
        return None
    if isinstance(v, str):
        # Control characters other than tab/newline are not allowed in xlsx XML.
        v = "".join(ch for ch in v if ch >= " " or ch in "\t\n\r")[:MAX_CELL]
    return v.item() if hasattr(v, "item") and not isinstance(v, pd.Timestamp) else v


def _as_text(cell: Cell) -> None:
    """Make a formula-like string cell plain text, with Excel's quote prefix."""
    cell.data_type = "s"
    cell.quotePrefix = True


def workbook(sheets: Sequence[tuple[str, pd.DataFrame]], notes: Sequence[str] = (), *,
             choices: Mapping[str, Sequence[str]] | None = None) -> bytes:
    """An .xlsx with one sheet per (title, table), headers bold and frozen, and a 说明 sheet.

    ``choices`` maps a column header to the values a clerk may pick in it: those
    cells get a drop-down list (Excel's data validation) of the values.
    """
    wb = Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    for title, df in sheets:
        ws = wb.create_sheet(sheet_title(title))
        ws.append([str(c) for c in df.columns])
        for row in df.itertuples(index=False):
            ws.append([_cell(v) for v in row])
        for row_cells in ws.iter_rows(min_row=2):
            for cell in row_cells:
                if is_formula_like(cell.value):
                    _as_text(cell)
        for cell in ws[1]:
            if is_formula_like(cell.value):
                _as_text(cell)
            cell.font = Font(bold=True, color="FFFFFF")
            cell.fill = PatternFill("solid", fgColor="305496")
            cell.alignment = Alignment(horizontal="center", vertical="center")
        ws.freeze_panes = "A2"
        for header, values in (choices or {}).items():
            if header in df.columns:
                letter = get_column_letter(list(df.columns).index(header) + 1)
                dv = DataValidation(type="list", allow_blank=True,
                                    formula1='"' + ",".join(values) + '"')
                dv.add(f"{letter}2:{letter}{max(len(df), 1) + 1}")
                ws.add_data_validation(dv)
        for i, col in enumerate(df.columns, start=1):
            width = max([len(str(col)) * 2] + [len(str(v)) * 1.6 for v in df.iloc[:200, i - 1]])
            ws.column_dimensions[get_column_letter(i)].width = min(max(8, width + 2), 50)
    if notes:
        ws = wb.create_sheet("说明")
        for line in notes:
            ws.append([_cell(line)])
            if is_formula_like(ws.cell(ws.max_row, 1).value):
                _as_text(ws.cell(ws.max_row, 1))
        ws.column_dimensions["A"].width = 90
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write_xlsx(path: Path, sheets: Sequence[tuple[str, pd.DataFrame]],
               notes: Sequence[str] = ()) -> None:
    """:func:`workbook` written to ``path``."""
    Path(path).write_bytes(workbook(sheets, notes))


def csv_text(df: pd.DataFrame) -> str:
    """``df`` as CSV text, every formula-like text cell (and header) neutralised."""
    out = df.copy()
    out.columns = [neutralise(str(c)) for c in out.columns]
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c].dtype):
            out[c] = out[c].map(neutralise, na_action="ignore")
    # CRLF, as Excel writes CSV; it also makes the writer quote any cell holding a CR or LF,
    # so a line break inside a complaint never splits its row.
    return out.to_csv(index=False, lineterminator="\r\n")


def csv_bytes(df: pd.DataFrame) -> bytes:
    """:func:`csv_text` in UTF-8 with a byte-order mark (what Excel needs to read Chinese)."""
    return csv_text(df).encode("utf-8-sig")


def write_csv(path: Path, df: pd.DataFrame) -> None:
    """:func:`csv_bytes` written to ``path``."""
    Path(path).write_bytes(csv_bytes(df))
