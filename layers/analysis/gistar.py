"""Significant hot and cold spots: Getis-Ord Gi* on an H3 grid, with the FDR controlled.

A dense hexagon is not a hot spot: the meeting asks whether a cluster of
complaints is more than chance given how complaints fall across the city.
Gi* answers it per cell: it compares the sum of the cell's and its
neighbours' counts with what the city-wide distribution would give, and a
cell whose neighbourhood is far above (below) that is a hot (cold) spot.

- **Statistic**: ``esda.G_Local(y, w, transform="B", star=True)``: binary
  weights, the cell itself in its own neighbourhood (Gi*, as ArcGIS's Hot Spot
  Analysis). The z-score is esda's analytical ``Zs`` (what ArcGIS reports as
  GiZScore).
- **Inference**: conditional permutations (``permutations``, default 999,
  fixed ``seed``): each cell's value is held and the others are shuffled over
  its neighbours. esda reports two p-values from them: the pseudo p-value
  ``p_sim`` (rank of the observed G among the permuted ones) and ``p_z_sim``
  (the observed G standardised by the permutations' mean and spread,
  ``z_sim``). The classes use the latter, two-sided (``p = 2 · p_z_sim``, as
  ArcGIS's confidence levels are two-sided): a pseudo p-value cannot fall below
  1 / (permutations + 1), and under FDR control over several hundred cells that
  floor alone keeps every cell below 99 % confidence (measured: a planted
  cluster of 7 cells among 217 came out at 90 % with ``p_sim``, 99 % with
  ``p_z_sim``). ``p_sim`` is kept and reported beside it.
- **Multiple testing**: hundreds of cells are tested at once, so some would be
  "significant" by chance. The Benjamini–Hochberg false discovery rate
  adjustment (``scipy.stats.false_discovery_control``) turns the p-values into
  q-values; a cell is a 99 / 95 / 90 % hot or cold spot when its q-value is at
  most 0.01 / 0.05 / 0.10 (running BH at each of the three levels).
- **Neighbours**: the H3 cells within ``k`` steps (:func:`h3_weights`).

Everything here takes arrays and returns arrays; the queries that count cases
per cell are in :mod:`layers.hotspot_stats`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import h3
import numpy as np
import numpy.typing as npt
from esda.getisord import G_Local
from libpysal.weights import W
from scipy.stats import false_discovery_control

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SpotClass:
    """One Gi* class: ArcGIS's ``Gi_Bin`` code and name, Chinese label, legend text, colour."""

    bin: int
    key: str
    name: str
    label: str
    explanation: str
    colour: str


#: The seven classes as ArcGIS's Hot Spot Analysis names them, with plain-Chinese legend text.
CLASSES: tuple[SpotClass, ...] = (
    SpotClass(3, "hot_99", "Hot Spot - 99% Confidence", "热点（99%置信度）",
              "该六边形及其周边的诉求明显多于全市一般水平；纯属偶然聚集的可能性不到1%，"
              "可以放心作为重点区域。", "#d62f27"),
    SpotClass(2, "hot_95", "Hot Spot - 95% Confidence", "热点（95%置信度）",
              "该六边形及其周边的诉求多于全市一般水平；纯属偶然的可能性不到5%。", "#ed7551"),
    SpotClass(1, "hot_90", "Hot Spot - 90% Confidence", "热点（90%置信度）",
              "该六边形及其周边的诉求偏多；纯属偶然的可能性不到10%，宜持续关注。", "#fab984"),
    SpotClass(0, "not_significant", "Not Significant", "不显著",
              "诉求多少与全市一般水平没有可靠差别：看起来多或少，都可能只是偶然。", "#f0f0d2"),
    SpotClass(-1, "cold_90", "Cold Spot - 90% Confidence", "冷点（90%置信度）",
              "该六边形及其周边的诉求偏少；纯属偶然的可能性不到10%。", "#c0ccbe"),
    SpotClass(-2, "cold_95", "Cold Spot - 95% Confidence", "冷点（95%置信度）",
              "该六边形及其周边的诉求少于全市一般水平；纯属偶然的可能性不到5%。", "#849eba"),
    SpotClass(-3, "cold_99", "Cold Spot - 99% Confidence", "冷点（99%置信度）",
              "该六边形及其周边的诉求明显少于全市一般水平；纯属偶然的可能性不到1%。", "#4575b5"),
)
BY_KEY: dict[str, SpotClass] = {c.key: c for c in CLASSES}
BY_BIN: dict[int, SpotClass] = {c.bin: c for c in CLASSES}
#: Confidence levels: (bin magnitude, largest q-value).
LEVELS: tuple[tuple[int, float], ...] = ((3, 0.01), (2, 0.05), (1, 0.10))
#: What the confidence means, for a legend's footnote.
LEGEND_NOTE = (
    "置信度说明：用 Getis-Ord Gi* 统计比较每个六边形连同相邻六边形的诉求量与全市分布，"
    "经999次条件随机置换检验，并按 Benjamini–Hochberg 方法控制错误发现率（同时检验几百个"
    "六边形时，难免有个别“显著”是偶然，此法把这类误报的比例控制在所示水平以内）。"
)


def h3_weights(cells: Sequence[str], k: int = 1) -> W:
    """Binary contiguity weights of ``cells``: neighbours are the cells within ``k`` H3 steps.

    Cells outside ``cells`` are not neighbours (the analysed area is the study area);
    the cell itself is not listed (Gi*'s self-weight is added by ``G_Local(star=True)``).
    A cell with no neighbour in ``cells`` (an island) keeps an empty list.
    """
    index = {c: i for i, c in enumerate(cells)}
    neighbours: dict[int, list[int]] = {}
    for i, c in enumerate(cells):
        neighbours[i] = sorted(index[n] for n in h3.grid_disk(c, k) if n != c and n in index)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The weights matrix is not fully connected",
                                category=UserWarning)
        return W(neighbours, silence_warnings=True)


