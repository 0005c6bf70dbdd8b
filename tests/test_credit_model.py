"""The credit model's arithmetic, against values worked out by hand (no database).

A small model written out here (not the shipped one, which a city edits) is scored on
facts whose every line can be checked with a pencil; the proposals for the red and black
lists and the meeting's flags follow from sequences of scores; the committees' duties
from their terms and meetings. The shipped models must parse and hold together.
"""

from __future__ import annotations

import datetime as dt

import pytest

from geo import committees, credit, credit_model
from geo.credit_model import Event, Facts, Period

MODEL = """
[model]
name = "测试模型"
subject = "firm"
base = 100
max_bonus = 8
floor = 0
event_valid_quarters = 2
history_quarters = 3

[cases]
categories = ["PM01"]

[[cases.items]]
key = "per_1000"
kind = "per_1000"
label = "每千户诉求"
unit = "件/千户"
min_households = 200
steps = [[5, 3], [10, 6]]

[[cases.items]]
key = "overdue_rate"
kind = "rate"
label = "超期率"
unit = "%"
min_sample = 10
steps = [[5, 2], [10, 5]]

[[cases.items]]
key = "unsatisfied_rate"
kind = "rate"
label = "不满意率"
unit = "%"
min_sample = 10
steps = [[20, 4]]

[[hazards.items]]
key = "hazard_open"
kind = "hazards"
label = "未整改隐患"
points_each = 2
max_points = 5

[events.award]
label = "表彰奖励"
points = 5

[events.penalty]
label = "行政处罚"
points = -12

[events.abandonment]
label = "擅自撤离"
points = -30
black = true

[[bands]]
band = "AAA"
min = 95
label = "优"

[[bands]]
band = "A"
min = 80
label = "中"

[[bands]]
band = "C"
min = 60
label = "差"

[[bands]]
band = "D"
min = 0
label = "劣"

[lists.red]
bands = ["AAA"]
quarters = 2
full_sample = true
barred_events = ["penalty"]

[lists.black]
bands = ["D"]
quarters = 1

[lists.leave_black]
bands = ["AAA", "A"]
quarters = 2

[flags]
worst_share = 0.25
improved_performance = 90
"""

Q = Period(2026, 2)


@pytest.fixture
def model() -> credit_model.Model:
    return credit_model.parse(MODEL, "测试")


def _facts(period: Period = Q, households: int = 4000, events: tuple[Event, ...] = (),
           sid: int = 1, **counts: int) -> Facts:
    hz = {"hazard_open": counts.pop("hazard_open", 0)}
    return Facts(sid, f"企业{sid}", period, households, counts, hz, {}, events)


def test_periods() -> None:
    assert Period.parse("2026Q2") == Period.parse("2026-2") == Period.parse(" 2026q2 ")
    assert Period(2026, 1).shift(-1) == Period(2025, 4)
    assert Period(2025, 4).end == dt.date(2025, 12, 31)
    assert Period.last_complete(dt.date(2026, 6, 30)) == Period(2026, 2)
    assert Period.last_complete(dt.date(2026, 6, 29)) == Period(2026, 1)
    assert Q.back(3) == [Period(2025, 4), Period(2026, 1), Period(2026, 2)]
    with pytest.raises(credit_model.CreditModelError, match="2026Q2"):
        Period.parse("第二季度")


def test_a_score_worked_out_by_hand(model: credit_model.Model) -> None:
    # 48 cases over 4,000 households: 12.0 per 1,000 ≥ 10 → −6
    # 3 overdue of 48: 6.3 % ≥ 5 → −2
    # 5 unsatisfied of 20 rated: 25 % ≥ 20 → −4
    # 3 hazards × 2 = 6, capped at 5 → −5
    # award +5, penalty −12 (both within two quarters) → −7
    # 100 − 6 − 2 − 4 − 5 + 5 − 12 = 76 → C (≥ 60, < 80)
    events = (Event(1, "award", dt.date(2026, 1, 20), "示范项目", "表〔2026〕1号"),
              Event(2, "penalty", dt.date(2026, 5, 3), "违规收费", "罚〔2026〕2号"))
    s = credit_model.score(model, _facts(received=48, overdue=3, rated=20, unsatisfied=5,
                                         hazard_open=3, events=events))
    points = {ln.key: ln.points for ln in s.lines}
    assert points == {"per_1000": -6, "overdue_rate": -2, "unsatisfied_rate": -4,
                      "hazard_open": -5, "event-1": 5, "event-2": -12}
    assert (s.total, s.band, s.performance) == (76.0, "C", 83.0)
    assert s.part("cases") == -12 and s.part("events") == -7
    per = s.line("per_1000")
    assert per is not None and per.value == 12.0
    assert "12（48 件 ÷ 4,000 户 × 1000）≥ 10 件/千户 → 扣 6 分" in per.text
    assert "上限 5 分" in (s.line("hazard_open") or per).text
    text = "\n".join(credit_model.explain(model, s, 4000, 48))
    assert "基础分 100 分" in text and "得分 76 分 → 等级 C（差）" in text
    assert "2026-05-03 行政处罚（罚〔2026〕2号）：违规收费 → 扣 12 分" in text


