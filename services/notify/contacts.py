"""Who a recipient is and how to reach them, at send time.

Retirees' contacts come from profiles' GetRetiree query (audited there, purpose 发送通知) and live only in
memory for the one send; they are never stored here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from pydantic import ValidationError

from backbone.asking import Asker, PeerUnavailable
from backbone.db import Connection
from contracts.base import Refused
from contracts.errors import ErrorCode
from contracts.profiles import RetireeCard, RetireeStatus
from services.notify.channels import PermanentFailure, TransientFailure

PURPOSE = "发送通知"


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
    """Asks profiles as notify; a missing or slow profiles is transient, an unknown retiree is permanent."""

    def __init__(self, asker: Asker) -> None:
        self._asker = asker

    async def retiree(self, retiree_id: uuid.UUID, *, reveal_phone: bool) -> Contact:
        body = {"retiree_id": str(retiree_id), "reveal": ["phone"] if reveal_phone else [], "purpose": PURPOSE}
        try:
            reply = await self._asker.query("profiles", "GetRetiree", body)
        except PeerUnavailable as exc:
            raise TransientFailure(str(exc)) from exc
        except ValidationError as exc:
            raise PermanentFailure(f"profiles' answer was not understood: {exc}") from exc
        if isinstance(reply, Refused):
            if reply.code is ErrorCode.UNAVAILABLE:
                raise TransientFailure(f"profiles: {reply.developer_message}")
            raise PermanentFailure(f"profiles refused GetRetiree: {reply.code.value}: {reply.developer_message}")
        try:
            card = RetireeCard.model_validate(reply.data)
        except ValidationError as exc:
            raise PermanentFailure(f"profiles' answer was not understood: {exc}") from exc
        gone = "erased" if card.erased else ("deceased" if card.status is RetireeStatus.DECEASED else None)
        return Contact(name=card.name, phone=card.phone, gone=gone)
