"""Printed lists as A4 PDFs (reportlab, the CJK font of backbone.fonts embedded): a title, a line of what the list
is, a table whose header repeats on every page, and a footer with the page number and when it was printed.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from backbone.fonts import register_font
from contracts.base import LOCAL_TZ

WIDE = 7  # more columns than this: the page is turned sideways
MARGIN = 14 * mm


def table_pdf(title: str, subtitle: str, headers: Sequence[str], rows: Sequence[Sequence[Any]],
              weights: Sequence[float] | None = None) -> bytes:
    """The PDF's bytes. `weights` share the page width between the columns (default: equal)."""
    font = register_font()
    size = landscape(A4) if len(headers) > WIDE else A4
    buffer = io.BytesIO()
    printed = datetime.now(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")

    def footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 9)
        canvas.drawString(MARGIN, 8 * mm, f"{title} · 打印于 {printed}（北京时间）")
        canvas.drawRightString(size[0] - MARGIN, 8 * mm, f"第 {doc.page} 页")
        canvas.restoreState()

    doc = SimpleDocTemplate(buffer, pagesize=size, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                            bottomMargin=16 * mm, title=title)
    cell = ParagraphStyle("cell", fontName=font, fontSize=10, leading=13, wordWrap="CJK")
    head = ParagraphStyle("head", parent=cell, fontSize=10.5)
    shares = list(weights) if weights else [1.0] * len(headers)
    total = sum(shares)
    widths = [doc.width * w / total for w in shares]
    data = [[Paragraph(str(h), head) for h in headers]]
    data += [[Paragraph(_text(v), cell) for v in row] for row in rows]
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.6, colors.HexColor("#444444")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EFECE6")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 1), (-1, -1), 7),
        ("BOTTOMPADDING", (0, 1), (-1, -1), 7),
    ]))
    story: list[Any] = [
        Paragraph(title, ParagraphStyle("title", fontName=font, fontSize=18, leading=24, alignment=1)),
        Paragraph(subtitle, ParagraphStyle("sub", fontName=font, fontSize=10, leading=14, alignment=1)),
        Spacer(1, 5 * mm), table,
    ]
    if not rows:
        story.append(Paragraph("（无）", cell))
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def _text(value: Any) -> str:
    """A cell's text, escaped for reportlab's little markup language."""
    text = "" if value is None else str(value)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
