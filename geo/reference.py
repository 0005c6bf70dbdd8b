"""Reference data: departments and the dispute classification list.

They are data a city edits (``data/reference/*.csv``), loaded into the
``departments`` and ``categories`` tables by :func:`load`; code reads the
tables, never hard-coded lists.
"""

from __future__ import annotations

import csv
import json
import tomllib
from typing import Any

import sqlalchemy as sa
from shapely.geometry import MultiPolygon, shape

from geo import crs, datafiles

DATA = datafiles.path("reference")


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


def kaili_outline() -> MultiPolygon:
    """Kaili City's outline in WGS84 (converted from the GCJ-02 reference file)."""
    with open(DATA / "kaili-522601-outline-gcj02.geojson", encoding="utf-8") as f:
        gj = json.load(f)
    geom = shape(gj if gj.get("type") != "Feature" else gj["geometry"])
    out = crs.transform_geometry(geom, "gcj02", "wgs84")
    return out if isinstance(out, MultiPolygon) else MultiPolygon([out])


def department_themes() -> list[dict[str, str]]:
    """Which department supervises which hazard theme city-wide (``department-themes.csv``)."""
    return _rows("department-themes.csv")


def record_permissions() -> list[dict[str, str]]:
    """Which kind of account may record which event (``record-permissions.csv``)."""
    return [{k: r[k] for k in ("account_kind", "target", "event_kind")}
            for r in _rows("record-permissions.csv")]


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
