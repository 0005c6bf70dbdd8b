"""A labelled set of multi-channel duplicates and near-misses, built deterministically.

Each *complaint* is one issue (category, keyword, building) in one compound,
first made through one channel and repeated through one or two others within
six days, in words different from the first (and from the demo generator's:
the set tests the grouping, not the generator). Beside each complaint stand
near-misses that must stay apart from it:

- ``other_issue``: same compound and channel mix, a different category, within days;
- ``same_theme_other_issue``: same compound, same theme, another keyword;
- ``other_compound``: the same issue and words in another compound, within days;
- ``weeks_later``: the same words, same compound, four to six weeks later;
- ``other_building``: same compound, same keyword, another building, within days.

:func:`pair_scores` measures a grouping against the labels, pairwise: a pair
of cases is *predicted* together when they share ``complaint_group``, *true*
when they share ``truth``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: Categories and keywords used (theme, category, keywords).
ISSUES = (
    ("fire", "PM13", ("消防通道被占", "灭火器过期", "消防栓没水")),
    ("fire", "PM14", ("电动车楼道充电", "飞线充电")),
    ("elevator", "PM15", ("电梯困人", "电梯经常停运")),
    ("security", "PM12", ("广场舞噪音扰民", "夜间施工噪声")),
    ("security", "PM16", ("门禁坏了", "小区监控不亮")),
    ("utilities", "PM18", ("停水", "化粪池外溢")),
    ("service", "PM01", ("垃圾没人清运", "楼道灯不亮")),
    ("fees", "PM02", ("物业乱收停车费", "物业费涨价")),
)
FIRST = (
    "反映{place}{kw}问题，希望尽快处理。",
    "来电人称{place}{kw}，要求处理并回复。",
    "{place}业主反映{kw}，请核实处理。",
)
AGAIN = (
    "您好，我住在{place}，{kw}，打了热线还没人来，麻烦领导过问一下。",
    "网民留言：{place}{kw}，希望政府管一管。",
    "信访人称{place}存在{kw}情况，多次反映未果。",
    "{place}的{kw}问题到现在也没处理好，再次反映。",
)
#: Details a second report adds in its own words (not in the grouping's boilerplate list).
DETAILS = ("", "", "已经好几天了。", "家里有老人小孩，出行很不方便。", "晚上十点以后尤其严重。",
           "物业说不归他们管。", "邻居们都很有意见。")
CHANNELS = ("12345", "mailbox", "petition")


@dataclass(frozen=True)
class Compound:
    id: int
    name: str
    lon: float
    lat: float


def labelled_cases(compounds: Sequence[Compound], start: dt.datetime, *, complaints: int = 120,
                   first_id: int = 10_000_000, seed: int = 42) -> list[dict[str, Any]]:
    """Rows for ``cases`` (plus ``truth``, ``kind``): complaints, their repeats, near-misses."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    ids = itertools.count(first_id)

    def add(x: Compound, code: str, kw: str, building: int, when: dt.datetime, channel: str,
            template: str, truth: int | None, kind: str, i: int | None = None) -> None:
        i = next(ids) if i is None else i
        rows.append({"id": i, "compound_id": x.id, "lon": x.lon, "lat": x.lat,
                     "channel": channel, "case_no": f"LBL{i}", "received_at": when,
                     "category_code": code, "content": template.format(
                         place=f"{x.name}{building}栋", kw=kw),
                     "truth": i if truth is None else truth, "kind": kind})

    for _k in range(complaints):
        x = rng.choice(compounds)
        theme, code, kws = rng.choice(ISSUES)
        kw = rng.choice(kws)
        building = rng.randint(1, 12)
        t0 = start + dt.timedelta(days=rng.uniform(0, 300))
        first_channel = rng.choices(CHANNELS, weights=(8, 1, 1))[0]
        truth = next(ids)
        add(x, code, kw, building, t0, first_channel, rng.choice(FIRST), truth, "first", truth)
        others = [c for c in CHANNELS if c != first_channel]
        for channel in rng.sample(others, rng.randint(1, 2)):
            add(x, code, kw, building, t0 + dt.timedelta(days=rng.uniform(0.05, 6)), channel,
                rng.choice(AGAIN) + rng.choice(DETAILS), truth, "duplicate")
        near = rng.choice(others)
        soon = t0 + dt.timedelta(days=rng.uniform(0.1, 5))
        other_theme = rng.choice([i for i in ISSUES if i[0] != theme])
        add(x, other_theme[1], rng.choice(other_theme[2]), building, soon, near,
            rng.choice(AGAIN) + rng.choice(DETAILS), None, "other_issue")
        same_theme = [(c, k) for th, c, ks in ISSUES if th == theme for k in ks if k != kw]
        if same_theme:
            c2, k2 = rng.choice(same_theme)
            add(x, c2, k2, building, soon, near, rng.choice(AGAIN) + rng.choice(DETAILS), None,
                "same_theme_other_issue")
        y = rng.choice([c for c in compounds if c.id != x.id])
        add(y, code, kw, building, soon, near, rng.choice(AGAIN), None, "other_compound")
        add(x, code, kw, building, t0 + dt.timedelta(days=rng.uniform(28, 42)), near,
            rng.choice(AGAIN), None, "weeks_later")
        add(x, code, kw, rng.choice([b for b in range(1, 13) if b != building]), soon, near,
            rng.choice(AGAIN), None, "other_building")
    return rows


def pair_scores(rows: Sequence[Mapping[str, Any]],
                predicted: Mapping[int, int | None]) -> dict[str, float]:
    """Pairwise precision and recall of ``predicted`` (case id → group) against ``truth``."""
    truth_pairs, pred_pairs = set(), set()
    by_truth: dict[int, list[int]] = {}
    by_pred: dict[int, list[int]] = {}
    for r in rows:
        by_truth.setdefault(r["truth"], []).append(r["id"])
        g = predicted.get(r["id"])
        if g is not None:
            by_pred.setdefault(g, []).append(r["id"])
    for members in by_truth.values():
        truth_pairs |= set(itertools.combinations(sorted(members), 2))
    for members in by_pred.values():
        pred_pairs |= set(itertools.combinations(sorted(members), 2))
    hit = len(truth_pairs & pred_pairs)
    return {"true_pairs": len(truth_pairs), "predicted_pairs": len(pred_pairs), "hits": hit,
            "precision": hit / len(pred_pairs) if pred_pairs else 1.0,
            "recall": hit / len(truth_pairs) if truth_pairs else 1.0}
