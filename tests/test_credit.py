"""Credit in the database: scores equal a recomputation from the exports, the history is
appended and audited, the lists derive from it, and the database refuses every writer but
the housing bureau (and street offices, for their committees' party building).

They run on the second demo (20,000 cases: quarters with samples enough); writes happen
inside transactions that are rolled back, so it keeps its history for the other tests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from etl import export
from geo import credit, credit_model, db, measures, party, reference, roles
from geo.credit_model import Period
from geo.scope import Scope
from tests.conftest import AS_OF, scalar

CLOSED = {"已办结", "已回访"}


@pytest.fixture(scope="module")
def demo(big_demo: Engine) -> Engine:
    return big_demo


@pytest.fixture(scope="module")
def app(big_demo: Engine) -> Iterator[Engine]:
    """The dashboard's engine: the application role on the second demo database."""
    eng = db.make_engine(roles.app_url(big_demo.url.render_as_string(hide_password=False)))
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def exported(demo: Engine) -> dict[str, pd.DataFrame]:
    with demo.connect() as con:
        return {layer: pd.DataFrame(export.read_layer(con, layer).drop(columns="geometry"))
                for layer in ("cases", "compounds", "hazards")}


def _deduct(steps: tuple[tuple[float, float], ...], value: float) -> float:
    reached = [p for t, p in steps if value >= t]
    return -reached[-1] if reached else 0.0


def _by_hand(model: credit_model.Model, ex: dict[str, pd.DataFrame], firm: str,
             period: Period, events: list[tuple[str, dt.date]]) -> dict[str, float]:
    """The points of every line, and the total, recomputed from the exports alone."""
    comp = ex["compounds"][ex["compounds"]["物业服务企业"] == firm]
    hh = int(pd.to_numeric(comp["户数"]).sum())
    names = set(comp["小区名称"])
    cats = {r["name"] for r in reference.categories() if r["code"] in model.categories}
    c = ex["cases"]
    day = pd.to_datetime(c["受理时间"]).dt.date
    c = c[c["小区"].isin(names) & c["问题类别"].isin(cats) & (day >= period.start)
          & (day <= period.end)]
    n = {"received": len(c), "overdue": int((c["是否超期"] == "是").sum()),
         "closed": int(c["办理状态"].isin(CLOSED).sum()),
         "closed_late": int((c["是否逾期办结"] == "是").sum()),
         "reopened": int((c["是否重新办理"] == "是").sum()),
         "rated": int(c["满意度"].notna().sum()),
         "unsatisfied": int((c["满意度"] == "不满意").sum())}
    dens = {"overdue_rate": ("overdue", "received"), "closed_late_rate": ("closed_late", "closed"),
            "reopen_rate": ("reopened", "received"),
            "unsatisfied_rate": ("unsatisfied", "rated")}
    h = ex["hazards"]
    found = pd.to_datetime(h["发现日期"]).dt.date
    h = h[h["小区"].isin(names) & (found >= period.start) & (found <= period.end)]
    hz = {"hazard_open": int((h["整改状态"] != "已整改").sum()),
          "hazard_overdue": int((h["是否逾期未整改"] == "是").sum())}
    out: dict[str, float] = {}
    for item in model.items:
        if item.kind == "per_1000":
            out[item.key] = (_deduct(item.steps, round(1000 * n["received"] / hh, 1))
                             if hh >= item.min_households else 0.0)
        elif item.kind == "rate":
            num, den = dens[item.key]
            out[item.key] = (_deduct(item.steps, round(100 * n[num] / n[den], 1))
                             if n[den] >= max(1, item.min_sample) else 0.0)
        else:
            out[item.key] = -min(hz[item.key] * item.points_each, item.max_points)
    first = period.shift(-(model.event_valid_quarters - 1)).start
    bonus = 0.0
    for kind, on in sorted(events, key=lambda e: e[1]):
        if first <= on <= period.end:
            pts = model.events[kind].points
            if pts > 0:
                pts = min(pts, model.max_bonus - bonus)
                bonus += pts
            out[f"{kind}@{on}"] = pts
    out["total"] = min(max(model.base + sum(out.values()), model.floor),
                       model.base + model.max_bonus)
    return out


