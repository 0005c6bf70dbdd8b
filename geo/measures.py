"""One definition per measure: what 待办, 超期, 逾期办结, 重新办理, 满意 … mean, in one place.

A meeting decides on the figures it sees, so a figure shown twice must agree:
every page, layer, export, the benchmark and the briefing take their
conditions, labels and written definitions from here, and nowhere else says
what "overdue" is.

Each case measure is a :class:`Measure`: an SQL condition over a ``cases``
row (``None`` for "every case"), a Chinese label and a Chinese definition (the
tooltip and the 说明 sheet of an export). Rates are :class:`Rate` (numerator
and denominator measures). Conditions that depend on the data's cut-off day
read the bind parameter ``:f_as_of``, the first instant *after* the cut-off
day (midnight at its end, Kaili time); :func:`cutoff_params` makes it.

The cut-off day (数据截止日) is :func:`cutoff_day`: the demo's stated day, else
the day of the latest case import, never later than today and never taken
from one case's date (a case dated 2199 must not move the city's figures).

Hazards (消防、电梯、治安隐患) have their own, date-valued conditions.
"""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from geo import analysis_rules, datafiles
from geo.models import CLOSED_STATUSES, OPEN_STATUSES

#: Kaili's time zone: days, periods and the cut-off are Kaili's.
TZ = ZoneInfo("Asia/Shanghai")
#: Name of the bind parameter holding the end of the cut-off day.
CUTOFF = "f_as_of"
#: Name of the bind parameter holding the cut-off day itself (a date).
CUTOFF_DAY = "f_as_of_day"


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def is_open(a: str = "c") -> str:
    """SQL: the case is open (已受理, 办理中 or 重新办理)."""
    return f"{a}.status IN {_in(OPEN_STATUSES)}"


def is_closed(a: str = "c") -> str:
    """SQL: the case is closed (已办结 or 已回访), with or without a known closing time."""
    return f"{a}.status IN {_in(CLOSED_STATUSES)}"


def is_pending(a: str = "c") -> str:
    """SQL: 待办 at the cut-off: open now, or closed only after the end of the cut-off day.

    At the data's own cut-off no case is closed later, so this is :func:`is_open`;
    with an earlier cut-off (a comparison period, :mod:`geo.periods`) a case closed
    after it was still open then. A case closed without a known time counts as
    closed at any cut-off (nothing says otherwise).
    """
    return f"({is_open(a)} OR ({is_closed(a)} AND {a}.closed_at >= :{CUTOFF}))"


def is_overdue(a: str = "c") -> str:
    """SQL: 超期: still open at the end of the cut-off day and past its due time."""
    return f"({is_pending(a)} AND {a}.due_at < :{CUTOFF})"


def is_closed_by_cutoff(a: str = "c") -> str:
    """SQL: 办结 by the end of the cut-off day (a closing time not known counts as closed)."""
    return f"({is_closed(a)} AND ({a}.closed_at IS NULL OR {a}.closed_at < :{CUTOFF}))"


def is_closed_late(a: str = "c") -> str:
    """SQL: 逾期办结: closed by the cut-off, with a known closing time after its due time."""
    return f"({_handled(a)} AND {a}.closed_at > {a}.due_at)"


def is_closed_time_unknown(a: str = "c") -> str:
    """SQL: closed, but the export gave no closing time (counted as closed, never as late)."""
    return f"({is_closed(a)} AND {a}.closed_at IS NULL)"


def is_reopened(a: str = "c") -> str:
    """SQL: 重新办理: the case went back to handling at least once (now, or before)."""
    return f"({a}.reopen_count > 0 OR {a}.status = 'reopened')"


def is_repeat(a: str = "c") -> str:
    """SQL: 办结后再诉: the same compound and category came back soon after a case was closed.

    ``repeat_of`` is set by :func:`geo.complaints.link_repeats` (window: ``[repeat]``
    of ``data/analysis.toml``).
    """
    return f"{a}.repeat_of IS NOT NULL"


