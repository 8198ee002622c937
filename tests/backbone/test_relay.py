"""Outbox relay: publishes committed events with Nats-Msg-Id, survives a crash between publish and checkpoint."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses

import asyncpg
from nats.aio.client import Client
from nats.js import JetStreamContext

from backbone.consumer import Consumer, ConsumerSpec
from backbone.events import EventMeta, Routes
from backbone.relay import CHECKPOINT, Relay
from backbone.store import Checkpoint, EventStore
from contracts import subjects
from contracts.base import Envelope
from contracts.profiles import InterestGroupJoined
from tests.backbone.helpers import make_store, meta, new_event

CONSUMED = "InterestGroupJoined"  # the type of events a test consumer reads back: a real profiles event


class CrashAfterPublish(Exception):
    """Stands in for the process dying between the JetStream acks and the checkpoint write."""


class StoreThatDiesBeforeCheckpoint(EventStore):
    async def save_checkpoint(self, conn: asyncpg.Connection, name: str, cp: Checkpoint) -> None:
        raise CrashAfterPublish


async def fill(pool: asyncpg.Pool, store: EventStore, n: int, unit: str = "U0001", type_: str = "Something") -> None:
    async with pool.acquire() as conn:
        for i in range(n):
            await store.append(conn, f"s-{i % 7}", i // 7, [new_event(i, unit=unit, type_=type_)], meta())


async def run_until(relay: Relay, stop: asyncio.Event, count: int) -> None:
    task = asyncio.create_task(relay.run(stop))
    for _ in range(400):
        if relay.published >= count:
            break
        await asyncio.sleep(0.025)
    stop.set()
    await task


async def stream_messages(js: JetStreamContext) -> int:
    return (await js.stream_info("WANQING")).state.messages


class TestRelay:
    async def test_every_committed_event_reaches_the_stream_in_order(
        self, pool: asyncpg.Pool, schema: str, js: JetStreamContext, nc: Client, database_url: str
    ) -> None:
        store = await make_store(pool, schema)
        await fill(pool, store, 40, unit="U0042")
        relay = Relay(dsn=database_url, store=store, service="profiles", nc=nc, batch=16)
        await run_until(relay, asyncio.Event(), 40)
        assert await stream_messages(js) == 40  # noqa: PLR2004
        sub = await js.pull_subscribe(subjects.events_of_unit("U0042"), durable="check")
        msgs = await sub.fetch(40, timeout=5)
        assert [Envelope.model_validate_json(m.data).data["n"] for m in msgs] == list(range(40))
        assert msgs[0].headers is not None
        assert msgs[0].headers["Nats-Msg-Id"] == str(Envelope.model_validate_json(msgs[0].data).event_id)
        assert msgs[0].subject == "wanqing.evt.U0042.profiles.Something"

    async def test_crash_between_publish_and_checkpoint_republishes_without_duplicates(
        self, pool: asyncpg.Pool, schema: str, js: JetStreamContext, nc: Client, database_url: str
    ) -> None:
        store = await make_store(pool, schema)
        await fill(pool, store, 30, type_=CONSUMED)
        dying = Relay(dsn=database_url, store=StoreThatDiesBeforeCheckpoint(schema), service="profiles", nc=nc)
        with contextlib.suppress(CrashAfterPublish):
            await dying.run(asyncio.Event())
        assert dying.atomic
        assert await stream_messages(js) == 30  # published, but the checkpoint never moved  # noqa: PLR2004
        async with pool.acquire() as conn:
            assert await store.read_checkpoint(conn, CHECKPOINT) == Checkpoint()
        await fill_more(pool, store)
        restarted = Relay(dsn=database_url, store=store, service="profiles", nc=nc)
        await run_until(restarted, asyncio.Event(), 35)
        # Re-published from the old checkpoint: the atomic batch of 30 repeats and 5 new events is refused as a
        # whole, then sent event by event, and JetStream dropped the repeats by Nats-Msg-Id.
        assert await stream_messages(js) == 35  # noqa: PLR2004

        applied = await consume_all(pool, schema, js, expected=35)
        assert applied == 35  # noqa: PLR2004

    async def test_atomic_batches_carry_a_large_tail_in_order(
        self, pool: asyncpg.Pool, schema: str, js: JetStreamContext, nc: Client, database_url: str
    ) -> None:
        store = await make_store(pool, schema)
        async with pool.acquire() as conn:  # 2,500 events of 50 streams in one transaction
            await store.append_batch(conn, [(f"s-{k}", 0, [new_event(k * 50 + i) for i in range(50)])
                                            for k in range(50)], meta())
        relay = Relay(dsn=database_url, store=store, service="profiles", nc=nc, batch=2500)
        await run_until(relay, asyncio.Event(), 2500)
        assert (relay.published, await stream_messages(js)) == (2500, 2500)
        assert relay.atomic  # deploy/streams.json allows atomic publish: three batches (1000, 1000, 500)
        sub = await js.pull_subscribe(subjects.ALL_EVENTS, durable="check")
        got: list[Envelope] = []
        while len(got) < 2500:  # noqa: PLR2004 - in fetches of 500: at most 1,000 may wait unacknowledged
            for m in await sub.fetch(500, timeout=5):
                got.append(Envelope.model_validate_json(m.data))
                await m.ack()
        assert [e.data["n"] for e in got] == list(range(2500))
        assert len({e.event_id for e in got}) == 2500  # noqa: PLR2004

    async def test_without_atomic_publish_it_publishes_event_by_event(
        self, pool: asyncpg.Pool, schema: str, js: JetStreamContext, nc: Client, database_url: str
    ) -> None:
        config = (await js.stream_info("WANQING")).config
        await js.delete_stream("WANQING")
        await js.add_stream(dataclasses.replace(config, allow_atomic=False))  # as on a server before 2.12
        store = await make_store(pool, schema)
        await fill(pool, store, 40)
        relay = Relay(dsn=database_url, store=store, service="profiles", nc=nc, batch=16)
        await run_until(relay, asyncio.Event(), 40)
        assert not relay.atomic
        assert await stream_messages(js) == 40  # noqa: PLR2004
        sub = await js.pull_subscribe(subjects.ALL_EVENTS, durable="check")
        assert [Envelope.model_validate_json(m.data).data["n"] for m in await sub.fetch(40, timeout=5)] == list(
            range(40))

    async def test_a_second_relay_waits_for_the_first(
        self, pool: asyncpg.Pool, schema: str, js: JetStreamContext, nc: Client, database_url: str
    ) -> None:
        store = await make_store(pool, schema)
        stop = asyncio.Event()
        first = Relay(dsn=database_url, store=store, service="profiles", nc=nc)
        second = Relay(dsn=database_url, store=store, service="profiles", nc=nc)
        t1 = asyncio.create_task(first.run(stop))
        await asyncio.sleep(0.3)
        t2 = asyncio.create_task(second.run(stop))
        await asyncio.sleep(0.3)
        assert first.is_leader
        assert not second.is_leader
        stop.set()
        await asyncio.gather(t1, t2)


async def fill_more(pool: asyncpg.Pool, store: EventStore) -> None:
    async with pool.acquire() as conn:
        for i in range(5):
            await store.append(conn, f"late-{i}", 0, [new_event(100 + i, type_=CONSUMED)], meta())


async def consume_all(pool: asyncpg.Pool, schema: str, js: JetStreamContext, expected: int) -> int:
    async with pool.acquire() as conn:
        await conn.execute(f"CREATE TABLE {schema}.effects (event_id uuid, n int)")

    async def effect(conn: asyncpg.Connection, event: InterestGroupJoined, meta: EventMeta) -> None:
        await conn.execute(f"INSERT INTO {schema}.effects VALUES ($1, $2)", meta.event_id, int(event.group))

    spec = ConsumerSpec(name="effects", routes=Routes.of({InterestGroupJoined: effect}))
    consumer = Consumer(pool=pool, schema=schema, js=js, spec=spec)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    for _ in range(200):
        if consumer.handled >= expected:
            break
        await asyncio.sleep(0.025)
    stop.set()
    await task
    async with pool.acquire() as conn:
        total = await conn.fetchval(f"SELECT count(*) FROM {schema}.effects")
        distinct = await conn.fetchval(f"SELECT count(DISTINCT event_id) FROM {schema}.effects")
    assert total == distinct
    return int(total)


async def lead_once(relay: Relay) -> None:
    """Until the relay has taken the lead (and so tried the set-aside events) and gone idle."""
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    for _ in range(400):
        if relay.is_leader:
            break
        await asyncio.sleep(0.025)
    await asyncio.sleep(0.3)
    stop.set()
    await task


class TestOneBadEventNeverStopsTheRelay:
    """A stored event the bus cannot take (a forged unit that makes no subject, a body larger than the server
    takes) is set aside, counted, and every other event still flows; each new leader tries the set-aside again.
    """

    async def test_an_event_whose_subject_cannot_be_built_is_set_aside_and_the_rest_flow(
        self, pool: asyncpg.Pool, schema: str, js: JetStreamContext, nc: Client, database_url: str
    ) -> None:
        store = await make_store(pool, schema)
        await fill(pool, store, 10)
        async with pool.acquire() as conn:
            await store.append(conn, "forged", 0, [new_event(999, unit="../../../outside")], meta())
        await fill_more(pool, store)
        relay = Relay(dsn=database_url, store=store, service="profiles", nc=nc, batch=4)
        await run_until(relay, asyncio.Event(), 15)
        assert (relay.published, await stream_messages(js)) == (16, 15)  # read 16, published all but one
        assert relay.set_aside == 1
        async with pool.acquire() as conn:
            [row] = await conn.fetch(f"SELECT * FROM {schema}.relay_set_aside")
        assert row["unit"] == "../../../outside" and "not a valid subject token" in row["reason"]
        again = Relay(dsn=database_url, store=store, service="profiles", nc=nc)
        await lead_once(again)
        assert again.set_aside == 1  # still unpublishable: still set aside, nothing else sent twice
        assert await stream_messages(js) == 15  # noqa: PLR2004

    async def test_an_event_larger_than_the_server_takes_is_set_aside(
        self, pool: asyncpg.Pool, schema: str, js: JetStreamContext, nc: Client, database_url: str
    ) -> None:
        store = await make_store(pool, schema)
        big = new_event(1)
        big = dataclasses.replace(big, data={**big.data, "blob": "x" * (nc.max_payload + 1)})
        async with pool.acquire() as conn:
            await store.append(conn, "big", 0, [big], meta())
        await fill(pool, store, 3)
        relay = Relay(dsn=database_url, store=store, service="profiles", nc=nc)
        await run_until(relay, asyncio.Event(), 4)
        assert (await stream_messages(js), relay.set_aside) == (3, 1)

    async def test_a_set_aside_event_is_published_by_the_next_leader_once_it_can_be(
        self, pool: asyncpg.Pool, schema: str, js: JetStreamContext, nc: Client, database_url: str
    ) -> None:
        store = await make_store(pool, schema)
        await fill(pool, store, 1)
        async with pool.acquire() as conn:  # set aside earlier for a cause since fixed (say, a smaller max_payload)
            ev = (await store.tail(conn, Checkpoint(), 1))[0]
            await conn.execute(f"INSERT INTO {schema}.relay_set_aside (event_id, position, unit, type, reason) "
                               "VALUES ($1, $2, $3, $4, 'was too large')", ev.event_id, ev.position, ev.unit, ev.type)
            await store.save_checkpoint(conn, CHECKPOINT, ev.checkpoint)
        relay = Relay(dsn=database_url, store=store, service="profiles", nc=nc)
        await lead_once(relay)
        assert (await stream_messages(js), relay.set_aside) == (1, 0)
