"""One way to record a decision: seal sensitive fields, append with the expected version, project own read models.

A command handler gets a `CommandContext` from the router (the actor is who sent the command); what a service
decides by itself (a timer, a feed of another service's events, a campaign, a policy file) gets one from
`Recorder.system`, with the service as actor and the triggering event as cause. Both record the same way.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from backbone.crypto import Keyring
from backbone.db import Connection
from backbone.events import NO_ROUTES, EventMeta, Routes
from backbone.facts import seal_facts
from backbone.store import EventStore, Metadata, NewEvent, Recorded
from contracts.base import Accepted, Event, system_actor

# (stream, expected version, events, unit) of one stream in a batch append.
StreamBatch = tuple[str, int, Sequence[Event], str]


ENVELOPE_FIELDS = {"type", "schema_version"}  # carried by the envelope, not in its data


async def seal(conn: Connection, keyring: Keyring | None, event: Event, unit: str, occurred_at: datetime,
               ) -> tuple[Event, NewEvent]:
    """The event as it is stored and published (each SENSITIVE field sealed with its person's key): as the model
    projections get, and as the row the store appends. The event is dumped once.
    """
    data = event.model_dump(mode="json", exclude=ENVELOPE_FIELDS)
    if event.SENSITIVE or event.SEALED_FACTS:
        if keyring is None or event.PERSON_FIELD is None:
            msg = f"{event.type} has sensitive fields but no keyring/person to seal them"
            raise RuntimeError(msg)
        person = str(data[event.PERSON_FIELD])
        sealed = {name: await keyring.seal(conn, person, name, json.dumps(data[name], ensure_ascii=False))
                  for name in event.SENSITIVE if data.get(name) is not None}
        data.update(sealed)
        # The facts stay open in the model the service's own projections get; stored and published sealed.
        if event.SEALED_FACTS:
            await seal_facts(conn, keyring, event, person, data)
        event = event.model_copy(update=sealed)
    return event, NewEvent(type=event.type, data=data, unit=unit, occurred_at=occurred_at,
                           schema_version=event.schema_version)


async def to_new_event(conn: Connection, keyring: Keyring | None, event: Event, unit: str, occurred_at: datetime,
                       ) -> NewEvent:
    return (await seal(conn, keyring, event, unit, occurred_at))[1]


@dataclass
class Recorder:
    """A service's way of recording: its store, its keyring and the projection of its own events."""

    service: str
    store: EventStore
    keyring: Keyring | None = None
    projection: Routes = NO_ROUTES

    def project(self, routes: Routes) -> None:
        """Add read models (and timers) kept in step with every event this service records."""
        self.projection = self.projection + routes

    def context(self, conn: Connection, now: datetime, meta: Metadata) -> CommandContext:
        return CommandContext(conn=conn, recorder=self, now=now, meta=meta)

    def system(
        self, conn: Connection, now: datetime, *, cause: EventMeta | None = None,
        correlation_id: UUID | None = None, causation_id: UUID | None = None,
    ) -> CommandContext:
        """For a decision the service makes itself: the service acts; correlated with and caused by `cause`."""
        correlation = correlation_id or (cause.correlation_id if cause else None) or uuid.uuid4()
        meta = Metadata(actor=system_actor(self.service), correlation_id=correlation,
                        causation_id=causation_id or (cause.event_id if cause else None))
        return self.context(conn, now, meta)


@dataclass
class CommandContext:
    """The transaction, the time, who acts and why: what every decision is recorded with."""

    conn: Connection
    recorder: Recorder
    now: datetime
    meta: Metadata
    recorded: list[Recorded] = field(default_factory=list)

    @property
    def store(self) -> EventStore:
        return self.recorder.store

    @property
    def keyring(self) -> Keyring | None:
        return self.recorder.keyring

    async def record(self, stream_id: str, expected_version: int, events: Sequence[Event], unit: str) -> Accepted:
        """Seal, append to one stream with the expected version, project; the reply names what was recorded."""
        sealed, pending = _split([await seal(self.conn, self.keyring, ev, unit, self.now) for ev in events])
        recorded = await self.store.append(self.conn, stream_id, expected_version, pending, self.meta) \
            if pending else []
        self.recorded.extend(recorded)
        await self.recorder.projection.apply_all(
            self.conn, [(s, self._meta(p, r)) for s, p, r in zip(sealed, pending, recorded, strict=True)])
        return Accepted(stream_id=stream_id, version=expected_version + len(recorded),
                        event_ids=tuple(r.event_id for r in recorded))

    async def record_many(self, batch: Sequence[StreamBatch]) -> list[Recorded]:
        """Many streams in one statement (imports, campaigns). Projected level by level: the first event of
        every stream, then the second..., so each stream keeps its order and a run of one class can be
        projected in bulk. Events of different streams must not depend on each other's projection.
        """
        items: list[tuple[str, int, list[Event], str]] = []
        pending: list[list[NewEvent]] = []
        for stream, expected, events, unit in batch:
            if events:
                sealed, news = _split([await seal(self.conn, self.keyring, ev, unit, self.now) for ev in events])
                items.append((stream, expected, sealed, unit))
                pending.append(news)
        if not items:
            return []
        recorded = await self.store.append_batch(
            self.conn, [(stream, expected, news) for (stream, expected, _s, _u), news in zip(items, pending,
                                                                                             strict=True)],
            self.meta)
        self.recorded.extend(recorded)
        by_id = {r.event_id: r for r in recorded}
        levels = max(len(news) for news in pending)
        ordered = [(item[2][level], self._meta(news[level], by_id[news[level].event_id]))
                   for level in range(levels) for item, news in zip(items, pending, strict=True)
                   if level < len(news)]
        await self.recorder.projection.apply_all(self.conn, ordered)
        return recorded

    def _meta(self, new: NewEvent, recorded: Recorded) -> EventMeta:
        return EventMeta(event_id=recorded.event_id, stream_id=recorded.stream_id, version=recorded.version,
                         unit=new.unit, occurred_at=new.occurred_at, recorded_at=recorded.recorded_at,
                         correlation_id=self.meta.correlation_id, causation_id=self.meta.causation_id,
                         actor=self.meta.actor)


def _split(pairs: list[tuple[Event, NewEvent]]) -> tuple[list[Event], list[NewEvent]]:
    return [e for e, _ in pairs], [n for _, n in pairs]
