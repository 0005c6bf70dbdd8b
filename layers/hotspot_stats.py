"""Significant and emerging hot spots per theme: counted in PostGIS, tested in layers.analysis.

The same approach as the heat and hotspot layers (:mod:`layers.heat`): cases at
a compound are counted per compound by the shared facts and placed at the
compound's point on surface; cases outside compounds are counted in PostGIS
per small square cell; both are summed into H3 hexagons in Python. No case
point leaves the database.

**The analysed area** (建成区) is every H3 cell holding a compound or a located
case of the analysed themes, plus ``[gistar] ring`` rings around them
(``data/analysis.toml``). Only the theme's own cases mark the area beyond the
compounds, so everyone who reads every case of a theme (a leader, the fire
brigade for fire) analyses the same cells and gets the same hot spots. Cells
with no case in it count as zeros: a quiet inhabited neighbourhood is
evidence, and without its zeros every inhabited cell would look hot. Farmland
and forest far from housing stay out: a zero there says nothing about
disputes, and thousands of such zeros would make every inhabited cell a hot
spot. The area is the whole city's, whatever street office is in view: Gi*
compares a neighbourhood with the study area, and a street office's hot spot
is one against the city, not against itself. Filters' area (``street``) only
selects which cells are returned.

**Normalised** (``per_households=True``): the analysed value is cases per
1,000 households of the compounds in the cell, over the cells that have
households (cells without housing have no rate and are left out).

**Scope.** Everything here reads the cases, compounds and hazards through the
caller's connection, so under an account's scope (:mod:`geo.scope`) row-level
security decides which cases are counted: a department (fire brigade, police)
reads every case of its themes in the city and gets the city's hot spots of its
themes; a street office reads its own area, which is then its study area.

Results are memoised per database, data version, scope, filters and options,
like :mod:`layers.facts`: the first call at 1,000,000 cases pays for the count
and the permutations, the next ones are free until the data change.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import h3
import numpy as np
import pandas as pd
import sqlalchemy as sa
from libpysal.weights import W

from geo import analysis_rules, measures
from layers import facts
from layers.analysis import emerging, gistar
from layers.base import LayerData, collection, frame
from layers.filters import CATEGORY_THEMES, Filters
from layers.heat import GRID_DEG, LOOSE_GRID_SQL, grid_counts, hexagon_feature
from layers.html import escape_properties

#: Themes of the analysis and the dispute-category themes (``categories.theme``) in each;
#: ``all`` is every dispute.
THEMES: dict[str, tuple[str, ...]] = {
    "fire": ("fire",), "elevator": ("elevator",), "security": ("security",), "all": (),
}
THEME_LABELS = {"fire": "消防安全", "elevator": "电梯安全", "security": "治安与噪声",
                "all": "全部诉求"}
#: Hazard themes (``hazards.theme``) that go with each analysis theme.
HAZARD_THEMES: dict[str, tuple[str, ...]] = {
    "fire": ("fire",), "elevator": ("elevator",), "security": ("security",),
    "all": ("fire", "elevator", "security"),
}

T = TypeVar("T")
_MEMO: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_LOCK = threading.Lock()
MEMO_SIZE = 64


def _memo(con: sa.Connection, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """``compute()`` memoised per database URL, data version, scope and ``key``."""
    full = (*facts.memo_base(con), *key)
    with _LOCK:
        if full in _MEMO:
            _MEMO.move_to_end(full)
            return _MEMO[full]  # type: ignore[no-any-return]
    value = compute()
    with _LOCK:
        _MEMO[full] = value
        while len(_MEMO) > MEMO_SIZE:
            _MEMO.popitem(last=False)
    return value


def clear() -> None:
    """Forget every memoised result (tests, benchmarks)."""
    with _LOCK:
        _MEMO.clear()


def themed(f: Filters, theme: str) -> Filters:
    """``f`` for ``theme`` over the whole city (the study area; see the module docstring).

    ``all`` keeps ``f``'s own theme filter (every dispute when it names none), so a
    map layer follows the filters of the page it is on. ``f.distinct`` is dropped:
    the functions here take ``distinct`` as an argument and count both.
    """
    if theme not in THEMES:
        raise ValueError(f"unknown theme {theme!r}; one of {', '.join(THEMES)}")
    return f.with_(themes=THEMES[theme] or f.themes, street=None, community_id=None,
                   distinct=False)


# --- the grid ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Grid:
    """The analysed H3 cells, their weights, and what lies in each."""

    resolution: int
    cells: list[str]
    index: dict[str, int]
    w: W
    households: np.ndarray
    compounds: list[list[str]]
    """Names of the compounds in each cell (at their point on surface)."""
    streets: list[list[str]]
    """Street office codes of the compounds in each cell (or of the cell's centre)."""
    compound_cell: dict[int, int]
    """Compound id → index of its cell."""


_COMPOUNDS_SQL = """
SELECT x.id, x.name, x.street_code, coalesce(x.households, 0) AS households,
       ST_X(p) AS lon, ST_Y(p) AS lat
FROM compounds x CROSS JOIN LATERAL ST_PointOnSurface(x.geom) p
"""
_CELL_STREET_SQL = """
SELECT i, p.street_code FROM unnest(CAST(:lon AS float8[]), CAST(:lat AS float8[]))
     WITH ORDINALITY AS u(lon, lat, i)
JOIN street_parts p ON ST_Intersects(p.geom, ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326))
"""


def _build_grid(con: sa.Connection, themes: tuple[str, ...]) -> Grid:
    rules = analysis_rules.section("gistar")
    res, k, ring = int(rules["resolution"]), int(rules["k"]), int(rules["ring"])
    comp = frame(con, _COMPOUNDS_SQL)
    # every located case of the themes, whenever received: the area does not move with
    # the period, and only the themes' cases (which a department reads whole) mark it
    any_time = Filters(start=dt.date.min, end=dt.date.min, as_of=dt.date.min, themes=themes)
    loose = grid_counts(con, LOOSE_GRID_SQL.format(where=any_time.case_where("c", period=False)),
                        any_time.params(), GRID_DEG[res])
    seeds: set[str] = set()
    comp_cells = [h3.latlng_to_cell(float(la), float(lo), res)
                  for lo, la in zip(comp["lon"], comp["lat"], strict=True)]
    seeds.update(comp_cells)
    seeds.update(h3.latlng_to_cell(float(la), float(lo), res)
                 for lo, la in zip(loose["lon"], loose["lat"], strict=True))
    area: set[str] = set()
    for c in seeds:
        area.update(h3.grid_disk(c, ring))
    cells = sorted(area)
    index = {c: i for i, c in enumerate(cells)}
    households = np.zeros(len(cells))
    names: list[list[str]] = [[] for _ in cells]
    streets: list[set[str]] = [set() for _ in cells]
    compound_cell: dict[int, int] = {}
    for cid, name, street, hh, cell in zip(comp["id"], comp["name"], comp["street_code"],
                                           comp["households"], comp_cells, strict=True):
        i = index[cell]
        households[i] += float(hh)
        names[i].append(str(name))
        if street:
            streets[i].add(str(street))
        compound_cell[int(cid)] = i
    centres = [h3.cell_to_latlng(c) for c in cells]
    if cells:
        for i, code in con.execute(sa.text(_CELL_STREET_SQL), {
                "lon": [c[1] for c in centres], "lat": [c[0] for c in centres]}):
            streets[int(i) - 1].add(str(code))
    return Grid(res, cells, index, gistar.h3_weights(cells, k), households,
                [sorted(n) for n in names], [sorted(s) for s in streets], compound_cell)


def grid(con: sa.Connection, themes: tuple[str, ...] = ()) -> Grid:
    """The analysed area for the dispute themes ``themes`` (all when empty), memoised."""
    themes = tuple(sorted(themes))
    return _memo(con, ("grid", themes), lambda: _build_grid(con, themes))


def _grid_of(con: sa.Connection, f: Filters, theme: str) -> Grid:
    return grid(con, themed(f, theme).themes)


def _cell_counts(con: sa.Connection, g: Grid, f: Filters) -> tuple[np.ndarray, np.ndarray]:
    """Cases and distinct complaints matching ``f`` per analysed cell.

    Compounds' counts come from the shared facts (one pass gives both: ``received`` and
    ``distinct``), cases outside compounds from the grid of loose cases.
    """
    f = f.with_(distinct=False)
    y = np.zeros((2, len(g.cells)))
    by = facts.by(con, f, "compound_id")
    for cid, n, d in zip(by["compound_id"], by["received"], by["distinct"], strict=True):
        i = g.compound_cell.get(int(cid))
        if i is not None:
            y[0, i] += int(n)
            y[1, i] += int(d)
    for row, ff in ((0, f), (1, f.with_(distinct=True))):
        loose = grid_counts(con, LOOSE_GRID_SQL.format(where=ff.case_where("c")), ff.params(),
                            GRID_DEG[g.resolution])
        for lon, lat, n in zip(loose["lon"], loose["lat"], loose["n"], strict=True):
            i = g.index.get(h3.latlng_to_cell(float(lat), float(lon), g.resolution))
            if i is not None:
                y[row, i] += int(n)
    return y[0], y[1]


# --- Gi* -----------------------------------------------------------------------------------

def _in_area(g: Grid, f: Filters) -> np.ndarray:
    if not f.street:
        return np.ones(len(g.cells), dtype=bool)
    return np.array([f.street in s for s in g.streets], dtype=bool)


def _gistar(con: sa.Connection, f: Filters, theme: str, distinct: bool,
            per_households: bool) -> pd.DataFrame:
    rules = analysis_rules.section("gistar")
    g = _grid_of(con, f, theme)
    cases, uniq = _cell_counts(con, g, themed(f, theme))
    value = uniq if distinct else cases
    keep = np.ones(len(g.cells), dtype=bool)
    w = g.w
    if per_households:
        keep = g.households > 0
        value = np.where(keep, 1000.0 * value / np.where(keep, g.households, 1.0), np.nan)
        cells = [c for c, k in zip(g.cells, keep, strict=True) if k]
        w = gistar.h3_weights(cells, int(rules["k"]))
    res = gistar.gi_star(value[keep], w, permutations=int(rules["permutations"]),
                         seed=int(rules["seed"]))
    full = {name: np.full(len(g.cells), np.nan) for name in ("z", "z_sim", "p_sim", "p", "q")}
    bins = np.zeros(len(g.cells), dtype=np.int64)
    for name in full:
        full[name][keep] = getattr(res, name)
    bins[keep] = res.bin
    lat_lon = [h3.cell_to_latlng(c) for c in g.cells]
    df = pd.DataFrame({
        "cell": g.cells, "lon": [p[1] for p in lat_lon], "lat": [p[0] for p in lat_lon],
        "cases": cases.astype(int), "distinct": uniq.astype(int),
        "households": g.households.astype(int), "value": value, **full, "bin": bins,
        "class": [gistar.BY_BIN[int(b)].key for b in bins],
        "class_label": [gistar.BY_BIN[int(b)].label for b in bins],
        "compounds": ["、".join(n) for n in g.compounds],
        "streets": [",".join(s) for s in g.streets],
    })
    df.loc[~keep, "class_label"] = "不参与（无住户）"
    return df


def gistar_cells(con: sa.Connection, f: Filters, theme: str, *, distinct: bool = True,
                 per_households: bool = False) -> pd.DataFrame:
    """Gi* hot and cold spots of ``theme`` per H3 cell, for ``f``'s period and kinds of case.

    Parameters
    ----------
    con
        Connection.
    f
        Filters: period, categories, channels, statuses narrow the cases; the
        area (``street``) selects the cells returned (the statistic is city-wide).
    theme
        ``fire``, ``elevator``, ``security`` or ``all``.
    distinct
        Analyse distinct complaints (default, one complaint through several
        channels counts once) instead of cases.
    per_households
        Analyse cases per 1,000 households instead of counts.

    Returns
    -------
    DataFrame
        One row per cell: ``cell`` (H3 id), ``lon``/``lat`` (centre), ``cases``,
        ``distinct``, ``households``, ``value`` (what was analysed), ``z``
        (GiZScore), ``z_sim``, ``p_sim``, ``p``, ``q`` (FDR), ``bin`` (ArcGIS
        Gi_Bin), ``class`` and ``class_label`` (:data:`gistar.CLASSES`),
        ``compounds`` (names), ``streets`` (codes).
    """
    key = ("gistar", themed(f, theme), theme, distinct, per_households)
    df: pd.DataFrame = _memo(con, key, lambda: _gistar(con, f, theme, distinct, per_households))
    return df[_in_area(_grid_of(con, f, theme), f)].reset_index(drop=True)


# --- emerging hot spots -----------------------------------------------------------------------

_CUBE_SQL = """
SELECT c.compound_id,
       CASE WHEN c.compound_id IS NULL THEN round(ST_X(c.geom) / :g)::bigint END AS gx,
       CASE WHEN c.compound_id IS NULL THEN round(ST_Y(c.geom) / :g)::bigint END AS gy,
       {step} AS t, count(*) AS n
FROM cases c
WHERE {where} AND (c.compound_id IS NOT NULL OR c.geom IS NOT NULL)
GROUP BY 1, 2, 3, 4
"""
#: Time steps aligned to the end of the period (ArcGIS's "end time" alignment): step 0 is
#: the week (or month) that ends with the last day.
_WEEK_STEP = "floor((extract(epoch FROM CAST(:f_end AS timestamptz)) " \
             "- extract(epoch FROM c.received_at)) / 604800)::int"
_MONTH_STEP = ("((extract(year FROM CAST(:f_end_day AS date)) * 12 "
               "+ extract(month FROM CAST(:f_end_day AS date)))"
               " - (extract(year FROM c.received_at) * 12 + extract(month FROM c.received_at))"
               ")::int")


def steps(f: Filters, step: str) -> int:
    """Number of whole time steps in ``f``'s period (a partial first week is left out)."""
    days = (f.end - f.start).days + 1
    if step == "week":
        return days // 7
    if step == "month":
        return (f.end.year * 12 + f.end.month) - (f.start.year * 12 + f.start.month) + 1
    raise ValueError(f"unknown step {step!r}: week or month")


def cube_counts(con: sa.Connection, f: Filters, theme: str, step: str = "week",
                distinct: bool = True) -> np.ndarray:
    """The space-time cube: cases of ``theme`` per analysed cell (rows) and time step."""
    g = _grid_of(con, f, theme)
    n_steps = steps(f, step)
    ff = themed(f, theme).with_(distinct=distinct)
    sql = _CUBE_SQL.format(step=_WEEK_STEP if step == "week" else _MONTH_STEP,
                           where=ff.case_where("c"))
    deg = GRID_DEG[g.resolution]
    df = frame(con, sql, {**ff.params(), "g": deg, "f_end_day": ff.end})
    y = np.zeros((len(g.cells), n_steps))
    loose_cell: dict[tuple[int, int], int | None] = {}
    for cid, gx, gy, back, n in zip(df["compound_id"], df["gx"], df["gy"], df["t"], df["n"],
                                    strict=True):
        t = n_steps - 1 - int(back)
        if t < 0 or t >= n_steps:
            continue
        if cid is not None and not pd.isna(cid):
            i = g.compound_cell.get(int(cid))
        else:
            key = (int(gx), int(gy))
            if key not in loose_cell:
                loose_cell[key] = g.index.get(
                    h3.latlng_to_cell(key[1] * deg, key[0] * deg, g.resolution))
            i = loose_cell[key]
        if i is not None:
            y[i, t] += int(n)
    return y


def _emerging(con: sa.Connection, f: Filters, theme: str, step: str,
              distinct: bool) -> pd.DataFrame:
    rules = analysis_rules.section("emerging")
    g = _grid_of(con, f, theme)
    y = cube_counts(con, f, theme, step, distinct)
    res = emerging.analyse(y, g.w, bin_alpha=float(rules["bin_alpha"]),
                           trend_alpha=float(rules["trend_alpha"]), share=float(rules["share"]))
    return pd.DataFrame({
        "cell": g.cells, "steps": y.shape[1], "total": y.sum(axis=1).astype(int),
        "hot_steps": res.hot.sum(axis=1), "cold_steps": res.cold.sum(axis=1),
        "trend_z": res.trend.z, "trend_p": res.trend.p, "pattern": res.pattern,
        "pattern_label": [emerging.BY_KEY[p].label for p in res.pattern],
    })


def emerging_cells(con: sa.Connection, f: Filters, theme: str, *, step: str | None = None,
                   distinct: bool = True) -> pd.DataFrame:
    """Emerging hot-spot pattern of ``theme`` per H3 cell over ``f``'s period.

    ``step``: ``week`` or ``month`` (default ``[emerging] step``). One row per
    cell: ``cell``, ``steps``, ``total``, ``hot_steps``, ``cold_steps``
    (significant bins), ``trend_z``, ``trend_p`` (Mann–Kendall of the z-scores),
    ``pattern`` and ``pattern_label`` (:data:`emerging.PATTERNS`).
    """
    step = step or str(analysis_rules.section("emerging")["step"])
    key = ("emerging", themed(f, theme), theme, step, distinct)
    df: pd.DataFrame = _memo(con, key, lambda: _emerging(con, f, theme, step, distinct))
    return df[_in_area(_grid_of(con, f, theme), f)].reset_index(drop=True)


# --- one table, the map and the inspection list ------------------------------------------------

def cells(con: sa.Connection, f: Filters, theme: str, *, distinct: bool = True,
          per_households: bool = False, step: str | None = None) -> pd.DataFrame:
    """Gi* and emerging pattern per cell in one table (what the CLI writes)."""
    a = gistar_cells(con, f, theme, distinct=distinct, per_households=per_households)
    b = emerging_cells(con, f, theme, step=step, distinct=distinct)
    return a.merge(b.drop(columns=["total"]), on="cell", how="left")


#: Chinese headers of :func:`cells` for spreadsheets and GeoPackage attribute tables.
HEADERS = {
    "cell": "H3编号", "cases": "诉求件数", "distinct": "去重诉求数", "households": "住户数",
    "value": "分析值", "z": "Gi*得分(z)", "p": "p值", "q": "FDR校正p值",
    "class_label": "热点类别", "pattern_label": "时空模式", "trend_z": "趋势z值",
    "trend_p": "趋势p值", "hot_steps": "显著热点时段数", "cold_steps": "显著冷点时段数",
    "steps": "时段数", "compounds": "所含小区",
}


def legend_rows() -> pd.DataFrame:
    """Every Gi* class and emerging pattern with its plain-Chinese explanation (a legend)."""
    rows = [("热点分析", c.label, c.name, c.explanation, c.colour) for c in gistar.CLASSES]
    rows += [("时空模式", p.label, p.name, p.explanation, p.colour) for p in emerging.PATTERNS]
    return pd.DataFrame(rows, columns=["类型", "类别", "ArcGIS名称", "含义", "颜色"])


def layer(con: sa.Connection, f: Filters, theme: str, *, distinct: bool = True,
          per_households: bool = False, escaped: bool = True) -> LayerData:
    """Hexagons with their Gi* class and emerging pattern, for a map (GeoJSON, text escaped).

    ``escaped=False`` leaves the text for :func:`dashboard.map.build`, which escapes every
    text property itself (escaping twice would show ``&amp;`` in a name with ``&``): the
    map layers of the registry (:mod:`layers.hotspot_gistar`) pass it.
    """
    df = cells(con, f, theme, distinct=distinct, per_households=per_households)
    feats = []
    for r in df.itertuples(index=False):
        feats.append(hexagon_feature(r.cell, {
            "cases": int(r.cases), "distinct": int(r.distinct),
            "value": None if pd.isna(r.value) else round(float(r.value), 2),
            "z": None if pd.isna(r.z) else round(float(r.z), 2),
            "q": None if pd.isna(r.q) else round(float(r.q), 4),
            "class": r[df.columns.get_loc("class")], "class_label": r.class_label,
            "colour": gistar.BY_KEY.get(r[df.columns.get_loc("class")],
                                        gistar.BY_KEY["not_significant"]).colour,
            "pattern": r.pattern, "pattern_label": r.pattern_label,
            "compounds": r.compounds, "compounds_short": _short(r.compounds)}))
    counts = {str(k): int(v) for k, v in df["class"].value_counts().items()}
    patterns = {str(k): int(v) for k, v in df["pattern"].value_counts().items()}
    # Compound names come from a register someone else wrote: text, never markup.
    gj = collection(feats)
    return LayerData(escape_properties(gj) if escaped else gj,
                     {"theme": theme, "label": theme_label(f, theme), "classes": counts,
                      "patterns": patterns, "distinct": distinct,
                      "per_households": per_households,
                      "cases": int(df["cases"].sum()), "complaints": int(df["distinct"].sum()),
                      "note": gistar.LEGEND_NOTE})


def _short(names: str, n: int = 4) -> str:
    """The first ``n`` names of a 、-joined list, then how many more (a tooltip stays small)."""
    parts = [p for p in names.split("、") if p]
    if len(parts) <= n:
        return "、".join(parts) or "—"
    return "、".join(parts[:n]) + f" 等 {len(parts)} 个"


def theme_label(f: Filters, theme: str) -> str:
    """The Chinese name of what is analysed: the theme, or the page's theme filter for ``all``."""
    if theme == "all" and f.themes:
        return "、".join(CATEGORY_THEMES.get(t, t) for t in f.themes)
    return THEME_LABELS[theme]


_HAZARDS_SQL = f"""
SELECT compound_id,
       count(*) FILTER (WHERE {measures.hazard_open("h")}) AS open_hazards,
       count(*) FILTER (WHERE {measures.hazard_overdue("h")}) AS overdue_hazards
FROM hazards h WHERE h.theme = ANY(:hz) AND h.found_on <= :f_as_of_day
GROUP BY 1
"""


def _score_weights() -> dict[str, float]:
    return {k: float(v) for k, v in analysis_rules.section("inspection").items()}


def score_parts(klass: pd.Series, pattern: pd.Series, open_hazards: pd.Series,
                overdue_hazards: pd.Series, repeats: pd.Series) -> pd.DataFrame:
    """The documented inspection score and its parts (weights: ``[inspection]``).

    score = class weight (99 / 95 / 90 % hot spot) + pattern weight (intensifying,
    new, consecutive, persistent, sporadic, oscillating) + overdue_hazard ·
    log2(1 + overdue hazards) + open_hazard · log2(1 + open hazards) + repeat ·
    log2(1 + repeats). Logarithms: the tenth repeat adds less than the first, so
    one compound's long list cannot outweigh a significant hot spot.
    """
    wt = _score_weights()
    c = klass.map(lambda k: wt.get(str(k), 0.0)).astype(float)
    p = pattern.map(lambda k: wt.get(str(k).replace("_hot", ""), 0.0)
                    if str(k).endswith("_hot") else 0.0).astype(float)
    h = (wt["overdue_hazard"] * np.log2(1 + overdue_hazards.astype(float))
         + wt["open_hazard"] * np.log2(1 + open_hazards.astype(float)))
    r = wt["repeat"] * np.log2(1 + repeats.astype(float))
    return pd.DataFrame({"score_class": c, "score_pattern": p, "score_hazards": h,
                         "score_repeats": r, "score": (c + p + h + r).round(2)})


def inspection(con: sa.Connection, f: Filters, theme: str, *, top: int = 50,
               distinct: bool = True, per_households: bool = False
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cells and compounds to inspect for ``theme`` in ``f``'s area, highest score first.

    Returns (cells, compounds) with Chinese headers, ready for :func:`inspection_xlsx`.
    A compound scores with its cell's class and pattern plus its own hazards and repeats.
    ``distinct`` and ``per_households`` choose the Gi* analysis the classes come from
    (as on the map beside the list).
    """
    df = cells(con, f, theme, distinct=distinct, per_households=per_households)
    g = _grid_of(con, f, theme)
    base = themed(f, theme)
    per_compound = facts.by(con, base, "compound_id")[["compound_id", "received", "repeat"]]
    hz = frame(con, _HAZARDS_SQL, {**base.params(), "hz": list(HAZARD_THEMES[theme])})
    comp = frame(con, """
        SELECT x.id AS compound_id, x.name, s.name AS street, x.street_code,
               coalesce(x.households, 0) AS households
        FROM compounds x LEFT JOIN streets s ON s.code = x.street_code""")
    comp = comp.merge(per_compound, on="compound_id", how="left").merge(
        hz, on="compound_id", how="left")
    for c in ("received", "repeat", "open_hazards", "overdue_hazards"):
        comp[c] = comp[c].fillna(0).astype(int)
    comp["cell"] = [g.cells[g.compound_cell[int(i)]] for i in comp["compound_id"]]
    comp = comp.merge(df[["cell", "class", "class_label", "pattern", "pattern_label"]],
                      on="cell", how="left")
    if f.street:
        comp = comp[comp["street_code"] == f.street]
    comp = comp[(comp["received"] > 0) | (comp["open_hazards"] > 0)]
    comp = pd.concat([comp.reset_index(drop=True), score_parts(
        comp["class"], comp["pattern"], comp["open_hazards"], comp["overdue_hazards"],
        comp["repeat"]).reset_index(drop=True)], axis=1)
    # a cell's hazards and repeats are those of all its compounds, not only the listed ones
    cell_hz = comp.groupby("cell")[["open_hazards", "overdue_hazards", "repeat"]].sum()
    comp = comp.sort_values(["score", "received"], ascending=False).head(top)
    cl = df.merge(cell_hz, left_on="cell", right_index=True, how="left")
    for c in ("open_hazards", "overdue_hazards", "repeat"):
        cl[c] = cl[c].fillna(0).astype(int)
    cl = pd.concat([cl.reset_index(drop=True), score_parts(
        cl["class"], cl["pattern"], cl["open_hazards"], cl["overdue_hazards"],
        cl["repeat"]).reset_index(drop=True)], axis=1)
    cl = cl[cl["score"] > 0].sort_values(["score", "distinct"], ascending=False).head(top)
    cells_out = cl.rename(columns={**HEADERS, "open_hazards": "未整改隐患",
                                   "overdue_hazards": "逾期未整改隐患", "repeat": "办结后再诉",
                                   "score": "排查优先分"})[
        ["排查优先分", "H3编号", "热点类别", "时空模式", "去重诉求数", "诉求件数", "办结后再诉",
         "未整改隐患", "逾期未整改隐患", "所含小区", "lon", "lat"]].rename(
        columns={"lon": "中心经度", "lat": "中心纬度"})
    comp_out = comp.rename(columns={
        "name": "小区", "street": "街道/镇", "received": "期内诉求", "repeat": "办结后再诉",
        "open_hazards": "未整改隐患", "overdue_hazards": "逾期未整改隐患",
        "class_label": "所在六边形热点类别", "pattern_label": "所在六边形时空模式",
        "score": "排查优先分", "households": "住户数"})[
        ["排查优先分", "小区", "街道/镇", "期内诉求", "办结后再诉", "未整改隐患", "逾期未整改隐患",
         "所在六边形热点类别", "所在六边形时空模式", "住户数"]]
    return cells_out.reset_index(drop=True), comp_out.reset_index(drop=True)


def score_lines() -> list[str]:
    """The inspection score in plain Chinese, weights from ``[inspection]`` (page and 说明)."""
    wt = _score_weights()
    return [
        "排查优先分 = 热点类别分 + 时空模式分 + 逾期未整改隐患分 + 未整改隐患分 + 办结后再诉分。",
        f"热点类别分：99%置信度热点 {wt['hot_99']}，95% {wt['hot_95']}，90% {wt['hot_90']}，"
        "其他 0。",
        f"时空模式分：加剧热点 {wt['intensifying']}，新热点 {wt['new']}，连续热点 "
        f"{wt['consecutive']}，持续热点 {wt['persistent']}，零星热点 {wt['sporadic']}，"
        f"振荡热点 {wt['oscillating']}，其他 0。",
        f"隐患与再诉按对数计：逾期未整改隐患 {wt['overdue_hazard']} × log2(1+件数)，"
        f"未整改隐患 {wt['open_hazard']} × log2(1+件数)，办结后再诉 {wt['repeat']} × "
        "log2(1+件数)。",
    ]


def inspection_notes(theme: str, f: Filters) -> list[str]:
    """The 说明 sheet of an inspection list: what the score is and what the classes mean."""
    return [
        f"{theme_label(f, theme)}排查清单：{f.start:%Y-%m-%d} 至 {f.end:%Y-%m-%d}，"
        f"数据截止 {f.as_of:%Y-%m-%d}。",
        *score_lines(),
        gistar.LEGEND_NOTE,
        *[f"{c.label}：{c.explanation}" for c in gistar.CLASSES],
        *[f"{p.label}：{p.explanation}" for p in emerging.PATTERNS],
        *[m.definition for m in measures.MEASURES if m.key in ("repeat", "distinct")],
    ]


def period_of(as_of: dt.date, start: dt.date | None, end: dt.date | None) -> Filters:
    """Filters for a period (default: the 52 weeks up to ``as_of``)."""
    end = end or as_of
    start = start or end - dt.timedelta(days=7 * 52 - 1)
    return Filters(start=start, end=end, as_of=as_of)


def cell_polygons(cells_: list[str]) -> list[list[tuple[float, float]]]:
    """Each H3 cell's boundary as (lon, lat) pairs, closed."""
    out = []
    for c in cells_:
        ring = [(lng, lat) for lat, lng in h3.cell_to_boundary(c)]
        out.append([*ring, ring[0]])
    return out


# --- files for GIS staff and planners ---------------------------------------------------------

#: The columns of :func:`table`, in order (Chinese headers, see :data:`HEADERS`).
TABLE_COLUMNS = ("cell", "cases", "distinct", "households", "value", "z", "p", "q", "bin",
                 "class_label", "pattern_label", "trend_z", "trend_p", "hot_steps",
                 "cold_steps", "steps", "compounds")


def table(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`cells` with Chinese headers, one row per cell (no geometry)."""
    out = df[list(TABLE_COLUMNS)].copy()
    for c in ("value", "z", "p", "q", "trend_z", "trend_p"):
        out[c] = out[c].astype(float).round(6)
    return out.rename(columns={**HEADERS, "bin": "Gi_Bin"})


def write(df: pd.DataFrame, path: Path, *, notes: list[str] | None = None) -> int:
    """Write :func:`cells` to ``path``: a GeoPackage (H3 polygons, EPSG:4326) or an xlsx.

    Returns the number of cells written.
    """
    import geopandas as gpd
    from shapely.geometry import Polygon

    from geo import sheets

    path = Path(path)
    out = table(df)
    suffix = path.suffix.lower()
    if suffix == ".gpkg":
        geoms = [Polygon(r) for r in cell_polygons(list(df["cell"]))]
        gdf = gpd.GeoDataFrame(out, geometry=geoms, crs="EPSG:4326")
        if path.exists():
            path.unlink()
        gdf.to_file(path, driver="GPKG", layer="hotspots", engine="pyogrio")
    elif suffix == ".xlsx":
        sheets.write_xlsx(path, [("热点分析", out), ("图例", legend_rows())], notes or [])
    else:
        raise ValueError(f"unsupported output {path.suffix!r}: .gpkg or .xlsx")
    return len(out)


def classified(df: pd.DataFrame) -> pd.DataFrame:
    """The cells of :func:`cells` with a Gi* class or an emerging pattern (hot or cold), as
    :func:`table` (Chinese headers, the compounds in each cell), strongest first.

    What the 隐患热点 page offers for download beside the inspection list: every class and
    pattern found, cold ones included, without the hexagons where nothing stands out.
    """
    keep = (df["class"] != "not_significant") | (
        df["pattern"].notna() & (df["pattern"] != "no_pattern"))
    out = df[keep].assign(_abs=lambda d: d["z"].astype(float).abs())
    out = out.sort_values(["_abs", "cell"], ascending=[False, True], na_position="last")
    return table(out).reset_index(drop=True)


def classified_workbook(table_: pd.DataFrame, theme: str, f: Filters,
                        notes: list[str] | None = None) -> bytes:
    """:func:`classified` as an xlsx: sheets 热点与时空模式, 图例 and 说明."""
    from geo import sheets

    return sheets.workbook([("热点与时空模式", table_), ("图例", legend_rows())], [
        *(notes or []),
        f"{theme_label(f, theme)}热点与时空模式：{f.start:%Y-%m-%d} 至 {f.end:%Y-%m-%d}，"
        f"数据截止 {f.as_of:%Y-%m-%d}；列出有显著热点（冷点）类别或时空模式的六边形及其所含小区。",
        gistar.LEGEND_NOTE,
        *[m.definition for m in measures.MEASURES if m.key in ("repeat", "distinct")],
    ])


def inspection_xlsx(con: sa.Connection, f: Filters, theme: str, *, top: int = 50,
                    distinct: bool = True, per_households: bool = False,
                    notes: list[str] | None = None) -> bytes:
    """The inspection list of ``theme`` in ``f``'s area as an xlsx (cells, compounds, 说明).

    ``notes`` are added at the top of the 说明 sheet (e.g. who downloaded it, synthetic data).
    """
    cells_, compounds_ = inspection(con, f, theme, top=top, distinct=distinct,
                                    per_households=per_households)
    return inspection_workbook(cells_, compounds_, theme, f, notes)


def inspection_workbook(cells_: pd.DataFrame, compounds_: pd.DataFrame, theme: str, f: Filters,
                        notes: list[str] | None = None) -> bytes:
    """An inspection list already made by :func:`inspection` as an xlsx (a page's download)."""
    from geo import sheets

    return sheets.workbook([("重点六边形", cells_), ("重点小区", compounds_)],
                           [*(notes or []), *inspection_notes(theme, f)])
