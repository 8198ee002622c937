"""Store contract suite: append/load, optimistic concurrency, commit-safe tailing, per-stream order, hash chain."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from backbone.chain import verify
from backbone.store import Checkpoint, ConcurrencyConflict, EventStore
from tests.backbone.helpers import make_store, meta, new_event


class TestAppendAndLoad:
    async def test_appended_events_load_in_version_order(self, pool: asyncpg.Pool, schema: str) -> None:
        store = await make_store(pool, schema)
        async with pool.acquire() as conn:
            await store.append(conn, "s-1", 0, [new_event(1), new_event(2)], meta())
            await store.append(conn, "s-1", 2, [new_event(3)], meta())
            loaded = await store.load(conn, "s-1")
        assert [e.version for e in loaded] == [1, 2, 3]
        assert [e.data["n"] for e in loaded] == [1, 2, 3]
        assert loaded[0].stream_id == "s-1"
        assert loaded[0].actor.user == "tester"

    async def test_stale_expected_version_is_a_conflict(self, pool: asyncpg.Pool, schema: str) -> None:
        store = await make_store(pool, schema)
        async with pool.acquire() as conn:
            await store.append(conn, "s-1", 0, [new_event(1)], meta())
            with pytest.raises(ConcurrencyConflict):
                await store.append(conn, "s-1", 0, [new_event(2)], meta())
            assert [e.data["n"] for e in await store.load(conn, "s-1")] == [1]

    async def test_expected_version_ahead_of_the_stream_is_a_conflict(self, pool: asyncpg.Pool, schema: str) -> None:
        store = await make_store(pool, schema)
        async with pool.acquire() as conn:
            with pytest.raises(ConcurrencyConflict, match="version 0"):
                await store.append(conn, "s-1", 3, [new_event(1)], meta())
            assert await store.load(conn, "s-1") == []

    async def test_concurrent_appends_at_the_same_version_exactly_one_wins(
        self, pool: asyncpg.Pool, schema: str
    ) -> None:
        store = await make_store(pool, schema)
        async with pool.acquire() as conn:
            await store.append(conn, "s-1", 0, [new_event(0)], meta())

        async def attempt(i: int) -> bool:
            async with pool.acquire() as conn:
                try:
                    await store.append(conn, "s-1", 1, [new_event(i)], meta())
                except ConcurrencyConflict:
                    return False
                return True

        results = await asyncio.gather(*(attempt(i) for i in range(10)))
        assert results.count(True) == 1
        async with pool.acquire() as conn:
            assert [e.version for e in await store.load(conn, "s-1")] == [1, 2]

    async def test_batch_append_across_streams(self, pool: asyncpg.Pool, schema: str) -> None:
        store = await make_store(pool, schema)
        async with pool.acquire() as conn:
            await store.append(conn, "old", 0, [new_event(0)], meta())
            recorded = await store.append_batch(
                conn, [("old", 1, [new_event(1)]), ("new", 0, [new_event(2), new_event(3)])], meta()
            )
            assert sorted((r.stream_id, r.version) for r in recorded) == [("new", 1), ("new", 2), ("old", 2)]
            assert (await verify(conn, schema)).ok
            with pytest.raises(ConcurrencyConflict):
                await store.append_batch(conn, [("old", 1, [new_event(9)])], meta())


class TestCommitSafeTailing:
    async def test_tailer_sees_every_committed_event_exactly_once_under_out_of_order_commits(
        self, pool: asyncpg.Pool, schema: str
    ) -> None:
        """Writers take their transaction ids in one order and commit in another, some roll back."""
        store = await make_store(pool, schema)
        committed: set[uuid.UUID] = set()
        seen: list[uuid.UUID] = []
        writers_done = asyncio.Event()
        rng = random.Random(7)

        async def writer(w: int) -> None:
            for i in range(25):
                ev = new_event(i)
                async with pool.acquire() as conn:
                    tx = conn.transaction()
                    await tx.start()
                    await store.append(conn, f"w{w}-{i % 3}-{uuid.uuid4().hex[:6]}", 0, [ev], meta())
                    await asyncio.sleep(rng.random() * 0.02)  # hold the transaction open: commit order shuffles
                    if rng.random() < 0.1:  # noqa: PLR2004
                        await tx.rollback()
                        continue
                    await tx.commit()
                committed.add(ev.event_id)

        async def tailer() -> None:
            cp = Checkpoint()
            async with pool.acquire() as conn:
                while True:
                    batch = await store.tail(conn, cp, 7)
                    for ev in batch:
                        assert ev.checkpoint > cp
                        seen.append(ev.event_id)
                        cp = ev.checkpoint
                    if not batch:
                        if writers_done.is_set():
                            return
                        await asyncio.sleep(0.001)

        tail_task = asyncio.create_task(tailer())
        await asyncio.gather(*(writer(w) for w in range(8)))
        writers_done.set()
        await asyncio.wait_for(tail_task, 30)
        assert len(seen) == len(set(seen)), "an event was delivered twice"
        assert set(seen) == committed, f"missed {len(committed - set(seen))} committed events"
        assert len(committed) > 150  # noqa: PLR2004 - the run really exercised concurrency

    async def test_plain_position_order_would_have_skipped(self, pool: asyncpg.Pool, schema: str) -> None:
        """The hazard itself: a later position commits first; the tailer must wait for the earlier one."""
        store = await make_store(pool, schema)
        slow = await pool.acquire()
        try:
            tx = slow.transaction()
            await tx.start()
            await store.append(slow, "slow", 0, [new_event(1)], meta())  # lower position, still open
            async with pool.acquire() as fast:
                await store.append(fast, "fast", 0, [new_event(2)], meta())
                assert await store.tail(fast, Checkpoint(), 10) == []  # held back by the open transaction
                await tx.commit()
                tailed = await store.tail(fast, Checkpoint(), 10)
            assert [t.envelope for t in tailed]
            assert len(tailed) == 2  # noqa: PLR2004
        finally:
            await pool.release(slow)


class TestStreamOrder:
    async def test_append_refused_when_it_would_sort_before_the_previous_event(
        self, pool: asyncpg.Pool, schema: str
    ) -> None:
        """A transaction that got its id before the previous event's writer must not append after it."""
        store = await make_store(pool, schema)
        early = await pool.acquire()
        try:
            tx = early.transaction()
            await tx.start()
            await early.execute(f"CREATE TEMP TABLE t_{uuid.uuid4().hex[:6]} (x int)")
            await early.fetchval("SELECT pg_current_xact_id()")  # takes its transaction id now
            async with pool.acquire() as other:
                await store.append(other, "s", 0, [new_event(1)], meta())
            with pytest.raises(ConcurrencyConflict, match="retry"):
                await store.append(early, "s", 1, [new_event(2)], meta())
            await tx.rollback()
        finally:
            await pool.release(early)


