"""The briefing as a Word document (python-docx): A4, Chinese type, the notice on every page.

Headings are Word's own heading styles (a reader's navigation pane lists the
sections), tables Word tables, maps pictures. Every page's header carries the
briefing's notice (period, cut-off day and, for the demo, that the data are
synthetic); the footer numbers the pages. The file is the same bytes for the
same data: its dates are the data's cut-off day, and the zip's entries carry a
fixed time stamp instead of the clock's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
import zipfile
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from briefing.model import Block, Briefing, Figure, Heading, Para, Table
from briefing.sections import fmt

#: Chinese body and heading type (Debian's fonts-noto-cjk; Word substitutes its own
#: Chinese type where they are not installed).
BODY_FONT = "Noto Serif CJK SC"
HEADING_FONT = "Noto Sans CJK SC"
#: Section numbers of the document.
NUMERALS = ("一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二", "十三",
            "十四", "十五")
#: The zip entries' time stamp (the earliest a zip can hold): no clock in the file.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _font(run_or_style: Any, name: str, size: float | None = None, bold: bool | None = None,
          colour: RGBColor | None = None) -> None:
    font = run_or_style.font
    font.name = name
    if size is not None:
        font.size = Pt(size)
    if bold is not None:
        font.bold = bold
    if colour is not None:
        font.color.rgb = colour
    rpr = run_or_style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.append(fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), name)


def _styles(doc: Any) -> None:
    _font(doc.styles["Normal"], BODY_FONT, 10.5)
    doc.styles["Normal"].paragraph_format.space_after = Pt(4)
    doc.styles["Normal"].paragraph_format.line_spacing = 1.25
    for name, size in (("Title", 20), ("Heading 1", 15), ("Heading 2", 12)):
        _font(doc.styles[name], HEADING_FONT, size, True, RGBColor(0, 0, 0))


def _page(doc: Any, notice: str) -> None:
    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.PORTRAIT
    sec.page_width, sec.page_height = Cm(21.0), Cm(29.7)
    sec.left_margin = sec.right_margin = Cm(2.2)
    sec.top_margin, sec.bottom_margin = Cm(2.2), Cm(2.0)
    head = sec.header.paragraphs[0]
    head.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(head.add_run(notice), BODY_FONT, 8, False, RGBColor(0x80, 0x00, 0x00))
    foot = sec.footer.paragraphs[0]
    foot.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(foot.add_run("第 "), BODY_FONT, 8)
    _field(foot, "PAGE")
    _font(foot.add_run(" 页，共 "), BODY_FONT, 8)
    _field(foot, "NUMPAGES")
    _font(foot.add_run(" 页"), BODY_FONT, 8)


def _field(paragraph: Any, code: str) -> None:
    """A Word field (page number) in ``paragraph``."""
    run = paragraph.add_run()
    _font(run, BODY_FONT, 8)
    for kind, text in (("begin", None), ("instr", f" {code} "), ("separate", None),
                       ("text", "1"), ("end", None)):
        if kind == "instr":
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = text
        elif kind == "text":
            el = OxmlElement("w:t")
            el.text = text
        else:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        run._r.append(el)


def _shade(cell: Any, fill: str) -> None:
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shd)


def _numeric(text: str) -> bool:
    return bool(text) and (text[0].isdigit() or text[0] in "—▲▼→-+")


def _unbroken(text: str) -> bool:
    """A figure, or a code such as a case number (``RX202604140010681``): never wrapped."""
    return _numeric(text) or (text.isascii() and text.strip() != "" and " " not in text)


#: Tables with more columns than this go on a landscape page.
WIDE = 9


def _width(text: str) -> float:
    """Display width of ``text`` in half-em units (a Chinese character is two; digits and
    signs of the CJK fonts are a little wider than half an em)."""
    return sum(2.0 if ord(ch) > 0x2E7F else 1.15 for ch in text)


def _column_widths(texts: list[list[str]], header: list[str], total_cm: float,
                   size_pt: float) -> list[float]:
    """Column widths (cm): figures and codes get the width of their longest cell (a number
    or a case number never wraps), text columns share what is left (they may wrap), headers
    wrap at most twice."""
    half_em = size_pt / 2 * 2.54 / 72
    pad = 0.42  # Word's cell margins, both sides
    need, is_text = [], []
    for i, name in enumerate(header):
        cells = [r[i] for r in texts if r[i]]
        text = any(not _unbroken(c) for c in cells)
        longest = max([_width(c) for c in cells] or [0.0])
        head = max(_width(name) / 2.0, min(_width(name), 8.0))  # short headers: one line
        need.append((min(longest, 16.0) if text else longest, head))
        is_text.append(text)
    widths = [max(n, h, 3.0) * half_em + pad for n, h in need]
    spare = total_cm - sum(widths)
    texts_total = sum(w for w, t in zip(widths, is_text, strict=True) if t)
    if spare < 0 and texts_total:  # too wide: text columns give way, down to 4 characters
        floor = 8.0 * half_em + pad
        give = min(-spare, sum(max(0.0, w - floor) for w, t in zip(widths, is_text,
                                                                   strict=True) if t))
        room = sum(max(0.0, w - floor) for w, t in zip(widths, is_text, strict=True) if t)
        widths = [w - give * max(0.0, w - floor) / room if t and room else w
                  for w, t in zip(widths, is_text, strict=True)]
    scale = total_cm / sum(widths)
    return [w * scale for w in widths]


def _fixed_layout(table: Any) -> None:
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    table._tbl.tblPr.append(layout)


def _orient(doc: Any, landscape: bool) -> None:
    """Continue on a new page of the other orientation when ``landscape`` asks for it."""
    sec = doc.sections[-1]
    if (sec.orientation == WD_ORIENT.LANDSCAPE) == landscape:
        return
    new = doc.add_section(WD_SECTION.NEW_PAGE)
    new.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    new.page_width, new.page_height = (Cm(29.7), Cm(21.0)) if landscape else (Cm(21.0),
                                                                              Cm(29.7))


def _landscape(block: Any) -> bool | None:
    """Whether ``block`` needs a landscape page (a wide table), a portrait one, or either
    (a note follows what it notes)."""
    if isinstance(block, Table):
        return len(block.df.columns) > WIDE
    if isinstance(block, Para) and block.style == "note":
        return None
    return False


def _text_width_cm(doc: Any) -> float:
    sec = doc.sections[-1]
    return float((sec.page_width - sec.left_margin - sec.right_margin) / 360000)


def _table(doc: Any, block: Table) -> None:
    df = block.df if block.max_rows is None else block.df.head(block.max_rows)
    cols = len(df.columns)
    if block.title:
        p = doc.add_paragraph()
        _font(p.add_run(block.title), HEADING_FONT, 9.5, True)
        p.paragraph_format.keep_with_next = True
    size = 9 if cols <= 6 else 8 if cols <= 11 else 7.5
    header = [str(c) for c in df.columns]
    texts = [[fmt(v) for v in row] for row in df.itertuples(index=False)]
    widths = _column_widths(texts, header, _text_width_cm(doc), size)
    t = doc.add_table(rows=1, cols=cols)
    t.style = "Table Grid"
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    t.autofit = False
    _fixed_layout(t)
    for column, w in zip(t.columns, widths, strict=True):
        column.width = Cm(w)  # the grid: LibreOffice lays out by it
    for cell, name, w in zip(t.rows[0].cells, header, widths, strict=True):
        cell.text = ""
        cell.width = Cm(w)
        _font(cell.paragraphs[0].add_run(name), HEADING_FONT, size, True)
        _shade(cell, "D9E2F3")
    _repeat_header(t.rows[0])
    for row in texts:
        cells = t.add_row().cells
        for cell, text, w in zip(cells, row, widths, strict=True):
            cell.text = ""
            cell.width = Cm(w)
            para = cell.paragraphs[0]
            if _numeric(text):
                para.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            _font(para.add_run(text), BODY_FONT, size)
    if block.note:
        _para(doc, Para(block.note, "note"))


def _repeat_header(row: Any) -> None:
    trpr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    trpr.append(el)


def _para(doc: Any, block: Para) -> None:
    p = doc.add_paragraph()
    if block.style == "note":
        _font(p.add_run(block.text), BODY_FONT, 8, False, RGBColor(0x55, 0x55, 0x55))
        p.paragraph_format.space_after = Pt(2)
    elif block.style == "lead":
        _font(p.add_run(block.text), BODY_FONT, 11, True)
    else:
        _font(p.add_run(block.text), BODY_FONT, 10.5)


def _figure(doc: Any, block: Figure) -> None:
    doc.add_picture(io.BytesIO(block.png), width=Cm(block.width_cm))
    doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    cap = doc.add_paragraph()
    cap.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(cap.add_run(block.caption), BODY_FONT, 9, False, RGBColor(0x33, 0x33, 0x33))


#: What Word's XML cannot hold: control characters other than tab and line breaks, lone
#: surrogates, U+FFFE and U+FFFF. A name from a file may carry them (python-docx refuses).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml(value: Any) -> Any:
    """``value`` with what Word's XML cannot hold dropped (text only; anything else as is)."""
    return _NOT_XML.sub("", value) if isinstance(value, str) else value


