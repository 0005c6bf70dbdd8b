"""Odd values in every column of every importer, through the command line: no traceback.

Two ways in, both through ``propmap import`` (click's runner, exceptions not caught, and
``filterwarnings = error``: a numpy or shapely warning fails the test too):

- a generated corpus: one row per (column, odd value) of :data:`ODD`, every importer,
  as CSV (UTF-8 and GB18030) and xlsx, or GeoJSON for boundaries;
- property-based (``hypothesis``, derandomized, bounded): random odd values in random
  columns of a few rows, with the file format drawn too.

Required every time: exit code 0 or 2, never a traceback; on 0 every row accounted for
(``rows_read`` = the rows written = inserted + updated + unchanged + voided +
quarantined); on 2 the database unchanged. A case export or a register holds no
file-level problem here, so those must import (exit 0): a bad value is a quarantined row.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy.engine import Engine

from etl.intake import boundaries, cases, compounds
from propmap.cli import main
from tests import conftest, messy

#: Values that broke (or could break) an importer somewhere: control characters, formulas,
#: numbers beyond every range, dates beyond every calendar, geometry of every odd kind,
#: markup, very long text.
ODD: list[str] = [
    "", " ", "\x00", "楼道\x00漏水", "a\x1fb\x1e", "\t", "\r\n", "\u3000", "\ufeff",
    "\u202e反向", "🏠🔥",
    "'", "'=1+1", "=1+1", "=HYPERLINK(\"http://x\",\"点\")", "+1", "-1", "@SUM(A1)",
    "NaN", "nan", "inf", "-inf", "1e308", "-1e308", "1e-308", "9999", "-0", "0", "1.5", "１２３",
    "99999999999999999999999", "0x1F", "1,000", "二〇二五年",
    "2199-01-01 00:00:00", "1900-01-01", "0001-01-01", "2026-02-30", "2026-13-01 25:61",
    "45717.5", "99999", "-45717", "1970-01-01 08:00:00",
    "[作废]", "已作废", "撤销", "重新办理", "已办结", "已回访", "退单",
    "WGS84", "GCJ02", "BD09", "EPSG:3857", "火星",
    "POLYGON Z ((107.97 26.57 1, 107.971 26.57 1, 107.971 26.571 1, 107.97 26.57 1))",
    "POINT (107.97 26.57)", "LINESTRING (107.97 26.57, 107.98 26.58)", "POLYGON EMPTY",
    "GEOMETRYCOLLECTION EMPTY", "POLYGON((107.97 26.57, 107.98 26.58, 107.98 26.57, "
    "107.97 26.58, 107.97 26.57))", "POLYGON((104 24, 110 24, 110 30, 104 30, 104 24))",
    "POLYGON((1e308 1e308, -1e308 1e308, 0 0, 1e308 1e308))",
    "POLYGON((12019000 3052000, 12021000 3052000, 12021000 3054000, 12019000 3052000))",
    "POLYGON((nan nan, 1 1, 2 2, nan nan))", "POLYGON((1 2, 3",
    "<img src=x onerror=alert(1)>", "'; DROP TABLE cases; --", "\\N", "NULL", "\"",
    "大十字", "营盘社区", "城西街道办事处", "town", "镇", "522601002000", "52260100200０",
    "x" * 5000, "1" * 300, "界" * 30_000,
]

#: One valid row per importer (located inside the mini world), and a column no importer
#: reads: it keeps every row non-blank, so the rows written are the rows to account for.
CASE_BASE = {"受理时间": "2026-05-01 09:00:00", "诉求内容": "楼道堆放杂物", "经度": "107.9700",
             "纬度": "26.5700", "办理状态": "办理中"}
COMPOUND_BASE = {"小区名称": "测试小区", "经度": "107.9785", "纬度": "26.5715"}
ANCHOR = "备注"
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow, HealthCheck.data_too_large])
_serial = itertools.count()


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[Engine, str]]:
    with conftest.scratch_database("_fuzz") as (eng, url):
        messy.build_world(eng)
        yield eng, url


def _table(kind: str, rows: list[dict[str, str]]) -> pd.DataFrame:
    """Rows over the base row of ``kind``, numbered uniquely unless the number is fuzzed."""
    headers = cases.HEADERS if kind == "cases" else compounds.HEADERS
    key, base = ("工单编号", CASE_BASE) if kind == "cases" else ("小区编号", COMPOUND_BASE)
    out = []
    for r in rows:
        n = next(_serial)
        filled = {**base, key: f"FZ{n:06d}", **r}
        if kind == "compounds" and "小区名称" not in r:
            filled["小区名称"] = f"测试小区{n}"
        out.append({**{h: filled.get(h, "") for h in headers}, ANCHOR: "x"})
    return pd.DataFrame(out, columns=[*headers, ANCHOR])


def _write(df: pd.DataFrame, path: Path, fmt: str) -> Path:
    if fmt == "xlsx":
        wb = openpyxl.Workbook()
        ws = wb.active
        assert ws is not None
        ws.append(list(df.columns))
        for row in df.itertuples(index=False):
            ws.append([ILLEGAL_CHARACTERS_RE.sub("", str(v))[:32_000] for v in row])
        wb.save(path)
    else:  # CRLF, as Windows systems write it: a cell holding a lone CR is quoted
        data = df.to_csv(index=False, lineterminator="\r\n")
        path.write_bytes(data.encode("utf-8" if fmt == "csv-utf8" else "gb18030"))
    return path


def _check(eng: Engine, url: str, args: list[str], rows: int, *, must_import: bool) -> None:
    before = messy.snapshot(eng)
    res = CliRunner().invoke(main, ["import", *args, "--json"], env={"DATABASE_URL": url},
                             catch_exceptions=False)
    assert res.exit_code in (0, 2), res.output
    assert "Traceback" not in res.output
    if res.exit_code == 2:
        assert not must_import, res.output
        assert "错误：" in res.output
        assert messy.snapshot(eng) == before
        return
    out = json.loads(res.stdout)
    assert out["rows_read"] == rows
    assert rows == (out["inserted"] + out["updated"] + out["unchanged"] + out["voided"]
                    + out["quarantined"])


# --- the corpus: every odd value in every column --------------------------------------------

def _import_table(world: tuple[Engine, str], folder: Path, kind: str,
                  rows: list[dict[str, str]], fmt: str) -> None:
    """Write ``rows`` over the base row of ``kind`` as ``fmt``; the import must take them."""
    eng, url = world
    df = _table(kind, rows)
    path = _write(df, folder / f"{kind}.{fmt.split('-')[0]}", fmt)
    extra = ["--channel", "12345"] if kind == "cases" else []
    _check(eng, url, [kind, str(path), *extra], len(df), must_import=True)


@pytest.mark.parametrize("fmt", ["csv-utf8", "csv-gb18030", "xlsx"])
@pytest.mark.parametrize("kind", ["cases", "compounds"])
def test_every_odd_value_in_every_column(world, tmp_path: Path, kind: str, fmt: str) -> None:
    headers = cases.HEADERS if kind == "cases" else compounds.HEADERS
    _import_table(world, tmp_path, kind, [{h: v} for h in headers for v in ODD], fmt)


def _feature(props: dict[str, Any], geometry: dict[str, Any] | None) -> dict[str, Any]:
    return {"type": "Feature", "properties": {**props, ANCHOR: "x"}, "geometry": geometry}


def _box(x: float, y: float, d: float = 0.002) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[x, y], [x + d, y], [x + d, y + d], [x, y + d],
                                                [x, y]]]}


#: Geometries of every odd kind (GeoJSON has no NaN or infinity).
ODD_GEOMETRIES: list[dict[str, Any] | None] = [
    None, _box(107.962, 26.562), _box(2.3, 48.85), _box(12019000, 3052000, 2000),
    _box(1e308, 1e308, 1e300), _box(-179.9, -89.9, 0.1),
    {"type": "Point", "coordinates": [107.97, 26.57]},
    {"type": "LineString", "coordinates": [[107.97, 26.57], [107.98, 26.58]]},
    {"type": "Polygon", "coordinates": [[[107.97, 26.57, 5], [107.98, 26.57, 5],
                                         [107.98, 26.58, 5], [107.97, 26.57, 5]]]},
    {"type": "Polygon", "coordinates": [[[107.97, 26.57], [107.98, 26.58], [107.98, 26.57],
                                         [107.97, 26.58], [107.97, 26.57]]]},
    {"type": "Polygon", "coordinates": [[[107.97, 26.57], [107.98, 26.58], [107.97, 26.57]]]},
    {"type": "Polygon", "coordinates": []},
    {"type": "MultiPolygon", "coordinates": [_box(107.963, 26.563)["coordinates"],
                                             _box(107.97, 26.57)["coordinates"]]},
    {"type": "GeometryCollection", "geometries": [_box(107.964, 26.564), {
        "type": "Point", "coordinates": [107.97, 26.57]}]},
]


def _geojson(path: Path, features: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features},
                               ensure_ascii=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("level", ["street", "community"])
def test_every_odd_attribute_and_geometry_in_a_boundary_file(world, tmp_path: Path,
                                                              level: str) -> None:
    eng, url = world
    base = {"名称": "", "代码": "", "类型": "", "所属街道": ""}
    features = [_feature({**base, "名称": f"边界{i}", h: v}, _box(107.961, 26.561, 0.001))
                for i, (h, v) in enumerate((h, v) for h in boundaries.HEADERS for v in ODD)]
    features += [_feature({**base, "名称": f"几何{i}"}, g) for i, g in enumerate(ODD_GEOMETRIES)]
    path = _geojson(tmp_path / f"{level}.geojson", features)
    _check(eng, url, ["boundaries", str(path), "--level", level], len(features),
           must_import=True)


# --- property-based: random odd values in random columns -----------------------------------

_odd = st.one_of(
    st.sampled_from(ODD),
    st.text(max_size=60),
    st.floats().map(repr),
    st.integers(min_value=-10**24, max_value=10**24).map(str),
    st.from_regex(re.compile(r"-?\d{1,6}[-/年.]\d{1,3}[-/月.]\d{1,3}( \d{1,3}:\d{1,3})?"),
                  fullmatch=True),
)


def _rows(columns: tuple[str, ...]) -> st.SearchStrategy[list[dict[str, str]]]:
    return st.lists(st.fixed_dictionaries({}, optional=dict.fromkeys(columns, _odd)),
                    min_size=1, max_size=6)


_formats = st.sampled_from(["csv-utf8", "csv-gb18030", "xlsx"])


@SETTINGS
@given(rows=_rows(cases.HEADERS), fmt=_formats)
def test_fuzz_case_exports(world, tmp_path_factory, rows, fmt) -> None:  # type: ignore[no-untyped-def]
    _import_table(world, tmp_path_factory.mktemp("fz"), "cases", rows, fmt)


@SETTINGS
@given(rows=_rows(compounds.HEADERS), fmt=_formats)
def test_fuzz_registers(world, tmp_path_factory, rows, fmt) -> None:  # type: ignore[no-untyped-def]
    _import_table(world, tmp_path_factory.mktemp("fz"), "compounds", rows, fmt)


_coord = st.floats(min_value=-1e308, max_value=1e308, allow_nan=False, allow_infinity=False)
_geometry = st.one_of(
    st.sampled_from(ODD_GEOMETRIES),
    st.builds(lambda x, y, d: _box(x, y, d), _coord, _coord, st.floats(0, 1e6)),
    st.builds(lambda x, y: _box(x, y), st.floats(107.9, 108.1), st.floats(26.4, 26.7)),
)


@SETTINGS
@given(props=st.lists(st.fixed_dictionaries({}, optional=dict.fromkeys(boundaries.HEADERS,
                                                                       _odd)),
                      min_size=1, max_size=5),
       geoms=st.lists(_geometry, min_size=5, max_size=5),
       level=st.sampled_from(["street", "community"]))
def test_fuzz_boundaries(world, tmp_path_factory, props, geoms, level) -> None:  # type: ignore[no-untyped-def]
    eng, url = world
    features = [_feature({"名称": f"模糊{next(_serial)}", **p}, g)
                for p, g in zip(props, geoms, strict=False)]
    path = _geojson(tmp_path_factory.mktemp("fz") / "b.geojson", features)
    # a file whose numbers are mostly not degrees is refused as a whole (exit 2)
    _check(eng, url, ["boundaries", str(path), "--level", level], len(features),
           must_import=False)
