"""Emerging hot spots: how each cell's hot- or cold-spot status changed over time.

The method is ArcGIS Pro's *Emerging Hot Spot Analysis* ("How Emerging Hot
Spot Analysis works", pro.arcgis.com, tool-reference/space-time-pattern-mining/
learnmoreemerging.htm; same definitions in ArcMap 10.3+ and ArcGIS AllSource):

1. a space-time cube: counts per cell and time step (week or month);
2. Gi* per bin (:func:`layers.analysis.gistar.analytical`: z-score and
   two-sided p-value, as ArcGIS reports them per bin), the false discovery
   rate controlled within each time step (Benjamini–Hochberg); a bin is a
   significant hot (cold) spot when its q-value is at most ``bin_alpha``
   (ArcGIS: 90 % confidence) and its z-score is positive (negative);
3. the Mann–Kendall trend test on each cell's series of z-scores
   (:func:`mann_kendall`, tested against ``pymannkendall.original_test``);
4. each cell classified by the published pattern definitions (paraphrased;
   "share" is ArcGIS's 90 %):

   - **New hot spot**: a significant hot spot in the final time step, never one before.
   - **Consecutive hot spot**: a single uninterrupted run of at least two
     significant hot-spot bins in the final time steps; never a significant hot
     spot before that run; less than 90 % of all bins are hot spots.
   - **Intensifying hot spot**: a significant hot spot in at least 90 % of the
     time steps, including the final one; the intensity of clustering (the
     z-scores) increases with a significant Mann–Kendall trend.
   - **Persistent hot spot**: a significant hot spot in at least 90 % of the
     time steps, with no significant trend in the intensity of clustering.
   - **Diminishing hot spot**: a significant hot spot in at least 90 % of the
     time steps, including the final one; the intensity of clustering
     decreases with a significant trend.
   - **Sporadic hot spot**: a significant hot spot in the final time step, with a
     history of being an on-again, off-again hot spot; less than 90 % of the
     time steps are hot spots and none is a significant cold spot.
   - **Oscillating hot spot**: a significant hot spot in the final time step that
     was a significant cold spot in some earlier time step; less than 90 % of
     the time steps are hot spots.
   - **Historical hot spot**: not a hot spot in the most recent time step, but a
     significant hot spot in at least 90 % of the time steps.
   - the eight cold-spot patterns mirror these (an intensifying cold spot's
     z-scores fall, a diminishing one's rise);
   - **No pattern detected**: none of the above.

ArcGIS does not say in which order overlapping definitions win. Here:
new, consecutive, then the ≥ 90 % patterns (intensifying, diminishing,
persistent), then oscillating, then sporadic; historical applies only when the
final step is not significant in the same direction. Intensifying, persistent
and diminishing require the final step to be significant (otherwise the cell
is historical), as ArcGIS's definitions of intensifying/diminishing say and
its definition of historical implies for persistent. The trend is significant
when its two-sided p-value is below ``trend_alpha``.

Where this differs from ArcGIS: ArcGIS's space-time Gi* may include
neighbouring time steps in a bin's neighbourhood ("Neighborhood Time Step");
here each time slice is analysed on its own (a neighbourhood time step of 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from libpysal.weights import W
from scipy.stats import norm

from layers.analysis import gistar

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Pattern:
    """One emerging-hotspot pattern: key, ArcGIS name, Chinese label and legend text, colour."""

    key: str
    name: str
    label: str
    explanation: str
    colour: str


PATTERNS: tuple[Pattern, ...] = (
    Pattern("new_hot", "New Hot Spot", "新热点",
            "最近一个时段首次成为显著热点，此前从未是热点：新冒出来的问题区域。", "#b30000"),
    Pattern("consecutive_hot", "Consecutive Hot Spot", "连续热点",
            "最近连续至少两个时段都是显著热点，此前从未是热点：正在形成的问题区域。", "#e34a33"),
    Pattern("intensifying_hot", "Intensifying Hot Spot", "加剧热点",
            "九成以上时段都是显著热点（含最近一个），且聚集程度在统计上显著上升：越来越严重。",
            "#7f0000"),
    Pattern("persistent_hot", "Persistent Hot Spot", "持续热点",
            "九成以上时段都是显著热点，聚集程度没有明显升降：长期问题区域。", "#d7301f"),
    Pattern("diminishing_hot", "Diminishing Hot Spot", "减弱热点",
            "九成以上时段都是显著热点（含最近一个），但聚集程度在统计上显著下降：正在好转。",
            "#fc8d59"),
    Pattern("sporadic_hot", "Sporadic Hot Spot", "零星热点",
            "最近一个时段是显著热点，过去时有时无，从未是冷点：反复出现的问题区域。", "#fdbb84"),
    Pattern("oscillating_hot", "Oscillating Hot Spot", "振荡热点",
            "最近一个时段是显著热点，但过去某些时段曾是显著冷点：忽冷忽热。", "#fdd49e"),
    Pattern("historical_hot", "Historical Hot Spot", "历史热点",
            "九成以上时段曾是显著热点，但最近一个时段不是：过去的问题区域，近期平静。",
            "#fee8c8"),
    Pattern("new_cold", "New Cold Spot", "新冷点",
            "最近一个时段首次成为显著冷点，此前从未是冷点。", "#08519c"),
    Pattern("consecutive_cold", "Consecutive Cold Spot", "连续冷点",
            "最近连续至少两个时段都是显著冷点，此前从未是冷点。", "#3182bd"),
    Pattern("intensifying_cold", "Intensifying Cold Spot", "加剧冷点",
            "九成以上时段都是显著冷点（含最近一个），且诉求越来越少于全市水平。", "#08306b"),
    Pattern("persistent_cold", "Persistent Cold Spot", "持续冷点",
            "九成以上时段都是显著冷点，没有明显升降：长期平静的区域。", "#2171b5"),
    Pattern("diminishing_cold", "Diminishing Cold Spot", "减弱冷点",
            "九成以上时段都是显著冷点（含最近一个），但冷点程度在减弱：诉求在向全市水平靠拢。",
            "#6baed6"),
    Pattern("sporadic_cold", "Sporadic Cold Spot", "零星冷点",
            "最近一个时段是显著冷点，过去时有时无，从未是热点。", "#9ecae1"),
    Pattern("oscillating_cold", "Oscillating Cold Spot", "振荡冷点",
            "最近一个时段是显著冷点，但过去某些时段曾是显著热点：忽冷忽热。", "#c6dbef"),
    Pattern("historical_cold", "Historical Cold Spot", "历史冷点",
            "九成以上时段曾是显著冷点，但最近一个时段不是。", "#deebf7"),
    Pattern("no_pattern", "No Pattern Detected", "无明显模式",
            "不属于以上任何一种热点或冷点模式。", "#f0f0f0"),
)
BY_KEY: dict[str, Pattern] = {p.key: p for p in PATTERNS}


@dataclass(frozen=True)
class Trend:
    """Mann–Kendall test of each row of a matrix (one series per cell)."""

    s: FloatArray
    var_s: FloatArray
    z: FloatArray
    p: FloatArray
    tau: FloatArray


def mann_kendall(x: npt.ArrayLike) -> Trend:
    """The Mann–Kendall trend test on each row of ``x`` (cells × time), vectorised.

    The same statistic, tie-corrected variance, continuity-corrected z and
    two-sided p-value as ``pymannkendall.original_test`` (which the tests
    compare against), for a whole cube at once. Ties are exact equality.
    """
    x = np.atleast_2d(np.asarray(x, dtype=float))
    m, n = x.shape
    diff = x[:, None, :] - x[:, :, None]  # [r, j, k] = x[r, k] - x[r, j]
    s = np.sign(np.triu(diff, k=1)).sum(axis=(1, 2))
    var = np.full(m, n * (n - 1) * (2 * n + 5), dtype=float)
    for r in range(m):
        _values, t = np.unique(x[r], return_counts=True)
        t = t[t > 1]
        if len(t):
            var[r] -= float((t * (t - 1) * (2 * t + 5)).sum())
    var /= 18.0
    root = np.sqrt(np.where(var > 0, var, 1.0))
    z = np.where(var <= 0, 0.0, np.where(s > 0, (s - 1) / root,
                                         np.where(s < 0, (s + 1) / root, 0.0)))
    p = 2 * norm.sf(np.abs(z))
    tau = s / (0.5 * n * (n - 1)) if n > 1 else np.zeros(m)
    return Trend(s.astype(float), var, z, p, np.asarray(tau, dtype=float))


@dataclass(frozen=True)
class Cube:
    """Gi* of every bin of a space-time cube (cells × time steps)."""

    counts: FloatArray
    z: FloatArray
    p: FloatArray
    q: FloatArray


def cube(counts: npt.ArrayLike, w: W) -> Cube:
    """Per time slice: Gi* z-scores and p-values, and BH q-values within the slice."""
    y = np.asarray(counts, dtype=float)
    z, p, q = np.zeros_like(y), np.ones_like(y), np.ones_like(y)
    for t in range(y.shape[1]):
        z[:, t], p[:, t] = gistar.analytical(y[:, t], w)
        q[:, t] = gistar.fdr(p[:, t])
    return Cube(y, z, p, q)


def _trailing_run(mask: BoolArray) -> int:
    """Length of the run of True at the end of ``mask``."""
    run = 0
    for v in mask[::-1]:
        if not v:
            break
        run += 1
    return run


def classify_one(hot: BoolArray, cold: BoolArray, trend_z: float, trend_p: float, *,
                 trend_alpha: float = 0.05, share: float = 0.9) -> str:
    """The pattern key of one cell from its significant hot/cold bins and z-score trend.

    See the module docstring for the definitions and their order.
    """
    hot, cold = np.asarray(hot, dtype=bool), np.asarray(cold, dtype=bool)
    n = len(hot)
    if n == 0:
        return "no_pattern"
    up = trend_p < trend_alpha and trend_z > 0
    down = trend_p < trend_alpha and trend_z < 0
    for kind, same, other, stronger, weaker in (("hot", hot, cold, up, down),
                                                ("cold", cold, hot, down, up)):
        if not same[-1]:
            continue
        count = int(same.sum())
        if count == 1:
            return f"new_{kind}"
        run = _trailing_run(same)
        if run >= 2 and count == run and count / n < share:
            return f"consecutive_{kind}"
        if count / n >= share:
            if stronger:
                return f"intensifying_{kind}"
            if weaker:
                return f"diminishing_{kind}"
            return f"persistent_{kind}"
        if other.any():
            return f"oscillating_{kind}"
        return f"sporadic_{kind}"
    if hot.sum() / n >= share:
        return "historical_hot"
    if cold.sum() / n >= share:
        return "historical_cold"
    return "no_pattern"


@dataclass(frozen=True)
class Emerging:
    """Emerging-hotspot result per cell, aligned with the cube's rows."""

    cube: Cube
    trend: Trend
    hot: BoolArray
    cold: BoolArray
    pattern: list[str]


def analyse(counts: npt.ArrayLike, w: W, *, bin_alpha: float = 0.10, trend_alpha: float = 0.05,
            share: float = 0.9) -> Emerging:
    """Cube → Gi* per bin → Mann–Kendall per cell → pattern per cell."""
    c = cube(counts, w)
    hot = (c.q <= bin_alpha) & (c.z > 0)
    cold = (c.q <= bin_alpha) & (c.z < 0)
    trend = mann_kendall(c.z)
    patterns = [classify_one(hot[i], cold[i], float(trend.z[i]), float(trend.p[i]),
                             trend_alpha=trend_alpha, share=share) for i in range(len(c.z))]
    return Emerging(c, trend, hot, cold, patterns)
