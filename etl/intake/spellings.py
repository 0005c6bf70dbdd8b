"""The intake's data files: header aliases, value spellings and rules (``data/intake/``).

They are data a city edits; code only reads them. See ``docs/intake.md``.

A site keeps its own spellings outside the installed package: the setting
``intake_dir`` (``PROPMAP_INTAKE_DIR``) names a directory whose
``header-aliases.csv``, ``value-spellings.csv`` and ``rules.toml`` (any of
them) are merged over the shipped ones: a site row wins over a shipped row
with the same spelling, a site rule over the shipped rule of the same name.
Site files are checked when read (columns, known headers and values, rule
types); a bad one stops the import with a message naming the file.
"""

from __future__ import annotations

import csv
import functools
import re
import tomllib
import unicodedata
from pathlib import Path
from typing import Any

from geo import datafiles, settings
from geo._errors import InputFileError

DATA = datafiles.path("intake")
ALIASES = "header-aliases.csv"
SPELLINGS = "value-spellings.csv"
RULES = "rules.toml"
_COLUMNS = {ALIASES: ("kind", "canonical", "alias"), SPELLINGS: ("field", "spelling", "value")}
#: Values a status cell may map to besides the stored statuses: the case was voided.
VOIDED = "voided"


def norm(text: object) -> str:
    """Normalize a header or a value for lookup: NFKC, no spaces or ``*`` marks, lower case."""
    s = unicodedata.normalize("NFKC", str(text)).strip().lower()
    return s.replace(" ", "").replace("*", "").replace("\u3000", "")


def site_dir() -> Path | None:
    """The directory named by ``intake_dir``, or ``None`` when the setting is blank.

    Raises
    ------
    InputFileError
        The setting names no directory.
    """
    raw = str(settings.get("intake_dir") or "").strip()
    if not raw:
        return None
    path = Path(raw).expanduser()
    if not path.is_dir():
        raise InputFileError(f"设置 PROPMAP_INTAKE_DIR 指向的目录不存在：{path}。"
                             "请改为存放本地导入规则（header-aliases.csv 等）的目录，或留空")
    return path


def _stamp(directory: Path | None) -> tuple[str, tuple[int, ...]]:
    """Cache key of the site files: the directory and the files' modification times."""
    if directory is None:
        return "", ()
    return str(directory), tuple(
        (directory / n).stat().st_mtime_ns if (directory / n).is_file() else 0
        for n in (ALIASES, SPELLINGS, RULES))


def _csv(path: Path, name: str) -> list[dict[str, str]]:
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            rows = list(reader)
            fields = tuple(reader.fieldnames or ())
    except (UnicodeDecodeError, csv.Error, OSError) as exc:
        raise InputFileError(f"本地导入规则 {path} 无法读取（{type(exc).__name__}），"
                             "请保存为 UTF-8 编码的 CSV") from exc
    missing = [c for c in _COLUMNS[name] if c not in fields]
    if missing:
        raise InputFileError(f"本地导入规则 {path} 缺少列：{'、'.join(missing)}（应有列 "
                             f"{','.join(_COLUMNS[name])}）")
    return [{k: (v or "").strip() for k, v in r.items() if k is not None} for r in rows]


def _rows(name: str, stamp: tuple[str, tuple[int, ...]]) -> tuple[list[dict[str, str]],
                                                                  list[dict[str, str]]]:
    """(shipped rows, site rows) of a CSV table."""
    shipped = _csv(DATA / name, name)
    site = Path(stamp[0]) / name if stamp[0] else None
    return shipped, (_csv(site, name) if site is not None and site.is_file() else [])


