"""Event store on asyncpg: append with expected version, load a stream, tail in commit-safe order (§2-3)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from backbone.db import Connection, quote_ident
from backbone.envelope import canonical, envelope_dict, parse
from contracts.base import Actor, Envelope


class ConcurrencyConflict(Exception):  # noqa: N818 - the domain word is "conflict"
    """The stream moved since it was loaded (or commit order would break): reload, decide again, retry."""

    def __init__(self, stream_id: str, expected_version: int, reason: str) -> None:
        super().__init__(f"stream {stream_id} is not at version {expected_version}: {reason}")
        self.stream_id = stream_id
        self.expected_version = expected_version
        self.reason = reason


@dataclass(frozen=True)
class NewEvent:
    """An event decided but not yet recorded. `data` may already hold sealed (ciphertext) fields."""

    type: str
    data: dict[str, Any]
    unit: str
    occurred_at: datetime
    schema_version: int = 1
    event_id: UUID = field(default_factory=uuid.uuid4)


@dataclass(frozen=True)
class Metadata:
    actor: Actor
    correlation_id: UUID
    causation_id: UUID | None = None


@dataclass(frozen=True)
class Recorded:
    event_id: UUID
    stream_id: str
    version: int
    position: int
    recorded_at: datetime


@dataclass(frozen=True, order=True)
class Checkpoint:
    """A tailing position: (transaction id, position), compared as a pair."""

    tx: int = 0
    position: int = 0


@dataclass(frozen=True)
class TailedEvent:
    tx: int
    position: int
    unit: str
    type: str
    event_id: UUID
    envelope: bytes

    @property
    def checkpoint(self) -> Checkpoint:
        return Checkpoint(self.tx, self.position)


EMPTY_HASH = b""

_COLUMNS = (
    "event_id, stream_id, version, type, schema_version, unit, occurred_at, recorded_at, "
    "correlation_id, causation_id, actor_user, envelope, prev_hash, hash"
)


def chain_hash(prev_hash: bytes, envelope: bytes) -> bytes:
    return hashlib.sha256(prev_hash + envelope).digest()


class EventStore:
    """One service's event table. Every method takes the connection so callers own the transaction."""

    def __init__(self, schema: str) -> None:
        self.schema = schema
        s = quote_ident(schema)
        self._t = f"{s}.events"
        # One statement: chain to the previous event, refuse a gap, refuse to be ordered before the previous
        # event of the stream in (tx, position) order; a stale version hits the unique key instead.
        self._append_one = f"""
            WITH prev AS (SELECT hash, tx FROM {self._t} WHERE stream_id = $2 AND version = $3 - 1)
            INSERT INTO {self._t} ({_COLUMNS})
            SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
                   coalesce((SELECT hash FROM prev), ''::bytea),
                   sha256(coalesce((SELECT hash FROM prev), ''::bytea) || $12)
            WHERE ($3 = 1 OR EXISTS (SELECT 1 FROM prev))
              AND coalesce((SELECT tx FROM prev), '0'::xid8) <= pg_current_xact_id()
            RETURNING position"""
        self._insert_many = f"""
            INSERT INTO {self._t} ({_COLUMNS})
            SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::int[], $6::text[],
                                 $7::timestamptz[], $8::timestamptz[], $9::uuid[], $10::uuid[], $11::text[],
                                 $12::bytea[], $13::bytea[], $14::bytea[])
            RETURNING position, event_id"""

    async def append(
        self,
        conn: Connection,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        meta: Metadata,
    ) -> list[Recorded]:
        """Append to one stream in the caller's transaction; ConcurrencyConflict if it moved."""
        recorded_at = datetime.now(UTC)
        if len(events) == 1 and not conn.is_in_transaction():
            # The one INSERT ... SELECT is atomic by itself: run it as one autocommit statement, one round trip
            # instead of three (BEGIN, INSERT, COMMIT); same checks, same result, same single commit.
            return [
                await self._append_event(
                    conn, stream_id=stream_id, expected_version=expected_version, version=expected_version + 1,
                    ev=events[0], recorded_at=recorded_at, meta=meta,
                )
            ]
        async with conn.transaction():
            return [
                await self._append_event(
                    conn, stream_id=stream_id, expected_version=expected_version, version=expected_version + i + 1,
                    ev=ev, recorded_at=recorded_at, meta=meta,
                )
                for i, ev in enumerate(events)
            ]

    async def _append_event(  # noqa: PLR0913
        self,
        conn: Connection,
        *,
        stream_id: str,
        expected_version: int,
        version: int,
        ev: NewEvent,
        recorded_at: datetime,
        meta: Metadata,
    ) -> Recorded:
        env = canonical(_envelope(ev, stream_id, version, recorded_at, meta, meta.actor.model_dump(mode="json")))
        try:
            position = await conn.fetchval(
                self._append_one,
                ev.event_id, stream_id, version, ev.type, ev.schema_version, ev.unit,
                ev.occurred_at, recorded_at, meta.correlation_id, meta.causation_id, meta.actor.user, env,
            )
        except asyncpg.UniqueViolationError as exc:
            if "event_id" in (exc.constraint_name or ""):
                raise
            raise ConcurrencyConflict(stream_id, expected_version, "a newer version exists") from exc
        if position is None:
            reason = await self._why_refused(conn, stream_id, version)
            raise ConcurrencyConflict(stream_id, expected_version, reason)
        return Recorded(ev.event_id, stream_id, version, position, recorded_at)

    async def _why_refused(self, conn: Connection, stream_id: str, version: int) -> str:
        current = await self.stream_version(conn, stream_id)
        if current < version - 1:
            return f"the stream is at version {current}"
        return "the previous event committed after this transaction began; retry in a new transaction"

    async def append_batch(
        self,
        conn: Connection,
        batch: Sequence[tuple[str, int, Sequence[NewEvent]]],
        meta: Metadata,
    ) -> list[Recorded]:
        """Append to many streams in one statement (imports, campaigns). Each item: (stream, expected, events)."""
        recorded_at = datetime.now(UTC)
        actor = meta.actor.model_dump(mode="json")  # once per batch, not once per event
        async with conn.transaction():
            heads = await self._heads(conn, [(s, v) for s, v, evs in batch if v > 0 and evs])
            my_tx = await conn.fetchval("SELECT pg_current_xact_id()::text::bigint")
            cols: list[list[Any]] = [[] for _ in range(14)]
            expect: dict[UUID, tuple[str, int]] = {}
            for stream_id, expected, events in batch:
                prev_hash = EMPTY_HASH
                if expected > 0:
                    head = heads.get((stream_id, expected))
                    if head is None:
                        raise ConcurrencyConflict(stream_id, expected, "no such version")
                    prev_hash, prev_tx = head
                    if prev_tx > my_tx:
                        raise ConcurrencyConflict(stream_id, expected, "previous event committed after this tx")
                for i, ev in enumerate(events):
                    version = expected + i + 1
                    env = canonical(_envelope(ev, stream_id, version, recorded_at, meta, actor))
                    digest = chain_hash(prev_hash, env)
                    row = (ev.event_id, stream_id, version, ev.type, ev.schema_version, ev.unit, ev.occurred_at,
                           recorded_at, meta.correlation_id, meta.causation_id, meta.actor.user, env, prev_hash,
                           digest)
                    for col, value in zip(cols, row, strict=True):
                        col.append(value)
                    expect[ev.event_id] = (stream_id, version)
                    prev_hash = digest
            try:
                rows = await conn.fetch(self._insert_many, *cols)
            except asyncpg.UniqueViolationError as exc:
                raise ConcurrencyConflict("(batch)", -1, str(exc)) from exc
        return [Recorded(r["event_id"], *expect[r["event_id"]], r["position"], recorded_at) for r in rows]

    async def _heads(
        self, conn: Connection, keys: list[tuple[str, int]]
    ) -> dict[tuple[str, int], tuple[bytes, int]]:
        if not keys:
            return {}
        rows = await conn.fetch(
            f"SELECT e.stream_id, e.version, e.hash, e.tx::text::bigint AS tx FROM {self._t} e "
            "JOIN unnest($1::text[], $2::int[]) AS k(s, v) ON e.stream_id = k.s AND e.version = k.v",
            [k[0] for k in keys], [k[1] for k in keys],
        )
        return {(r["stream_id"], r["version"]): (bytes(r["hash"]), r["tx"]) for r in rows}

    async def stream_version(self, conn: Connection, stream_id: str) -> int:
        v = await conn.fetchval(f"SELECT max(version) FROM {self._t} WHERE stream_id = $1", stream_id)
        return int(v or 0)

    async def load(self, conn: Connection, stream_id: str) -> list[Envelope]:
        rows = await conn.fetch(f"SELECT envelope FROM {self._t} WHERE stream_id = $1 ORDER BY version", stream_id)
        return [parse(r["envelope"]) for r in rows]

    async def tail(self, conn: Connection, after: Checkpoint, limit: int) -> list[TailedEvent]:
        """Events after `after` whose writers can no longer be followed by an earlier commit (§3)."""
        rows = await conn.fetch(
            f"SELECT tx::text::bigint AS tx, position, unit, type, event_id, envelope FROM {self._t} "
            "WHERE (tx, position) > ($1::text::xid8, $2) AND tx < pg_snapshot_xmin(pg_current_snapshot()) "
            "ORDER BY tx, position LIMIT $3",
            str(after.tx), after.position, limit,
        )
        return [TailedEvent(r["tx"], r["position"], r["unit"], r["type"], r["event_id"], bytes(r["envelope"]))
                for r in rows]

    async def read_checkpoint(self, conn: Connection, name: str) -> Checkpoint:
        row = await conn.fetchrow(
            f"SELECT tx::text::bigint AS tx, position FROM {quote_ident(self.schema)}.checkpoints WHERE name = $1",
            name,
        )
        return Checkpoint(row["tx"], row["position"]) if row else Checkpoint()

    async def save_checkpoint(self, conn: Connection, name: str, cp: Checkpoint) -> None:
        await conn.execute(
            f"INSERT INTO {quote_ident(self.schema)}.checkpoints (name, tx, position) "
            "VALUES ($1, $2::text::xid8, $3) ON CONFLICT (name) DO UPDATE "
            "SET tx = excluded.tx, position = excluded.position, updated_at = now()",
            name, str(cp.tx), cp.position,
        )


def _envelope(  # noqa: PLR0913
    ev: NewEvent, stream_id: str, version: int, recorded_at: datetime, meta: Metadata, actor: dict[str, Any],
) -> dict[str, Any]:
    """`actor` is meta.actor as JSON, dumped once by the caller for all its events."""
    return envelope_dict(
        event_id=ev.event_id, type_=ev.type, schema_version=ev.schema_version, stream_id=stream_id,
        version=version, unit=ev.unit, occurred_at=ev.occurred_at, recorded_at=recorded_at,
        correlation_id=meta.correlation_id, causation_id=meta.causation_id,
        actor=actor, data=ev.data,
    )
