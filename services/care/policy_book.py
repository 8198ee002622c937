"""The adopted versions of the care policy: the newest rules new tasks; every task keeps the one it opened under."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from backbone.commands import to_new_event
from backbone.store import ConcurrencyConflict, EventStore, Metadata
from contracts.care import POLICY_STREAM, PolicyAdopted
from services.care import board
from services.care.policy import Policy, parse_policy


class PolicyBook:
    def __init__(self) -> None:
        self._versions: dict[str, Policy] = {}
        self._current: Policy | None = None

    @property
    def current(self) -> Policy:
        if self._current is None:
            msg = "no care policy adopted yet"
            raise RuntimeError(msg)
        return self._current

    def version(self, version: str) -> Policy:
        return self._versions.get(version) or self.current

    async def refresh(self, conn: asyncpg.Connection) -> None:
        rows = await conn.fetch("SELECT version, policy FROM care.policies ORDER BY adopted_at")
        for r in rows:
            self._versions[r["version"]] = parse_policy(r["policy"])
        if rows:
            self._current = self._versions[rows[-1]["version"]]

    async def adopt(  # noqa: PLR0913
        self, conn: asyncpg.Connection, store: EventStore, policy: Policy, raw: dict[str, object], now: datetime,
        meta: Metadata, *, at_start: bool = False,
    ) -> bool:
        """Record PolicyAdopted unless this version is already the current one; False when nothing changed.

        At start a file version adopted before (and since replaced by an AdoptPolicy) is left alone: the newer
        policy stays in force until a newer file version is deployed.
        """
        await self.refresh(conn)
        if self._current is not None and self._current.version == policy.version:
            return False
        if policy.version in self._versions and at_start:
            return False
        if policy.version in self._versions:
            msg = f"policy version {policy.version} was adopted before; give a new version"
            raise ValueError(msg)
        version = await store.stream_version(conn, POLICY_STREAM)
        event = PolicyAdopted(version=policy.version, policy=raw, adopted_at=now)
        try:
            await store.append(conn, POLICY_STREAM, version, [await to_new_event(conn, None, event, "DISTRICT", now)],
                               meta)
        except ConcurrencyConflict:
            await self.refresh(conn)  # another replica adopted it at the same moment
            return False
        await board.policy_adopted(conn, event)
        self._versions[policy.version] = policy
        self._current = policy
        return True
