"""Party building (红色物业, 党建引领): party and mass organisations of firms and committees.

The policy opens with party building: street offices see to party organisations
(党组织) in owners' committees and, where eligible, mass organisations (群团组织:
unions, youth league, women's federation); the housing bureau, with the city's
两新工委, in property firms (三(一)1(1), 三(二)(4)). Each firm's and committee's
situation is a record in ``party_building``, appended, never overwritten: the
current one is the latest (:data:`CURRENT`). Records come from the register files
(``etl.intake.party``), the dashboard's form (:func:`record`) or the demo.

Coverage per street office and community (:func:`coverage`) counts committees
in the area and firms serving a compound there; a firm or committee with no
record counts as without (the register says nothing of one), and a mass
organisation is counted among the eligible only. :func:`report` is the summary
the joint meeting's briefing calls.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa

from geo import auth, committees
from geo._errors import PropmapError
from geo.credit_model import SUBJECT_COLUMN
from geo.privacy import mask_text


class PartyInputError(PropmapError, ValueError):
    """A party-building record that cannot be written as given."""


#: SQL: the current record of every firm and committee.
CURRENT = """
SELECT DISTINCT ON (subject, coalesce(firm_id, compound_id))
       subject, firm_id, compound_id, has_party_org, party_org_name, party_members,
       mass_eligible, has_mass_org, note, source, recorded_by, recorded_at
