"""How far a festival campaign has got (节日慰问进度): the campaigns read model and the progress per unit."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from backbone.db import Connection, row_to_json
from backbone.events import EventMeta, Routes
from contracts.care import CampaignClosed, CampaignLaunched, GetCampaignProgress, ListCampaigns
from contracts.errors import not_found


async def campaign_launched(conn: Connection, event: CampaignLaunched, meta: EventMeta) -> None:
    await conn.execute(
        "INSERT INTO care.campaigns (campaign_id, festival, title, year, due_on, units, launched_by, launched_at, "
        "tasks) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        event.campaign_id, event.festival.value, event.title, event.year, event.due_on, sorted(event.units),
        event.launched_by, meta.occurred_at, event.tasks)


async def campaign_closed(conn: Connection, event: CampaignClosed, meta: EventMeta) -> None:
    await conn.execute("UPDATE care.campaigns SET closed_at = $2 WHERE campaign_id = $1", event.campaign_id,
                       meta.occurred_at)


PROJECTION = Routes.of({CampaignLaunched: campaign_launched, CampaignClosed: campaign_closed})


async def coverage(conn: Connection, campaign_id: UUID) -> dict[str, dict[str, int]]:
    """Per unit: the campaign's tasks, how many were done and how many cancelled."""
    rows = await conn.fetch(
        "SELECT unit, count(*) AS tasks, count(*) FILTER (WHERE status = 'done') AS done, "
        "count(*) FILTER (WHERE status = 'cancelled') AS cancelled FROM care.tasks WHERE campaign_id = $1 "
        "GROUP BY unit ORDER BY unit", campaign_id)
    return {r["unit"]: {"tasks": r["tasks"], "done": r["done"], "cancelled": r["cancelled"]} for r in rows}


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


async def campaign_progress(conn: Connection, q: GetCampaignProgress, _now: datetime) -> dict[str, Any]:
    camp = await conn.fetchrow("SELECT * FROM care.campaigns WHERE campaign_id = $1", q.campaign_id)
    if camp is None:
        raise not_found(f"no campaign {q.campaign_id}", zh="找不到该节日慰问活动")
    rows = await conn.fetch(
        "SELECT unit, count(*) AS tasks, count(*) FILTER (WHERE status = 'done') AS done, "
        "count(*) FILTER (WHERE status = 'cancelled') AS cancelled, "
        "count(*) FILTER (WHERE for_survivor) AS survivors FROM care.tasks WHERE campaign_id = $1 "
        "GROUP BY unit ORDER BY unit", q.campaign_id)
    units = [row_to_json(r) | {"coverage": _ratio(r["done"], r["tasks"] - r["cancelled"])} for r in rows
             if q.actor.may_act_for(r["unit"])]
    return {**row_to_json(camp), "per_unit": units}


async def list_campaigns(conn: Connection, q: ListCampaigns, _now: datetime) -> list[dict[str, Any]]:
    """Newest first, with their tasks done and cancelled so far; a unit sees the campaigns that reach it."""
    rows = await conn.fetch(
        "SELECT c.*, coalesce(t.done, 0) AS done, coalesce(t.cancelled, 0) AS cancelled FROM care.campaigns c "
        "LEFT JOIN (SELECT campaign_id, count(*) FILTER (WHERE status = 'done') AS done, "
        "count(*) FILTER (WHERE status = 'cancelled') AS cancelled FROM care.tasks "
        "WHERE campaign_id IS NOT NULL GROUP BY campaign_id) t USING (campaign_id) "
        "WHERE ($1::int IS NULL OR c.year = $1) AND (NOT $2 OR c.closed_at IS NULL) "
        "AND ($3 OR $4 = ANY(c.units)) ORDER BY c.launched_at DESC LIMIT $5",
        q.year, q.open_only, q.actor.oversees_all, q.actor.unit, q.limit)
    return [row_to_json(r) | {"coverage": _ratio(r["done"], r["tasks"] - r["cancelled"])} for r in rows]

