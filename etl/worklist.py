"""The worklist round trip: a filled-in 三无小区清单 comes back and becomes records.

A street office downloads its worklist (``layers.worklist.workbook``), takes it
out, writes down in 采取措施 / 措施日期 (and what the action needs: the firm,
the managing unit, the committee's term) what it did, and uploads it again,
in the dashboard or with ``propmap import worklist``. Every row is accounted
for: a row without an action is left alone (未变), a row whose action is
already recorded is unchanged (re-uploading the file changes nothing), a row
that cannot be taken is refused with its reason in Chinese
(:func:`geo.history.check`), the rest are recorded in one statement
(:func:`geo.history.record`), source 清单回传. Headers are matched through
``data/intake/header-aliases.csv`` (kind ``worklist``) and the actions'
spellings through ``value-spellings.csv`` (field ``event_kind``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from etl.intake import accounting, parse, quarantine
from etl.intake.cases import load_register
from etl.intake.headers import header_test, rename
from etl.intake.readers import RawTable, read_table
from geo import history
from geo.history import OUTCOME_LABELS, RECORD, REFUSED, UNCHANGED, WORKLIST_ACTIONS, WORKLIST_KEY

NAME = "小区名称"
HEADERS = (WORKLIST_KEY, NAME, *WORKLIST_ACTIONS.values())
REQUIRED = (WORKLIST_ACTIONS["kind"],)
R_NO_ACTION = "未填写措施"
R_BAD_ACTION = "无法识别的措施"

#: Columns of the per-row result (shown on the page, and downloadable).
RESULT_HEADERS = {"row_no": "行号", "code": "小区编号", "name": "小区名称", "action": "采取措施",
                  "on": "措施日期", "result": "结果", "reason": "原因"}


@dataclass
class WorklistResult:
    """What an uploaded worklist came to, row by row."""

    file: str
    rows: pd.DataFrame
    """One row per data row of the file: :data:`RESULT_HEADERS`."""
    event_ids: list[int] = field(default_factory=list)
    seconds: float = 0.0
    raw: RawTable | None = field(default=None, repr=False)
    """The file as read (its cells and row numbers, for the quarantine)."""

    def count(self, outcome: str) -> int:
        return int((self.rows["结果"] == OUTCOME_LABELS[outcome]).sum())

    @property
    def recorded(self) -> int:
        return self.count(RECORD)

    @property
    def unchanged(self) -> int:
        return self.count(UNCHANGED)

    @property
    def refused(self) -> int:
        return self.count(REFUSED)

    def summary_zh(self) -> str:
        reasons = self.rows.loc[self.rows["结果"] == OUTCOME_LABELS[REFUSED], "原因"]
        lines = [f"{self.file}：读入 {len(self.rows):,} 行，已记录 {self.recorded:,}，"
                 f"未变 {self.unchanged:,}，拒绝 {self.refused:,}"]
        if len(reasons):
            lines.append("拒绝原因：" + "，".join(
                f"{k} {v:,}" for k, v in accounting.counts(reasons).items()))
        return "\n".join(lines)


def read(path: Path) -> tuple[RawTable, pd.DataFrame]:
    """The file's rows under canonical headers; raises :class:`InputFileError` for a bad file."""
    raw = read_table(Path(path), header_test(HEADERS, "worklist"))
    return raw, rename(raw.frame, known=HEADERS, required=REQUIRED, file=Path(path).name,
                       kind="worklist")


