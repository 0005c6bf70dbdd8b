"""``propmap bench``: the speed budgets of issue 5, measured on a scratch database.

Anyone can rerun it on their own machine: it creates a database next to the
configured one (``<name>_bench_<pid>``), loads the synthetic Kaili into it,
measures, and drops it again. Every figure is the median of ``runs`` runs,
each run cold: the shared facts memo is cleared, and the browser figure uses a
fresh dashboard server per run.

Measured:

- **import**: a 12345-format CSV of N cases (GB18030, mixed date forms, GCJ-02
  coordinates, rows located by compound name: :func:`etl.synthetic.to_export`)
  through ``propmap import cases`` into an empty case table, next to a plain
  ``COPY`` of the same file into an unindexed table of text columns;
- **overview**: every overview layer (street areas, heat counting distinct
  complaints as the dashboard does, hazards, 三无; the Gi* overlay is the hot-spot
  statistics below), query plus the folium HTML sent to the browser, time and
  bytes, at 20,000 and at N cases;
- **drill-down** of the busiest street office (its layers and map HTML), cold and
  right after the overview with the same filters (the click path), and
  the **hotspot** page's data (fire: Gi* and emerging hexagons for the map, the
  inspection list, the repeat list, the open hazards and their layer) with the
  hot-spot statistics from their memo (computed once per data version, see
  below) and everything else cold (``hotspot_ms``), and all of it cold
  (``hotspot_cold_ms``);
- **first map render** of the overview in headless Chromium: a fresh server,
  then the time from navigation to the street areas drawn on the map;
- **row-level security**: the overview and the drill-down built as the dashboard builds
  them, through its own database role under an account's scope (a ``leader`` and a
  ``street`` account), interleaved with the same work as the table owner;
- **records** (issue 9): the progress figures per street office and their monthly trend as
  a ``leader``, and one takeover recorded as a ``street`` account (checked, written, the
  compound's state refolded, audited; rolled back);
- **the joint meeting** (issue 11): the department accountability table (every
  department, lead and co-handling, every measure and the medians) for the year
  and for a quarter; the street figures of a quarter with its 环比 and 同比 periods
  (three cold passes of the shared facts); a search of the case text over the year;
  the briefing of a quarter built and written as ``.docx`` (maps included);
- **sessions** (``--sessions 20``): that many sessions at once on one dashboard server,
  through Streamlit's websocket (:mod:`bench.load`): median and 90th percentile page
  load after a warm-up round, and the server's memory round by round;
- **credit and coverage**: the firms' and the committees' credit evaluation (four quarters,
  every score, proposal and flag), the coverage gaps per community and the party-building
  coverage per street office, as the table owner;
- **naive**: ``GeoDataFrame.explore()`` of 100,000 case points, time and bytes;
- **hot-spot statistics** (issue 10): Gi* of the fire theme over the city with
  999 permutations, and the emerging hot spots over 52 weeks, each cold (memos
  cleared) and then from the memo; and the repeat and multi-channel grouping
  pass over every case (:func:`geo.complaints.compute`, what ``propmap demo``
  adds to its load), in a transaction rolled back.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from dashboard import harness
from dashboard import map as pmap
from etl import demo, synthetic
from etl.intake.cases import import_cases
from geo import auth, complaints, coverage, credit, db, history, party, roles, schema
from geo.measures import today
from geo.scope import Scope
from layers import facts, hotspot, hotspot_stats, progress, registry, repeats
from layers.filters import Filters

Say = Callable[[str], None]
AS_OF = dt.date(2026, 6, 30)
SMALL = 20_000
NAIVE_POINTS = 100_000

#: Issue 5's budgets on a 2-core machine at N = 1,000,000: (key, limit, unit, label).
BUDGETS = (
    ("import_ratio", 4.0, "×", "import ≤ 4 × COPY"),
    ("overview_ms", 500.0, "ms", "overview build ≤ 500 ms"),
    ("overview_bytes", 2_000_000.0, "B", "overview payload ≤ 2 MB"),
    ("payload_growth", 0.10, "", "payload at N within 10 % of 20,000"),
    ("drilldown_ms", 300.0, "ms", "street drill-down ≤ 300 ms"),
    ("hotspot_ms", 1000.0, "ms", "hotspot page data (statistics memoised) ≤ 1 s"),
    ("browser_s", 4.0, "s", "first map render ≤ 4 s"),
    ("rls_overview_overhead", 0.10, "", "row-level security on the overview (leader) ≤ +10 %"),
    ("load_p90_s", 5.0, "s", "20 sessions at once: 90th percentile page load ≤ 5 s"),
    ("load_memory_growth", 0.10, "", "server memory flat after warm-up (≤ +10 %)"),
    ("rls_drilldown_overhead", 0.10, "",
     "row-level security on the drill-down (leader and street account) ≤ +10 %"),
    ("gistar_s", 2.0, "s", "Gi* one theme, city, 999 permutations ≤ 2 s"),
    ("emerging_s", 10.0, "s", "emerging hot spots, 52 weeks ≤ 10 s"),
    ("credit_firms_ms", 1000.0, "ms", "firms' credit evaluation (4 quarters) ≤ 1 s"),
)


@dataclass
class Result:
    """Raw runs and medians, by measure."""

    cases: int
    runs: int
    machine: dict[str, Any]
    raw: dict[str, list[float]] = field(default_factory=dict)

    def add(self, key: str, value: float) -> None:
        self.raw.setdefault(key, []).append(value)

    def median(self, key: str) -> float | None:
        values = self.raw.get(key)
        return statistics.median(values) if values else None

    def derived(self) -> dict[str, float | None]:
        m = {k: self.median(k) for k in self.raw}
        if m.get("import_s") and m.get("copy_s"):
            m["import_ratio"] = m["import_s"] / m["copy_s"]  # type: ignore[operator]
        if m.get("overview_leader_ms") and m.get("overview_owner_ms"):
            m["rls_overview_overhead"] = m["overview_leader_ms"] / m["overview_owner_ms"] - 1  # type: ignore[operator]
        if m.get("drilldown_owner_ms") and m.get("drilldown_leader_ms") \
                and m.get("drilldown_street_ms"):
            m["rls_drilldown_overhead"] = max(  # type: ignore[operator]
                m["drilldown_leader_ms"], m["drilldown_street_ms"]) / m["drilldown_owner_ms"] - 1  # type: ignore[type-var]
        if m.get("overview_bytes") and m.get("overview_small_bytes"):
            m["payload_growth"] = abs(m["overview_bytes"] / m["overview_small_bytes"] - 1)  # type: ignore[operator]
        return m

    def as_json(self) -> dict[str, Any]:
        return {"cases": self.cases, "runs": self.runs, "machine": self.machine,
                "medians": self.derived(), "raw": self.raw,
                "budgets": {k: {"limit": lim, "holds": self.holds(k)}
                            for k, lim, _u, _l in BUDGETS}}

    def holds(self, key: str) -> bool | None:
        value = self.derived().get(key)
        limit = next(lim for k, lim, _u, _l in BUDGETS if k == key)
        return None if value is None else value <= limit


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = ""
    with contextlib.suppress(OSError):
        cpu = next((line.split(":", 1)[1].strip() for line in
                    Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), "")
    mem = ""
    with contextlib.suppress(OSError):
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split(":", 1)[1].strip()
    return {"cpus": os.cpu_count(), "cpu": cpu, "memory": mem,
            "python": platform.python_version(), "platform": platform.platform(),
            "load_at_start": os.getloadavg()[0],
            "date": dt.datetime.now().isoformat(timespec="seconds")}


@contextlib.contextmanager
def scratch_database(say: Say) -> Iterator[Engine]:
    """A fresh database with the schema and reference data, dropped afterwards."""
    base = make_url(db.ensure_local(say=say))
    url = base.set(database=f"{base.database}_bench_{os.getpid()}").render_as_string(
        hide_password=False)
    say(f"创建临时数据库 {make_url(url).database} …")
    engine = schema.fresh_database(url)
    try:
        yield engine
    finally:
        engine.dispose()
        db.drop_database(url)


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def write_export(path: Path, n: int, seed: int = 42) -> Path:
    """The 12345-format CSV of ``n`` synthetic cases, GB18030 as the hotline system writes it."""
    world = synthetic.make_demo(seed, AS_OF)
    cases = synthetic.make_cases(world, n, AS_OF, np.random.default_rng(seed + 1))
    frame = synthetic.to_export(cases, world.compounds, np.random.default_rng(seed + 2))
    frame.to_csv(path, index=False, encoding="gb18030")
    return path


def copy_baseline(engine: Engine, path: Path) -> float:
    """Seconds for a plain ``COPY`` of ``path`` into an unindexed table of text columns."""
    with open(path, "rb") as fh:
        header = fh.readline().decode("gb18030").strip().split(",")
    cols = ", ".join(f'"{h}" text' for h in header)
    with engine.begin() as con:
        con.execute(sa.text("DROP TABLE IF EXISTS bench_copy"))
        con.execute(sa.text(f"CREATE UNLOGGED TABLE bench_copy ({cols})"))
    raw = engine.raw_connection()
    try:
        t0 = time.perf_counter()
        sql = "COPY bench_copy FROM STDIN (FORMAT csv, HEADER true, ENCODING 'GB18030')"
        with raw.cursor() as cur, open(path, "rb") as fh, cur.copy(sql) as cp:  # type: ignore[attr-defined]
            while chunk := fh.read(1 << 20):
                cp.write(chunk)
        raw.commit()
        seconds = time.perf_counter() - t0
    finally:
        raw.close()
    with engine.begin() as con:
        con.execute(sa.text("DROP TABLE bench_copy"))
    return seconds


def _empty_cases(engine: Engine) -> None:
    with engine.begin() as con:
        con.execute(sa.text("TRUNCATE cases, complainants, imports, quarantine CASCADE"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as con:
        con.execute(sa.text("VACUUM ANALYZE cases"))


def measure_import(engine: Engine, path: Path, res: Result, say: Say) -> None:
    for i in range(res.runs):
        _empty_cases(engine)
        seconds = copy_baseline(engine, path)
        res.add("copy_s", seconds)
        seconds, report = _timed(lambda: import_cases(engine, path, as_of=None))
        res.add("import_s", seconds)
        say(f"  import run {i + 1}: COPY {res.raw['copy_s'][-1]:.2f} s, "
            f"import {seconds:.2f} s ({report.rows_read:,} rows, "
            f"{report.quarantined:,} quarantined)")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as con:
        con.execute(sa.text("VACUUM ANALYZE"))


def _filters(engine: Engine) -> Filters:
    with engine.connect() as con:
        last = con.execute(sa.text("SELECT max(received_at)::date FROM cases")).scalar()
    return Filters.year_to(last or AS_OF)


@contextlib.contextmanager
def _connect(engine: Engine, scope: Scope | None) -> Iterator[sa.Connection]:
    """A transaction as the dashboard runs one: under ``scope`` (RLS), or as the owner."""
    with engine.begin() as con:
        if scope is not None:
            scope.apply(con)
        yield con


def overview_once(engine: Engine, f: Filters, scope: Scope | None = None) -> int:
    """Build every overview layer and the map HTML; returns the HTML's bytes."""
    facts.clear()
    pmap.clear()
    keys = [k for k in ("street_areas", *registry.OVERVIEW_OPTIONAL)
            if not registry.get(k).needs_all_cases]  # hot spots: measure_hotspot_stats
    with _connect(engine, scope) as con:
        drawn: list[tuple[Any, Any, dict[str, Any]]] = [
            (registry.get(k), registry.get(k).query(
                con, f.with_(distinct=True) if registry.get(k).follows_count else f), {})
            for k in keys]
    m, _legend = pmap.build(drawn, bounds=pmap.bounds_of(drawn[0][1].features))
    return pmap.html_bytes(m)


