"""Rebuilding an aggregate's state from its stream: decode each envelope into its contract model, then evolve."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from backbone.crypto import Keyring
from backbone.db import Connection
from backbone.events import decode
from backbone.facts import open_facts
from backbone.store import EventStore
from contracts.base import Event

S = TypeVar("S")


async def load_state(  # noqa: PLR0913 - the keyring is optional, for sealed facts
    conn: Connection,
    store: EventStore,
    stream_id: str,
    evolve: Callable[[S, Event], S],
    initial: S,
    keyring: Keyring | None = None,
) -> tuple[S, int]:
    """The state and the stream's version (the expected version for the next append).

    A stream holds only its service's own events; a type this version does not know is skipped (additive
    schema changes: ignore, never fail). With the service's keyring, sealed facts are opened (backbone/facts.py).
    """
    state = initial
    envelopes = await store.load(conn, stream_id)
    for env in envelopes:
        event = decode(env if keyring is None else await open_facts(conn, keyring, env, store.schema), store.schema)
        if event is not None:
            state = evolve(state, event)
    return state, (envelopes[-1].version if envelopes else 0)