def test_small_samples_do_not_count_and_events_expire(model: credit_model.Model) -> None:
    # 150 households < 200: the per-1,000 line is not counted; 9 cases < 10: no rates.
    old = Event(1, "penalty", dt.date(2025, 9, 30), "早前处罚", "罚〔2025〕9号")  # 3 quarters ago
    s = credit_model.score(model, _facts(households=150, received=9, overdue=9, rated=9,
                                         unsatisfied=9, events=(old,)))
    assert [ln.counted for ln in s.lines] == [False, False, False, True]
    assert "样本不足（服务 150 户 < 200 户）" in s.lines[0].text
    assert "样本不足（受理 9 件 < 10 件）" in s.lines[1].text
    assert s.total == 100.0 and s.band == "AAA" and not s.complete
    # valid two quarters: dated in 2026Q1 it still counts in 2026Q2, not in 2026Q3
    recent = Event(2, "penalty", dt.date(2026, 3, 31), "处罚", "罚〔2026〕3号")
    assert credit_model.score(model, _facts(events=(recent,))).total == 88.0
    assert credit_model.score(model, _facts(Q.shift(1), events=(recent,))).total == 100.0
    # a future event does not count yet
    assert credit_model.score(model, _facts(Q.shift(-1), events=(recent,))).total == 88.0
    assert credit_model.score(model, _facts(Q.shift(-2), events=(recent,))).total == 100.0


def test_bonus_is_capped_and_the_floor_holds(model: credit_model.Model) -> None:
    awards = tuple(Event(i, "award", dt.date(2026, 4, i), "表彰", f"表{i}") for i in (1, 2, 3))
    s = credit_model.score(model, _facts(events=awards))
    assert s.total == 108.0 and [ln.points for ln in s.lines[-3:]] == [5, 3, 0]
    bad = tuple(Event(i, "abandonment", dt.date(2026, 4, i), "撤离", f"罚{i}")
                for i in (1, 2, 3, 4))
    assert credit_model.score(model, _facts(events=bad)).total == 0.0


def test_nothing_served_is_not_rated(model: credit_model.Model) -> None:
    s = credit_model.score(model, _facts(households=0))
    assert s.band == "" and "不评级" in s.lines[0].text


def _scores(model: credit_model.Model, totals: list[float], complete: bool = True,
            sid: int = 1) -> list[credit_model.Score | None]:
    out: list[credit_model.Score | None] = []
    for i, t in enumerate(totals):
        line = credit_model.Line("cases", "per_1000", "x", 1.0, 0.0, "", counted=complete)
        out.append(credit_model.Score(sid, "企业", Q.shift(i - len(totals) + 1), t,
                                      model.band(t).band, t, (line,)))
    return out


def test_list_proposals(model: credit_model.Model) -> None:
    propose = credit.propose
    assert propose(model, _scores(model, [96, 97]), "none", [])[0] == "red"
    # not on too little evidence, nor with a barred event
    assert propose(model, _scores(model, [96, 97], complete=False), "none", [])[0] == "none"
    pen = Event(5, "penalty", dt.date(2026, 5, 1), "处罚", "罚5")
    status, why = propose(model, _scores(model, [96, 97]), "none", [pen])
    assert status == "none" and "行政处罚" in why
    # one quarter at AAA is not a streak
    assert propose(model, _scores(model, [85, 97]), "none", [])[0] == "none"
    # a red-listed firm stays while at AAA, leaves below it
    assert propose(model, _scores(model, [85, 97]), "red", [])[0] == "red"
    status, why = propose(model, _scores(model, [97, 85]), "red", [])
    assert status == "none" and "低于 AAA" in why
    # black: a D quarter, or one event marked black
    assert propose(model, _scores(model, [85, 40]), "none", [])[0] == "black"
    gone = Event(6, "abandonment", dt.date(2026, 4, 9), "撤离", "罚6")
    status, why = propose(model, _scores(model, [99, 99]), "none", [gone])
    assert status == "black" and "罚6" in why
    # leaving the black list takes two quarters at A or better
    assert propose(model, _scores(model, [40, 85]), "black", [])[0] == "black"
    assert propose(model, _scores(model, [85, 85]), "black", [])[0] == "none"


