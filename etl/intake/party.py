"""Import party-building registers (党建情况登记表) of firms and owners' committees.

A row names a firm (by its name) or a committee (by its compound's code or name)
and says whether it has a party organisation, its name and members, whether it
is eligible for mass organisations (群团组织) and whether it has them. Header
spellings and yes/no spellings are data (``data/intake/header-aliases.csv``,
kind ``party``; ``value-spellings.csv``, fields ``yes_no`` and
``party_subject``). Every row is accounted for: recorded, unchanged (it says
what the register already says) or refused with a reason a clerk understands
(the row number is the spreadsheet's). One transaction: the connection may be
an account's scoped one, so a committee outside its area is "not found", and
an account that may not register firms gets their rows refused, not an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from etl.intake import parse
from etl.intake.headers import header_test, rename
from etl.intake.readers import read_table
from geo import auth, party
from geo._errors import PropmapError

HEADERS = ("类型", "名称", "小区编号", "小区名称", "是否建立党组织", "党组织名称", "党员人数",
           "是否符合群团组建条件", "是否建立群团组织", "备注")
REQUIRED = ("是否建立党组织",)

R_KIND = "无法识别的类型（应为物业企业或业主委员会）"
R_NO_FIRM = "没有这家物业企业（名称须与企业名录一致）"
R_NO_COMMITTEE = "没有找到该小区的业主委员会（或该小区不在您的辖区内）"
R_AMBIGUOUS = "小区名称不唯一，请填写小区编号"
R_YES_NO = "是否栏应填“是”或“否”"
R_NUMBER = "党员人数应为整数"
R_FIRM_NOT_ALLOWED = "您的账号不能登记物业企业的党建情况（由住建局登记）"
R_NO_SUBJECT = "缺少名称或小区"


@dataclass
class PartyImportResult:
    """What became of every row of the file."""

    file: str
    rows_read: int = 0
    recorded: int = 0
    unchanged: int = 0
    refused: list[tuple[int, str, str]] = field(default_factory=list)
    """(row number, name as written, reason)."""

    def summary(self) -> str:
        return (f"{self.file}：读入 {self.rows_read} 行，登记 {self.recorded} 行，"
                f"未变 {self.unchanged} 行，拒收 {len(self.refused)} 行")

    def refused_table(self) -> pd.DataFrame:
        return pd.DataFrame(self.refused, columns=["行号", "名称", "原因"])


def _yes_no(s: pd.Series) -> tuple[list[bool | None], pd.Series]:
    codes, bad = parse.map_values(s, "yes_no")
    return [None if c in (None, "unknown") else c == "yes" for c in codes], bad


def import_party(con: sa.Connection, path: Path, *, by: str,
                 kinds: Sequence[str] = ("firm", "committee")) -> PartyImportResult:
    """Import a party-building register on ``con`` (one transaction; see the module docstring).

    Raises
    ------
    InputFileError
        The file is not a table, or its header lacks 是否建立党组织.
    """
    path = Path(path)
    raw = read_table(path, header_test(HEADERS, "party"))
    f = rename(raw.frame, known=HEADERS, required=REQUIRED, file=path.name, kind="party")
    result = PartyImportResult(file=path.name, rows_read=len(f))
    kind, kind_bad = parse.map_values(f["类型"], "party_subject")
    has, has_bad = _yes_no(f["是否建立党组织"])
    eligible, el_bad = _yes_no(f["是否符合群团组建条件"])
    mass, mass_bad = _yes_no(f["是否建立群团组织"])
    members, members_bad = parse.parse_number(f["党员人数"])
    firms = {r.name: int(r.id) for r in con.execute(sa.text(
        "SELECT id, name FROM property_firms"))}
    compounds = con.execute(sa.text(
        "SELECT id, code, name FROM compounds WHERE owners_committee = 'established'")).all()
    by_code = {r.code: int(r.id) for r in compounds}
    by_name: dict[str, list[int]] = {}
    for r in compounds:
        by_name.setdefault(r.name, []).append(int(r.id))
    for i in range(len(f)):
        row_no = int(raw.row_no[i])
        name = str(f["名称"].iat[i]).strip()
        code = str(f["小区编号"].iat[i]).strip()
        place = str(f["小区名称"].iat[i]).strip()
        k = kind.iat[i] or ("committee" if code or place else "firm" if name else None)
        shown = name or place or code

        def refuse(reason: str, _row: int = row_no, _shown: str = shown) -> None:
            result.refused.append((_row, _shown, reason))

        if kind_bad.iat[i]:
            refuse(R_KIND)
            continue
        if has_bad.iat[i] or el_bad.iat[i] or mass_bad.iat[i] or has[i] is None:
            refuse(R_YES_NO)
            continue
        if members_bad.iat[i] or (not pd.isna(members.iat[i])
                                  and float(members.iat[i]) != int(members.iat[i])):
            refuse(R_NUMBER)
            continue
        if k is None:
            refuse(R_NO_SUBJECT)
            continue
        if k not in kinds:
            refuse(R_FIRM_NOT_ALLOWED)
            continue
        if k == "firm":
            sid = firms.get(name) or firms.get(f"凯里市{name}")
            if sid is None:
                refuse(R_NO_FIRM)
                continue
        else:
            if code:
                found = by_code.get(code)
                ids = [found] if found is not None else []
            else:
                ids = by_name.get(place or name.removesuffix("业主委员会"), [])
            if len(ids) > 1:
                refuse(R_AMBIGUOUS)
                continue
            if not ids:
                refuse(R_NO_COMMITTEE)
                continue
            sid = ids[0]
        n = None if pd.isna(members.iat[i]) else int(members.iat[i])
        try:
            with con.begin_nested():
                new = party.record(con, k, sid, has_party_org=bool(has[i]),
                                   party_org_name=str(f["党组织名称"].iat[i]) or None,
                                   party_members=n, mass_eligible=eligible[i],
                                   has_mass_org=mass[i], note=str(f["备注"].iat[i]) or None,
                                   by=by, source="import", source_file=path.name, audit=False)
        except PropmapError as exc:
            refuse(str(exc).removeprefix("无法保存：").rstrip("。"))
            continue
        if new is None:
            result.unchanged += 1
        else:
            result.recorded += 1
    auth.audit(con, "write", {"what": "party_building_import", "file": path.name,
                              "rows_read": result.rows_read, "recorded": result.recorded,
                              "unchanged": result.unchanged, "refused": len(result.refused)},
               account=by)
    return result
