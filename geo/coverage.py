"""Coverage gaps: households and compounds without professional property management.

The policy aims at bringing professional management (物业服务企业) to every
compound, old ones first. The compounds without it are not one group: a 三无
compound not yet taken over is the street office's work, one taken over
(街道托管) is progress, and compounds managed by their owners (业主自管) or by
a work unit (单位自管) are managed, only not professionally. Which class a
compound is in is data (``data/reference/management-classes.csv``: management
mode and the 三无 flag); :func:`class_sql` turns it into one SQL ``CASE``, and
:func:`gaps` counts compounds and households per class for every street office
or community, in one aggregate query (row-level security keeps an account to
its area).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from geo import datafiles
from geo.models import MANAGEMENT_MODES


@dataclass(frozen=True)
class ManagementClass:
    key: str
    label: str
    management_mode: str
    sanwu: bool | None
    professional: bool
    definition: str


def classes() -> tuple[ManagementClass, ...]:
    """The classes of ``management-classes.csv``, in file order (the first: professional)."""
    with open(datafiles.path("reference", "management-classes.csv"), encoding="utf-8",
              newline="") as f:
        rows = list(csv.DictReader(f))
    out = []
    for r in rows:
        if r["management_mode"] not in MANAGEMENT_MODES:
            raise ValueError(f"management-classes.csv: unknown mode {r['management_mode']!r}")
        out.append(ManagementClass(
            r["key"], r["label"], r["management_mode"],
            None if r["sanwu"] == "" else r["sanwu"] == "true", r["professional"] == "true",
            r["definition"]))
    return tuple(out)


def class_sql(a: str = "x") -> str:
    """SQL: the class key of compound ``a`` (``NULL`` if no class matches)."""
    whens = []
    for c in classes():
        cond = f"{a}.management_mode = '{c.management_mode}'"
        if c.sanwu is not None:
            cond += f" AND {'' if c.sanwu else 'NOT '}{a}.is_sanwu"
        whens.append(f"WHEN {cond} THEN '{c.key}'")
    return f"(CASE {' '.join(whens)} END)"


def professional_keys() -> tuple[str, ...]:
    return tuple(c.key for c in classes() if c.professional)


#: Columns of :func:`gaps` beside the per-class ones.
LEVELS = {"street": ("x.street_code", "s.name"), "community": ("x.community_id", "m.name")}


def gaps(con: sa.Connection, level: str = "street", street: str | None = None) -> pd.DataFrame:
    """Per street office (``level="street"``) or community: compounds and households in
    all and per management class, the households without professional management and
    their share, and the 三无 compounds taken over by the street office.

    Columns: ``code, name, street_code, street, compounds, households,
    <class>_compounds, <class>_households`` for each class, ``gap_compounds,
    gap_households, gap_share`` (percent of households, one decimal),
    ``sanwu_custody`` (三无 and 街道托管).
    """
    key, name = LEVELS[level]
    cls = classes()
    per = ",\n".join(
        f"count(*) FILTER (WHERE k.cls = '{c.key}') AS {c.key}_compounds, "
        f"coalesce(sum(k.hh) FILTER (WHERE k.cls = '{c.key}'), 0) AS {c.key}_households"
        for c in cls)
    prof = ", ".join(f"'{k}'" for k in professional_keys())
    df = pd.DataFrame(con.execute(sa.text(f"""
        WITH k AS (
            SELECT x.street_code, x.community_id, coalesce(x.households, 0) AS hh,
                   {class_sql("x")} AS cls, x.is_sanwu, x.management_mode
            FROM compounds x
            WHERE (CAST(:street AS text) IS NULL OR x.street_code = :street)
        )
        SELECT {key.replace("x.", "k.")}::text AS code, {name} AS name,
               min(k.street_code) AS street_code, min(s.name) AS street,
               count(*) AS compounds, coalesce(sum(k.hh), 0) AS households,
               {per},
               count(*) FILTER (WHERE k.cls NOT IN ({prof}) OR k.cls IS NULL) AS gap_compounds,
               coalesce(sum(k.hh) FILTER (WHERE k.cls NOT IN ({prof}) OR k.cls IS NULL), 0)
                   AS gap_households,
               count(*) FILTER (WHERE k.is_sanwu AND k.management_mode = 'street_custody')
                   AS sanwu_custody
        FROM k LEFT JOIN streets s ON s.code = k.street_code
        LEFT JOIN communities m ON m.id = k.community_id
        WHERE {key.replace("x.", "k.")} IS NOT NULL
        GROUP BY 1, 2 ORDER BY min(k.street_code), 2
    """), {"street": street}).mappings().all())
    if df.empty:
        return df
    for c in df.columns:
        if c not in ("code", "name", "street_code", "street"):
            df[c] = df[c].astype("int64")
    df["gap_share"] = [round(100.0 * g / h, 1) if h else None
                       for g, h in zip(df["gap_households"], df["households"], strict=True)]
    return df


def table(df: pd.DataFrame, level: str = "street") -> pd.DataFrame:
    """:func:`gaps` with Chinese headers, for the page and its download."""
    cols: dict[str, str] = {"street": "街道/镇"} if level == "community" else {}
    cols |= {"name": "街道/镇" if level == "street" else "社区", "compounds": "小区数",
             "households": "户数", "gap_compounds": "无专业物业小区",
             "gap_households": "无专业物业户数", "gap_share": "无专业物业户数占比%"}
    for c in classes():
        cols[f"{c.key}_compounds"] = f"{c.label}（小区）"
        cols[f"{c.key}_households"] = f"{c.label}（户）"
    cols["sanwu_custody"] = "其中三无已托管（小区）"
    if df.empty:
        return pd.DataFrame(columns=list(cols.values()))
    return df[list(cols)].rename(columns=cols)


def definitions() -> list[str]:
    """The written definition of every class (the page's help text, the download's 说明)."""
    return [f"{c.label}：{c.definition}" for c in classes()] + [
        "无专业物业：除物业服务企业以外的各类（三无、无人管理、街道托管、业主自管、单位自管）",
        "无专业物业户数占比 = 无专业物业小区的户数 ÷ 全部小区户数（户数取小区登记户数）"]
