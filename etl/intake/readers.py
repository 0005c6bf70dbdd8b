"""Read a staff export (xlsx or csv, any of the encodings met in practice) into strings.

Everything is read as text: types are decided later, per column, by
:mod:`.parse`, so that a bad value becomes a quarantined row with a reason
rather than a crash or a silent ``NaN``. The header row need not be the first
row (exports often start with a title line); it is the first of the top ten
rows that the caller's ``is_header`` accepts.

A file is costed before it is read (:class:`Caps`, from the settings
``max_file_mb``, ``max_unzipped_mb``, ``max_zip_ratio``, ``max_rows``,
``max_columns`` and ``max_cell_chars``): its size on disk, and for an xlsx
the uncompressed size of its zip members and their compression ratio, are
checked before openpyxl opens it; the sheet is then streamed (openpyxl's
read-only mode, its claimed ``dimension`` ignored) and reading stops at the
row and column caps. Beyond a cap the file is refused with a message naming
the setting.

Text comes back as it was meant: our own CSV writer (:mod:`geo.sheets`)
prefixes formula-like text with an apostrophe (``'=...``); the readers take
that apostrophe off again, so a clerk's round trip of our CSV changes nothing.
NUL characters, which PostgreSQL cannot store, are removed and their rows
marked (:attr:`RawTable.nul`) for the importer to quarantine.
"""

from __future__ import annotations

import csv
import datetime as dt
import warnings
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from geo import settings
from geo._errors import InputFileError
from geo.sheets import FORMULA_START

#: Encodings tried in order; GB18030 is a superset of GBK and GB2312.
ENCODINGS = ("utf-8-sig", "gb18030")
_SNIFF_BYTES = 1 << 16
_HEADER_SEARCH_ROWS = 10
_ARROW_BLOCK = 16 << 20
#: The last row a spreadsheet can have; a sheet claiming more is not a spreadsheet.
_EXCEL_MAX_ROW = 1_048_576
#: A leading apostrophe our CSV writer put before formula-like text.
_NEUTRALISED = "^'(?=[" + "".join("\\" + c if c in "-+" else c for c in FORMULA_START) + "])"


@dataclass(frozen=True)
class Caps:
    """What a file may cost before and while it is read (from the settings)."""

    file_bytes: int
    unzipped_bytes: int
    zip_ratio: float
    rows: int
    columns: int
    cell_chars: int

    @classmethod
    def from_settings(cls) -> Caps:
        return cls(file_bytes=int(settings.get("max_file_mb")) << 20,
                   unzipped_bytes=int(settings.get("max_unzipped_mb")) << 20,
                   zip_ratio=float(settings.get("max_zip_ratio")),
                   rows=int(settings.get("max_rows")),
                   columns=int(settings.get("max_columns")),
                   cell_chars=int(settings.get("max_cell_chars")))


def _setting(name: str) -> str:
    return f"PROPMAP_{name.upper()}"


def _refuse(path: Path, what: str, cap: str, name: str) -> InputFileError:
    return InputFileError(f"{path.name}：{what}，超过上限 {cap}（设置 {_setting(name)}）。"
                          "请拆分或检查文件；确需导入时可调高该设置")


def check_file(path: Path, caps: Caps) -> None:
    """Refuse a missing, empty or too large file, and a zip (xlsx) that would unpack too far.

    Raises
    ------
    InputFileError
        Naming the cap and its setting.
    """
    if not path.is_file():
        raise InputFileError(f"找不到文件 {path}")
    size = path.stat().st_size
    if size == 0:
        raise InputFileError(f"{path.name}：文件是空的（0 字节），请重新导出")
    if size > caps.file_bytes:
        raise _refuse(path, f"文件大小 {size / 2**20:,.0f} MB", f"{caps.file_bytes >> 20:,} MB",
                      "max_file_mb")
    if zipfile.is_zipfile(path):
        check_zip(path, caps)


