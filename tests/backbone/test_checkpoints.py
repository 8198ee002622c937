"""The checkpointer covers only final positions, and signs what a verifier recomputes (backbone/checkpoints.py)."""

from __future__ import annotations

import asyncio
import random

import asyncpg

from backbone.checkpoints import Checkpointer, Coverage, check_signature, extend, stored_checkpoints
from backbone.credentials import new_signing_key
from tests.backbone.helpers import make_store, meta, new_event


def _checkpointer(database_url: str, store: object, key: object, **kw: object) -> Checkpointer:
    return Checkpointer(dsn=database_url, store=store, service="svc", key=key, nc=None, **kw)  # type: ignore[arg-type]


async def test_a_position_taken_by_an_open_writer_holds_the_horizon_back(
    pool: asyncpg.Pool, schema: str, database_url: str,
) -> None:
    store = await make_store(pool, schema)
    cp = _checkpointer(database_url, store, new_signing_key())
    conn = await asyncpg.connect(database_url)
    slow = await pool.acquire()
    try:
        await store.append(conn, "s-1", 0, [new_event(1)], meta())
        tx = slow.transaction()
        await tx.start()
        held = (await store.append(slow, "s-slow", 0, [new_event(2)], meta()))[0].position  # not committed
        later = (await store.append(conn, "s-2", 0, [new_event(3)], meta()))[0].position  # committed
        assert later > held
        for _ in range(3):
            assert await cp.final_position(conn) < held  # `later` is visible, but `held` could still commit
        await tx.commit()
        assert await cp.final_position(conn) >= later
    finally:
        await pool.release(slow)
        await conn.close()


async def test_signed_checkpoints_under_out_of_order_commits_match_the_table(
    pool: asyncpg.Pool, schema: str, database_url: str,
) -> None:
    """Writers commit out of order with random delays and 10 % rollbacks while the checkpointer runs: every
    checkpoint's global hash is the one recomputed afterwards from the table up to its position.
    """
    store = await make_store(pool, schema)
    key = new_signing_key()
    checkpointer = _checkpointer(database_url, store, key, every_events=5, every_s=0.05)
    stop = asyncio.Event()

    async def writer(w: int) -> None:
        for i in range(25):
            async with pool.acquire() as c:
                tx = c.transaction()
                await tx.start()
                await store.append(c, f"w{w}-{i}", 0, [new_event(i)], meta())
                await asyncio.sleep(random.random() * 0.01)
                if random.random() < 0.1:  # noqa: PLR2004
                    await tx.rollback()
                else:
                    await tx.commit()

    async def run_checkpointer() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            while not stop.is_set():
                await checkpointer.tick(conn)
                await asyncio.sleep(0.005)
            await checkpointer.tick(conn)
            await checkpointer.tick(conn)
        finally:
            await conn.close()

    task = asyncio.create_task(run_checkpointer())
    await asyncio.gather(*(writer(w) for w in range(6)))
    await asyncio.sleep(0.2)
    stop.set()
    await task
    async with pool.acquire() as conn:
        signed = await stored_checkpoints(conn, schema)
        assert len(signed) >= 3  # noqa: PLR2004
        public = {"svc": key.public_key()}
        total = await conn.fetchval(f"SELECT count(*) FROM {schema}.events")
        for cp in signed:
            check_signature(cp, public)
            again = await extend(conn, schema, Coverage(), cp.position)
            assert (again.count, again.events_hash.hex()) == (cp.body["count"], cp.body["events_hash"]), cp.seq
        assert signed[-1].body["count"] == total
        assert signed[-1].body["previous"] == signed[-2].digest
