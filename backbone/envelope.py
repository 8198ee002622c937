"""Canonical bytes of an event envelope: what is stored, hashed and published, byte for byte."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from contracts.base import Actor, Envelope


def _default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    msg = f"cannot serialise {type(value).__name__}"
    raise TypeError(msg)


def canonical(obj: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8: recomputable from what is stored (ARCHITECTURE §11)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default).encode()


def envelope_dict(  # noqa: PLR0913 - the envelope has this many fields
    *,
    event_id: UUID,
    type_: str,
    schema_version: int,
    stream_id: str,
    version: int,
    unit: str,
    occurred_at: datetime,
    recorded_at: datetime,
    correlation_id: UUID,
    causation_id: UUID | None,
    actor: Actor | dict[str, Any],
    data: dict[str, Any],
) -> dict[str, Any]:
    return {
        "event_id": str(event_id),
        "type": type_,
        "schema_version": schema_version,
        "stream_id": stream_id,
        "version": version,
        "unit": unit,
        "occurred_at": occurred_at.isoformat(),
        "recorded_at": recorded_at.isoformat(),
        "correlation_id": str(correlation_id),
        "causation_id": str(causation_id) if causation_id else None,
        "actor": actor.model_dump(mode="json") if isinstance(actor, Actor) else actor,
        "data": data,
    }


def parse(raw: bytes) -> Envelope:
    return Envelope.model_validate_json(raw)
