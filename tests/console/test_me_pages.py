"""我的页面 over HTTP, against `wanqing up`: a clerk prints a login-code letter, the retiree logs in with its code and
answers the ceremony invitation; each side's session opens only its own pages.
"""

from __future__ import annotations

import asyncio
import re
from http import HTTPStatus
from pathlib import Path
from typing import Any

import asyncpg

from tests.console.conftest import Browser, ConsolePlatform
from tests.console.test_ceremony_pages import eventually, new_name, pdf_text, register_and_approve, text_of

CODE = re.compile(r"登录码：\s*([a-z2-7]{8}-\d{4}-\d{4}-\d{4})")


def print_letter(clerk: Browser, rid: str, folder: Path) -> str:
    token = clerk.csrf_of(f"/retirees/{rid}")
    reply = clerk.post(f"/retirees/{rid}/login-letter", {"csrf": token})
    assert reply.status_code == HTTPStatus.OK, text_of(reply.text)[:600]
    assert reply.headers["content-type"] == "application/pdf"
    text = pdf_text(reply.content, folder)
    found = CODE.search(text.replace(" ", "").replace("登录码：", "登录码： "))
    assert found, text
    return found.group(1)


def me_login(b: Browser, code: str) -> Any:
    page = b.get("/me/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    return b.post("/me/login", {"csrf": token.group(1), "code": code})


def test_a_retiree_logs_in_with_the_letter_and_declines_the_ceremony(
    console_platform: ConsolePlatform, browser_for: Any, tmp_path: Path,
) -> None:
    clerk: Browser = browser_for("clerk-U0001")
    name = new_name()
    rid = register_and_approve(clerk, name)
    code = print_letter(clerk, rid, tmp_path)

    retiree: Browser = browser_for()
    assert me_login(retiree, "aaaaaaaa-0000-0000-0000").status_code == HTTPStatus.UNAUTHORIZED
    logged = me_login(retiree, code)
    assert logged.status_code == HTTPStatus.SEE_OTHER and logged.headers["location"] == "/me"
    home = retiree.get("/me")
    assert home.status_code == HTTPStatus.OK
    text = text_of(home.text)
    assert f"{name}，您好" in text and "荣誉退休仪式邀请" in text and "区财政局" in text
    # A retiree's session opens no staff page, and a staff session no retiree page.
    for path in ("/", "/retirees", f"/ceremonies/{rid}", "/district"):
        assert retiree.get(path).headers.get("location") == "/me", path
    assert clerk.get("/me").headers.get("location") == "/"

    token = re.search(r'name="csrf" value="([^"]+)"', home.text)
    assert token
    answered = retiree.post("/me/consent", {"csrf": token.group(1), "answer": "decline", "reason": "腿脚不便"})
    assert answered.status_code == HTTPStatus.SEE_OTHER
    assert "您已告知单位不参加仪式" in text_of(retiree.get("/me").text)
    case = eventually(lambda: (p := clerk.get(f"/ceremonies/{rid}")).status_code == HTTPStatus.OK
                      and "腿脚不便" in p.text and p, "the clerk sees the decline")
    assert "谢绝" in text_of(case.text) or "不愿" in text_of(case.text)

    prefs = retiree.get("/me/preferences")
    token = re.search(r'name="csrf" value="([^"]+)"', prefs.text)
    assert token
    saved = retiree.post("/me/preferences", {"csrf": token.group(1), "inbox": "1", "sms": "1",
                                              "quiet_start": "20:00", "quiet_end": "09:00"})
    assert saved.status_code == HTTPStatus.SEE_OTHER, text_of(saved.text)[:500]
    rows = asyncio.run(_notify_rows(console_platform.up.database_url, rid))
    assert rows == [("20:00:00", "09:00:00", ["inbox", "sms"])]
    # A new letter ends the old code.
    print_letter(clerk, rid, tmp_path)
    assert me_login(browser_for(), code).status_code == HTTPStatus.UNAUTHORIZED


async def _notify_rows(url: str, rid: str) -> list[tuple[str, str, list[str]]]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT q.start_at::text AS s, q.end_at::text AS e, p.channels FROM notify.quiet_hours q "
            "JOIN notify.channel_preferences p USING (recipient) WHERE recipient = $1", f"retiree:{rid}")
    finally:
        await conn.close()
    return [(r["s"], r["e"], list(r["channels"])) for r in rows]


def test_another_units_clerk_cannot_print_a_letter(console_platform: ConsolePlatform, browser_for: Any) -> None:
    rid = console_platform.district.people["张建国"]  # of U0001
    other: Browser = browser_for("clerk-U0002")
    token = other.csrf_of("/retirees")
    reply = other.post(f"/retirees/{rid}/login-letter", {"csrf": token})
    assert reply.status_code == HTTPStatus.FORBIDDEN
    assert "本单位" in text_of(reply.text)
