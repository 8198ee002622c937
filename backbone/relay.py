"""Outbox relay (§4): tail the event table in commit-safe order, publish to JetStream, then checkpoint."""

from __future__ import annotations

import asyncio
from contextlib import suppress

import asyncpg
import nats.errors
import nats.js.errors
import structlog
from nats.aio.client import Client

from backbone import atomic_batch, metrics
from backbone.db import UNREACHABLE, Connection, quote_ident
from backbone.store import EventStore, TailedEvent
from contracts import subjects

log = structlog.get_logger()

STREAM = "WANQING"
CHECKPOINT = "relay"
HEADROOM = 4096  # what headers and the subject take of the server's max_payload


class Unpublishable(ValueError):  # noqa: N818 - named after the event's state
    """A stored event that cannot go on the bus as it is: set aside, never a reason to stop the relay."""


RELAY_INTERRUPTIONS: tuple[type[BaseException], ...] = (*UNREACHABLE, nats.errors.Error)


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
        self.set_aside = 0  # events set aside and not yet published (see /health)
        self._conn: Connection | None = None

    def wake(self) -> None:
        """Called after a local commit so the relay need not wait for its next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self._lead(stop)
            except RELAY_INTERRUPTIONS as exc:
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
            self._conn = conn
            self.atomic = bool((await self._js.stream_info(STREAM)).config.allow_atomic)
            log.info("relay_leading", service=self._service, atomic_batches=self.atomic)
            await self._retry_set_aside(conn)
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
            self._conn = None
            await conn.close()

    def _subject(self, ev: TailedEvent) -> str:
        try:
            subject = subjects.event(ev.unit, self._service, ev.type)
        except ValueError as exc:
            raise Unpublishable(str(exc)) from exc
        limit = self._nc.max_payload - HEADROOM
        if len(ev.envelope) > limit:
            msg = f"the envelope is {len(ev.envelope)} bytes, more than the server takes ({limit})"
            raise Unpublishable(msg)
        return subject

    def _publishable(self, batch: list[TailedEvent]) -> tuple[list[TailedEvent], list[tuple[TailedEvent, str]]]:
        good: list[TailedEvent] = []
        bad: list[tuple[TailedEvent, str]] = []
        for ev in batch:
            try:
                self._subject(ev)
            except Unpublishable as exc:
                bad.append((ev, str(exc)))
            else:
                good.append(ev)
        return good, bad

    async def _set_aside(self, bad: list[tuple[TailedEvent, str]]) -> None:
        """Record what could not be published, so the rest flow and an operator sees it (/health, metrics)."""
        if not bad:
            return
        assert self._conn is not None
        await self._conn.executemany(
            f"INSERT INTO {quote_ident(self._store.schema)}.relay_set_aside (event_id, position, unit, type, reason) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (event_id) DO UPDATE SET reason = excluded.reason, "
            "published_at = NULL",
            [(ev.event_id, ev.position, ev.unit[:200], ev.type[:200], reason[:1000]) for ev, reason in bad])
        for ev, reason in bad:
            log.error("relay_event_set_aside", service=self._service, event_id=str(ev.event_id), type=ev.type,
                      position=ev.position, reason=reason)
        await self._count_set_aside(self._conn)

    async def _count_set_aside(self, conn: Connection) -> None:
        self.set_aside = int(await conn.fetchval(
            f"SELECT count(*) FROM {quote_ident(self._store.schema)}.relay_set_aside WHERE published_at IS NULL"))
        metrics.SET_ASIDE.labels(self._service).set(self.set_aside)

    async def _retry_set_aside(self, conn: Connection) -> None:
        """Each new leader tries the set-aside events again (the cause may have been fixed: a larger max_payload)."""
        t = quote_ident(self._store.schema)
        rows = await conn.fetch(
            f"SELECT e.tx::text::bigint AS tx, e.position, e.unit, e.type, e.event_id, e.envelope "
            f"FROM {t}.relay_set_aside s JOIN {t}.events e ON e.event_id = s.event_id "
            "WHERE s.published_at IS NULL ORDER BY e.position")
        retry = [TailedEvent(r["tx"], r["position"], r["unit"], r["type"], r["event_id"], bytes(r["envelope"]))
                 for r in rows]
        if retry:
            good, bad = self._publishable(retry)
            published = await self._publish_each(good) if good else []
            await conn.execute(f"UPDATE {t}.relay_set_aside SET published_at = now() WHERE event_id = ANY($1)",
                               [ev.event_id for ev in published])
            log.info("relay_set_aside_retried", service=self._service, published=len(published),
                     still_set_aside=len(retry) - len(published), unpublishable=len(bad))
        await self._count_set_aside(conn)

    async def publish(self, batch: list[TailedEvent]) -> None:
        """Publish a batch in tailed order; raises unless JetStream stored every event (or had it already).

        Atomic batches where the stream allows them (one fsync per batch, not per event); a batch the server
        refuses (a repeat after a crash between publish and checkpoint, or any other refusal: nothing of it
        was stored) goes again event by event, where JetStream drops the repeats by Nats-Msg-Id.
        """
        batch, bad = self._publishable(batch)
        await self._set_aside(bad)
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
        return atomic_batch.Message(self._subject(ev), ev.envelope, str(ev.event_id))

    async def _publish_each(self, batch: list[TailedEvent]) -> list[TailedEvent]:
        """One publish per event with bounded in-flight acks (the window); returns those JetStream stored.

        JetStream refusing one message (an API error naming it) sets that event aside; no answer at all
        (a timeout, a lost connection) raises, and the whole batch is tried again.
        """
        futures = [
            await self._js.publish_async(
                self._subject(ev),
                ev.envelope,
                stream=STREAM,
                headers={"Nats-Msg-Id": str(ev.event_id)},
            )
            for ev in batch
        ]
        # publish_async futures never time out by themselves: bound the wait for the acks.
        results = await asyncio.wait_for(asyncio.gather(*futures, return_exceptions=True), self._ack_timeout)
        refused = [(ev, f"JetStream refused it: {r}") for ev, r in zip(batch, results, strict=True)
                   if isinstance(r, nats.js.errors.APIError)]
        failed = next((r for r in results if isinstance(r, BaseException)
                       and not isinstance(r, nats.js.errors.APIError)), None)
        if failed is not None:
            raise failed
        await self._set_aside(refused)
        gone = {ev.event_id for ev, _ in refused}
        return [ev for ev in batch if ev.event_id not in gone]


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    with suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()
