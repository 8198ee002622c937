"""Thin command and query handlers: load, decide, append with the expected version, update the read model."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from backbone.commands import CommandContext
from backbone.db import row_to_json
from backbone.store import EventStore
from contracts.base import Accepted
from contracts.errors import not_found
from contracts.profiles import ApproveRetirement, GetRetiree, RetirementApproved, retiree_stream
from contracts.registry import event_model
from services.profiles.retiree import Retiree, decide_approve, evolve

SERVICE = "profiles"


async def load_retiree(conn: asyncpg.Connection, store: EventStore, stream_id: str) -> Retiree:
    state = Retiree()
    for env in await store.load(conn, stream_id):
        model = event_model(SERVICE, env.type)
        state = evolve(state, model.model_validate({**env.data, "type": env.type}) if model else None)  # type: ignore[arg-type]
    return state


async def approve_retirement(ctx: CommandContext, cmd: ApproveRetirement) -> Accepted:
    stream = retiree_stream(cmd.retiree_id)
    state = await load_retiree(ctx.conn, ctx.store, stream)
    events = decide_approve(cmd, state, ctx.now)
    reply = await ctx.record(stream, state.version, events, unit=cmd.unit)
    for ev in events:
        if isinstance(ev, RetirementApproved):
            await ctx.conn.execute(
                "INSERT INTO profiles.retirees (retiree_id, unit, status, document_number, approved_on, "
                "retirement_date, category, version) VALUES ($1, $2, 'approved', $3, $4, $5, $6, $7) "
                "ON CONFLICT (retiree_id) DO UPDATE SET unit = excluded.unit, status = excluded.status, "
                "document_number = excluded.document_number, approved_on = excluded.approved_on, "
                "retirement_date = excluded.retirement_date, category = excluded.category, version = excluded.version",
                ev.retiree_id, ev.unit, ev.document_number, ev.approved_on, ev.retirement_date, ev.category.value,
                reply.version,
            )
    return reply


async def get_retiree(conn: asyncpg.Connection, query: GetRetiree, _now: datetime) -> dict[str, Any]:
    row = await conn.fetchrow("SELECT * FROM profiles.retirees WHERE retiree_id = $1", query.retiree_id)
    if row is None:
        raise not_found(f"no retiree {query.retiree_id}")
    return row_to_json(row)
