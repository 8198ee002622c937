"""The console's composition root: the web app, its NATS connection, its sessions; `python -m edge.console`."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from urllib.parse import quote

import structlog
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.base import RequestResponseEndpoint

from backbone import logs
from edge.console import (
    assistance_pages,
    audit_pages,
    auth_pages,
    campaign_pages,
    ceremony_pages,
    district_pages,
    me_pages,
    print_pages,
    retiree_pages,
    roster_pages,
    work_pages,
)
from edge.console.bus import Bus
from edge.console.sessions import COOKIE, Sessions
from edge.console.settings import ConsoleSettings
from edge.console.web import (
    HERE,
    ME_PREFIX,
    Console,
    CsrfError,
    LoginNeededError,
    RefusedError,
    WrongPagesError,
    refusal_page,
    render,
)
from wanqing.access import AccessError

log = structlog.get_logger("console")

# Pages hold personal data: never cached, never framed, no script or style from anywhere but here.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _secret(settings: ConsoleSettings) -> bytes:
    if settings.console_secret_file is not None:
        return settings.console_secret_file.read_bytes().strip()
    log.warning("console_secret_ephemeral", why="no WANQING_CONSOLE_SECRET_FILE: forms of before a restart fail")
    return secrets.token_bytes(32)


def create_app(settings: ConsoleSettings) -> FastAPI:  # noqa: C901 - one handler per exception a page raises
    bus = Bus(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await bus.connect()
        log.info("console_started", url=f"http://{settings.console_host}:{settings.console_port}/")
        yield
        await bus.close()

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.console = Console(settings, bus, Sessions(_secret(settings), timedelta(seconds=settings.console_idle_s)))
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for module in (auth_pages, work_pages, retiree_pages, roster_pages, audit_pages, ceremony_pages, print_pages,
                   district_pages, campaign_pages, assistance_pages, me_pages):
        app.include_router(module.router)

    @app.get("/health", include_in_schema=False)
    async def health() -> Response:
        """200 while the console is connected to NATS (the supervisor's readiness check)."""
        connected = bus.connected
        return Response('{"ok": true}' if connected else '{"ok": false}', status_code=200 if connected else 503,
                        media_type="application/json")

    @app.middleware("http")
    async def security_headers(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(LoginNeededError)
    async def login_needed(request: Request, exc: LoginNeededError) -> Response:
        return await _login_needed(request, exc.user)

    @app.exception_handler(AccessError)
    async def session_ended(request: Request, _exc: AccessError) -> Response:
        ended = app.state.console.sessions.end(request.cookies.get(COOKIE))
        return await _login_needed(request, ended.actor.user if ended else None)

    @app.exception_handler(CsrfError)
    async def csrf_refused(request: Request, _exc: CsrfError) -> HTMLResponse:
        return render(request, "refused.html", 403, title="页面已过期", refusal=None,
                      text="此页面已过期或不是从本系统提交的，请返回重新打开页面后再提交。")

    @app.exception_handler(WrongPagesError)
    async def wrong_pages(_request: Request, exc: WrongPagesError) -> Response:
        return Response(status_code=303, headers={"Location": exc.home})

    @app.exception_handler(RefusedError)
    async def refused(request: Request, exc: RefusedError) -> HTMLResponse:
        return refusal_page(request, exc.refusal)

    return app


async def _login_needed(request: Request, user: str | None) -> Response:
    """A page asks to log in; a form sent after the session ended keeps what was typed for the same person."""
    from edge.console.auth_pages import login_page  # noqa: PLC0415 - the auth pages import web, which we extend

    path = request.url.path
    if path.startswith(ME_PREFIX):  # a retiree logs in again with their letter's code
        response = Response(status_code=303, headers={"Location": "/me/login"})
        response.delete_cookie(COOKIE, path="/")
        return response
    if request.method != "POST":
        target = path + (f"?{request.url.query}" if request.url.query else "")
        response = Response(status_code=303, headers={"Location": f"/login?next={quote(target)}"})
        response.delete_cookie(COOKIE, path="/")
        return response
    draft = ""
    if user is not None:
        fields = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        draft = request.app.state.console.sessions.keep_draft(_form_page_of(path), user, fields)
    message = "登录已超时，请重新登录。" + ("您填写的内容已保留，登录后可核对并提交。" if draft else "")
    response = login_page(request, 401, next=_form_page_of(path), draft=draft, user=user or "", message=message)
    response.delete_cookie(COOKIE, path="/")
    return response


def _form_page_of(post_path: str) -> str:
    """The page whose form posts to this path (a task's forms live on the task's page)."""
    for suffix in ("/complete", "/assign", "/cancel"):
        if post_path.startswith("/tasks/") and post_path.endswith(suffix):
            return post_path.removesuffix(suffix)
    return post_path


def main() -> None:
    settings = ConsoleSettings()
    logs.configure(settings.log_format, settings.log_level, service="console")
    config = uvicorn.Config(create_app(settings), host=settings.console_host, port=settings.console_port,
                            log_level="warning", access_log=False, proxy_headers=False)
    asyncio.run(uvicorn.Server(config).serve())
