"""Listing a service's read-access log (查阅记录: `<schema>.read_access`), for the district office only.

Every service that opens personal data keeps one (profiles: sealed fields; care: its facts; ceremony: document
downloads), chained under the signed checkpoints (docs/audit.md). The chain's own bytes are never listed; its
entry number is (`chain_seq`). Each log has its own columns; the filters are the same.
"""

from __future__ import annotations

from typing import Any

from backbone.db import Connection, quote_ident, row_to_json
from contracts.base import ReadAccessQuery, Role
from contracts.errors import forbidden


async def list_read_access(conn: Connection, schema: str, q: ReadAccessQuery, columns: str) -> list[Any]:
    if q.actor.role is not Role.DISTRICT_OFFICE:
        raise forbidden("only the district office may list read-access records", zh="只有区老干部局可以查看查阅记录")
    rows = await conn.fetch(
        f"SELECT access_id, at, user_id, role, actor_unit, retiree_id, {columns}, chain_seq "
        f"FROM {quote_ident(schema)}.read_access WHERE ($1::uuid IS NULL OR retiree_id = $1) "
        "AND ($2::text IS NULL OR user_id = $2) AND ($4::text IS NULL OR actor_unit = $4) "
        "AND ($5::timestamptz IS NULL OR at >= $5) AND ($6::timestamptz IS NULL OR at < $6) "
        "ORDER BY access_id DESC LIMIT $3",
        q.retiree_id, q.user, q.limit, q.actor_unit, q.since, q.until)
    return [row_to_json(r) for r in rows]
