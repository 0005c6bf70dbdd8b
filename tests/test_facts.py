"""The shared per-compound facts: right counts, and never stale after a change."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from layers import accountability, facts, registry, stats
from layers.filters import Filters

from .conftest import AS_OF


def _firm_cases(engine: Engine, f: Filters) -> int:
    with engine.connect() as con:
        return int(con.execute(sa.text(
            f"SELECT count(*) FROM cases c JOIN compounds x ON x.id = c.compound_id "
            f"WHERE x.firm_id IS NOT NULL AND {f.case_where('c')}"), f.params()).scalar() or 0)


def test_totals_match_sql_for_a_street_and_a_channel(demo: Engine) -> None:
    f = Filters.year_to(AS_OF, channels=("petition",)).area("522601002000")
    with demo.connect() as con:
        got = facts.totals(con, f)
        want = con.execute(sa.text(
            f"SELECT count(*), count(*) FILTER (WHERE c.level = 'city') FROM cases c "
            f"WHERE {f.case_where('c')}"), f.params()).one()
        firms = stats.firm_table(con, f.area(None))
    assert (got["received"], got["level_city"]) == tuple(want)
    assert got["received"] > 0
    assert int(firms["期内诉求"].sum()) == _firm_cases(demo, f.area(None))


def test_one_scan_serves_every_overview_layer(demo: Engine) -> None:
    """Building the overview reads the cases table once, however many layers use it.

    Counted in ``pg_stat_xact_user_tables``, within one transaction: this backend's own
    counts not yet flushed to the cumulative statistics. PostgreSQL flushes a backend's
    counts only when it is idle outside a transaction, so nothing leaves them between
    the two readings, and no other session's counts enter them. The cumulative
    ``pg_stat_user_tables`` once read 3 instead of 1: counts of earlier statements were
    flushed (at most once a second, when a session goes idle) while the test ran.
    """
    facts.clear()
    f = Filters.year_to(AS_OF)
    scans = sa.text("SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'cases'")
    with demo.connect() as con, con.begin():
        before = con.execute(scans).scalar_one()
        for key in ("street_areas", "sanwu", "heat"):
            layer = registry.get(key)
            # as the dashboard asks: heat counts distinct complaints, from the same facts
            layer.query(con, f.with_(distinct=True) if layer.follows_count else f)
        stats.headline(con, f)
        accountability.streets(con, f.area(None, None))  # the overview's street ranking
        after = con.execute(scans).scalar_one()
    assert after - before == 1, f"{after - before} sequential scans of cases for one overview"


def test_a_change_to_the_cases_is_seen_at_once(demo: Engine) -> None:
    f = Filters.year_to(AS_OF)
    with demo.connect() as con:
        before = facts.totals(con, f)["pending"]
        case_id, closed_at = con.execute(sa.text(
            "SELECT id, closed_at FROM cases WHERE status = 'visited' AND received_at >= :s "
            "ORDER BY id LIMIT 1"), {"s": f.params()["f_start"]}).one()
    try:
        with demo.begin() as con:
            con.execute(sa.text("UPDATE cases SET status = 'reopened', closed_at = NULL "
                                "WHERE id = :i"), {"i": case_id})
        with demo.connect() as con:
            assert facts.totals(con, f)["pending"] == before + 1
    finally:
        with demo.begin() as con:
            con.execute(sa.text("UPDATE cases SET status = 'visited', closed_at = :c "
                                "WHERE id = :i"), {"i": case_id, "c": closed_at})
    with demo.connect() as con:
        assert facts.totals(con, f)["pending"] == before


def test_a_drilldown_opened_directly_reads_only_its_street(demo: Engine) -> None:
    street = "522601002000"
    f = Filters.year_to(AS_OF).area(street)
    facts.clear()
    with demo.connect() as con:
        want = con.execute(sa.text(
            f"SELECT count(*) FROM cases c WHERE {f.case_where('c')}"), f.params()).scalar()
        assert not facts.has_city(con, f)
        assert facts.totals(con, f)["received"] == want
        areas = registry.get("street_areas").query(con, f)
        assert not facts.has_city(con, f)  # the city was never counted
        assert areas.meta["partial"] is True
        mine = next(ft for ft in areas.features if ft["properties"]["code"] == street)
        assert mine["properties"]["received"] == want
        # Once the city-wide facts are at hand, every street carries its counts.
        facts.city(con, f)
        full = registry.get("street_areas").query(con, f)
    assert full.meta["partial"] is False
    assert sum(ft["properties"]["received"] for ft in full.features) > want


def test_days_are_kaili_days_whatever_the_server_time_zone(demo: Engine) -> None:
    """A case at 23:30 in Kaili belongs to that day; one at 00:30 the next day does not."""
    day = AS_OF
    f = Filters(start=day, end=day, as_of=day, channels=("mailbox",))
    insert = sa.text(
        "INSERT INTO cases (channel, case_no, received_at, category_code, level, lead_dept, "
        "due_at) VALUES ('mailbox', :no, CAST(:t AS timestamptz), 'PM01', 'community', "
        "'community', CAST(:t AS timestamptz) + interval '7 days')")
    try:
        with demo.connect() as con, con.begin() as tx:
            facts.clear()
            before = facts.totals(con, f)["received"]
            con.execute(insert, {"no": "TZ-1", "t": f"{day} 23:30:00+08"})
            con.execute(insert, {"no": "TZ-2", "t": f"{day + dt.timedelta(days=1)} 00:30:00+08"})
            assert facts.totals(con, f)["received"] == before + 1
            tx.rollback()
    finally:
        facts.clear()  # the memo saw rows that were rolled back
