"""The reference client of an agency's feed (docs/agencies.md): what `wanqing agency tail` runs, and what an
agency's own integration can copy.

It connects as the agency (its nkey, its own account), binds a durable pull consumer of its stream FEED (made
once, kept by the server: after a disconnection it resumes where its acknowledgements stopped), fetches in
order, hands each message to the caller, and acknowledges it only after the caller returned: a message the
client crashed on is delivered again. Messages are FeedMessage (contracts/feed.py), checkpoints are the signed
checkpoints of docs/audit.md (the agency is a witness).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from contracts import subjects
from contracts.base import LOCAL_TZ
from contracts.feed import FEED_STREAM, FeedMessage

FETCH_WAIT_S = 1.0


@dataclass(frozen=True)
class Received:
    sequence: int  # the position in the agency's own stream
    subject: str
    message: FeedMessage | None  # None for a checkpoint
    checkpoint: dict[str, Any] | None


def agency_options(seed_file: str, agency: str) -> dict[str, str]:
    """nats-py options to connect as the agency: its nkey seed, and its own inbox prefix (the only subjects it
    may hear besides its stream's deliveries).
    """
    return {"nkeys_seed": seed_file, "inbox_prefix": subjects.inbox_prefix(f"agency-{agency}")}


def parse(subject: str, data: bytes, sequence: int) -> Received:
    if subject.startswith("witness."):
        return Received(sequence, subject, None, json.loads(data))
    return Received(sequence, subject, FeedMessage.model_validate_json(data), None)


async def consume(  # noqa: PLR0913 - the client's few settings, each with a default
    nc: Client, handle: Callable[[Received], Awaitable[None]], *, durable: str = "feed-client",
    limit: int | None = None, idle_stop_s: float | None = None, batch: int = 100,
) -> int:
    """Handle the feed in order, acknowledging each message after `handle` returns; the count handled. Stops
    after `limit` messages, or when nothing came for `idle_stop_s` seconds (None: runs until cancelled).
    """
    js = nc.jetstream()
    config = ConsumerConfig(durable_name=durable, ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL,
                            ack_wait=60, max_ack_pending=batch * 2)
    await js.add_consumer(FEED_STREAM, config)  # create-or-update: an existing durable keeps its position
    sub = await js.pull_subscribe_bind(durable, FEED_STREAM)
    handled, idle = 0, 0.0
    try:
        while limit is None or handled < limit:
            want = batch if limit is None else min(batch, limit - handled)
            try:
                msgs = await sub.fetch(want, timeout=FETCH_WAIT_S)
            except (nats.errors.TimeoutError, TimeoutError):
                idle += FETCH_WAIT_S
                if idle_stop_s is not None and idle >= idle_stop_s:
                    break
                continue
            idle = 0.0
            for msg in msgs:
                await handle(parse(msg.subject, msg.data, int(msg.metadata.sequence.stream)))
                await msg.ack_sync()  # acknowledged once handled: a crash before this delivers it again
                handled += 1
    finally:
        await sub.unsubscribe()
    return handled


async def connect(url: str, seed_file: str, agency: str) -> Client:
    return await nats.connect(url, connect_timeout=5, max_reconnect_attempts=-1, **agency_options(seed_file, agency))


def summary(item: Received, short: str) -> str:
    """One line for a person at the agency to read (Chinese), then the message itself."""
    if item.message is None:
        body = (item.checkpoint or {}).get("body", {})
        return (f"#{item.sequence} 审计检查点 {body.get('service')} 第{body.get('seq')}号 "
                f"（覆盖至第 {body.get('position')} 条事件）")
    m = item.message
    subject = f"对象 {m.subject}" if m.subject else "（仅计数）"
    when = m.occurred_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
    return f"#{item.sequence} {short} 收到 {m.type}（{when} 北京时间）单位 {m.unit} {subject}"


async def run_tail(  # noqa: PLR0913 - what `wanqing agency tail` passes through
    url: str, seed_file: str, agency: str, short: str, *, durable: str, limit: int | None,
    idle_stop_s: float | None, out: Callable[[str], None],
) -> int:
    nc = await connect(url, seed_file, agency)
    try:
        async def show(item: Received) -> None:
            out(summary(item, short))
            if item.message is not None:
                out("    " + item.message.model_dump_json())
        return await consume(nc, show, durable=durable, limit=limit, idle_stop_s=idle_stop_s)
    finally:
        await nc.close()