FROM party_building
ORDER BY subject, coalesce(firm_id, compound_id), recorded_at DESC, id DESC
"""

_YES = {True: "是", False: "否"}


def _yes(v: Any) -> str:
    return "" if v is None or (isinstance(v, float) and v != v) else _YES[bool(v)]


def firms(con: sa.Connection) -> pd.DataFrame:
    """Every firm with its current party-building record (blank when none)."""
    df = pd.DataFrame(con.execute(sa.text(f"""
        WITH cur AS ({CURRENT})
        SELECT p.id, p.name, cur.has_party_org, cur.party_org_name, cur.party_members,
               cur.mass_eligible, cur.has_mass_org, cur.recorded_at, cur.recorded_by
        FROM property_firms p LEFT JOIN cur ON cur.subject = 'firm' AND cur.firm_id = p.id
        ORDER BY p.name""")).fetchall(),
        columns=["id", "name", "has_party_org", "party_org_name", "party_members",
                 "mass_eligible", "has_mass_org", "recorded_at", "recorded_by"])
    return df


def committees_table(con: sa.Connection, street: str | None = None) -> pd.DataFrame:
    """Every committee (of the account's area, or of ``street``) with its current record."""
    return pd.DataFrame(con.execute(sa.text(f"""
        WITH cur AS ({CURRENT}), c AS ({committees.ATTRIBUTION})
        SELECT x.id, x.name || '业主委员会' AS name, x.name AS compound, s.name AS street,
               m.name AS community, cur.has_party_org, cur.party_org_name, cur.party_members,
               cur.mass_eligible, cur.has_mass_org, cur.recorded_at, cur.recorded_by
        FROM c JOIN compounds x ON x.id = c.compound_id
        LEFT JOIN streets s ON s.code = x.street_code
        LEFT JOIN communities m ON m.id = x.community_id
        LEFT JOIN cur ON cur.subject = 'committee' AND cur.compound_id = x.id
        WHERE CAST(:street AS text) IS NULL OR x.street_code = :street
        ORDER BY s.name, m.name, x.name"""), {"street": street}).fetchall(),
        columns=["id", "name", "compound", "street", "community", "has_party_org",
                 "party_org_name", "party_members", "mass_eligible", "has_mass_org",
                 "recorded_at", "recorded_by"])


def display(df: pd.DataFrame) -> pd.DataFrame:
    """A table of :func:`firms` or :func:`committees_table` with Chinese headers."""
    out = df.drop(columns=["id"]).copy()
    out["party_members"] = pd.array(
        [None if v is None or v != v else int(v) for v in out["party_members"]], dtype="Int64")
    for c in ("has_party_org", "mass_eligible", "has_mass_org"):
        out[c] = out[c].map(_yes)
    out["party_org_name"] = out["party_org_name"].fillna("")
    out["recorded_by"] = out["recorded_by"].fillna("")
    if "recorded_at" in out:
        out["recorded_at"] = pd.to_datetime(out["recorded_at"], utc=True).dt.tz_convert(
            "Asia/Shanghai").dt.strftime("%Y-%m-%d")
    return out.rename(columns={
        "name": "名称", "compound": "小区", "street": "街道/镇", "community": "社区",
        "has_party_org": "已建党组织", "party_org_name": "党组织名称", "party_members": "党员人数",
        "mass_eligible": "符合群团组建条件", "has_mass_org": "已建群团组织",
        "recorded_at": "登记日期", "recorded_by": "登记人"})


def coverage(con: sa.Connection, level: str = "street") -> pd.DataFrame:
    """Party-building coverage per street office (``level="street"``) or community.

    Columns: ``code, name, street, committees, committees_party, committee_rate,
    committees_eligible, committees_mass, committee_mass_rate, firms, firms_party,
    firm_rate, firms_eligible, firms_mass, firm_mass_rate`` (rates in percent, one
    decimal; ``None`` when there is nothing to count).
    """
    key, name = (("x.street_code", "s.name") if level == "street"
                 else ("x.community_id::text", "m.name"))
    df = pd.DataFrame(con.execute(sa.text(f"""
        WITH cur AS ({CURRENT}),
        area AS (
            SELECT {key} AS code, min({name}) AS name, min(s.name) AS street
            FROM compounds x LEFT JOIN streets s ON s.code = x.street_code
            LEFT JOIN communities m ON m.id = x.community_id
            WHERE {key} IS NOT NULL GROUP BY 1
        ),
        com AS (
            SELECT {key} AS code, count(*) AS n,
                   count(*) FILTER (WHERE cur.has_party_org) AS party,
                   count(*) FILTER (WHERE cur.mass_eligible) AS eligible,
                   count(*) FILTER (WHERE cur.mass_eligible AND cur.has_mass_org) AS mass
            FROM ({committees.ATTRIBUTION}) c JOIN compounds x ON x.id = c.compound_id
            LEFT JOIN cur ON cur.subject = 'committee' AND cur.compound_id = x.id
            GROUP BY 1
        ),
        fa AS (SELECT DISTINCT {key} AS code, x.firm_id FROM compounds x
               WHERE x.firm_id IS NOT NULL),
        fi AS (
            SELECT fa.code, count(*) AS n,
                   count(*) FILTER (WHERE cur.has_party_org) AS party,
                   count(*) FILTER (WHERE cur.mass_eligible) AS eligible,
                   count(*) FILTER (WHERE cur.mass_eligible AND cur.has_mass_org) AS mass
            FROM fa LEFT JOIN cur ON cur.subject = 'firm' AND cur.firm_id = fa.firm_id
            GROUP BY 1
        )
        SELECT area.code, area.name, area.street,
               coalesce(com.n, 0) AS committees, coalesce(com.party, 0) AS committees_party,
               coalesce(com.eligible, 0) AS committees_eligible,
               coalesce(com.mass, 0) AS committees_mass,
               coalesce(fi.n, 0) AS firms, coalesce(fi.party, 0) AS firms_party,
               coalesce(fi.eligible, 0) AS firms_eligible, coalesce(fi.mass, 0) AS firms_mass
        FROM area LEFT JOIN com ON com.code = area.code LEFT JOIN fi ON fi.code = area.code
        ORDER BY area.code""")).mappings().all())
    if df.empty:
        return df
    for n, d, r in (("committees_party", "committees", "committee_rate"),
                    ("committees_mass", "committees_eligible", "committee_mass_rate"),
                    ("firms_party", "firms", "firm_rate"),
                    ("firms_mass", "firms_eligible", "firm_mass_rate")):
        df[r] = [round(100.0 * a / b, 1) if b else None
                 for a, b in zip(df[n], df[d], strict=True)]
    return df


COVERAGE_COLUMNS = {
    "committees": "业委会数", "committees_party": "已建党组织的业委会",
    "committee_rate": "业委会党组织覆盖率%", "committees_eligible": "符合群团组建条件的业委会",
    "committees_mass": "已建群团组织的业委会", "committee_mass_rate": "业委会群团组织覆盖率%",
    "firms": "服务本区的物业企业", "firms_party": "已建党组织的企业",
    "firm_rate": "企业党组织覆盖率%", "firms_eligible": "符合群团组建条件的企业",
    "firms_mass": "已建群团组织的企业", "firm_mass_rate": "企业群团组织覆盖率%",
}
DEFINITIONS = (
    "业委会党组织覆盖率 = 已建立党组织的业主委员会 ÷ 业主委员会数；无登记记录的按未建立计",
    "群团组织覆盖率 = 已建立群团组织的 ÷ 符合群团组建条件的（条件不详的不计入分母）",
    "企业覆盖率按服务本区小区的物业企业计（一家企业服务多个街道的，在每个街道都计入）",
)


def coverage_table(df: pd.DataFrame, level: str = "street") -> pd.DataFrame:
    """:func:`coverage` with Chinese headers."""
    first = {"name": "街道/镇"} if level == "street" else {"street": "街道/镇", "name": "社区"}
    cols = first | COVERAGE_COLUMNS
    if df.empty:
        return pd.DataFrame(columns=list(cols.values()))
    return df[list(cols)].rename(columns=cols)


def report(con: sa.Connection) -> dict[str, Any]:
    """The party-building summary for the joint meeting's briefing.

    Returns ``city`` (totals and rates for the account's area, as :func:`coverage`'s
    columns), ``streets`` (:func:`coverage_table` per street office) and ``lines``
    (the summary in Chinese, one figure per line).
    """
    df = coverage(con, "street")
    firms_df = firms(con)
    city: dict[str, Any] = {k: int(df[k].sum()) if len(df) else 0 for k in (
        "committees", "committees_party", "committees_eligible", "committees_mass")}
    city["firms"] = len(firms_df)
    city["firms_party"] = int(firms_df["has_party_org"].fillna(False).astype(bool).sum())
    city["firms_eligible"] = int(firms_df["mass_eligible"].fillna(False).astype(bool).sum())
    city["firms_mass"] = int((firms_df["mass_eligible"].fillna(False).astype(bool)
                              & firms_df["has_mass_org"].fillna(False).astype(bool)).sum())

    def rate(a: str, b: str) -> float | None:
        return round(100.0 * city[a] / city[b], 1) if city[b] else None

    city["committee_rate"] = rate("committees_party", "committees")
    city["committee_mass_rate"] = rate("committees_mass", "committees_eligible")
    city["firm_rate"] = rate("firms_party", "firms")
    city["firm_mass_rate"] = rate("firms_mass", "firms_eligible")

    def pct(v: float | None) -> str:
        return "—" if v is None else f"{v:g}%"

    lines = [
        f"业主委员会 {city['committees']:,} 个，已建党组织 {city['committees_party']:,} 个，"
        f"覆盖率 {pct(city['committee_rate'])}；符合条件的 {city['committees_eligible']:,} 个中"
        f"已建群团组织 {city['committees_mass']:,} 个（{pct(city['committee_mass_rate'])}）",
        f"物业服务企业 {city['firms']:,} 家，已建党组织 {city['firms_party']:,} 家，"
        f"覆盖率 {pct(city['firm_rate'])}；符合条件的 {city['firms_eligible']:,} 家中"
        f"已建群团组织 {city['firms_mass']:,} 家（{pct(city['firm_mass_rate'])}）",
    ]
    if len(df):
        low = df.dropna(subset=["committee_rate"]).sort_values("committee_rate").head(3)
        if len(low):
            lines.append("业委会党组织覆盖率最低的街道/镇：" + "、".join(
                f"{r.name} {pct(r.committee_rate)}" for r in low.itertuples()))
    return {"city": city, "streets": coverage_table(df, "street"), "lines": lines}


def _bool(v: Any) -> bool | None:
    return None if v is None else bool(v)


def same(current: dict[str, Any] | None, new: dict[str, Any]) -> bool:
    """Whether ``new`` says what ``current`` already says (then nothing is recorded)."""
    if current is None:
        return False
    return all(current.get(k) == new.get(k) for k in (
        "has_party_org", "party_org_name", "party_members", "mass_eligible", "has_mass_org"))


def current(con: sa.Connection, subject: str, subject_id: int) -> dict[str, Any] | None:
    col = SUBJECT_COLUMN[subject]
    row = con.execute(sa.text(f"SELECT * FROM ({CURRENT}) c WHERE subject = :s AND {col} = :i"),
                      {"s": subject, "i": subject_id}).mappings().first()
    return dict(row) if row else None


def record(con: sa.Connection, subject: str, subject_id: int, *, has_party_org: bool,
           party_org_name: str | None = None, party_members: int | None = None,
           mass_eligible: bool | None = None, has_mass_org: bool | None = None,
           note: str | None = None, by: str, source: str = "dashboard",
           source_file: str | None = None, audit: bool = True) -> int | None:
    """Append a party-building record; returns its id, or ``None`` when it says nothing new.

    Raises
    ------
    PartyInputError
        Unknown subject (or outside the account's area), or values that contradict each
        other (a party organisation's name without one, members without one).
    """
    problems = []
    if subject == "firm":
        ok = con.execute(sa.text("SELECT 1 FROM property_firms WHERE id = :i"),
                         {"i": subject_id}).first() is not None
    elif subject == "committee":
        ok = committees.exists(con, subject_id)
    else:
        raise PartyInputError("对象类型应为物业企业或业主委员会")
    if not ok:
        what = "物业企业" if subject == "firm" else "业主委员会"
        problems.append(f"没有编号为 {subject_id} 的{what}（或不在您的辖区内）")
    name = mask_text(" ".join((party_org_name or "").split())) or None
    if not has_party_org and (name or party_members):
        problems.append("未建立党组织时不应填写党组织名称或党员人数")
    if party_members is not None and party_members < 0:
        problems.append("党员人数不能为负")
    if has_mass_org and mass_eligible is False:
        problems.append("已建立群团组织的，“符合组建条件”不应为否")
    if problems:
        raise PartyInputError("无法保存：" + "；".join(problems) + "。")
    new = {"has_party_org": bool(has_party_org), "party_org_name": name,
           "party_members": party_members, "mass_eligible": _bool(mass_eligible),
           "has_mass_org": _bool(has_mass_org)}
    if same(current(con, subject, subject_id), new):
        return None
    new_id = int(con.execute(sa.text("""
        INSERT INTO party_building (subject, firm_id, compound_id, has_party_org, party_org_name,
            party_members, mass_eligible, has_mass_org, note, source, source_file, recorded_by)
        VALUES (:s, :f, :c, :p, :pn, :pm, :me, :mo, :n, :src, :sf, :by) RETURNING id"""),
        {"s": subject, "f": subject_id if subject == "firm" else None,
         "c": subject_id if subject == "committee" else None, "p": new["has_party_org"],
         "pn": name, "pm": party_members, "me": new["mass_eligible"], "mo": new["has_mass_org"],
         "n": mask_text(note or "") or None, "src": source, "sf": source_file,
         "by": by}).scalar_one())
    if audit:
        auth.audit(con, "write", {"what": "party_building", "id": new_id, "subject": subject,
                                  "subject_id": subject_id, "source": source}, account=by)
    return new_id
