"""Small builders shared by the runtime's tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg

from backbone.migrations import migrate_service
from backbone.store import EventStore, Metadata, NewEvent
from contracts.base import Actor, Role

ACTOR = Actor(user="tester", role=Role.DISTRICT_OFFICE, unit="DISTRICT")


def meta() -> Metadata:
    return Metadata(actor=ACTOR, correlation_id=uuid.uuid4())


def new_event(n: int = 0, unit: str = "U0001", type_: str = "Something") -> NewEvent:
    """An event numbered by `n`; as the type "InterestGroupJoined" it is also a real profiles event a consumer
    can decode (its model ignores `n`).
    """
    data = {"n": n, "retiree_id": str(uuid.UUID(int=n)), "group": str(n)}
    return NewEvent(type=type_, data=data, unit=unit, occurred_at=datetime.now(UTC))


async def make_store(pool: asyncpg.Pool, schema: str) -> EventStore:
    async with pool.acquire() as conn:
        await migrate_service(conn, schema, None)
    return EventStore(schema)