def test_scores_equal_a_recomputation_from_the_exports(demo: Engine,
                                                       exported: dict[str, pd.DataFrame]) -> None:
    """Three firms (the black-listed one, the largest, the smallest), every quarter, every line."""
    model = credit_model.load("firm")
    with demo.connect() as con:
        ev = credit.evaluate(con, "firm")
        firms = con.execute(sa.text("""
            SELECT p.id, p.name FROM property_firms p JOIN compounds x ON x.firm_id = p.id
            GROUP BY p.id ORDER BY sum(x.households) DESC""")).all()
        black = con.execute(sa.text(
            "SELECT id, name FROM property_firms WHERE list_status = 'black' ORDER BY id")).first()
        events = con.execute(sa.text("""
            SELECT firm_id, kind, occurred_on FROM credit_events e WHERE subject = 'firm'
              AND kind <> 'withdrawal'
              AND NOT EXISTS (SELECT 1 FROM credit_events w WHERE w.withdraws = e.id)""")).all()
    assert black is not None
    assert ev.period == Period.last_complete(AS_OF) and len(ev.periods) == 4
    chosen = {int(r.id): r.name for r in (black, firms[0], firms[-1])}
    checked = 0
    for sid, name in chosen.items():
        mine = [(e.kind, e.occurred_on) for e in events if e.firm_id == sid]
        for p in ev.periods:
            expected = _by_hand(model, exported, name, p, mine)
            s = ev.score(sid, p)
            assert s is not None
            got = {ln.key: ln.points for ln in s.lines if not ln.key.startswith("event-")}
            got |= {f"{ln.key}": ln.points for ln in s.lines if ln.key.startswith("event-")}
            assert {k: v for k, v in got.items() if not k.startswith("event-")} == {
                k: v for k, v in expected.items() if "@" not in k and k != "total"}, (name, p)
            assert sorted(v for k, v in got.items() if k.startswith("event-")) == sorted(
                v for k, v in expected.items() if "@" in k), (name, p)
            assert s.total == expected["total"], (name, p)
            checked += 1
    assert checked == 4 * len(chosen) >= 8


def test_the_demo_spans_the_grades_with_a_black_list_its_events_explain(demo: Engine) -> None:
    with demo.connect() as con:
        ev = credit.evaluate(con, "firm")
        lists = credit.lists(con, "firm")
        black = lists[lists["红黑榜"] == "黑榜"]
        assert len(black) >= 1 and len(lists[lists["红黑榜"] == "红榜"]) >= 1
        for sid in black["编号"]:
            h = credit.history(con, "firm", int(sid))
            assert len(h["events"]) >= 1  # penalties, terminations or an abandonment
            assert h["lists"].iloc[-1]["新状态"] == "黑榜"
        assert (scalar(demo, "SELECT count(*) FROM property_firms WHERE list_status = 'black'")
                == len(black))
    bands = {s.band for s in (ev.score(i) for i in ev.subjects) if s is not None}
    assert len(bands) >= 4, bands
    assert ev.pending(), "the demo leaves the latest quarter's proposals to the housing account"


def test_history_is_appended_and_the_current_status_derives_from_it(demo: Engine) -> None:
    with demo.connect() as con, con.begin() as tx:
        firm = int(con.execute(sa.text(
            "SELECT id FROM property_firms WHERE list_status = 'none' ORDER BY id LIMIT 1"))
            .scalar_one())
        audits = int(con.execute(sa.text("SELECT count(*) FROM audit_log")).scalar_one())
        eid = credit.record_event(con, "firm", firm, "penalty", AS_OF, "违规收取停车费",
                                  "凯住建罚〔2026〕99号", by="t-housing")
        credit.record_list_change(con, "firm", firm, "black", "严重违规，直接认定",
                                  by="t-housing")  # decided today: the latest decision
        assert con.execute(sa.text("SELECT list_status FROM property_firms WHERE id = :i"),
                           {"i": firm}).scalar() == "black"
        credit.record_list_change(con, "firm", firm, "none", "复核后移出", by="t-housing")
        assert con.execute(sa.text("SELECT list_status FROM property_firms WHERE id = :i"),
                           {"i": firm}).scalar() == "none"
        h = credit.history(con, "firm", firm)
        assert list(h["lists"]["新状态"][:2]) == ["未列入", "黑榜"]  # newest first, both kept
        credit.withdraw_event(con, eid, AS_OF, "处罚决定已被撤销", "凯住建撤〔2026〕1号",
                              by="t-housing")
        h = credit.history(con, "firm", firm)
        mine = h["events"][h["events"]["文号"] == "凯住建罚〔2026〕99号"]
        assert list(mine["撤销理由"]) == ["处罚决定已被撤销"]  # kept, and marked withdrawn
        assert credit.event_ids(con, "firm", firm).empty or eid not in set(
            credit.event_ids(con, "firm", firm)["id"])
        assert con.execute(sa.text("SELECT count(*) FROM audit_log")).scalar() == audits + 4
        for sql in ("UPDATE credit_list_changes SET status = 'red'",
                    "DELETE FROM credit_events", "UPDATE party_building SET note = 'x'"):
            with pytest.raises(sa.exc.DBAPIError, match="只能追加"), con.begin_nested():
                con.execute(sa.text(sql))
        with pytest.raises(sa.exc.DBAPIError, match="不能直接修改"), con.begin_nested():
            con.execute(sa.text("UPDATE property_firms SET list_status = 'red' WHERE id = :i"),
                        {"i": firm})
        tx.rollback()


