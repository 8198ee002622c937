"""What every page shares: the templates, the logged-in person, CSRF-checked forms, and refusals as pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from contracts.base import Actor, Answer, Refused, Role
from contracts.errors import ErrorCode
from edge.console.bus import Bus
from edge.console.labels import FILTERS, ROLE_ZH
from edge.console.sessions import COOKIE, ConsoleSession, Sessions
from edge.console.settings import ConsoleSettings

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")
TEMPLATES.env.filters.update(FILTERS)
TEMPLATES.env.globals["ROLE_ZH"] = ROLE_ZH

STATUS = {ErrorCode.FORBIDDEN: 403, ErrorCode.NOT_FOUND: 404, ErrorCode.UNAVAILABLE: 503,
          ErrorCode.VALIDATION: 422, ErrorCode.CONFLICT: 409}
TITLE = {ErrorCode.FORBIDDEN: "无权访问", ErrorCode.NOT_FOUND: "没有找到", ErrorCode.UNAVAILABLE: "暂时无法处理",
         ErrorCode.VALIDATION: "内容有误", ErrorCode.CONFLICT: "与已有记录冲突"}


class LoginNeededError(Exception):
    """No live session: a page sends the person to log in (a form keeps what was typed)."""

    def __init__(self, user: str | None = None) -> None:
        super().__init__("login needed")
        self.user = user


ME_PREFIX = "/me"  # a retiree's own pages (edge/console/me_pages.py)


class WrongPagesError(Exception):
    """A session on the other side's pages (a retiree on staff pages, or the reverse): sent to its own home."""

    def __init__(self, home: str) -> None:
        super().__init__(home)
        self.home = home


class CsrfError(Exception):
    """A form without this session's token: not sent by our page (or from a page of an earlier session)."""


class RefusedError(Exception):
    """A query's refusal shown as a page of its own (403, 404, 503)."""

    def __init__(self, refusal: Refused) -> None:
        super().__init__(refusal.developer_message or refusal.message)
        self.refusal = refusal


@dataclass
class Console:
    settings: ConsoleSettings
    bus: Bus
    sessions: Sessions


def console(request: Request) -> Console:
    value: Console = request.app.state.console
    return value


async def current(request: Request) -> ConsoleSession:
    """The logged-in person of this request, or LoginNeededError.

    A token this console does not know (it was restarted) is asked of identity once: a live session is taken
    up again; one that ended here (idle, logged out) never is, and is logged out at identity.
    """
    app = console(request)
    token = request.cookies.get(COOKIE)
    session = app.sessions.get(token)
    if session is None and token:
        ended = app.sessions.ended_user(token)
        if ended is not None:
            await app.bus.auth("Logout", {"session": token})
            raise LoginNeededError(ended)
        reply = await app.bus.auth("Refresh", {"session": token})
        if not reply.get("ok"):
            raise LoginNeededError
        actor = Actor.model_validate(reply["actor"])
        limit = reply.get("session_expires_at") or (datetime.now(UTC) + timedelta(hours=12)).isoformat()
        session = app.sessions.start(token, actor, datetime.fromisoformat(str(limit)))
    if session is None:
        raise LoginNeededError
    request.state.session = session
    # A retiree's session opens their own pages only (/me); a staff session never opens those.
    if (session.actor.role is Role.RETIREE) != request.url.path.startswith(ME_PREFIX):
        raise WrongPagesError("/me" if session.actor.role is Role.RETIREE else "/")
    return session


async def checked_form(request: Request, session: ConsoleSession | None = None) -> dict[str, str]:
    """The posted form, after its CSRF token was checked against this session (or the pre-login cookie)."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    binding = session.token if session is not None else request.cookies.get("wanqing_login")
    if not console(request).sessions.csrf_ok(binding, form.get("csrf")):
        raise CsrfError
    return form


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    session: ConsoleSession | None = getattr(request.state, "session", None)
    csrf = console(request).sessions.csrf(session.token) if session is not None else context.pop("csrf", "")
    return TEMPLATES.TemplateResponse(request, template, {"me": session.actor if session else None,
                                                           "csrf": csrf, **context}, status_code=status)


def refusal_page(request: Request, refusal: Refused) -> HTMLResponse:
    return render(request, "refused.html", STATUS.get(refusal.code, 400), title=TITLE.get(refusal.code, "无法办理"),
                  refusal=refusal)


def data(reply: Answer | Refused) -> Any:
    """A query's data, or RefusedError (shown as its own page)."""
    if isinstance(reply, Refused):
        raise RefusedError(reply)
    return reply.data


def see_other(url: str) -> Response:
    return Response(status_code=303, headers={"Location": url})