def drilldown_once(engine: Engine, f: Filters, *, cold: bool = True,
                   scope: Scope | None = None) -> int:
    """Build a street's drill-down layers and map HTML; returns the HTML's bytes.

    ``cold`` clears the shared facts first; otherwise they are as the overview left
    them, which is how a user gets there: by clicking a street on the overview.
    """
    if cold:
        facts.clear()
    pmap.clear()
    with _connect(engine, scope) as con:
        drawn: list[tuple[Any, Any, dict[str, Any]]] = [
            (registry.get(k), registry.get(k).query(con, f), {}) for k in registry.DRILLDOWN]
    m, _legend = pmap.build(drawn, bounds=pmap.bounds_of(drawn[1][1].features))
    return pmap.html_bytes(m)


def hotspot_once(engine: Engine, f: Filters, *, cold_stats: bool = False) -> None:
    """What the 隐患热点 page reads for the fire theme (dashboard/views/hotspots.py)."""
    facts.clear()
    pmap.clear()
    if cold_stats:
        hotspot_stats.clear()
    fire = f.with_(themes=hotspot_stats.THEMES["fire"], distinct=True)
    cases = fire.with_(distinct=False)
    with engine.connect() as con:
        cells = hotspot_stats.layer(con, fire, "fire", escaped=False)
        hotspot_stats.inspection(con, fire, "fire")
        facts.totals(con, cases)
        repeats.top_compounds(con, cases, n=15, min_received=5)
        hotspot.open_hazards(con, cases, "fire")
        hazards = registry.get("hazards").query(con, cases)
        streets = registry.get("street_areas").query(con, f)
    pmap.build([(registry.get("street_areas"), streets, {"measure": None}),
                (registry.get("gistar"), cells, {}), (registry.get("hazards"), hazards, {})],
               bounds=pmap.bounds_of(cells.features))


