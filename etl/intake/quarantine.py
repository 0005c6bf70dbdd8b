"""Quarantine: rows an import could not take, with file, row number, raw values and a reason.

Raw values are stored with personal data already masked (:mod:`.privacy`):
``complainants`` stays the only table holding names and phone numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from etl.intake._copy import copy_frame
from etl.intake.privacy import mask_frame, mask_text
from geo import sheets
from geo._errors import InputFileError

#: Longest raw value kept in quarantine (the rest is cut, marked with …).
RAW_CHARS = 2_000

#: Column headers of ``propmap quarantine list/export``.
HEADERS = {"id": "编号", "import_id": "导入批次", "file": "文件", "row_no": "行号",
           "reason": "原因", "detail": "说明", "raw": "原始内容（已脱敏）"}


def _clip(v: object) -> str:
    """A raw value as PostgreSQL can store it (no NUL), at most :data:`RAW_CHARS` long."""
    s = str(v).replace("\x00", "")
    return s if len(s) <= RAW_CHARS else s[:RAW_CHARS] + "…"


def write(con: sa.Connection, import_id: int, file: str, raw: pd.DataFrame,
          row_no: np.ndarray, reason: np.ndarray, detail: np.ndarray | None = None,
          personal: dict[str, str] | None = None) -> int:
    """Quarantine the rows of ``raw`` (original headers, text) whose ``reason`` is set.

    ``personal`` maps raw columns to 来电人/联系电话 so they are masked.
    """
    sel = np.array([r is not None for r in reason], dtype=bool)
    if not sel.any():
        return 0
    masked = mask_frame(raw[sel].reset_index(drop=True), personal)
    records = masked.to_dict(orient="records")
    out = pd.DataFrame({
        "import_id": import_id,
        "file": file,
        "row_no": np.asarray(row_no)[sel].astype("int64"),
        "raw": [json.dumps({_clip(k): _clip(v) for k, v in r.items() if v != ""},
                           ensure_ascii=False) for r in records],
        "reason": [_clip(str(x)) for x in reason[sel]],
        "detail": None if detail is None else [None if d is None else mask_text(_clip(str(d)))
                                              for d in detail[sel]],
    })
    return copy_frame(con, "quarantine", out)


def fetch(con: sa.Connection, import_id: int | None = None,
          limit: int | None = None) -> pd.DataFrame:
    """Quarantined rows (newest batch first), raw values as a masked JSON text."""
    where = "WHERE q.import_id = :imp" if import_id is not None else ""
    lim = f"LIMIT {int(limit)}" if limit else ""
    df = pd.read_sql_query(
        sa.text("SELECT q.id, q.import_id, q.file, q.row_no, q.reason, q.detail, "
                "q.raw::text AS raw "
                f"FROM quarantine q {where} ORDER BY q.import_id DESC, q.row_no, q.id {lim}"),
        con, params={"imp": import_id} if import_id is not None else {})
    # Stored masked already; mask again so that nothing older or hand-edited leaks.
    df["raw"] = df["raw"].map(lambda s: mask_text(json.dumps(json.loads(s), ensure_ascii=False)))
    return df


def export(con: sa.Connection, path: Path, import_id: int | None = None) -> int:
    """Write the quarantine to ``path`` (.xlsx, or .csv as UTF-8 with BOM) with Chinese headers."""
    df = fetch(con, import_id).rename(columns=HEADERS)
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        sheets.write_csv(Path(path), df)
    elif suffix == ".xlsx":
        sheets.write_xlsx(Path(path), [("隔离区", df)])
    else:
        raise InputFileError(f"不支持导出为“{suffix}”，请用 .xlsx 或 .csv")
    return len(df)
