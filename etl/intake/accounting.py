"""Import batches and their accounting.

Every batch satisfies ``rows_read = inserted + updated + unchanged + quarantined``.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa


@dataclass
class ImportResult:
    """What one import did to the rows of one file."""

    file: str
    kind: str
    import_id: int | None = None
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    located_by: dict[str, int] = field(default_factory=dict)
    category_by: dict[str, int] = field(default_factory=dict)
    coord_fixes: dict[str, int] = field(default_factory=dict)
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)
    """Seconds per stage of the import, in order (for profiling and ``propmap bench``)."""

    def check(self) -> None:
        """Raise ``AssertionError`` if a row is unaccounted for (a bug, never user input)."""
        total = self.inserted + self.updated + self.unchanged + self.quarantined
        if total != self.rows_read:
            raise AssertionError(f"accounting: {self.rows_read} read but {total} accounted for")

    def as_dict(self) -> dict[str, Any]:
        """The JSON of ``propmap import ... --json``."""
        return {
            "file": self.file, "kind": self.kind, "import_id": self.import_id,
            "rows_read": self.rows_read, "inserted": self.inserted, "updated": self.updated,
            "unchanged": self.unchanged, "quarantined": self.quarantined,
            "located_by": self.located_by, "category_by": self.category_by,
            "coord_fixes": self.coord_fixes, "quarantine_reasons": self.quarantine_reasons,
            "seconds": round(self.seconds, 3), "stages": self.stages,
        }

    def summary_zh(self) -> str:
        """A short Chinese summary for the command line."""
        kind = {"cases": "工单", "compounds": "小区", "boundaries": "边界"}.get(self.kind, "")
        parts = [f"读入 {self.rows_read:,} 行{kind}：新增 {self.inserted:,}，"
                 f"更新 {self.updated:,}，"
                 f"未变 {self.unchanged:,}，隔离 {self.quarantined:,}（{self.seconds:.1f} 秒）"]
        labels = {"coordinates": "坐标", "compound_name": "小区名称", "address": "地址",
                  "none": "未定位"}
        if self.located_by:
            parts.append("定位方式：" + "，".join(
                f"{labels.get(k, k)} {v:,}" for k, v in self.located_by.items()))
        if self.coord_fixes.get("swapped"):
            parts.append(f"经纬度颠倒已纠正 {self.coord_fixes['swapped']:,} 行")
        if self.quarantine_reasons:
            parts.append("隔离原因：" + "，".join(
                f"{k} {v:,}" for k, v in self.quarantine_reasons.items()))
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
                "inserted = :i, updated = :u, unchanged = :n, quarantined = :q, "
                "summary = CAST(:s AS jsonb) WHERE id = :id"),
        {"r": result.rows_read, "i": result.inserted, "u": result.updated,
         "n": result.unchanged, "q": result.quarantined,
         "s": json.dumps(result.as_dict(), ensure_ascii=False), "id": result.import_id},
    )