def test_flags_for_the_meeting(model: credit_model.Model) -> None:
    periods = Q.back(2)
    scores = {}
    for sid, (then, now) in enumerate([(99, 99), (95, 96), (90, 90), (60, 62)], start=1):
        for p, t in zip(periods, (then, now), strict=True):
            per = 20.0 - t / 10  # the lower the score, the more complaints
            line = credit_model.Line("cases", "per_1000", "每千户诉求", per, 0.0, "")
            scores[(sid, p)] = credit_model.Score(sid, f"企业{sid}", p, t, model.band(t).band,
                                                  t + (30 if sid == 4 and p == Q else 0), (line,))
    ev = credit.Evaluation(model, "firm", periods, Q.end, {}, {}, scores,
                           status={4: "red", 1: "black"})
    flags = credit.flags(model, ev)
    assert set(flags) == {4}  # red-listed and the worst of four; the black-listed one flat
    assert "每千户诉求 13.8" in flags[4][0] and "最差的 25%" in flags[4][0]
    ev.status = {4: "black"}
    flags = credit.flags(model, ev)
    assert "92 分" in flags[4][0] and "明显改善" in flags[4][0]


def test_committee_duties_from_terms_and_meetings() -> None:
    c = committees.Committee(
        7, 7, "测试小区业主委员会", 300,
        terms=(committees.Term(dt.date(2020, 3, 1), dt.date(2025, 2, 28)),
               committees.Term(dt.date(2025, 3, 10), dt.date(2026, 3, 31))),
        meetings=(dt.date(2026, 1, 5), dt.date(2026, 2, 9), dt.date(2026, 4, 20)))
    cutoff = dt.date(2026, 6, 30)
    # 2026Q1: second term in force to 31 March, two meetings
    assert committees.governance(c, Period(2026, 1), cutoff) == {
        "meetings": 2, "renewal": False, "term_end": dt.date(2026, 3, 31)}
    # 2026Q2: the term ended on 31 March and nobody renewed it; one meeting
    g = committees.governance(c, Q, cutoff)
    assert g["renewal"] is True and g["meetings"] == 1
    # 2025Q1: the first term ended in February, the second began in March: renewed late
    assert committees.governance(c, Period(2025, 1), cutoff)["renewal"] is False
    unknown = committees.Committee(8, 8, "资料缺失", 100)
    assert committees.governance(unknown, Q, cutoff) == {"meetings": None, "renewal": None,
                                                         "term_end": None}
    later = committees.Committee(9, 9, "新成立", 100,
                                 terms=(committees.Term(dt.date(2026, 5, 1),
                                                        dt.date(2031, 4, 30)),), meetings=())
    facts = committees.facts([c, unknown, later], {(7, Q): {"received": 3}},
                             [Period(2026, 1), Q], cutoff)
    assert set(facts) == {(7, Period(2026, 1)), (7, Q), (8, Period(2026, 1)), (8, Q), (9, Q)}
    shipped = credit_model.load("committee")
    s = credit_model.score(shipped, facts[(7, Q)])
    renewal = s.line("renewal")
    meetings = s.line("meetings")
    assert renewal is not None and renewal.points == -next(
        i.points for i in shipped.items if i.key == "renewal")
    assert meetings is not None and meetings.points == 0  # one meeting held, one expected
    s = credit_model.score(shipped, facts[(8, Q)])
    assert not s.complete and "无任期资料" in (s.line("renewal") or renewal).text


@pytest.mark.parametrize("subject", ["firm", "committee"])
def test_the_shipped_models_hold_together(subject: str) -> None:
    m = credit_model.load(subject)
    assert m.subject == subject and m.bands[-1].min == 0
    assert [b.band for b in m.bands] == [b for b in credit_model.ALL_BANDS
                                         if b in {x.band for x in m.bands}]
    assert m.red.full_sample and any(e.black for e in m.events.values())
    assert all(i.label for i in m.items)


@pytest.mark.parametrize("change, message", [
    (("kind = \"rate\"\nlabel = \"超期率\"", "kind = \"ratio\"\nlabel = \"超期率\""), "kind 应为"),
    (("steps = [[5, 2], [10, 5]]", "steps = [[10, 2], [5, 5]]"), "从小到大"),
    (("band = \"C\"", "band = \"E\""), "等级应取自"),
    (("barred_events = [\"penalty\"]", "barred_events = [\"fine\"]"), "barred_events"),
])
def test_a_bad_model_names_the_entry(change: tuple[str, str], message: str) -> None:
    with pytest.raises(credit_model.CreditModelError, match=message):
        credit_model.parse(MODEL.replace(*change), "测试")
