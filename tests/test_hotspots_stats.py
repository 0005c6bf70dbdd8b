"""Gi*, FDR, Mann–Kendall and the emerging-hotspot patterns, as pure functions on arrays."""

from __future__ import annotations

import warnings

import h3
import numpy as np
import pymannkendall
import pytest
from esda.getisord import G_Local

from layers.analysis import emerging, gistar

CENTRE = h3.latlng_to_cell(26.568, 107.978, 8)


def _grid(radius: int = 8) -> list[str]:
    return sorted(h3.grid_disk(CENTRE, radius))


def _planted(cells: list[str], seed: int = 7) -> np.ndarray:
    """Poisson background with a cluster of high counts around the centre cell."""
    rng = np.random.default_rng(seed)
    y = rng.poisson(3.0, len(cells)).astype(float)
    cluster = set(h3.grid_disk(CENTRE, 1))
    for i, c in enumerate(cells):
        if c in cluster:
            y[i] += 25
    return y


def test_h3_weights_are_the_ring_within_the_analysed_cells() -> None:
    cells = _grid(3)
    w = gistar.h3_weights(cells, k=1)
    i = cells.index(CENTRE)
    assert sorted(cells[j] for j in w.neighbors[i]) == sorted(h3.grid_ring(CENTRE, 1))
    edge = cells.index(sorted(h3.grid_ring(CENTRE, 3))[0])
    assert len(w.neighbors[edge]) < 6  # neighbours outside the analysed area do not count
    w2 = gistar.h3_weights(cells, k=2)
    assert len(w2.neighbors[i]) == 18


def test_gi_star_equals_a_direct_esda_call() -> None:
    cells = _grid()
    w = gistar.h3_weights(cells, k=1)
    y = _planted(cells)
    res = gistar.gi_star(y, w, permutations=999, seed=12345)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ref = G_Local(y, w, transform="B", star=True, permutations=999, seed=12345)
    np.testing.assert_allclose(res.z, ref.Zs, rtol=1e-12)
    np.testing.assert_allclose(res.z_sim, ref.z_sim, rtol=1e-12)
    np.testing.assert_allclose(res.p_sim, ref.p_sim, rtol=1e-12)
    np.testing.assert_allclose(res.p, np.minimum(1, 2 * ref.p_z_sim), rtol=1e-12)
    # the planted cluster is a 99 % hot spot, far cells are not hot
    i = cells.index(CENTRE)
    assert res.keys[i] == "hot_99"
    assert res.bin.max() == 3 and (res.bin[[cells.index(c) for c in h3.grid_ring(CENTRE, 8)]]
                                   <= 0).all()


def test_gi_star_is_reproducible_and_flat_data_has_no_spots() -> None:
    cells = _grid(5)
    w = gistar.h3_weights(cells)
    y = _planted(cells, seed=3)
    a, b = gistar.gi_star(y, w, seed=1), gistar.gi_star(y, w, seed=1)
    np.testing.assert_array_equal(a.p_sim, b.p_sim)
    flat = gistar.gi_star(np.zeros(len(cells)), w)
    assert set(flat.keys) == {"not_significant"} and (flat.p == 1).all()


def test_fdr_is_benjamini_hochberg() -> None:
    p = np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216])
    m = len(p)
    order = np.argsort(p)
    ranked = p[order] * m / np.arange(1, m + 1)
    expected = np.minimum.accumulate(ranked[::-1])[::-1]
    q = gistar.fdr(p)
    np.testing.assert_allclose(q[order], np.minimum(expected, 1))
    assert np.isnan(gistar.fdr(np.array([np.nan, 0.01]))[0])


def test_classes_follow_arcgis_confidence_levels() -> None:
    z = np.array([3.0, 2.0, 1.7, 0.5, -1.7, -2.0, -3.0, 2.5])
    q = np.array([0.005, 0.03, 0.08, 0.5, 0.08, 0.03, 0.005, np.nan])
    assert gistar.classify(z, q).tolist() == [3, 2, 1, 0, -1, -2, -3, 0]
    assert [c.name for c in gistar.CLASSES][0] == "Hot Spot - 99% Confidence"
    assert all(c.explanation for c in gistar.CLASSES)


