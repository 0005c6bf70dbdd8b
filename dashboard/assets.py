"""Local copies of the map's scripts and stylesheets, so the dashboard works offline.

Folium points every script at a public CDN; a government intranet reaches
none. :func:`ensure` installs Leaflet from the npm registry once, at set-up,
into ``dashboard/static/vendor/`` (git-ignored), which Streamlit serves at
``/app/static/vendor/...`` when ``server.enableStaticServing`` is on.
:mod:`dashboard.map` points folium at those URLs.

The map uses nothing but Leaflet itself: hexagons, areas and points are plain
GeoJSON and circle markers, legends are HTML, so no plugin (heat, cluster,
awesome-markers) and no jQuery, Bootstrap or Font Awesome is needed.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from geo._errors import PropmapError

Say = Callable[[str], None]

STATIC = Path(__file__).resolve().parent / "static"
VENDOR = STATIC / "vendor"
#: URL prefix under which Streamlit serves ``dashboard/static``.
URL_PREFIX = "/app/static/vendor"


@dataclass(frozen=True)
class Package:
    """An npm package and the files of its tarball (under ``package/``) the map needs."""

    name: str
    version: str
    files: tuple[str, ...]

    @property
    def target(self) -> Path:
        return VENDOR / self.name


PACKAGES: tuple[Package, ...] = (
    Package(
        "leaflet",
        "1.9.4",
        (
            "dist/leaflet.js",
            "dist/leaflet.css",
            "dist/images/layers.png",
            "dist/images/layers-2x.png",
            "dist/images/marker-icon.png",
            "dist/images/marker-icon-2x.png",
            "dist/images/marker-shadow.png",
        ),
    ),
)


class AssetError(PropmapError, RuntimeError):
    """Leaflet could not be installed from the npm registry."""


def url(package: str, file: str) -> str:
    """Return the served URL of ``file`` (path below ``dist/``) of ``package``."""
    return f"{URL_PREFIX}/{package}/{file}"


def missing(packages: tuple[Package, ...] = PACKAGES) -> list[Package]:
    """Packages whose files are not all in place, or whose version differs."""
    out = []
    for p in packages:
        stamp = p.target / ".version"
        files_ok = all((p.target / f.removeprefix("dist/")).is_file() for f in p.files)
        if not files_ok or not stamp.is_file() or stamp.read_text().strip() != p.version:
            out.append(p)
    return out


def _fetch(p: Package, workdir: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise AssetError(
            "找不到 npm，无法安装地图脚本 Leaflet。请安装 Node.js（含 npm），"
            f"或把 {p.name}@{p.version} 的 dist 目录复制到 {p.target}。"
        )
    proc = subprocess.run(
        [npm, "pack", f"{p.name}@{p.version}", "--silent", "--pack-destination", str(workdir)],
        capture_output=True, text=True, cwd=workdir,
    )
    if proc.returncode != 0:
        raise AssetError(
            f"从 npm 下载 {p.name}@{p.version} 失败：{proc.stderr.strip()[-400:]}\n"
            "请检查能否访问 npm 仓库（或设置 npm 的内网镜像：npm config set registry URL）。"
        )
    tgz = sorted(workdir.glob("*.tgz"))
    if not tgz:
        raise AssetError(f"npm pack 未生成 {p.name} 的安装包")
    return tgz[-1]


def install(p: Package, say: Say) -> None:
    """Download ``p`` with ``npm pack`` and copy its needed files into place."""
    say(f"安装地图脚本 {p.name}@{p.version}（来自 npm 仓库）…")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        tgz = _fetch(p, work)
        with tarfile.open(tgz) as tar:
            tar.extractall(work / "x", filter="data")
        staging = work / "out"
        for f in p.files:
            src = work / "x" / "package" / f
            if not src.is_file():
                raise AssetError(f"{p.name}@{p.version} 的安装包中缺少 {f}")
            dst = staging / f.removeprefix("dist/")
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
        (staging / ".version").write_text(p.version + "\n")
        if p.target.exists():
            shutil.rmtree(p.target)
        p.target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(staging, p.target)


def ensure(say: Say = print) -> None:
    """Install every missing map asset; quick and silent when all are present."""
    for p in missing():
        install(p, say)
