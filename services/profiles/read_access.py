"""Who read whose sensitive data (查阅记录): every opening of sealed plaintext is written here, and listed.

The table is a chained log (migrations/003_read_access_chain.sql, docs/audit.md): each row is hash-chained on
insert by a trigger and the chain's head is in every signed checkpoint, so a deleted or edited row is found.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from backbone import read_access as backbone_read_access
from backbone.db import Connection
from contracts.base import Actor
from contracts.profiles import ListReadAccess


async def record_access(  # noqa: PLR0913
    conn: Connection, actor: Actor, retiree_id: UUID | None, fields: list[str], purpose: str | None,
    *, success: bool, detail: str | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO profiles.read_access (user_id, role, actor_unit, retiree_id, fields, purpose, success, detail) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        actor.user, actor.role.value, actor.unit, retiree_id, fields, purpose, success, detail,
    )


@dataclass(frozen=True, slots=True)
class Access:
    """One row of the log, for a read of many people at once (one row per person)."""

    retiree_id: UUID | None
    fields: list[str]
    purpose: str | None
    success: bool = True
    detail: str | None = None


async def record_accesses(conn: Connection, actor: Actor, accesses: Sequence[Access]) -> None:
    """Many reads by one actor in one round trip (search results, a batch of cards)."""
    if not accesses:
        return
    await conn.executemany(
        "INSERT INTO profiles.read_access (user_id, role, actor_unit, retiree_id, fields, purpose, success, detail) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        [(actor.user, actor.role.value, actor.unit, a.retiree_id, a.fields, a.purpose, a.success, a.detail)
         for a in accesses],
    )


async def list_read_access(conn: Connection, q: ListReadAccess, _now: datetime) -> list[Any]:
    return await backbone_read_access.list_read_access(conn, "profiles", q, "fields, purpose, success, detail")
