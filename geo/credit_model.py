"""The credit model as data, and the pure arithmetic that scores one subject in one quarter.

A city edits ``data/credit/firms.toml`` (property firms) and
``data/credit/committees.toml`` (owners' committees); :func:`load` reads one
into a :class:`Model`, refusing a file that does not make sense with a message
naming the entry. :func:`score` turns a :class:`Facts` (the counts of one
subject in one quarter, gathered by :mod:`geo.credit`) into a :class:`Score`
made of :class:`Line` s, one per item of the model, each saying in Chinese
what it counted and what it cost: the same lines are the dashboard's 评分明细,
the export's columns and ``propmap credit explain``.

Nothing here touches a database: the arithmetic is tested against hand-computed
values (tests/test_credit_model.py).

Item kinds are a registry (:data:`ITEM_KINDS`), not an if-chain: ``per_1000``
(cases per 1,000 households), ``rate`` (a rate of :mod:`geo.measures`),
``hazards`` (hazards found in the quarter), ``meetings`` and ``renewal`` (an
owners' committee's duties).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from geo import datafiles, measures, periods
from geo._errors import PropmapError

#: The subjects a model can rate, with their Chinese names.
SUBJECTS = {"firm": "物业服务企业", "committee": "业主委员会"}
#: The column of ``credit_events`` / ``credit_list_changes`` that names a subject of each kind.
SUBJECT_COLUMN = {"firm": "firm_id", "committee": "compound_id"}
#: List statuses, with their Chinese names.
LIST_STATUSES = {"red": "红榜", "black": "黑榜", "none": "未列入"}
#: Every grade a model may use, best first (the database checks against these).
ALL_BANDS = ("AAA", "AA", "A", "B", "C", "D")


class CreditModelError(PropmapError, ValueError):
    """The credit model file cannot be used (the message names the entry and the fix)."""


# --- periods ---------------------------------------------------------------------------------

_PERIOD = re.compile(r"^(\d{4})\s*[Qq季]?\s*([1-4])$")


@dataclass(frozen=True, order=True)
class Period:
    """A calendar quarter in Kaili, e.g. ``2026Q2``."""

    year: int
    quarter: int

    @classmethod
    def of(cls, day: dt.date) -> Period:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @classmethod
    def parse(cls, text: str) -> Period:
        """``2026Q2`` (also ``2026q2``, ``2026-2``, ``2026 2``) as a period."""
        m = _PERIOD.match(text.strip().replace("-", ""))
        if not m:
            raise CreditModelError(f"无法识别的季度“{text}”：请写成 2026Q2 这样的形式")
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def last_complete(cls, cutoff: dt.date) -> Period:
        """The latest quarter that ended on or before ``cutoff`` (the data's cut-off day)."""
        p = cls.of(cutoff)
        return p if p.end == cutoff else p.shift(-1)

    @property
    def start(self) -> dt.date:
        return dt.date(self.year, 3 * self.quarter - 2, 1)

    @property
    def end(self) -> dt.date:
        """The quarter's last day."""
        return periods.quarter_end(self.start)

    def shift(self, n: int) -> Period:
        k = self.year * 4 + self.quarter - 1 + n
        return Period(k // 4, k % 4 + 1)

    def back(self, n: int) -> list[Period]:
        """The ``n`` quarters ending with this one, oldest first."""
        return [self.shift(-i) for i in range(n - 1, -1, -1)]

    def __str__(self) -> str:
        return periods.quarter_name(self.start)

    @property
    def label(self) -> str:
        return periods.quarter_label(self.start)


# --- the model -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Item:
    """One line of the model: what is measured, the sample it needs, and what it costs."""

    key: str
    kind: str
    label: str
    part: str
    unit: str = ""
    steps: tuple[tuple[float, float], ...] = ()
    min_sample: int = 0
    min_households: int = 0
    points_each: float = 0.0
    max_points: float = 0.0
    points: float = 0.0
    expected: int = 0


@dataclass(frozen=True)
class EventKind:
    key: str
    label: str
    points: float
    black: bool = False


@dataclass(frozen=True)
class Band:
    band: str
    min: float
    label: str


@dataclass(frozen=True)
class ListRule:
    bands: tuple[str, ...]
    quarters: int
    barred_events: tuple[str, ...] = ()
    full_sample: bool = False
    """Every item must have counted (its minimum sample reached, its data known) in each
    quarter (:attr:`Score.complete`)."""


@dataclass(frozen=True)
class Model:
    """A credit model read from its TOML file."""

    name: str
    subject: str
    base: float
    max_bonus: float
    floor: float
    event_valid_quarters: int
    history_quarters: int
    categories: tuple[str, ...]
    items: tuple[Item, ...]
    events: Mapping[str, EventKind]
    bands: tuple[Band, ...]
    red: ListRule
    black: ListRule
    leave_black: ListRule
    worst_share: float
    improved_performance: float
    version: str
    """The first 12 hex digits of the file's SHA-256: published ratings record it."""
    source: str = ""

    def band(self, score: float) -> Band:
        """The grade of ``score``."""
        for b in self.bands:
            if score >= b.min:
                return b
        return self.bands[-1]

    def band_label(self, band: str) -> str:
        return next((b.label for b in self.bands if b.band == band), "")

    def event_label(self, kind: str) -> str:
        ev = self.events.get(kind)
        return ev.label if ev else kind


PARTS = {"cases": "工单", "hazards": "隐患", "governance": "履职", "events": "记录事项"}


def _err(source: str, where: str, what: str) -> CreditModelError:
    return CreditModelError(f"信用评价模型 {source} 中 {where} 有误：{what}。请改正后重试。")


def _number(raw: Mapping[str, Any], key: str, source: str, where: str,
            default: float | None = None) -> float:
    v = raw.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise _err(source, where, f"{key} 应为数字")
    return float(v)


def _steps(raw: Any, source: str, where: str) -> tuple[tuple[float, float], ...]:
    if not isinstance(raw, list) or not raw:
        raise _err(source, where, "steps 应为 [[阈值, 扣分], …] 的列表")
    out = []
    for s in raw:
        if (not isinstance(s, list) or len(s) != 2
                or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in s)):
            raise _err(source, where, "steps 的每一项应为 [阈值, 扣分]")
        out.append((float(s[0]), float(s[1])))
    if [t for t, _p in out] != sorted({t for t, _p in out}):
        raise _err(source, where, "steps 的阈值应从小到大且不重复")
    return tuple(out)


def parse(text: str, source: str = "模型文件") -> Model:
    """A :class:`Model` from the text of a model file (pure: tests feed their own)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _err(source, "文件格式", f"不是有效的 TOML（{exc}）") from None
    m = raw.get("model", {})
    subject = m.get("subject")
    if subject not in SUBJECTS:
        raise _err(source, "[model]", f"subject 应为 {'、'.join(SUBJECTS)}")
    items: list[Item] = []
    for part in ("cases", "hazards", "governance"):
        for i, it in enumerate(raw.get(part, {}).get("items", [])):
            where = f"[[{part}.items]] 第 {i + 1} 项"
            kind = it.get("kind")
            if kind not in ITEM_KINDS:
                raise _err(source, where, f"kind 应为 {'、'.join(ITEM_KINDS)} 之一")
            if kind == "rate" and it.get("key") not in measures.RATE_BY_KEY:
                raise _err(source, where, "rate 项的 key 应为 geo/measures.py 中的比率之一："
                           + "、".join(measures.RATE_BY_KEY))
            items.append(Item(
                key=str(it.get("key") or ""), kind=kind, label=str(it.get("label") or ""),
                part=part, unit=str(it.get("unit", "")),
                steps=_steps(it["steps"], source, where) if "steps" in it else (),
                min_sample=int(_number(it, "min_sample", source, where, 0)),
                min_households=int(_number(it, "min_households", source, where, 0)),
                points_each=_number(it, "points_each", source, where, 0),
                max_points=_number(it, "max_points", source, where, 0),
                points=_number(it, "points", source, where, 0),
                expected=int(_number(it, "expected", source, where, 0))))
            if kind in ("per_1000", "rate") and not items[-1].steps:
                raise _err(source, where, "缺少 steps")
    keys = [i.key for i in items]
    if len(set(keys)) != len(keys) or "" in keys:
        raise _err(source, "items", "每项须有不重复的 key")
    events = {}
    for k, ev in raw.get("events", {}).items():
        events[k] = EventKind(k, str(ev.get("label") or k),
                              _number(ev, "points", source, f"[events.{k}]"),
                              bool(ev.get("black", False)))
    bands = tuple(Band(str(b.get("band")), _number(b, "min", source, "[[bands]]"),
                       str(b.get("label", ""))) for b in raw.get("bands", []))
    if not bands or any(b.band not in ALL_BANDS for b in bands):
        raise _err(source, "[[bands]]", f"等级应取自 {'、'.join(ALL_BANDS)}")
    if [b.min for b in bands] != sorted((b.min for b in bands), reverse=True):
        raise _err(source, "[[bands]]", "等级应从高到低排列，min 递减")
    names = {b.band for b in bands}

    def rule(key: str) -> ListRule:
        r = raw.get("lists", {}).get(key, {})
        bs = tuple(str(b) for b in r.get("bands", []))
        if not bs or not set(bs) <= names:
            raise _err(source, f"[lists.{key}]", "bands 应为本模型的等级")
        barred = tuple(str(e) for e in r.get("barred_events", []))
        if not set(barred) <= set(events):
            raise _err(source, f"[lists.{key}]", "barred_events 应为 [events] 中的事项")
        return ListRule(bs, max(1, int(r.get("quarters", 1))), barred,
                        bool(r.get("full_sample", False)))

    flags = raw.get("flags", {})
    cats = tuple(str(c) for c in raw.get("cases", {}).get("categories", []))
    return Model(
        name=str(m.get("name") or SUBJECTS[subject]), subject=subject,
        base=_number(m, "base", source, "[model]", 100),
        max_bonus=_number(m, "max_bonus", source, "[model]", 0),
        floor=_number(m, "floor", source, "[model]", 0),
        event_valid_quarters=max(1, int(_number(m, "event_valid_quarters", source, "[model]",
                                                4))),
        history_quarters=max(2, int(_number(m, "history_quarters", source, "[model]", 4))),
        categories=cats, items=tuple(items), events=events, bands=bands,
        red=rule("red"), black=rule("black"), leave_black=rule("leave_black"),
        worst_share=_number(flags, "worst_share", source, "[flags]", 0.25),
        improved_performance=_number(flags, "improved_performance", source, "[flags]", 90),
        version=hashlib.sha256(text.encode()).hexdigest()[:12], source=source)


#: The model files, by subject.
FILES = {"firm": "firms.toml", "committee": "committees.toml"}


def load(subject: str) -> Model:
    """The model of ``subject`` (``firm`` or ``committee``) from ``data/credit/``."""
    path = datafiles.path("credit", FILES[subject])
    return parse(path.read_text(encoding="utf-8"), f"data/credit/{FILES[subject]}")


# --- the facts of one subject in one quarter --------------------------------------------------

@dataclass(frozen=True)
class Event:
    """A recorded event (award, penalty …) of a subject."""

    id: int
    kind: str
    on: dt.date
    reason: str
    doc_no: str


@dataclass(frozen=True)
class Facts:
    """What is known of one subject in one quarter: the input of :func:`score`.

    ``counts`` holds case counts keyed as :data:`geo.measures.KEYS` (at least
    those the model's rates use), ``hazards`` the hazard counts keyed by the
    hazard items' keys, ``governance`` what a committee did (``meetings``: the
    number held, or ``None`` when unknown; ``renewal``: ``True`` when its term
    ended before the quarter's end without renewal, ``None`` when unknown), and
    ``events`` every recorded event of the subject (:func:`score` keeps those
    valid in the quarter).
    """

    subject_id: int
    name: str
    period: Period
    households: int
    counts: Mapping[str, int] = field(default_factory=dict)
    hazards: Mapping[str, int] = field(default_factory=dict)
    governance: Mapping[str, Any] = field(default_factory=dict)
    events: Sequence[Event] = ()


@dataclass(frozen=True)
class Line:
    """One line of a score: what was measured and what it cost (``points`` < 0) or gave."""

    part: str
    key: str
    label: str
    value: float | None
    points: float
    text: str
    """The line in Chinese, e.g. ``超期率 6.3%（4 ÷ 63）≥ 5% → 扣 4 分``."""
    counted: bool = True
    """False when the sample was too small or the data missing (the line costs nothing)."""


@dataclass(frozen=True)
class Score:
    """The score of one subject in one quarter, with its lines."""

    subject_id: int
    name: str
    period: Period
    total: float
    band: str
    """The grade; empty when the subject is not rated (nothing served in the quarter)."""
    performance: float
    """Base minus case, hazard and duty deductions (events left out)."""
    lines: tuple[Line, ...]

    @property
    def complete(self) -> bool:
        """Every item of the model counted (enough cases, no missing data)."""
        return all(ln.counted for ln in self.lines if ln.part != "events")

    def part(self, part: str) -> float:
        """Points of one part (negative: deducted)."""
        return round(sum(ln.points for ln in self.lines if ln.part == part), 1)

    def line(self, key: str) -> Line | None:
        return next((ln for ln in self.lines if ln.key == key), None)


def _fmt(x: float | None, unit: str = "") -> str:
    if x is None:
        return "—"
    text = f"{x:,.0f}" if float(x).is_integer() else f"{x:,.1f}"
    return f"{text}{unit}" if unit in ("%", "") else f"{text} {unit}"


def _pts(p: float) -> str:
    return _fmt(abs(p))


def _step(item: Item, value: float) -> tuple[float, str]:
    """Points deducted for ``value`` by ``item.steps``, and the comparison in words."""
    reached = [(t, p) for t, p in item.steps if value >= t]
    if not reached:
        return 0.0, f"< {_fmt(item.steps[0][0], item.unit)} → 不扣分"
    t, p = reached[-1]
    return -p, f"≥ {_fmt(t, item.unit)} → 扣 {_pts(p)} 分"


def _per_1000(item: Item, f: Facts) -> Line:
    n = int(f.counts.get("received", 0))
    if f.households < item.min_households:
        return Line(item.part, item.key, item.label, None, 0.0,
                    f"{item.label}：样本不足（服务 {f.households:,} 户 < {item.min_households:,} "
                    f"户），不计分", counted=False)
    v = measures.per_1000(n, f.households)
    assert v is not None
    pts, cmp = _step(item, v)
    return Line(item.part, item.key, item.label, v, pts,
                f"{item.label} {_fmt(v)}（{n:,} 件 ÷ {f.households:,} 户 × 1000）{cmp}")


def _rate(item: Item, f: Facts) -> Line:
    rate = measures.RATE_BY_KEY[item.key]
    num = int(f.counts.get(rate.numerator, 0))
    den = int(f.counts.get(rate.denominator, 0))
    den_label = measures.BY_KEY[rate.denominator].label
    if den < max(1, item.min_sample):
        return Line(item.part, item.key, item.label, None, 0.0,
                    f"{item.label}：样本不足（{den_label} {den:,} 件 < {item.min_sample:,} 件），"
                    "不计分", counted=False)
    v = rate.of(dict(f.counts))
    assert v is not None
    pts, cmp = _step(item, v)
    return Line(item.part, item.key, item.label, v, pts,
                f"{item.label} {_fmt(v, '%')}（{num:,} ÷ {den:,}）{cmp}")


def _hazards(item: Item, f: Facts) -> Line:
    n = int(f.hazards.get(item.key, 0))
    raw = n * item.points_each
    pts = min(raw, item.max_points) if item.max_points else raw
    capped = bool(item.max_points) and raw > item.max_points
    cap = f"（上限 {_pts(item.max_points)} 分）" if capped else ""
    text = (f"{item.label} {n:,} 处 × {_pts(item.points_each)} 分 → 扣 {_pts(pts)} 分{cap}"
            if n else f"{item.label} 0 处 → 不扣分")
    return Line(item.part, item.key, item.label, float(n), -pts, text)


def _meetings(item: Item, f: Facts) -> Line:
    held = f.governance.get("meetings")
    if held is None:
        return Line(item.part, item.key, item.label, None, 0.0,
                    f"{item.label}：无会议记录资料，不计分", counted=False)
    missing = max(0, item.expected - int(held))
    raw = missing * item.points_each
    pts = min(raw, item.max_points) if item.max_points else raw
    text = (f"{item.label} {int(held)} 次（应不少于 {item.expected} 次），缺 {missing} 次 × "
            f"{_pts(item.points_each)} 分 → 扣 {_pts(pts)} 分" if missing else
            f"{item.label} {int(held)} 次（应不少于 {item.expected} 次）→ 不扣分")
    return Line(item.part, item.key, item.label, float(held), -pts, text)


def _renewal(item: Item, f: Facts) -> Line:
    overdue = f.governance.get("renewal")
    if overdue is None:
        return Line(item.part, item.key, item.label, None, 0.0,
                    f"{item.label}：无任期资料，不计分", counted=False)
    if overdue:
        end = f.governance.get("term_end")
        when = f"（任期 {end:%Y-%m-%d} 届满）" if isinstance(end, dt.date) else ""
        return Line(item.part, item.key, item.label, 1.0, -item.points,
                    f"任期届满未换届{when} → 扣 {_pts(item.points)} 分")
    return Line(item.part, item.key, item.label, 0.0, 0.0, "按期换届或任期未满 → 不扣分")


#: Item kinds: how each turns the facts into a line.
ITEM_KINDS: dict[str, Callable[[Item, Facts], Line]] = {
    "per_1000": _per_1000, "rate": _rate, "hazards": _hazards, "meetings": _meetings,
    "renewal": _renewal,
}


def valid_events(model: Model, events: Sequence[Event], period: Period) -> list[Event]:
    """The events that count in ``period``: dated in it or in the quarters before it,
    ``event_valid_quarters`` in all, and dated no later than its end."""
    first = period.shift(-(model.event_valid_quarters - 1)).start
    return sorted((e for e in events if first <= e.on <= period.end), key=lambda e: (e.on, e.id))


def score(model: Model, f: Facts) -> Score:
    """Score ``f`` by ``model``: base, minus each item's points, plus the events' points."""
    lines = [ITEM_KINDS[item.kind](item, f) for item in model.items]
    performance = max(model.floor, model.base + sum(ln.points for ln in lines))
    bonus = 0.0
    for e in valid_events(model, f.events, f.period):
        kind = model.events.get(e.kind)
        if kind is None:  # a kind the current model no longer knows
            lines.append(Line("events", f"event-{e.id}", e.kind, None, 0.0,
                              f"{e.on:%Y-%m-%d} {e.kind}（{e.doc_no}）：本模型未定义该事项，不计分",
                              counted=False))
            continue
        pts = kind.points
        cap = ""
        if pts > 0:
            room = max(0.0, model.max_bonus - bonus)
            if pts > room:
                cap = f"（本季度加分已达上限 {_pts(model.max_bonus)} 分）"
                pts = room
            bonus += pts
        verb = "加" if pts > 0 else "扣"
        lines.append(Line("events", f"event-{e.id}", kind.label, None, pts,
                          f"{e.on:%Y-%m-%d} {kind.label}（{e.doc_no}）：{e.reason} → "
                          f"{verb} {_pts(pts)} 分{cap}"))
    total = model.base + sum(ln.points for ln in lines)
    total = round(min(max(total, model.floor), model.base + model.max_bonus), 1)
    band = model.band(total).band
    if f.households <= 0:  # nothing served in the quarter: nothing to rate
        band = ""
        lines.insert(0, Line("cases", "unrated", "不评级", None, 0.0,
                             "本季度没有服务的小区（户数为 0），不评级", counted=False))
    return Score(f.subject_id, f.name, f.period, total, band, round(performance, 1),
                 tuple(lines))


def explain(model: Model, s: Score, households: int | None = None,
            received: int | None = None) -> list[str]:
    """The score line by line, in Chinese (``propmap credit explain``, the profile page)."""
    out = [f"{s.name} · {s.period.label}信用评价",
           f"（{model.name}，版本 {model.version}）", f"基础分 {_fmt(model.base)} 分"]
    shown = [(part, title) for part, title in PARTS.items()
             if any(ln.part == part for ln in s.lines)]
    for i, (part, title) in enumerate(shown):
        lines = [ln for ln in s.lines if ln.part == part]
        head = f"{'一二三四'[i]}、{title}"
        if part == "cases" and households is not None and received is not None:
            head += f"（服务 {households:,} 户，期内计入类别受理 {received:,} 件）"
        if part == "events":
            head += f"（有效期 {model.event_valid_quarters} 个季度，加分每季度上限 " \
                    f"{_fmt(model.max_bonus)} 分）"
        out.append(head)
        out.extend(f"  {ln.text}" for ln in lines)
        out.append(f"  小计 {'+' if s.part(part) > 0 else ''}{_fmt(s.part(part))} 分")
    if not any(ln.part == "events" for ln in s.lines):
        out.append("记录事项：本季度无有效的表彰或处罚记录")
    if not s.band:
        out.append(f"得分 {_fmt(s.total)} 分 → 不评级")
    else:
        out.append(f"得分 {_fmt(s.total)} 分 → 等级 {s.band}（{model.band_label(s.band)}）"
                   + ("；部分项目样本不足或资料缺失，等级仅供参考" if not s.complete else ""))
    return out
