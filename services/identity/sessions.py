"""Sessions: a random token the client keeps (only its SHA-256 is stored), ending when idle, at its maximum
age, on logout, or when revoked. Wall-clock times throughout.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from backbone.db import Connection
from services.identity.account import LoginPolicy

TOKEN_BYTES = 32


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class Session:
    session_id: UUID
    user: str
    expires_at: datetime


async def open_session(  # noqa: PLR0913 - a session's facts
    conn: Connection, session_id: UUID, user: str, client: str, *, now: datetime, policy: LoginPolicy,
) -> tuple[str, datetime]:
    """A new session's token (shown once, to the client) and its absolute expiry."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    expires = now + policy.session_max
    await conn.execute(
        "INSERT INTO identity.sessions (session_id, token_sha256, user_id, client, created_at, last_used_at, "
        "expires_at) VALUES ($1, $2, $3, $4, $5, $5, $6)", session_id, digest(token), user, client, now, expires)
    return token, expires


async def live_session(conn: Connection, token: str, now: datetime, policy: LoginPolicy) -> Session | None:
    """The session a token opens, used now (idle time restarts); None if unknown, ended, idle or too old."""
    row = await conn.fetchrow(
        "UPDATE identity.sessions SET last_used_at = $2 WHERE token_sha256 = $1 AND revoked_at IS NULL "
        "AND expires_at > $2 AND last_used_at > $3 RETURNING session_id, user_id, expires_at",
        digest(token), now, now - policy.session_idle)
    return Session(row["session_id"], row["user_id"], row["expires_at"]) if row else None


async def find(conn: Connection, token: str) -> Session | None:
    row = await conn.fetchrow("SELECT session_id, user_id, expires_at FROM identity.sessions "
                              "WHERE token_sha256 = $1 AND revoked_at IS NULL", digest(token))
    return Session(row["session_id"], row["user_id"], row["expires_at"]) if row else None


async def open_count(conn: Connection, user: str, now: datetime) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM identity.sessions WHERE user_id = $1 "
                                     "AND revoked_at IS NULL AND expires_at > $2", user, now)
    return count


async def revoke_all(conn: Connection, user: str, now: datetime) -> int:
    result: str = await conn.execute("UPDATE identity.sessions SET revoked_at = $2 WHERE user_id = $1 "
                                     "AND revoked_at IS NULL", user, now)
    return int(result.rsplit(" ", 1)[-1])


async def revoke(conn: Connection, session_id: UUID, now: datetime) -> None:
    await conn.execute("UPDATE identity.sessions SET revoked_at = $2 WHERE session_id = $1 AND revoked_at IS NULL",
                       session_id, now)


def new_session_id() -> UUID:
    return uuid.uuid4()
