"""The joint meeting's briefing (联席会议简报): a Chinese A4 document of one period.

``propmap briefing --period 2026Q3 --output FILE.docx|.pdf`` and the download
on 会议展示 make the same document: headline figures with their change, the
city map by street office and the hotspot map (drawn offline with matplotlib),
the street and department rankings, 三无 and owners' committee progress,
hazards overdue, complex (市级) and typical cases, and the firms on the red and
black lists, each figure from the same functions the dashboard shows
(:mod:`layers`), under the same filters.

The document is a list of sections (:data:`briefing.sections.SECTIONS`, a
registry): each section is one function from the data to blocks (headings,
paragraphs, tables, figures). :mod:`briefing.docx` writes the blocks with
python-docx; :mod:`briefing.pdf` turns the ``.docx`` into PDF with LibreOffice
(headless), so both formats carry the same text. The same data give the same
bytes (``.docx``): no clock, no random state.

Package layering: ``dashboard → briefing → layers → geo``; the command line
(``propmap``) and the dashboard call it, it calls neither.
"""