def progress_once(engine: Engine, f: Filters, scope: Scope | None = None) -> None:
    """The progress figures per street office and the monthly trend (issue 9)."""
    with _connect(engine, scope) as con:
        progress.by_street(con, f)
        progress.monthly(con, f)


def record_once(engine: Engine, scope: Scope) -> None:
    """One takeover recorded as a street account (checked, written, state refolded, audited),
    rolled back so every run records the same."""
    with engine.connect() as con, con.begin() as tx:
        scope.apply(con)
        cid = con.execute(sa.text(
            "SELECT id FROM compounds WHERE is_sanwu AND management_mode = 'none' "
            "ORDER BY id LIMIT 1")).scalar()
        checked = history.check(con, history.frame([history.Proposal(
            int(cid or 0), "takeover", today())]), account_kind="street", streets=scope.streets)
        history.record(con, checked, source="dashboard", recorded_by="bench", role="street")
        tx.rollback()


def measure_maps(engine: Engine, res: Result, suffix: str = "") -> None:
    f = _filters(engine)
    for _ in range(res.runs):
        seconds, size = _timed(lambda: overview_once(engine, f))
        res.add(f"overview{suffix}_ms", seconds * 1000)
        res.add(f"overview{suffix}_bytes", float(size))
    if suffix:
        return
    with engine.connect() as con:
        street = con.execute(sa.text(
            "SELECT street_code FROM cases WHERE street_code IS NOT NULL "
            "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")).scalar()
    for _ in range(res.runs):
        seconds, size = _timed(lambda: drilldown_once(engine, f.area(street)))
        res.add("drilldown_ms", seconds * 1000)
        res.add("drilldown_bytes", float(size))
        overview_once(engine, f)
        seconds, _ = _timed(lambda: drilldown_once(engine, f.area(street), cold=False))
        res.add("drilldown_after_overview_ms", seconds * 1000)
        seconds, _ = _timed(lambda: hotspot_once(engine, f, cold_stats=True))
        res.add("hotspot_cold_ms", seconds * 1000)
        seconds, _ = _timed(lambda: hotspot_once(engine, f))
        res.add("hotspot_ms", seconds * 1000)


