"""The one list of the platform's services and their languages: every place that lists services reads it.

A service is one line in `LANGUAGES` (its contract module: SERVICE, COMMANDS, EVENTS, QUERIES) plus its package
`services/<name>/` with a composition root `app.py`. The order is the start order of `wanqing up`: profiles
first, because the others ask it queries while they work.
"""

from __future__ import annotations

from types import ModuleType

from contracts import care, ceremony, feed, identity, notify, profiles
from contracts.base import Command, Event, Query

LANGUAGES: tuple[ModuleType, ...] = (profiles, identity, care, ceremony, notify, feed)

SERVICES: tuple[str, ...] = tuple(m.SERVICE for m in LANGUAGES)

COMMANDS: dict[str, dict[str, type[Command]]] = {m.SERVICE: {c.__name__: c for c in m.COMMANDS} for m in LANGUAGES}
EVENTS: dict[str, dict[str, type[Event]]] = {m.SERVICE: {e.__name__: e for e in m.EVENTS} for m in LANGUAGES}
QUERIES: dict[str, dict[str, type[Query]]] = {m.SERVICE: {q.__name__: q for q in m.QUERIES} for m in LANGUAGES}

# The service that owns (alone records and publishes) each event type.
OWNER: dict[type[Event], str] = {model: service for service, models in EVENTS.items() for model in models.values()}

# An event type's name is unique across the platform: rules, logs and people name events by it alone.
_NAMES = [name for models in EVENTS.values() for name in models]
if len(_NAMES) != len(set(_NAMES)):
    _msg = f"event type names used by two services: {sorted({n for n in _NAMES if _NAMES.count(n) > 1})}"
    raise RuntimeError(_msg)


def event_model(service: str, type_: str) -> type[Event] | None:
    return EVENTS.get(service, {}).get(type_)


def owner_of(model: type[Event]) -> str:
    try:
        return OWNER[model]
    except KeyError:
        msg = f"{model.__name__} is not an event of any service's contract (contracts/registry.py)"
        raise LookupError(msg) from None