def test_proposals_are_confirmed_or_overridden_once(demo: Engine) -> None:
    with demo.connect() as con, con.begin() as tx:
        ev = credit.evaluate(con, "firm")
        sid = ev.pending()[0]
        prop = ev.proposals[sid]
        with pytest.raises(credit.CreditInputError, match="改判"):
            credit.record_list_change(con, "firm", sid, prop.current, "不同意", by="t-housing",
                                      basis="proposal", period=ev.period, proposed=prop.status)
        credit.record_list_change(con, "firm", sid, prop.current, "数据待核实，暂不调整",
                                  by="t-housing", basis="override", period=ev.period,
                                  proposed=prop.status)
        again = credit.evaluate(con, "firm")
        assert sid not in again.pending() and again.status[sid] == prop.current
        tx.rollback()


def test_publishing_sets_the_firms_grade_and_asks_why_the_second_time(demo: Engine) -> None:
    with demo.connect() as con, con.begin() as tx:
        ev = credit.evaluate(con, "firm")
        n = credit.publish(con, ev, by="t-housing")
        assert n == sum(1 for i in ev.subjects if (s := ev.score(i)) and s.band)
        grades: dict[int, str] = {r.id: r.credit_rating for r in con.execute(sa.text(
            "SELECT id, credit_rating FROM property_firms"))}
        assert all(grades[i] == ev.score(i).band for i in ev.subjects  # type: ignore[union-attr]
                   if ev.score(i) and ev.score(i).band)  # type: ignore[union-attr]
        with pytest.raises(credit.CreditInputError, match="已发布过"):
            credit.publish(con, ev, by="t-housing")
        assert credit.publish(con, ev, by="t-housing", note="更正数据后重新发布") == n
        tx.rollback()


def test_bad_records_are_refused_with_every_reason(demo: Engine) -> None:
    with demo.connect() as con:
        firm = int(con.execute(sa.text("SELECT min(id) FROM property_firms")).scalar_one())
        with pytest.raises(credit.CreditInputError) as err:
            credit.record_event(con, "firm", firm, "bribe", measures.today()
                                + dt.timedelta(days=3), "", " ", by="t-housing")
        text = str(err.value)
        for part in ("事项应为", "晚于今天", "请写明理由", "请填写文号"):
            assert part in text
        with pytest.raises(credit.CreditInputError, match="没有编号为 999999"):
            credit.record_event(con, "firm", 999999, "award", AS_OF, "表彰示范", "表1",
                                by="t-housing")
        with pytest.raises(credit.CreditInputError, match="早于数据起始日|无法评价"):
            credit.evaluate(con, "firm", Period(2020, 1))


def _insert_event(app: Engine, scope: Scope, firm: int, by: str) -> None:
    with app.begin() as con:
        scope.apply(con)
        con.execute(sa.text(
            "INSERT INTO credit_events (subject, firm_id, kind, occurred_on, reason, doc_no, "
            "recorded_by) VALUES ('firm', :f, 'award', :d, '表彰示范项目', '表1', :by)"),
            {"f": firm, "d": AS_OF, "by": by})


