"""Who a recipient is and how to reach them, at send time.

Retirees' contacts come from profiles' GetRetiree query (audited there, purpose 发送通知) and live only in
memory for the one send; they are never stored here.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
import nats.errors
from nats.aio.client import Client

from contracts import subjects
from services.notify.channels import PermanentFailure, TransientFailure

PROFILES_ACTOR = {"user": "notify", "role": "system", "unit": "DISTRICT"}
PURPOSE = "发送通知"


@dataclass(frozen=True)
class Contact:
    name: str | None
    email: str | None = None
    phone: str | None = None
    gone: str | None = None  # "deceased" / "erased": never message this person


async def staff_contact(conn: asyncpg.Connection, user: str) -> Contact | None:
    row = await conn.fetchrow("SELECT name, email, phone FROM notify.staff WHERE user_id = $1 AND active", user)
    return Contact(name=row["name"], email=row["email"], phone=row["phone"]) if row else None


class ProfilesContacts:
    """Asks profiles over NATS; a missing or slow profiles is transient, an unknown retiree is permanent."""

    def __init__(self, connection: Callable[[], Client | None], timeout_s: float = 5.0) -> None:
        self._connection = connection
        self._timeout = timeout_s

    async def retiree(self, retiree_id: uuid.UUID, *, reveal_phone: bool) -> Contact:
        nc = self._connection()
        if nc is None or not nc.is_connected:
            raise TransientFailure("no NATS connection to ask profiles")
        body = {"actor": PROFILES_ACTOR, "retiree_id": str(retiree_id),
                "reveal": ["phone"] if reveal_phone else [], "purpose": PURPOSE}
        try:
            msg = await nc.request(subjects.query("profiles", "GetRetiree"), json.dumps(body).encode(),
                                   timeout=self._timeout)
        except (nats.errors.NoRespondersError, nats.errors.TimeoutError) as exc:
            raise TransientFailure(f"profiles did not answer: {type(exc).__name__}") from exc
        reply = json.loads(msg.data)
        if not reply.get("ok"):
            if reply.get("code") == "unavailable":
                raise TransientFailure(f"profiles: {reply.get('message')}")
            raise PermanentFailure(f"profiles refused GetRetiree: {reply.get('code')}: {reply.get('message')}")
        data = reply["data"]
        gone = "erased" if data.get("erased") else ("deceased" if data.get("status") == "deceased" else None)
        return Contact(name=data.get("name"), phone=data.get("phone"), gone=gone)
