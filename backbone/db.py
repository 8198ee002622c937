"""Postgres connections: one pool per process, JSON codecs, and the schema every service owns."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias
from uuid import UUID

import asyncpg

from contracts.base import LOCAL_TZ

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    # What handlers are given: a connection of their own or one lent by the pool; both speak the same API.
    Connection: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
else:
    Connection = asyncpg.Connection


async def _init_connection(conn: Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(
    dsn: str, *, min_size: int = 1, max_size: int = 10, **kwargs: Any,
) -> asyncpg.Pool[asyncpg.Record]:
    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, init=_init_connection, **kwargs)
    assert pool is not None
    return pool


# The database (or the way to it) is away: a server restart, a lost connection, a refused one. Every loop of a
# service waits and tries again on these; none of them ends the process (a DB outage is not a crash).
UNREACHABLE: tuple[type[BaseException], ...] = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


def quote_ident(name: str) -> str:
    """Schema names come from code, but quote them anyway so a typo can never become SQL."""
    if not name.replace("_", "").isalnum():
        msg = f"invalid schema name {name!r}"
        raise ValueError(msg)
    return '"' + name + '"'


def row_to_json(row: Mapping[str, Any] | asyncpg.Record) -> dict[str, Any]:
    """A read-model row as JSON-ready values (dates as ISO strings, UUIDs as text). A moment is shown in the
    district's time (+08:00), as people read it; it is the same instant as the UTC the database stores.
    """
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, datetime) and value.tzinfo is not None:
            out[key] = value.astimezone(LOCAL_TZ).isoformat()
        elif hasattr(value, "isoformat"):
            out[key] = value.isoformat()
        elif isinstance(value, UUID):
            out[key] = str(value)
        else:
            out[key] = value
    return out
