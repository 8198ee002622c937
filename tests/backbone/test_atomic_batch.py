"""JetStream atomic batches as the relay uses them: all or nothing, refused with a code, never half stored."""

from __future__ import annotations

import dataclasses

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from backbone import atomic_batch
from backbone.atomic_batch import BatchRefused, Message
from contracts import subjects
from wanqing.streams import load_definitions


def messages(prefix: str, n: int, subject: str = subjects.event("U0001", "care", "Something")) -> list[Message]:
    return [Message(subject, f'{{"n":{i}}}'.encode(), f"{prefix}-{i}") for i in range(n)]


async def stored(js: JetStreamContext, stream: str = "WANQING") -> int:
    return (await js.stream_info(stream)).state.messages


class TestAtomicBatch:
    async def test_a_committed_batch_is_stored_whole_and_in_order(self, nc: Client, js: JetStreamContext) -> None:
        seq = await atomic_batch.publish(nc, "WANQING", messages("a", 1000), 10)
        assert seq == 1000  # noqa: PLR2004
        sub = await js.pull_subscribe(subjects.ALL_EVENTS, durable="check")
        got = await sub.fetch(1000, timeout=5)
        assert [m.headers["Nats-Msg-Id"] for m in got if m.headers] == [f"a-{i}" for i in range(1000)]

    async def test_a_repeated_message_id_refuses_the_whole_batch(self, nc: Client, js: JetStreamContext) -> None:
        await atomic_batch.publish(nc, "WANQING", messages("a", 10), 10)
        # A relay restarted from an old checkpoint sends old and new events together.
        again = messages("a", 10)[5:] + messages("b", 5)
        with pytest.raises(BatchRefused) as refused:
            await atomic_batch.publish(nc, "WANQING", again, 10)
        assert refused.value.code == atomic_batch.DUPLICATE_MESSAGE_ID
        assert await stored(js) == 10  # none of the five new ones either  # noqa: PLR2004

    async def test_a_stream_without_atomic_publish_refuses_and_stores_nothing(
        self, nc: Client, js: JetStreamContext
    ) -> None:
        plain = dataclasses.replace(next(c for c in load_definitions() if c.name == "WANQING"), name="PLAIN",
                                    subjects=["plain.>"], allow_atomic=False)
        await js.add_stream(plain)
        with pytest.raises(BatchRefused) as refused:
            await atomic_batch.publish(nc, "PLAIN", messages("p", 3, subject="plain.x"), 10)
        assert refused.value.code == atomic_batch.DISABLED
        assert await stored(js, "PLAIN") == 0

    async def test_a_message_outside_the_expected_stream_refuses_the_batch(
        self, nc: Client, js: JetStreamContext
    ) -> None:
        dlq = [*messages("d", 2), Message(subjects.dead_letter("somebody"), b"{}", "d-x")]  # WANQING_DLQ's
        with pytest.raises(BatchRefused):
            await atomic_batch.publish(nc, "WANQING", dlq, 10)
        assert await stored(js) == 0
        assert await stored(js, "WANQING_DLQ") == 0

    async def test_batch_sizes_outside_the_server_limit_are_not_sent(self, nc: Client, js: JetStreamContext) -> None:
        for n in (0, atomic_batch.MAX_MESSAGES + 1):
            with pytest.raises(ValueError, match="1 to 1000 messages"):
                await atomic_batch.publish(nc, "WANQING", messages("x", n), 10)
        assert await stored(js) == 0
