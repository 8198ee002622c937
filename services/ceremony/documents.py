"""Ceremony documents as PDFs in Chinese: the retirement certificate (退休证) and the thank-you letter (感谢信).

The CJK font is embedded (subset) so the PDF reads the same on any machine. It is found by `backbone.fonts`
(WANQING_CJK_FONT or a search of the usual places: Debian packages fonts-wqy-microhei / fonts-noto-cjk).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfgen.canvas import Canvas

from backbone.fonts import FONT_CANDIDATES, FONT_NAME, FontMissingError, find_font, register_font

__all__ = ["FONT_CANDIDATES", "FONT_NAME", "Certificate", "FontMissingError", "ThankYouLetter", "find_font",
           "render_certificate", "render_thank_you_letter"]

RED = HexColor("#B22222")
GOLD = HexColor("#C8A24A")


@dataclass(frozen=True)
class Certificate:
    name: str
    unit_name: str
    certificate_number: str
    approved_on: date
    retirement_date: date | None
    document_number: str
    issued_on: date


@dataclass(frozen=True)
class ThankYouLetter:
    name: str
    unit_name: str
    approved_on: date
    signed_by: str
    issued_on: date
    party_member: bool = False  # 离岗不离党 is said to party members only


def _zh(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def render_certificate(target: Path, cert: Certificate) -> Path:
    font = register_font()
    width, height = landscape(A4)
    target.parent.mkdir(parents=True, exist_ok=True)
    c = Canvas(str(target), pagesize=(width, height))
    c.setTitle(f"退休证 {cert.certificate_number}")
    c.setStrokeColor(GOLD)
    c.setLineWidth(6)
    c.rect(30, 30, width - 60, height - 60)
    c.setLineWidth(1.5)
    c.rect(44, 44, width - 88, height - 88)
    c.setFillColor(RED)
    c.setFont(font, 54)
    c.drawCentredString(width / 2, height - 140, "荣 誉 退 休 证")
    c.setFillColor(HexColor("#222222"))
    c.setFont(font, 15)
    c.drawRightString(width - 80, height - 180, f"证书编号：{cert.certificate_number}")
    c.setFont(font, 22)
    lines = (
        f"{cert.name} 同志：",
        f"您在{cert.unit_name}辛勤工作，兢兢业业，为党和人民的事业作出了贡献。",
        f"经批准（{cert.document_number}，{_zh(cert.approved_on)}），您光荣退休。",
        "特颁此证，以资纪念。",
    )
    y = height - 240
    for line in lines:
        c.drawString(90, y, line)
        y -= 44
    if cert.retirement_date:
        c.setFont(font, 16)
        c.drawString(90, y - 10, f"退休日期：{_zh(cert.retirement_date)}")
    c.setFont(font, 20)
    c.drawRightString(width - 90, 110, cert.unit_name)
    c.drawRightString(width - 90, 80, _zh(cert.issued_on))
    c.showPage()
    c.save()
    return target


def render_thank_you_letter(target: Path, letter: ThankYouLetter) -> Path:
    font = register_font()
    width, height = A4
    target.parent.mkdir(parents=True, exist_ok=True)
    c = Canvas(str(target), pagesize=A4)
    c.setTitle(f"感谢信 {letter.name}")
    c.setFillColor(RED)
    c.setFont(font, 34)
    c.drawCentredString(width / 2, height - 110, "感 谢 信")
    c.setFillColor(HexColor("#222222"))
    c.setFont(font, 16)
    paragraphs = (
        f"尊敬的{letter.name}同志：",
        f"    在您光荣退休之际（{_zh(letter.approved_on)}批准），{letter.unit_name}全体同事",
        "向您致以崇高的敬意和衷心的感谢！",
        "    多年来，您爱岗敬业、勤勉尽责，为单位的发展倾注了心血。",
        "    退休不褪色，离岗不离党。衷心祝愿您身体健康、生活幸福，" if letter.party_member
        else "    衷心祝愿您退休后身体健康、生活幸福，",
        "    希望您继续关心支持单位工作，发挥余热，安享晚年。",
        "    此致",
        "敬礼！",
    )
    y = height - 180
    for line in paragraphs:
        c.drawString(70, y, line)
        y -= 34
    c.drawRightString(width - 70, y - 40, letter.unit_name)
    c.drawRightString(width - 70, y - 70, f"{letter.signed_by}（签名）")
    c.drawRightString(width - 70, y - 100, _zh(letter.issued_on))
    c.showPage()
    c.save()
    return target
