"""Who a recipient is and how to reach them, at send time.

Retirees' contacts come from profiles' GetRetiree query (audited there, purpose 发送通知) and live only in
memory for the one send; they are never stored here.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import nats.errors
from nats.aio.client import Client
from pydantic import TypeAdapter, ValidationError

from backbone.db import Connection
from contracts import subjects
from contracts.base import Answer, QueryReply, Refused
from contracts.errors import ErrorCode
from contracts.profiles import RetireeCard, RetireeStatus
from services.notify.channels import PermanentFailure, TransientFailure

PROFILES_ACTOR = {"user": "notify", "role": "system", "unit": "DISTRICT"}
PURPOSE = "发送通知"
REPLY: TypeAdapter[Answer | Refused] = TypeAdapter(QueryReply)


@dataclass(frozen=True)
class Contact:
    name: str | None
    email: str | None = None
    phone: str | None = None
    gone: str | None = None  # "deceased" / "erased": never message this person


async def staff_contact(conn: Connection, user: str) -> Contact | None:
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
        try:
            reply = REPLY.validate_json(msg.data)
            if isinstance(reply, Refused):
                if reply.code is ErrorCode.UNAVAILABLE:
                    raise TransientFailure(f"profiles: {reply.message}")
                raise PermanentFailure(f"profiles refused GetRetiree: {reply.code.value}: {reply.message}")
            card = RetireeCard.model_validate(reply.data)
        except ValidationError as exc:
            raise PermanentFailure(f"profiles' answer was not understood: {exc}") from exc
        gone = "erased" if card.erased else ("deceased" if card.status is RetireeStatus.DECEASED else None)
        return Contact(name=card.name, phone=card.phone, gone=gone)
