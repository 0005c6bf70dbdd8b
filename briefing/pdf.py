"""The briefing as PDF: the ``.docx`` converted by LibreOffice, headless.

One document, two formats: LibreOffice Writer (Debian's
``libreoffice-writer-nogui``, installed by ``scripts/bootstrap``) lays out the
same ``.docx`` the command line writes, so the PDF carries exactly its text,
tables and maps. Each conversion runs with a profile of its own in a
temporary directory, so concurrent conversions (two users, tests in parallel)
do not share LibreOffice's lock.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from geo._errors import PropmapError

#: LibreOffice's command names, in order of preference.
COMMANDS = ("soffice", "libreoffice")
#: Longest a conversion may take, in seconds (a cold start takes a few).
TIMEOUT_S = 180


class PdfUnavailableError(PropmapError, RuntimeError):
    """LibreOffice is not installed, or the conversion failed."""


def soffice() -> str:
    """The LibreOffice command; raises with the way to install it when there is none."""
    for name in COMMANDS:
        found = shutil.which(name)
        if found:
            return found
    raise PdfUnavailableError(
        "生成 PDF 需要 LibreOffice：请运行 scripts/bootstrap，或 "
        "apt-get install --no-install-recommends libreoffice-writer-nogui；"
        "也可以改为输出 .docx。")


def docx_to_pdf(docx: bytes) -> bytes:
    """The PDF of the ``.docx`` bytes ``docx``."""
    cmd = soffice()
    with tempfile.TemporaryDirectory(prefix="propmap-briefing-") as tmp:
        work = Path(tmp)
        src = work / "briefing.docx"
        src.write_bytes(docx)
        profile = (work / "profile").as_uri()
        env = {**os.environ, "HOME": tmp, "SAL_USE_VCLPLUGIN": "svp"}
        try:
            done = subprocess.run(
                [cmd, f"-env:UserInstallation={profile}", "--headless", "--norestore",
                 "--convert-to", "pdf:writer_pdf_Export", "--outdir", str(work), str(src)],
                capture_output=True, text=True, timeout=TIMEOUT_S, env=env, check=False)
        except subprocess.TimeoutExpired:
            raise PdfUnavailableError(
                f"LibreOffice 转换 PDF 超过 {TIMEOUT_S} 秒未完成，请稍后重试或改为输出 .docx。"
            ) from None
        out = work / "briefing.pdf"
        if done.returncode != 0 or not out.is_file():
            raise PdfUnavailableError(
                "LibreOffice 未能把简报转换为 PDF（"
                + (done.stderr.strip().splitlines() or ["无错误信息"])[-1][:200]
                + "），请改为输出 .docx，或联系管理员检查 LibreOffice 安装。")
        return out.read_bytes()
