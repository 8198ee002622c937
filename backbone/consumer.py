"""Idempotent durable consumers (§5): inbox row with the effect, retries with growing delay, dead letters."""

from __future__ import annotations

import asyncio
import time
from contextlib import suppress
from dataclasses import dataclass
from uuid import UUID

import asyncpg
import nats.errors
import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from backbone import metrics
from backbone.crypto import Keyring
from backbone.db import UNREACHABLE, quote_ident
from backbone.envelope import parse
from backbone.events import EventMeta, Routes, UndecodableEventError, decode
from backbone.facts import open_facts
from backbone.relay import STREAM
from contracts import subjects
from contracts.base import Envelope, Event
from contracts.registry import owner_of

log = structlog.get_logger()

HOLD_GRACE_S = 5.0
DB_RETRY_S = 1.0  # while the database is away, how long a consumer waits before the next delivery
SUBJECT_TOKENS = 5  # wanqing.evt.<unit>.<service>.<EventType>


@dataclass(frozen=True)
class ConsumerSpec:
    """A durable pull consumer of one service, for one purpose: the events it routes, and how it retries."""

    name: str
    routes: Routes
    max_deliver: int = 8
    base_delay_s: float = 0.2
    max_delay_s: float = 60.0
    batch: int = 100
    # The service's keyring, when its handlers decide with facts sealed for it (backbone/facts.py).
    keyring: Keyring | None = None

    @property
    def filter_subjects(self) -> tuple[str, ...]:
        """Exactly the event types it routes, each on its owner's subjects: nothing else is delivered."""
        return tuple(sorted(subjects.events_of_type(owner_of(m), m.__name__) for m in self.routes.classes))

    def delay_for(self, attempt: int) -> float:
        return float(min(self.max_delay_s, self.base_delay_s * (2 ** max(0, attempt - 1))))


class BadDelivery(ValueError):  # noqa: N818 - named after what arrived
    """A message that is not an event this consumer can believe: dead-lettered, never handled."""


def decode_delivery(subject: str, env: Envelope) -> Event | None:
    """The event's model, by the owner and type its subject names; the envelope must agree with the subject."""
    tokens = subject.split(".")
    if len(tokens) != SUBJECT_TOKENS or tokens[1] != "evt":
        raise BadDelivery(f"{subject} is not an event subject")
    _root, _evt, unit, owner, type_ = tokens
    if env.type != type_:
        raise BadDelivery(f"the subject names {type_}, the envelope {env.type}")
    if env.unit != unit:
        raise BadDelivery(f"the subject names unit {unit}, the envelope {env.unit}")
    try:
        return decode(env, owner)
    except UndecodableEventError as exc:
        raise BadDelivery(str(exc)) from exc


async def ensure_consumer(js: JetStreamContext, spec: ConsumerSpec) -> None:
    """Create the durable consumer, or bring an existing one to the spec (a changed config is not automatic)."""
    config = ConsumerConfig(
        durable_name=spec.name,
        filter_subjects=list(spec.filter_subjects),
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        # Retries are counted by us in Postgres; the server must never silently stop redelivering.
        max_deliver=-1,
        ack_wait=30,
        max_ack_pending=max(spec.batch * 2, 256),
    )
    try:
        await js.consumer_info(STREAM, spec.name)
    except NotFoundError:
        await js.add_consumer(STREAM, config)
        return
    # nats-py 2.16 has no update_consumer: the server's create is create-or-update for an existing durable.
    await js.add_consumer(STREAM, config)


