"""One NATS connection for many commands and queries, with bounded concurrency and safe retries."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError

from contracts import subjects
from contracts.base import Actor
from wanqing import messages
from wanqing.access import Access, Credentials

T = TypeVar("T")


class RefusedError(RuntimeError):
    def __init__(self, what: str, reply: dict[str, Any]) -> None:
        super().__init__(f"{what} refused: {reply.get('code')}: {reply.get('message')}")
        self.reply = reply


class Bus:
    """Commands and queries over one connection; a lost reply is retried with the same command id."""

    def __init__(self, nc: Client, credentials: Credentials, district: str, concurrency: int = 16) -> None:
        self.nc = nc
        self.credentials = credentials  # the operator's: it acts for the district office and every clerk
        self.office = {"user": "lgj-01", "role": "district_office", "unit": district}
        self.limit = asyncio.Semaphore(concurrency)
        self.sent = 0

    @classmethod
    async def connect(cls, access: Access, district: str, concurrency: int = 16) -> Bus:
        return cls(await messages.connect(access.nats_url, access.nats), access.credentials, district, concurrency)

    async def close(self) -> None:
        await self.nc.drain()

    async def _request(self, subject: str, body: dict[str, Any], actor: dict[str, str], wait_s: float,
                       ) -> dict[str, Any]:
        payload = json.dumps(body, ensure_ascii=False, default=str).encode()
        who = Actor.model_validate(actor)
        last: Exception | None = None
        for attempt in range(6):
            try:
                async with self.limit:
                    headers = await self.credentials.headers(self.nc, who)  # fresh on each try: it lives a minute
                    msg = await self.nc.request(subject, payload, timeout=wait_s, headers=headers)
            except (NatsTimeoutError, NoRespondersError) as exc:  # a service restarting, or busy
                last = exc
                await asyncio.sleep(0.5 * (attempt + 1))
                continue
            reply: dict[str, Any] = json.loads(msg.data)
            return reply
        msg_text = f"no answer on {subject}: {type(last).__name__}"
        raise messages.NoAnswerError(msg_text)

    async def send(  # noqa: PLR0913 - the message and how to send it
        self, service: str, command: str, body: dict[str, Any], actor: dict[str, str] | None = None,
                   *, check: bool = True, wait_s: float = 30) -> dict[str, Any]:
        full = {"command_id": str(uuid.uuid4()), **body}
        reply = await self._request(subjects.command(service, command), full, actor or self.office, wait_s)
        self.sent += 1
        if check and not reply.get("ok"):
            raise RefusedError(f"{service} {command}", reply)
        return reply

    async def query(  # noqa: PLR0913
        self, service: str, name: str, body: dict[str, Any], actor: dict[str, str] | None = None,
                    *, check: bool = True, wait_s: float = 30) -> Any:
        reply = await self._request(subjects.query(service, name), body, actor or self.office, wait_s)
        if check and not reply.get("ok"):
            raise RefusedError(f"{service} {name}", reply)
        return reply.get("data") if reply.get("ok") else reply


async def gather_all(items: Iterable[T], work: Callable[[T], Awaitable[Any]]) -> list[Any]:
    """Run `work` for every item at once; the Bus's semaphore bounds what is in flight."""
    return list(await asyncio.gather(*(work(i) for i in items)))
