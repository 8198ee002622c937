"""Handing the queued messages to each agency's own stream, in order, and what the platform can see of each
agency: what waits, what it took, and what its client acknowledged.

Each agency's account exports `agency.<agency>.>` as a service that its stream FEED answers, and the platform's
account imports it (wanqing/nats_auth.py), so a publish is acknowledged by the agency's stream itself; only then
does the row leave the outbox. A repeat (a crash between the ack and the delete) is dropped by the agency's
stream (`Nats-Msg-Id`). An agency whose stream does not answer keeps its messages queued; the others go on.
The agency's consumer state is read through the import `agencyjs.<agency>.CONSUMER.INFO.FEED.*` of its account's
`$JS.API.CONSUMER.INFO.FEED.*`: the one JetStream request the platform may make of it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any

import asyncpg
import nats.errors
import structlog
from nats.aio.client import Client
from prometheus_client import Gauge

from backbone.db import UNREACHABLE
from contracts import subjects
from contracts.feed import FEED_STREAM, AgencyBook

log = structlog.get_logger()

BATCH = 200
LOG_EVERY_S = 300.0
METRICS_EVERY_S = 10.0
PENDING = Gauge("wanqing_agency_pending", "Feed messages waiting to be handed to an agency's stream", ["agency"])
UNACKED = Gauge("wanqing_agency_unacknowledged", "Messages in an agency's stream its client has not acknowledged",
                ["agency"])


class Handover:
    def __init__(self, pool: asyncpg.Pool, book: AgencyBook, enabled: Callable[[], frozenset[str]],
                 poll_s: float = 0.2) -> None:
        self._pool = pool
        self._book = book
        self._enabled = enabled
        self._poll_s = poll_s
        self._quiet: dict[str, float] = {}
        self.handed = 0

    async def run(self, stop: asyncio.Event, nc: Client) -> None:
        measured = -METRICS_EVERY_S
        while not stop.is_set():
            if time.monotonic() - measured >= METRICS_EVERY_S:  # the gauges stay current without a scrape hook
                measured = time.monotonic()
                with suppress(*UNREACHABLE):
                    await self.status(nc)
            moved = 0
            for agency in sorted(self._enabled()):
                try:
                    moved += await self.hand_over(nc, agency)
                except UNREACHABLE as exc:
                    log.warning("feed_handover_interrupted", agency=agency, error=repr(exc))
                    await asyncio.sleep(1.0)
            if not moved:
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._poll_s)

    async def hand_over(self, nc: Client, agency: str) -> int:
        """One batch of the agency's queue, oldest first; stops at the first message its stream does not take."""
        if not nc.is_connected:
            return 0
        js = nc.jetstream()
        done = 0
        async with self._pool.acquire() as conn, conn.transaction():
            # One feeder per agency at a time (replicas): the others skip it this round.
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtext('feed:' || $1))", agency):
                return 0
            rows = await conn.fetch("SELECT seq, message_id, subject, payload FROM feed.outbox WHERE agency = $1 "
                                    "ORDER BY seq LIMIT $2", agency, BATCH)
            for r in rows:
                try:
                    await js.publish(r["subject"], bytes(r["payload"]), timeout=5,
                                     headers={"Nats-Msg-Id": str(r["message_id"])})
                except (nats.errors.Error, TimeoutError) as exc:
                    self._unreachable(agency, exc)
                    break
                await conn.execute("DELETE FROM feed.outbox WHERE seq = $1", r["seq"])
                await conn.execute(
                    "INSERT INTO feed.handed_over (agency, messages, last_message_id, last_at) VALUES ($1, 1, $2, "
                    "now()) ON CONFLICT (agency) DO UPDATE SET messages = feed.handed_over.messages + 1, "
                    "last_message_id = excluded.last_message_id, last_at = excluded.last_at",
                    agency, r["message_id"])
                done += 1
        self.handed += done
        return done

    def _unreachable(self, agency: str, exc: BaseException) -> None:
        now = time.monotonic()
        if now - self._quiet.get(agency, -LOG_EVERY_S) >= LOG_EVERY_S:
            self._quiet[agency] = now
            log.warning("agency_stream_unreachable", agency=agency, error=repr(exc))

    async def status(self, nc: Client | None) -> list[dict[str, Any]]:
        """Per agency of the book: enabled, waiting, handed over, and its client's acknowledgements."""
        enabled = self._enabled()
        async with self._pool.acquire() as conn:
            waiting = {r["agency"]: r["n"] for r in await conn.fetch(
                "SELECT agency, count(*) AS n FROM feed.outbox GROUP BY agency")}
            handed = {r["agency"]: r for r in await conn.fetch("SELECT * FROM feed.handed_over")}
        out = []
        for agency in self._book.agencies:
            h = handed.get(agency.id)
            row: dict[str, Any] = {
                "agency": agency.id, "short": agency.short, "enabled": agency.id in enabled,
                "waiting": int(waiting.get(agency.id, 0)), "handed_over": int(h["messages"]) if h else 0,
                "last_handed_over_at": h["last_at"].isoformat() if h and h["last_at"] else None,
                "client": await _client_state(nc, agency.id, agency.durable) if agency.id in enabled else None}
            PENDING.labels(agency.id).set(row["waiting"])
            if row["client"] is not None:
                UNACKED.labels(agency.id).set(row["client"]["unacknowledged"])
            out.append(row)
        return out


async def _client_state(nc: Client | None, agency: str, durable: str) -> dict[str, Any] | None:
    """The agency's durable consumer as its own account sees it; None when it has none or cannot be asked."""
    if nc is None or not nc.is_connected:
        return None
    try:
        info = await nc.jetstream(prefix=subjects.agency_jetstream(agency), timeout=2).consumer_info(FEED_STREAM,
                                                                                                     durable)
    except (nats.errors.Error, TimeoutError):
        return None
    return {"durable": durable, "acknowledged_up_to": info.ack_floor.stream_seq if info.ack_floor else 0,
            "last_ack_at": info.ack_floor.last_active.isoformat() if info.ack_floor and info.ack_floor.last_active
            else None,
            "unacknowledged": int(info.num_pending or 0) + int(info.num_ack_pending or 0)}
