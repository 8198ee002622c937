"""What a service asks another service at run time, as itself: its own short-lived credential on each request.

The answer is typed (Answer or Refused); a peer that cannot be reached (no connection, no responder, no answer in
time) is a PeerUnavailable, which callers treat as transient.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import nats.errors
from nats.aio.client import Client
from pydantic import TypeAdapter

from backbone.credentials import Signer
from contracts import subjects
from contracts.base import Answer, QueryReply, Refused

REPLY: TypeAdapter[Answer | Refused] = TypeAdapter(QueryReply)


class PeerUnavailable(Exception):  # noqa: N818 - named after the state, like asyncio.TimeoutError
    """The other service could not be asked just now; asking again later may work."""


class Asker:
    """Queries on the process's own NATS connection (set once the broker has started)."""

    def __init__(self, connection: Callable[[], Client | None], signer: Signer, timeout_s: float = 5.0) -> None:
        self._connection = connection
        self._signer = signer
        self._timeout = timeout_s

    async def query(self, service: str, name: str, body: dict[str, Any]) -> Answer | Refused:
        """The answer; ValidationError if it is not one (a peer speaking another language is not transient)."""
        nc = self._connection()
        if nc is None or not nc.is_connected:
            msg = f"no NATS connection to ask {service}"
            raise PeerUnavailable(msg)
        try:
            reply = await nc.request(subjects.query(service, name), json.dumps(body, ensure_ascii=False).encode(),
                                     timeout=self._timeout, headers=self._signer.headers())
        except (OSError, nats.errors.Error) as exc:
            msg = f"{service} did not answer {name}: {type(exc).__name__}"
            raise PeerUnavailable(msg) from exc
        return REPLY.validate_json(reply.data)
