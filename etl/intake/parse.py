"""Pure, vectorized parsing of text columns: dates, numbers, spelled values.

Each parser returns the parsed values and a boolean mask of the cells that
were filled in but could not be parsed, so that the caller can quarantine
those rows with a reason instead of losing the value silently.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from etl.intake.spellings import norm, values

#: Local time of every export (China Standard Time, no daylight saving).
TZ = "Asia/Shanghai"

_DATE_RE = (
    r"^(?P<year>\d{4})\s*[-/年.]\s*(?P<month>\d{1,2})\s*[-/月.]\s*(?P<day>\d{1,2})\s*日?"
    r"(?:[\sT]*(?P<hour>\d{1,2})\s*[:：时]\s*(?P<minute>\d{1,2})"
    r"(?:\s*[:：分]\s*(?P<second>\d{1,2})(?:\.\d+)?\s*秒?)?\s*分?)?$"
)
_EXCEL_SERIAL_RE = r"^\d{5}(?:\.\d+)?$"
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")


def parse_datetime(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse dates as staff write them into timezone-aware timestamps (Asia/Shanghai).

    Accepts ``2025-03-01 08:30:00``, ``2025/3/1 8:30``, ``2025年3月1日 8:30``,
    a date without a time (midnight), and Excel serial day numbers
    (``45717.35``) from cells exported as numbers.

    Returns
    -------
    (timestamps, bad)
        ``NaT`` where blank or unparseable; ``bad`` marks the filled-in cells
        that could not be parsed.
    """
    text = s.astype(str).str.strip()
    blank = text == ""
    out = pd.to_datetime(text, format="%Y-%m-%d %H:%M:%S", errors="coerce")
    rest = out.isna() & ~blank
    if rest.any():
        sub = text[rest]
        parts = sub.str.extract(_DATE_RE)
        nums = parts.apply(pd.to_numeric, errors="coerce").fillna(
            {"hour": 0, "minute": 0, "second": 0})
        ok = nums[["year", "month", "day"]].notna().all(axis=1)
        ok &= nums["hour"].between(0, 23) & nums["minute"].between(0, 59)
        ok &= nums["second"].between(0, 59)
        parsed = pd.Series(pd.NaT, index=sub.index, dtype="datetime64[ns]")
        if ok.any():
            parsed[ok] = pd.to_datetime(nums[ok].astype("int64"), errors="coerce")
        serial = sub.str.match(_EXCEL_SERIAL_RE) & parsed.isna()
        if serial.any():
            days = pd.to_numeric(sub[serial], errors="coerce")
            parsed[serial] = (_EXCEL_EPOCH + pd.to_timedelta(days, unit="D")).dt.round("s")
        out = out.astype("datetime64[ns]")
        out[rest] = parsed
    out = out.astype("datetime64[ns]").dt.tz_localize(TZ)
    return out, out.isna() & ~blank


def parse_number(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse decimal numbers (full-width digits allowed); ``NaN`` where blank or bad."""
    text = s.astype(str).str.strip()
    blank = text == ""
    num = pd.to_numeric(text, errors="coerce")
    rest = num.isna() & ~blank
    if rest.any():  # full-width digits, stray spaces
        num[rest] = pd.to_numeric(text[rest].map(norm), errors="coerce")
    num = num.astype("float64")
    return num, num.isna() & ~blank


def map_values(s: pd.Series, field: str, default: str | None = None) -> tuple[pd.Series, pd.Series]:
    """Map spelled values of ``field`` (see ``data/intake/value-spellings.csv``) to codes.

    Blank cells get ``default``. The mapping runs on the distinct spellings only.

    Returns
    -------
    (codes, bad)
        ``None`` (or ``default``) where blank; ``bad`` marks unknown spellings.
    """
    table = values(field)
    text = s.astype(str).str.strip()
    uniq = pd.unique(text)
    lookup = {u: (table.get(norm(u)) if u else default) for u in uniq}
    codes = text.map(lookup).astype(object)
    bad = codes.isna() & (text != "")
    codes = codes.where(codes.notna(), None)
    return codes, bad


def first_reason(checks: list[tuple[pd.Series | np.ndarray, str | np.ndarray]],
                 n: int) -> np.ndarray:
    """The first failing check's reason per row (``None`` when all pass), checks in order.

    A check's reason is one text for all its rows, or an array of texts per row.
    """
    reason = np.full(n, None, dtype=object)
    for bad, text in checks:
        mask = np.asarray(bad, dtype=bool) & (reason == None)  # noqa: E711
        reason[mask] = text[mask] if isinstance(text, np.ndarray) else text
    return reason
