# ruff: noqa: INP001, T201 - a standalone script for agencies to copy; it prints what it receives
"""An agency's own consumer of its Wanqing feed: copy this file, change `handle`, run it.

Needs only nats-py (`pip install nats-py==2.16.0`). It connects with the agency's nkey seed (the file the district's
operator handed over), reads the agency's own stream FEED with a durable consumer (the server keeps its position:
after any disconnection it resumes where the last acknowledgement stopped), and acknowledges each message only
after `handle` has stored it. A crash before the acknowledgement means the message comes again: make `handle`
idempotent by `message_id`.

    python example_consumer.py nats://HOST:4222 agency-hrss.nk hrss [durable]
"""

from __future__ import annotations

import asyncio
import json
import sys

import nats
import nats.errors
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

STREAM = "FEED"
DURABLE = "feed-client"  # the platform's operator sees this consumer's acknowledgements (`wanqing agency status`)


async def handle(subject: str, message: dict) -> None:
    """Store the message in your own system. Replace this."""
    if subject.startswith("witness."):
        body = message["body"]
        print(f"checkpoint {body['service']} #{body['seq']} up to position {body['position']}")  # keep these
    elif message["type"] == "SubjectErased":
        print(f"erase everything you hold of subject {message['subject']}")
    else:
        print(f"{message['type']} subject={message['subject']} data={message['data']}")


async def main(url: str, seed: str, agency: str, durable: str = DURABLE) -> None:
    nc = await nats.connect(url, nkeys_seed=seed, inbox_prefix=f"_INBOX_agency-{agency}",
                            max_reconnect_attempts=-1)
    js = nc.jetstream()
    await js.add_consumer(STREAM, ConsumerConfig(durable_name=durable, ack_policy=AckPolicy.EXPLICIT,
                                                 deliver_policy=DeliverPolicy.ALL, ack_wait=60))
    sub = await js.pull_subscribe_bind(durable, STREAM)
    while True:
        try:
            batch = await sub.fetch(100, timeout=5)
        except nats.errors.TimeoutError:
            continue
        for msg in batch:
            await handle(msg.subject, json.loads(msg.data))
            sys.stdout.flush()
            await msg.ack_sync()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
