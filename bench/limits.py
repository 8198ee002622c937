"""Raw JetStream publish limits, measured in the same run as what they bound.

Two limits, because the relay has two ways to publish: atomic batches where the stream allows them (the normal
case) and one `publish_async` per event (the fallback, and the limit issue 2 named). Both publish to a stream
configured like WANQING (deploy/streams.json, same storage and duplicate window) with `Nats-Msg-Id` set, on a
server running with `sync_interval: always`, and wait until JetStream acknowledged every message.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
import uuid

from nats.aio.client import Client
from nats.js.errors import NotFoundError

from backbone import atomic_batch
from wanqing.streams import load_definitions

RAW_SUBJECT_ROOT = "bench.raw"


async def _fresh_stream(nc: Client, name: str) -> None:
    js = nc.jetstream()
    ours = next(c for c in load_definitions() if c.name == "WANQING")
    with contextlib.suppress(NotFoundError):
        await js.delete_stream(name)
    await js.add_stream(dataclasses.replace(ours, name=name, subjects=[f"{RAW_SUBJECT_ROOT}.{name}.>"]))


async def _stored(nc: Client, name: str) -> int:
    stored = int((await nc.jetstream().stream_info(name)).state.messages)
    await nc.jetstream().delete_stream(name)
    return stored


async def publish_async_per_s(nc: Client, n: int, payload: bytes, window: int = 1000) -> float:
    """nats-py `publish_async` of n messages, at most `window` unacknowledged."""
    name = "BENCH_RAW_ASYNC"
    await _fresh_stream(nc, name)
    js = nc.jetstream(publish_async_max_pending=window)
    ids = [str(uuid.uuid4()) for _ in range(n)]
    t0 = time.perf_counter()
    futures = [await js.publish_async(f"{RAW_SUBJECT_ROOT}.{name}.{i % 200}", payload, stream=name,
                                      headers={"Nats-Msg-Id": msg_id}) for i, msg_id in enumerate(ids)]
    await asyncio.wait_for(asyncio.gather(*futures), 300)
    seconds = time.perf_counter() - t0
    if (stored := await _stored(nc, name)) != n:
        raise RuntimeError(f"raw publish_async stored {stored} of {n}")
    return n / seconds


async def atomic_batches_per_s(nc: Client, n: int, payload: bytes) -> float:
    """Publish n messages in atomic batches of the largest size, one batch at a time (as the relay sends them)."""
    name = "BENCH_RAW_ATOMIC"
    await _fresh_stream(nc, name)
    messages = [atomic_batch.Message(f"{RAW_SUBJECT_ROOT}.{name}.{i % 200}", payload, str(uuid.uuid4()))
                for i in range(n)]
    t0 = time.perf_counter()
    for start in range(0, n, atomic_batch.MAX_MESSAGES):
        await atomic_batch.publish(nc, name, messages[start:start + atomic_batch.MAX_MESSAGES], 30.0)
    seconds = time.perf_counter() - t0
    if (stored := await _stored(nc, name)) != n:
        raise RuntimeError(f"raw atomic batches stored {stored} of {n}")
    return n / seconds
