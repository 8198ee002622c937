"""我的页面: a retiree's own pages (mobile-first, large text, few choices), and the login-code letter staff print.

A retiree logs in with the code of the letter their unit printed (identity `RetireeLogin`); the session opens
only `/me...` (web.current). They see their notices, answer their ceremony invitation, see their care contact
and download their certificate, and choose how they are told. Every page asks the services with the person's
own credential, and each service answers only what is theirs.

Staff print the letter from a person's page: the console makes the code (`<8 letters>-<12 digits>`), identity
keeps only its hash, and the code is printed once in the PDF, never stored here.
"""

from __future__ import annotations

import base64
import io
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from backbone.fonts import register_font
from contracts.base import LOCAL_TZ, Refused
from contracts.identity import letter_code_text, new_letter_code
from contracts.notify import ChannelName
from edge.console.auth_pages import logged_in, login_page
from edge.console.sessions import COOKIE, ConsoleSession
from edge.console.web import checked_form, console, current, data, render, see_other

router = APIRouter()
Session = Annotated[ConsoleSession, Depends(current)]
CHANNELS_ZH = {ChannelName.INBOX: "平台站内信", ChannelName.SMS: "手机短信", ChannelName.EMAIL: "电子邮件",
               ChannelName.WECOM: "企业微信"}
CERTIFICATE_PURPOSE = "本人下载退休证"


def _me(session: ConsoleSession) -> str:
    rid = session.actor.retiree_id
    assert rid is not None, "web.current opens /me only to a retiree's session"
    return rid


@router.get("/me/login", response_class=HTMLResponse)
async def show_login(request: Request) -> HTMLResponse:
    return login_page(request, template="me_login.html")


@router.post("/me/login", response_model=None)
async def do_login(request: Request) -> Response:
    form = await checked_form(request)
    code = form.get("code", "").strip()
    if not code:
        return login_page(request, 422, template="me_login.html", message="请输入登录码信上的登录码")
    reply = await console(request).bus.auth("RetireeLogin", {"code": code})
    if not reply.get("ok"):
        return login_page(request, 401, template="me_login.html", message=str(reply.get("message")))
    return logged_in(request, reply, "/me", "")


async def _ask(request: Request, session: ConsoleSession, service: str, name: str, body: dict[str, Any]) -> Any:
    reply = await console(request).bus.query(session.credentials, service, name, body)
    return None if isinstance(reply, Refused) else reply.data


@router.get("/me", response_class=HTMLResponse)
async def home(request: Request, session: Session, done: str = "") -> HTMLResponse:
    rid = _me(session)
    person = data(await console(request).bus.query(session.credentials, "profiles", "GetRetiree",
                                                   {"retiree_id": rid}))
    inbox = await _ask(request, session, "notify", "ListInbox", {"recipient": f"retiree:{rid}", "limit": 20})
    case = await _ask(request, session, "ceremony", "GetCase", {"retiree_id": rid})
    contact = await _ask(request, session, "profiles", "GetCareContact", {"retiree_id": rid})
    messages = inbox.get("messages", inbox) if isinstance(inbox, dict) else (inbox or [])
    return render(request, "me_home.html", person=person, messages=messages, case=case, contact=contact, done=done)


@router.post("/me/logout", response_model=None)
async def logout(request: Request, session: Session) -> Response:
    await checked_form(request, session)
    console(request).sessions.end(session.token)
    await console(request).bus.auth("Logout", {"session": session.token})
    response = see_other("/me/login")
    response.delete_cookie(COOKIE, path="/")
    return response


@router.post("/me/consent", response_model=None)
async def consent(request: Request, session: Session) -> Response:
    form = await checked_form(request, session)
    rid = _me(session)
    if form.get("answer") == "give":
        name, body = "GiveConsent", {"retiree_id": rid}
    else:
        reason = form.get("reason", "").strip() or "本人不愿举办"
        name, body = "DeclineConsent", {"retiree_id": rid, "reason": reason[:200]}
    reply = await console(request).bus.command(session.credentials, "ceremony", name, body)
    if isinstance(reply, Refused):
        return see_other(f"/me?done={quote(reply.message)}")
    thanks = "您的意愿已告知单位" if name == "DeclineConsent" else "谢谢，单位将与您商定仪式安排"
    return see_other("/me?done=" + quote(thanks))


