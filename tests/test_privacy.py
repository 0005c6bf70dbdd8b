"""One mask for personal numbers (geo.privacy): every form staff type, and what must stay."""

from __future__ import annotations

import pandas as pd
import pytest

from geo.privacy import mask_name, mask_phone, mask_series, mask_text


@pytest.mark.parametrize(("text", "masked"), [
    ("回电13812345678", "回电138****5678"),
    ("手机 138 1234 5678", "手机 138****5678"),
    ("手机138-1234-5678", "手机138****5678"),
    ("+8613812345678", "138****5678"),
    ("座机0855-8221234", "座机0855-****1234"),
    ("座机08558221234", "座机0855****1234"),
    ("座机 0855 8221234", "座机 0855 ****1234"),
    ("家里8221234，", "家里***1234，"),
    ("单位电话82212345", "单位电话****2345"),
    ("身份证522601199001011232", "身份证522***********1232"),
    ("身份证52260119900101123X号", "身份证52260119900101123X号"),  # a wrong check digit
    ("老身份证522601900101123", "老身份证522********1123"),
])
def test_each_form_is_masked(text: str, masked: str) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize("text", [
    "工单号2025030112345678901",      # a long case number is not cut into pieces
    "RX202503010000123",
    "经纬度 107.9701361, 26.5712345",  # coordinates
    "经度 107.13812345678",
    "日期20250301",                     # a date written as digits
    "凯里市北京东路123号2单元",
    "共 1,234,567 元",
])
def test_what_is_not_a_personal_number_stays(text: str) -> None:
    assert mask_text(text) == text


def test_fields_and_columns() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("8221234") == "*****34"
    assert mask_name("张三丰") == "张**"
    s = pd.Series(["请回电13812345678", "无号码", None], dtype=object)
    assert list(mask_series(s))[:2] == ["请回电138****5678", "无号码"]
