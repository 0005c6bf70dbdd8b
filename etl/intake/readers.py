"""Read a staff export (xlsx or csv, any of the encodings met in practice) into strings.

Everything is read as text: types are decided later, per column, by
:mod:`.parse`, so that a bad value becomes a quarantined row with a reason
rather than a crash or a silent ``NaN``. The header row need not be the first
row (exports often start with a title line); it is the first of the top ten
rows that the caller's ``is_header`` accepts.
"""

from __future__ import annotations

import csv
import datetime as dt
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from geo._errors import InputFileError

#: Encodings tried in order; GB18030 is a superset of GBK and GB2312.
ENCODINGS = ("utf-8-sig", "gb18030")
_SNIFF_BYTES = 1 << 16
_HEADER_SEARCH_ROWS = 10
_ARROW_BLOCK = 16 << 20


@dataclass(frozen=True)
class RawTable:
    """A file's data rows as text, with their row numbers in the source file."""

    frame: pd.DataFrame
    """One column per header, all values ``str`` (``""`` when blank)."""
    row_no: np.ndarray
    """Row number of each data row as a spreadsheet shows it (the header row counts)."""
    encoding: str | None
    """The encoding a CSV was read with; ``None`` for xlsx."""


def _head(path: Path) -> bytes:
    with open(path, "rb") as f:
        head = f.read(_SNIFF_BYTES)
    if len(head) == _SNIFF_BYTES and b"\n" in head:
        head = head[: head.rindex(b"\n")]  # never cut a multi-byte character
    return head


def detect_encoding(path: Path) -> str:
    """Return the first of :data:`ENCODINGS` that decodes the start of ``path``."""
    head = _head(path)
    for enc in ENCODINGS:
        try:
            head.decode(enc)
        except UnicodeDecodeError:
            continue
        return enc
    raise InputFileError(f"{path.name}：无法识别文件编码（应为 UTF-8 或 GBK/GB18030），"
                         "请另存为 UTF-8 CSV 或 xlsx")


def _find_header(top: Sequence[Sequence[object]], is_header: Callable[[list[str]], bool]) -> int:
    for i, row in enumerate(top[:_HEADER_SEARCH_ROWS]):
        if is_header([_cell_text(v) for v in row]):
            return i
    return 0  # let the column check name what is missing


def _cell_text(v: object) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, dt.date):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))  # phone numbers and case numbers typed as numbers
    return str(v)


def _unique_names(header: list[str]) -> list[str]:
    """Header cells as column names, repeats suffixed ``.1``, ``.2`` as pandas does."""
    seen: dict[str, int] = {}
    out = []
    for i, cell in enumerate(header):
        name = cell or f"Unnamed: {i}"
        k = seen.get(name, 0)
        seen[name] = k + 1
        out.append(name if k == 0 else f"{name}.{k}")
    return out


def _read_csv_arrow(path: Path, enc: str, h: int, header: list[str]) -> pd.DataFrame | None:
    """Arrow's multi-threaded CSV reader, every column as text; ``None`` when it cannot.

    It transcodes GB18030 itself and parses on all cores, several times faster
    than pandas' parser at a million rows. A ragged table (rows with more or
    fewer cells than the header) or an undecodable byte returns ``None``, and
    the pandas reader, which fills short rows and words the errors, takes over.
    """
    names = _unique_names(header)
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                encoding="utf8" if enc == "utf-8-sig" else enc, skip_rows=h + 1,
                column_names=names, block_size=_ARROW_BLOCK),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False,
                quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    return table.to_pandas()


def _read_csv(path: Path, is_header: Callable[[list[str]], bool]) -> RawTable:
    enc = detect_encoding(path)
    opts = {"encoding": enc, "dtype": str, "keep_default_na": False, "na_filter": False}
    try:
        lines = _head(path).decode(enc).splitlines()[:_HEADER_SEARCH_ROWS]
        top = list(csv.reader(lines))
        h = _find_header(top, is_header)
        frame = _read_csv_arrow(path, enc, h, top[h]) if h < len(top) and top[h] else None
        if frame is None:
            frame = pd.read_csv(path, header=0, skiprows=h, **opts)  # type: ignore[call-overload]
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{path.name}：文件中有无法按 {enc} 解码的内容（{exc.reason}），"
                             "请检查编码后另存为 UTF-8 CSV") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputFileError(f"{path.name}：不是规整的表格（{str(exc).strip()[:120]}），"
                             "请用 Excel 打开检查后另存为 CSV 或 xlsx") from exc
    frame.columns = [str(c) for c in frame.columns]
    return RawTable(frame, np.arange(len(frame)) + h + 2, enc)


def _read_xlsx(path: Path, is_header: Callable[[list[str]], bool]) -> RawTable:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles it cannot read
            sheet = pd.read_excel(path, header=None, dtype=object, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many kinds for a file that is not xlsx
        raise InputFileError(f"{path.name}：无法作为 xlsx 打开（{type(exc).__name__}），"
                             "请确认文件是 Excel 2007 及以后的 .xlsx 格式") from exc
    if sheet.empty:
        raise InputFileError(f"{path.name}：第一个工作表是空的")
    h = _find_header(sheet.head(_HEADER_SEARCH_ROWS).values.tolist(), is_header)
    header = [_cell_text(v) or f"列{j + 1}" for j, v in enumerate(sheet.iloc[h].tolist())]
    body = sheet.iloc[h + 1:]
    frame = pd.DataFrame({name: body.iloc[:, j].map(_cell_text).astype(object)
                          for j, name in enumerate(header)})
    frame = frame.reset_index(drop=True)
    return RawTable(frame, np.arange(len(frame)) + h + 2, None)


def _text(col: pd.Series) -> pd.Series:
    """A column as stripped text (pandas' ``str`` dtype), ``""`` where blank."""
    if not isinstance(col.dtype, pd.StringDtype) or col.hasnans:
        col = col.astype(object).fillna("").astype(str)
    return col.str.strip()


#: Readers by file suffix.
READERS: dict[str, Callable[[Path, Callable[[list[str]], bool]], RawTable]] = {
    ".csv": _read_csv,
    ".txt": _read_csv,
    ".xlsx": _read_xlsx,
    ".xlsm": _read_xlsx,
}


def read_table(path: Path, is_header: Callable[[list[str]], bool] = lambda _c: True) -> RawTable:
    """Read ``path`` (csv or xlsx) as text; wholly blank rows are dropped.

    Raises
    ------
    InputFileError
        The file is missing, of another format, not decodable or not a table.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"找不到文件 {path}")
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise InputFileError(f"{path.name}：不支持的文件类型“{path.suffix}”，"
                             "请提供 .xlsx 或 .csv 文件")
    table = reader(path, is_header)
    frame = pd.DataFrame({c: _text(table.frame.iloc[:, j])
                          for j, c in enumerate(table.frame.columns)})
    keep = np.zeros(len(frame), dtype=bool)
    for c in frame.columns:
        keep |= (frame[c] != "").to_numpy()
    if keep.all():
        return RawTable(frame, table.row_no, table.encoding)
    return RawTable(frame[keep].reset_index(drop=True), table.row_no[keep], table.encoding)
