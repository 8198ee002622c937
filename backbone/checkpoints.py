r"""Signed checkpoints (ARCHITECTURE §11, docs/audit.md): a service's history, signed so an outsider can hold it.

At least every N events or M seconds (settings), the service signs with its own Ed25519 key:

* `position`: the last position covered, a position below which every row is committed and final;
* `count`: how many events have a position up to it; `streams`: how many of them are a stream's first event;
* `events_hash`: a running global chain over the WHOLE table in position order,
  `g_k = sha256(g_{k-1} || hash_k)` from `g_0 = b""`, so a missing tail, a missing stream, a deleted, altered
  or moved event all change it (per-stream chains alone show none of the first three);
* `events_set`: the XOR of every covered event's hash, which does not depend on the order: equal sets in
  another order tell a reordering from a rewrite (a diagnosis, the security is `events_hash`);
* `logs`: for each chained log of the schema (the read-access log), its head `seq` and `hash` (the log is a
  chain of its own, in insert order, so its head hash is a running hash over the whole log);
* `previous`: sha256 of the previous checkpoint's signed bytes, so the checkpoints form a chain too.

The signed bytes are `wanqing-checkpoint-v1\\n` + the canonical JSON of the body (sorted keys, no spaces).
Each checkpoint is stored in `<schema>.audit_checkpoints` and published on `wanqing.audit.<service>.checkpoint`
(stream WANQING_AUDIT, `Nats-Msg-Id` = `<service>-checkpoint-<seq>`).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import nats.errors
import structlog
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from nats.aio.client import Client

from backbone.db import UNREACHABLE, Connection, quote_ident
from backbone.envelope import canonical
from backbone.store import EMPTY_HASH, EventStore
from contracts import subjects

log = structlog.get_logger()

DOMAIN = b"wanqing-checkpoint-v1\n"
AUDIT_STREAM = "WANQING_AUDIT"
WITNESS_STREAM = "WITNESS"  # in each witness's own account, over subjects.witness_of(<witness>)
WITNESS_LOG_EVERY_S = 300.0  # a witness that does not answer is logged this often, not every tick
FORMAT_VERSION = 1
ZERO_SET = bytes(32)


def global_step(g: bytes, event_hash: bytes) -> bytes:
    """One step of the running global chain over the event table in position order."""
    return hashlib.sha256(g + event_hash).digest()


def set_step(s: bytes, event_hash: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(s, event_hash.ljust(32, b"\0")[:32], strict=True))


@dataclass
class Coverage:
    """What the history holds up to a position: the state a checkpoint signs, and a verifier recomputes."""

    position: int = 0
    count: int = 0
    streams: int = 0
    events_hash: bytes = EMPTY_HASH
    events_set: bytes = ZERO_SET
    logs: dict[str, tuple[int, bytes]] = field(default_factory=dict)

    def add(self, position: int, version: int, event_hash: bytes) -> None:
        self.position = max(self.position, position)
        self.count += 1
        if version == 1:
            self.streams += 1
        self.events_hash = global_step(self.events_hash, event_hash)
        self.events_set = set_step(self.events_set, event_hash)


@dataclass(frozen=True)
class SignedCheckpoint:
    body: dict[str, Any]
    signature: bytes

    @property
    def service(self) -> str:
        return str(self.body["service"])

    @property
    def seq(self) -> int:
        return int(self.body["seq"])

    @property
    def signer(self) -> str:
        return str(self.body["signer"])

    @property
    def position(self) -> int:
        return int(self.body["position"])

    @property
    def signed_bytes(self) -> bytes:
        return DOMAIN + canonical(self.body)

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.signed_bytes).hexdigest()

    def coverage(self) -> Coverage:
        b = self.body
        return Coverage(
            position=int(b["position"]), count=int(b["count"]), streams=int(b["streams"]),
            events_hash=bytes.fromhex(b["events_hash"]), events_set=bytes.fromhex(b["events_set"]),
            logs={name: (int(v["seq"]), bytes.fromhex(v["hash"])) for name, v in b.get("logs", {}).items()},
        )

    def to_json(self) -> dict[str, Any]:
        return {"body": self.body, "signature": base64.b64encode(self.signature).decode()}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> SignedCheckpoint:
        return cls(dict(raw["body"]), base64.b64decode(raw["signature"]))

    def encode(self) -> bytes:
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":")).encode()


def make_body(  # noqa: PLR0913
    *, service: str, seq: int, cov: Coverage, previous: str, made_at: datetime, signer: str,
) -> dict[str, Any]:
    return {
        "v": FORMAT_VERSION, "service": service, "seq": seq, "position": cov.position, "count": cov.count,
        "streams": cov.streams, "events_hash": cov.events_hash.hex(), "events_set": cov.events_set.hex(),
        "logs": {name: {"seq": s, "hash": h.hex()} for name, (s, h) in sorted(cov.logs.items())},
        "previous": previous, "made_at": made_at.astimezone(UTC).isoformat(), "signer": signer,
    }


def sign(body: dict[str, Any], key: Ed25519PrivateKey) -> SignedCheckpoint:
    return SignedCheckpoint(body, key.sign(DOMAIN + canonical(body)))


class SignatureProblem(Exception):  # noqa: N818 - named after what the checkpoint has
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def check_signature(cp: SignedCheckpoint, keys: Mapping[str, Ed25519PublicKey]) -> None:
    """Raises SignatureProblem('unknown_key' | 'bad_signature') unless the service itself signed these bytes."""
    key = keys.get(cp.signer)
    if key is None or cp.signer != cp.service:
        raise SignatureProblem("unknown_key", f"checkpoint {cp.seq} is signed by {cp.signer!r}, whose key is not "
                                              f"trusted for service {cp.service!r}")
    try:
        key.verify(cp.signature, cp.signed_bytes)
    except InvalidSignature as exc:
        raise SignatureProblem("bad_signature", f"checkpoint {cp.seq} of {cp.service}: the signature does not "
                                                "match its content") from exc


# --- the database side ----------------------------------------------------------------------------------------


async def chained_logs(conn: Connection, schema: str) -> list[str]:
    """The chained logs of a schema: its tables having the chain's columns (docs/audit.md)."""
    rows = await conn.fetch(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = $1 "
        "AND column_name IN ('chain_seq', 'entry', 'prev_hash', 'hash') AND table_name <> 'events' "
        "GROUP BY table_name HAVING count(*) = 4 ORDER BY table_name", schema)
    return [r["table_name"] for r in rows]