def measure_hotspot_stats(engine: Engine, res: Result, say: Say) -> None:
    """Gi* and emerging hot spots (fire, the 52 weeks to the last case), cold then memoised."""
    with engine.connect() as con:
        last = con.execute(sa.text("SELECT max(received_at)::date FROM cases")).scalar()
    f = hotspot_stats.period_of(last or AS_OF, None, None)
    for i in range(res.runs):
        facts.clear()
        hotspot_stats.clear()
        with engine.connect() as con:
            seconds, df = _timed(lambda: hotspot_stats.gistar_cells(con, f, "fire"))
            res.add("gistar_s", seconds)
            memo, _ = _timed(lambda: hotspot_stats.gistar_cells(con, f, "fire"))
            res.add("gistar_memo_ms", memo * 1000)
            em_s, em = _timed(lambda: hotspot_stats.emerging_cells(con, f, "fire"))
            res.add("emerging_s", em_s)
            memo, _ = _timed(lambda: hotspot_stats.emerging_cells(con, f, "fire"))
            res.add("emerging_memo_ms", memo * 1000)
        say(f"  hot spots run {i + 1}: Gi* {seconds:.2f} s ({len(df)} cells), "
            f"emerging {em_s:.2f} s ({int(em['steps'].iloc[0])} weeks)")


