"""Drill marks (演练标识): what a drill database puts on everything it hands out, so nothing made in a
drill can pass for real — a red banner on every page (base templates), `X-Fangkong-Mode: drill` on
every response (`kernel.web.mode`), and the 演练 watermark on every XLSX and PDF (this module).

Every XLSX writer calls `mark_xlsx` on each sheet (the export writer `kernel.export`, the daily
report); every PDF writer passes `pdf_stylesheets()` to WeasyPrint (notices, the daily report, the
drill's after-action report). Outside a drill both are no-ops, so callers never test the mode.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path
from typing import Any

from fangkong.kernel import clock

#: the mark itself, and the line that says why
WATERMARK = "演练"
LABEL = "演练 DRILL"
NOTE = "演练数据(非真实数据)"
RED = "#C00000"

#: CJK fonts the PNG watermark is drawn with (the PDF uses the same families through fontconfig)
_FONT_FILES = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
               "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")

PDF_CSS = f"""
@page {{
  @top-center {{ content: "{LABEL} · {NOTE}"; color: {RED}; font-family: "WenQuanYi Micro Hei", "Noto Sans CJK SC",
                 sans-serif; font-size: 10pt; font-weight: bold; }}
}}
html::after {{
  content: "{WATERMARK}"; position: fixed; top: 38%; left: 0; width: 100%; text-align: center;
  font-family: "WenQuanYi Micro Hei", "Noto Sans CJK SC", sans-serif; font-size: 150pt; font-weight: bold;
  color: rgba(192, 0, 0, 0.13); transform: rotate(-30deg); z-index: 1000;
}}
"""


def active() -> bool:
    """True in a drill database (the mode the clock was told at start-up)."""
    return clock.mode() == "drill"


def pdf_css() -> str:
    """The watermark as CSS for a WeasyPrint document ('' outside a drill): a red 演练 DRILL line at the
    top of every page and a large pale 演练 across each page (a fixed box repeats on every page)."""
    return PDF_CSS if active() else ""


def pdf_stylesheets(*, force: bool = False) -> list[Any]:
    """`stylesheets=` for WeasyPrint's `render`/`write_pdf`: the watermark in a drill (or `force`d: a
    drill's own report), else nothing."""
    if not (force or active()):
        return []
    from weasyprint import CSS

    return [CSS(string=PDF_CSS)]


@lru_cache(maxsize=1)
def _watermark_png() -> bytes | None:
    """A tile of pale red 演练 DRILL, drawn once (Pillow comes with WeasyPrint); None without a CJK font."""
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError:  # pragma: no cover - WeasyPrint depends on Pillow
        return None
    font_file = next((f for f in _FONT_FILES if Path(f).exists()), None)
    if font_file is None:
        return None
    tile = Image.new("RGBA", (520, 360), (255, 255, 255, 0))
    draw = ImageDraw.Draw(tile)
    draw.text((60, 90), WATERMARK, font=ImageFont.truetype(font_file, 120), fill=(192, 0, 0, 40))
    draw.text((110, 240), "DRILL", font=ImageFont.truetype(font_file, 56), fill=(192, 0, 0, 40))
    out = io.BytesIO()
    tile.rotate(20, expand=False).save(out, format="PNG")
    return out.getvalue()


def mark_xlsx(worksheet: Any, *, force: bool = False) -> None:
    """Mark an xlsxwriter worksheet in a drill (no-op otherwise): 演练 DRILL in red in the page header
    (printed on every page, shown in Page Layout view), the note in the footer, and a pale 演练 tile as
    the sheet's background (seen on screen). Call it for every sheet of a workbook."""
    if not (force or active()):
        return
    worksheet.set_header(f'&C&"-,Bold"&20&K{RED.lstrip("#")}{LABEL}')
    worksheet.set_footer(f"&C&K{RED.lstrip('#')}{NOTE}")
    png = _watermark_png()
    if png is not None:
        worksheet.set_background(io.BytesIO(png))


def mark_workbook(workbook: Any, *, force: bool = False) -> None:
    """The workbook's properties say it is a drill (title and comments; no-op outside a drill)."""
    if force or active():
        workbook.set_properties({"title": LABEL, "comments": NOTE, "keywords": WATERMARK})
