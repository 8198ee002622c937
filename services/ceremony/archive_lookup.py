"""The retiree's name for a document, asked of profiles at generation time (events carry it sealed).

A real office prints the name exactly as the archive holds it, so staff do not retype it; if profiles cannot be
reached the command is refused as `unavailable` and can simply be sent again.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from pydantic import ValidationError

from backbone.asking import Asker, PeerUnavailable
from contracts.base import Refused
from contracts.errors import DomainError, ErrorCode
from contracts.profiles import RetireeCard


@dataclass
class ArchiveLookup:
    """Asks profiles as ceremony, on the process's own connection."""

    asker: Asker

    async def retiree_name(self, retiree_id: UUID, purpose: str) -> str:
        body = {"retiree_id": str(retiree_id), "purpose": purpose}
        try:
            reply = await self.asker.query("profiles", "GetRetiree", body)
            if isinstance(reply, Refused):
                raise DomainError(ErrorCode.UNAVAILABLE,
                                  f"the archive refused the name lookup: {reply.developer_message}",
                                  zh=f"退休人员档案未能提供姓名：{reply.message}")
            card = RetireeCard.model_validate(reply.data)
        except PeerUnavailable as exc:
            raise DomainError(ErrorCode.UNAVAILABLE, f"the archive (profiles) did not answer: {exc}",
                              zh="暂时无法从退休人员档案读取姓名，请稍后再试") from exc
        except ValidationError as exc:
            raise DomainError(ErrorCode.UNAVAILABLE, f"the archive's answer was not understood: {exc}",
                              zh="暂时无法从退休人员档案读取姓名，请稍后再试") from exc
        name = card.reachable_name
        if name is None:
            raise DomainError(ErrorCode.CONFLICT, "the retiree's name is not available in the archive (erased?)",
                              zh="档案中已无该退休人员的姓名（个人信息可能已删除），无法生成文书")
        return name