@pytest.mark.parametrize("seed", range(6))
def test_mann_kendall_equals_pymannkendall(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(5, 30)).cumsum(axis=1)
    x[1, 10:20] = 0.5  # ties
    x[2] = np.round(x[2])  # many ties
    res = emerging.mann_kendall(x)
    for r in range(len(x)):
        ref = pymannkendall.original_test(x[r])
        assert res.s[r] == ref.s
        assert res.var_s[r] == pytest.approx(ref.var_s)
        assert res.z[r] == pytest.approx(ref.z)
        assert res.p[r] == pytest.approx(ref.p)
        assert res.tau[r] == pytest.approx(ref.Tau)


def _series(code: str) -> np.ndarray:
    """'H' significant hot, 'C' significant cold, '.' neither."""
    return np.array(list(code))


CASES = {
    # key: (series, trend z, trend p)
    "new_hot": ("." * 19 + "H", 0.0, 1.0),
    "new_hot (cold before: still never hot)": ("C" + "." * 18 + "H", 0.0, 1.0),
    "consecutive_hot": ("." * 16 + "HHHH", 2.5, 0.01),
    "intensifying_hot": ("." + "H" * 19, 3.0, 0.001),
    "persistent_hot": ("." + "H" * 19, 0.5, 0.6),
    "persistent_hot (trend not significant at 5 %)": ("H" * 20, 1.8, 0.07),
    "diminishing_hot": ("H" * 18 + ".H", -3.0, 0.002),
    "sporadic_hot": ("..H..H...H....H...H", 0.1, 0.9),
    "oscillating_hot": ("..C..H...H....H...H", 0.1, 0.9),
    "historical_hot": ("H" * 19 + ".", -1.0, 0.3),
    "new_cold": ("." * 19 + "C", 0.0, 1.0),
    "consecutive_cold": ("." * 17 + "CCC", -2.5, 0.01),
    "intensifying_cold": ("C" * 20, -3.0, 0.001),
    "persistent_cold": ("C" * 19 + "C", 0.0, 1.0),
    "diminishing_cold": ("C" * 20, 3.0, 0.001),
    "sporadic_cold": ("C...C....C...C.....C", 0.0, 1.0),
    "oscillating_cold": ("H...C....C...C.....C", 0.0, 1.0),
    "historical_cold": ("C" * 18 + ".C" + ".", 0.0, 1.0),
    "no_pattern": ("..H..C....H.........", 0.0, 1.0),
    "no_pattern (never significant)": ("." * 20, 0.0, 1.0),
}


@pytest.mark.parametrize("name", list(CASES))
def test_emerging_pattern_of_hand_built_series(name: str) -> None:
    code, tz, tp = CASES[name]
    s = _series(code)
    got = emerging.classify_one(s == "H", s == "C", tz, tp, trend_alpha=0.05, share=0.9)
    assert got == name.split(" ")[0]


def test_every_pattern_has_a_test_and_a_legend_text() -> None:
    tested = {n.split(" ")[0] for n in CASES}
    assert tested == set(emerging.BY_KEY)
    assert all(p.label and p.explanation for p in emerging.PATTERNS)


def test_emerging_cube_finds_a_cluster_that_appears_at_the_end() -> None:
    cells = _grid(6)
    w = gistar.h3_weights(cells)
    rng = np.random.default_rng(11)
    y = rng.poisson(2.0, (len(cells), 20)).astype(float)
    ring = [cells.index(c) for c in h3.grid_disk(CENTRE, 1)]
    y[np.ix_(ring, [17, 18, 19])] += 30  # a cluster in the last three weeks
    y[:, 5] = 0.0  # a week without any case: no variation, no spot
    res = emerging.analyse(y, w)
    i = cells.index(CENTRE)
    assert res.pattern[i] == "consecutive_hot"
    assert not res.hot[:, 5].any() and (res.cube.z[:, 5] == 0).all()
    # z-scores per slice are esda's
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ref = G_Local(y[:, 19], w, transform="B", star=True, permutations=0)
    np.testing.assert_allclose(res.cube.z[:, 19], ref.Zs)
