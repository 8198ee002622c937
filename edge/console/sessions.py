"""Browser sessions: the cookie holds identity's session token (HttpOnly, Secure, SameSite=Strict); the console
keeps, per token, the person and their short-lived credential (renewed by identity), and forgets a session idle
longer than `console_idle_s`. A console restart loses nothing: an unknown token is asked of identity again.

Forms carry a CSRF token bound to the session (an HMAC under the console's own key), so another site cannot
make a logged-in browser send a command. What was typed into a form whose session had expired is kept as a
draft for the same person, so nothing typed is lost by logging in again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.base import Actor
from wanqing.access import SessionCredentials

COOKIE = "wanqing_session"
PRE_COOKIE = "wanqing_login"  # before a login: binds the login form's CSRF token to this browser
DRAFT_TTL_S = 1800.0


@dataclass
class ConsoleSession:
    token: str
    actor: Actor
    expires_at: datetime  # identity's limit of the session
    credentials: SessionCredentials
    last_seen: float = field(default_factory=time.monotonic)


@dataclass
class Draft:
    path: str
    user: str
    fields: dict[str, str]
    made: float = field(default_factory=time.monotonic)


class Sessions:
    def __init__(self, secret: bytes, idle: timedelta) -> None:
        self._secret = secret
        self._idle_s = idle.total_seconds()
        self._live: dict[str, ConsoleSession] = {}
        self._ended: dict[str, str] = {}  # token -> user, of sessions ended here (idle, logged out)
        self._drafts: dict[str, Draft] = {}

    def start(self, token: str, actor: Actor, expires_at: datetime) -> ConsoleSession:
        session = ConsoleSession(token, actor, expires_at, SessionCredentials(session=token, actor=actor))
        self._live[token] = session
        return session

    def get(self, token: str | None) -> ConsoleSession | None:
        """The live session of this token; None (and ended) when idle too long or past identity's limit."""
        if not token:
            return None
        session = self._live.get(token)
        if session is None:
            return None
        now = time.monotonic()
        if now - session.last_seen > self._idle_s or datetime.now(UTC) >= session.expires_at:
            self.end(token)
            return None
        session.last_seen = now
        return session

    def end(self, token: str | None) -> ConsoleSession | None:
        session = self._live.pop(token, None) if token else None
        if session is not None:
            self._ended[session.token] = session.actor.user
        return session

    def ended_user(self, token: str | None) -> str | None:
        """Whose session this token was, if it ended here (it is never taken up again)."""
        return self._ended.get(token) if token else None

    # --- CSRF ---------------------------------------------------------------------------------------------

    def csrf(self, binding: str) -> str:
        return hmac.new(self._secret, f"csrf:{binding}".encode(), hashlib.sha256).hexdigest()[:40]

    def csrf_ok(self, binding: str | None, token: str | None) -> bool:
        return bool(binding) and bool(token) and hmac.compare_digest(self.csrf(binding or ""), token or "")

    # --- drafts -------------------------------------------------------------------------------------------

    def keep_draft(self, path: str, user: str, fields: dict[str, Any]) -> str:
        self._forget_old_drafts()
        key = secrets.token_urlsafe(16)
        kept = {k: str(v) for k, v in fields.items() if k != "csrf"}
        self._drafts[key] = Draft(path, user, kept)
        return key

    def take_draft(self, key: str | None, path: str, user: str) -> dict[str, str] | None:
        """The fields kept for this form and person (once); another person's draft is dropped unseen."""
        self._forget_old_drafts()
        draft = self._drafts.pop(key, None) if key else None
        if draft is None or draft.path != path or draft.user != user:
            return None
        return draft.fields

    def draft_user(self, key: str | None) -> str | None:
        draft = self._drafts.get(key) if key else None
        return draft.user if draft else None

    def draft_path(self, key: str | None) -> str | None:
        draft = self._drafts.get(key) if key else None
        return draft.path if draft else None

    def _forget_old_drafts(self) -> None:
        now = time.monotonic()
        for key in [k for k, d in self._drafts.items() if now - d.made > DRAFT_TTL_S]:
            del self._drafts[key]


def new_pre_login() -> str:
    return secrets.token_urlsafe(24)
