"""The retiree's name for a document, asked of profiles at generation time (events carry it sealed).

A real office prints the name exactly as the archive holds it, so staff do not retype it; if profiles cannot be
reached the command is refused as `unavailable` and can simply be sent again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from uuid import UUID

import nats
import nats.errors
from nats.aio.client import Client
from pydantic import TypeAdapter, ValidationError

from contracts import subjects
from contracts.base import Answer, QueryReply, Refused
from contracts.errors import DomainError, ErrorCode
from contracts.profiles import RetireeCard

CEREMONY_ACTOR = {"user": "ceremony", "role": "system", "unit": "DISTRICT"}
REPLY: TypeAdapter[Answer | Refused] = TypeAdapter(QueryReply)


@dataclass
class ArchiveLookup:
    """A lazily opened NATS connection of this process (the runtime's broker is not shared with handlers)."""

    nats_url: str
    timeout_s: float = 5.0
    _nc: Client | None = field(default=None, init=False)

    async def _connection(self) -> Client:
        if self._nc is None or self._nc.is_closed:
            self._nc = await nats.connect(self.nats_url, connect_timeout=5, max_reconnect_attempts=-1)
        return self._nc

    async def retiree_name(self, retiree_id: UUID, purpose: str) -> str:
        body = {"actor": CEREMONY_ACTOR, "retiree_id": str(retiree_id), "purpose": purpose}
        try:
            nc = await self._connection()
            msg = await nc.request(subjects.query("profiles", "GetRetiree"), json.dumps(body).encode(),
                                   timeout=self.timeout_s)
        except (OSError, nats.errors.Error) as exc:
            raise DomainError(ErrorCode.UNAVAILABLE, f"the archive (profiles) did not answer: {exc!r}",
                              zh="暂时无法从退休人员档案读取姓名，请稍后再试") from exc
        try:
            reply = REPLY.validate_json(msg.data)
            if isinstance(reply, Refused):
                raise DomainError(ErrorCode.UNAVAILABLE, f"the archive refused the name lookup: {reply.message}",
                                  zh=f"退休人员档案未能提供姓名：{reply.message}")
            card = RetireeCard.model_validate(reply.data)
        except ValidationError as exc:
            raise DomainError(ErrorCode.UNAVAILABLE, f"the archive's answer was not understood: {exc}",
                              zh="暂时无法从退休人员档案读取姓名，请稍后再试") from exc
        name = card.reachable_name
        if name is None:
            raise DomainError(ErrorCode.CONFLICT, "the retiree's name is not available in the archive (erased?)",
                              zh="档案中已无该退休人员的姓名（个人信息可能已删除），无法生成文书")
        return name

    async def close(self) -> None:
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.close()