class TestHashChain:
    async def test_untouched_history_verifies(self, pool: asyncpg.Pool, schema: str) -> None:
        store = await make_store(pool, schema)
        async with pool.acquire() as conn:
            for s in range(3):
                for v in range(4):
                    await store.append(conn, f"s{s}", v, [new_event(v)], meta())
            result = await verify(conn, schema)
        assert result.ok
        assert result.events == 12  # noqa: PLR2004

    async def test_altering_one_event_is_detected_and_its_position_named(
        self, pool: asyncpg.Pool, schema: str
    ) -> None:
        store = await make_store(pool, schema)
        async with pool.acquire() as conn:
            for v in range(5):
                await store.append(conn, "victim", v, [new_event(v)], meta())
            await store.append(conn, "bystander", 0, [new_event(0)], meta())
            target = await conn.fetchval(f"SELECT position FROM {schema}.events WHERE stream_id='victim' AND version=3")
            await conn.execute(
                f"UPDATE {schema}.events SET envelope = replace(convert_from(envelope,'UTF8'), '\"n\":2', '\"n\":9')"
                "::bytea WHERE position = $1",
                target,
            )
            result = await verify(conn, schema)
        assert not result.ok
        assert [b.position for b in result.breaks] == [target]
        assert "altered" in result.breaks[0].problem

    async def test_deleting_an_event_is_detected(self, pool: asyncpg.Pool, schema: str) -> None:
        store = await make_store(pool, schema)
        async with pool.acquire() as conn:
            for v in range(3):
                await store.append(conn, "victim", v, [new_event(v)], meta())
            await conn.execute(f"DELETE FROM {schema}.events WHERE stream_id='victim' AND version=2")
            result = await verify(conn, schema)
        assert [b.version for b in result.breaks] == [3]


def test_store_quotes_schema_names() -> None:
    with pytest.raises(ValueError, match="invalid schema"):
        EventStore("x; DROP TABLE y")


class TestSystemDecisions:
    async def test_a_decision_the_service_makes_itself_is_the_services_caused_by_its_trigger(
        self, pool: asyncpg.Pool, schema: str
    ) -> None:
        from backbone.events import EventMeta  # noqa: PLC0415
        from backbone.recording import Recorder  # noqa: PLC0415
        from contracts.profiles import InterestGroupJoined  # noqa: PLC0415

        store = await make_store(pool, schema)
        recorder = Recorder(service="care", store=store)
        now = datetime.now(UTC)
        cause = EventMeta(event_id=uuid.uuid4(), stream_id="retiree-x", version=3, unit="U0001", occurred_at=now,
                          recorded_at=now, correlation_id=uuid.uuid4(), causation_id=None, actor=meta().actor)
        async with pool.acquire() as conn:
            ctx = recorder.system(conn, now, cause=cause)
            reply = await ctx.record("s-1", 0, [InterestGroupJoined(retiree_id=uuid.uuid4(), group="x")], unit="U0001")
            [env] = await store.load(conn, "s-1")
        assert reply.event_ids == (env.event_id,)
        assert (env.actor.user, env.actor.role.value) == ("care", "system")
        assert (env.correlation_id, env.causation_id) == (cause.correlation_id, cause.event_id)
