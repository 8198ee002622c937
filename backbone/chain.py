"""Tamper evidence (§11): recompute every stream's hash chain and name the first position that does not match."""

from __future__ import annotations

from dataclasses import dataclass

from backbone.db import Connection, quote_ident
from backbone.store import EMPTY_HASH, chain_hash


@dataclass(frozen=True)
class Break:
    position: int
    stream_id: str
    version: int
    problem: str


@dataclass(frozen=True)
class Verification:
    events: int
    breaks: list[Break]
    head_position: int

    @property
    def ok(self) -> bool:
        return not self.breaks


async def verify(conn: Connection, schema: str) -> Verification:
    """Streams the table in (stream, version) order through a cursor: memory stays flat for any history size."""
    breaks: list[Break] = []
    count = 0
    head = 0
    stream: str | None = None
    prev = EMPTY_HASH
    expected_version = 1
    broken_stream: str | None = None
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        cursor = conn.cursor(
            f"SELECT position, stream_id, version, envelope, prev_hash, hash FROM {quote_ident(schema)}.events "
            "ORDER BY stream_id, version",
            prefetch=2000,
        )
        async for row in cursor:
            count += 1
            head = max(head, row["position"])
            if row["stream_id"] != stream:
                stream, prev, expected_version = row["stream_id"], EMPTY_HASH, 1
            if broken_stream == stream:
                continue  # report the first break of each stream; what follows it cannot be trusted either
            problem = None
            if row["version"] != expected_version:
                problem = f"version {row['version']} where {expected_version} was expected (an event is missing)"
            elif bytes(row["prev_hash"]) != prev:
                problem = "prev_hash does not match the previous event's hash"
            elif chain_hash(prev, bytes(row["envelope"])) != bytes(row["hash"]):
                problem = "stored bytes do not hash to the recorded hash (the event was altered)"
            if problem:
                breaks.append(Break(row["position"], row["stream_id"], row["version"], problem))
                broken_stream = stream
                continue
            prev = bytes(row["hash"])
            expected_version += 1
    breaks.sort(key=lambda b: b.position)
    return Verification(count, breaks, head)
