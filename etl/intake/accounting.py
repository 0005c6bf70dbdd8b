"""Import batches and their accounting.

Every batch satisfies ``rows_read = inserted + updated + unchanged + voided +
quarantined`` (checked here, and by a CHECK constraint on ``imports``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from geo._errors import InputFileError
from geo.models import LOCATED_BY
from geo.privacy import mask_text


@dataclass
class ImportResult:
    """What one import did (or, in a dry run, would do) to the rows of one file."""

    file: str
    kind: str
    import_id: int | None = None
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    voided: int = 0
    quarantined: int = 0
    dry_run: bool = False
    headers: dict[str, Any] = field(default_factory=dict)
    """How the file's headers were read: ``mapped`` (file header → canonical), ``unmapped``."""
    located_by: dict[str, int] = field(default_factory=dict)
    category_by: dict[str, int] = field(default_factory=dict)
    coord_fixes: dict[str, int] = field(default_factory=dict)
    void_reasons: dict[str, int] = field(default_factory=dict)
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    notes: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Data-quality notes on rows imported as they are (count, meaning, the first rows)."""
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)
    """Seconds per stage of the import, in order (for profiling and ``propmap bench``)."""

    def check(self) -> None:
        """Raise ``AssertionError`` if a row is unaccounted for (a bug, never user input)."""
        total = self.inserted + self.updated + self.unchanged + self.voided + self.quarantined
        if total != self.rows_read:
            raise AssertionError(f"accounting: {self.rows_read} read but {total} accounted for")

    def as_dict(self) -> dict[str, Any]:
        """The JSON of ``propmap import ... --json``."""
        return {
            "file": self.file, "kind": self.kind, "import_id": self.import_id,
            "dry_run": self.dry_run,
            "rows_read": self.rows_read, "inserted": self.inserted, "updated": self.updated,
            "unchanged": self.unchanged, "voided": self.voided, "quarantined": self.quarantined,
            "headers": self.headers,
            "located_by": self.located_by, "category_by": self.category_by,
            "coord_fixes": self.coord_fixes, "void_reasons": self.void_reasons,
            "quarantine_reasons": self.quarantine_reasons, "notes": self.notes,
            "seconds": round(self.seconds, 3), "stages": self.stages,
        }

    def summary_zh(self) -> str:
        """A short Chinese summary for the command line."""
        kind = {"cases": "工单", "compounds": "小区", "boundaries": "边界"}.get(self.kind, "")
        verb = "将" if self.dry_run else ""
        parts = ["试运行：只检查不写入，数据库未作任何改动"] if self.dry_run else []
        parts.append(f"读入 {self.rows_read:,} 行{kind}：{verb}新增 {self.inserted:,}，"
                     f"{verb}更新 {self.updated:,}，未变 {self.unchanged:,}，"
                     f"作废 {self.voided:,}，隔离 {self.quarantined:,}（{self.seconds:.1f} 秒）")
        mapped = self.headers.get("mapped") or {}
        if self.dry_run and mapped:
            parts.append("表头对应：" + "，".join(
                f"{h} → {c}" if h != c else c for h, c in mapped.items()))
            unmapped = self.headers.get("unmapped") or []
            parts.append("未使用的列：" + ("、".join(unmapped) if unmapped else "无"))
        if self.located_by:
            parts.append("定位方式：" + "，".join(
                f"{LOCATED_BY.get(k, k)} {v:,}" for k, v in self.located_by.items()))
        if self.coord_fixes.get("swapped"):
            parts.append(f"经纬度颠倒已纠正 {self.coord_fixes['swapped']:,} 行")
        if self.void_reasons:
            parts.append("作废：" + "，".join(f"{k} {v:,}" for k, v in self.void_reasons.items()))
        for note in self.notes.values():
            shown = [str(r.get("case_no", r.get("row"))) for r in note.get("rows", [])[:10]]
            more = "等" if note["count"] > len(shown) else ""
            parts.append(f"数据质量提示：{note['label']} {note['count']:,} 行"
                         f"（{note.get('meaning', '')}）：{'、'.join(shown)}{more}")
        if self.quarantine_reasons:
            parts.append(("将隔离：" if self.dry_run else "隔离原因：") + "，".join(
                f"{k} {v:,}" for k, v in self.quarantine_reasons.items()))
            if not self.dry_run:
                parts.append("查看隔离行：propmap quarantine list")
        return "\n".join(parts)


def counts(values: Any) -> dict[str, int]:
    """Counts per value, most frequent first, ``None`` left out."""
    return dict(Counter(str(v) for v in values if v is not None and v == v).most_common())


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@contextlib.contextmanager
def transaction(engine: Engine, file: str, dry_run: bool = False) -> Iterator[sa.Connection]:
    """One import's transaction: committed on success, rolled back on error or in a dry run.

    The last line of defence for "no traceback for bad data": a value the
    database refuses although the importer checked it (a bug, another import
    writing the same case meanwhile, or a geometry PostGIS cannot process,
    which it reports as an internal error) cancels the whole import with a
    message, and the database is unchanged.
    """
    try:
        with engine.connect() as con:
            tx = con.begin()
            try:
                yield con
            except BaseException:
                tx.rollback()
                raise
            if dry_run:
                tx.rollback()
            else:
                tx.commit()
    except (sa.exc.DataError, sa.exc.IntegrityError, sa.exc.InternalError) as exc:
        first = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:200]
        raise InputFileError(
            f"{file}：数据库拒绝了文件中的值（{mask_text(first)}），导入已取消，数据库未作任何改动。"
            "若另一导入正同时写入相同工单，请稍后重试；否则请把文件和这条消息交给维护人员") from exc


def begin(con: sa.Connection, kind: str, path: Path, channel: str | None = None) -> int:
    """Open an import batch (inside the import's transaction); returns its id."""
    return int(con.execute(
        sa.text("INSERT INTO imports (kind, file, file_sha256, channel) "
                "VALUES (:k, :f, :h, :c) RETURNING id"),
        {"k": kind, "f": Path(path).name, "h": sha256(Path(path)), "c": channel},
    ).scalar_one())


def finish(con: sa.Connection, result: ImportResult) -> None:
    """Record the batch's counts; the table's CHECK enforces the accounting identity."""
    result.check()
    con.execute(
        sa.text("UPDATE imports SET finished_at = clock_timestamp(), rows_read = :r, "
                "inserted = :i, updated = :u, unchanged = :n, voided = :v, quarantined = :q, "
                "summary = CAST(:s AS jsonb) WHERE id = :id"),
        {"r": result.rows_read, "i": result.inserted, "u": result.updated,
         "n": result.unchanged, "v": result.voided, "q": result.quarantined,
         "s": json.dumps(result.as_dict(), ensure_ascii=False), "id": result.import_id},
    )