def is_distinct(a: str = "c") -> str:
    """SQL: the case counts as a distinct complaint (its group's first case, or ungrouped).

    One complaint reported through 12345, the mailbox and a petition is one
    group (:func:`geo.complaints.group_channels`); only its first case counts.
    """
    return f"({a}.complaint_group IS NULL OR {a}.complaint_group = {a}.id)"


def is_rated(a: str = "c") -> str:
    return f"{a}.satisfaction IS NOT NULL"


def is_satisfied(a: str = "c") -> str:
    """SQL: rated 满意 or 基本满意 at the return visit."""
    return f"{a}.satisfaction IN ('satisfied', 'basic')"


def is_unsatisfied(a: str = "c") -> str:
    return f"{a}.satisfaction = 'unsatisfied'"


def _handled(a: str) -> str:
    return f"{is_closed(a)} AND {a}.closed_at IS NOT NULL AND {a}.closed_at < :{CUTOFF}"


def handling_days(a: str = "c") -> str:
    """SQL: days from receipt to closing, for cases closed by the cut-off with a known
    closing time (else NULL: a closing time not known is excluded, never guessed)."""
    return (f"CASE WHEN {_handled(a)} "
            f"THEN extract(epoch FROM {a}.closed_at - {a}.received_at) / 86400.0 END")


def time_limit_days(a: str = "c") -> str:
    """SQL: the case's time limit in days (due time minus receipt)."""
    return f"(extract(epoch FROM {a}.due_at - {a}.received_at) / 86400.0)"


def handled_time_limit_days(a: str = "c") -> str:
    """SQL: the time limit in days of the cases :func:`handling_days` counts (else NULL)."""
    return f"CASE WHEN {_handled(a)} THEN {time_limit_days(a)} END"


def limit_used_pct(a: str = "c") -> str:
    """SQL: handling time as a percentage of the time limit (100 = closed on its due time)."""
    return (f"CASE WHEN {_handled(a)} AND {a}.due_at > {a}.received_at THEN 100.0 * "
            f"extract(epoch FROM {a}.closed_at - {a}.received_at) / "
            f"extract(epoch FROM {a}.due_at - {a}.received_at) END")


@dataclass(frozen=True)
class Measure:
    """A count of cases: its key, Chinese label, Chinese definition and SQL condition."""

    key: str
    label: str
    definition: str
    condition: Callable[[str], str] | None
    """SQL boolean over a ``cases`` alias; ``None`` counts every case."""

    def count_sql(self, a: str = "c") -> str:
        """``count(*) [FILTER (WHERE …)] AS key``."""
        if self.condition is None:
            return f"count(*) AS {self.key}"
        return f"count(*) FILTER (WHERE {self.condition(a)}) AS {self.key}"


def _level(level: str) -> Callable[[str], str]:
    return lambda a: f"{a}.level = '{level}'"


#: Every case measure, in the order pages show them.
MEASURES: tuple[Measure, ...] = (
    Measure("received", "受理", "时段内受理的工单（作废工单不计）", None),
    Measure("pending", "待办", "截至数据截止日仍未办结的工单（已受理、办理中、重新办理）",
            is_pending),
    Measure("overdue", "超期",
            "超期：截至数据截止日仍未办结、且已超过办理时限的工单", is_overdue),
    Measure("closed", "办结", "截至数据截止日已办结或已回访的工单（含办结时间不详的）",
            is_closed_by_cutoff),
    Measure("closed_late", "逾期办结",
            "逾期办结：已办结、但办结时间晚于办理时限的工单（办结时间不详的不计）",
            is_closed_late),
    Measure("closed_unknown", "办结时间不详",
            "已办结但来源系统未给出办结时间的工单：计入办结，不计入办理时长与逾期办结",
            is_closed_time_unknown),
    Measure("reopened", "重新办理",
            "重新办理：曾被退回重办的工单（不论现在是否已再次办结）", is_reopened),
    Measure("rated", "已评价", "回访时给出满意度评价的工单", is_rated),
    Measure("satisfied", "满意", "回访评价为满意或基本满意的工单", is_satisfied),
    Measure("unsatisfied", "不满意", "回访评价为不满意的工单", is_unsatisfied),
    Measure("repeat", "办结后再诉",
            f"办结后再诉：同一小区、同一类别的诉求在此前一件办结后"
            f"{analysis_rules.section('repeat')['window_days']}天内再次受理"
            f"（上次“办结”没有解决问题）", is_repeat),
    Measure("distinct", "诉求（去重）",
            "去重诉求：同一诉求经12345热线、市长信箱、信访等多个渠道反映的只计一次"
            "（计最早受理的一件）", is_distinct),
    Measure("level_community", "社区级", "由社区调处的工单", _level("community")),
    Measure("level_street", "街道级", "由街道调处的工单", _level("street")),
    Measure("level_city", "市级", "由市级部门调处的工单", _level("city")),
)
BY_KEY: dict[str, Measure] = {m.key: m for m in MEASURES}
KEYS: tuple[str, ...] = tuple(m.key for m in MEASURES)


