"""The console over HTTP, against `wanqing up`: cookies, CSRF, who may open what, and nothing lost or forged."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, date, datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from backbone.clock import set_platform_time
from contracts.base import LOCAL_TZ
from contracts.id_number import make_id_number
from tests.console.conftest import PASSWORD, Browser, ConsolePlatform, count_events, second_console

OPEN_PAGES = ("/", "/retirees", "/retirees-new", "/import", "/inbox")
PEOPLE_IN_U0001 = ("张建国", "王秀兰")


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_login_sets_a_session_cookie_only_javascript_and_other_sites_cannot_use(
    console_platform: ConsolePlatform, browser_for: Any,
) -> None:
    b: Browser = browser_for()
    reply = b.login("clerk-U0001")
    assert reply.status_code == HTTPStatus.SEE_OTHER
    assert reply.headers["location"] == "/"
    session = next(c for c in b.last_set_cookies if c.startswith("wanqing_session="))
    flags = {part.strip().lower() for part in session.split(";")[1:]}
    assert {"httponly", "secure", "samesite=strict", "path=/"} <= flags, flags
    home = b.get("/")
    assert home.status_code == HTTPStatus.OK
    assert "今日工作" in home.text
    assert "clerk-U0001（单位经办人，U0001）" in _text(home.text)


def test_a_wrong_password_says_so_in_chinese_and_logs_nobody_in(browser_for: Any) -> None:
    b: Browser = browser_for()
    reply = b.login("clerk-U0001", "not-the-password1")
    assert reply.status_code == HTTPStatus.UNAUTHORIZED
    assert "密码" in _text(reply.text)
    assert "wanqing_session" not in b.cookies
    assert b.get("/").status_code == HTTPStatus.SEE_OTHER


def test_every_page_needs_a_login_and_every_form_a_session(console_platform: ConsolePlatform,
                                                          browser_for: Any) -> None:
    b: Browser = browser_for()
    rid = console_platform.district.people["张建国"]
    for path in (*OPEN_PAGES, f"/retirees/{rid}", f"/retirees/{rid}/record/RecordHospitalization",
                 f"/tasks/{rid}", "/inbox/00000000-0000-0000-0000-000000000000"):
        reply = b.get(path)
        assert reply.status_code == HTTPStatus.SEE_OTHER, path
        assert reply.headers["location"].startswith("/login?next="), path
    before = asyncio.run(count_events(console_platform.up.database_url))
    for path in (f"/retirees/{rid}/record/RecordDeath", "/retirees-new", f"/tasks/{rid}/complete", "/logout",
                 "/import/confirm"):
        reply = b.post(path, {"csrf": "0" * 40, "died_on": "2026-01-01", "name": "伪造"})
        assert reply.status_code == HTTPStatus.UNAUTHORIZED, path  # the login page, nothing done
    assert asyncio.run(count_events(console_platform.up.database_url)) == before


def test_a_form_without_this_sessions_token_changes_nothing(console_platform: ConsolePlatform,
                                                           browser_for: Any) -> None:
    b: Browser = browser_for("clerk-U0001")
    other: Browser = browser_for("head-U0001")
    rid = console_platform.district.people["王秀兰"]
    path = f"/retirees/{rid}/record/RecordHospitalization"
    foreign = other.csrf_of(path)  # a real token, of another session
    before = asyncio.run(count_events(console_platform.up.database_url))
    for token in ("", "0" * 40, foreign):
        reply = b.post(path, {"csrf": token, "hospital": "区人民医院", "admitted_on": "2026-11-30",
                              "severity": "serious"})
        assert reply.status_code == HTTPStatus.FORBIDDEN, token
        assert "页面已过期" in reply.text
    reply = b.post("/login", {"user": "clerk-U0001", "password": PASSWORD})  # a login form from elsewhere
    assert reply.status_code == HTTPStatus.FORBIDDEN
    assert asyncio.run(count_events(console_platform.up.database_url)) == before


def test_another_units_clerk_cannot_open_a_person_and_the_attempt_is_on_record(
    console_platform: ConsolePlatform, browser_for: Any,
) -> None:
    outsider: Browser = browser_for("clerk-U0002")
    rid = console_platform.district.people["张建国"]
    for path in (f"/retirees/{rid}", f"/retirees/{rid}/record/RecordDeath"):
        page = outsider.get(path)
        assert page.status_code == HTTPStatus.FORBIDDEN, path
        assert "无权" in _text(page.text)
        assert "张建国" not in page.text
    found = outsider.get("/retirees?q=张建国")
    assert found.status_code == HTTPStatus.OK
    assert rid not in found.text  # the search does not find other units' people
    assert "张建国" not in _text(found.text).replace("“张建国”", "")
    refused = asyncio.run(_forbidden_reads(console_platform.up.database_url, rid))
    assert any(r["user"] == "clerk-U0002" for r in refused), refused


async def _forbidden_reads(database_url: str, rid: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT user_id AS user, detail FROM profiles.read_access "
                                "WHERE retiree_id = $1 AND NOT success", rid)
        return [dict(r) for r in rows]
    finally:
        await conn.close()


def test_a_login_link_cannot_send_anyone_to_another_site(browser_for: Any) -> None:
    b: Browser = browser_for()
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        reply = b.login("clerk-U0001", next_path=target)
        assert reply.status_code == HTTPStatus.SEE_OTHER
        assert reply.headers["location"] == "/", target


def test_a_temporary_password_is_changed_before_anything_else(console_platform: ConsolePlatform,
                                                             browser_for: Any) -> None:
    b: Browser = browser_for()
    user = console_platform.district.temporary_user
    reply = b.login(user)
    assert reply.status_code == HTTPStatus.OK
    assert "设置新密码" in reply.text
    assert "wanqing_session" not in b.cookies
    token = re.search(r'name="csrf" value="([0-9a-f]*)"', reply.text)
    assert token
    fresh = "xinmima2027ok"
    mismatch = b.post("/change-password", {"csrf": token.group(1), "user": user, "old_password": PASSWORD,
                                           "new_password": fresh, "new_password_again": fresh + "x"})
    assert mismatch.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "不一致" in mismatch.text
    done = b.post("/change-password", {"csrf": token.group(1), "user": user, "old_password": PASSWORD,
                                       "new_password": fresh, "new_password_again": fresh, "next": "/"})
    assert done.status_code == HTTPStatus.SEE_OTHER
    assert b.get("/").status_code == HTTPStatus.OK
    assert browser_for().login(user, fresh).status_code == HTTPStatus.SEE_OTHER


def test_logout_ends_the_session_at_identity(console_platform: ConsolePlatform, browser_for: Any) -> None:
    b: Browser = browser_for("clerk-U0001")
    stolen = dict(b.cookies)
    token = b.csrf_of("/")
    reply = b.post("/logout", {"csrf": token})
    assert reply.status_code == HTTPStatus.SEE_OTHER
    thief: Browser = browser_for()
    thief.cookies = stolen
    assert thief.get("/").status_code == HTTPStatus.SEE_OTHER  # the copied cookie no longer works


def test_pages_serve_their_own_assets_and_forbid_framing(console_platform: ConsolePlatform,
                                                         browser_for: Any) -> None:
    b: Browser = browser_for("clerk-U0001")
    rid = console_platform.district.people["张建国"]
    for path in (*OPEN_PAGES, f"/retirees/{rid}", "/login"):
        page = b.get(path)
        assert page.status_code == HTTPStatus.OK, path
        assert page.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert not re.search(r"(src|href)=\"(https?:)?//", page.text), path  # nothing from another host
    css = b.get("/static/console.css")
    assert css.status_code == HTTPStatus.OK
    assert "@import" not in css.text
    assert "url(" not in css.text


def test_a_form_sent_after_the_session_expired_keeps_what_was_typed(console_platform: ConsolePlatform,
                                                                   tmp_path: Path) -> None:
    proc, url = second_console(console_platform.up, idle_s=2, log=tmp_path / "console.log")
    b = Browser(url)
    try:
        assert b.login("clerk-U0001").status_code == HTTPStatus.SEE_OTHER
        rid = console_platform.district.people["王秀兰"]
        path = f"/retirees/{rid}/record/ReportHardship"
        token = b.csrf_of(path)
        time.sleep(3)  # the clerk is called away; the session idles out
        before = asyncio.run(count_events(console_platform.up.database_url))
        typed = {"csrf": token, "description": "老伴住院，医药费负担较重", "amount_requested": "3000"}
        expired = b.post(path, typed)
        assert expired.status_code == HTTPStatus.UNAUTHORIZED
        assert "登录已超时" in expired.text
        assert "您填写的内容已保留" in expired.text
        assert asyncio.run(count_events(console_platform.up.database_url)) == before  # nothing sent
        draft = re.search(r'name="draft" value="([^"]+)"', expired.text)
        assert draft
        back = b.login("clerk-U0001", next_path=path, draft=draft.group(1))
        assert back.status_code == HTTPStatus.SEE_OTHER
        assert back.headers["location"] == f"{path}?draft={draft.group(1)}"
        form = b.get(back.headers["location"])
        assert "老伴住院，医药费负担较重" in form.text
        assert 'value="3000"' in form.text
        assert browser_for_other_user_cannot_take(url, path, draft.group(1))
    finally:
        b.close()
        proc.terminate()
        proc.wait(10)


def browser_for_other_user_cannot_take(url: str, path: str, draft: str) -> bool:
    """A draft is taken once, by its own person: another login with the same link sees an empty form."""
    other = Browser(url)
    try:
        assert other.login("head-U0001", next_path=path, draft=draft).headers["location"] == path
        return "老伴住院" not in other.get(f"{path}?draft={draft}").text
    finally:
        other.close()


@pytest.mark.parametrize("command", ["RecordHospitalization", "RecordDeath"])
def test_a_refused_form_shows_the_reason_next_to_the_field_and_keeps_the_input(
    console_platform: ConsolePlatform, browser_for: Any, command: str,
) -> None:
    b: Browser = browser_for("clerk-U0001")
    rid = console_platform.district.people["王秀兰"]
    path = f"/retirees/{rid}/record/{command}"
    token = b.csrf_of(path)
    before = asyncio.run(count_events(console_platform.up.database_url))
    typed = {"csrf": token, "hospital": "区第二人民医院", "admitted_on": "2099-01-01", "severity": "critical",
             "died_on": "2099-01-01"}
    reply = b.post(path, typed)
    assert reply.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    text = _text(reply.text)
    assert "晚于今天" in text or "不能晚于" in text or "未来" in text, text[:800]
    assert 'aria-invalid="true"' in reply.text
    assert 'value="2099-01-01"' in reply.text
    if command == "RecordHospitalization":
        assert 'value="区第二人民医院"' in reply.text
    assert asyncio.run(count_events(console_platform.up.database_url)) == before


def test_the_console_holds_only_its_own_secrets(console_platform: ConsolePlatform) -> None:
    import psutil  # noqa: PLC0415

    up = console_platform.up
    assert up.proc is not None
    def consoles_now() -> list[Any]:
        found = []
        for c in psutil.Process(up.proc.pid).children(recursive=True):  # type: ignore[union-attr]
            try:
                if "edge.console" in " ".join(c.cmdline()):
                    found.append(c)
            except psutil.NoSuchProcess:  # a child that ended while the list was read
                continue
        return found

    def exactly_one() -> list[Any] | None:
        found = consoles_now()
        return found if len(found) == 1 else None

    consoles = _eventually(exactly_one, "exactly one console process under the supervisor")
    assert len(consoles) == 1
    env = consoles[0].environ()
    assert env["WANQING_NATS_NKEY_FILE"].endswith("/console.nk")
    for secret in ("WANQING_MASTER_KEY", "WANQING_MASTER_KEY_FILE", "WANQING_KEY_DIR", "WANQING_SIGNING_KEY_FILE",
                   "WANQING_TRUST_FILE", "WANQING_DATABASE_URL"):
        assert secret not in env, secret



def _record(b: Browser, rid: str, command: str, fields: dict[str, str]) -> None:
    path = f"/retirees/{rid}/record/{command}"
    reply = b.post(path, {"csrf": b.csrf_of(path), **fields})
    assert reply.status_code == HTTPStatus.SEE_OTHER, _text(reply.text)[:800]


def _hospitalised(b: Browser, rid: str, hospital: str = "区中医院") -> None:
    """In hospital (recorded now unless an earlier test of the module already did)."""
    if "尚未出院" not in _text(b.get(f"/retirees/{rid}").text):
        _record(b, rid, "RecordHospitalization", {"hospital": hospital, "admitted_on": _today(),
                                                  "severity": "serious"})


def _eventually(probe: Any, what: str, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while not (found := probe()):
        if time.monotonic() > deadline:
            pytest.fail(f"not within {seconds}s: {what}")
        time.sleep(0.3)
    return found


def test_a_new_person_gets_an_id_from_the_system(browser_for: Any) -> None:
    b: Browser = browser_for("clerk-U0001")
    token = b.csrf_of("/retirees-new")
    typed = {"csrf": token, "name": "陈淑珍", "id_number": "110105195903150021", "unit": "U0001"}
    wrong = b.post("/retirees-new", typed)  # a wrong check digit
    assert wrong.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert 'value="陈淑珍"' in wrong.text
    assert 'id="e-id_number"' in wrong.text  # the reason sits next to the ID number
    kept_id = re.search(r'name="retiree_id" value="([0-9a-f-]{36})"', wrong.text)
    assert kept_id  # the same new id is sent again with the corrected form: one person, not two
    typed |= {"id_number": make_id_number("110105", date(1959, 3, 15), 22), "retiree_id": kept_id.group(1)}
    made = b.post("/retirees-new", typed)
    assert made.status_code == HTTPStatus.SEE_OTHER
    assert made.headers["location"] == f"/retirees/{kept_id.group(1)}?done=RegisterRetiree"
    page = b.get(made.headers["location"])
    assert "陈淑珍" in page.text
    assert "登记入档" in _text(page.text)  # the history in plain Chinese


def test_opening_a_message_marks_it_read(console_platform: ConsolePlatform, browser_for: Any) -> None:
    b: Browser = browser_for("clerk-U0002")
    rid = console_platform.district.people["李志强"]
    _hospitalised(b, rid)
    inbox = _eventually(lambda: (page := b.get("/inbox")).status_code == HTTPStatus.OK and "未读" in page.text
                        and page, "a message in clerk-U0002's inbox")
    link = re.search(r'href="(/inbox/[0-9a-f-]{36})"', inbox.text)
    assert link
    message = b.get(link.group(1))
    assert message.status_code == HTTPStatus.OK
    assert "住院" in _text(message.text)
    again = _eventually(lambda: "已读" in (page := b.get("/inbox")).text and page, "the message shown as read")
    assert again.status_code == HTTPStatus.OK
    stranger: Browser = browser_for("clerk-U0001")
    assert stranger.get(link.group(1)).status_code == HTTPStatus.NOT_FOUND  # not in her inbox


def _today() -> str:
    return datetime.now(LOCAL_TZ).date().isoformat()


def test_cancelling_a_task_needs_a_reason_and_the_names_shown_are_reads_on_record(
    console_platform: ConsolePlatform, browser_for: Any,
) -> None:
    b: Browser = browser_for("clerk-U0002")
    rid = console_platform.district.people["李志强"]
    _hospitalised(b, rid)
    home = _eventually(lambda: "住院看望" in (page := b.get("/")).text and page, "李志强's visit on 今日工作")
    assert "李志强" in home.text
    reads = asyncio.run(_reads(console_platform.up.database_url, rid, "clerk-U0002", "办理关怀任务"))
    assert reads >= 1  # the name on 今日工作 was opened for a purpose, and that is on record
    task = re.search(r'href="(/tasks/[0-9a-f-]{36})"', home.text)
    assert task
    token = b.csrf_of(task.group(1))
    empty = b.post(f"{task.group(1)}/cancel", {"csrf": token, "reason": ""})
    assert empty.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "待办" in _text(empty.text)  # still open
    done = b.post(f"{task.group(1)}/cancel", {"csrf": token, "reason": "已转院至外省，由当地单位看望"})
    assert done.status_code == HTTPStatus.SEE_OTHER
    page = _text(b.get(task.group(1)).text)
    assert "已取消" in page
    assert "已转院至外省，由当地单位看望" in page


async def _reads(database_url: str, rid: str, user: str, purpose: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM profiles.read_access WHERE retiree_id = $1 "
                                       "AND user_id = $2 AND purpose = $3 AND success", rid, user, purpose))
    finally:
        await conn.close()


def test_a_head_asks_the_units_task_list_as_it_stood(console_platform: ConsolePlatform, browser_for: Any) -> None:
    clerk: Browser = browser_for("clerk-U0001")
    _hospitalised(clerk, console_platform.district.people["王秀兰"], "区人民医院")
    _eventually(lambda: "住院看望" in clerk.get("/").text, "the visit on the clerk's 今日工作")
    head: Browser = browser_for("head-U0001")
    assert "按时点查询" in head.get("/").text
    now = datetime.now(LOCAL_TZ).isoformat()  # to the microsecond: the visit was opened within this second
    page = head.get("/audit", params={"kind": "tasks", "unit": "U0001", "at": now})
    assert page.status_code == HTTPStatus.OK
    assert "住院看望" in _text(page.text), _text(page.text)[:800]
    before = head.get("/audit?kind=tasks&unit=U0001&at=2001-01-01T09:00")
    assert before.status_code == HTTPStatus.OK
    assert "住院看望" not in _text(before.text)  # nothing was owed in 2001
    other = head.get("/audit", params={"kind": "tasks", "unit": "U0002", "at": now})
    assert "无权" in _text(other.text)


def test_zz_a_unit_head_sees_the_units_escalated_tasks(console_platform: ConsolePlatform,
                                                       browser_for: Any) -> None:
    """Last in the module: it moves the platform's clock 4½ days on (a hospital visit is due in 3 days and goes to
    the unit head a day after), and gives it back to real time at the end.
    """
    clerk: Browser = browser_for("clerk-U0001")
    rid = console_platform.district.people["王秀兰"]
    _hospitalised(clerk, rid, "区人民医院")
    _eventually(lambda: "住院看望" in clerk.get("/").text, "the visit on the clerk's 今日工作")
    asyncio.run(_move_clock(console_platform.up.database_url, hours=108))
    try:
        head: Browser = browser_for("head-U0001")
        home = _eventually(lambda: "本单位被督办的任务" in (page := head.get("/")).text and page,
                           "the escalated visit on the head's 今日工作", seconds=45)
        escalated = _text(home.text).split("本单位被督办的任务", 1)[1].split("已逾期", 1)[0]
        assert "王秀兰" in escalated
        assert "住院看望" in escalated
        assert "已督办至单位负责人" in _text(home.text)
        mine = _text(clerk.get("/").text)
        assert "王秀兰" in mine.split("已逾期", 2)[2].split("今天到期", 1)[0]  # overdue on the clerk's page
        assert "本单位被督办的任务" not in mine  # a clerk has no oversight list
    finally:
        asyncio.run(_move_clock(console_platform.up.database_url, hours=None))


async def _move_clock(database_url: str, hours: float | None) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await set_platform_time(conn, None if hours is None else datetime.now(UTC) + timedelta(hours=hours))
    finally:
        await conn.close()
