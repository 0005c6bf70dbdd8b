"""The briefing, generated from the demo and read back: python-docx for the .docx, pypdf for
the PDF. Every figure in it must be the one the dashboard's functions give."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from docx import Document
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest

from briefing import build, sections, word
from briefing.model import Table
from geo import measures, party, periods
from layers import accountability, casework, progress, stats
from layers.filters import Filters
from tests.conftest import AS_OF, app_test, scalar

QUARTER = periods.quarter_name(AS_OF)


@pytest.fixture(scope="module")
def made(demo: Engine) -> Iterator[tuple[bytes, Filters]]:
    with demo.connect() as con:
        f = build.quarter_filters(con, QUARTER)
        doc = build.build(con, f)
    yield word.to_docx(doc), f


def _tables(docx: bytes) -> list[pd.DataFrame]:
    d = Document(io.BytesIO(docx))
    out = []
    for t in d.tables:
        cells = [[c.text for c in row.cells] for row in t.rows]
        out.append(pd.DataFrame(cells[1:], columns=cells[0]))
    return out


def _titled(docx: bytes) -> dict[str, pd.DataFrame]:
    """Tables by the caption paragraph just before each (``表2 …``)."""
    d = Document(io.BytesIO(docx))
    body = d.element.body
    titles: list[str] = []
    last = ""
    for el in body.iterchildren():
        tag = el.tag.rsplit("}", 1)[-1]
        if tag == "p":
            text = "".join(t.text or "" for t in el.iter() if t.tag.endswith("}t"))
            if text.startswith("表"):
                last = text
        elif tag == "tbl":
            titles.append(last)
    return dict(zip(titles, _tables(docx), strict=True))


def _as_text(df: pd.DataFrame) -> pd.DataFrame:
    return df.map(sections.fmt)


def test_sections_headings_tables_and_maps(made: tuple[bytes, Filters]) -> None:
    docx, _f = made
    d = Document(io.BytesIO(docx))
    headings = [p.text for p in d.paragraphs if p.style is not None
                and p.style.name == "Heading 1"]
    assert headings == [f"{n}、{s.title}" for n, s in zip(word.NUMERALS, sections.SECTIONS,
                                                         strict=False)]
    assert d.paragraphs[0].text == build.TITLE
    assert len(d.inline_shapes) == 2  # the city map and the hotspot map
    for shape in d.inline_shapes:
        assert shape.width > 0
    assert len(d.tables) >= 10
    # A4, and the notice (synthetic data) in the header of every page of every section
    sizes = [(float(sec.page_width or 0) / 360000, float(sec.page_height or 0) / 360000)
             for sec in d.sections]
    for (w, h), sec in zip(sizes, d.sections, strict=True):
        assert {round(w, 1), round(h, 1)} == {21.0, 29.7}
        assert "演示数据（合成）" in "".join(p.text for p in sec.header.paragraphs)
    assert any(w > h for w, h in sizes)  # wide tables go on landscape pages


def test_every_figure_is_the_dashboards(made: tuple[bytes, Filters], demo: Engine) -> None:
    docx, f = made
    tables = _titled(docx)
    with demo.connect() as con:
        cur = stats.headline(con, f)
        prev = stats.headline(con, f.compared("prev"))
        yoy = stats.headline(con, f.compared("yoy"))
        streets = accountability.streets(con, f)
        bases = {k: accountability.streets(con, f.compared(k)) for k in ("prev", "yoy")}
        depts = accountability.departments(con, f)
        dbases = {k: accountability.departments(con, f.compared(k)) for k in ("prev", "yoy")}
        progress_rows = casework.typical_cases(con, QUARTER, f)
    head = tables["表1 主要指标及变化"].set_index("指标")
    assert head.loc["受理（件）", "本期"] == f"{cur['received']:,}"
    assert head.loc["超期（件）", "本期"] == f"{cur['overdue']:,}"
    assert head.loc["逾期办结（件）", "上期"] == f"{prev['closed_late']:,}"
    assert head.loc["不满意（件）", "去年同期"] == f"{yoy['unsatisfied']:,}"
    assert head.loc["办结率", "本期"] == f"{cur['closure_rate']}%"
    pd.testing.assert_frame_equal(
        tables["表2 街道（镇）排名（按超期件数）"],
        _as_text(accountability.street_table(streets, bases, "overdue")))
    pd.testing.assert_frame_equal(
        tables["表3 牵头部门履职（按超期件数）"],
        _as_text(sections.printed_departments(
            accountability.department_table(depts, dbases, "overdue", "lead"))))
    typical = next(v for k, v in tables.items() if k.endswith("典型案例"))
    assert list(typical["工单号"]) == list(progress_rows["case_no"])
    complex_cases = next(v for k, v in tables.items() if k.startswith("表9"))
    assert (complex_cases["工单号"].str.len() > 0).all()
    n_city = scalar(demo, """SELECT count(*) FROM cases WHERE level = 'city'
        AND received_at >= :a AND received_at < :b AND (status IN ('received', 'in_progress',
        'reopened') OR closed_at >= :t)""", a=f.params()["f_start"], b=f.params()["f_end"],
                    t=f.params()["f_as_of"])
    assert f"共 {n_city:,} 件" in next(k for k in tables if k.startswith("表9"))


def test_sanwu_and_committees_are_the_progress_pages(made: tuple[bytes, Filters],
                                                    demo: Engine) -> None:
    """表6 prints the figures of 工作进展 (the compounds' recorded histories), per street
    office and for the city; its 三无未托管 is the compounds' current state when the
    quarter runs to the cut-off day."""
    docx, f = made
    table = next(v for k, v in _titled(docx).items() if k.startswith("表6"))
    with demo.connect() as con:
        by_street = progress.by_street(con, f)
        total = progress.totals(by_street)
    assert list(table.columns) == ["街道/镇", *[
        {p.key: p.label for p in measures.PROGRESS}[k].replace("业委会组建率", "业委会组建率%")
        for k in progress.MEETING]]
    city = table.set_index("街道/镇").loc["全市"]
    labels = {p.key: p.label for p in measures.PROGRESS}
    for key in progress.MEETING:
        label = labels[key] + ("%" if key == "committee_rate" else "")
        assert city[label] == sections.fmt(total[key]), key
    for _, row in table[table["街道/镇"] != "全市"].iterrows():
        mine = by_street[by_street["street"] == row["街道/镇"]].iloc[0]
        assert row[labels["untaken_end"]] == sections.fmt(int(mine["untaken_end"]))
    assert list(table["街道/镇"])[-1] == "全市"
    untaken = [int(str(v).replace(",", "")) for v in table[labels["untaken_end"]][:-1]]
    assert untaken == sorted(untaken, reverse=True)
    if progress.period_end(f) == measures.today():
        now = scalar(demo, f"SELECT count(*) FROM compounds x WHERE {measures.sanwu_untaken('x')}")
        assert city[labels["untaken_end"]] == sections.fmt(now)


def test_party_building_is_the_coverage_pages(made: tuple[bytes, Filters],
                                              demo: Engine) -> None:
    """The party-building section prints 覆盖缺口与党建's figures, recounted here in SQL."""
    docx, _f = made
    table = next(v for k, v in _titled(docx).items() if k.startswith("表12"))
    d = Document(io.BytesIO(docx))
    text = "\n".join(p.text for p in d.paragraphs)
    with demo.connect() as con:
        rep = party.report(con)
    for line in rep["lines"]:
        assert line in text
    page = rep["streets"].set_index("街道/镇")
    for _, row in table.iterrows():
        for col in sections.PARTY_COLUMNS[1:]:
            assert row[col] == sections.fmt(page.loc[row["街道/镇"], col]), (row["街道/镇"], col)
    assert rep["city"]["committees"] == sum(
        int(str(v).replace(",", "")) for v in table["业委会数"])


def test_the_red_and_black_lists_are_the_credit_pages_and_the_exports(
        made: tuple[bytes, Filters], demo: Engine, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """One truth: the briefing's lists are the quarter's decisions as the credit page shows
    them (its evaluation table and its current lists) and as ``propmap export firms`` writes
    them."""
    from propmap.cli import main

    docx, _f = made
    printed = _titled(docx)["表11 物业服务企业红黑榜"]
    got = list(zip(printed["物业企业"], printed["红黑榜"], strict=True))
    assert got and {s for _n, s in got} <= {"红榜", "黑榜"}
    assert [s for _n, s in got] == sorted((s for _n, s in got), key=["红榜", "黑榜"].index)
    listed = {"红榜", "黑榜"}
    # propmap export firms, for the same quarter
    monkeypatch.setenv("DATABASE_URL", demo.url.render_as_string(hide_password=False))
    out = tmp_path / "firms.xlsx"
    res = CliRunner().invoke(main, ["export", "firms", "--output", str(out),
                                    "--period", QUARTER])
    assert res.exit_code == 0, res.output
    rows = list(openpyxl.load_workbook(out)["物业企业信用评价"].iter_rows(values_only=True))
    header = rows[0]
    exported = {(r[header.index("名称")], r[header.index("红黑榜")]) for r in rows[1:]
                if r[header.index("红黑榜")] in listed}
    assert exported == set(got)
    # the credit page: the quarter's evaluation table and the current lists under it
    at: AppTest = app_test(demo, monkeypatch, "housing")  # type: ignore[assignment]
    at.query_params["quarter"] = QUARTER
    at.switch_page("views/credit.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    frames = [d.value for d in at.dataframe]
    quarter_table = next(d for d in frames if "等级" in d.columns and "红黑榜" in d.columns)
    on_page = {(r["名称"], r["红黑榜"]) for _i, r in quarter_table.iterrows()
               if r["红黑榜"] in listed}
    assert on_page == set(got)
    current = next(d for d in frames if "理由" in d.columns and "文号" in d.columns)
    # the demo leaves the quarter undecided: the lists now are the quarter's
    assert list(zip(current["名称"], current["红黑榜"], strict=True)) == got


def test_the_same_data_give_the_same_file(made: tuple[bytes, Filters], demo: Engine) -> None:
    docx, f = made
    with demo.connect() as con:
        again = word.to_docx(build.build(con, f))
    assert again == docx


def test_no_complainant_and_no_case_text(made: tuple[bytes, Filters], demo: Engine) -> None:
    docx, _f = made
    d = Document(io.BytesIO(docx))
    text = "\n".join([p.text for p in d.paragraphs]
                     + [c.text for t in d.tables for r in t.rows for c in r.cells])
    with demo.connect() as con:
        names = con.execute(sa.text("SELECT name FROM complainants WHERE name IS NOT NULL "
                                    "LIMIT 200")).scalars().all()
        contents = con.execute(sa.text(
            "SELECT content FROM cases WHERE level = 'city' LIMIT 50")).scalars().all()
    assert not [n for n in names if n in text]
    assert not [c for c in contents if c and c in text]


def test_the_command_writes_docx_and_pdf(demo: Engine, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from pypdf import PdfReader

    from propmap.cli import main

    monkeypatch.setenv("DATABASE_URL", demo.url.render_as_string(hide_password=False))
    runner = CliRunner()
    out = tmp_path / "简报.pdf"
    res = runner.invoke(main, ["briefing", "--period", QUARTER, "--output", str(out)])
    assert res.exit_code == 0, res.output
    reader = PdfReader(io.BytesIO(out.read_bytes()))
    pages = [p.extract_text() or "" for p in reader.pages]
    assert len(pages) >= 5
    for i, text in enumerate(pages):
        assert "演示数据" in text.replace(" ", ""), f"page {i + 1} lacks the synthetic notice"
    whole = "".join(pages).replace(" ", "")
    with demo.connect() as con:
        h = stats.headline(con, build.quarter_filters(con, QUARTER))
    assert f"{h['received']:,}" in whole and "部门履职" in whole
    assert scalar(demo, "SELECT count(*) FROM audit_log WHERE event = 'export' "
                        "AND detail->>'what' = 'briefing'") >= 1
    bad = runner.invoke(main, ["briefing", "--period", "2026Q9", "--output",
                               str(tmp_path / "x.docx")])
    assert bad.exit_code == 2 and "季度" in bad.output
    wrong = runner.invoke(main, ["briefing", "--period", QUARTER, "--output",
                                 str(tmp_path / "x.xlsx")])
    assert wrong.exit_code == 2 and ".docx" in wrong.output


def test_a_period_without_a_year_before_says_so(demo: Engine) -> None:
    """A comparison the data cannot support is shown as 不作比较, not as a rise from zero."""
    with demo.connect() as con:
        f = Filters.year_to(AS_OF)
        doc = build.build(con, f, [s for s in sections.SECTIONS if s.key == "headline"])
    table = doc.sections[0].blocks[1]
    assert isinstance(table, Table)
    assert set(table.df["环比"]) == {"—"}
    assert "不作比较" in table.note
    assert dt.date(2025, 7, 1) == f.start


def test_names_that_are_formulas_or_carry_control_characters(demo: Engine) -> None:
    """A street named with ``$…$`` (matplotlib's formulas) and compounds whose names carry
    a control character (which Word's XML cannot hold) still give a briefing, names as text."""
    with demo.connect() as con, con.begin() as tx:
        con.execute(sa.text("UPDATE streets SET name = name || '$\\foo$'"))
        con.execute(sa.text("UPDATE compounds SET name = name || chr(1) || '园'"))
        f = build.quarter_filters(con, QUARTER)
        doc = build.build(con, f)
        tx.rollback()
    docx = word.to_docx(doc)
    text = "\n".join(c.text for t in Document(io.BytesIO(docx)).tables
                     for row in t.rows for c in row.cells)
    assert "$\\foo$" in text and "\x01" not in text