@router.post("/me/certificate", response_model=None)
async def certificate(request: Request, session: Session) -> Response:
    await checked_form(request, session)
    doc = data(await console(request).bus.query(session.credentials, "ceremony", "GetDocument", {
        "retiree_id": _me(session), "kind": "certificate", "purpose": CERTIFICATE_PURPOSE}))
    return Response(base64.b64decode(doc["content_base64"]), media_type="application/pdf", headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(doc['filename'])}"})


@router.get("/me/preferences", response_class=HTMLResponse)
async def preferences(request: Request, _session: Session, done: str = "") -> HTMLResponse:
    return render(request, "me_preferences.html", channels=CHANNELS_ZH, done=done)


@router.post("/me/preferences", response_model=None)
async def set_preferences(request: Request, session: Session) -> Response:
    form = await checked_form(request, session)
    chosen = [c.value for c in CHANNELS_ZH if form.get(c.value)]
    if not chosen:
        return render(request, "me_preferences.html", 422, channels=CHANNELS_ZH, message="请至少选择一种方式")
    bus, recipient = console(request).bus, f"retiree:{_me(session)}"
    reply = await bus.command(session.credentials, "notify", "SetChannelPreference",
                              {"recipient": recipient, "channels": chosen})
    start, end = form.get("quiet_start", "").strip(), form.get("quiet_end", "").strip()
    if not isinstance(reply, Refused) and start and end:  # 免打扰时段, Beijing time
        reply = await bus.command(session.credentials, "notify", "SetQuietHours",
                                  {"recipient": recipient, "start": start, "end": end})
    if isinstance(reply, Refused):
        return render(request, "me_preferences.html", 422, channels=CHANNELS_ZH, message=reply.message)
    return see_other("/me/preferences?done=" + quote("已保存"))


# --------------------------------------------------------------------- the letter, printed by staff


def letter_pdf(name: str, unit_name: str, code: str, url: str, expires_at: str) -> bytes:
    font = register_font()
    buffer = io.BytesIO()
    page = Canvas(buffer, pagesize=A4)
    page.setTitle("登录码信")  # never the person's name (docs/privacy.md)
    width, height = A4
    y = height - 35 * mm
    page.setFont(font, 24)
    page.drawCentredString(width / 2, y, "登录码信")
    page.setFont(font, 15)
    lines = [f"{name}同志：", "", "您可以用手机或电脑打开下面的网址，输入登录码，查看单位发给您的通知、",
             "答复荣誉退休仪式的邀请、找到您的联系人、下载您的退休证。", "", f"网址：{url}", ""]
    for line in lines:
        y -= 11 * mm
        page.drawString(22 * mm, y, line)
    y -= 14 * mm
    page.setFont(font, 26)
    page.drawCentredString(width / 2, y, f"登录码：{code}")
    page.setFont(font, 13)
    for line in ("", "请妥善保管本信，不要告诉他人。连续输错五次，本信作废，请联系单位重新打印。",
                 f"本登录码有效期至 {expires_at}（北京时间）。重新打印后，旧的登录码即作废。", "", unit_name):
        y -= 10 * mm
        page.drawString(22 * mm, y, line)
    page.showPage()
    page.save()
    return buffer.getvalue()


@router.post("/retirees/{retiree_id}/login-letter", response_model=None)
async def print_letter(request: Request, retiree_id: str, session: Session) -> Response:
    """A unit's staff print a new letter (the person's earlier letters end)."""
    await checked_form(request, session)
    bus = console(request).bus
    letter_id, secret = new_letter_code()
    reply = await bus.command(session.credentials, "identity", "IssueLoginLetter",
                              {"retiree_id": retiree_id, "letter_id": letter_id, "secret": secret})
    if isinstance(reply, Refused):
        return render(request, "refused.html", 403 if reply.code.value == "forbidden" else 422,
                      title="无法打印登录码信", refusal=reply)
    card = data(await bus.query(session.credentials, "profiles", "GetRetiree",
                                {"retiree_id": retiree_id}))
    units = data(await bus.query(session.credentials, "profiles", "ListUnits", {}))
    unit_name = next((u["name"] for u in units if u["code"] == card["unit"]), card["unit"])
    code = letter_code_text(letter_id, secret)
    url = str(request.base_url).rstrip("/") + "/me/login"
    expires_at = (reply.summary or {}).get("expires_at")
    expires = datetime.fromisoformat(str(expires_at)).astimezone(LOCAL_TZ).date().isoformat() if expires_at else ""
    pdf = letter_pdf(str(card["name"]), unit_name, code, url, expires)
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote('登录码信.pdf')}", "Cache-Control": "no-store"})