def measure_linking(engine: Engine, res: Result, say: Say) -> None:
    """Repeats and multi-channel groups over every case, as the demo computes them."""
    for i in range(res.runs):
        with engine.connect() as con, con.begin() as tx:
            seconds, out = _timed(lambda: complaints.compute(con, "cases"))
            tx.rollback()
        res.add("linking_s", seconds)
        res.add("linking_repeats_s", out.seconds["repeats"])
        res.add("linking_grouping_s", out.seconds["grouping"])
        say(f"  linking run {i + 1}: {seconds:.2f} s (repeats {out.seconds['repeats']:.2f} s, "
            f"{out.grouping.candidates:,} candidate pairs, {out.grouping.groups:,} groups)")


def measure_scoped(engine: Engine, res: Result) -> None:
    """The overview and a drill-down as the dashboard runs them: its own role, under RLS.

    The same work as :func:`measure_maps`, as a ``leader`` (whole city) and as a
    ``street`` account (its street), through the application role; interleaved with
    the owner's runs so that a busy moment of the machine hits both alike.
    """
    f = _filters(engine)
    with engine.connect() as con:
        street = str(con.execute(sa.text(
            "SELECT street_code FROM cases WHERE street_code IS NOT NULL "
            "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")).scalar())
    app = db.make_engine(roles.app_url(engine.url.render_as_string(hide_password=False)))
    leader, street_account = Scope("leader"), Scope("street", streets=(street,))
    try:
        for _ in range(res.runs):
            res.add("overview_leader_ms", _timed(lambda: overview_once(app, f, leader))[0] * 1000)
            res.add("overview_owner_ms", _timed(lambda: overview_once(engine, f))[0] * 1000)
            for key, eng, scope in (("drilldown_leader_ms", app, leader),
                                    ("drilldown_street_ms", app, street_account),
                                    ("drilldown_owner_ms", engine, None)):
                res.add(key, _timed(lambda e=eng, s=scope: drilldown_once(  # type: ignore[misc]
                    e, f.area(street), scope=s))[0] * 1000)
            res.add("progress_leader_ms", _timed(lambda: progress_once(app, f, leader))[0] * 1000)
            res.add("record_street_ms", _timed(lambda: record_once(app, street_account))[0] * 1000)
    finally:
        app.dispose()


