"""Records of the street offices' work (issue 9) against a real PostGIS, on a demo of their own.

Every kind of management event recorded through the compound card's form as a
street account, each moving the compound in or out of the 三无 layer (or from
未托管 to 已托管) and the progress figures; a street account refused in
another street's compound by the page, by the rules and by the database (SQL
run as the dashboard's role); the register's precedence; "was 三无 on D";
every write in the audit log. These tests write, so they run on a scratch
database with a demo of their own, never on the shared demo.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest

from etl import demo as demo_mod
from geo import db, history, measures, rectification, roles
from geo.measures import today
from geo.scope import Scope
from layers import progress
from layers.filters import Filters
from tests import conftest
from tests.conftest import AS_OF, app_test

F = Filters.year_to(AS_OF)
_TILE = re.compile(r'<div class="v">(.*?)</div><div class="l">(.*?)</div>')


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[Engine, str]]:
    """A scratch database with a small demo (the tests here add records to it)."""
    with conftest.scratch_database("_records") as (eng, url):
        demo_mod.build(eng, seed=42, n_cases=2_000, as_of=AS_OF, say=lambda _m: None)
        try:
            yield eng, url
        finally:  # the pages' pooled connections (as the dashboard's role) before the drop
            from dashboard import data

            data.engine(roles.app_url(url)).dispose()


def _one(eng: Engine, sql: str, **params: object) -> Any:
    with eng.connect() as con:
        return con.execute(sa.text(sql), params).one()


def _untaken(eng: Engine, street: str | None = None, n: int = 1) -> list[int]:
    """三无，未托管 compounds (largest first), optionally of one street office."""
    with eng.connect() as con:
        return [int(i) for i in con.execute(sa.text(
            "SELECT id FROM compounds WHERE is_sanwu AND management_mode <> 'street_custody' "
            "AND (CAST(:s AS text) IS NULL OR street_code = :s) "
            "ORDER BY households DESC, id LIMIT :n"), {"s": street, "n": n}).scalars()]


def _busiest(eng: Engine) -> str:
    """The street office with the most 三无，未托管 compounds of 100 households or more."""
    return str(_one(eng, "SELECT street_code FROM compounds WHERE is_sanwu "
                         "AND management_mode <> 'street_custody' AND households >= 100 "
                         "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")[0])


def _tiles(at: AppTest) -> dict[str, str]:
    html = "\n".join(m.value for m in at.markdown)
    return {label: value for value, label in _TILE.findall(html)}


def _card(eng: Engine, monkeypatch: pytest.MonkeyPatch, street: str, cid: int,
          kind: str = "street", **scope: object) -> AppTest:
    at = app_test(eng, monkeypatch, kind, **(scope or {"streets": (street,)}))
    assert isinstance(at, AppTest)
    at.run()
    at.switch_page("views/drilldown.py")
    at.query_params.update({"street": street, "compound": str(cid)})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _submit(at: AppTest, cid: int, kind: str, *, on: dt.date | None = None,
            firm: str | None = None, unit: str | None = None,
            term: dt.date | None = None) -> AppTest:
    """Fill in the card's form as a clerk does and press 记录."""
    at.selectbox(key=f"ev-kind-{cid}").set_value(kind).run()
    if on is not None:
        at.date_input(key=f"ev-date-{cid}").set_value(on).run()
    if firm is not None:
        at.selectbox(key=f"ev-firm-{cid}").set_value(firm).run()
    if unit is not None:
        at.text_input(key=f"ev-unit-{cid}").input(unit).run()
    if term is not None:
        at.date_input(key=f"ev-term-{cid}").set_value(term).run()
    at.button(key=f"ev-save-{cid}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _state(eng: Engine, cid: int) -> Any:
    return _one(eng, "SELECT management_mode, firm_id, competent_dept, owners_committee, "
                     "committee_term_end, is_sanwu FROM compounds WHERE id = :i", i=cid)


def _sanwu_layer(eng: Engine, street: str) -> dict[int, str]:
    """The 三无 layer of ``street`` as the map gets it: compound id → 未托管 / 已托管."""
    from layers import facts, sanwu

    facts.clear()
    with eng.connect() as con:
        data = sanwu.query(con, F.area(street))
    return {int(ft["properties"]["id"]): ft["properties"]["state"] for ft in data.features}


def _writes(eng: Engine, account: str) -> int:
    return int(_one(eng, "SELECT count(*) FROM audit_log WHERE account = :a AND event = 'write'",
                    a=account)[0])


# --- every kind of event, through the form, as a street account -----------------------------

def test_every_kind_of_event_through_the_card_moves_the_layer_and_the_figures(
        world: tuple[Engine, str], monkeypatch: pytest.MonkeyPatch) -> None:
    eng, _url = world
    street = _busiest(eng)
    cid, other = _untaken(eng, street, 2)
    firm = str(_one(eng, "SELECT name FROM property_firms ORDER BY id LIMIT 1")[0])
    day = today()
    at = _card(eng, monkeypatch, street, cid)
    tiles = _tiles(at)
    writes = _writes(eng, "test-street")
    assert _sanwu_layer(eng, street)[cid] == "三无，未托管"

    def step(kind: str, **kw: Any) -> dict[str, str]:
        nonlocal at
        at = _submit(at, cid if kind != "mgmt_committee" else other, kind, **kw)
        assert not at.error, [e.value for e in at.error]
        assert at.success and "已记录" in at.success[0].value
        return _tiles(at)

    # 街道托管: still 三无, now 已托管; the figures count it at once
    after = step("takeover")
    s = _state(eng, cid)
    assert (s.management_mode, s.is_sanwu) == ("street_custody", True)
    assert _sanwu_layer(eng, street)[cid] == "三无，已托管"
    assert int(after["期内托管"]) == int(tiles["期内托管"]) + 1
    assert int(after["三无未托管"]) == int(tiles["三无未托管"]) - 1
    assert int(after["三无已托管"]) == int(tiles["三无已托管"]) + 1
    # 引入物业服务企业: leaves the 三无 layer
    after = step("firm_in", firm=firm)
    s = _state(eng, cid)
    assert (s.management_mode, s.is_sanwu) == ("property_firm", False) and s.firm_id
    assert cid not in _sanwu_layer(eng, street)
    assert int(after["三无已托管"]) == int(tiles["三无已托管"])
    # 退出/撤场: 三无 again, nobody manages it
    after = step("firm_out")
    assert tuple(_state(eng, cid)[:2]) == ("none", None)
    assert _sanwu_layer(eng, street)[cid] == "三无，未托管"
    assert int(after["三无未托管"]) == int(tiles["三无未托管"])
    # 单位自管: a managing unit is a competent department, so not 三无 ...
    step("work_unit", unit="凯里市测试机械厂")
    s = _state(eng, cid)
    assert (s.management_mode, s.competent_dept, s.is_sanwu) == ("work_unit", "凯里市测试机械厂",
                                                                 False)
    # ... until the unit leaves too
    step("firm_out")
    s = _state(eng, cid)
    assert (s.management_mode, s.competent_dept, s.is_sanwu) == ("none", None, True)
    # 业主自管 without a committee is still 三无
    step("owners_self")
    assert tuple(_state(eng, cid)[::5]) == ("owners_self", True)
    # 成立业主大会/业主委员会: an owners' organisation, so not 三无; the committee rate moves
    rate_before = tiles["业委会组建率"]
    term = day.replace(year=day.year + 5)
    after = step("committee_formed", term=term)
    s = _state(eng, cid)
    assert (s.owners_committee, s.committee_term_end, s.is_sanwu) == ("established", term, False)
    assert cid not in _sanwu_layer(eng, street)
    assert float(after["业委会组建率"].rstrip("%")) > float(rate_before.rstrip("%"))
    # 业委会换届: a new term
    step("committee_renewed", term=term.replace(year=term.year + 1))
    assert _state(eng, cid).committee_term_end == term.replace(year=term.year + 1)
    # 成立物业管理委员会, on another 三无 compound: an owners' organisation too
    at.query_params["compound"] = str(other)
    at.run()
    step("mgmt_committee")
    assert tuple(_state(eng, other)[3::2]) == ("mgmt_committee", False)
    assert other not in _sanwu_layer(eng, street)
    # every write in the audit log, as the account, with what it wrote
    assert _writes(eng, "test-street") == writes + 9
    kinds = {r[0] for r in eng.connect().execute(sa.text(
        "SELECT detail -> 'kinds' ->> 0 FROM audit_log WHERE account = 'test-street' "
        "AND event = 'write' ORDER BY id DESC LIMIT 9"))}
    assert kinds == set(history.ACTIONS)
    recorded = {(r.kind, r.recorded_by, r.source) for r in eng.connect().execute(sa.text(
        "SELECT kind, recorded_by, source FROM compound_events WHERE compound_id IN (:a, :b) "
        "AND source = 'dashboard'"), {"a": cid, "b": other})}
    assert recorded == {(k, "test-street", "dashboard") for k in history.ACTIONS}


def test_the_form_refuses_with_a_reason_and_writes_nothing(
        world: tuple[Engine, str], monkeypatch: pytest.MonkeyPatch) -> None:
    eng, _url = world
    street = _busiest(eng)
    cid = _untaken(eng, street)[0]
    at = _card(eng, monkeypatch, street, cid)
    before = _one(eng, "SELECT count(*) FROM compound_events")[0]
    at = _submit(at, cid, "firm_in")  # no firm chosen
    assert at.error and history.R_NO_FIRM in at.error[0].value
    at = _submit(at, cid, "committee_renewed")  # no committee to renew
    assert at.error and history.R_NO_COMMITTEE in at.error[0].value
    assert _one(eng, "SELECT count(*) FROM compound_events")[0] == before
    # a date in the future is refused by the rules (the date widget also stops at today) ...
    with eng.connect() as con:
        checked = history.check(con, history.frame([history.Proposal(
            cid, "takeover", today() + dt.timedelta(days=1))]), account_kind="street",
            streets=(street,))
    assert checked["reason"].tolist() == [history.R_FUTURE]
    # ... and by the database
    with pytest.raises(sa.exc.DBAPIError, match="晚于今天"), eng.begin() as con:
        con.execute(sa.text("INSERT INTO compound_events (compound_id, kind, on_date, source) "
                            "VALUES (:c, 'takeover', :d, 'cli')"),
                    {"c": cid, "d": today() + dt.timedelta(days=1)})


# --- a street account in another street's compound ------------------------------------------

def test_a_street_account_cannot_record_in_another_streets_compound(
        world: tuple[Engine, str], monkeypatch: pytest.MonkeyPatch) -> None:
    eng, url = world
    street = _busiest(eng)
    mine = _untaken(eng, street)[0]
    foreign_street, theirs = _one(
        eng, "SELECT street_code, id FROM compounds WHERE is_sanwu AND street_code <> :s "
             "AND management_mode <> 'street_custody' ORDER BY id LIMIT 1", s=street)
    # the page: the card of another street's compound is refused, no form is drawn
    at = app_test(eng, monkeypatch, "street", streets=(street,))
    assert isinstance(at, AppTest)
    at.run()
    at.switch_page("views/drilldown.py")
    at.query_params.update({"street": foreign_street, "compound": str(theirs)})
    at.run()
    assert at.error and "无权查看" in at.error[0].value
    assert not [s for s in at.selectbox if str(s.key).startswith("ev-kind-")]
    # the rules: under the street's scope the compound is not even found
    app = db.make_engine(roles.app_url(url))
    try:
        with app.begin() as con:
            Scope("street", streets=(street,), account="t-sql").apply(con)
            checked = history.check(con, history.frame([history.Proposal(
                int(theirs), "takeover", today())]), account_kind="street", streets=(street,))
            assert checked["reason"].tolist() == [history.R_NO_COMPOUND]
            with pytest.raises(history.RecordError, match="数据库拒绝写入"):
                history.record(con, checked.assign(outcome=history.RECORD,
                                                   compound_id=int(theirs)),
                               source="dashboard", recorded_by="t-sql", role="street")
        # the database, by SQL as the dashboard's role: another street's compound is refused
        insert = ("INSERT INTO compound_events (compound_id, kind, on_date, source, term_end) "
                  "VALUES (:c, :k, :d, :s, :d + 1800)")
        for cid, kind, source in ((theirs, "takeover", "dashboard"),
                                  (theirs, "committee_formed", "dashboard"),
                                  (mine, "registered", "register"),  # not a street's to state
                                  (mine, "takeover", "register")):
            with pytest.raises(sa.exc.ProgrammingError, match="row-level security"), \
                    app.begin() as con:
                Scope("street", streets=(street,), account="t-sql").apply(con)
                con.execute(sa.text(insert), {"c": cid, "k": kind, "d": today(), "s": source})
        # a housing-bureau account may not take over (a street's own act), even by SQL
        with pytest.raises(sa.exc.ProgrammingError, match="row-level security"), \
                app.begin() as con:
            Scope("housing", account="t-sql").apply(con)
            con.execute(sa.text(insert), {"c": mine, "k": "takeover", "d": today(),
                                          "s": "dashboard"})
        # nor change a compound, nor rewrite or delete a record
        for sql in ("UPDATE compounds SET management_mode = 'none' WHERE id = :c",
                    "UPDATE compound_events SET note = 'x' WHERE compound_id = :c",
                    "DELETE FROM compound_events WHERE compound_id = :c"):
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"), \
                    app.begin() as con:
                Scope("street", streets=(street,), account="t-sql").apply(con)
                con.execute(sa.text(sql), {"c": mine})
        # its own compound: accepted, recorded as itself whatever it claims
        with app.connect() as con, con.begin() as tx:
            Scope("street", streets=(street,), account="t-sql").apply(con)
            con.execute(sa.text(
                "INSERT INTO compound_events (compound_id, kind, on_date, source, recorded_by) "
                "VALUES (:c, 'takeover', :d, 'dashboard', 'someone-else')"),
                {"c": mine, "d": today()})
            who = con.execute(sa.text("SELECT recorded_by FROM compound_events "
                                      "WHERE compound_id = :c ORDER BY id DESC LIMIT 1"),
                              {"c": mine}).scalar()
            assert who == "t-sql"
            tx.rollback()
    finally:
        app.dispose()
    assert _state(eng, int(theirs)).management_mode != "street_custody"


def test_the_meeting_room_screen_sees_the_history_without_notes_or_names(
        world: tuple[Engine, str], monkeypatch: pytest.MonkeyPatch) -> None:
    eng, _url = world
    street, cid = _one(eng, "SELECT x.street_code, x.id FROM compounds x JOIN compound_events e "
                            "ON e.compound_id = x.id WHERE e.note IS NOT NULL "
                            "ORDER BY x.id LIMIT 1")
    at = _card(eng, monkeypatch, street, cid, "viewer", streets=())
    assert not at.error, [e.value for e in at.error]
    table = next(d.value for d in at.dataframe if "事项" in d.value.columns)
    assert len(table) >= 2 and not {"备注", "文号", "记录人"} & set(table.columns)
    assert not [s for s in at.selectbox if str(s.key).startswith("ev-kind-")]  # no form


def test_the_history_cannot_be_rewritten_nor_the_state_set_directly(
        world: tuple[Engine, str]) -> None:
    eng, _url = world
    cid = _untaken(eng)[0]
    for sql, why in (("UPDATE compounds SET management_mode = 'street_custody' WHERE id = :c",
                      "由管理记录推导"),
                     ("UPDATE compound_events SET note = 'x' WHERE compound_id = :c", "只能追加"),
                     ("DELETE FROM compound_events WHERE compound_id = :c", "只能追加"),
                     ("UPDATE hazards SET status = 'closed', closed_on = found_on "
                      "WHERE compound_id = :c", "由整改记录推导")):
        with pytest.raises(sa.exc.DBAPIError, match=why), eng.begin() as con:
            con.execute(sa.text(sql), {"c": cid})
    # other columns stay editable (names, geometry ...)
    with eng.connect() as con, con.begin() as tx:
        con.execute(sa.text("UPDATE compounds SET name = name || '' WHERE id = :c"), {"c": cid})
        tx.rollback()


# --- what was true on a day ------------------------------------------------------------------

def test_was_sanwu_on_the_days_before_and_after_an_event(world: tuple[Engine, str]) -> None:
    eng, _url = world
    cid = _untaken(eng)[0]
    firm = int(_one(eng, "SELECT id FROM property_firms ORDER BY id LIMIT 1")[0])
    day = today() - dt.timedelta(days=3)
    with eng.begin() as con:
        assert history.was_sanwu(con, cid, day) is True
        checked = history.check(con, pd.DataFrame({
            "compound": [cid], "kind": ["firm_in"], "on_date": [day],
            "firm": [_one(eng, "SELECT name FROM property_firms WHERE id = :i", i=firm)[0]],
            "unit": [None], "term_end": [None], "doc_no": ["凯测〔2026〕1号"],
            "note": ["联系人 13812345678"]}), account_kind=None)
        assert checked["outcome"].tolist() == [history.RECORD]
        history.record(con, checked, source="cli", recorded_by="cli:test", role="operator")
    with eng.connect() as con:
        assert history.was_sanwu(con, cid, day - dt.timedelta(days=1)) is True
        assert history.was_sanwu(con, cid, day) is False
        assert history.was_sanwu(con, cid, today()) is False
        assert history.was_sanwu(con, cid, dt.date(1990, 1, 1)) is None  # not registered then
        states = history.states_on(con, [day - dt.timedelta(days=1), day], [cid])
        assert states["management_mode"].tolist() == ["none", "property_firm"]
        # the derived columns are the history folded to today, for every compound
        diff = con.execute(sa.text("""
            SELECT count(*) FROM compounds x
            JOIN compound_states_on(ARRAY[CAST(:d AS date)]) s ON s.compound_id = x.id
            WHERE (x.management_mode, x.firm_id, x.competent_dept, x.owners_committee,
                   x.is_sanwu, x.committee_term_end)
                  IS DISTINCT FROM (s.management_mode, s.firm_id, s.competent_dept,
                                    s.owners_committee, s.is_sanwu, s.committee_term_end)"""),
            {"d": today()}).scalar()
        assert diff == 0
        note = con.execute(sa.text("SELECT note FROM compound_events WHERE compound_id = :c "
                                   "ORDER BY id DESC LIMIT 1"), {"c": cid}).scalar()
        assert note == "联系人 138****5678"  # free text is masked before it is stored


# --- hazards through the form, as the fire brigade ------------------------------------------

def test_the_fire_brigade_follows_a_hazard_to_its_end_in_the_page(
        world: tuple[Engine, str], monkeypatch: pytest.MonkeyPatch) -> None:
    eng, _url = world
    at = app_test(eng, monkeypatch, "dept", dept="fire", themes=("fire",))
    assert isinstance(at, AppTest)
    at.run()
    at.switch_page("views/hotspots.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    pick = at.selectbox(key="hz-pick-hs-fire")
    hid = int(str(pick.value))
    # the form offers exactly the hazards the page lists (and downloads)
    listed = next(d.value for d in at.dataframe if "隐患编号" in d.value.columns)
    offered = {int(re.match(r"#(\d+) ", str(o)).group(1)) for o in pick.options}  # type: ignore[union-attr]
    assert offered == set(listed["隐患编号"]) and hid in offered
    assert _one(eng, "SELECT theme FROM hazards WHERE id = :h", h=hid)[0] == "fire"
    status = _one(eng, "SELECT status FROM hazards WHERE id = :h", h=hid)[0]
    if status == "open":
        at.selectbox(key="hz-step-hs-fire").set_value("rectifying").run()
        at.button(key="hz-save-hs-fire").click().run()
        assert at.success, [e.value for e in at.error]
        assert _one(eng, "SELECT status FROM hazards WHERE id = :h", h=hid)[0] == "rectifying"
        at.selectbox(key="hz-pick-hs-fire").set_value(hid).run()
    at.selectbox(key="hz-step-hs-fire").set_value("closed").run()
    at.button(key="hz-save-hs-fire").click().run()  # without saying what was done: refused
    assert at.error and rectification.R_NO_NOTE in at.error[0].value
    at.text_area(key="hz-note-hs-fire").input("已清理楼道堆放物，复查合格").run()
    at.button(key="hz-save-hs-fire").click().run()
    assert at.success, [e.value for e in at.error]
    h = _one(eng, "SELECT status, closed_on FROM hazards WHERE id = :h", h=hid)
    assert (h.status, h.closed_on) == ("closed", today())
    last = _one(eng, "SELECT kind, recorded_by, source, note FROM hazard_events "
                     "WHERE hazard_id = :h ORDER BY id DESC LIMIT 1", h=hid)
    assert tuple(last) == ("closed", "test-dept", "dashboard", "已清理楼道堆放物，复查合格")
    assert _one(eng, "SELECT count(*) FROM audit_log WHERE account = 'test-dept' "
                     "AND event = 'write' AND detail ->> 'what' = 'hazard_events'")[0] >= 2 \
        - (status != "open")


def test_a_street_account_cannot_close_another_streets_hazard_by_sql(
        world: tuple[Engine, str]) -> None:
    eng, url = world
    street = _busiest(eng)
    hid = _one(eng, f"SELECT h.id FROM hazards h JOIN compounds x ON x.id = h.compound_id "
                    f"WHERE x.street_code <> :s AND {measures.hazard_open('h')} "
                    f"ORDER BY h.id LIMIT 1", s=street)[0]
    app = db.make_engine(roles.app_url(url))
    try:
        with pytest.raises(sa.exc.ProgrammingError, match="row-level security"), \
                app.begin() as con:
            Scope("street", streets=(street,), account="t-sql").apply(con)
            con.execute(sa.text("INSERT INTO hazard_events (hazard_id, kind, on_date, note, "
                                "source) VALUES (:h, 'closed', :d, 'x', 'dashboard')"),
                        {"h": hid, "d": today()})
    finally:
        app.dispose()


def test_a_blank_spreadsheet_note_is_no_note(world: tuple[Engine, str]) -> None:
    """A note cell left empty reaches the checks as NaN (pandas): closing a hazard without a
    note is refused, and a step with it stores no note, not the text "nan"."""
    eng, _url = world
    hid = _one(eng, f"SELECT h.id FROM hazards h WHERE h.status = 'rectifying' "
                    f"AND h.due_on < :d AND {measures.hazard_open('h')} ORDER BY h.id LIMIT 1",
               d=today())[0]
    steps = pd.DataFrame({"hazard_id": [hid, hid], "kind": ["closed", "overdue"],
                          "on_date": [today(), today()], "note": [float("nan")] * 2})
    with eng.connect() as con, con.begin() as tx:
        checked = rectification.check(con, steps, account_kind=None)
        assert checked.loc[0, "reason"] == rectification.R_NO_NOTE
        assert checked.loc[0, "outcome"] == history.REFUSED
        recordable = checked[checked["outcome"] == history.RECORD]
        ids = rectification.record(con, recordable, source="cli", recorded_by="t")
        notes = [con.execute(sa.text("SELECT note FROM hazard_events WHERE id = :i"),
                             {"i": i}).scalar() for i in ids]
        tx.rollback()
    assert len(ids) == 1 and notes == [None]


# --- the progress figures are the same everywhere -------------------------------------------

def test_progress_tiles_equal_the_progress_export_and_sql(
        world: tuple[Engine, str], monkeypatch: pytest.MonkeyPatch) -> None:
    eng, _url = world
    at = app_test(eng, monkeypatch, "leader")
    assert isinstance(at, AppTest)
    at.run()
    at.switch_page("views/progress.py")
    at.run()
    assert not at.exception and not at.error
    tiles = _tiles(at)
    table = at.dataframe[0].value
    assert int(tiles["三无未托管"]) == int(table["三无未托管"].sum())
    assert int(tiles["期内托管"]) == int(table["期内托管"].sum())
    end = progress.period_end(F)
    assert end == max(AS_OF, today())
    with eng.connect() as con:
        untaken = con.execute(sa.text(
            "SELECT count(*) FROM compound_states_on(ARRAY[CAST(:d AS date)]) s "
            f"WHERE {measures.sanwu_untaken('s')}"), {"d": end}).scalar()
        start = con.execute(sa.text(
            "SELECT count(*) FROM compound_states_on(ARRAY[CAST(:d AS date)]) s WHERE s.is_sanwu"),
            {"d": F.start - dt.timedelta(days=1)}).scalar()
        taken = con.execute(sa.text(
            "SELECT count(DISTINCT compound_id) FROM compound_events WHERE kind = 'takeover' "
            "AND applied AND on_date BETWEEN :a AND :b"), {"a": F.start, "b": end}).scalar()
        found = con.execute(sa.text("SELECT count(*) FROM hazards h WHERE h.found_on "
                                    "BETWEEN :a AND :b AND h.compound_id IS NOT NULL"),
                            {"a": F.start, "b": end}).scalar()
    assert (int(tiles["三无未托管"]), int(tiles["期初三无"]), int(tiles["期内托管"]),
            int(tiles["期内发现隐患"])) == (untaken, start, taken, found)
    # the monthly trend ends where the tiles stand
    with eng.connect() as con:
        month = progress.monthly(con, F)
    assert int(month["untaken"].iloc[-1]) == untaken
    assert int(month["found"].sum()) == found


def test_owners_committees_page_lists_overdue_and_missing(
        world: tuple[Engine, str], monkeypatch: pytest.MonkeyPatch) -> None:
    eng, _url = world
    street = str(_one(eng, "SELECT street_code FROM compounds WHERE owners_committee = "
                           "'established' AND committee_term_end < :d GROUP BY 1 "
                           "ORDER BY count(*) DESC LIMIT 1", d=today())[0])
    at = app_test(eng, monkeypatch, "street", streets=(street,))
    assert isinstance(at, AppTest)
    at.run()
    at.switch_page("views/owners.py")
    at.run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    cm = history.committee_settings()["eligible_min_households"]
    overdue = _one(eng, "SELECT count(*) FROM compounds WHERE street_code = :s "
                        "AND owners_committee = 'established' AND committee_term_end < :d",
                   s=street, d=progress.period_end(F))[0]
    missing = _one(eng, "SELECT count(*) FROM compounds WHERE street_code = :s AND households "
                        ">= :m AND owners_committee NOT IN ('established', 'mgmt_committee')",
                   s=street, m=cm)[0]
    assert (table["提示"] == "到期未换届").sum() == overdue > 0
    assert (table["提示"] == "应建未建").sum() == missing
    assert list(table["提示"][:overdue]) == ["到期未换届"] * overdue  # overdue renewals first
    assert _tiles(at)["到期未换届"] == str(overdue)


# --- the demo shows every state ----------------------------------------------------------------

def test_the_demo_has_a_plausible_history_where_every_state_shows(
        world: tuple[Engine, str]) -> None:
    # the module's own demo: the shared one may have been migrated down and up by another test.
    # States are read as of the demo's day, which this module's records (dated today) leave be.
    demo, _url = world
    start = AS_OF - dt.timedelta(days=364)
    with demo.connect() as con:
        kinds: dict[str, int] = dict(con.execute(sa.text(
            "SELECT kind, count(*) FROM compound_events WHERE on_date >= :a GROUP BY 1"),
            {"a": start}).all())
        states: dict[str, int] = dict(con.execute(sa.text(
            "SELECT CASE WHEN is_sanwu AND management_mode = 'street_custody' THEN 'custody' "
            "WHEN is_sanwu THEN 'untaken' WHEN owners_committee = 'mgmt_committee' THEN 'mgmt' "
            "WHEN owners_committee = 'established' AND committee_term_end < :d THEN 'overdue' "
            "ELSE 'other' END, count(*) FROM compound_states_on(ARRAY[CAST(:d AS date)]) "
            "GROUP BY 1"), {"d": AS_OF}).all())
        hazards: dict[str, int] = dict(con.execute(sa.text(
            "SELECT status, count(*) FROM hazards GROUP BY 1")).all())
        registered = con.execute(sa.text(
            "SELECT count(*), count(on_date), max(on_date) FROM compound_events "
            "WHERE kind = 'registered'")).one()
        n = int(con.execute(sa.text("SELECT count(*) FROM compounds")).scalar() or 0)
        sanwu = [int(con.execute(sa.text(
            "SELECT count(*) FROM compound_states_on(ARRAY[CAST(:d AS date)]) WHERE is_sanwu"),
            {"d": d}).scalar() or 0) for d in (start - dt.timedelta(days=1), AS_OF)]
    # the demo year holds takeovers, firms in and out, committees formed and renewed
    for k in ("takeover", "firm_in", "firm_out", "committee_formed", "committee_renewed"):
        assert kinds.get(k, 0) > 0, k
    assert all(states.get(k, 0) > 0 for k in ("custody", "untaken", "mgmt", "overdue")), states
    assert all(hazards.get(s, 0) > 0 for s in ("open", "rectifying", "closed", "overdue"))
    # every compound registered with a date, before the demo year
    assert registered[0] == registered[1] == n and registered[2] is not None
    assert registered[2] < start
    # fewer 三无 at the end of the year than at its start, still 6–9 % of all compounds
    assert sanwu[1] < sanwu[0]
    assert 0.06 <= sanwu[1] / n <= 0.09


def test_the_demos_history_is_deterministic() -> None:
    import numpy as np

    from etl import synthetic

    demo = synthetic.make_demo(42, AS_OF)
    street_of = {int(i): "522601001000" for i in demo.compounds.id}
    a = synthetic.make_compound_history(demo.compounds, demo.streets, street_of, AS_OF,
                                        np.random.default_rng(44))
    b = synthetic.make_compound_history(demo.compounds, demo.streets, street_of, AS_OF,
                                        np.random.default_rng(44))
    pd.testing.assert_frame_equal(a, b)
    assert set(a["compound_id"]) == set(demo.compounds.id)
    assert (a.groupby("compound_id")["kind"].first() == "registered").all()


# --- one current state for credit, coverage and progress ----------------------------------

def _cls(eng: Engine, cid: int) -> str | None:
    from geo import coverage

    return _one(eng, f"SELECT {coverage.class_sql('x')} FROM compounds x WHERE id = :i",
                i=cid)[0]


def _one_definition(eng: Engine) -> None:
    """The committees the credit model scores, the coverage classes and the progress
    conditions agree on every compound of the database."""
    from geo import committees, coverage

    with eng.connect() as con:
        found = committees.from_history(con)
        state = {int(r.id): r for r in con.execute(sa.text(
            "SELECT id, committee_term_end, is_sanwu, management_mode, "
            f"{measures.committee_formed('x')} AS formed, "
            f"{measures.sanwu_untaken('x')} AS untaken, "
            f"{measures.sanwu_in_custody('x')} AS custody, {coverage.class_sql('x')} AS cls "
            "FROM compounds x"))}
    assert {c.id for c in found} == {i for i, r in state.items() if r.formed}
    for c in found:  # the term in force is the compound's current term
        if c.terms is not None:
            assert c.terms[-1].end == state[c.id].committee_term_end, c
    assert {i for i, r in state.items() if r.cls == "sanwu"} == \
        {i for i, r in state.items() if r.untaken}
    assert {i for i, r in state.items() if r.cls == "custody" and r.is_sanwu} == \
        {i for i, r in state.items() if r.custody}


def test_credit_committees_and_coverage_follow_the_recorded_history(
        world: tuple[Engine, str]) -> None:
    from geo import committees
    from geo.credit_model import Period

    eng, _url = world
    _one_definition(eng)
    cid = _untaken(eng, n=40)[-1]
    day = today()
    period = Period.of(day)

    def rec(kind: str, on: dt.date, term: dt.date | None = None) -> None:
        with eng.begin() as con:
            checked = history.check(con, history.frame([history.Proposal(
                cid, kind, on, term_end=term)]), account_kind=None)
            assert checked["outcome"].tolist() == [history.RECORD], checked["reason"].tolist()
            history.record(con, checked, source="cli", recorded_by="cli:test", role="operator")

    def mine() -> committees.Committee | None:
        with eng.connect() as con:
            return next((c for c in committees.from_history(con) if c.id == cid), None)

    assert mine() is None and _cls(eng, cid) == "sanwu"
    # owner-managed in name only (no owners' organisation): still 三无，未托管 everywhere
    rec("owners_self", day - dt.timedelta(days=60))
    assert _state(eng, cid).is_sanwu and _cls(eng, cid) == "sanwu"
    with eng.connect() as con:
        assert not committees.exists(con, cid)
    _one_definition(eng)
    # a committee formed whose term has already run out: scored, past its term
    formed, ended = day - dt.timedelta(days=50), day - dt.timedelta(days=10)
    rec("committee_formed", formed, ended)
    c = mine()
    assert c is not None and c.terms == (committees.Term(formed, ended),)
    assert committees.governance(c, period, day)["renewal"] is True
    assert _cls(eng, cid) == "owners_self" and not _state(eng, cid).is_sanwu
    with eng.connect() as con:
        assert committees.exists(con, cid)
        assert con.execute(sa.text(
            f"SELECT {measures.committee_overdue('x', ':d')} FROM compounds x WHERE id = :i"),
            {"d": day, "i": cid}).scalar() is True
    # renewed: two terms, the new one in force, no longer overdue
    renewed = day - dt.timedelta(days=5)
    rec("committee_renewed", renewed, renewed.replace(year=renewed.year + 5))
    c = mine()
    assert c is not None and c.terms is not None and len(c.terms) == 2
    assert committees.governance(c, period, day)["renewal"] is False
    _one_definition(eng)
