"""Every message of every service, for schema export, decoding and the CLI."""

from __future__ import annotations

from contracts import care, ceremony, notify, profiles
from contracts.base import Command, Event, Query

COMMANDS: dict[str, dict[str, type[Command]]] = {
    m.SERVICE: {c.__name__: c for c in m.COMMANDS} for m in (profiles, care, ceremony, notify)
}
EVENTS: dict[str, dict[str, type[Event]]] = {
    m.SERVICE: {e.__name__: e for e in m.EVENTS} for m in (profiles, care, ceremony, notify)
}
QUERIES: dict[str, dict[str, type[Query]]] = {
    m.SERVICE: {q.__name__: q for q in m.QUERIES} for m in (profiles, care, ceremony, notify)
}


def event_model(service: str, type_: str) -> type[Event] | None:
    return EVENTS.get(service, {}).get(type_)
