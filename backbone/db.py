"""Postgres connections: one pool per process, JSON codecs, and the schema every service owns."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from uuid import UUID

import asyncpg


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10, **kwargs: Any) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, init=_init_connection, **kwargs)
    assert pool is not None
    return pool


def quote_ident(name: str) -> str:
    """Schema names come from code, but quote them anyway so a typo can never become SQL."""
    if not name.replace("_", "").isalnum():
        msg = f"invalid schema name {name!r}"
        raise ValueError(msg)
    return '"' + name + '"'


def row_to_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """A read-model row as JSON-ready values (dates as ISO strings, UUIDs as text)."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if hasattr(value, "isoformat"):
            out[key] = value.isoformat()
        elif isinstance(value, UUID):
            out[key] = str(value)
        else:
            out[key] = value
    return out
