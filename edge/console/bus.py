"""The console's one NATS connection, as the `console` user: every read a query, every change a command, each
carrying the logged-in person's credential (the services take the actor from it alone).
"""

from __future__ import annotations

import json
import ssl
import uuid
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client
from pydantic import TypeAdapter

from contracts import subjects
from contracts.base import Accepted, Answer, QueryReply, Refused, Reply
from contracts.errors import ErrorCode
from edge.console.settings import ConsoleSettings
from wanqing.access import CONSOLE, Credentials

QUERY_REPLY: TypeAdapter[Answer | Refused] = TypeAdapter(QueryReply)
COMMAND_REPLY: TypeAdapter[Accepted | Refused] = TypeAdapter(Reply)
UNAVAILABLE_ZH = "平台暂时无法处理此请求，请稍后再试；您填写的内容已保留"


def unavailable(what: str) -> Refused:
    return Refused(code=ErrorCode.UNAVAILABLE, message=UNAVAILABLE_ZH, developer_message=what)


class Bus:
    def __init__(self, settings: ConsoleSettings, timeout_s: float = 15.0) -> None:
        self._settings = settings
        self._timeout = timeout_s
        self._nc: Client | None = None

    @property
    def nc(self) -> Client:
        if self._nc is None:
            msg = "the console is not connected to NATS"
            raise RuntimeError(msg)
        return self._nc

    @property
    def connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    def nats_options(self) -> dict[str, Any]:
        """The `console` NATS user (its nkey, its own inbox) and TLS, for every connection the console opens."""
        options: dict[str, Any] = {}
        if self._settings.nats_nkey_file is not None:
            options |= {"nkeys_seed": str(self._settings.nats_nkey_file),
                        "inbox_prefix": subjects.inbox_prefix(CONSOLE)}
        if self._settings.nats_ca_file is not None:
            options["tls"] = ssl.create_default_context(cafile=self._settings.nats_ca_file)
        return options

    async def connect(self) -> None:
        self._nc = await nats.connect(self._settings.nats_url, max_reconnect_attempts=-1, connect_timeout=5,
                                      **self.nats_options())

    async def close(self) -> None:
        if self._nc is not None:
            await self._nc.drain()

    async def _request(self, subject: str, body: dict[str, Any], headers: dict[str, str] | None) -> bytes:
        payload = json.dumps(body, ensure_ascii=False, default=str).encode()
        msg = await self.nc.request(subject, payload, timeout=self._timeout, headers=headers)
        return bytes(msg.data)

    async def query(self, creds: Credentials, service: str, name: str, body: dict[str, Any]) -> Answer | Refused:
        try:
            data = await self._request(subjects.query(service, name), body, await creds.headers(self.nc))
        except (OSError, nats.errors.Error) as exc:
            return unavailable(f"{service} did not answer {name}: {type(exc).__name__}")
        return QUERY_REPLY.validate_json(data)

    async def command(self, creds: Credentials, service: str, name: str, body: dict[str, Any]) -> Accepted | Refused:
        body = {"command_id": str(uuid.uuid4()), **body}
        try:
            data = await self._request(subjects.command(service, name), body, await creds.headers(self.nc))
        except (OSError, nats.errors.Error) as exc:
            return unavailable(f"{service} did not answer {name}: {type(exc).__name__}")
        return COMMAND_REPLY.validate_json(data)

    async def auth(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """Identity's requests without a credential (login, change of password, logout)."""
        try:
            data = await self._request(subjects.auth(name), body, None)
        except (OSError, nats.errors.Error) as exc:
            return unavailable(f"identity did not answer {name}: {type(exc).__name__}").model_dump(mode="json")
        decoded: dict[str, Any] = json.loads(data)
        return decoded
