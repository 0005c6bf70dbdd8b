"""Exports open where staff open them, with Chinese headers and no personal data."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pyogrio
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from etl import export
from geo._errors import InputFileError

from .conftest import scalar

CASE_HEADERS = [
    "工单编号",
    "来源渠道",
    "受理时间",
    "问题类别",
    "层级",
    "牵头部门",
    "办理状态",
    "办理时限",
    "街道",
    "社区",
    "小区",
    "经度",
    "纬度",
]


@pytest.mark.parametrize("layer", ["streets", "communities", "compounds", "cases", "hazards"])
def test_geopackage_reads_back_with_same_count_valid_geometry_and_4326(
    demo: Engine, tmp_path: Path, layer: str
) -> None:
    out = tmp_path / f"{layer}.gpkg"
    n = export.export(demo, layer, "gpkg", out)
    assert n == scalar(demo, f"SELECT count(*) FROM {layer}")
    info = pyogrio.read_info(out, layer=layer)
    assert info["features"] == n
    assert info["crs"] == "EPSG:4326"
    gdf = pyogrio.read_dataframe(out, layer=layer)
    geoms = gdf.geometry.dropna()
    assert geoms.is_valid.all()
    if layer != "cases":  # some cases are not located: no geometry
        assert len(geoms) == n


def test_geojson_export_of_one_street(demo: Engine, tmp_path: Path) -> None:
    out = tmp_path / "c.geojson"
    n = export.export(demo, "compounds", "geojson", out, street="522601002000")
    assert n == scalar(demo, "SELECT count(*) FROM compounds WHERE street_code = '522601002000'")
    gdf = pyogrio.read_dataframe(out)
    assert set(gdf["街道"]) == {"大十字街道"}


def test_cases_csv_is_excel_friendly_and_has_no_personal_data(demo: Engine, tmp_path: Path) -> None:
    out = tmp_path / "cases.csv"
    export.export(demo, "cases", "csv", out)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8 correctly
    df = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    assert all(h in df.columns for h in CASE_HEADERS)
    assert set(df["来源渠道"].dropna()) <= {"12345热线", "市长信箱", "信访"}
    with demo.connect() as con:
        people = con.execute(sa.text("SELECT name, phone FROM complainants LIMIT 200")).all()
    text = raw.decode("utf-8-sig")
    for name, phone in people:
        assert phone not in text
        if len(name) >= 3:  # two-character names may occur inside place names
            assert name not in text
    assert not any(c in df.columns for c in ("来电人", "联系电话", "姓名", "电话"))


def test_cases_xlsx_for_one_street(demo: Engine, tmp_path: Path) -> None:
    out = tmp_path / "cases.xlsx"
    n = export.export(demo, "cases", "xlsx", out, street="522601003000")
    wb = openpyxl.load_workbook(out, read_only=True)
    ws = wb.active
    header = [c.value for c in next(ws.iter_rows(max_row=1))]
    assert all(h in header for h in CASE_HEADERS)
    assert ws.max_row == n + 1
    street_col = header.index("街道")
    assert {r[street_col] for r in ws.iter_rows(min_row=2, values_only=True)} == {"西门街道"}
    # The 说明 sheet says, as the page does, which parts of the demo are real.
    notes = [r[0] for r in wb["说明"].iter_rows(values_only=True)]
    real = scalar(demo, "SELECT value FROM dataset_meta WHERE key = 'real_parts'")
    assert any(f"真实：{real}" in str(line) for line in notes)


def test_every_form_of_personal_number_is_masked_in_the_cases_export(
        demo: Engine, tmp_path: Path) -> None:
    """Mobiles, landlines with and without area code and ID cards typed into 诉求内容 or
    事发地址 never reach the export in clear (the same mask as intake and quarantine)."""
    text = ("请回电13812345678或0855-8221234，家里8221234，身份证522601199001011232；"
            "工单号2025030112345678901")
    with demo.begin() as con:
        cid = con.execute(sa.text("SELECT id FROM cases ORDER BY id LIMIT 1")).scalar()
        old = con.execute(sa.text("SELECT content, address FROM cases WHERE id = :i"),
                          {"i": cid}).one()
        con.execute(sa.text("UPDATE cases SET content = :t, address = '电话 138 1234 5678' "
                            "WHERE id = :i"), {"t": text, "i": cid})
    try:
        out = tmp_path / "cases.csv"
        export.export(demo, "cases", "csv", out)
        body = out.read_text(encoding="utf-8-sig")
    finally:
        with demo.begin() as con:
            con.execute(sa.text("UPDATE cases SET content = :c, address = :a WHERE id = :i"),
                        {"c": old[0], "a": old[1], "i": cid})
    for clear in ("13812345678", "8221234", "522601199001011232", "138 1234 5678"):
        assert clear not in body
    for masked in ("138****5678", "0855-****1234", "***1234", "522***********1232",
                   "工单号2025030112345678901"):
        assert masked in body


def test_unknown_street_is_a_clear_error(demo: Engine, tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="没有区划代码为 999"):
        export.export(demo, "cases", "csv", tmp_path / "x.csv", street="999")


def test_cli_export(demo: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from propmap.cli import main

    monkeypatch.setenv("DATABASE_URL", demo.url.render_as_string(hide_password=False))
    out = tmp_path / "s.xlsx"
    res = CliRunner().invoke(main, ["export", "streets", "--format", "xlsx", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "已导出 20 条" in res.output
    res = CliRunner().invoke(main, ["export", "nope", "--format", "xlsx", "-o", str(out)])
    assert res.exit_code != 0
