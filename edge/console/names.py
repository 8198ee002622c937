"""Names on lists: revealed by profiles for a purpose (and recorded there as reads of personal data)."""

from __future__ import annotations

import time
from collections.abc import Iterable

from contracts.base import Refused
from edge.console.bus import Bus
from wanqing.access import Credentials

MAX_CARDS = 200


async def names_of(bus: Bus, creds: Credentials, retiree_ids: Iterable[str], purpose: str) -> dict[str, str]:
    """retiree_id -> name for the people the actor may see; an erased person reads 「（信息已删除）」."""
    ids = list(dict.fromkeys(str(i) for i in retiree_ids))[:MAX_CARDS]
    if not ids:
        return {}
    reply = await bus.query(creds, "profiles", "GetRetireeCards", {"retiree_ids": ids, "purpose": purpose})
    if isinstance(reply, Refused):
        return {}
    cards = reply.data.get("cards", reply.data) if isinstance(reply.data, dict) else reply.data
    return {str(c["retiree_id"]): ("（信息已删除）" if c.get("erased") else c.get("name") or "—") for c in cards}


class UnitNames:
    """Unit code -> name, asked of profiles at most once every five minutes (units change rarely)."""

    def __init__(self, ttl_s: float = 300.0) -> None:
        self._ttl = ttl_s
        self._names: dict[str, str] = {}
        self._at = -ttl_s

    async def get(self, bus: Bus, creds: Credentials) -> dict[str, str]:
        if time.monotonic() - self._at > self._ttl:
            reply = await bus.query(creds, "profiles", "ListUnits", {})
            if not isinstance(reply, Refused):
                self._names = {str(u["code"]): str(u["name"]) for u in reply.data}
                self._at = time.monotonic()
        return self._names


UNIT_NAMES = UnitNames()
