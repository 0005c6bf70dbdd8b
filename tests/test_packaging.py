"""The wheel carries everything propmap needs when installed (not editable).

Every module, the data files (``data/`` becomes the package ``propmap.data``), the
migrations and their template, the dashboard's pages, stylesheet and Streamlit
configuration; none of the tests, vendored map scripts or benchmark results. ``.ci/run``
then installs the wheel into a fresh virtualenv and runs ``propmap`` from it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("propmap", "geo", "etl", "layers", "briefing", "dashboard", "bench")
#: Never in the wheel: generated or fetched at set-up, or results of a run.
LEFT_OUT = ("dashboard/static/vendor/", "bench/results/")


def _wheel(tmp: Path) -> Path:
    given = os.environ.get("PROPMAP_WHEEL")
    if given:
        return Path(given)
    shutil.rmtree(ROOT / "build", ignore_errors=True)  # stale files there end up in wheels
    try:
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp),
                        str(ROOT)], check=True, capture_output=True, timeout=600)
    finally:
        shutil.rmtree(ROOT / "build", ignore_errors=True)
    (wheel,) = tmp.glob("propmap-*.whl")
    return wheel


def _expected() -> set[str]:
    files = set()
    for pkg in PACKAGES:
        for p in (ROOT / pkg).rglob("*"):
            rel = p.relative_to(ROOT).as_posix()
            if p.is_file() and "__pycache__" not in rel and not rel.startswith(LEFT_OUT):
                files.add(rel)
    for p in (ROOT / "data").rglob("*"):
        if p.is_file() and "__pycache__" not in p.parts:
            files.add("propmap/data/" + p.relative_to(ROOT / "data").as_posix())
    return files


@pytest.mark.slow
def test_the_wheel_holds_every_module_and_data_file(tmp_path: Path) -> None:
    with zipfile.ZipFile(_wheel(tmp_path)) as z:
        names = set(z.namelist())
        entry_points = next(z.read(n).decode() for n in names
                            if n.endswith(".dist-info/entry_points.txt"))
    expected = _expected()
    for must in ("propmap/data/reference/dispute-categories.csv",
                 "propmap/data/intake/rules.toml", "propmap/data/meeting/rules.toml",
                 "geo/migrations/script.py.mako", "briefing/sections.py",
                 "geo/migrations/versions/0005_config.py", "dashboard/static/propmap.css",
                 "dashboard/.streamlit/config.toml", "dashboard/views/overview.py"):
        assert must in expected, must  # the expectation itself covers what matters
    assert sorted(expected - names) == []
    assert [n for n in names if n.startswith(("tests/", "data/", *LEFT_OUT))] == []
    assert "propmap = propmap.cli:main" in entry_points