def counts_sql(a: str = "c", keys: tuple[str, ...] = KEYS) -> str:
    """SQL select list counting ``keys`` over cases ``a`` (one ``count(*) FILTER`` each)."""
    return ",\n       ".join(BY_KEY[k].count_sql(a) for k in keys)


def condition(key: str, a: str = "c") -> str:
    """The SQL condition of measure ``key`` (``TRUE`` for ``received``)."""
    cond = BY_KEY[key].condition
    return "TRUE" if cond is None else cond(a)


@dataclass(frozen=True)
class Rate:
    """A percentage of one measure over another."""

    key: str
    label: str
    definition: str
    numerator: str
    denominator: str

    def of(self, counts: dict[str, Any]) -> float | None:
        """The rate in percent, one decimal, from a dict of counts; ``None`` when undefined."""
        den = counts.get(self.denominator) or 0
        return round(100.0 * (counts.get(self.numerator) or 0) / den, 1) if den else None


RATES: tuple[Rate, ...] = (
    Rate("closure_rate", "办结率", "办结率 = 办结 ÷ 受理", "closed", "received"),
    Rate("overdue_rate", "超期率", "超期率 = 超期 ÷ 受理", "overdue", "received"),
    Rate("closed_late_rate", "逾期办结率", "逾期办结率 = 逾期办结 ÷ 办结", "closed_late", "closed"),
    Rate("reopen_rate", "重新办理率", "重新办理率 = 重新办理 ÷ 受理", "reopened", "received"),
    Rate("repeat_rate", "办结后再诉率", "办结后再诉率 = 办结后再诉 ÷ 受理", "repeat", "received"),
    Rate("satisfaction_rate", "满意率", "满意率 = 满意（含基本满意）÷ 已评价", "satisfied",
         "rated"),
    Rate("unsatisfied_rate", "不满意率", "不满意率 = 不满意 ÷ 已评价", "unsatisfied", "rated"),
)
RATE_BY_KEY: dict[str, Rate] = {r.key: r for r in RATES}


#: Cases per 1,000 households: the load measure of areas, firms and committees.
PER_1000_LABEL = "每千户诉求"
PER_1000_DEFINITION = "每千户诉求 = 受理件数 ÷ 户数 × 1000（户数取小区登记户数）"


def per_1000(count: int | None, households: int | None) -> float | None:
    """Cases per 1,000 households, one decimal; ``None`` without households."""
    return round(1000.0 * (count or 0) / households, 1) if households else None





def per_1000_sql(count: str, households: str) -> str:
    """SQL: :func:`per_1000` of two SQL expressions (``NULL`` without households)."""
    return (f"CASE WHEN coalesce({households}, 0) > 0 "
            f"THEN round(1000.0 * coalesce({count}, 0) / {households}, 1) END")

def rates(counts: dict[str, Any]) -> dict[str, float | None]:
    """Every :data:`RATES` entry computed from ``counts``."""
    return {r.key: r.of(counts) for r in RATES}


