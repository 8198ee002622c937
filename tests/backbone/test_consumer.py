"""Consumers: duplicate deliveries give one effect, transient failures retry with delay, poison goes to the DLQ."""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg
import pytest
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from backbone.consumer import Consumer, ConsumerSpec
from backbone.envelope import canonical, envelope_dict
from backbone.events import EventMeta, Routes
from contracts import subjects
from contracts.base import Envelope
from contracts.profiles import InterestGroupJoined, InterestGroupLeft, UnitRegistered
from tests.backbone.helpers import ACTOR, make_store

UNIT = "U0007"
TYPE = "InterestGroupJoined"  # a real contract event of profiles': the consumer decodes what it routes


def envelope(stream_id: str, version: int, n: int, data: dict[str, object] | None = None,
             type_: str = TYPE) -> tuple[uuid.UUID, bytes]:
    event_id = uuid.uuid4()
    from datetime import UTC, datetime  # noqa: PLC0415

    now = datetime.now(UTC)
    raw = canonical(envelope_dict(
        event_id=event_id, type_=type_, schema_version=1, stream_id=stream_id, version=version, unit=UNIT,
        occurred_at=now, recorded_at=now, correlation_id=uuid.uuid4(), causation_id=None, actor=ACTOR,
        data=data if data is not None else {"retiree_id": str(uuid.uuid4()), "group": str(n)},
    ))
    return event_id, raw


async def publish(js: JetStreamContext, raw: bytes, msg_id: str | None = None, type_: str = TYPE) -> None:
    env = Envelope.model_validate_json(raw)
    await js.publish(subjects.event(UNIT, "profiles", type_), raw,
                     headers={"Nats-Msg-Id": msg_id or str(env.event_id)})


class Harness:
    def __init__(self, pool: asyncpg.Pool, schema: str, js: JetStreamContext) -> None:
        self.pool, self.schema, self.js = pool, schema, js
        self.failures: dict[int, int] = {}  # n -> how many times to fail before succeeding (-1: always)
        self.calls: list[tuple[int, float]] = []

    async def setup(self) -> None:
        await make_store(self.pool, self.schema)
        async with self.pool.acquire() as conn:
            await conn.execute(f"CREATE TABLE {self.schema}.effects (seq serial, n int)")

    async def handler(self, conn: asyncpg.Connection, event: InterestGroupJoined, _meta: EventMeta) -> None:
        n = int(event.group)
        self.calls.append((n, time.monotonic()))
        left = self.failures.get(n, 0)
        if left != 0:
            self.failures[n] = left - 1
            raise RuntimeError(f"transient failure for {n}")
        await conn.execute(f"INSERT INTO {self.schema}.effects (n) VALUES ($1)", n)

    def consumer(self, max_deliver: int = 5) -> Consumer:
        spec = ConsumerSpec(name="test-consumer", routes=Routes.of({InterestGroupJoined: self.handler}),
                            max_deliver=max_deliver, base_delay_s=0.2)
        return Consumer(pool=self.pool, schema=self.schema, js=self.js, spec=spec)

    async def effects(self) -> list[int]:
        async with self.pool.acquire() as conn:
            return [r["n"] for r in await conn.fetch(f"SELECT n FROM {self.schema}.effects ORDER BY seq")]

    async def run_until(self, consumer: Consumer, expected: list[int], seconds: float = 15) -> list[int]:
        stop = asyncio.Event()
        task = asyncio.create_task(consumer.run(stop))
        deadline = time.monotonic() + seconds
        got: list[int] = []
        while time.monotonic() < deadline:
            got = await self.effects()
            if got == expected:
                break
            await asyncio.sleep(0.05)
        stop.set()
        await task
        return got


class TestIdempotency:
    async def test_the_same_event_delivered_twice_has_one_effect(
        self, pool: asyncpg.Pool, schema: str, js: JetStreamContext
    ) -> None:
        h = Harness(pool, schema, js)
        await h.setup()
        _, raw = envelope("s", 1, 1)
        await publish(js, raw, msg_id="first")
        await publish(js, raw, msg_id="second")  # a redelivery the server cannot dedupe
        _, raw2 = envelope("s", 2, 2)
        await publish(js, raw2)
        assert await h.run_until(h.consumer(), [1, 2]) == [1, 2]
        await asyncio.sleep(0.2)
        assert await h.effects() == [1, 2]