def measure_browser(engine: Engine, res: Result, say: Say) -> None:
    """Navigation to street areas drawn, on a fresh server each run; outside hosts blocked."""
    from playwright.sync_api import sync_playwright

    n_streets = 20
    password = "Bench-Passw0rd!"
    with engine.begin() as con:
        con.execute(sa.text("DELETE FROM accounts WHERE name = 'bench-leader'"))
        auth.add_user(con, "bench-leader", "leader", password=password, must_change=False,
                      by="propmap bench")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=harness.CHROMIUM,
                                    args=harness.CHROMIUM_ARGS)
        try:
            for i in range(res.runs):
                with harness.running(engine.url.render_as_string(hide_password=False)) as base:
                    page = browser.new_page(viewport={"width": 1920, "height": 1080})
                    outside = harness.block_outside(page, base)
                    harness.login(page, base, "bench-leader", password, 60_000)
                    t0 = time.perf_counter()
                    page.goto(base)
                    frame = page.frame_locator(harness.MAP_FRAME)
                    frame.locator("path.leaflet-interactive").nth(n_streets - 1).wait_for(
                        state="attached", timeout=60_000)
                    seconds = time.perf_counter() - t0
                    page.close()
                    if outside:
                        raise RuntimeError(f"requests left the server: {outside[:3]}")
                    res.add("browser_s", seconds)
                    say(f"  browser run {i + 1}: {seconds:.2f} s")
        finally:
            browser.close()


