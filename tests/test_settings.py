"""Every setting is documented where users read about settings."""

from pathlib import Path

from geo import settings

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_setting_is_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    for s in settings.SETTINGS:
        env = "DATABASE_URL" if s.name == "database_url" else f"PROPMAP_{s.name.upper()}"
        assert env in text, f"README does not document {env}"


def test_environment_overrides_with_type(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PROPMAP_NEAREST_COMPOUND_M", "75")
    assert settings.get("nearest_compound_m") == 75.0