@dataclass(frozen=True)
class Median:
    """A median over the cases (``percentile_cont(0.5)``; cases where ``expr`` is NULL left out)."""

    key: str
    label: str
    definition: str
    expr: Callable[[str], str]
    denominator: str
    """The count measure whose cases the median is taken over (for the ranking minimum)."""

    def sql(self, a: str = "c") -> str:
        """``round(percentile_cont(0.5) WITHIN GROUP (ORDER BY …), 1) AS key``."""
        return (f"round(CAST(percentile_cont(0.5) WITHIN GROUP (ORDER BY {self.expr(a)}) "
                f"AS numeric), 1) AS {self.key}")


MEDIANS: tuple[Median, ...] = (
    Median("median_days", "办理时长中位数（天）",
           "办理时长中位数：截至数据截止日已办结、且办结时间已知的工单，从受理到办结的天数的中位数"
           "（办结时间不详的不计）", handling_days, "closed"),
    Median("median_limit", "办理时限中位数（天）",
           "办理时限中位数：同一批工单（已办结且办结时间已知）按分类处置清单的办理时限天数的中位数",
           handled_time_limit_days, "closed"),
    Median("median_limit_used", "时限用时比中位数%",
           "时限用时比中位数：每件工单办理时长 ÷ 办理时限（%）的中位数；超过 100% "
           "表示半数以上工单超出办理时限办结", limit_used_pct, "closed"),
)
MEDIAN_BY_KEY: dict[str, Median] = {m.key: m for m in MEDIANS}


def medians_sql(a: str = "c") -> str:
    """SQL select list of every :data:`MEDIANS` entry over cases ``a``."""
    return ",\n       ".join(m.sql(a) for m in MEDIANS)


#: 超期 and 逾期办结 in one sentence: the tooltip of every figure that is either.
LATE_HELP = (f"{BY_KEY['overdue'].definition}。{BY_KEY['closed_late'].definition}。"
             "两者都是“晚了”，但不是一回事：超期的还没办完，逾期办结的已办完。")


#: The same, short enough for a legend on a projector.
LATE_SHORT = "超期：未办结且已过办理时限；逾期办结：已办结但晚于办理时限"


def help_text(key: str) -> str:
    """The written definition of measure, rate or median ``key`` (a tooltip).

    超期 and 逾期办结 (and their rates) always carry both definitions, so the two
    are never read as one.
    """
    if key in ("overdue", "closed_late", "overdue_rate", "closed_late_rate"):
        return LATE_HELP
    for table in (BY_KEY, RATE_BY_KEY, MEDIAN_BY_KEY):
        if key in table:
            return str(table[key].definition)  # type: ignore[attr-defined]
    raise KeyError(key)


def definitions() -> list[str]:
    """Every measure's and rate's written definition, for a page's help text or an export."""
    return [m.definition for m in MEASURES if not m.key.startswith("level_")] + [
        r.definition for r in RATES] + [PER_1000_DEFINITION]


# --- ranking: the fair minimum ------------------------------------------------------------

@functools.cache
def meeting_rules() -> dict[str, Any]:
    """The joint meeting's rules (``data/meeting/rules.toml``): ranking minimums, change classes."""
    with open(datafiles.path("meeting", "rules.toml"), "rb") as f:
        return tomllib.load(f)


def min_cases(key: str) -> int:
    """The fewest cases in the denominator of rate (or median) ``key`` before it is ranked.

    Counts (超期件数 …) need no minimum: 0.
    """
    den = denominator(key)
    if den is None:
        return 0
    return int(meeting_rules()["ranking"]["min_cases"].get(den, 0))


def denominator(key: str) -> str | None:
    """The count measure a rate or median ``key`` is taken over (``None`` for a count)."""
    if key in RATE_BY_KEY:
        return RATE_BY_KEY[key].denominator
    if key in MEDIAN_BY_KEY:
        return MEDIAN_BY_KEY[key].denominator
    return None


def ranking_rule_text() -> str:
    """The ranking minimums, in Chinese, for the page and the briefing."""
    mins = meeting_rules()["ranking"]["min_cases"]
    names = {"received": "受理", "closed": "办结", "rated": "已评价"}
    parts = [f"以{names.get(k, k)}为分母的比率须{names.get(k, k)}≥{v}件" for k, v in mins.items()]
    return ("排名规则：件数直接排名；比率与中位数样本过少不排名（" + "，".join(parts)
            + "），显示为“样本不足”。")