class Consumer:
    def __init__(self, *, pool: asyncpg.Pool, schema: str, js: JetStreamContext, spec: ConsumerSpec) -> None:
        self._pool = pool
        self._s = quote_ident(schema)
        self._js = js
        self.spec = spec
        # Streams with an event waiting for a retry: later events of the same stream wait behind it, so that
        # the events of one retiree take effect in the order they were recorded.
        # stream_id -> (the event being retried, when it is due again). Entries expire after a grace period so
        # a retry that another replica picked up never holds this replica's stream forever.
        self._held: dict[str, tuple[UUID, float]] = {}
        self.handled = 0

    async def run(self, stop: asyncio.Event) -> None:
        await ensure_consumer(self._js, self.spec)
        sub = await self._js.pull_subscribe_bind(self.spec.name, STREAM)
        try:
            while not stop.is_set():
                try:
                    msgs = await sub.fetch(self.spec.batch, timeout=1.0)
                except (TimeoutError, nats.errors.TimeoutError):
                    continue
                except nats.errors.Error as exc:
                    log.warning("consumer_fetch_failed", consumer=self.spec.name, error=repr(exc))
                    await asyncio.sleep(0.5)
                    continue
                for i, msg in enumerate(msgs):
                    try:
                        await self.deliver(msg)
                    except UNREACHABLE as exc:
                        # The database is away: nothing of this batch is applied; each message comes again.
                        log.warning("consumer_database_unavailable", consumer=self.spec.name, error=repr(exc))
                        for later in msgs[i:]:
                            with suppress(nats.errors.Error):
                                await later.nak(delay=DB_RETRY_S)
                        await asyncio.sleep(DB_RETRY_S)
                        break
        finally:
            with suppress(nats.errors.Error):
                await sub.unsubscribe()

    async def deliver(self, msg: Msg) -> None:
        try:
            env = parse(msg.data)
        except ValueError as exc:
            await self._dead_letter(msg, None, f"unparseable envelope: {exc}")
            return
        try:
            event = decode_delivery(msg.subject, env)
        except BadDelivery as exc:
            await self._dead_letter(msg, env, str(exc))
            return
        if event is None or not self.spec.routes.handles(event):
            # Not a type this consumer routes (a filter from an older version of the service): nothing to do.
            await msg.ack()
            metrics.CONSUMED.labels(self.spec.name, "ignored").inc()
            return
        structlog.contextvars.bind_contextvars(
            consumer=self.spec.name, event_id=str(env.event_id), correlation_id=str(env.correlation_id)
        )
        held = self._held.get(env.stream_id)
        if held is not None and held[0] != env.event_id:
            blocker_due = held[1]
            now = time.monotonic()
            if now < blocker_due + HOLD_GRACE_S:
                await msg.nak(delay=max(0.05, blocker_due - now + 0.05))
                return
        try:
            applied = await self._apply(event, EventMeta.of(env), env, msg.subject)
        except Exception as exc:  # noqa: BLE001 - any handler failure is retried, then dead-lettered
            await self._failed(msg, env, exc)
            return
        self._held.pop(env.stream_id, None)
        await msg.ack()
        self.handled += 1
        log.debug("event_handled", consumer=self.spec.name, type=env.type, duplicate=not applied)
        metrics.CONSUMED.labels(self.spec.name, "applied" if applied else "duplicate").inc()

    async def _apply(self, event: Event, meta: EventMeta, env: Envelope, subject: str) -> bool:
        async with self._pool.acquire() as conn, conn.transaction():
            seen = await conn.fetchval(
                f"SELECT 1 FROM {self._s}.inbox WHERE consumer = $1 AND event_id = $2", self.spec.name, meta.event_id
            )
            if seen:
                return False
            if self.spec.keyring is not None and event.SEALED_FACTS:
                opened = decode_delivery(subject, await open_facts(conn, self.spec.keyring, env,
                                                                   subjects.event_owner(subject)))
                event = opened if opened is not None else event
            # The handlers run before the inbox insert so the transaction's first write is their own effect.
            await self.spec.routes.apply(conn, event, meta)
            await conn.execute(
                f"INSERT INTO {self._s}.inbox (consumer, event_id) VALUES ($1, $2)", self.spec.name, meta.event_id
            )
            await conn.execute(
                f"DELETE FROM {self._s}.consumer_failures WHERE consumer = $1 AND event_id = $2",
                self.spec.name, meta.event_id,
            )
        return True

    async def _failed(self, msg: Msg, env: Envelope, exc: BaseException) -> None:
        error = f"{type(exc).__name__}: {exc}"
        async with self._pool.acquire() as conn:
            attempts = await conn.fetchval(
                f"INSERT INTO {self._s}.consumer_failures (consumer, event_id, attempts, last_error) "
                "VALUES ($1, $2, 1, $3) ON CONFLICT (consumer, event_id) DO UPDATE "
                "SET attempts = consumer_failures.attempts + 1, last_error = excluded.last_error, updated_at = now() "
                "RETURNING attempts",
                self.spec.name, env.event_id, error,
            )
        if attempts >= self.spec.max_deliver:
            await self._dead_letter(msg, env, error, attempts)
            return
        delay = self.spec.delay_for(attempts)
        self._held[env.stream_id] = (env.event_id, time.monotonic() + delay)
        log.warning("consumer_retry", consumer=self.spec.name, event_id=str(env.event_id), attempt=attempts,
                    delay_s=delay, error=error)
        metrics.CONSUMED.labels(self.spec.name, "retry").inc()
        await msg.nak(delay=delay)

    async def _dead_letter(self, msg: Msg, env: Envelope | None, error: str, attempts: int = 0) -> None:
        headers = {
            "Wanqing-Error": error[:1000],
            "Wanqing-Attempts": str(attempts),
            "Wanqing-Original-Subject": msg.subject,
        }
        if env is not None:
            headers["Nats-Msg-Id"] = f"dlq:{self.spec.name}:{env.event_id}"
        await self._js.publish(subjects.dead_letter(self.spec.name), msg.data, headers=headers)
        if env is not None:
            self._held.pop(env.stream_id, None)
            async with self._pool.acquire() as conn:
                await conn.execute(
                    f"UPDATE {self._s}.consumer_failures SET dead = true WHERE consumer = $1 AND event_id = $2",
                    self.spec.name, env.event_id,
                )
        log.error("consumer_dead_letter", consumer=self.spec.name, subject=msg.subject, error=error)
        metrics.CONSUMED.labels(self.spec.name, "dead_letter").inc()
        # Only after the dead letter is stored: the original is done and later events flow on.
        with suppress(nats.errors.Error):
            await msg.term()

    async def lag(self) -> int:
        info = await self._js.consumer_info(STREAM, self.spec.name)
        pending = int(info.num_pending or 0) + int(info.num_ack_pending or 0)
        metrics.CONSUMER_LAG.labels(self.spec.name).set(pending)
        return pending
