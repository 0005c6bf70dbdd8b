"""Masking of personal data: the one function for every place text is stored, shown or exported.

Complainants' names and phone numbers live in ``complainants`` only. Staff
also type numbers into free text (诉求内容, 事发地址, 备注), so every free text
that is stored for display, exported or quarantined goes through
:func:`mask_text`, which masks:

- mobile numbers, with or without +86 and separators: 13812345678 → 138****5678;
- landlines with an area code: 0855-8221234 → 0855-****1234, 08558221234 → 0855****1234;
- landlines without one (7 or 8 digits): 8221234 → ***1234 (an 8-digit run that
  reads as a date, 20250301, is left alone);
- mainland ID card numbers (18 characters with a valid check digit, or the old
  15 digits): 522601199001011234 → 522***********1234.

A longer run of digits (a case number) is never cut into pieces: every
pattern requires that no digit stands right before or after it.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

# No pattern starts right after a digit or a decimal point, nor ends before a digit or a
# decimal fraction: a case number or a coordinate (107.9701361) is never cut into a "phone".
_ID18 = re.compile(r"(?<![0-9A-Za-z.])(\d{3})(\d{14})([\dXx])(?![0-9A-Za-z]|\.\d)")
_ID15 = re.compile(r"(?<![0-9A-Za-z.])(\d{3})(\d{8})(\d{4})(?![0-9A-Za-z]|\.\d)")
_MOBILE = re.compile(
    r"(?<![\d+.])(?:\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?![\d]|\.\d)")
_LANDLINE = re.compile(r"(?<![\d.])(0\d{2,3})([- ]?)(\d{3,4})[- ]?(\d{4})(?![\d]|\.\d)")
_LOCAL = re.compile(r"(?<![\d*.-])([2-9]\d{2,3})(\d{4})(?![\d*-]|\.\d)")
#: Cells that may hold something to mask: a run of at least seven digits, separators allowed.
_CANDIDATE = r"\d[\d -]{5,}\d"

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def _valid_id18(number: str) -> bool:
    digits = number[:17]
    total = sum(int(d) * w for d, w in zip(digits, _WEIGHTS, strict=True))
    if _CHECK[total % 11] != number[17].upper():
        return False
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return 1900 <= born.year <= dt.date.today().year


def _looks_like_date(run: str) -> bool:
    if len(run) != 8 or run[:2] not in ("19", "20"):
        return False
    try:
        dt.date(int(run[:4]), int(run[4:6]), int(run[6:]))
    except ValueError:
        return False
    return True


def _id18(m: re.Match[str]) -> str:
    whole = m.group(0)
    return f"{m.group(1)}{'*' * 11}{whole[-4:]}" if _valid_id18(whole) else whole


def _id15(m: re.Match[str]) -> str:
    whole = m.group(0)
    try:
        dt.date(1900 + int(whole[6:8]), int(whole[8:10]), int(whole[10:12]))
    except ValueError:
        return whole
    return f"{m.group(1)}{'*' * 8}{whole[-4:]}"


def _local(m: re.Match[str]) -> str:
    whole = m.group(0)
    return whole if _looks_like_date(whole) else "*" * (len(whole) - 4) + m.group(2)


def mask_text(value: str | None) -> str | None:
    """``value`` with phone and ID card numbers masked (``None`` stays ``None``)."""
    if not isinstance(value, str) or not value:
        return value
    s = _ID18.sub(_id18, value)
    s = _ID15.sub(_id15, s)
    s = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", s)
    s = _LANDLINE.sub(lambda m: f"{m.group(1)}{m.group(2)}****{m.group(4)}", s)
    return _LOCAL.sub(_local, s)


def mask_phone(value: str | None) -> str:
    """A phone number field: ``13812345678`` → ``138****5678``; short numbers keep two digits."""
    digits = re.sub(r"\D", "", value or "")
    if not digits:
        return ""
    if len(digits) >= 8:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return "*" * max(len(digits) - 2, 1) + digits[-2:]


def mask_name(value: str | None) -> str:
    """A person's name: ``张三丰`` → ``张**``."""
    value = (value or "").strip()
    return value[:1] + "*" * (len(value) - 1) if value else ""


def mask_series(text: pd.Series) -> pd.Series:
    """:func:`mask_text` over a column, fast on a million cells.

    Only cells holding a run of seven or more digits can hold a number to
    mask; a vectorised search finds those (Arrow's regex engine on Arrow
    text), and only they go through Python's.
    """
    if text.empty:
        return text
    maybe = text.astype(str).str.contains(_CANDIDATE, regex=True).to_numpy(dtype=bool,
                                                                            na_value=False)
    if not maybe.any():
        return text
    out = text.copy()
    out[maybe] = [mask_text(v) for v in text[maybe]]
    return out


def masked_array(values: np.ndarray) -> np.ndarray:
    """:func:`mask_text` over an object array (``None`` kept)."""
    return np.array([mask_text(v) for v in values], dtype=object)
