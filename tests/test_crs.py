"""Coordinate conversions against published reference values."""

import numpy as np
import pytest

from geo import crs
from geo._errors import CRSError


def test_wgs84_to_gcj02_matches_published_tiananmen_offset() -> None:
    # Widely published pair: WGS84 (116.391349, 39.907375) ↔ GCJ-02 (116.397590, 39.908776).
    lon, lat = crs.wgs84_to_gcj02(116.391349, 39.907375)
    assert lon == pytest.approx(116.397590, abs=2e-6)
    assert lat == pytest.approx(39.908776, abs=2e-6)


def test_gcj02_inverse_is_exact_to_a_centimetre_over_kaili() -> None:
    rng = np.random.default_rng(0)
    lon = rng.uniform(107.5, 108.2, 10_000)
    lat = rng.uniform(26.4, 26.8, 10_000)
    back = crs.gcj02_to_wgs84(*crs.wgs84_to_gcj02(lon, lat))
    assert np.abs(back[0] - lon).max() < 1e-7  # ≈ 1 cm
    assert np.abs(back[1] - lat).max() < 1e-7


def test_kaili_offset_is_hundreds_of_metres() -> None:
    lon, lat = crs.wgs84_to_gcj02(107.978, 26.568)
    metres = np.hypot((lon - 107.978) * 99_600, (lat - 26.568) * 110_600)
    assert 200 < metres < 700


def test_bd09_round_trip() -> None:
    lon, lat = crs.to_wgs84(*crs.from_wgs84(107.98, 26.57, "bd09"), "百度")
    assert lon == pytest.approx(107.98, abs=1e-6) and lat == pytest.approx(26.57, abs=1e-6)


def test_outside_china_is_identity() -> None:
    assert crs.wgs84_to_gcj02(2.35, 48.85) == (2.35, 48.85)


@pytest.mark.parametrize(
    "name,expected",
    [
        ("", "wgs84"),
        (None, "wgs84"),
        ("GCJ-02", "gcj02"),
        ("CGCS2000", "cgcs2000"),
        ("bd09", "bd09"),
    ],
)
def test_normalize(name: str | None, expected: str) -> None:
    assert crs.normalize(name) == expected


def test_unknown_system_is_refused_in_chinese() -> None:
    with pytest.raises(CRSError, match="无法识别的坐标系"):
        crs.normalize("北京54")
