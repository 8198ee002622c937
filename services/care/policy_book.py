"""Which care policy is in force (the policies read model, cached in memory), its adoption, and GetPolicy."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from backbone.aggregate import load_state
from backbone.db import Connection
from backbone.events import EventMeta, Routes
from backbone.recording import CommandContext, Recorder
from backbone.store import ConcurrencyConflict
from contracts.base import Accepted
from contracts.care import POLICY_STREAM, AdoptPolicy, GetPolicy, PolicyAdopted
from contracts.errors import refused
from services.care import policy_adoption
from services.care.policy import Policy, parse_policy
from services.care.policy_adoption import Adoptions

DISTRICT_UNIT = "DISTRICT"


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

    async def refresh(self, conn: Connection) -> None:
        rows = await conn.fetch("SELECT version, policy FROM care.policies ORDER BY adopted_at")
        for r in rows:
            self._versions[r["version"]] = parse_policy(r["policy"])
        if rows:
            self._current = self._versions[rows[-1]["version"]]

    async def policy_adopted(self, conn: Connection, event: PolicyAdopted, _meta: EventMeta) -> None:
        await conn.execute("INSERT INTO care.policies (version, policy, adopted_at) VALUES ($1, $2, $3)",
                           event.version, event.policy, event.adopted_at)
        self._versions[event.version] = self._current = parse_policy(event.policy)

    @property
    def projection(self) -> Routes:
        return Routes.of({PolicyAdopted: self.policy_adopted})

    # ------------------------------------------------------------------------------------------ adoption

    async def _adopt(self, ctx: CommandContext, raw: dict[str, Any], *, at_start: bool) -> Accepted:
        try:
            policy = parse_policy(raw)
        except ValueError as exc:
            raise refused(f"invalid policy: {exc}", zh="关怀政策内容有误，未能发布，请核对后重新提交",
                          field="policy") from exc
        await self.refresh(ctx.conn)
        state, version = await load_state(ctx.conn, ctx.store, POLICY_STREAM, policy_adoption.evolve, Adoptions())
        events = policy_adoption.decide_adopt(state, ctx.meta.actor, policy, raw, ctx.now, at_start=at_start)
        return await ctx.record(POLICY_STREAM, version, events, unit=DISTRICT_UNIT)

    async def adopt_policy(self, ctx: CommandContext, cmd: AdoptPolicy) -> Accepted:
        return await self._adopt(ctx, {**cmd.policy, "version": cmd.version}, at_start=False)

    async def adopt_file(self, conn: Connection, recorder: Recorder, path: Path, now: datetime) -> None:
        """At start: the policy file's version, if it is new (the district's defaults, deploy/care-policy.json)."""
        raw = json.loads(path.read_text(encoding="utf-8"))  # noqa: ASYNC240 - once, at start
        try:
            async with conn.transaction():
                await self._adopt(recorder.system(conn, now), raw, at_start=True)
        except ConcurrencyConflict:
            await self.refresh(conn)  # another replica adopted it at the same moment

    async def get_policy(self, _conn: Connection, _q: GetPolicy, _now: datetime) -> dict[str, Any]:
        return self.current.model_dump(mode="json")
