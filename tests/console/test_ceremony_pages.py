"""荣誉退休 and 打印 over HTTP, against `wanqing up`: a case from consent to held with its documents (the download
logged in ceremony's read-access log), another unit refused, the roster PDF with the columns asked (phone only when
asked, with a purpose) and the signature column, and the visit sheet of the clerk's tasks.
"""

from __future__ import annotations

import asyncio
import random
import re
import shutil
import subprocess
import uuid
from datetime import date, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from contracts.base import LOCAL_TZ
from contracts.id_number import make_id_number
from tests.console.conftest import CSRF, Browser, ConsolePlatform, eventually

PDFTOTEXT = shutil.which("pdftotext") or "pdftotext"
GIVEN = "德仁义礼智信忠孝廉勤俭恭宽敏惠"


def today() -> str:
    return datetime.now(LOCAL_TZ).date().isoformat()


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def pdf_text(content: bytes, folder: Path) -> str:
    path = folder / f"{uuid.uuid4().hex}.pdf"
    path.write_bytes(content)
    return subprocess.run([PDFTOTEXT, "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def new_name() -> str:
    return "欧阳" + "".join(random.sample(GIVEN, 2))


def register_and_approve(b: Browser, name: str, unit: str = "U0001") -> str:
    """A new person of the unit through the console's own forms, approved today: ceremony opens the case."""
    born = date(1966, random.randint(1, 12), random.randint(1, 28))
    token = b.csrf_of("/retirees-new")
    reply = b.post("/retirees-new", {"csrf": token, "name": name, "unit": unit,
                                     "id_number": make_id_number("110105", born, random.randint(100, 999)),
                                     "phone": "13911112222", "party_member": "on"})
    assert reply.status_code == HTTPStatus.SEE_OTHER, text_of(reply.text)[:800]
    rid = reply.headers["location"].split("/retirees/")[1].split("?")[0]
    path = f"/retirees/{rid}/record/ApproveRetirement"
    reply = b.post(path, {"csrf": b.csrf_of(path), "document_number": "区人社〔2026〕88号", "approved_on": today(),
                          "retirement_date": today(), "category": "cadre"})
    assert reply.status_code == HTTPStatus.SEE_OTHER, text_of(reply.text)[:800]
    eventually(lambda: b.get(f"/ceremonies/{rid}").status_code == HTTPStatus.OK, "ceremony opens the case")
    return rid


def form_token(b: Browser, rid: str, target: str) -> str:
    """The CSRF token inside the case page's form that posts to `target` (each form carries its own)."""
    page = b.get(f"/ceremonies/{rid}")
    found = re.search(rf'action="{re.escape(target)}"[^>]*>\s*<input type="hidden" name="csrf" value="([0-9a-f]+)"',
                      page.text)
    assert found, (target, text_of(page.text)[:800])
    return found.group(1)


def act(b: Browser, rid: str, action: str, fields: dict[str, str] | None = None) -> httpx.Response:
    target = f"/ceremonies/{rid}/do/{action}"
    return b.post(target, {"csrf": form_token(b, rid, target), **(fields or {})})


def ok(reply: httpx.Response) -> None:
    assert reply.status_code == HTTPStatus.SEE_OTHER, text_of(reply.text)[:1500]


async def reads(database_url: str, sql: str, *args: Any) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval(sql, *args))
    finally:
        await conn.close()


def run_to_held(b: Browser, rid: str) -> None:
    """Consent, a date, the 6+X items each by its own form (holding too early is refused), held, two handover steps."""
    ok(act(b, rid, "consent"))
    ok(act(b, rid, "schedule", {"held_on": today(), "venue": "三楼会议室"}))
    refused = act(b, rid, "hold", {"held_on": today()})  # nothing of the 6+X yet
    assert refused.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "尚缺" in text_of(refused.text)
    assert "③颁发退休证" in text_of(refused.text)
    ok(act(b, rid, "decision_announced", {"document_number": "区财〔2026〕5号"}))
    ok(act(b, rid, "thank_you_letter", {"signed_by": "李局长"}))
    ok(act(b, rid, "certificate"))
    ok(act(b, rid, "plaque", {"inscription": "光荣退休"}))
    ok(act(b, rid, "souvenir", {"souvenir": "纪念相册"}))
    ok(act(b, rid, "farewell_remarks", {"text": "感谢组织培养，退休不褪色。"}))
    ok(act(b, rid, "extra", {"item": "合影留念"}))
    ok(act(b, rid, "hold", {"held_on": today()}))
    ok(act(b, rid, "handover", {"step": "benefits_explained"}))
    ok(act(b, rid, "handover", {"step": "wechat_group_joined"}))


def test_a_case_from_consent_to_held_with_documents(console_platform: ConsolePlatform, browser_for: Any,
                                                    tmp_path: Path) -> None:
    b: Browser = browser_for("clerk-U0001")
    name = new_name()
    rid = register_and_approve(b, name)
    listing = text_of(b.get("/ceremonies").text)
    assert "待征求意愿" in listing
    assert name in listing

    run_to_held(b, rid)
    not_theirs = act(b, rid, "handover", {"step": "handed_over"})  # the district office's acknowledgement
    assert not_theirs.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    page = text_of(b.get(f"/ceremonies/{rid}").text)
    assert "已举办" in page
    assert "合影留念" in page
    number = re.search(r"证书编号 (U0001-\d{4}-\d{4})", page)
    assert number, page[:2000]
    assert "待区委老干部局确认" in page
    assert name in text_of(b.get("/ceremonies").text)

    # The certificate: a purpose is asked, the PDF comes as an attachment, and the read is on ceremony's record.
    token = form_token(b, rid, f"/ceremonies/{rid}/documents/certificate")
    no_purpose = b.post(f"/ceremonies/{rid}/documents/certificate", {"csrf": token, "purpose": " "})
    assert no_purpose.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "请填写下载用途" in text_of(no_purpose.text)
    before = asyncio.run(reads(console_platform.up.database_url,
                               "SELECT count(*) FROM ceremony.read_access WHERE retiree_id = $1", uuid.UUID(rid)))
    pdf = b.post(f"/ceremonies/{rid}/documents/certificate", {"csrf": token, "purpose": "仪式上颁发"})
    assert pdf.status_code == HTTPStatus.OK, text_of(pdf.text)[:800]
    assert pdf.headers["content-type"] == "application/pdf"
    disposition = pdf.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''" in disposition
    assert pdf.content.startswith(b"%PDF")
    words = pdf_text(pdf.content, tmp_path)
    assert name in words
    assert number.group(1) in words
    logged = asyncio.run(reads(
        console_platform.up.database_url,
        "SELECT count(*) FROM ceremony.read_access WHERE retiree_id = $1 AND user_id = 'clerk-U0001' "
        "AND document = 'certificate' AND purpose = '仪式上颁发'", uuid.UUID(rid)))
    assert logged == 1
    assert logged + before == asyncio.run(reads(console_platform.up.database_url,
                                                "SELECT count(*) FROM ceremony.read_access WHERE retiree_id = $1",
                                                uuid.UUID(rid)))
    letter = b.post(f"/ceremonies/{rid}/documents/thank_you_letter", {"csrf": token, "purpose": "存档"})
    assert letter.status_code == HTTPStatus.OK
    assert "李局长" in pdf_text(letter.content, tmp_path)

    # Another unit's clerk: refused, in Chinese, and gets no document.
    other: Browser = browser_for("clerk-U0002")
    page403 = other.get(f"/ceremonies/{rid}")
    assert page403.status_code == HTTPStatus.FORBIDDEN
    assert "无权" in text_of(page403.text)
    assert name not in page403.text
    token2 = CSRF.search(other.get("/ceremonies").text)
    assert token2
    denied = other.post(f"/ceremonies/{rid}/documents/certificate", {"csrf": token2.group(1), "purpose": "看看"})
    assert denied.status_code == HTTPStatus.FORBIDDEN
    assert not denied.content.startswith(b"%PDF")
    assert name not in text_of(other.get("/ceremonies").text)


def test_a_declined_consent_is_shown_with_its_reason(browser_for: Any) -> None:
    b: Browser = browser_for("clerk-U0001")
    rid = register_and_approve(b, new_name())
    ok(act(b, rid, "decline", {"reason": "本人希望低调"}))
    page = text_of(b.get(f"/ceremonies/{rid}").text)
    assert "本人谢绝" in page
    assert "本人希望低调" in page
    assert "本人希望低调" in text_of(b.get("/ceremonies").text)


def test_the_roster_pdf_has_the_columns_asked(console_platform: ConsolePlatform, browser_for: Any,
                                             tmp_path: Path) -> None:
    b: Browser = browser_for("clerk-U0001")
    token = b.csrf_of("/print/roster")
    form = {"csrf": token, "status": "retired", "col_name": "on", "col_sex": "on", "col_age": "on",
            "signature": "visit", "title": "春节走访名单"}
    pdf = b.post("/print/roster", form)
    assert pdf.status_code == HTTPStatus.OK, text_of(pdf.text)[:800]
    assert pdf.headers["content-type"] == "application/pdf"
    words = pdf_text(pdf.content, tmp_path)
    assert "慰问签字" in words
    assert "春节走访名单" in words
    assert "张建国" in words
    assert "王秀兰" in words
    assert "李志强" not in words  # another unit's
    assert "联系电话" not in words
    assert "13800138000" not in words

    plain = pdf_text(b.post("/print/roster", {**form, "signature": ""}).content, tmp_path)
    assert "慰问签字" not in plain

    no_purpose = b.post("/print/roster", {**form, "col_phone": "on"})
    assert no_purpose.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "用途" in text_of(no_purpose.text)

    rid = console_platform.district.people["张建国"]
    sql = ("SELECT count(*) FROM profiles.read_access WHERE retiree_id = $1 AND user_id = 'clerk-U0001' "
           "AND purpose = '春节走访联系'")
    before = asyncio.run(reads(console_platform.up.database_url, sql, uuid.UUID(rid)))
    with_phone = b.post("/print/roster", {**form, "col_phone": "on", "purpose": "春节走访联系"})
    assert with_phone.status_code == HTTPStatus.OK
    words = pdf_text(with_phone.content, tmp_path)
    assert "联系电话" in words
    assert "13800138000" in words
    assert asyncio.run(reads(console_platform.up.database_url, sql, uuid.UUID(rid))) == before + 1


def test_the_visit_sheet_lists_the_clerks_tasks(browser_for: Any, tmp_path: Path) -> None:
    b: Browser = browser_for("clerk-U0001")
    name = new_name()
    token = b.csrf_of("/retirees-new")
    born = date(1950, random.randint(1, 12), random.randint(1, 28))
    reply = b.post("/retirees-new", {"csrf": token, "name": name, "unit": "U0001", "retirement_date": "2010-06-01",
                                     "id_number": make_id_number("110105", born, random.randint(100, 999))})
    ok(reply)
    rid = reply.headers["location"].split("/retirees/")[1].split("?")[0]
    path = f"/retirees/{rid}/record/RecordHospitalization"
    ok(b.post(path, {"csrf": b.csrf_of(path), "hospital": "区人民医院", "admitted_on": today(),
                     "severity": "serious"}))

    def sheet() -> str:
        pdf = b.get("/print/visits")
        assert pdf.status_code == HTTPStatus.OK
        assert pdf.headers["content-type"] == "application/pdf"
        words = pdf_text(pdf.content, tmp_path)
        return words if name in words else ""

    words = eventually(sheet, "the hospital visit on the clerk's visit sheet")
    assert "走访慰问签字表" in words
    assert "住院看望" in words
    assert "签字" in words
    other: Browser = browser_for("clerk-U0002")
    assert name not in pdf_text(other.get("/print/visits").content, tmp_path)


def test_a_unit_in_half_year_batches_schedules_the_batch(browser_for: Any) -> None:
    b: Browser = browser_for("clerk-U0002")
    ok(b.post("/ceremonies/mode", {"csrf": b.csrf_of("/ceremonies"), "unit": "U0002", "mode": "half_year_batch"}))
    try:
        rid = register_and_approve(b, new_name(), "U0002")
        ok(act(b, rid, "consent"))
        page = text_of(b.get(f"/ceremonies/{rid}").text)
        assert "每半年集中举办" in page
        assert "半年集中仪式批次" in page
        assert f'/ceremonies/{rid}/do/schedule"' not in b.get(f"/ceremonies/{rid}").text
        ok(act(b, rid, "batch-schedule", {"held_on": today(), "venue": "局机关礼堂"}))
        assert "局机关礼堂" in text_of(b.get(f"/ceremonies/{rid}").text)
        assert "局机关礼堂" in text_of(b.get("/ceremonies").text)
    finally:
        ok(b.post("/ceremonies/mode", {"csrf": b.csrf_of("/ceremonies"), "unit": "U0002", "mode": "individual"}))
