"""Repeats after closing (办结后再诉) and one complaint through several channels (一事多诉).

Two distortions of every count, corrected where the cases are stored:

- **Repeats**: a case closed on paper that comes back a week later is two
  successes in the closure rate. :func:`link_repeats` sets ``cases.repeat_of``
  to the earlier case of the same compound and category that was closed at most
  ``[repeat] window_days`` (``data/analysis.toml``) before the later one was
  received. One window-function pass over the compound's cases, in PostgreSQL.
- **Duplicates across channels**: a resident who calls 12345, writes to the
  mayor's mailbox and petitions about the same leak is three cases. Each case
  keeps its record; :func:`group_channels` gives the group the id of its first
  case (``cases.complaint_group``), and "distinct complaints" are the cases
  that are their group's first or in no group (:func:`geo.measures.is_distinct`).
  Candidates are found set-based in PostgreSQL: pairs from different channels
  (``cross_channel``) in the same compound, or outside compounds within
  ``nearby_m`` metres in the same street office, of the same theme of the
  classification list, received at most ``window_days`` apart. Only the
  candidate pairs' texts are compared (:func:`pair_similarity`): each loses its
  compound's name and aliases, its building numbers, the ``boilerplate`` stock
  phrases, punctuation and spaces; two texts naming different buildings are
  different complaints; otherwise ``rapidfuzz``'s partial ratio (0–100) decides,
  pairs at or above ``min_similarity`` are linked, and the connected components
  are the groups (a case stays only if it matches the group's first case).
  Word segmentation was measured on the labelled set's candidate pairs
  (``tests/duplicates.py``): jieba tokens with ``token_set_ratio`` gave pairwise
  precision 0.97 / recall 0.95 at 60, characters with ``partial_ratio`` 0.975 /
  0.91 at 70 (1.0 / 1.0 after the first-case rule) — no gain worth a dictionary
  load and 0.4 ms a text (0.6 M texts at 1,000,000 cases), so jieba is not used.
  A group never spans two compounds or street offices, so per-area sums of
  distinct complaints stay additive.

:func:`refresh` runs both, for the whole city (the demo) or for the compounds
and period of an import (:func:`refresh_for`).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from rapidfuzz import fuzz, process
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from geo import analysis_rules, bulk

#: The hotline: the channel that merges its own repeat calls.
HOTLINE = "12345"


# --- repeats -----------------------------------------------------------------------------

_REPEAT_SQL = """
CREATE TEMP TABLE _repeat_new ON COMMIT DROP AS
WITH ev AS (
    SELECT c.id, c.compound_id, c.category_code, c.received_at AS t, 0 AS kind
    FROM {source} c WHERE c.compound_id IS NOT NULL {scope} {receipts}
    UNION ALL
    SELECT c.id, c.compound_id, c.category_code, c.closed_at, 1
    FROM {source} c WHERE c.compound_id IS NOT NULL AND c.closed_at IS NOT NULL {scope} {closings}
), w AS (
    -- the latest closing before each receipt (receipts sort before closings at the same
    -- instant, so a case never follows its own closing), as [epoch, id]
    SELECT id, kind, t, max(CASE WHEN kind = 1 THEN ARRAY[extract(epoch FROM t), id] END)
        OVER (PARTITION BY compound_id, category_code ORDER BY t, kind
              ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS last_close
    FROM ev
)
SELECT id, last_close[2]::bigint AS repeat_of
FROM w WHERE kind = 0 AND last_close IS NOT NULL
  AND extract(epoch FROM t) - last_close[1] <= :window_s
"""


def _compound_scope(compound_ids: Sequence[int] | None, a: str = "c") -> str:
    if compound_ids is None:
        return ""
    return f"AND {a}.compound_id IN (SELECT unnest(CAST(:compounds AS int[])))"


_RECEIPTS = "AND c.received_at BETWEEN :r_from AND :r_to"
_CLOSINGS = ("AND c.closed_at BETWEEN CAST(:r_from AS timestamptz) "
             "- make_interval(secs => :window_s) AND :r_to")


def link_repeats(con: sa.Connection, *, compound_ids: Sequence[int] | None = None,
                 received: tuple[dt.datetime, dt.datetime] | None = None,
                 window_days: float | None = None, source: str = "cases",
                 write: bool = True) -> int:
    """Set ``cases.repeat_of`` for every case (or the cases of ``compound_ids``).

    Parameters
    ----------
    con
        Connection in a transaction; the temporary table is dropped at commit.
    compound_ids
        Only these compounds (an import's); ``None``: the whole city.
    received
        Only the cases received in this period (an import's, up to its last closing
        plus the window: the cases whose earlier closing it may have changed); the
        closings read reach one window further back.
    window_days
        Default ``[repeat] window_days`` of ``data/analysis.toml``.
    source, write
        The relation holding the cases (``cases``, or a bulk load's staging table
        with the same column names: ``id, compound_id, category_code,
        received_at, closed_at``); whether to write ``cases.repeat_of``. Either
        way the result is left in the temporary table ``_repeat_new(id,
        repeat_of)`` until commit (the demo inserts it with the cases instead of
        updating a million rows afterwards).

    Returns
    -------
    int
        The number of cases that are repeats (in the scope).
    """
    days = analysis_rules.section("repeat")["window_days"] if window_days is None else window_days
    params: dict[str, Any] = {"window_s": float(days) * 86400.0,
                              "compounds": list(compound_ids or [])}
    if received is not None:
        params.update(r_from=received[0], r_to=received[1])
    scope = _compound_scope(compound_ids)
    con.execute(sa.text("DROP TABLE IF EXISTS _repeat_new"))
    con.execute(sa.text(_REPEAT_SQL.format(
        scope=scope, source=source, receipts=_RECEIPTS if received else "",
        closings=_CLOSINGS if received else "")), params)
    con.execute(sa.text("CREATE UNIQUE INDEX ON _repeat_new (id)"))
    con.execute(sa.text("ANALYZE _repeat_new"))
    n = int(con.execute(sa.text("SELECT count(*) FROM _repeat_new")).scalar() or 0)
    if write:
        _apply(con, "repeat_of", _repeat_changes(con, compound_ids, received))
    return n


def _changes(con: sa.Connection, column: str, new: str, key: str, scope: str,
             params: dict[str, Any] | None = None, cases: str = "cases c") -> int:
    """``_{column}_change(id, value)``: the cases in ``scope`` whose ``column`` must change.

    ``new`` is the temporary table of new values (``id``, ``key``); cases in scope
    but not in it get NULL. Returns how many rows change.
    """
    con.execute(sa.text(f"DROP TABLE IF EXISTS _{column}_change"))
    con.execute(sa.text(f"""
        CREATE TEMP TABLE _{column}_change ON COMMIT DROP AS
        SELECT c.id, n.{key} AS value FROM {cases} LEFT JOIN {new} n ON n.id = c.id
        WHERE (c.{column} IS NOT NULL OR n.id IS NOT NULL) AND ({scope})
          AND c.{column} IS DISTINCT FROM n.{key}"""), params or {})
    return int(con.execute(sa.text(f"SELECT count(*) FROM _{column}_change")).scalar() or 0)


def _apply(con: sa.Connection, column: str, changed: int) -> None:
    """Write ``_{column}_change`` to ``cases``; no statement at all when nothing changes.

    (A statement-level trigger bumps the data version even for an UPDATE of no
    row: re-importing an unchanged file must leave the dashboard's caches valid.)
    """
    if changed:
        con.execute(sa.text(f"UPDATE cases c SET {column} = x.value "
                            f"FROM _{column}_change x WHERE c.id = x.id"))


def _repeat_changes(con: sa.Connection, compound_ids: Sequence[int] | None,
                    received: tuple[dt.datetime, dt.datetime] | None = None) -> int:
    scope = "TRUE" if compound_ids is None else (
        "c.compound_id IN (SELECT unnest(CAST(:compounds AS int[])))")
    params: dict[str, Any] = {"compounds": list(compound_ids or [])}
    if received is not None:
        scope += " AND c.received_at BETWEEN :r_from AND :r_to"
        params.update(r_from=received[0], r_to=received[1])
    return _changes(con, "repeat_of", "_repeat_new", "repeat_of", scope, params)


# --- one complaint, several channels ---------------------------------------------------------

@dataclass(frozen=True)
class GroupRules:
    """``[grouping]`` of ``data/analysis.toml``."""

    window_days: float
    nearby_m: float
    cross_channel: bool
    min_similarity: float
    building_pattern: str
    boilerplate: tuple[str, ...]

    @classmethod
    def load(cls, **override: Any) -> GroupRules:
        r = {**analysis_rules.section("grouping"), **override}
        return cls(float(r["window_days"]), float(r["nearby_m"]), bool(r["cross_channel"]),
                   float(r["min_similarity"]), str(r["building_pattern"]),
                   tuple(r["boilerplate"]))


_PUNCT = re.compile(r"[\s\u3000-\u303f\uff00-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
                    r"!-/:-@\[-`{-~]+")


def _alternation(phrases: Sequence[str]) -> re.Pattern[str] | None:
    return _alternation_of(tuple(phrases))


@functools.lru_cache(maxsize=4096)
def _alternation_of(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    """One regex matching any of ``phrases``, longest first (compiled once per compound)."""
    unique = sorted({p for p in phrases if p}, key=len, reverse=True)
    return re.compile("|".join(re.escape(p) for p in unique)) if unique else None


def normalise(texts: Sequence[str | None], rules: GroupRules,
              places: Sequence[Sequence[str]] | None = None) -> list[tuple[str, frozenset[str]]]:
    """Each text as (what it says, building numbers it names).

    What it says: the text without its ``places`` (the compound's name and
    aliases, longest first), building numbers, boilerplate, punctuation and spaces.
    """
    stock = _alternation(rules.boilerplate)
    building = re.compile(rules.building_pattern)
    out = []
    for i, t in enumerate(texts):
        s = t or ""
        if places is not None and (names := _alternation(places[i])) is not None:
            s = names.sub("", s)
        numbers = frozenset(building.findall(s))
        s = building.sub("", s)
        if stock is not None:
            s = stock.sub("", s)
        out.append((_PUNCT.sub("", s), numbers))
    return out


def pair_similarity(a: Sequence[tuple[str, frozenset[str]]],
                    b: Sequence[tuple[str, frozenset[str]]]) -> npt.NDArray[np.float64]:
    """Similarity (0–100) of aligned normalised texts: 0 when they name different buildings."""
    if not len(a):
        return np.zeros(0)
    score = np.asarray(process.cpdist([x[0] for x in a], [y[0] for y in b],
                                      scorer=fuzz.partial_ratio, workers=-1), dtype=float)
    apart = np.fromiter(((bool(x[1]) and bool(y[1]) and not (x[1] & y[1]))
                         for x, y in zip(a, b, strict=True)), dtype=bool, count=len(a))
    return np.where(apart, 0.0, score)


def components(n: int, left: npt.ArrayLike, right: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Connected-component label of each of ``n`` nodes given edges ``left``–``right``."""
    left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
    graph = coo_matrix((np.ones(len(left)), (left, right)), shape=(n, n))
    _k, labels = connected_components(graph, directed=False)
    return labels.astype(np.int64)


def first_of_groups(ids: npt.ArrayLike, order: npt.ArrayLike, left: npt.ArrayLike,
                    right: npt.ArrayLike) -> dict[int, int]:
    """Group of each linked case: ``{case id: id of its group's first case}``.

    ``ids`` and ``order`` (a sortable receipt time) describe the cases; ``left``
    and ``right`` index into them for each accepted pair. Linked cases form
    connected components; a component's first case is its earliest received (ties:
    the smaller id), and a case stays in the group only if it matches that first
    case itself: a chain A–B–C where C resembles B but not A (another issue that
    shares a detail with B's wording) must not pull C into A's complaint. Cases in
    no pair, and groups left with one case, are left out.
    """
    ids = np.asarray(ids, dtype=np.int64)
    order = np.asarray(order)
    left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
    if not len(left):
        return {}
    labels = components(len(ids), left, right)
    members = np.unique(np.concatenate([left, right]))
    rank = np.lexsort((ids[members], order[members], labels[members]))
    sorted_members = members[rank]
    lab = labels[sorted_members]
    first_pos = np.r_[0, np.flatnonzero(np.diff(lab)) + 1]
    first_of = dict(zip(lab[first_pos].tolist(), sorted_members[first_pos].tolist(),
                        strict=True))
    edges = set(zip(np.minimum(left, right).tolist(), np.maximum(left, right).tolist(),
                    strict=True))
    out: dict[int, int] = {}
    for m in sorted_members.tolist():
        f = first_of[int(labels[m])]
        if m == f or (min(m, f), max(m, f)) in edges:
            out[int(ids[m])] = int(ids[f])
    size: dict[int, int] = {}
    for g in out.values():
        size[g] = size.get(g, 0) + 1
    return {i: g for i, g in out.items() if size[g] > 1}


_CANDIDATES_SQL = """
CREATE TEMP TABLE _gcand_s ON COMMIT DROP AS
SELECT c.id, c.compound_id, c.street_code, c.channel, c.received_at, k.theme,
       floor(extract(epoch FROM c.received_at) / :window_s)::bigint AS b,
       substring(c.content FROM :building) AS bld,
       CASE WHEN c.compound_id IS NULL THEN c.geom END AS geom,
       CASE WHEN c.compound_id IS NULL THEN floor(ST_X(c.geom) / :cell)::bigint END AS gx,
       CASE WHEN c.compound_id IS NULL THEN floor(ST_Y(c.geom) / :cell)::bigint END AS gy
FROM {cases} JOIN categories k ON k.code = c.category_code
WHERE c.compound_id IS NOT NULL OR (c.geom IS NOT NULL AND c.street_code IS NOT NULL)
"""
#: Pairs in a compound: the same building, or one of the two names none. Drivers ``x`` are
#: expanded to the neighbouring time buckets (bucket = one window), so any two cases at
#: most one window apart meet on an equality hash join.
_COMPOUND_PAIRS_SQL = """
WITH x AS (
    SELECT s.*, s.b + d AS jb FROM _gcand_s s CROSS JOIN generate_series(-1, 1) d
    WHERE s.compound_id IS NOT NULL AND {driver}
)
SELECT x.id, y.id FROM x JOIN _gcand_s y
  ON y.compound_id = x.compound_id AND y.theme = x.theme AND y.b = x.jb AND y.bld = x.bld
WHERE {pair} AND abs(extract(epoch FROM y.received_at - x.received_at)) <= :window_s
UNION ALL
SELECT x.id, y.id FROM (SELECT * FROM x WHERE bld IS NULL) x JOIN _gcand_s y
  ON y.compound_id = x.compound_id AND y.theme = x.theme AND y.b = x.jb
WHERE {pair} AND abs(extract(epoch FROM y.received_at - x.received_at)) <= :window_s
UNION ALL
SELECT x.id, y.id FROM (SELECT * FROM x WHERE bld IS NOT NULL) x
JOIN (SELECT * FROM _gcand_s WHERE bld IS NULL) y
  ON y.compound_id = x.compound_id AND y.theme = x.theme AND y.b = x.jb
WHERE {pair} AND abs(extract(epoch FROM y.received_at - x.received_at)) <= :window_s
"""
#: Pairs outside compounds: the same street office, grid cells of ``nearby_m`` (the 3 × 3
#: around the driver), then the exact distance on the spheroid.
_LOOSE_PAIRS_SQL = """
WITH x AS (
    SELECT s.*, s.b + d AS jb, s.gx + dx AS jx, s.gy + dy AS jy
    FROM _gcand_s s CROSS JOIN generate_series(-1, 1) d CROSS JOIN generate_series(-1, 1) dx
         CROSS JOIN generate_series(-1, 1) dy
    WHERE s.compound_id IS NULL AND {driver}
)
SELECT x.id, y.id FROM x JOIN _gcand_s y
  ON y.street_code = x.street_code AND y.theme = x.theme AND y.b = x.jb AND y.gx = x.jx
     AND y.gy = x.jy
WHERE y.compound_id IS NULL AND {pair}
  AND abs(extract(epoch FROM y.received_at - x.received_at)) <= :window_s
  AND ST_DWithin(x.geom::geography, y.geom::geography, :nearby_m)
"""


@dataclass
class GroupingResult:
    """What :func:`group_channels` found: counts and how long each step took."""

    cases: int = 0
    candidates: int = 0
    linked_pairs: int = 0
    groups: int = 0
    grouped_cases: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def _cases_in_scope(scoped: bool, source: str = "cases") -> str:
    """FROM item ``c``: the cases to regroup (those listed in ``_gscope``, or all)."""
    return f"_gscope g JOIN {source} c ON c.id = g.id" if scoped else f"{source} c"


def candidate_pairs(con: sa.Connection, rules: GroupRules, *, scoped: bool = False,
                    source: str = "cases") -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Candidate pairs (case ids ``a``, ``b``), each pair once, from PostgreSQL.

    The pairs stay in the temporary table ``_gpairs(a, b)`` until commit.
    """
    if rules.cross_channel:
        driver = f"s.channel <> '{HOTLINE}'"
        pair = f"y.channel <> x.channel AND (y.channel = '{HOTLINE}' OR x.id < y.id)"
    else:
        driver, pair = "TRUE", "x.id < y.id"
    params = {"window_s": rules.window_days * 86400.0, "nearby_m": rules.nearby_m,
              "building": rules.building_pattern,
              # a cell at least nearby_m wide in both directions at Kaili's latitude
              "cell": rules.nearby_m / 99_000.0}
    con.execute(sa.text("DROP TABLE IF EXISTS _gcand_s"))
    # Equality hash joins in memory: the planner's row estimates for these self-joins are
    # far off and it would sort a million rows twice for merge joins (14 s against 2 s).
    con.execute(sa.text("SET LOCAL work_mem = '256MB'"))
    con.execute(sa.text("SET LOCAL enable_mergejoin = off"))
    con.execute(sa.text(_CANDIDATES_SQL.format(cases=_cases_in_scope(scoped, source))), params)
    con.execute(sa.text("ANALYZE _gcand_s"))
    con.execute(sa.text("DROP TABLE IF EXISTS _gpairs"))
    con.execute(sa.text("CREATE TEMP TABLE _gpairs (a bigint, b bigint) ON COMMIT DROP"))
    for sql in (_COMPOUND_PAIRS_SQL, _LOOSE_PAIRS_SQL):
        con.execute(sa.text("INSERT INTO _gpairs " + sql.format(driver=driver, pair=pair)),
                    params)
    # Two arrays in one row: numpy on a million Row objects took 4.5 s, arrays 0.1 s.
    left, right = con.execute(sa.text("SELECT array_agg(a), array_agg(b) FROM _gpairs")).one()
    con.execute(sa.text("DROP TABLE _gcand_s"))
    con.execute(sa.text("RESET enable_mergejoin"))
    con.execute(sa.text("RESET work_mem"))
    return np.asarray(left or [], dtype=np.int64), np.asarray(right or [], dtype=np.int64)


def group_channels(con: sa.Connection, *, rules: GroupRules | None = None,
                   scoped: bool = False, source: str = "cases",
                   write: bool = True) -> GroupingResult:
    """Set ``cases.complaint_group`` for every case (or those in temp table ``_gscope``).

    Parameters
    ----------
    con
        Connection in a transaction.
    rules
        Default: ``[grouping]`` of ``data/analysis.toml``.
    scoped
        Regroup only the cases listed in the temporary table ``_gscope(id)``
        (:func:`refresh` builds it); otherwise every case.
    source, write
        As for :func:`link_repeats` (columns ``id, compound_id, street_code,
        channel, category_code, received_at, content, geom``); the groups are left
        in the temporary table ``_grp(id, grp)`` until commit.
    """
    rules = rules or GroupRules.load()
    res = GroupingResult()
    t0 = time.perf_counter()
    a, b = candidate_pairs(con, rules, scoped=scoped, source=source)
    res.candidates = len(a)
    res.seconds["candidates"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ids = np.unique(np.concatenate([a, b]))
    # The texts of the cases in a pair, read through the pairs table (a bound array of
    # 400,000 ids costs 0.6 s to send, and a bound = ANY(array) is not hashed).
    texts = con.execute(sa.text(
        "SELECT c.id, extract(epoch FROM c.received_at), c.content, c.compound_id "
        "FROM (SELECT a AS id FROM _gpairs UNION SELECT b FROM _gpairs) i "
        f"JOIN {source} c ON c.id = i.id ORDER BY c.id")).fetchall()
    # Names and aliases per compound, once (as arrays per case they cost 1 s at 1M cases).
    names: dict[int | None, list[str]] = {None: []}
    for cid, name, aliases in con.execute(sa.text(
            "SELECT id, name, aliases FROM compounds")):
        names[cid] = [*(aliases or []), name]
    order = np.array([float(r[1]) for r in texts])
    norm = normalise([r[2] for r in texts], rules, [names.get(r[3], []) for r in texts])
    li, ri = np.searchsorted(ids, a), np.searchsorted(ids, b)
    score = pair_similarity([norm[i] for i in li], [norm[i] for i in ri])
    ok = score >= rules.min_similarity
    res.linked_pairs = int(ok.sum())
    groups = first_of_groups(ids, order, li[ok], ri[ok])
    res.grouped_cases = len(groups)
    res.groups = len(set(groups.values()))
    res.seconds["similarity"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    con.execute(sa.text("DROP TABLE IF EXISTS _grp"))
    con.execute(sa.text(
        "CREATE TEMP TABLE _grp ON COMMIT DROP AS "
        "SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:grp AS bigint[])) AS g(id, grp)"),
        {"ids": list(groups), "grp": list(groups.values())})
    con.execute(sa.text("CREATE UNIQUE INDEX ON _grp (id)"))
    con.execute(sa.text("ANALYZE _grp"))
    if write:
        _apply_groups(con, scoped)
    res.seconds["write"] = time.perf_counter() - t0
    return res


def _group_changes(con: sa.Connection, scoped: bool) -> int:
    return _changes(con, "complaint_group", "_grp", "grp", "TRUE",
                    cases=_cases_in_scope(scoped))


def _apply_groups(con: sa.Connection, scoped: bool) -> None:
    """``_grp`` → ``cases.complaint_group`` (only the rows that change)."""
    _apply(con, "complaint_group", _group_changes(con, scoped))


# --- both, for the city or for an import ------------------------------------------------------

_SCOPE_SQL = """
CREATE TEMP TABLE _gscope ON COMMIT DROP AS
SELECT c.id FROM cases c
WHERE (c.compound_id IN (SELECT unnest(CAST(:compounds AS int[])))
       OR (c.compound_id IS NULL AND c.street_code IN (SELECT unnest(CAST(:streets AS text[])))))
  AND c.received_at >= CAST(:start AS timestamptz) - make_interval(secs => 2 * :window_s)
  AND c.received_at <= CAST(:end AS timestamptz) + make_interval(secs => 2 * :window_s)
"""
#: Whole groups: a group touching the scope is regrouped whole.
_SCOPE_GROUPS_SQL = """
INSERT INTO _gscope
SELECT c.id
FROM (SELECT DISTINCT x.complaint_group FROM _gscope s JOIN cases x ON x.id = s.id
      WHERE x.complaint_group IS NOT NULL) g
JOIN cases c ON c.complaint_group = g.complaint_group
WHERE NOT EXISTS (SELECT 1 FROM _gscope s WHERE s.id = c.id)
"""


@dataclass
class RefreshResult:
    """Repeats and grouping after :func:`refresh`."""

    repeats: int
    grouping: GroupingResult
    seconds: dict[str, float]


def refresh(con: sa.Connection, *, compound_ids: Sequence[int] | None = None,
            streets: Sequence[str] = (), start: dt.datetime | None = None,
            end: dt.datetime | None = None,
            last_closed: dt.datetime | None = None) -> RefreshResult:
    """Recompute repeats and multi-channel groups, city-wide or for part of it.

    Parameters
    ----------
    compound_ids
        ``None``: the whole city. Otherwise the compounds whose cases changed; with
        ``streets`` (street offices of changed cases outside compounds) and the
        period ``start``–``end`` of the changed cases. Groups are recomputed for
        those compounds' cases received within two grouping windows of the period,
        plus every case of a group that touches them.
    last_closed
        The latest closing among the changed cases: repeats are recomputed for the
        cases received from ``start`` to a repeat window after it (or after ``end``).
    """
    rules = GroupRules.load()
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    received = None
    if compound_ids is not None and start is not None and end is not None:
        window = dt.timedelta(days=float(analysis_rules.section("repeat")["window_days"]))
        received = (start, max(end, last_closed or end) + window)
    repeats = link_repeats(con, compound_ids=compound_ids, received=received, write=False)
    seconds["repeats"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    scoped = compound_ids is not None
    if scoped:
        con.execute(sa.text("DROP TABLE IF EXISTS _gscope"))
        con.execute(sa.text(_SCOPE_SQL), {
            "compounds": list(compound_ids or []), "streets": list(streets),
            "start": start or dt.datetime(1900, 1, 1, tzinfo=dt.UTC),
            "end": end or dt.datetime(2200, 1, 1, tzinfo=dt.UTC),
            "window_s": rules.window_days * 86400.0})
        con.execute(sa.text("CREATE INDEX ON _gscope (id)"))
        con.execute(sa.text("ANALYZE _gscope"))
        con.execute(sa.text(_SCOPE_GROUPS_SQL))
        con.execute(sa.text("ANALYZE _gscope"))
    grouping = group_channels(con, rules=rules, scoped=scoped, write=False)
    seconds["grouping"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    # A large import rewrites many rows: maintaining every index row by row then costs
    # more than rebuilding them (geo.bulk); a small one updates in place.
    changed = (_repeat_changes(con, compound_ids, received), _group_changes(con, scoped))
    with bulk.suspended_constraints(con, "cases", bulk.worth_it(con, "cases", sum(changed))):
        _apply(con, "repeat_of", changed[0])
        _apply(con, "complaint_group", changed[1])
    seconds["write"] = time.perf_counter() - t0
    return RefreshResult(repeats, grouping, seconds)


def compute(con: sa.Connection, source: str) -> RefreshResult:
    """Repeats and groups of the cases in ``source``, left in ``_repeat_new`` and ``_grp``.

    For a bulk load (the demo): the cases are still in a staging table with the
    columns of ``cases``; inserting them with these two results costs nothing,
    where updating a million stored rows afterwards would cost minutes.
    """
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    repeats = link_repeats(con, source=source, write=False)
    seconds["repeats"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    grouping = group_channels(con, source=source, write=False)
    seconds["grouping"] = time.perf_counter() - t0
    return RefreshResult(repeats, grouping, seconds)


def refresh_for(con: sa.Connection, case_ids_sql: str) -> RefreshResult:
    """:func:`refresh` for the compounds, street offices and period of some cases.

    ``case_ids_sql`` selects the ids of the cases an import wrote or saw (for
    example ``SELECT case_id FROM _keys``).
    """
    row = con.execute(sa.text(f"""
        SELECT array_agg(DISTINCT c.compound_id) FILTER (WHERE c.compound_id IS NOT NULL),
               array_agg(DISTINCT c.street_code) FILTER (WHERE c.compound_id IS NULL
                                                         AND c.street_code IS NOT NULL),
               min(c.received_at), max(c.received_at), max(c.closed_at)
        FROM cases c WHERE c.id IN ({case_ids_sql})""")).one()
    return refresh(con, compound_ids=list(row[0] or []), streets=list(row[1] or []),
                   start=row[2], end=row[3], last_closed=row[4])
