"""Coordinate systems met in Chinese data, and conversions to WGS84.

Pure functions on numpy arrays (longitude first, always), so a million points
convert in one call. Four systems appear in staff exports:

- ``wgs84``: GPS, EPSG:4326; what propmap stores.
- ``cgcs2000``: EPSG:4490, the national datum; equal to WGS84 at map scale.
- ``gcj02``: the obfuscated datum of Amap/Gaode and Tencent maps, offset from
  WGS84 by up to several hundred metres inside China (identity outside).
- ``bd09``: Baidu's further offset on top of GCJ-02.

The forward transform WGS84 → GCJ-02 is the published closed form; its inverse
has none, so :func:`gcj02_to_wgs84` iterates the forward transform until the
residual is below a millimetre.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from geo._errors import CRSError

_A = 6378245.0  # Krasovsky 1940 semi-major axis, used by the GCJ-02 algorithm
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0

#: Names accepted for each system, as staff write them in exports.
ALIASES = {
    "wgs84": "wgs84",
    "wgs-84": "wgs84",
    "gps": "wgs84",
    "epsg:4326": "wgs84",
    "4326": "wgs84",
    "cgcs2000": "cgcs2000",
    "cgcs-2000": "cgcs2000",
    "epsg:4490": "cgcs2000",
    "4490": "cgcs2000",
    "2000": "cgcs2000",
    "国家2000": "cgcs2000",
    "gcj02": "gcj02",
    "gcj-02": "gcj02",
    "火星坐标": "gcj02",
    "高德": "gcj02",
    "腾讯": "gcj02",
    "amap": "gcj02",
    "bd09": "bd09",
    "bd-09": "bd09",
    "百度": "bd09",
    "baidu": "bd09",
}

Arr = NDArray[np.float64]


def normalize(name: str | None) -> str:
    """Return the canonical name of a coordinate system; blank means ``wgs84``."""
    if name is None or str(name).strip() == "" or str(name).lower() == "nan":
        return "wgs84"
    key = str(name).strip().lower().replace(" ", "")
    if key not in ALIASES:
        raise CRSError(f"无法识别的坐标系“{name}”，应为 WGS84、CGCS2000、GCJ02 或 BD09 之一")
    return ALIASES[key]


def _out_of_china(lon: Arr, lat: Arr) -> NDArray[np.bool_]:
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _delta(lon: Arr, lat: Arr) -> tuple[Arr, Arr]:
    x, y = lon - 105.0, lat - 35.0
    dlat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    )
    dlon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    )
    radlat = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    return dlon, dlat


def _arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[Arr, Arr]:
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Arr, Arr]:
    """WGS84 → GCJ-02 (identity outside China)."""
    lon_, lat_ = _arrays(lon, lat)
    dlon, dlat = _delta(lon_, lat_)
    out = _out_of_china(lon_, lat_)
    return np.where(out, lon_, lon_ + dlon), np.where(out, lat_, lat_ + dlat)


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike, *, tol: float = 1e-9) -> tuple[Arr, Arr]:
    """GCJ-02 → WGS84 by fixed-point iteration of the forward transform (≈1 mm)."""
    glon, glat = _arrays(lon, lat)
    wlon, wlat = glon.copy(), glat.copy()
    for _ in range(30):
        flon, flat = wgs84_to_gcj02(wlon, wlat)
        elon, elat = flon - glon, flat - glat
        wlon, wlat = wlon - elon, wlat - elat
        if np.nanmax(np.abs(np.concatenate([elon.ravel(), elat.ravel(), [0.0]]))) < tol:
            break
    return wlon, wlat


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Arr, Arr]:
    """BD-09 → GCJ-02."""
    lon_, lat_ = _arrays(lon, lat)
    x, y = lon_ - 0.0065, lat_ - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Arr, Arr]:
    """GCJ-02 → BD-09."""
    lon_, lat_ = _arrays(lon, lat)
    z = np.sqrt(lon_ * lon_ + lat_ * lat_) + 0.00002 * np.sin(lat_ * _X_PI)
    theta = np.arctan2(lat_, lon_) + 0.000003 * np.cos(lon_ * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def to_wgs84(lon: ArrayLike, lat: ArrayLike, system: str) -> tuple[Arr, Arr]:
    """Convert coordinates in ``system`` (any name :func:`normalize` accepts) to WGS84."""
    system = normalize(system)
    if system in ("wgs84", "cgcs2000"):
        return _arrays(lon, lat)
    if system == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def from_wgs84(lon: ArrayLike, lat: ArrayLike, system: str) -> tuple[Arr, Arr]:
    """Convert WGS84 coordinates to ``system`` (for tiles or exports in another datum)."""
    system = normalize(system)
    if system in ("wgs84", "cgcs2000"):
        return _arrays(lon, lat)
    if system == "gcj02":
        return wgs84_to_gcj02(lon, lat)
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def transform_geometry(geom: Any, source: str, target: str) -> Any:
    """Convert every vertex of a shapely geometry between two of these systems."""
    source, target = normalize(source), normalize(target)
    if source == target:
        return geom
    if target in ("wgs84", "cgcs2000"):
        fn: Callable[[Arr, Arr], tuple[Arr, Arr]] = lambda x, y: to_wgs84(x, y, source)  # noqa: E731
    elif source in ("wgs84", "cgcs2000"):
        fn = lambda x, y: from_wgs84(x, y, target)  # noqa: E731
    else:
        fn = lambda x, y: from_wgs84(*to_wgs84(x, y, source), target)  # noqa: E731

    def _xy(coords: Arr) -> Arr:
        x, y = fn(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, _xy)
