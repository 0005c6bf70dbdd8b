"""Reference data: departments, the dispute classification list, Kaili's divisions.

They are data a city edits (``data/reference/*.csv``), loaded into the
``departments`` and ``categories`` tables by :func:`load`; code reads the
tables, never hard-coded lists.

Kaili's divisions come from two public lists (see ``data/reference/PROVENANCE.md``):
the 2023 list of its 9 street offices and 11 towns (:func:`divisions`), which is
authoritative for which units exist and their kind, and the 2016 list of the
communities and villages under them with a few seat points in GCJ-02
(:func:`communities_2016`, :func:`division_seats_2016`).
"""

from __future__ import annotations

import csv
import functools
import json
import tomllib
from typing import Any

import numpy as np
import sqlalchemy as sa
from shapely.geometry import MultiPolygon, shape

from geo import crs, datafiles

DATA = datafiles.path("reference")
#: Kaili City's statistical division code.
CITY_CODE = "522601000000"


def _rows(name: str) -> list[dict[str, str]]:
    with open(DATA / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def departments() -> list[dict[str, str]]:
    """Departments named in the policy, as rows of ``departments.csv``."""
    return _rows("departments.csv")


def categories() -> list[dict[str, Any]]:
    """The classification list, with list columns split."""
    out: list[dict[str, Any]] = []
    for r in _rows("dispute-categories.csv"):
        out.append(
            {
                **r,
                "co_depts": [x for x in r["co_depts"].split(";") if x],
                "keywords": [x for x in r["keywords"].split("|") if x],
                "time_limit_days": int(r["time_limit_days"]),
            }
        )
    return out


def divisions() -> list[dict[str, str]]:
    """Kaili's 9 street offices and 11 towns with their statistical codes."""
    return _rows("kaili-divisions-2023.csv")


#: The year of each list of Kaili's divisions.
DIVISIONS_YEAR = 2023
COMMUNITIES_YEAR = 2016

#: How the 2016 list's committee names become the names staff use: the committee
#: suffix is dropped and the community or village is named (北京西路社区居委会 →
#: 北京西路社区, 东门居委会 → 东门社区, 金井村委会 → 金井村). A 家委会 (the residents'
#: committee of a factory's or mine's housing) has no shorter name and keeps it.
#: Longest suffix first.
COMMITTEE_SUFFIXES = (
    ("社区居委会", "社区"),
    ("居委会", "社区"),
    ("村委会", "村"),
    ("家委会", "家委会"),
)


def community_name(name_2016: str) -> str:
    """The name staff use for a 2016 committee name (see :data:`COMMITTEE_SUFFIXES`)."""
    for suffix, replacement in COMMITTEE_SUFFIXES:
        if name_2016.endswith(suffix):
            return name_2016[: -len(suffix)] + replacement
    raise ValueError(f"unexpected committee name in the 2016 list: {name_2016!r}")


@functools.cache
def _units_2016() -> tuple[dict[str, str], ...]:
    return tuple(_rows("kaili-units-2016.csv"))


def _wgs84_point(row: dict[str, str]) -> tuple[float, float] | None:
    if not row["lon_gcj02"]:
        return None
    lon, lat = crs.to_wgs84(
        np.array([float(row["lon_gcj02"])]), np.array([float(row["lat_gcj02"])]), "gcj02"
    )
    return float(lon[0]), float(lat[0])


def communities_2016() -> list[dict[str, Any]]:
    """Kaili's 271 communities and villages of 2016, under the 2023 units.

    Each row: ``code`` (12 digits), ``name`` (as staff say it, see
    :data:`COMMITTEE_SUFFIXES`), ``name_2016`` (the committee's name in the list),
    ``street_code``, ``kind`` (``community`` for 社区 and 家委会, ``village`` for
    村) and ``seat`` (WGS84 lon/lat of the committee's seat, or ``None``; the list
    gives 30 of them in GCJ-02). The 2016 list files every street office under
    ``level = town``; the unit a row belongs to is its parent code, which must be
    one of the 2023 units.
    """
    units = {d["code"] for d in divisions()}
    out: list[dict[str, Any]] = []
    for r in _units_2016():
        if r["parent"] == CITY_CODE:
            continue
        if r["parent"] not in units:
            raise ValueError(f"2016 community {r['code']} has no 2023 unit {r['parent']}")
        out.append(
            {
                "code": r["code"],
                "name": community_name(r["name"]),
                "name_2016": r["name"],
                "street_code": r["parent"],
                "kind": "village" if r["name"].endswith("村委会") else "community",
                "seat": _wgs84_point(r),
            }
        )
    return out


def division_seats_2016() -> dict[str, tuple[float, float]]:
    """WGS84 seats of the street offices and towns that the 2016 list locates (13 of 18)."""
    return {
        r["code"]: p
        for r in _units_2016()
        if r["parent"] == CITY_CODE and (p := _wgs84_point(r)) is not None
    }


@functools.cache
def kaili_outline() -> MultiPolygon:
    """Kaili City's outline in WGS84 (converted from the GCJ-02 reference file, once)."""
    with open(DATA / "kaili-522601-outline-gcj02.geojson", encoding="utf-8") as f:
        gj = json.load(f)
    geom = shape(gj if gj.get("type") != "Feature" else gj["geometry"])
    out = crs.transform_geometry(geom, "gcj02", "wgs84")
    return out if isinstance(out, MultiPolygon) else MultiPolygon([out])


def department_themes() -> list[dict[str, str]]:
    """Which department supervises which hazard theme city-wide (``department-themes.csv``)."""
    return _rows("department-themes.csv")


@functools.cache
def record_permissions() -> list[dict[str, str]]:
    """Which kind of account may record which event (``record-permissions.csv``)."""
    return [{k: r[k] for k in ("account_kind", "target", "event_kind")}
            for r in _rows("record-permissions.csv")]


@functools.cache
def governance() -> dict[str, Any]:
    """Thresholds of the progress figures (``governance.toml``)."""
    with open(DATA / "governance.toml", "rb") as f:
        return tomllib.load(f)


def load(con: sa.Connection) -> None:
    """Upsert departments, categories, department themes and record permissions."""
    con.execute(
        sa.text(
            "INSERT INTO departments (code, name, policy_item) VALUES (:code, :name, :policy_item) "
            "ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, "
            "policy_item = EXCLUDED.policy_item"
        ),
        departments(),
    )
    con.execute(
        sa.text(
            "INSERT INTO categories (code, name, theme, lead_dept, co_depts, default_level, "
            "time_limit_days, keywords, policy_item) VALUES (:code, :name, :theme, :lead_dept, "
            ":co_depts, :default_level, :time_limit_days, :keywords, :policy_item) "
            "ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, theme = EXCLUDED.theme, "
            "lead_dept = EXCLUDED.lead_dept, co_depts = EXCLUDED.co_depts, "
            "default_level = EXCLUDED.default_level, time_limit_days = EXCLUDED.time_limit_days, "
            "keywords = EXCLUDED.keywords, policy_item = EXCLUDED.policy_item"
        ),
        categories(),
    )
    if con.execute(sa.text("SELECT to_regclass('department_themes')")).scalar():
        themes = department_themes()
        con.execute(sa.text("DELETE FROM department_themes WHERE (dept, theme) NOT IN "
                            "(SELECT d, t FROM unnest(CAST(:d AS text[]), CAST(:t AS text[])) "
                            "AS u(d, t))"),
                    {"d": [r["dept"] for r in themes], "t": [r["theme"] for r in themes]})
        con.execute(sa.text("INSERT INTO department_themes (dept, theme) VALUES (:dept, :theme) "
                            "ON CONFLICT DO NOTHING"), themes)
    if con.execute(sa.text("SELECT to_regclass('record_permissions')")).scalar():
        # the whole list is replaced: a right taken out of the file is taken away
        con.execute(sa.text("DELETE FROM record_permissions"))
        con.execute(sa.text("INSERT INTO record_permissions (account_kind, target, event_kind) "
                            "VALUES (:account_kind, :target, :event_kind)"),
                    record_permissions())