def check_zip(path: Path, caps: Caps) -> None:
    """Refuse a zip whose members add up past ``max_unzipped_mb`` or compress too well.

    The sizes are the ones the zip declares; Python's :mod:`zipfile` (and so
    openpyxl) never inflates a member beyond its declared size.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputFileError(f"{path.name}：压缩包已损坏，无法打开（{type(exc).__name__}），"
                             "请重新导出") from exc
    total = sum(i.file_size for i in infos)
    if total > caps.unzipped_bytes:
        raise _refuse(path, f"解压后大小 {total / 2**20:,.0f} MB",
                      f"{caps.unzipped_bytes >> 20:,} MB", "max_unzipped_mb")
    # Member by member, so that one bomb cannot hide among ordinary members; members of
    # under a megabyte cannot cost much whatever their ratio.
    ratio = max((i.file_size / max(i.compress_size, 1) for i in infos
                 if i.file_size > 1 << 20), default=0.0)
    if ratio > caps.zip_ratio:
        raise _refuse(path, f"压缩比 {ratio:,.0f} 倍（疑似压缩炸弹）", f"{caps.zip_ratio:g} 倍",
                      "max_zip_ratio")


@dataclass(frozen=True)
class RawTable:
    """A file's data rows as text, with their row numbers in the source file."""

    frame: pd.DataFrame
    """One column per header, all values ``str`` (``""`` when blank)."""
    row_no: np.ndarray
    """Row number of each data row as a spreadsheet shows it (the header row counts)."""
    encoding: str | None
    """The encoding a CSV was read with; ``None`` for xlsx."""
    nul: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    """Rows that held NUL characters (removed from the text); empty when none did."""

    def nul_rows(self) -> np.ndarray:
        """:attr:`nul` as one flag per row (all false when the file had none)."""
        return self.nul if len(self.nul) == len(self.frame) else np.zeros(len(self.frame), bool)


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


def _has_nul(path: Path) -> bool:
    """Whether the file holds a NUL byte (``memchr`` speed: 240 MB in about 0.1 s)."""
    with open(path, "rb") as f:
        return any(b"\x00" in block for block in iter(lambda: f.read(1 << 24), b""))


def _read_csv(path: Path, is_header: Callable[[list[str]], bool], caps: Caps) -> RawTable:
    enc = detect_encoding(path)
    opts = {"encoding": enc, "dtype": str, "keep_default_na": False, "na_filter": False}
    try:
        text = _head(path).decode(enc).replace("\x00", "")
        top = list(csv.reader(text.splitlines()[:_HEADER_SEARCH_ROWS]))
        if any(len(row) > caps.columns for row in top):
            raise _refuse(path, f"列数 {max(len(r) for r in top):,}", f"{caps.columns:,} 列",
                          "max_columns")
        h = _find_header(top, is_header)
        frame = _read_csv_arrow(path, enc, h, top[h]) if h < len(top) and top[h] else None
        if frame is None:
            frame = pd.read_csv(path, header=0, skiprows=h, **opts)  # type: ignore[call-overload]
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{path.name}：文件中有无法按 {enc} 解码的内容（{exc.reason}），"
                             "请检查编码后另存为 UTF-8 CSV") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
        raise InputFileError(f"{path.name}：不是规整的表格（{str(exc).strip()[:120]}），"
                             "请用 Excel 打开检查后另存为 CSV 或 xlsx") from exc
    frame.columns = [str(c) for c in frame.columns]
    if len(frame.columns) > caps.columns:
        raise _refuse(path, f"列数 {len(frame.columns):,}", f"{caps.columns:,} 列", "max_columns")
    return RawTable(frame, np.arange(len(frame)) + h + 2, enc)


def _read_xlsx(path: Path, is_header: Callable[[list[str]], bool], caps: Caps) -> RawTable:
    """Stream the first sheet, stopping at the row and column caps.

    The sheet's ``dimension`` (which may claim ``A1:XFD1048576``) is ignored;
    each row is read up to one column past the cap (to notice a file beyond
    it) and kept only as wide as its header area or its data reach.
    """
    import openpyxl

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles it cannot read
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not xlsx
        raise InputFileError(f"{path.name}：无法作为 xlsx 打开（{type(exc).__name__}），"
                             "请确认文件是 Excel 2007 及以后的 .xlsx 格式") from exc
    try:
        rows, numbers = _stream_rows(path, wb, caps)
    except InputFileError:
        raise
    except Exception as exc:  # a damaged sheet (bad XML, bad cell types) mid-way
        raise InputFileError(f"{path.name}：工作表内容已损坏，无法读取（{type(exc).__name__}），"
                             "请用 Excel 打开后另存为 .xlsx") from exc
    finally:
        wb.close()
    if not rows:
        raise InputFileError(f"{path.name}：第一个工作表是空的")
    h = _find_header(rows[:_HEADER_SEARCH_ROWS], is_header)
    width = max(len(r) for r in rows)
    header = [_cell_text(v) for v in rows[h]] + [""] * (width - len(rows[h]))
    header = _unique_names([c or f"列{j + 1}" for j, c in enumerate(header)])
    body = rows[h + 1:]
    cols: list[list[str]] = [[] for _ in range(width)]
    for r in body:
        for j in range(width):
            cols[j].append(_cell_text(r[j]) if j < len(r) else "")
    frame = pd.DataFrame({name: pd.Series(col, dtype=object) for name, col in zip(
        header, cols, strict=True)})
    return RawTable(frame, np.asarray(numbers[h + 1:], dtype=np.int64), None)