def _lookup(name: str, stamp: tuple[str, tuple[int, ...]], group: str,
            what: str) -> dict[str, str]:
    """Normalized spelling → target for one ``group`` of table ``name``, site rows last.

    A site row must name a target the shipped table knows for that group
    (``what`` words it in the message).
    """
    key, target = _COLUMNS[name][1:] if name == SPELLINGS else ("alias", "canonical")
    head = _COLUMNS[name][0]
    shipped, site = _rows(name, stamp)
    known = {r[target] for r in shipped if r[head] == group}
    out: dict[str, str] = {}
    for r in shipped + site:
        if r[head] != group or not r[key]:
            continue
        if r[target] not in known:
            raise InputFileError(
                f"本地导入规则 {Path(stamp[0]) / name}：{group} 没有{what}“{r[target]}”，"
                f"可用：{'、'.join(sorted(known))}")
        out[norm(r[key])] = r[target]
    for t in known if name == ALIASES else ():  # a canonical header always means itself
        out[norm(t)] = t
    return out


@functools.cache
def _header_aliases(kind: str, stamp: tuple[str, tuple[int, ...]]) -> dict[str, str]:
    return _lookup(ALIASES, stamp, kind, "标准列名")


def header_aliases(kind: str = "cases") -> dict[str, str]:
    """Normalized header spelling → canonical header for files of ``kind`` (cases, compounds, ...).

    Canonical names map to themselves; the site's table (``intake_dir``) wins.
    """
    return _header_aliases(kind, _stamp(site_dir()))


@functools.cache
def _values(field: str, stamp: tuple[str, tuple[int, ...]]) -> dict[str, str]:
    return _lookup(SPELLINGS, stamp, field, "取值")


def values(field: str) -> dict[str, str]:
    """Normalized spelling → canonical value for ``field`` (status, satisfaction, channel, ...)."""
    return _values(field, _stamp(site_dir()))


def _toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        raise InputFileError(f"导入规则 {path} 无法读取（{exc}），请检查 TOML 语法") from exc


def _merge(base: dict[str, Any], over: dict[str, Any], where: str, path: Path) -> dict[str, Any]:
    """``over`` merged into a copy of ``base``; a value must keep its shipped type."""
    out = dict(base)
    for key, value in over.items():
        name = f"{where}.{key}" if where else key
        old = base.get(key)
        if isinstance(old, dict):
            if not isinstance(value, dict):
                raise InputFileError(f"本地导入规则 {path}：{name} 应为一节 [{name}]")
            out[key] = _merge(old, value, name, path)
            continue
        if old is not None and not _same_type(old, value):
            raise InputFileError(f"本地导入规则 {path}：{name} 应为 {_type_zh(old)}，"
                                 f"现为 {value!r}")
        out[key] = value
    return out


def _same_type(old: object, new: object) -> bool:
    if isinstance(old, bool) or isinstance(new, bool):
        return isinstance(old, bool) and isinstance(new, bool)
    if isinstance(old, int | float):
        return isinstance(new, int | float)
    if isinstance(old, list):
        return isinstance(new, list) and all(
            _same_type(old[0], v) for v in new) if old else isinstance(new, list)
    return isinstance(new, type(old))


def _type_zh(v: object) -> str:
    return {bool: "true/false", int: "数字", float: "数字", str: "文字", list: "列表"}.get(
        type(v), type(v).__name__)


@functools.cache
def _rules(stamp: tuple[str, tuple[int, ...]]) -> dict[str, Any]:
    shipped = _toml(DATA / RULES)
    site = Path(stamp[0]) / RULES if stamp[0] else None
    if site is None or not site.is_file():
        return shipped
    merged = _merge(shipped, _toml(site), "", site)
    # levels and channels become SQL text (etl.intake.routing): plain codes only
    floors = merged.get("escalation", {}).get("channel_floor", {})
    for name, code in [*(("levels", v) for v in merged.get("levels", [])),
                       *((f"escalation.channel_floor.{k}", v) for k, v in floors.items()),
                       *(("escalation.channel_floor", k) for k in floors)]:
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", str(code)):
            raise InputFileError(f"本地导入规则 {site}：{name} 应为小写字母、数字与下划线组成的"
                                 f"代码，现为 {code!r}")
    return merged


def rules() -> dict[str, Any]:
    """The rules in ``rules.toml`` (levels, escalation, plausibility, ...), site rules merged."""
    return _rules(_stamp(site_dir()))
