"""Every setting is documented, converted to its type, and refused with a clear message.

A bad value is named the same way wherever it is met: by the settings module, by the
command line (exit code 2, before any command runs) and by the dashboard (in place of
the page).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from streamlit.testing.v1 import AppTest

from geo import settings
from geo._errors import SettingError
from propmap.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
APP = str(ROOT / "dashboard" / "app.py")

#: (variable, bad value, words the message must hold besides the variable and the value)
BAD = [
    ("PROPMAP_NEAREST_COMPOUND_M", "五十", "0 到 1000"),
    ("PROPMAP_NEAREST_COMPOUND_M", "-1", "0 到 1000"),
    ("PROPMAP_NEAREST_COMPOUND_M", "nan", "0 到 1000"),
    ("PROPMAP_OLD_COMPOUND_BEFORE", "2001.5", "整数年份"),
    ("PROPMAP_OLD_COMPOUND_BEFORE", "1800", "1900 到 2100"),
    ("PROPMAP_STATEMENT_TIMEOUT_MS", "-5", "毫秒"),
    ("PROPMAP_STATEMENT_TIMEOUT_MS", "0", "毫秒"),
    ("PROPMAP_STATEMENT_TIMEOUT_MS", "15s", "毫秒"),
    ("PROPMAP_TILE_CRS", "bd09", "gcj02"),
    ("PROPMAP_TILE_URL", "t0.tianditu.gov.cn/DataServer?T=vec_w&tk=KEY", "{z}"),
    ("PROPMAP_TILE_URL", "https://t/{z}/{x}/{y}.png?{{ 7*7 }}", "{{"),
    ("PROPMAP_TILE_ATTRIBUTION", "© {{ cycler.__init__ }}", "{{"),
    ("PROPMAP_ALLOW_DEMO", "maybe", "true"),
    ("DATABASE_URL", "sqlite:///propmap.db", "postgresql+psycopg://"),
]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No setting from the calling environment (a test sets the ones it wants)."""
    for s in settings.SETTINGS:
        monkeypatch.delenv(s.env, raising=False)
    return monkeypatch


def test_every_setting_is_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    for s in settings.SETTINGS:
        assert f"`{s.env}`" in text, f"README does not document {s.env}"


def test_environment_overrides_with_type(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("PROPMAP_NEAREST_COMPOUND_M", " 75 ")
    clean_env.setenv("PROPMAP_TILE_CRS", "GCJ02")
    clean_env.setenv("PROPMAP_ALLOW_DEMO", "yes")
    clean_env.setenv("PROPMAP_OLD_COMPOUND_BEFORE", "1995")
    assert settings.get("nearest_compound_m") == 75.0
    assert settings.get("tile_crs") == "gcj02"
    assert settings.get("allow_demo") is True
    assert settings.get("old_compound_before") == 1995
    assert settings.get("statement_timeout_ms") == 15000
    settings.check()


@pytest.mark.parametrize(("env", "raw", "words"), BAD)
def test_a_bad_value_is_refused_naming_the_variable_and_what_is_allowed(
        clean_env: pytest.MonkeyPatch, env: str, raw: str, words: str) -> None:
    clean_env.setenv(env, raw)
    name = next(s.name for s in settings.SETTINGS if s.env == env)
    with pytest.raises(SettingError) as err:
        settings.get(name)
    msg = str(err.value)
    assert env in msg and raw in msg and words in msg and "无效" in msg, msg


def test_a_database_url_in_a_message_hides_its_password(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("DATABASE_URL", "mysql+pymysql://clerk:S3cret!pw@db.example/propmap")
    with pytest.raises(SettingError) as err:
        settings.get("database_url")
    assert "S3cret!pw" not in str(err.value) and "clerk" in str(err.value)


def test_an_unreadable_database_url_is_not_repeated(clean_env: pytest.MonkeyPatch) -> None:
    """What cannot be parsed may hold a password anywhere: the message leaves it out."""
    clean_env.setenv("DATABASE_URL", "clerk:S3cret!pw@localhost/propmap")
    with pytest.raises(SettingError) as err:
        settings.get("database_url")
    assert "DATABASE_URL" in str(err.value) and "S3cret!pw" not in str(err.value)


def test_check_lists_every_bad_setting_at_once(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("PROPMAP_TILE_CRS", "bd09")
    clean_env.setenv("PROPMAP_STATEMENT_TIMEOUT_MS", "-5")
    with pytest.raises(SettingError) as err:
        settings.check()
    assert "PROPMAP_TILE_CRS" in str(err.value) and "PROPMAP_STATEMENT_TIMEOUT_MS" in str(err.value)


def test_command_line_and_dashboard_refuse_a_bad_setting_in_the_same_words(
        clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("PROPMAP_STATEMENT_TIMEOUT_MS", "-5")
    with pytest.raises(SettingError) as err:
        settings.check()
    expected = str(err.value)

    res = CliRunner().invoke(main, ["db", "url"])
    assert res.exit_code == 2
    assert res.stderr.strip() == f"错误：{expected}"

    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == [expected]


def test_help_works_whatever_the_settings(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("PROPMAP_TILE_CRS", "bd09")
    res = CliRunner().invoke(main, ["--help"])
    assert res.exit_code == 0 and "serve" in res.output
