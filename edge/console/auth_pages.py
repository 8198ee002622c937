"""登录 / 修改密码 / 退出: with identity; the cookie is identity's session token, nothing else."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from contracts.base import Actor
from edge.console.sessions import COOKIE, PRE_COOKIE, ConsoleSession, new_pre_login
from edge.console.web import checked_form, console, current, render, see_other

router = APIRouter()
MUST_CHANGE = "must_change_password"


def safe_next(value: str | None) -> str:
    """Only a path of this console (no scheme, no other host): a login link cannot send anyone elsewhere."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def login_page(request: Request, status: int = 200, template: str = "login.html", **context: object) -> HTMLResponse:
    pre = request.cookies.get(PRE_COOKIE) or new_pre_login()
    response = render(request, template, status, csrf=console(request).sessions.csrf(pre), **context)
    response.set_cookie(PRE_COOKIE, pre, httponly=True, secure=console(request).settings.console_cookie_secure,
                        samesite="strict", path="/")
    return response


@router.get("/login", response_class=HTMLResponse)
async def show_login(request: Request, next: str | None = None, draft: str | None = None) -> HTMLResponse:  # noqa: A002 - the query parameter's name
    return login_page(request, next=safe_next(next), draft=draft or "", user="")


@router.post("/login", response_model=None)
async def do_login(request: Request) -> Response:
    form = await checked_form(request)
    user, password = form.get("user", "").strip(), form.get("password", "")
    target, draft = safe_next(form.get("next")), form.get("draft", "")
    if not user or not password:
        return login_page(request, 422, next=target, draft=draft, user=user, message="请输入账号和密码")
    reply = await console(request).bus.auth("Login", {"user": user, "password": password, "client": "console"})
    if not reply.get("ok"):
        if (reply.get("details") or {}).get("reason") == MUST_CHANGE:
            return render(request, "change_password.html", csrf=console(request).sessions.csrf(
                request.cookies.get(PRE_COOKIE) or ""), user=user, next=target, draft=draft,
                message="您的密码是临时密码，请先设置新密码")
        return login_page(request, 401, next=target, draft=draft, user=user, message=str(reply.get("message")))
    return logged_in(request, reply, target, draft)


def logged_in(request: Request, reply: dict[str, object], target: str, draft: str) -> Response:
    sessions = console(request).sessions
    actor = Actor.model_validate(reply["actor"])
    token = str(reply["session"])
    sessions.start(token, actor, datetime.fromisoformat(str(reply["session_expires_at"])))
    if draft and sessions.draft_user(draft) == actor.user and sessions.draft_path(draft) == target:
        target = f"{target}{'&' if '?' in target else '?'}draft={draft}"
    response = see_other(target)
    response.set_cookie(COOKIE, token, httponly=True, secure=console(request).settings.console_cookie_secure,
                        samesite="strict", path="/")
    response.delete_cookie(PRE_COOKIE, path="/")
    return response


@router.post("/change-password", response_model=None)
async def change_password(request: Request) -> Response:
    form = await checked_form(request)
    user, old, new = form.get("user", ""), form.get("old_password", ""), form.get("new_password", "")
    target, draft = safe_next(form.get("next")), form.get("draft", "")
    csrf = console(request).sessions.csrf(request.cookies.get(PRE_COOKIE) or "")
    if new != form.get("new_password_again", ""):
        return render(request, "change_password.html", 422, csrf=csrf, user=user, next=target, draft=draft,
                      message="两次输入的新密码不一致")
    bus = console(request).bus
    changed = await bus.auth("ChangePassword", {"user": user, "old_password": old, "new_password": new})
    if not changed.get("ok"):
        return render(request, "change_password.html", 422, csrf=csrf, user=user, next=target, draft=draft,
                      message=str(changed.get("message")))
    reply = await bus.auth("Login", {"user": user, "password": new, "client": "console"})
    if not reply.get("ok"):
        return login_page(request, 401, next=target, draft=draft, user=user, message=str(reply.get("message")))
    return logged_in(request, reply, target, draft)


@router.post("/logout", response_model=None)
async def logout(request: Request, session: Annotated[ConsoleSession, Depends(current)]) -> Response:
    await checked_form(request, session)
    console(request).sessions.end(session.token)
    await console(request).bus.auth("Logout", {"session": session.token})
    response = see_other("/login")
    response.delete_cookie(COOKIE, path="/")
    return response