def g_local(y: FloatArray, w: W, *, permutations: int, seed: int) -> G_Local:
    """``esda.G_Local`` as used here: binary weights, Gi* (``star=True``), a fixed seed.

    esda warns on every call that the default alternative hypothesis of its
    conditional randomisation will change; ``G_Local`` does not let the caller
    choose it, so the warning is silenced here and the current (directed)
    behaviour is documented and tested instead. libpysal also warns, on each
    call, that the weights have several components when the analysed area has
    separate towns: expected, and silenced too. A cell without neighbours in the
    analysed set (an island) has no permutation spread: its ``z_sim`` is 0/0,
    computed quietly and treated as not significant by :func:`gi_star`.
    """
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.filterwarnings("ignore", message="The alternative hypothesis for conditional",
                                category=DeprecationWarning)
        warnings.filterwarnings("ignore", message="The weights matrix is not fully connected",
                                category=UserWarning)
        return G_Local(np.asarray(y, dtype=float), w, transform="B", star=True,
                       permutations=permutations, seed=seed, n_jobs=1,
                       keep_simulations=permutations > 0)


def fdr(p: FloatArray) -> FloatArray:
    """Benjamini–Hochberg adjusted p-values (q-values); NaN stays NaN."""
    p = np.asarray(p, dtype=float)
    q = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        q[ok] = false_discovery_control(p[ok], method="bh")
    return q


def classify(z: FloatArray, q: FloatArray) -> npt.NDArray[np.int64]:
    """ArcGIS ``Gi_Bin`` codes (−3…3) from z-scores (direction) and q-values (confidence)."""
    z, q = np.asarray(z, dtype=float), np.asarray(q, dtype=float)
    out = np.zeros(len(z), dtype=np.int64)
    sign = np.sign(np.nan_to_num(z))
    for level, alpha in reversed(LEVELS):
        out = np.where(np.nan_to_num(q, nan=1.0) <= alpha, sign * level, out)
    return out.astype(np.int64)


@dataclass(frozen=True)
class GiStar:
    """Gi* of one variable over the analysed cells, aligned with the input arrays."""

    y: FloatArray
    z: FloatArray
    """esda's analytical z-score ``Zs`` (ArcGIS GiZScore)."""
    z_sim: FloatArray
    """esda's ``z_sim``: G standardised by its conditional-permutation distribution."""
    p_sim: FloatArray
    """esda's pseudo p-value from the permutations (one-sided, in the observed direction)."""
    p: FloatArray
    """Two-sided p-value of ``z_sim`` (``2 · p_z_sim``): what the classes are judged on."""
    q: FloatArray
    """Benjamini–Hochberg adjusted ``p``."""
    bin: npt.NDArray[np.int64]
    """ArcGIS Gi_Bin: 3 … −3 (see :data:`CLASSES`), direction from ``z_sim``."""

    @property
    def keys(self) -> list[str]:
        """Class keys (``hot_99`` …) per cell."""
        return [BY_BIN[int(b)].key for b in self.bin]


def gi_star(y: npt.ArrayLike, w: W, *, permutations: int = 999, seed: int = 12345) -> GiStar:
    """Gi* z-scores, permutation p-values, FDR q-values and classes for ``y`` on ``w``.

    Parameters
    ----------
    y
        One value per cell (counts, or counts per 1,000 households), in ``w``'s order.
    w
        Weights from :func:`h3_weights`.
    permutations, seed
        Conditional permutations of esda and their seed (reproducible results).

    A variable without variation (no cases at all, or the same count everywhere)
    has no hot or cold spot: every cell is returned not significant, z 0, p 1.
    """
    y = np.asarray(y, dtype=float)
    n = len(y)
    if n < 3 or float(np.nanvar(y)) == 0.0 or permutations < 1:
        zeros, ones = np.zeros(n), np.ones(n)
        return GiStar(y, zeros, zeros, ones, ones, ones, np.zeros(n, dtype=np.int64))
    g = g_local(y, w, permutations=permutations, seed=seed)
    z = np.asarray(g.Zs, dtype=float)
    z_sim = np.asarray(g.z_sim, dtype=float)
    finite = np.isfinite(z_sim)
    z_sim = np.where(finite, z_sim, 0.0)
    p = np.where(finite, np.minimum(1.0, 2.0 * np.asarray(g.p_z_sim, dtype=float)), 1.0)
    q = fdr(p)
    return GiStar(y, z, z_sim, np.asarray(g.p_sim, dtype=float), p, q, classify(z_sim, q))


def analytical(y: npt.ArrayLike, w: W) -> tuple[FloatArray, FloatArray]:
    """Gi* z-scores and two-sided normal p-values without permutations (one time slice).

    What ArcGIS's space-time Gi* reports per bin; used for the slices of the
    emerging-hotspot cube, where 52 × 999 permutations would buy little. A slice
    without variation gives z 0 and p 1.
    """
    y = np.asarray(y, dtype=float)
    if len(y) < 3 or float(np.var(y)) == 0.0:
        return np.zeros(len(y)), np.ones(len(y))
    g = g_local(y, w, permutations=0, seed=0)
    z = np.asarray(g.Zs, dtype=float)
    return z, np.minimum(1.0, 2.0 * np.asarray(g.p_norm, dtype=float))
