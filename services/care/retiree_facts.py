"""Projection of profiles' events into care's retiree facts; a small function per event type."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from backbone.db import row_to_json
from contracts.base import Envelope
from contracts.care import GetRetireeFacts
from contracts.errors import not_found
from contracts.profiles import RetirementApproved


async def on_retirement_approved(conn: asyncpg.Connection, env: Envelope, ev: RetirementApproved) -> None:
    await conn.execute(
        "INSERT INTO care.retiree_facts (retiree_id, unit, status, approved_on, retirement_date, category, "
        "source_version) VALUES ($1, $2, 'approved', $3, $4, $5, $6) "
        "ON CONFLICT (retiree_id) DO UPDATE SET unit = excluded.unit, status = excluded.status, "
        "approved_on = excluded.approved_on, retirement_date = excluded.retirement_date, "
        "category = excluded.category, source_version = excluded.source_version, "
        "applied_events = care.retiree_facts.applied_events + 1",
        ev.retiree_id, ev.unit, ev.approved_on, ev.retirement_date, ev.category.value, env.version,
    )


async def project(conn: asyncpg.Connection, env: Envelope) -> None:
    """Routing table of the projection: event type -> function; other types are not care's concern."""
    if env.type == "RetirementApproved":
        await on_retirement_approved(conn, env, RetirementApproved.model_validate({**env.data, "type": env.type}))


async def get_retiree_facts(conn: asyncpg.Connection, query: GetRetireeFacts, _now: datetime) -> dict[str, Any]:
    row = await conn.fetchrow("SELECT * FROM care.retiree_facts WHERE retiree_id = $1", query.retiree_id)
    if row is None:
        raise not_found(f"care has no facts about retiree {query.retiree_id}")
    return row_to_json(row)
