"""Typical cases (典型案例): marked by the joint meeting and the housing bureau only.

The rule is checked twice, as it is enforced twice: by the page (only the
accounts allowed see the form; others are told who marks) and by PostgreSQL
(the other scope roles may not insert or delete a mark, and a mark must be in
the writer's own name), each write in the audit log.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest

from geo import db, periods, roles, typical
from geo.scope import Scope
from tests import conftest
from tests.conftest import AS_OF, app_test, scalar

QUARTER = periods.quarter_name(AS_OF)


@pytest.fixture(scope="module")
def app(demo: Engine) -> Iterator[Engine]:
    eng = db.make_engine(roles.app_url(conftest.test_url()))
    yield eng
    eng.dispose()


@pytest.fixture
def case_id(demo: Engine) -> Iterator[int]:
    """A case of the quarter not yet typical; its marks are removed afterwards."""
    cid = int(scalar(demo, """SELECT c.id FROM cases c WHERE c.received_at >= '2026-04-01'
        AND c.level = 'city' AND c.street_code IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM typical_cases t WHERE t.case_id = c.id)
        ORDER BY c.id LIMIT 1"""))
    yield cid
    with demo.begin() as con:
        con.execute(sa.text("DELETE FROM typical_cases WHERE case_id = :c"), {"c": cid})


def _scope(demo: Engine, kind: str, account: str) -> Scope:
    street = str(scalar(demo, "SELECT street_code FROM cases WHERE street_code IS NOT NULL "
                              "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"))
    community = scalar(demo, "SELECT min(community_id) FROM cases WHERE street_code = :s",
                       s=street)
    extra: dict[str, Any] = {"street": {"streets": (street,)},
                             "community": {"community_id": community, "streets": (street,)},
                             "dept": {"dept": "fire", "themes": ("fire",)}}.get(kind, {})
    return Scope(kind, account=account, **extra)


@pytest.mark.parametrize("kind", typical.MARKERS)
def test_the_meeting_and_the_housing_bureau_mark_and_unmark(app: Engine, demo: Engine,
                                                           case_id: int, kind: str) -> None:
    scope = _scope(demo, kind, f"t-{kind}-marker")
    with app.begin() as con:
        scope.apply(con)
        typical.mark(con, scope, case_id, QUARTER, "  多部门推诿，电话 13812345678 反映未果  ",
                     as_of=AS_OF)
    note, by = conftest_row(demo, "SELECT note, marked_by FROM typical_cases "
                                  "WHERE case_id = :c AND quarter = :q", c=case_id, q=QUARTER)
    assert note == "多部门推诿，电话 138****5678 反映未果" and by == f"t-{kind}-marker"
    assert scalar(demo, "SELECT count(*) FROM audit_log WHERE account = :a AND event = 'write' "
                        "AND detail->>'action' = 'mark' AND (detail->>'case_id')::bigint = :c",
                  a=f"t-{kind}-marker", c=case_id) == 1
    with pytest.raises(typical.TypicalCaseError, match="已是"), app.begin() as con:
        scope.apply(con)
        typical.mark(con, scope, case_id, QUARTER, "再标一次", as_of=AS_OF)
    with app.begin() as con:
        scope.apply(con)
        typical.unmark(con, scope, case_id, QUARTER)
    assert scalar(demo, "SELECT count(*) FROM typical_cases WHERE case_id = :c", c=case_id) == 0
    assert scalar(demo, "SELECT count(*) FROM audit_log WHERE account = :a "
                        "AND detail->>'action' = 'unmark'", a=f"t-{kind}-marker") >= 1


def conftest_row(engine: Engine, sql: str, **params: object) -> tuple[Any, ...]:
    with engine.connect() as con:
        return tuple(con.execute(sa.text(sql), params).one())


@pytest.mark.parametrize("kind", ["street", "community", "dept", "viewer", "admin"])
def test_every_other_account_is_refused_by_the_database(app: Engine, demo: Engine,
                                                        case_id: int, kind: str) -> None:
    scope = _scope(demo, kind, f"t-{kind}")
    with pytest.raises(typical.TypicalCaseError, match="只有联席会议和住建局"), \
            app.begin() as con:
        scope.apply(con)
        typical.mark(con, scope, case_id, QUARTER, "说明", as_of=AS_OF)
    # a page that forgot to ask is refused by the database itself
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"), \
            app.begin() as con:
        scope.apply(con)
        con.execute(sa.text("INSERT INTO typical_cases (case_id, quarter, note, marked_by) "
                            "VALUES (:c, :q, '说明', :a)"),
                    {"c": case_id, "q": QUARTER, "a": f"t-{kind}"})
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"), \
            app.begin() as con:
        scope.apply(con)
        con.execute(sa.text("DELETE FROM typical_cases"))
    assert scalar(demo, "SELECT count(*) FROM typical_cases WHERE case_id = :c", c=case_id) == 0


def test_a_mark_is_in_the_writers_own_name(app: Engine, demo: Engine, case_id: int) -> None:
    leader = _scope(demo, "leader", "t-leader-self")
    with pytest.raises(sa.exc.ProgrammingError, match="row-level security"), \
            app.begin() as con:
        leader.apply(con)
        con.execute(sa.text("INSERT INTO typical_cases (case_id, quarter, note, marked_by) "
                            "VALUES (:c, :q, '说明', 'somebody-else')"),
                    {"c": case_id, "q": QUARTER})


@pytest.mark.parametrize(("quarter", "note", "message"), [
    ("2026Q5", "说明", "季度"),
    ("2027Q1", "说明", "尚未开始"),
    ("2025Q4", "说明", "晚于"),
    (QUARTER, "   ", "请填写"),
    (QUARTER, "长" * 201, "过长"),
])
def test_a_mark_that_makes_no_sense_is_refused(app: Engine, demo: Engine, case_id: int,
                                               quarter: str, note: str, message: str) -> None:
    leader = _scope(demo, "leader", "t-leader")
    with pytest.raises(typical.TypicalCaseError, match=message), app.begin() as con:
        leader.apply(con)
        typical.mark(con, leader, case_id, quarter, note, as_of=AS_OF)


# --- the pages ----------------------------------------------------------------------------

def _open_card(demo: Engine, monkeypatch: pytest.MonkeyPatch, kind: str, case_id: int,
               **scope: object) -> AppTest:
    at: AppTest = app_test(demo, monkeypatch, kind, **scope)  # type: ignore[assignment]
    at.switch_page("views/cases.py")
    at.query_params["case"] = str(case_id)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_an_allowed_account_marks_a_case_on_its_card(demo: Engine, case_id: int,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    at = _open_card(demo, monkeypatch, "housing", case_id)
    assert at.selectbox(key="tc_quarter").value == QUARTER
    at.text_area(key="tc_note").input("首次办理未到位，退回重办，作为责任落实的典型")
    next(b for b in at.button if b.label == "标记为典型案例").click().run()
    assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
    assert scalar(demo, "SELECT note FROM typical_cases WHERE case_id = :c AND quarter = :q",
                  c=case_id, q=QUARTER) == "首次办理未到位，退回重办，作为责任落实的典型"
    assert scalar(demo, "SELECT count(*) FROM audit_log WHERE account = 'test-housing' "
                        "AND detail->>'what' = 'typical_case'") >= 1
    # the quarter's list shows it, at once (the write bumped the data version)
    at.switch_page("views/typical.py")
    at.query_params["quarter"] = QUARTER
    at.run()
    html = "\n".join(m.value for m in at.markdown)
    assert "首次办理未到位，退回重办，作为责任落实的典型" in html


@pytest.mark.parametrize("kind", ["street", "viewer", "dept", "admin"])
def test_other_accounts_see_no_form(demo: Engine, case_id: int, kind: str,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    street = str(scalar(demo, "SELECT street_code FROM cases WHERE id = :c", c=case_id))
    scopes: dict[str, dict[str, Any]] = {"street": {"streets": (street,)},
                                         "dept": {"dept": "fire", "themes": ("fire",)}}
    scope = scopes.get(kind, {})
    at = _open_card(demo, monkeypatch, kind, case_id, **scope)
    assert not [b for b in at.button if b.label == "标记为典型案例"]
    captions = "\n".join(c.value for c in at.caption)
    if kind in ("street", "viewer", "admin"):  # the case is theirs to see: they are told why
        assert "典型案例由联席会议、住建局账号标记" in captions
