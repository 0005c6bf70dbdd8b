"""Case intake, the pure parts: reading, parsing, locating by name, routing, masking."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from etl.intake import parse
from etl.intake.headers import header_test, rename
from etl.intake.locate import Register, clean, stem
from etl.intake.privacy import mask_frame, mask_name, mask_phone, mask_text
from etl.intake.readers import detect_encoding, read_table
from etl.intake.routing import Classifier
from geo import crs, reference
from geo._errors import InputFileError
from tests import messy


def test_dates_as_staff_write_them() -> None:
    s = pd.Series(["2025-03-01 08:30:00", "2025/3/1 8:30", "2025年3月1日 8:30", "2025年3月1日",
                   "2025-3-1 8:30", "45717.3541666667", "", "2025-02-30 08:00", "昨天"])
    ts, bad = parse.parse_datetime(s)
    want = pd.Timestamp("2025-03-01 08:30", tz="Asia/Shanghai")
    assert list(ts[:3]) == [want] * 3
    assert ts[3] == pd.Timestamp("2025-03-01", tz="Asia/Shanghai")
    assert ts[4] == want
    assert ts[5] == want  # Excel serial day number
    assert pd.isna(ts[6]) and not bad[6]  # blank is not an error
    assert list(bad[7:]) == [True, True]  # 30 February, free text


def test_exact_formats_and_the_pattern_agree() -> None:
    # The fast exact formats must accept nothing the general pattern refuses,
    # and mean the same as the pattern for what both take.
    s = pd.Series(["2025-03-01 08:30:61", "2025/3/1 8:30:60", "０２５-03-01", "２０２５-03-01",
                   "0001-01-01", "9999-12-31 23:59:59", "2025-03-01 24:00:00",
                   "2025/13/1 8:30", "2025-03-01 08:30:59", "2025/3/1 8:30:05",
                   "2025年03月01日 08:30:00", "2025-1-1 0:0:0"] * 3)
    ts, bad = parse.parse_datetime(s)
    assert list(bad[:8]) == [True] * 8  # leap seconds, full-width digits, years, hour 24, month 13
    assert ts[8] == pd.Timestamp("2025-03-01 08:30:59", tz="Asia/Shanghai")
    assert ts[9] == pd.Timestamp("2025-03-01 08:30:05", tz="Asia/Shanghai")
    assert ts[10] == pd.Timestamp("2025-03-01 08:30", tz="Asia/Shanghai")
    assert ts[11] == pd.Timestamp("2025-01-01", tz="Asia/Shanghai")
    fast, _ = parse.parse_datetime(s[8:12])
    slow = parse._by_pattern(s[8:12]).dt.tz_localize("Asia/Shanghai")
    assert list(fast) == list(slow)


def test_numbers_parse_with_or_without_arrow() -> None:
    s = pd.Series(["107.97", " 26.5 ", "", "１０７.９７", "abc", "1e2"])
    for series in (s, s.astype(object)):
        num, bad = parse.parse_number(series)
        assert num[0] == 107.97 and num[1] == 26.5 and num[3] == 107.97 and num[5] == 100
        assert list(bad) == [False, False, False, False, True, False]


def test_ragged_csv_falls_back_to_the_forgiving_reader(tmp_path: Path) -> None:
    p = tmp_path / "ragged.csv"
    p.write_text("工单编号,受理时间,诉求内容\nA1,2025-03-01 08:30:00,漏水\nA2,2025-03-02\n",
                 encoding="utf-8")
    t = read_table(p)
    assert t.frame.to_dict("list") == {"工单编号": ["A1", "A2"],
                                       "受理时间": ["2025-03-01 08:30:00", "2025-03-02"],
                                       "诉求内容": ["漏水", ""]}
    assert list(t.row_no) == [2, 3]


def test_status_spellings_map_to_the_lifecycle() -> None:
    spelled = ["待受理", "已受理", "待处理", "办理中", "处理中", "已办结", "办结", "已完成",
               "已回访", "退单", " 已办结 "]
    codes, bad = parse.map_values(pd.Series(spelled), "status")
    assert list(codes) == ["received"] * 3 + ["in_progress"] * 2 + ["closed"] * 3 + [
        "visited", "reopened", "closed"]
    assert not bad.any()
    codes, bad = parse.map_values(pd.Series(["已挂起", ""]), "status")
    assert list(bad) == [True, False] and codes[1] is None


def test_gcj02_matches_published_values_and_round_trips_in_kaili() -> None:
    # wandergis/coordtransform's published example: wgs84togcj02(116.404, 39.915).
    x, y = crs.wgs84_to_gcj02(116.404, 39.915)
    assert (float(x), float(y)) == pytest.approx((116.41024449916938, 39.91640428150164), abs=1e-9)
    x, y = crs.bd09_to_gcj02(116.404, 39.915)
    assert (float(x), float(y)) == pytest.approx((116.39762729119315, 39.90865673957631), abs=1e-9)
    gx, gy = crs.from_wgs84(107.98, 26.58, "gcj02")
    assert float(gx) - 107.98 > 0.003  # several hundred metres of offset in Kaili
    wx, wy = crs.to_wgs84(gx, gy, "gcj02")
    assert (float(wx), float(wy)) == pytest.approx((107.98, 26.58), abs=1e-7)


def test_encoding_is_detected(tmp_path: Path) -> None:
    rows = messy.generate_cases(messy.MINI_COMPOUNDS, 8)
    for enc, want in (("gbk", "gb18030"), ("utf-8-sig", "utf-8-sig"), ("utf-8", "utf-8-sig")):
        p = messy.write_csv(rows, tmp_path / f"{enc}.csv", encoding=enc)
        assert detect_encoding(p) == want
        table = read_table(p, header_test(messy.CANONICAL))
        assert table.frame.columns[0] == "工单编号"  # the title row above the header is skipped
        assert table.row_no[0] == 3  # title row 1, header row 2
        assert table.frame["来电人"].str.len().min() >= 2


def test_missing_required_columns_are_named(tmp_path: Path) -> None:
    df = messy.to_frame(messy.generate_cases(messy.MINI_COMPOUNDS, 4)).drop(
        columns=["工单编号", "受理时间"])
    p = tmp_path / "x.csv"
    df.to_csv(p, index=False)
    raw = read_table(p, header_test(messy.CANONICAL))
    with pytest.raises(InputFileError, match="工单编号、受理时间"):
        rename(raw.frame, known=messy.CANONICAL, required=("工单编号", "受理时间"), file="x.csv")


def test_header_aliases_map_to_canonical(tmp_path: Path) -> None:
    p = messy.write_csv(messy.generate_cases(messy.MINI_COMPOUNDS, 4), tmp_path / "a.csv",
                        aliased=True)
    raw = read_table(p, header_test(messy.CANONICAL))
    out = rename(raw.frame, known=messy.CANONICAL, required=("工单编号",), file="a.csv")
    assert list(out.columns) == list(messy.CANONICAL)
    assert out["工单编号"].iloc[0] == "KLT000000"


def test_not_a_table_is_a_file_error(tmp_path: Path) -> None:
    p = tmp_path / "x.xlsx"
    p.write_bytes(b"this is not a workbook")
    with pytest.raises(InputFileError, match="xlsx"):
        read_table(p)
    with pytest.raises(InputFileError, match="不支持"):
        read_table(tmp_path.joinpath("x.doc").resolve() if (tmp_path / "x.doc").write_text("x")
                   else p)


def test_compound_names_match_with_variants() -> None:
    comp = pd.DataFrame(messy.MINI_COMPOUNDS).reset_index().rename(columns={"index": "id"})
    reg = Register.build(comp, ["大十字街道", "营盘社区"])
    assert clean("凯里市大十字街道苗岭金泉苑3栋2单元", reg.prefixes) == "苗岭金泉苑"
    assert stem("苗岭金泉苑小区") == "苗岭金泉"
    assert reg.match_name("苗岭金泉苑") == 0
    assert reg.match_name("苗岭金泉花园") == 0  # 苑 / 花园 variants
    assert reg.match_name("营盘社区苗岭金泉小区5栋") == 0
    assert reg.match_name("江畔翠苑") == 4  # alias
    assert reg.match_name("不存在的小区") is None
    assert reg.match_address("贵州省凯里市清江路188号3栋") == 0  # register address
    assert reg.match_address("凯里市宁波路附近巴拉河阳光小区2单元") == 1  # name inside address
    assert reg.match_address("凯里市清江路88号") is None


def test_categories_by_name_then_keywords_then_default() -> None:
    clf = Classifier(pd.DataFrame(reference.categories()))
    code, by = clf.classify(
        pd.Series(["违章搭建", "PM12", "电梯故障与特种设备安全", "其它问题", ""]),
        pd.Series(["", "", "", "楼道里电动车飞线充电", "想咨询一下"]))
    assert list(code) == ["PM07", "PM12", "PM15", "PM14", "PM99"]
    assert list(by) == ["name", "name", "name", "keywords", "default"]


def test_personal_data_is_masked() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_text("回电13812345678，座机0855-8221234") == "回电138****5678，座机0855-****1234"
    df = pd.DataFrame({"诉求人": ["张三"], "手机号": ["13912345678"], "内容": ["电话13912345678"]})
    out = mask_frame(df, {"诉求人": "来电人", "手机号": "联系电话"})
    assert out.iloc[0].tolist() == ["张*", "139****5678", "电话139****5678"]


def test_first_reason_keeps_order() -> None:
    r = parse.first_reason([(np.array([True, False, False]), "a"),
                            (np.array([True, True, False]), np.array(["b1", "b2", "b3"]))], 3)
    assert list(r) == ["a", "b2", None]