def _xml_safe(b: Briefing) -> Briefing:
    """``b`` with every text (titles, paragraphs, captions, table cells and headers) XML-safe."""
    def block(x: Block) -> Block:
        if isinstance(x, (Heading, Para)):
            return dataclasses.replace(x, text=_xml(x.text))
        if isinstance(x, Figure):
            return dataclasses.replace(x, caption=_xml(x.caption))
        df = x.df.map(_xml).rename(columns=_xml)
        return dataclasses.replace(x, df=df, title=_xml(x.title), note=_xml(x.note))
    return dataclasses.replace(
        b, title=_xml(b.title), period_text=_xml(b.period_text),
        sections=[dataclasses.replace(s, title=_xml(s.title), blocks=[block(x) for x in s.blocks])
                  for s in b.sections])


def to_docx(b: Briefing, *, filters_note: str = "") -> bytes:
    """The briefing ``b`` as the bytes of a ``.docx`` file (the same for the same ``b``)."""
    b = _xml_safe(b)
    filters_note = _xml(filters_note)
    doc = Document()
    _styles(doc)
    _page(doc, b.notice)
    title = doc.add_paragraph(b.title, style="Title")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    sub = doc.add_paragraph()
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(sub.add_run(f"{b.period_text}　数据截至 {b.as_of:%Y年%-m月%-d日}"), BODY_FONT, 11)
    if filters_note:
        note = doc.add_paragraph()
        note.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _font(note.add_run(f"筛选条件：{filters_note}"), BODY_FONT, 9)
    if b.synthetic:
        warn = doc.add_paragraph()
        warn.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _font(warn.add_run("演示数据（合成），非真实情况：哪些部分为真实，见“口径说明”。"),
              BODY_FONT, 10, True, RGBColor(0xC0, 0x00, 0x00))
    for i, sec in enumerate(b.sections):
        number = NUMERALS[i] if i < len(NUMERALS) else str(i + 1)
        _orient(doc, bool(sec.blocks) and bool(_landscape(sec.blocks[0])))
        doc.add_heading(f"{number}、{sec.title}", level=1)
        for block in sec.blocks:
            want = _landscape(block)
            if want is not None:
                _orient(doc, want)
            if isinstance(block, Heading):
                doc.add_heading(block.text, level=block.level)
            elif isinstance(block, Para):
                _para(doc, block)
            elif isinstance(block, Table):
                _table(doc, block)
            elif isinstance(block, Figure):
                _figure(doc, block)
    when = dt.datetime.combine(b.as_of, dt.time.min)
    props = doc.core_properties
    props.title, props.author, props.last_modified_by = b.title, "propmap", "propmap"
    props.created = props.modified = when
    props.last_printed = when
    props.revision = 1
    buf = io.BytesIO()
    doc.save(buf)
    return _fixed_zip(buf.getvalue())


def _fixed_zip(data: bytes) -> bytes:
    """The zip ``data`` again, every entry stamped :data:`ZIP_TIME` (python-docx stamps the
    clock's time), so that the same document is the same bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()