def measure_meeting(engine: Engine, res: Result) -> None:
    """The meeting's own queries at N cases, each cold (the facts memo cleared)."""
    from briefing import build, word
    from layers import accountability, casework

    year = _filters(engine)
    quarter = Filters(start=dt.date(year.end.year, 3 * ((year.end.month - 1) // 3) + 1, 1),
                      end=year.end, as_of=year.as_of)
    def streets_with_changes(con: sa.Connection) -> list[Any]:
        return [accountability.streets(con, g) for g in
                (quarter, quarter.compared("prev"), quarter.compared("yoy"))]

    for _ in range(res.runs):
        for key, f in (("departments_year_ms", year), ("departments_quarter_ms", quarter)):
            with engine.connect() as con:
                res.add(key, _timed(functools.partial(accountability.departments, con, f))[0]
                        * 1000)
        facts.clear()
        with engine.connect() as con:
            res.add("streets_with_changes_ms",
                    _timed(functools.partial(streets_with_changes, con))[0] * 1000)
            res.add("case_search_ms", _timed(functools.partial(
                casework.case_list, con, year, casework.CaseQuery(text="电梯"),
                with_text=True))[0] * 1000)
    for _ in range(min(res.runs, 3)):
        facts.clear()
        with engine.connect() as con:
            seconds, doc = _timed(functools.partial(build.build, con, quarter))
            written, payload = _timed(functools.partial(word.to_docx, doc))
        res.add("briefing_build_s", seconds)
        res.add("briefing_docx_s", written)
        res.add("briefing_docx_bytes", float(len(payload)))


def measure_credit(engine: Engine, res: Result) -> None:
    """Credit evaluations, coverage gaps and party-building coverage, as the owner."""
    work: dict[str, Callable[[sa.Connection], Any]] = {
        "credit_firms_ms": lambda c: credit.evaluate(c, "firm"),
        "credit_committees_ms": lambda c: credit.evaluate(c, "committee"),
        "coverage_gaps_ms": lambda c: coverage.gaps(c, "community"),
        "party_coverage_ms": lambda c: party.coverage(c, "street"),
    }
    for _ in range(res.runs):
        for key, fn in work.items():
            with engine.connect() as con:
                res.add(key, _timed(lambda f=fn, c=con: f(c))[0] * 1000)  # type: ignore[misc]


def measure_naive(engine: Engine, res: Result) -> None:
    with engine.connect() as con:
        gdf = gpd.read_postgis(sa.text(
            "SELECT id, case_no, category_code, status, geom FROM cases "
            "WHERE geom IS NOT NULL ORDER BY id LIMIT :n"), con, geom_col="geom",
            params={"n": NAIVE_POINTS})
    for _ in range(min(res.runs, 3)):
        seconds, size = _timed(lambda: len(gdf.explore().get_root().render().encode()))
        res.add("naive_explore_s", seconds)
        res.add("naive_explore_bytes", float(size))
    res.add("naive_points", float(len(gdf)))


def measure_sessions(engine: Engine, res: Result, sessions: int, rounds: int,
                     say: Say) -> None:
    """Many sessions at once through Streamlit's websocket (:mod:`bench.load`)."""
    from bench import load

    out = load.run(engine, sessions, rounds, say=say)
    if out.failures:
        raise RuntimeError(f"{len(out.failures)} page loads failed: {out.failures[:3]}")
    res.machine["sessions"] = sessions
    res.machine["session_rounds"] = rounds
    res.raw["load_page_s"] = out.after_warmup()
    res.raw["load_rss_bytes"] = [float(r) for r in out.rss]
    res.add("load_p90_s", out.p90())
    res.add("load_memory_growth", out.memory_growth())


def run(n: int, runs: int, say: Say = print, browser: bool = True, sessions: int = 0,
        rounds: int = 4) -> Result:
    """Measure everything on a scratch database; see the module docstring."""
    res = Result(cases=n, runs=runs, machine=machine())
    # As the dashboard does at start-up (dashboard/common.py): keep full garbage
    # collections of the imported libraries out of the timed map builds.
    gc.collect()
    gc.freeze()
    with scratch_database(say) as engine, tempfile.TemporaryDirectory() as tmp:
        with engine.connect() as con:
            res.machine["postgres"] = con.execute(sa.text("SHOW server_version")).scalar()
            res.machine["postgis"] = con.execute(sa.text("SELECT postgis_lib_version()")).scalar()
        say("生成合成辖区与小区 …")
        demo.build(engine, seed=42, n_cases=SMALL, as_of=AS_OF, say=lambda _m: None)
        say(f"总览（{SMALL:,} 件）…")
        measure_maps(engine, res, suffix="_small")
        path = Path(tmp) / "12345-export.csv"
        say(f"生成 12345 导出文件（{n:,} 行）…")
        write_export(path, n)
        res.machine["export_bytes"] = path.stat().st_size
        say("导入 …")
        measure_import(engine, path, res, say)
        say(f"总览、下钻、热点（{n:,} 件）…")
        measure_maps(engine, res)
        say("行级安全的开销（联席会议账号、街道账号）…")
        measure_scoped(engine, res)
        say(f"热点统计与一事多诉（{n:,} 件）…")
        measure_hotspot_stats(engine, res, say)
        measure_linking(engine, res, say)
        say("信用评价、覆盖缺口与党建覆盖 …")
        measure_credit(engine, res)
        say("联席会议：部门履职、环比同比、案件检索、简报 …")
        measure_meeting(engine, res)
        if browser:
            say("浏览器首屏 …")
            measure_browser(engine, res, say)
        if sessions:
            say(f"{sessions} 个会话同时访问 …")
            measure_sessions(engine, res, sessions, rounds, say)
        say("对照：explore() …")
        measure_naive(engine, res)
    return res


def _fmt(key: str, value: float | None) -> str:
    if value is None:
        return "–"
    if key.endswith("_bytes"):
        return f"{value / 1e6:.2f} MB"
    if key.endswith("_ms"):
        return f"{value:,.0f} ms"
    if key.endswith("_s"):
        return f"{value:,.2f} s"
    if key == "import_ratio":
        return f"{value:.1f} ×"
    if key == "payload_growth":
        return f"{value * 100:.1f} %"
    if key.endswith(("_overhead", "_growth")) and key != "payload_growth":
        return f"{value * 100:+.1f} %"
    return f"{value:,.0f}"


def markdown(res: Result) -> str:
    """The results as a Markdown table, budgets first."""
    m = res.derived()
    lines = [f"N = {res.cases:,} cases, medians of {res.runs} runs; "
             f"{res.machine['cpus']} CPUs ({res.machine['cpu']}), {res.machine['memory']}.", "",
             "| budget | measured | holds |", "| --- | --- | --- |"]
    for key, _limit, _unit, label in BUDGETS:
        holds = res.holds(key)
        mark = "–" if holds is None else ("yes" if holds else "**no**")
        lines.append(f"| {label} | {_fmt(key, m.get(key))} | {mark} |")
    lines += ["", "| measure | median |", "| --- | --- |"]
    for key in sorted(m):
        lines.append(f"| {key} | {_fmt(key, m[key])} |")
    return "\n".join(lines)


def save(res: Result, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(res.as_json(), ensure_ascii=False, indent=2) + "\n",
                    encoding="utf-8")
