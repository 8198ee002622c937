"""Outbox relay (§4): tail the event table in commit-safe order, publish to JetStream, then checkpoint."""

from __future__ import annotations

import asyncio
from contextlib import suppress

import asyncpg
import structlog
from nats.js import JetStreamContext

from backbone import metrics
from backbone.store import EventStore, TailedEvent
from contracts import subjects

log = structlog.get_logger()

STREAM = "WANQING"
CHECKPOINT = "relay"


class Relay:
    """One active relay per service: a second replica waits on the advisory lock until the first goes away."""

    def __init__(  # noqa: PLR0913
        self,
        *,
        dsn: str,
        store: EventStore,
        service: str,
        js: JetStreamContext,
        batch: int = 1000,
        idle_poll_s: float = 0.05,
        ack_timeout_s: float = 10.0,
    ) -> None:
        self._dsn = dsn
        self._store = store
        self._service = service
        self._js = js
        self._batch = batch
        self._idle = idle_poll_s
        self._ack_timeout = ack_timeout_s
        self._wake = asyncio.Event()
        self.published = 0
        self.is_leader = False

    def wake(self) -> None:
        """Called after a local commit so the relay need not wait for its next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self._lead(stop)
            except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
                self.is_leader = False
                log.warning("relay_interrupted", service=self._service, error=repr(exc))
                await _sleep_or_stop(stop, 1.0)

    async def _lead(self, stop: asyncio.Event) -> None:
        conn: asyncpg.Connection = await asyncpg.connect(self._dsn)
        try:
            while not await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", f"relay:{self._store.schema}"):
                if await _sleep_or_stop(stop, 1.0):
                    return
            self.is_leader = True
            log.info("relay_leading", service=self._service)
            checkpoint = await self._store.read_checkpoint(conn, CHECKPOINT)
            while not stop.is_set():
                batch = await self._store.tail(conn, checkpoint, self._batch)
                if not batch:
                    self._wake.clear()
                    with suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self._idle)
                    continue
                await self.publish(batch)
                checkpoint = batch[-1].checkpoint
                await self._store.save_checkpoint(conn, CHECKPOINT, checkpoint)
                self.published += len(batch)
                metrics.RELAYED.labels(self._service).inc(len(batch))
        finally:
            self.is_leader = False
            await conn.close()

    async def publish(self, batch: list[TailedEvent]) -> None:
        """Publish a batch with bounded in-flight acks; raises unless every one was stored by JetStream."""
        futures = [
            await self._js.publish_async(
                subjects.event(ev.unit, self._service, ev.type),
                ev.envelope,
                stream=STREAM,
                headers={"Nats-Msg-Id": str(ev.event_id)},
            )
            for ev in batch
        ]
        # publish_async futures never time out by themselves: bound the wait for the acks.
        await asyncio.wait_for(asyncio.gather(*futures), self._ack_timeout)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    with suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()
