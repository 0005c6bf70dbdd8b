"""Routing by the classification list: category, then (in SQL) departments, level and due time.

The category comes from the 问题类别 cell when it names one (by full name,
short name before the bracket, code, or a unique category whose name
contains it); otherwise from keyword hits in 诉求内容 (most hits wins, ties
to the earlier category); otherwise the default category of ``rules.toml``.
Lead department, co-departments, default level and time limit then come
from the ``categories`` table inside the set-based insert, and the
escalation rules of ``rules.toml`` raise the level there (:func:`level_sql`,
and :func:`repeat_sql` with :func:`raise_sql` for repeats).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from etl.intake.parse import per_unique
from etl.intake.spellings import norm, rules


class Classifier:
    """Category codes from names or from content keywords, over a categories table."""

    def __init__(self, categories: pd.DataFrame, default: str | None = None) -> None:
        """``categories`` has ``code``, ``name`` and ``keywords`` (list), in list order."""
        self.default = default or rules()["routing"]["default_category"]
        self.codes = list(categories["code"])
        pairs = list(zip(categories["name"], categories["code"], strict=True))
        self.full = {norm(n): c for n, c in pairs}
        self.full.update({norm(c): c for c in categories["code"]})
        self.short = {norm(re.split(r"[（(]", n)[0]): c for n, c in pairs}
        self.names = [(norm(n), c) for n, c in pairs]
        self.patterns = [
            (c, "|".join(re.escape(k) for k in kw))
            for c, kw in zip(categories["code"], categories["keywords"], strict=True)
            if kw is not None and len(kw) > 0
        ]

    def by_name(self, text: str) -> str | None:
        """The category a 问题类别 cell names, or ``None``."""
        key = norm(text)
        if not key:
            return None
        hit = self.full.get(key) or self.short.get(key)
        if hit:
            return hit
        if len(key) >= 2:
            found = [c for n, c in self.names if key in n]
            if len(found) == 1:
                return found[0]
        return None

    def by_keywords(self, content: pd.Series) -> pd.Series:
        """Category per content by keyword hits (``None`` when nothing matches)."""
        text = content.astype(str)
        which, uniq_index = pd.factorize(text, use_na_sentinel=False)
        uniq = pd.Series(uniq_index, dtype=str)
        hits = np.column_stack([uniq.str.count(p).to_numpy() for _, p in self.patterns]) \
            if self.patterns else np.zeros((len(uniq), 0))
        best = np.full(len(uniq), None, dtype=object)
        if hits.shape[1]:
            any_hit = hits.max(axis=1) > 0
            idx = hits.argmax(axis=1)  # first maximum: the earlier category wins ties
            codes = np.array([c for c, _ in self.patterns], dtype=object)
            best[any_hit] = codes[idx[any_hit]]
        return pd.Series(best[which], index=text.index, dtype=object)

    def classify(self, category: pd.Series, content: pd.Series) -> tuple[pd.Series, pd.Series]:
        """Category code and how it was found (``name``/``keywords``/``default``) per row."""
        text = category.astype(str)
        code = pd.Series(per_unique(text, self.by_name), index=text.index, dtype=object)
        by = pd.Series(None, index=text.index, dtype=object)
        by[code.notna()] = "name"
        rest = code.isna()
        if rest.any():
            kw = self.by_keywords(content[rest])
            code[rest] = kw
            by[rest & code.notna()] = "keywords"
            left = code.isna()
            code[left] = self.default
            by[left] = "default"
        return code, by


def literal(value: str) -> str:
    """``value`` as an SQL string literal (the rules' levels and channels go into SQL text;
    spellings.rules() admits only plain codes there, and this quotes them as SQL does)."""
    return "'" + str(value).replace("'", "''") + "'"


def rank_sql(expr: str, levels: list[str]) -> str:
    """SQL: the 1-based rank of the level ``expr`` among ``levels`` (NULL when unknown)."""
    return f"array_position(ARRAY[{', '.join(literal(x) for x in levels)}]::text[], {expr}::text)"


def _level_at(rank_expr: str, levels: list[str]) -> str:
    arr = f"(ARRAY[{', '.join(literal(x) for x in levels)}]::text[])"
    return f"{arr}[least({len(levels)}, {rank_expr})]"


def level_sql(default_level: str, channel: str, due: str, closed: str,
              as_of: str) -> tuple[str, str]:
    """SQL for the base level and its row-local escalations (channel floor, overdue).

    Returns ``(level_expr, escalations_expr)`` over the given SQL expressions.
    """
    esc: dict[str, Any] = rules()["escalation"]
    levels: list[str] = rules()["levels"]
    floors = esc.get("channel_floor", {})
    floor_case = "CASE " + " ".join(
        f"WHEN {channel} = {literal(ch)} THEN {rank_sql(literal(lv), levels)}"
        for ch, lv in floors.items()
    ) + " ELSE 1 END" if floors else "1"
    start = f"greatest({rank_sql(default_level, levels)}, {floor_case})"
    overdue = f"(coalesce({closed}, {as_of}) > {due})"
    raise_by = int(esc.get("overdue", {}).get("raise_by", 0))
    level = _level_at(f"{start} + CASE WHEN {overdue} THEN {raise_by} ELSE 0 END", levels)
    escalations = (
        f"array_remove(ARRAY[CASE WHEN {floor_case} > {rank_sql(default_level, levels)} "
        f"THEN 'channel_floor' END, CASE WHEN {raise_by} > 0 AND {overdue} THEN 'overdue' END]"
        f"::text[], NULL)"
    )
    return level, escalations


def raise_sql(level: str, hit: str) -> tuple[str, str]:
    """SQL raising ``level`` by the repeat rule when ``hit`` (an SQL boolean) holds.

    Returns ``(level_expr, rule_name_expr)``; the second is ``'repeat'`` or NULL.
    """
    rep = rules()["escalation"].get("repeat", {})
    levels: list[str] = rules()["levels"]
    raise_by = int(rep.get("raise_by", 0))
    cond = f"(coalesce({hit}, false) AND {raise_by} > 0)"
    return (_level_at(f"{rank_sql(level, levels)} + CASE WHEN {cond} THEN {raise_by} ELSE 0 END",
                      levels),
            f"CASE WHEN {cond} THEN 'repeat' END")


def repeat_sql(keys: str, target: str) -> tuple[str, dict[str, Any]]:
    """SQL creating temp table ``target`` (source_row, hit) for the rows of ``keys``.

    ``keys`` has ``source_row`` (unique), ``case_id`` (the stored case it
    re-imports, or a new id), ``compound_id``, ``category_code`` and
    ``received_at``. ``hit`` is true when the row is the ``min_count``-th or
    later case of its category in its compound within ``window_days`` (the rows
    of ``keys`` and the cases already stored both count; a stored case that
    ``keys`` re-imports counts once, as the row). Stored cases further than
    the window before the file's earliest row cannot count and are not read.
    Partitions compare codes bytewise (``COLLATE "C"``): grouping needs
    equality only, whatever the database's collation. Returns ``(sql, params)``.
    """
    rep = rules()["escalation"].get("repeat", {})
    sql = f"""
        CREATE TEMP TABLE {target} ON COMMIT DROP AS
        SELECT source_row, n >= :min_count AS hit FROM (
            SELECT u.*, count(*) OVER (
                PARTITION BY compound_id, category_code COLLATE "C" ORDER BY received_at
                RANGE BETWEEN make_interval(days => :window_days) PRECEDING AND CURRENT ROW) AS n
            FROM (
                SELECT source_row, compound_id, category_code, received_at
                FROM {keys} WHERE compound_id IS NOT NULL
                UNION ALL
                SELECT NULL, c.compound_id, c.category_code, c.received_at
                FROM cases c
                JOIN (SELECT DISTINCT compound_id, category_code FROM {keys}
                      WHERE compound_id IS NOT NULL) t
                  ON t.compound_id = c.compound_id AND t.category_code = c.category_code
                WHERE c.received_at >= (SELECT min(received_at) FROM {keys})
                                       - make_interval(days => :window_days)
                  AND NOT EXISTS (SELECT 1 FROM {keys} l WHERE l.case_id = c.id)
            ) u
        ) w WHERE source_row IS NOT NULL
    """
    return sql, {"min_count": int(rep.get("min_count", 10**9)),
                 "window_days": int(rep.get("window_days", 0))}