class TestRetries:
    async def test_transient_failure_is_retried_after_a_growing_delay_and_succeeds(
        self, pool: asyncpg.Pool, schema: str, js: JetStreamContext
    ) -> None:
        h = Harness(pool, schema, js)
        await h.setup()
        h.failures[1] = 2
        _, raw = envelope("s", 1, 1)
        await publish(js, raw)
        assert await h.run_until(h.consumer(), [1]) == [1]
        times = [t for n, t in h.calls if n == 1]
        assert len(times) == 3  # noqa: PLR2004
        assert times[1] - times[0] >= 0.18  # noqa: PLR2004 - first retry after ~0.2 s
        assert times[2] - times[1] >= 0.38  # noqa: PLR2004 - second after ~0.4 s: the delay grows

    async def test_later_events_of_the_same_stream_wait_for_the_retried_one(
        self, pool: asyncpg.Pool, schema: str, js: JetStreamContext
    ) -> None:
        h = Harness(pool, schema, js)
        await h.setup()
        h.failures[1] = 1
        for v, n in [(1, 1), (2, 2), (3, 3)]:
            await publish(js, envelope("retiree-a", v, n)[1])
        await publish(js, envelope("retiree-b", 1, 10)[1])
        got = await h.run_until(h.consumer(), [10, 1, 2, 3])
        assert [n for n in got if n < 10] == [1, 2, 3]  # noqa: PLR2004 - recorded order within the stream
        assert sorted(got) == [1, 2, 3, 10]


class TestDeadLetters:
    async def test_poison_message_goes_to_the_dead_letter_subject_and_later_events_flow(
        self, pool: asyncpg.Pool, schema: str, js: JetStreamContext
    ) -> None:
        h = Harness(pool, schema, js)
        await h.setup()
        h.failures[1] = -1
        poison_id, poison = envelope("p", 1, 1)
        await publish(js, poison)
        await publish(js, envelope("q", 1, 2)[1])
        dlq = await js.pull_subscribe(subjects.dead_letter("test-consumer"), durable="dlq-check",
                                      stream="WANQING_DLQ")
        h_consumer = h.consumer(max_deliver=3)
        stop = asyncio.Event()
        task = asyncio.create_task(h_consumer.run(stop))
        msgs = await dlq.fetch(1, timeout=10)
        await asyncio.sleep(0.3)
        stop.set()
        await task
        assert await h.effects() == [2]
        dead = msgs[0]
        assert Envelope.model_validate_json(dead.data).event_id == poison_id
        assert dead.headers is not None
        assert "transient failure for 1" in dead.headers["Wanqing-Error"]
        assert dead.headers["Wanqing-Attempts"] == "3"
        assert len([n for n, _ in h.calls if n == 1]) == 3  # noqa: PLR2004
        async with pool.acquire() as conn:
            row = await conn.fetchrow(f"SELECT attempts, dead FROM {schema}.consumer_failures")
        assert (row["attempts"], row["dead"]) == (3, True)