# --- hazards -------------------------------------------------------------------------------

def hazard_open(a: str = "h") -> str:
    """SQL: a hazard not yet rectified (待整改 or 整改中)."""
    return f"{a}.status <> 'closed'"


def hazard_overdue(a: str = "h") -> str:
    """SQL: 逾期未整改: not rectified and its deadline (a day, inclusive) before the cut-off day."""
    return f"({hazard_open(a)} AND {a}.due_on < :{CUTOFF_DAY})"


def hazard_rectified_on_time(a: str = "h") -> str:
    """SQL: rectified no later than its deadline."""
    return f"({a}.status = 'closed' AND {a}.closed_on <= {a}.due_on)"


HAZARD_DEFINITIONS = (
    "未整改隐患：状态为待整改或整改中的隐患",
    "逾期未整改：整改期限早于数据截止日、仍未整改完成的隐患",
)


# --- the cut-off day -----------------------------------------------------------------------

def today() -> dt.date:
    """Today in Kaili."""
    return dt.datetime.now(TZ).date()


def cutoff_params(day: dt.date) -> dict[str, Any]:
    """Bind parameters for the conditions above: the end of ``day`` and ``day`` itself."""
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=TZ)
    return {CUTOFF: end, CUTOFF_DAY: day}


def cutoff_day(con: sa.Connection) -> dt.date:
    """The data's cut-off day (数据截止日), the same for every page, export and briefing.

    ``dataset_meta.as_of`` when the data say so (the demo), else the day the
    latest case import finished (the data are as fresh as that file), else
    today; never later than today. A case's own date never sets it.
    """
    row = con.execute(sa.text("""
        SELECT (SELECT value FROM dataset_meta WHERE key = 'as_of'),
               (SELECT max(finished_at) FROM imports WHERE kind = 'cases')
    """)).one()
    now = today()
    if row[0]:
        try:
            return min(dt.date.fromisoformat(row[0]), now)
        except ValueError:
            pass
    if row[1] is not None:
        return min(row[1].astimezone(TZ).date(), now)
    return now


# --- progress of the street offices' work (issue 9) -----------------------------------------
#
# Conditions over a compound's state on a day (a row of ``compound_states_on`` joined to
# ``compounds`` for the households, alias ``s``) and over hazards (alias ``h``) for a period
# whose first and last days are the bind parameters ``:p_start`` and ``:p_end``. The
# committee threshold is ``:committee_min`` (data/reference/governance.toml).

#: Bind parameter names of a progress period and of the committee threshold.
P_START, P_END, COMMITTEE_MIN = "p_start", "p_end", "committee_min"
#: Owners' organisations (``compounds.owners_committee``): an elected committee, or the
#: 物业管理委员会 a street office forms where none can be elected.
ORGANISATIONS = ("established", "mgmt_committee")


def sanwu(a: str = "s") -> str:
    """SQL: 三无 (no firm, no competent department, no owners' organisation)."""
    return f"{a}.is_sanwu"


def sanwu_in_custody(a: str = "s") -> str:
    """SQL: 三无，已托管: 三无 but taken over by its street office (the progress)."""
    return f"({a}.is_sanwu AND {a}.management_mode = 'street_custody')"


def sanwu_untaken(a: str = "s") -> str:
    """SQL: 三无，未托管: 三无 and nobody manages it (the work still to do)."""
    return f"({a}.is_sanwu AND {a}.management_mode <> 'street_custody')"


def committee_eligible(a: str = "s") -> str:
    """SQL: a compound that should have an owners' committee (households at the threshold)."""
    return f"(coalesce({a}.households, 0) >= :{COMMITTEE_MIN})"


def committee_formed(a: str = "s") -> str:
    """SQL: an owners' assembly and committee has been formed (业委会)."""
    return f"({a}.owners_committee = 'established')"


