"""On PersonalDataErased notify suppresses the person and blanks the messages of their own inbox."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import asyncpg

from backbone.crypto import ERASED
from backbone.events import EventMeta
from backbone.migrations import migrate_service
from contracts.base import SYSTEM_ACTOR
from contracts.profiles import PersonalDataErased
from services.notify import app as notify_app
from services.notify import recipients

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


async def test_the_persons_inbox_is_blanked_and_others_are_kept(pool: asyncpg.Pool) -> None:
    rid, other = uuid.uuid4(), uuid.uuid4()
    async with pool.acquire() as conn:
        await migrate_service(conn, "notify", notify_app.MIGRATIONS)
        for person in (rid, other):
            delivery = uuid.uuid4()
            await conn.execute(
                "INSERT INTO notify.deliveries (delivery_id, cause_event_id, correlation_id, rule, template, "
                "recipient, channel, urgent, unit, context, status, not_before, created_at) "
                "VALUES ($1, $2, $2, 'birthday_greeting', 'birthday_greeting.v1', $3, 'inbox', false, 'U0001', "
                "$4::jsonb, 'sent', $5, $5)", delivery, uuid.uuid4(), f"retiree:{person}", json.dumps({}), NOW)
            await conn.execute(
                "INSERT INTO notify.inbox_messages (message_id, delivery_id, recipient, subject, body, rule, "
                "created_at) VALUES ($1, $2, $3, '生日祝福', '尊敬的欧阳明珠：生日快乐', 'birthday_greeting', $4)",
                uuid.uuid4(), delivery, f"retiree:{person}", NOW)
        meta = EventMeta(event_id=uuid.uuid4(), stream_id=f"retiree-{rid}", version=9, unit="U0001",
                         occurred_at=NOW, recorded_at=NOW, correlation_id=uuid.uuid4(), causation_id=None,
                         actor=SYSTEM_ACTOR)
        await recipients.erased(conn, PersonalDataErased(retiree_id=rid, reason="本人申请"), meta)
        rows = {r["recipient"]: (r["subject"], r["body"]) for r in
                await conn.fetch("SELECT recipient, subject, body FROM notify.inbox_messages")}
        suppressed = await conn.fetchval("SELECT reason FROM notify.suppressions WHERE retiree_id = $1", rid)
    assert rows[f"retiree:{rid}"] == (ERASED, ERASED)
    assert rows[f"retiree:{other}"] == ("生日祝福", "尊敬的欧阳明珠：生日快乐")
    assert suppressed == "erased"