class TestDecodingAtTheEdge:
    async def test_an_event_that_does_not_match_its_contract_is_dead_lettered_and_never_handled(
        self, pool: asyncpg.Pool, schema: str, js: JetStreamContext
    ) -> None:
        h = Harness(pool, schema, js)
        await h.setup()
        left: list[InterestGroupLeft] = []

        async def on_left(_conn: asyncpg.Connection, event: InterestGroupLeft, _meta: EventMeta) -> None:
            left.append(event)

        bad_id, bad = envelope("p", 1, 1, data={"retiree_id": "not-a-uuid", "group": "1"})
        await publish(js, bad)
        mislabelled_id, mislabelled = envelope("m", 1, 3)  # a group-joined envelope on another type's subject
        await publish(js, mislabelled, type_="InterestGroupLeft")
        await publish(js, envelope("q", 1, 2)[1])
        dlq = await js.pull_subscribe(subjects.dead_letter("test-consumer"), durable="dlq-decode",
                                      stream="WANQING_DLQ")
        consumer = Consumer(pool=pool, schema=schema, js=js, spec=ConsumerSpec(
            name="test-consumer", routes=Routes.of({InterestGroupJoined: h.handler, InterestGroupLeft: on_left})))
        stop = asyncio.Event()
        task = asyncio.create_task(consumer.run(stop))
        dead: list[Msg] = []
        while len(dead) < 2:  # noqa: PLR2004 - the two bad messages
            dead += await dlq.fetch(2 - len(dead), timeout=10)
        await asyncio.sleep(0.5)
        stop.set()
        await task
        assert await h.effects() == [2]  # only the good event reached a handler
        assert left == []
        reasons = {Envelope.model_validate_json(m.data).event_id: (m.headers or {})["Wanqing-Error"] for m in dead}
        assert "does not match its contract" in reasons[bad_id]
        assert "retiree_id" in reasons[bad_id]
        assert "the subject names InterestGroupLeft, the envelope InterestGroupJoined" in reasons[mislabelled_id]

    async def test_a_unit_that_would_escape_a_folder_or_disagrees_with_the_subject_is_dead_lettered(
        self, pool: asyncpg.Pool, schema: str, js: JetStreamContext
    ) -> None:
        """Even from the owner: the forged RetirementApproved with unit "../../../outside" of the audit, here as
        the unit registration it needs, never reaches a handler; the consumer goes on with the next event.
        """
        h = Harness(pool, schema, js)
        await h.setup()
        registered: list[UnitRegistered] = []

        async def on_unit(_conn: asyncpg.Connection, event: UnitRegistered, _meta: EventMeta) -> None:
            registered.append(event)

        escape_id, escape = envelope("u", 1, 0, type_="UnitRegistered",
                                     data={"code": "../../../outside", "name": "x", "kind": "bureau", "parent": None})
        await publish(js, escape, type_="UnitRegistered")
        moved_id, moved = envelope("m", 1, 4)
        moved = moved.replace(f'"unit":"{UNIT}"'.encode(), b'"unit":"U0009"')  # the subject still says U0007
        await publish(js, moved)
        await publish(js, envelope("q", 1, 5)[1])
        dlq = await js.pull_subscribe(subjects.dead_letter("test-consumer"), durable="dlq-unit", stream="WANQING_DLQ")
        consumer = Consumer(pool=pool, schema=schema, js=js, spec=ConsumerSpec(
            name="test-consumer", routes=Routes.of({InterestGroupJoined: h.handler, UnitRegistered: on_unit})))
        stop = asyncio.Event()
        task = asyncio.create_task(consumer.run(stop))
        dead: list[Msg] = []
        while len(dead) < 2:  # noqa: PLR2004 - the two bad messages
            dead += await dlq.fetch(2 - len(dead), timeout=10)
        await asyncio.sleep(0.5)
        stop.set()
        await task
        assert (await h.effects(), registered) == ([5], [])
        reasons = {Envelope.model_validate_json(m.data).event_id: (m.headers or {})["Wanqing-Error"] for m in dead}
        assert "code" in reasons[escape_id] and "does not match its contract" in reasons[escape_id]
        assert "the subject names unit U0007, the envelope U0009" in reasons[moved_id]

    def test_a_consumer_is_subscribed_to_exactly_the_types_it_routes_on_their_owners_subjects(self) -> None:
        async def on_left(_conn: asyncpg.Connection, _event: InterestGroupLeft, _meta: EventMeta) -> None:
            return None

        spec = ConsumerSpec(name="c", routes=Routes.of({InterestGroupLeft: on_left}))
        assert spec.filter_subjects == ("wanqing.evt.*.profiles.InterestGroupLeft",)

    def test_a_handler_routed_another_class_than_it_takes_is_refused_at_start(self) -> None:
        async def on_left(_conn: asyncpg.Connection, _event: InterestGroupLeft, _meta: EventMeta) -> None:
            return None

        with pytest.raises(TypeError, match="takes InterestGroupLeft but is routed InterestGroupJoined"):
            Routes.of({InterestGroupJoined: on_left})