@pytest.mark.parametrize("kind", ["leader", "street", "community", "dept", "viewer", "admin"])
def test_the_database_refuses_credit_records_from_other_accounts(demo: Engine, app: Engine,
                                                                 kind: str) -> None:
    firm = int(scalar(demo, "SELECT min(id) FROM property_firms"))
    street = str(scalar(demo, "SELECT min(street_code) FROM compounds"))
    community = int(scalar(demo, "SELECT min(community_id) FROM compounds"))
    kws: dict[str, dict[str, Any]] = {
        "street": {"streets": (street,)},
        "community": {"community_id": community, "streets": (street,)},
        "dept": {"dept": "fire", "themes": ("fire",)}}
    kw = kws.get(kind, {})
    scope = Scope(kind, account=f"t-{kind}", **kw)
    with pytest.raises(sa.exc.ProgrammingError) as err:
        _insert_event(app, scope, firm, f"t-{kind}")
    assert err.value.orig.sqlstate == "42501"  # type: ignore[union-attr]
    for table in ("credit_list_changes", "credit_ratings"):
        with pytest.raises(sa.exc.ProgrammingError), app.begin() as con:
            scope.apply(con)
            con.execute(sa.text(f"INSERT INTO {table} (subject, firm_id, status, previous, "
                                "basis, reason, decided_on, recorded_by) VALUES ('firm', :f, "
                                "'red', 'none', 'manual', '理由理由', :d, :by)"
                                if table == "credit_list_changes" else
                                f"INSERT INTO {table} (subject, firm_id, band, recorded_by) "
                                "VALUES ('firm', :f, 'AAA', :by)"),
                        {"f": firm, "d": AS_OF, "by": f"t-{kind}"})


def test_the_housing_bureau_writes_only_as_itself(demo: Engine, app: Engine) -> None:
    firm = int(scalar(demo, "SELECT min(id) FROM property_firms"))
    scope = Scope("housing", account="t-housing")
    with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
        _insert_event(app, scope, firm, "someone-else")
    with app.connect() as con, con.begin() as tx:  # as itself: accepted (then rolled back)
        scope.apply(con)
        new = credit.record_event(con, "firm", firm, "award", AS_OF, "示范项目表彰",
                                  "表〔2026〕8号",
                                  by="t-housing")
        assert new > 0
        tx.rollback()


def test_street_offices_register_party_building_of_their_own_committees_only(
        demo: Engine, app: Engine) -> None:
    street = str(scalar(demo, "SELECT street_code FROM compounds WHERE owners_committee = "
                              "'established' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"))
    own = int(scalar(demo, "SELECT min(id) FROM compounds WHERE street_code = :s "
                           "AND owners_committee = 'established'", s=street))
    other = int(scalar(demo, "SELECT min(id) FROM compounds WHERE street_code <> :s "
                             "AND owners_committee = 'established'", s=street))
    firm = int(scalar(demo, "SELECT min(id) FROM property_firms"))
    scope = Scope("street", streets=(street,), account="t-street")
    with app.connect() as con, con.begin() as tx:
        scope.apply(con)
        assert party.record(con, "committee", own, has_party_org=True, party_org_name="测试党支部",
                            party_members=5, by="t-street") is not None
        with pytest.raises(party.PartyInputError, match="不在您的辖区内"):
            party.record(con, "committee", other, has_party_org=True, by="t-street")
        tx.rollback()
    # the page's check aside, the database refuses both
    for sql, params in (
            ("INSERT INTO party_building (subject, compound_id, has_party_org, source, "
             "recorded_by) VALUES ('committee', :c, true, 'dashboard', 't-street')",
             {"c": other}),
            ("INSERT INTO party_building (subject, firm_id, has_party_org, source, recorded_by) "
             "VALUES ('firm', :c, true, 'dashboard', 't-street')", {"c": firm})):
        with pytest.raises(sa.exc.ProgrammingError, match="row-level security"), \
                app.begin() as con:
            scope.apply(con)
            con.execute(sa.text(sql), params)


def test_committee_records_are_read_within_the_area(demo: Engine, app: Engine) -> None:
    street = str(scalar(demo, "SELECT x.street_code FROM credit_list_changes c JOIN compounds x "
                              "ON x.id = c.compound_id LIMIT 1"))
    other = str(scalar(demo, "SELECT min(code) FROM streets WHERE code <> :s", s=street))
    for streets, seen in (((street,), True), ((other,), False)):
        with app.begin() as con:
            Scope("street", streets=streets).apply(con)
            n = con.execute(sa.text(
                "SELECT count(*) FROM credit_list_changes WHERE subject = 'committee'")).scalar()
            firms = con.execute(sa.text(
                "SELECT count(*) FROM credit_list_changes WHERE subject = 'firm'")).scalar()
        assert bool(n) == seen and firms == scalar(
            demo, "SELECT count(*) FROM credit_list_changes WHERE subject = 'firm'")
