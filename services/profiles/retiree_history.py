"""What happened to a person, as recorded (档案记录): their events from profiles' own event table, without the
sealed fields. Nothing is opened, so nothing is written to the read-access log; a refusal is in the security log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backbone.crypto import is_sealed
from backbone.db import Connection
from backbone.envelope import parse
from backbone.facts import FACTS_KEY_FIELD
from contracts.base import LOCAL_TZ, Envelope
from contracts.errors import forbidden, not_found
from contracts.profiles import SERVICE, GetRetireeHistory, HistoryEntry, retiree_stream
from contracts.registry import event_model


def plain_fields(type_: str, data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The event's fields that are not sealed, and whether it had any sealed detail. A field is withheld if the
    contract lists it as SENSITIVE or SEALED_FACTS (with the facts key) or if its value is a sealed string (a type
    this version does not know).
    """
    model = event_model(SERVICE, type_)
    sensitive = {*model.SENSITIVE, *model.SEALED_FACTS, FACTS_KEY_FIELD} if model is not None else set()
    plain: dict[str, Any] = {}
    sealed = False
    for name, value in data.items():
        if name in sensitive or is_sealed(value):
            sealed = sealed or value is not None
        else:
            plain[name] = value
    return plain, sealed


def history_entry(position: int, env: Envelope) -> HistoryEntry:
    data, sealed = plain_fields(env.type, env.data)
    return HistoryEntry(position=position, version=env.version, type=env.type,
                        occurred_at=env.occurred_at.astimezone(LOCAL_TZ),  # as people read it, like every query
                        recorded_at=env.recorded_at.astimezone(LOCAL_TZ), recorded_by=env.actor, data=data,
                        sealed_details=sealed)


async def get_history(conn: Connection, q: GetRetireeHistory, _now: datetime) -> dict[str, Any]:
    """Authorised like GetRetiree: the retiree's current unit, or the district office."""
    unit = await conn.fetchval("SELECT unit FROM profiles.retirees WHERE retiree_id = $1", q.retiree_id)
    if unit is None:
        raise not_found(f"no retiree {q.retiree_id}", zh="档案中没有该退休人员")
    if not q.actor.may_act_for(unit):
        raise forbidden(f"{q.actor.user} ({q.actor.role.value} of {q.actor.unit}) may not read the history of "
                        f"retiree {q.retiree_id} of {unit}", zh="无权查看其他单位退休人员的档案记录")
    stream = retiree_stream(q.retiree_id)
    rows = await conn.fetch("SELECT position, envelope FROM profiles.events WHERE stream_id = $1 AND version > $2 "
                            "ORDER BY version LIMIT $3", stream, q.after_version, q.limit)
    total = await conn.fetchval("SELECT coalesce(max(version), 0) FROM profiles.events WHERE stream_id = $1", stream)
    items = [history_entry(r["position"], parse(bytes(r["envelope"]))) for r in rows]
    return {"retiree_id": str(q.retiree_id), "total": total,
            "items": [i.model_dump(mode="json") for i in items]}
