"""A recipient's in-app inbox (站内信): reading it, and marking a message read (pure decider, then its row)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from backbone.db import Connection, row_to_json
from backbone.events import EventMeta, Routes
from contracts.base import Event
from contracts.errors import forbidden, not_found
from contracts.notify import InboxMessageRead, ListInbox, MarkRead
from services.notify.recipients import may_manage


@dataclass(frozen=True)
class Message:
    """An inbox message as MarkRead needs it: whose it is, and whether it was read."""

    message_id: UUID
    recipient: str
    read: bool


def decide_mark_read(cmd: MarkRead, message: Message | None) -> list[Event]:
    """Only the recipient (or the district office) reads a message; reading it again changes nothing."""
    if message is None:
        raise not_found(f"no inbox message {cmd.message_id}", zh="找不到这条站内信")
    if not may_manage(cmd.actor, message.recipient):
        raise forbidden(f"{cmd.actor.user} may not read {message.recipient}'s inbox", zh="只能查看本人的站内信")
    if message.read:
        return []
    return [InboxMessageRead(message_id=cmd.message_id, recipient=message.recipient, read_by=cmd.actor.user)]


async def message(conn: Connection, message_id: UUID) -> Message | None:
    row = await conn.fetchrow("SELECT recipient, read_at FROM notify.inbox_messages WHERE message_id = $1",
                              message_id)
    return Message(message_id, row["recipient"], row["read_at"] is not None) if row else None


async def message_read(conn: Connection, event: InboxMessageRead, meta: EventMeta) -> None:
    await conn.execute("UPDATE notify.inbox_messages SET read_at = $2 WHERE message_id = $1", event.message_id,
                       meta.occurred_at)


PROJECTION = Routes.of({InboxMessageRead: message_read})


async def list_inbox(conn: Connection, q: ListInbox, _now: datetime) -> list[Any]:
    if not may_manage(q.actor, q.recipient):
        raise forbidden(f"{q.actor.user} may not read {q.recipient}'s inbox", zh="只能查看本人的站内信")
    rows = await conn.fetch(
        "SELECT message_id, subject, body, rule, created_at, read_at FROM notify.inbox_messages "
        "WHERE recipient = $1 AND (NOT $2 OR read_at IS NULL) ORDER BY created_at DESC, message_id LIMIT $3",
        q.recipient, q.unread_only, q.limit,
    )
    return [row_to_json(r) for r in rows]