CHAIN_BATCH = 5000  # rows given their place in a log's chain per call (the rest on the next tick)


async def log_key(conn: Connection, schema: str, table: str) -> str:
    """The log's primary-key column: the order in which committed rows join the chain."""
    key = await conn.fetchval(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
        "WHERE i.indrelid = to_regclass($1) AND i.indisprimary", f"{quote_ident(schema)}.{quote_ident(table)}")
    if key is None:
        msg = f"chained log {schema}.{table} has no primary key to order its rows by"
        raise RuntimeError(msg)
    return str(key)


async def chain_pending(conn: Connection, schema: str) -> int:
    """Give every committed, not yet chained row of each chained log its place in the chain (in key order).

    Rows are written unchained, so no writer waits on a log's head row (backbone/sql/008_chain_logs_later.sql);
    the one checkpointer chains them a moment later, before it reads the heads it signs.
    """
    chained = 0
    for table in await chained_logs(conn, schema):
        key = await log_key(conn, schema, table)
        while True:
            n = int(await conn.fetchval(f"SELECT {quote_ident(schema)}.chain_pending($1, $2, $3, $4)",
                                        schema, table, key, CHAIN_BATCH))
            chained += n
            if n < CHAIN_BATCH:
                break
    return chained


async def log_head(conn: Connection, schema: str, table: str) -> tuple[int, bytes]:
    row = await conn.fetchrow(
        f"SELECT chain_seq, hash FROM {quote_ident(schema)}.{quote_ident(table)} "
        "WHERE chain_seq IS NOT NULL ORDER BY chain_seq DESC LIMIT 1")
    return (int(row["chain_seq"]), bytes(row["hash"])) if row else (0, EMPTY_HASH)


async def stored_checkpoints(conn: Connection, schema: str, after_seq: int = 0) -> list[SignedCheckpoint]:
    rows = await conn.fetch(
        f"SELECT body, signature FROM {quote_ident(schema)}.audit_checkpoints WHERE seq > $1 ORDER BY seq", after_seq)
    return [SignedCheckpoint(json.loads(bytes(r["body"])), bytes(r["signature"])) for r in rows]


