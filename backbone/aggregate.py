"""Rebuilding an aggregate's state from its stream: decode each envelope into its contract model, then evolve."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

import asyncpg

from backbone.store import EventStore
from contracts.base import Envelope, Event

S = TypeVar("S")


def decode(models: Mapping[str, type[Event]], env: Envelope) -> Event | None:
    """None for a type this service does not know (additive schema changes: ignore, never fail)."""
    model = models.get(env.type)
    return model.model_validate({**env.data, "type": env.type}) if model else None


async def load_state(  # noqa: PLR0913 - the stream and how to fold it
    conn: asyncpg.Connection,
    store: EventStore,
    stream_id: str,
    models: Mapping[str, type[Event]],
    evolve: Callable[[S, Event], S],
    initial: S,
) -> tuple[S, int]:
    """The state and the stream's version (the expected version for the next append)."""
    state = initial
    envelopes = await store.load(conn, stream_id)
    for env in envelopes:
        event = decode(models, env)
        if event is not None:
            state = evolve(state, event)
    return state, (envelopes[-1].version if envelopes else 0)
