"""The care service's language: obligations turned into care tasks (关怀关爱)."""

from __future__ import annotations

from uuid import UUID

from contracts.base import Command, Event, Query

SERVICE = "care"


class GetRetireeFacts(Query):
    """Care's own projection of a retiree, built from profiles' events (never a call into profiles)."""

    retiree_id: UUID


COMMANDS: tuple[type[Command], ...] = ()
EVENTS: tuple[type[Event], ...] = ()
QUERIES: tuple[type[Query], ...] = (GetRetireeFacts,)