async def extend(conn: Connection, schema: str, cov: Coverage, to_position: int, chunk: int = 5000) -> Coverage:
    """`cov` carried on over the events with a position in (cov.position, to_position], in position order."""
    t = f"{quote_ident(schema)}.events"
    after = cov.position
    while True:
        rows = await conn.fetch(
            f"SELECT position, version, hash FROM {t} WHERE position > $1 AND position <= $2 "
            "ORDER BY position LIMIT $3", after, to_position, chunk)
        for r in rows:
            cov.add(r["position"], r["version"], bytes(r["hash"]))
        if len(rows) < chunk:
            break
        after = rows[-1]["position"]
    cov.position = max(cov.position, to_position)
    return cov


class Checkpointer:
    """One per service (a second replica waits on the advisory lock), on its own connection."""

    def __init__(  # noqa: PLR0913
        self, *, dsn: str, store: EventStore, service: str, key: Ed25519PrivateKey, nc: Client | None,
        every_events: int = 1000, every_s: float = 300.0, poll_s: float = 1.0,
        witnesses: Callable[[], Sequence[str]] = tuple,
    ) -> None:
        self._dsn = dsn
        self._schema = store.schema
        self._store = store
        self._service = service
        self._key = key
        self._nc = nc
        self._every_events = every_events
        self._every_s = every_s
        self._poll_s = poll_s
        self._witnesses = witnesses  # asked each tick: agencies are enabled and disabled while it runs
        self._unreachable: dict[str, float] = {}  # witness -> when its absence was last logged
        self._pending: tuple[int, int] | None = None  # (a position, the xid all writers below it had under)
        self._final = 0
        self.made = 0
        self.published = 0
        self.witnessed = 0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self._lead(stop)
            except UNREACHABLE as exc:
                log.warning("checkpointer_interrupted", service=self._service, error=repr(exc))
                await _sleep_or_stop(stop, 1.0)

    async def _lead(self, stop: asyncio.Event) -> None:
        conn: Connection = await asyncpg.connect(self._dsn)
        try:
            lock = f"checkpoint:{self._schema}"
            while not await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", lock):
                if await _sleep_or_stop(stop, 1.0):
                    return
            while not stop.is_set():
                await self.tick(conn)
                await _sleep_or_stop(stop, self._poll_s)
        finally:
            await conn.close()

    async def final_position(self, conn: Connection) -> int:
        """The largest position below which every row is committed and final (the snapshot-xmin rule, §3).

        A position is taken while its writer already has a transaction id (the store's append asks for
        `pg_current_xact_id()` before the row is made), so once every transaction id below the `xmax` of the
        snapshot that saw position L has ended, no row with a position up to L can still appear: the rest of
        those positions are gaps of rolled-back writers, for good. Two steps, never blocking a writer.
        """
        for _ in range(2):
            xmin = int(await conn.fetchval("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"))
            if self._pending is not None and xmin >= self._pending[1]:
                self._final = max(self._final, self._pending[0])
                self._pending = None
            if self._pending is None:
                row = await conn.fetchrow(
                    f"SELECT coalesce(max(position), 0) AS p, "
                    f"pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS xmax "
                    f"FROM {quote_ident(self._schema)}.events")
                if row is not None and row["p"] > self._final:
                    self._pending = (int(row["p"]), int(row["xmax"]))
        return self._final

    async def tick(self, conn: Connection) -> SignedCheckpoint | None:
        """Chains the logs' new rows, makes a checkpoint when one is due, publishes what is not published yet."""
        await chain_pending(conn, self._schema)
        made = await self._maybe_make(conn)
        await self._publish_pending(conn)
        for witness in self._witnesses():
            await self._hand_to_witness(conn, witness)
        return made

    async def _maybe_make(self, conn: Connection) -> SignedCheckpoint | None:
        schema = quote_ident(self._schema)
        horizon = await self.final_position(conn)
        last = await conn.fetchrow(
            f"SELECT seq, body, signature, made_at FROM {schema}.audit_checkpoints ORDER BY seq DESC LIMIT 1")
        previous = (SignedCheckpoint(json.loads(bytes(last["body"])), bytes(last["signature"]))
                    if last else None)
        cov = previous.coverage() if previous else Coverage()
        logs = {name: await log_head(conn, self._schema, name) for name in await chained_logs(conn, self._schema)}
        new_events = int(await conn.fetchval(
            f"SELECT count(*) FROM {schema}.events WHERE position > $1 AND position <= $2", cov.position, horizon))
        logs_moved = any(cov.logs.get(name, (0, EMPTY_HASH))[0] != head[0] for name, head in logs.items())
        if not new_events and not logs_moved:
            return None
        age = (datetime.now(UTC) - last["made_at"]).total_seconds() if last else float("inf")
        if new_events < self._every_events and age < self._every_s:
            return None
        async with conn.transaction():
            cov = await extend(conn, self._schema, cov, horizon)
            cov.logs = logs
            seq = (previous.seq if previous else 0) + 1
            body = make_body(service=self._service, seq=seq, cov=cov, previous=previous.digest if previous else "",
                             made_at=datetime.now(UTC), signer=self._service)
            cp = sign(body, self._key)
            await conn.execute(
                f"INSERT INTO {schema}.audit_checkpoints (seq, position, event_count, events_hash, body, signer, "
                "signature) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                seq, cov.position, cov.count, cov.events_hash, canonical(body), self._service, cp.signature)
        self.made += 1
        log.info("checkpoint_signed", service=self._service, seq=seq, position=cov.position, count=cov.count)
        return cp

    async def _publish_pending(self, conn: Connection) -> None:
        if self._nc is None or not self._nc.is_connected:
            return
        schema = quote_ident(self._schema)
        rows = await conn.fetch(f"SELECT seq, body, signature FROM {schema}.audit_checkpoints "
                                "WHERE published_at IS NULL ORDER BY seq LIMIT 100")
        js = self._nc.jetstream()
        for r in rows:
            cp = SignedCheckpoint(json.loads(bytes(r["body"])), bytes(r["signature"]))
            try:
                await js.publish(subjects.audit_checkpoint(self._service), cp.encode(), stream=AUDIT_STREAM,
                                 headers={"Nats-Msg-Id": f"{self._service}-checkpoint-{cp.seq}"}, timeout=5)
            except (nats.errors.Error, TimeoutError) as exc:
                log.warning("checkpoint_publish_failed", service=self._service, seq=cp.seq, error=repr(exc))
                return
            await conn.execute(f"UPDATE {schema}.audit_checkpoints SET published_at = now() WHERE seq = $1", cp.seq)
            self.published += 1


    async def _hand_to_witness(self, conn: Connection, witness: str) -> None:
        """Every checkpoint the witness has not acknowledged yet, in order; its own stream acks each (the subject
        is a service the witness's account exports), and repeats are dropped there by `Nats-Msg-Id`.
        """
        if self._nc is None or not self._nc.is_connected:
            return
        schema = quote_ident(self._schema)
        done = int(await conn.fetchval(f"SELECT coalesce(max(last_seq), 0) FROM {schema}.audit_witnessed "
                                       "WHERE witness = $1", witness))
        rows = await conn.fetch(f"SELECT seq, body, signature FROM {schema}.audit_checkpoints WHERE seq > $1 "
                                "ORDER BY seq LIMIT 100", done)
        subject = subjects.witness_checkpoint(witness, self._service)
        for r in rows:
            cp = SignedCheckpoint(json.loads(bytes(r["body"])), bytes(r["signature"]))
            try:
                await self._nc.jetstream().publish(subject, cp.encode(), timeout=5, headers={
                    "Nats-Msg-Id": f"{self._service}-checkpoint-{cp.seq}"})
            except (nats.errors.Error, TimeoutError) as exc:
                now = time.monotonic()
                if now - self._unreachable.get(witness, -WITNESS_LOG_EVERY_S) >= WITNESS_LOG_EVERY_S:
                    self._unreachable[witness] = now
                    log.warning("checkpoint_witness_unreachable", service=self._service, witness=witness,
                                seq=cp.seq, error=repr(exc))
                return
            await conn.execute(
                f"INSERT INTO {schema}.audit_witnessed (witness, last_seq, at) VALUES ($1, $2, now()) "
                "ON CONFLICT (witness) DO UPDATE SET last_seq = excluded.last_seq, at = excluded.at", witness, cp.seq)
            self.witnessed += 1


def parse_checkpoints(raw: Iterable[Mapping[str, Any]]) -> list[SignedCheckpoint]:
    return [SignedCheckpoint.from_json(c) for c in raw]


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    with suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()
