"""`wanqing tail`: events as they reach the bus, one line each; or the stream WANQING from its beginning."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy

from contracts import subjects
from contracts.base import LOCAL_TZ
from wanqing.messages import connect

STREAM = "WANQING"


def event_line(subject: str, payload: bytes) -> str:
    """When it happened on the platform's clock (Beijing time), subject, stream_id@version, data (compact JSON);
    a non-envelope payload is shown raw. The platform time, not the wall clock, is what business dates follow.
    """
    try:
        env: dict[str, Any] = json.loads(payload)
        data = json.dumps(env.get("data"), ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        when = datetime.fromisoformat(env["occurred_at"]).astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S+08:00")
        return f"{when}  {subject}  {env['stream_id']}@{env['version']}  {data}"
    except (ValueError, KeyError, TypeError):
        return f"?  {subject}  (not an envelope)  {payload.decode(errors='replace')}"


async def tail(  # noqa: PLR0913 - the command's options, passed through
    nats_url: str,
    *,
    nats_options: dict[str, Any] | None = None,
    unit: str | None,
    event_type: str | None,
    from_start: bool,
    limit: int | None,
    out: Callable[[str], None],
) -> int:
    """Print lines until stopped (or `limit` events); returns how many were printed."""
    subject = subjects.events_matching(unit, event_type)
    nc = await connect(nats_url, nats_options, keep_reconnecting=True)
    done = asyncio.Event()
    seen = 0

    async def on_msg(msg: Msg) -> None:
        nonlocal seen
        if done.is_set():
            return
        out(event_line(msg.subject, msg.data))
        seen += 1
        if limit is not None and seen >= limit:
            done.set()

    try:
        if from_start:
            # An ephemeral ordered consumer: gap-free, in stream order, gone when we disconnect.
            await nc.jetstream().subscribe(subject, stream=STREAM, cb=on_msg, ordered_consumer=True,
                                           config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL))
        else:
            await nc.subscribe(subject, cb=on_msg)
        await done.wait()
    finally:
        await nc.close()
    return seen
