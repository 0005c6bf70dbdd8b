"""Masking of personal data in quarantined rows: names, phone numbers, numbers inside free text.

The masks themselves are :mod:`geo.privacy` (one definition for intake,
exports and the dashboard); this module applies them to a file's raw columns.
"""

from __future__ import annotations

import pandas as pd

from geo.privacy import mask_name, mask_phone, mask_text

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


__all__ = ["MASKS", "mask_frame", "mask_name", "mask_phone", "mask_text"]