def proposals(con: sa.Connection, canon: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows as proposals for :func:`geo.history.check`, and a reason for rows that are not.

    A row is identified by 小区编号, or, when that is blank, by 小区名称 matched against
    the compounds the connection may see (:mod:`etl.intake.locate`).
    """
    a = WORKLIST_ACTIONS
    kind, kind_bad = parse.map_values(canon[a["kind"]], "event_kind")
    on, on_bad = parse.parse_datetime(canon[a["on_date"]])
    term, term_bad = parse.parse_datetime(canon[a["term_end"]])
    compound: list[int | str] = list(canon[WORKLIST_KEY])
    blank_code = (canon[WORKLIST_KEY] == "") & (canon[NAME] != "")
    if blank_code.any():
        register = load_register(con)
        for i in np.flatnonzero(blank_code.to_numpy()):
            hit = register.match_name(str(canon[NAME].iloc[i]))
            compound[i] = int(hit) if hit is not None else ""

    def dates(ts: pd.Series, bad: pd.Series) -> list[object]:
        return ["bad" if b else (None if pd.isna(t) else t.date()) for t, b in
                zip(ts, bad, strict=True)]

    out = pd.DataFrame({
        "compound": compound, "kind": kind, "on_date": dates(on, on_bad),
        "firm": canon[a["firm"]].where(canon[a["firm"]] != "", None),
        "unit": canon[a["unit"]].where(canon[a["unit"]] != "", None),
        "term_end": dates(term, term_bad),
        "doc_no": canon[a["doc_no"]].where(canon[a["doc_no"]] != "", None),
        "note": canon[a["note"]].where(canon[a["note"]] != "", None),
    })
    reason = parse.first_reason([
        (canon[a["kind"]] == "", R_NO_ACTION),
        (kind_bad, np.array([f"{R_BAD_ACTION}“{t}”" for t in canon[a["kind"]]], dtype=object)),
    ], len(canon))
    return out, reason


def apply(con: sa.Connection, path: Path, *, account_kind: str | None,
          streets: tuple[str, ...] = (), recorded_by: str | None = None,
          role: str | None = None, import_id: int | None = None) -> WorklistResult:
    """Record the actions of a filled-in worklist in ``con``'s transaction (and scope).

    Raises
    ------
    InputFileError
        The file is not a worklist (no 采取措施 column): nothing is recorded.
    geo.history.RecordError
        The database refused the records: nothing is recorded.
    """
    t0 = time.perf_counter()
    raw, canon = read(Path(path))
    props, pre = proposals(con, canon)
    todo = pre == None  # noqa: E711
    checked = history.check(con, props[todo], account_kind=account_kind, streets=streets)
    ids = history.record(con, checked, source="worklist", recorded_by=recorded_by,
                         import_id=import_id, role=role)
    result = np.full(len(canon), OUTCOME_LABELS[UNCHANGED], dtype=object)
    reason = pre.copy()
    idx = np.flatnonzero(todo)
    result[idx] = [OUTCOME_LABELS[o] for o in checked["outcome"]]
    reason[idx] = checked["reason"].to_numpy()
    refused = pre != None  # noqa: E711
    blank = (canon[WORKLIST_ACTIONS["kind"]] == "").to_numpy()
    result[refused & ~blank] = OUTCOME_LABELS[REFUSED]
    rows = pd.DataFrame({
        "row_no": raw.row_no, "code": canon[WORKLIST_KEY], "name": canon[NAME],
        "action": canon[WORKLIST_ACTIONS["kind"]], "on": canon[WORKLIST_ACTIONS["on_date"]],
        "result": result, "reason": reason,
    }).rename(columns=RESULT_HEADERS)
    return WorklistResult(Path(path).name, rows, ids, time.perf_counter() - t0, raw)


def import_worklist(engine: Engine, path: Path, *,
                    recorded_by: str) -> tuple[accounting.ImportResult, WorklistResult]:
    """``propmap import worklist``: :func:`apply` as the operator, accounted in ``imports``.

    Recorded rows count as inserted, refused rows are quarantined with their reason.
    """
    path = Path(path)
    with engine.begin() as con:
        import_id = accounting.begin(con, "worklist", path)
        res = apply(con, path, account_kind=None, recorded_by=recorded_by, role="operator",
                    import_id=import_id)
        acc = accounting.ImportResult(file=path.name, kind="worklist", import_id=import_id,
                                      rows_read=len(res.rows), inserted=res.recorded,
                                      unchanged=res.unchanged, quarantined=res.refused)
        raw = res.raw
        assert raw is not None  # apply() read the file once; its cells go to the quarantine
        refused = (res.rows["结果"] == OUTCOME_LABELS[REFUSED]).to_numpy()
        reasons = np.array([r if x else None for r, x in zip(res.rows["原因"], refused,
                                                               strict=True)], dtype=object)
        quarantine.write(con, import_id, path.name, raw.frame, raw.row_no, reasons)
        acc.quarantine_reasons = accounting.counts(reasons)
        acc.seconds = res.seconds
        accounting.finish(con, acc)
    return acc, res