def _stream_rows(path: Path, wb: object, caps: Caps) -> tuple[list[tuple[object, ...]], list[int]]:
    """The first sheet's non-blank rows, trimmed, and their sheet row numbers.

    Each row comes as wide as its last cell (openpyxl's read-only parser), so
    a row reaching past the column cap is seen at once and refused; the
    claimed ``dimension`` is reset and never pads anything.
    """
    sheets = getattr(wb, "worksheets", [])
    if not sheets:
        raise InputFileError(f"{path.name}：工作簿中没有工作表")
    ws = sheets[0]
    ws.reset_dimensions()  # never trust the claimed dimension
    rows: list[tuple[object, ...]] = []
    numbers: list[int] = []
    width = 0
    for i, row in enumerate(ws.iter_rows(values_only=True), start=1):
        if i > _EXCEL_MAX_ROW:
            raise InputFileError(f"{path.name}：工作表超过 Excel 的 {_EXCEL_MAX_ROW:,} 行，"
                                 "不是有效的 Excel 文件")
        n = len(row)
        if n == 0 or row.count(None) == n:
            continue
        if n > caps.columns and row[caps.columns:].count(None) != n - caps.columns:
            raise _refuse(path, f"列数超过 {caps.columns:,}", f"{caps.columns:,} 列",
                          "max_columns")
        if len(rows) >= caps.rows + _HEADER_SEARCH_ROWS:
            raise _refuse(path, f"行数超过 {caps.rows:,}", f"{caps.rows:,} 行", "max_rows")
        if n > width and (len(rows) < _HEADER_SEARCH_ROWS or row[width:].count(None) != n - width):
            width = max(width, n - _trailing_blanks(row))
        rows.append(tuple(row[:width]))
        numbers.append(i)
    return rows, numbers


def _trailing_blanks(row: tuple[object, ...]) -> int:
    n = 0
    for v in reversed(row):
        if v is not None:
            break
        n += 1
    return n


def _text(col: pd.Series) -> pd.Series:
    """A column as stripped text (pandas' ``str`` dtype), ``""`` where blank."""
    if not isinstance(col.dtype, pd.StringDtype) or col.hasnans:
        col = col.astype(object).fillna("").astype(str)
    col = col.str.strip()
    if col.str.startswith("'").any():  # our CSV writer's neutralising apostrophe
        col = col.str.replace(_NEUTRALISED, "", regex=True).str.strip()
    return col


#: Readers by file suffix.
READERS: dict[str, Callable[[Path, Callable[[list[str]], bool], Caps], RawTable]] = {
    ".csv": _read_csv,
    ".txt": _read_csv,
    ".xlsx": _read_xlsx,
    ".xlsm": _read_xlsx,
}


def read_table(path: Path, is_header: Callable[[list[str]], bool] = lambda _c: True,
               caps: Caps | None = None) -> RawTable:
    """Read ``path`` (csv or xlsx) as text; wholly blank rows are dropped.

    Raises
    ------
    InputFileError
        The file is missing, empty, of another format, beyond a cap (:class:`Caps`),
        not decodable or not a table.
    """
    path = Path(path)
    caps = caps or Caps.from_settings()
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        if not path.is_file():
            raise InputFileError(f"找不到文件 {path}")
        raise InputFileError(f"{path.name}：不支持的文件类型“{path.suffix}”，"
                             "请提供 .xlsx 或 .csv 文件")
    check_file(path, caps)
    table = reader(path, is_header, caps)
    nul = np.zeros(len(table.frame), dtype=bool)
    check_nul = table.encoding is not None and _has_nul(path)
    columns: list[pd.Series] = []
    for j in range(table.frame.shape[1]):
        col = _text(table.frame.iloc[:, j])
        if check_nul:
            hit = col.str.contains("\x00", regex=False).to_numpy(dtype=bool)
            if hit.any():
                nul |= hit
                col = _text(col.str.replace("\x00", "", regex=False))
        columns.append(col.reset_index(drop=True))
    names = _text(pd.Series([str(c).replace("\x00", "") for c in table.frame.columns],
                            dtype=object)).tolist()
    frame = pd.DataFrame(dict(zip(_unique_names(names), columns, strict=True)))
    longest = max((int(frame[c].str.len().max() or 0) for c in frame.columns), default=0) \
        if len(frame) else 0
    if longest > caps.cell_chars:
        raise _refuse(path, f"有单元格长达 {longest:,} 个字符", f"{caps.cell_chars:,} 个字符",
                      "max_cell_chars")
    keep = np.zeros(len(frame), dtype=bool)
    for c in frame.columns:
        keep |= (frame[c] != "").to_numpy()
    if int(keep.sum()) > caps.rows:
        raise _refuse(path, f"数据行数 {int(keep.sum()):,}", f"{caps.rows:,} 行", "max_rows")
    if keep.all():
        return RawTable(frame, table.row_no, table.encoding, nul)
    return RawTable(frame[keep].reset_index(drop=True), table.row_no[keep], table.encoding,
                    nul[keep])