def committee_overdue(a: str = "s", day: str = f":{P_END}") -> str:
    """SQL: 到期未换届: the committee's term ended before ``day`` and no renewal is recorded."""
    return f"({committee_formed(a)} AND {a}.committee_term_end < {day})"


def committee_missing(a: str = "s") -> str:
    """SQL: 应建未建: should have a committee, has neither one nor a 物业管理委员会."""
    return f"({committee_eligible(a)} AND {a}.owners_committee NOT IN {_in(ORGANISATIONS)})"


def hazard_found_in_period(a: str = "h") -> str:
    """SQL: found in the period."""
    return f"({a}.found_on BETWEEN :{P_START} AND :{P_END})"


def hazard_closed_on_time(a: str = "h") -> str:
    """SQL: 按期整改: rectified by its deadline (and by the period's end)."""
    return (f"({a}.closed_on IS NOT NULL AND {a}.closed_on <= {a}.due_on "
            f"AND {a}.closed_on <= :{P_END})")


def hazard_late(a: str = "h") -> str:
    """SQL: 逾期: the deadline passed before the period's end without the hazard rectified
    by then (rectified later, or not at all)."""
    return f"({a}.due_on < :{P_END} AND NOT coalesce({a}.closed_on <= {a}.due_on, false))"


@dataclass(frozen=True)
class Progress:
    """A progress figure: its key, Chinese label and Chinese definition."""

    key: str
    label: str
    definition: str


#: Every progress figure, in the order pages show them ({min} is the committee threshold).
PROGRESS: tuple[Progress, ...] = (
    Progress("sanwu_start", "期初三无", "期初三无：时段开始前一日为三无（无物业服务企业、"
             "无主管部门、无业主组织）的小区数，含已由街道托管的"),
    Progress("taken_over", "期内托管", "期内托管：时段内记录“街道托管”的小区数"),
    Progress("left_sanwu", "期内脱离三无", "期内脱离三无：期初为三无、期末不再是三无的小区数"
             "（引入物业服务企业、成立业主组织或明确主管部门）"),
    Progress("sanwu_end", "期末三无", "期末三无：时段最后一日为三无的小区数"),
    Progress("untaken_end", "三无未托管", "三无，未托管：期末为三无、且未由街道托管的小区数，"
             "是仍待开展的工作"),
    Progress("custody_end", "三无已托管", "三无，已托管：期末为三无、已由街道托管的小区数，"
             "是工作进展（托管不改变三无身份）"),
    Progress("eligible", "应建业委会", "应建业委会：期末户数不少于 {min} 户的小区数"),
    Progress("committees", "已建业委会", "已建业委会：应建业委会的小区中，期末已成立业主大会/"
             "业主委员会的小区数"),
    Progress("committee_rate", "业委会组建率", "业委会组建率 = 已建业委会 ÷ 应建业委会"),
    Progress("committee_overdue", "到期未换届", "到期未换届：期末业委会任期已届满、尚未记录"
             "换届的小区数"),
    Progress("committee_missing", "应建未建", "应建未建：户数达到 {min} 户、期末既无业委会"
             "也无物业管理委员会的小区数"),
    Progress("hazards_found", "期内发现隐患", "期内发现隐患：发现日期在时段内的隐患数"),
    Progress("hazards_on_time", "按期整改", "按期整改：期内发现、在整改期限内（且不晚于期末）"
             "整改完成的隐患数"),
    Progress("hazards_late", "隐患逾期", "隐患逾期：期内发现、整改期限在期末前已过而未按期"
             "整改完成的隐患数（含逾期后才整改完成的）"),
)
PROGRESS_BY_KEY: dict[str, Progress] = {p.key: p for p in PROGRESS}


def progress_definitions(committee_min: int) -> list[str]:
    """Every progress figure's written definition, with the committee threshold filled in."""
    return [p.definition.format(min=committee_min) for p in PROGRESS]


def progress_params(start: dt.date, end: dt.date, committee_min: int) -> dict[str, Any]:
    """Bind parameters of the progress conditions for the period ``start``–``end``."""
    return {P_START: start, P_END: end, COMMITTEE_MIN: committee_min}
