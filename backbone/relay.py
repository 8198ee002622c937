"""Outbox relay (§4): tail the event table in commit-safe order, publish to JetStream, then checkpoint."""

from __future__ import annotations

import asyncio
from contextlib import suppress

import asyncpg
import nats.errors
import structlog
from nats.aio.client import Client

from backbone import atomic_batch, metrics
from backbone.db import Connection
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
        nc: Client,
        window: int = 1000,
        batch: int = 1000,
        idle_poll_s: float = 0.05,
        ack_timeout_s: float = 10.0,
    ) -> None:
        self._dsn = dsn
        self._store = store
        self._service = service
        self._nc = nc
        self._js = nc.jetstream(publish_async_max_pending=window)
        # Decided from the stream's config each time this relay takes the lead (an older server has no
        # atomic batches and would store their messages one by one without acknowledging each).
        self.atomic = False
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
            except (TimeoutError, OSError, asyncpg.PostgresError, nats.errors.Error) as exc:
                self.is_leader = False
                log.warning("relay_interrupted", service=self._service, error=repr(exc))
                await _sleep_or_stop(stop, 1.0)

    async def _lead(self, stop: asyncio.Event) -> None:
        conn: Connection = await asyncpg.connect(self._dsn)
        try:
            while not await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", f"relay:{self._store.schema}"):
                if await _sleep_or_stop(stop, 1.0):
                    return
            self.is_leader = True
            self.atomic = bool((await self._js.stream_info(STREAM)).config.allow_atomic)
            log.info("relay_leading", service=self._service, atomic_batches=self.atomic)
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
        """Publish a batch in tailed order; raises unless JetStream stored every event (or had it already).

        Atomic batches where the stream allows them (one fsync per batch, not per event); a batch the server
        refuses (a repeat after a crash between publish and checkpoint, or any other refusal: nothing of it
        was stored) goes again event by event, where JetStream drops the repeats by Nats-Msg-Id.
        """
        if not self.atomic:
            await self._publish_each(batch)
            return
        for start in range(0, len(batch), atomic_batch.MAX_MESSAGES):
            part = batch[start:start + atomic_batch.MAX_MESSAGES]
            try:
                await atomic_batch.publish(self._nc, STREAM, [self._message(ev) for ev in part], self._ack_timeout)
            except atomic_batch.BatchRefused as exc:
                if exc.code == atomic_batch.DISABLED:
                    self.atomic = False
                if exc.code != atomic_batch.DUPLICATE_MESSAGE_ID:
                    log.warning("relay_batch_refused", service=self._service, error=str(exc))
                await self._publish_each(part)

    def _message(self, ev: TailedEvent) -> atomic_batch.Message:
        return atomic_batch.Message(subjects.event(ev.unit, self._service, ev.type), ev.envelope, str(ev.event_id))

    async def _publish_each(self, batch: list[TailedEvent]) -> None:
        """One publish per event with bounded in-flight acks (the window)."""
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
