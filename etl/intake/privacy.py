"""Masking of personal data (来电人, 联系电话) wherever it is shown at all.

Phone numbers keep their first three and last four digits (138****5678),
names their first character (张**). Free text is scanned for phone-like digit
runs too, so a number typed into 诉求内容 does not leak through quarantine.
"""

from __future__ import annotations

import re

import pandas as pd

_PHONE_IN_TEXT = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)"
                            r"|(?<!\d)(0\d{2,3}-?)\d{3,4}(\d{4})(?!\d)")


def mask_phone(value: str) -> str:
    """``13812345678`` → ``138****5678``; shorter numbers keep only their last two digits."""
    digits = re.sub(r"\D", "", value or "")
    if not digits:
        return ""
    if len(digits) >= 8:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return "*" * max(len(digits) - 2, 1) + digits[-2:]


def mask_name(value: str) -> str:
    """``张三丰`` → ``张**``."""
    value = (value or "").strip()
    return value[:1] + "*" * (len(value) - 1) if value else ""


def mask_text(value: str) -> str:
    """Mask phone-like numbers inside free text."""
    def _sub(m: re.Match[str]) -> str:
        if m.group(1):
            return f"{m.group(1)}****{m.group(2)}"
        return f"{m.group(3)}****{m.group(4)}"

    return _PHONE_IN_TEXT.sub(_sub, value or "")


#: How each personal column is masked; every other column gets :func:`mask_text`.
MASKS = {"来电人": mask_name, "联系电话": mask_phone}


def mask_frame(frame: pd.DataFrame, personal: dict[str, str] | None = None) -> pd.DataFrame:
    """A copy of ``frame`` (text) with personal columns and phone-like numbers masked.

    ``personal`` maps a column of ``frame`` to the canonical header whose mask
    applies (a file may call 联系电话 手机号).
    """
    personal = personal or {c: c for c in frame.columns if c in MASKS}
    out = frame.copy()
    for c in out.columns:
        fn = MASKS.get(personal.get(c, ""), mask_text)
        out[c] = out[c].astype(str).map(fn)
    return out
