"""Locating cases: coordinates checked against the city, or a compound found by name or address.

Pure functions over pandas/numpy; the compound register and the city outline
are passed in (see :func:`etl.intake.cases.load_register` for the SQL side).

Coordinates are converted to WGS84 with :func:`geo.crs.to_wgs84`, per the
row's 坐标系. A point outside the city is quarantined, unless swapping
longitude and latitude puts it inside: then the swap is made and recorded.

Rows without coordinates are matched against the register's names, aliases
and addresses after :func:`clean` (province/city/street/community prefixes and
building, unit and room numbers removed). A name also matches without its
type word (小区, 苑, 花园, 家园 ...), so 金泉小区 finds 金泉苑; a key shared by
two compounds is ambiguous and matches neither.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely

from etl.intake.parse import per_unique
from geo import crs
from geo._errors import CRSError

#: Reasons (quarantine) and fixes, in Chinese for staff.
R_PARTIAL = "经纬度不完整"
R_NOT_NUMBER = "经纬度不是数字"
R_CRS = "无法识别的坐标系"
R_OUTSIDE = "坐标不在凯里市范围内"
R_NOT_DEGREES = "经纬度不是有效的度数"

_PROVINCE = r"^(?:中国)?(?:贵州省?)?(?:黔东南(?:苗族侗族自治)?州?)?(?:凯里市|凯里)?"
_BUILDING = re.compile(
    r"(?:\d+|[一二三四五六七八九十百零]+)\s*(?:栋|幢|号楼|座|单元|楼|层|室|户|号院)"
    r"|\d+(?:-\d+)+|[A-Za-z]\s*(?:栋|座|区)"
)
#: Type words a compound name may carry or drop (longest first).
TYPE_WORDS = ("住宅小区", "花园小区", "小区", "花园", "家园", "公寓", "新村", "苑")


def clean(text: str, prefixes: re.Pattern[str] | None = None) -> str:
    """Normalize a compound name or address for matching.

    NFKC (full-width digits), no spaces or brackets, no province/city prefix,
    no street or community prefix (``prefixes``), nothing from the first
    building/unit/room number on.
    """
    s = unicodedata.normalize("NFKC", text).strip()
    s = re.sub(r"[\s()（）【】\[\]“”\"'·,，。]", "", s)
    s = re.sub(_PROVINCE, "", s)
    if prefixes is not None:
        s = prefixes.sub("", s)
    m = _BUILDING.search(s)
    if m and m.start() > 0:
        s = s[: m.start()]
    return s


def stem(name: str) -> str:
    """``name`` without trailing type words (金泉苑小区 → 金泉); ``""`` when too short."""
    s = name
    changed = True
    while changed:
        changed = False
        for w in TYPE_WORDS:
            if s.endswith(w) and len(s) - len(w) >= 2:
                s, changed = s[: -len(w)], True
    return s if s != name else ""


@dataclass
class Register:
    """The compound register as lookup tables for names, stems and addresses."""

    names: dict[str, int] = field(default_factory=dict)
    stems: dict[str, int] = field(default_factory=dict)
    addresses: dict[str, int] = field(default_factory=dict)
    prefixes: re.Pattern[str] | None = None
    _trie: dict[str, object] = field(default_factory=dict)

    @classmethod
    def build(cls, compounds: pd.DataFrame, divisions: Iterable[str] = ()) -> Register:
        """Build from rows with ``id``, ``name``, ``aliases`` (list) and ``address``.

        ``divisions`` are street, town and community names that may prefix a
        name or an address (大十字街道, 三棵树镇, 营盘社区 ...).
        """
        divs = sorted({d for d in divisions if d}, key=len, reverse=True)
        alts = [re.escape(d) + ("(?:办事处)?" if d.endswith("街道") else "") for d in divs]
        prefixes = re.compile("^(?:" + "|".join(alts) + ")+") if alts else None
        names: dict[str, set[int]] = {}
        stems: dict[str, set[int]] = {}
        addrs: dict[str, set[int]] = {}
        rows = compounds[["id", "name", "aliases", "address"]].itertuples(index=False)
        for cid, name, aliases, address in rows:
            for n in [name, *(aliases if isinstance(aliases, list | tuple | np.ndarray) else [])]:
                if not isinstance(n, str) or not n.strip():
                    continue
                key = clean(n, prefixes)
                if len(key) >= 2:
                    names.setdefault(key, set()).add(int(cid))
                    if st := stem(key):
                        stems.setdefault(st, set()).add(int(cid))
            if isinstance(address, str) and address.strip():
                key = clean(address, prefixes)
                if len(key) >= 4:
                    addrs.setdefault(key, set()).add(int(cid))
        reg = cls(
            names={k: next(iter(v)) for k, v in names.items() if len(v) == 1},
            stems={k: next(iter(v)) for k, v in stems.items() if len(v) == 1},
            addresses={k: next(iter(v)) for k, v in addrs.items() if len(v) == 1},
            prefixes=prefixes,
        )
        reg._build_trie()
        return reg

    def _build_trie(self) -> None:
        # Keys searched inside free text, with a priority: whole names first,
        # then stems followed by any type word, then register addresses.
        entries: list[tuple[str, int, int]] = [(k, 0, v) for k, v in self.names.items()]
        entries += [(s + w, 1, v) for s, v in self.stems.items() for w in TYPE_WORDS]
        entries += [(k, 2, v) for k, v in self.addresses.items()]
        for key, prio, cid in entries:
            node = self._trie
            for ch in key:
                node = node.setdefault(ch, {})  # type: ignore[assignment]
            node.setdefault("", (prio, cid))  # type: ignore[arg-type]

    def find_in(self, text: str) -> int | None:
        """The compound named (or addressed) somewhere in ``text``: best priority, longest key."""
        best: tuple[int, int, int] | None = None  # (prio, -length, id)
        for i in range(len(text)):
            node = self._trie
            j = i
            while j < len(text) and text[j] in node:
                node = node[text[j]]  # type: ignore[assignment]
                j += 1
                hit = node.get("")
                if hit is not None:
                    cand = (hit[0], -(j - i), hit[1])  # type: ignore[index]
                    if best is None or cand < best:
                        best = cand
        return None if best is None else best[2]

    def match_name(self, text: str) -> int | None:
        """The compound a 小区名称 cell names: exact, then by stem, then found inside."""
        key = clean(text, self.prefixes)
        if not key:
            return None
        hit = self.names.get(key)
        if hit is None and (st := stem(key) or key) in self.stems:
            hit = self.stems[st]
        return hit if hit is not None else self.find_in(key)

    def match_address(self, text: str) -> int | None:
        """The compound a 事发地址 cell points at: register address, else a name inside it."""
        key = clean(text, self.prefixes)
        if not key:
            return None
        hit = self.addresses.get(key)
        return hit if hit is not None else self.find_in(unicodedata.normalize("NFKC", text))


def _per_unique(s: pd.Series, fn: Callable[[str], int | None]) -> pd.Series:
    ids = per_unique(s, lambda u: fn(u) if u else None)
    return pd.Series(pd.array(ids, dtype="Int64"), index=s.index)


def match_compounds(register: Register, names: pd.Series, addresses: pd.Series,
                    need: np.ndarray) -> tuple[pd.Series, pd.Series]:
    """Compound id and method (``compound_name``/``address``/``none``) for rows in ``need``."""
    ids = pd.Series(pd.NA, index=names.index, dtype="Int64")
    method = pd.Series("none", index=names.index, dtype=object)
    sel = pd.Series(need, index=names.index)
    if sel.any():
        by_name = _per_unique(names[sel], register.match_name)
        ids[sel] = by_name
        method[sel & ids.notna()] = "compound_name"
        rest = sel & ids.isna()
        if rest.any():
            by_addr = _per_unique(addresses[rest], register.match_address)
            ids[rest] = by_addr
            method[rest & ids.notna()] = "address"
    return ids, method


@dataclass(frozen=True)
class Located:
    """Result of :func:`coordinates`: WGS84 lon/lat, fixes and reasons per row."""

    lon: np.ndarray
    lat: np.ndarray
    has: np.ndarray
    fix: np.ndarray
    reason: np.ndarray
    detail: np.ndarray


def coordinates(lon: pd.Series, lat: pd.Series, lon_bad: pd.Series, lat_bad: pd.Series,
                system: pd.Series, outline: shapely.Geometry) -> Located:
    """Convert coordinates to WGS84 and check them against ``outline`` (WGS84).

    ``lon``/``lat`` are parsed floats (``NaN`` blank), ``*_bad`` mark cells
    that were not numbers, ``system`` the 坐标系 text (blank = WGS84). 0/0 is
    treated as blank (exports write it for "no location").
    """
    n = len(lon)
    x = lon.to_numpy(dtype="float64", copy=True)
    y = lat.to_numpy(dtype="float64", copy=True)
    zero = (x == 0) & (y == 0)
    x[zero] = np.nan
    y[zero] = np.nan
    reason = np.full(n, None, dtype=object)
    detail = np.full(n, None, dtype=object)
    fix = np.full(n, None, dtype=object)
    bad_num = (lon_bad | lat_bad).to_numpy()
    reason[bad_num] = R_NOT_NUMBER
    partial = (np.isnan(x) ^ np.isnan(y)) & ~bad_num
    reason[partial] = R_PARTIAL
    has = ~np.isnan(x) & ~np.isnan(y) & ~bad_num
    # Degrees are within ±180 either way round (a swapped pair is still degrees); metres
    # of a projected system, infinities and 1e308 are not, and are never converted.
    with np.errstate(invalid="ignore"):
        degrees = (np.abs(x) <= 180) & (np.abs(y) <= 180)
    not_deg = has & ~degrees
    reason[not_deg] = R_NOT_DEGREES
    detail[not_deg] = [f"经度 {a:.10g}，纬度 {b:.10g}" for a, b in zip(x[not_deg], y[not_deg],
                                                                     strict=True)]
    has &= degrees

    text = system.astype(str).str.strip()

    def normalized(u: str) -> str | None:
        try:
            return crs.normalize(u)
        except CRSError:
            return None

    canon = per_unique(text, normalized)
    unknown = has & (canon == None)  # noqa: E711
    reason[unknown] = R_CRS
    detail[unknown] = [f"坐标系：{t}" for t in text.to_numpy()[unknown]]
    has &= ~unknown

    wx, wy = np.full(n, np.nan), np.full(n, np.nan)
    sx, sy = np.full(n, np.nan), np.full(n, np.nan)
    for sysname in pd.unique(canon[has]):
        m = has & (canon == sysname)
        wx[m], wy[m] = crs.to_wgs84(x[m], y[m], sysname)
        sx[m], sy[m] = crs.to_wgs84(y[m], x[m], sysname)  # the swapped reading
    shapely.prepare(outline)
    inside = np.zeros(n, dtype=bool)
    inside[has] = shapely.contains_xy(outline, wx[has], wy[has])
    out = has & ~inside
    swapped = np.zeros(n, dtype=bool)
    if out.any():
        swapped[out] = shapely.contains_xy(outline, sx[out], sy[out])
        wx[swapped], wy[swapped] = sx[swapped], sy[swapped]
        fix[swapped] = "swapped"
        far = out & ~swapped
        reason[far] = R_OUTSIDE
        detail[far] = [f"经度 {a:g}，纬度 {b:g}" for a, b in zip(x[far], y[far], strict=True)]
        has &= ~far
    return Located(wx, wy, has, fix, reason, detail)


def bare(name: str, suffixes: Iterable[str]) -> str:
    """An area name without its suffix (大十字街道办事处 → 大十字, 营盘社区 → 营盘).

    The longest matching suffix is removed, once, and only when two or more
    characters are left; spaces and full-width forms are normalized first.
    """
    s = re.sub(r"\s", "", unicodedata.normalize("NFKC", name))
    for suffix in sorted(suffixes, key=len, reverse=True):
        if s.endswith(suffix) and len(s) - len(suffix) >= 2:
            return s[: -len(suffix)]
    return s


@dataclass
class Areas:
    """Street offices, towns and communities by name, with or without their suffix.

    For cases that name only their area (所属街道 / 所属社区, or an address
    that starts with a street's full name): :meth:`match` returns the street
    code and community id. A name shared by two areas is ambiguous and
    matches neither (a community name is disambiguated by the street given).
    """

    streets: dict[str, str] = field(default_factory=dict)
    """Bare name → street code."""
    communities: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    """Bare name → [(community id, street code)]."""
    full: list[tuple[str, str]] = field(default_factory=list)
    """(Full street name, code), longest first: prefixes searched in addresses."""
    suffixes: tuple[str, ...] = ()

    @classmethod
    def build(cls, streets: Iterable[tuple[str, str]],
              communities: Iterable[tuple[int, str, str]], suffixes: Iterable[str]) -> Areas:
        """From ``(code, name)`` of streets and ``(id, name, street_code)`` of communities."""
        sfx = tuple(suffixes)
        by_name: dict[str, set[str]] = {}
        full = []
        for code, name in streets:
            by_name.setdefault(bare(name, sfx), set()).add(code)
            full.append((re.sub(r"\s", "", unicodedata.normalize("NFKC", name)), code))
        comm: dict[str, list[tuple[int, str]]] = {}
        for cid, name, street in communities:
            comm.setdefault(bare(name, sfx), []).append((int(cid), str(street)))
        return cls({k: next(iter(v)) for k, v in by_name.items() if len(v) == 1 and len(k) >= 2},
                   {k: v for k, v in comm.items() if len(k) >= 2},
                   sorted(full, key=lambda t: len(t[0]), reverse=True), sfx)

    def street_of(self, text: str) -> str | None:
        """The street a 所属街道 cell names, or ``None``."""
        return self.streets.get(bare(text, self.suffixes)) if text else None

    def community_of(self, text: str, street: str | None) -> tuple[int, str] | None:
        """The (community id, street code) a 所属社区 cell names, within ``street`` if given."""
        if not text:
            return None
        found = self.communities.get(bare(text, self.suffixes), [])
        if street is not None:
            found = [c for c in found if c[1] == street]
        return found[0] if len(found) == 1 else None

    def street_in(self, address: str) -> str | None:
        """The street whose full name starts ``address`` (after the province/city prefix)."""
        s = re.sub(_PROVINCE, "", re.sub(r"\s", "", unicodedata.normalize("NFKC", address)))
        return next((code for name, code in self.full if s.startswith(name)), None)

    def match(self, street: pd.Series, community: pd.Series, address: pd.Series,
              need: np.ndarray) -> tuple[pd.Series, pd.Series]:
        """Street code and community id (``Int64``) for the rows in ``need`` (per distinct text)."""
        code = pd.Series(None, index=street.index, dtype=object)
        cid = pd.Series(pd.NA, index=street.index, dtype="Int64")
        if not need.any():
            return code, cid
        sel = pd.Series(need, index=street.index)
        key = (  # one text per distinct (street, community, address)
            street[sel].astype(str).str.replace("\x1f", "") + "\x1f"
            + community[sel].astype(str).str.replace("\x1f", "") + "\x1f"
            + address[sel].astype(str).str.replace("\x1f", ""))

        def one(k: str) -> tuple[str | None, int | None]:
            s, c, a = k.split("\x1f")
            st = self.street_of(s)
            hit = self.community_of(c, st)
            if hit is not None:
                return hit[1], hit[0]
            return st or (self.street_in(a) if a else None), None

        pairs = per_unique(key, one)
        code[sel] = [p[0] for p in pairs]
        cid[sel] = pd.array([p[1] for p in pairs], dtype="Int64")
        return code, cid
