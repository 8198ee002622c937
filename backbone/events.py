"""Typed events at the edge: an envelope is decoded once into its frozen contract model, then routed by class.

Handlers and projections never see the envelope's JSON: they get `(conn, event, meta)`, where `event` is the
contract model (sensitive fields still sealed, as stored) and `meta` the rest of the envelope.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from backbone.crypto import is_sealed
from backbone.db import Connection
from contracts.base import Actor, Envelope, Event
from contracts.registry import event_model


@dataclass(frozen=True, slots=True)
class EventMeta:
    """Everything of an envelope but its data: where the event stands and who caused it."""

    event_id: UUID
    stream_id: str
    version: int
    unit: str
    occurred_at: datetime
    recorded_at: datetime
    correlation_id: UUID
    causation_id: UUID | None
    actor: Actor

    @classmethod
    def of(cls, env: Envelope) -> EventMeta:
        return cls(event_id=env.event_id, stream_id=env.stream_id, version=env.version, unit=env.unit,
                   occurred_at=env.occurred_at, recorded_at=env.recorded_at, correlation_id=env.correlation_id,
                   causation_id=env.causation_id, actor=env.actor)


class UndecodableEventError(ValueError):
    """An envelope whose data does not validate as its contract model: it must never reach a handler."""


def decode(env: Envelope, owner: str) -> Event | None:
    """The contract model of an event of `owner`'s; None for a type `owner` does not publish (yet)."""
    model = event_model(owner, env.type)
    if model is None:
        return None
    data = env.data
    if model.SEALED_FACTS:  # facts this reader did not open (backbone/facts.py) read as unknown
        data = {k: None if k in model.SEALED_FACTS and is_sealed(v) else v for k, v in data.items()}
    try:
        return model.model_validate({**data, "type": env.type})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(data)'}: {e['msg']}"
                             for e in exc.errors(include_url=False, include_input=False))
        msg = f"{owner}'s {env.type} {env.event_id} does not match its contract: {problems}"
        raise UndecodableEventError(msg) from exc


Handler = Callable[[Connection, Any, EventMeta], Awaitable[None]]
BulkHandler = Callable[[Connection, Sequence[tuple[Any, EventMeta]]], Awaitable[None]]


@dataclass(frozen=True)
class _Route:
    one: Handler
    many: BulkHandler | None = None


def _check_handler(model: type[Event], handler: Callable[..., Any]) -> None:
    """Refuse at start-up a handler whose event parameter is annotated with another class than its key."""
    if not inspect.isfunction(handler) and not inspect.ismethod(handler):
        return  # a lambda or partial: nothing declared to check
    try:
        hints = typing.get_type_hints(handler)
    except (NameError, TypeError):
        return
    params = [p for p in inspect.signature(handler).parameters.values() if p.name != "self"]
    if len(params) < 2:  # noqa: PLR2004 - (conn, event, ...)
        return
    declared = hints.get(params[1].name)
    if isinstance(declared, type) and issubclass(declared, Event) and not issubclass(model, declared):
        msg = f"{handler.__qualname__} takes {declared.__name__} but is routed {model.__name__}"
        raise TypeError(msg)


@dataclass(frozen=True)
class Routes:
    """A routing table `{EventClass: handler}`; added tables run their handlers for a class in order."""

    _table: Mapping[type[Event], tuple[_Route, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, table: Mapping[type[Event], Handler], *, bulk: Mapping[type[Event], BulkHandler] | None = None,
           ) -> Routes:
        """`bulk` gives a class a handler for a run of its events (one statement for a campaign's tasks)."""
        bulk = bulk or {}
        if extra := set(bulk) - set(table):
            msg = f"bulk handlers without a handler: {', '.join(sorted(m.__name__ for m in extra))}"
            raise ValueError(msg)
        for model, handler in table.items():
            _check_handler(model, handler)
        return cls({model: (_Route(handler, bulk.get(model)),) for model, handler in table.items()})

    def __add__(self, other: Routes) -> Routes:
        merged = dict(self._table)
        for model, routes in other._table.items():
            merged[model] = merged.get(model, ()) + routes
        return Routes(merged)

    @property
    def classes(self) -> frozenset[type[Event]]:
        return frozenset(self._table)

    def handles(self, event: Event) -> bool:
        return type(event) in self._table

    async def apply(self, conn: Connection, event: Event, meta: EventMeta) -> bool:
        """Run the handlers of the event's class; False when it has none."""
        routes = self._table.get(type(event))
        if routes is None:
            return False
        for route in routes:
            await route.one(conn, event, meta)
        return True

    async def apply_all(self, conn: Connection, items: Sequence[tuple[Event, EventMeta]]) -> None:
        """Apply events in order; a run of one class goes to each handler's bulk form where it has one."""
        for run in _runs(items):
            for route in self._table.get(type(run[0][0]), ()):
                if route.many is not None and len(run) > 1:
                    await route.many(conn, run)
                else:
                    for event, meta in run:
                        await route.one(conn, event, meta)


def _runs(items: Iterable[tuple[Event, EventMeta]]) -> list[list[tuple[Event, EventMeta]]]:
    runs: list[list[tuple[Event, EventMeta]]] = []
    for item in items:
        if runs and type(runs[-1][0][0]) is type(item[0]):
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs


NO_ROUTES = Routes()
