"""Rebuilding a service's read models from history, and the digests that show a rebuild changed nothing.

A service describes its read models with a `RebuildPlan`: the tables (each with the columns its digest leaves
out, and why), the projection of its own events, and the projections it keeps from other services' events
through a live consumer. `rebuild(conn, js, plan)` then, in one transaction:

1. locks the tables (live writers wait, and see the old rows or the rebuilt ones) and reads the inbox of each
   consumer: only the events the live consumer has already applied are replayed (the others are on their way
   to it, and it will apply them after the rebuild commits);
2. truncates the tables;
3. replays the other services' events from the JetStream stream (an ordered consumer from the start) through
   the plan's projections of them, and then the service's own events from `<schema>.events` in position order.

Every time a projection writes comes from the event, so a replay writes the rows the live service wrote.
Timers, inbox, commands, person keys, checkpoints and the events themselves are never touched.

`digest(conn, plan)` is a sha256 per table over its rows in a fixed order (each row rendered as Postgres' own
canonical `jsonb` text, the excluded columns removed, the rows sorted by that text), and one over them all.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any
from uuid import UUID

import nats.errors
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy

from backbone.crypto import Keyring
from backbone.db import Connection
from backbone.envelope import parse
from backbone.events import EventMeta, Routes, decode
from backbone.facts import open_facts
from backbone.relay import STREAM
from contracts import subjects
from contracts.subjects import ALL_EVENTS

FETCH_TIMEOUT_S = 10.0


class RebuildError(RuntimeError):
    pass


@dataclass(frozen=True)
class ReadModel:
    table: str
    # Columns that legitimately differ between the live rows and rebuilt ones (the service says why).
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class Source:
    """Other services' events the service keeps read models of, through its live consumer `consumer`."""

    consumer: str
    routes: Routes
    subject: str = ALL_EVENTS  # what of the stream to read (the consumer's filter, when it has one)


@dataclass(frozen=True)
class RebuildPlan:
    schema: str
    models: tuple[ReadModel, ...]
    own: Routes
    sources: tuple[Source, ...] = ()
    # The service's keyring, to open sealed facts (backbone/facts.py) as the live service did; None for a
    # service whose read models hold none.
    keyring: Keyring | None = None

    @property
    def tables(self) -> list[str]:
        return [f"{self.schema}.{m.table}" for m in self.models]


@dataclass
class RebuildReport:
    service: str
    own_events: int = 0
    stream_events: int = 0
    stream_skipped_not_applied_yet: int = 0
    seconds: float = 0.0
    rows: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def rebuild(conn: Connection, js: JetStreamContext | None, plan: RebuildPlan) -> RebuildReport:
    """Truncate and replay; all or nothing. `js` may be None only for a plan without sources."""
    started = time.monotonic()
    report = RebuildReport(plan.schema)
    tables = ", ".join(plan.tables)
    async with conn.transaction():
        await conn.execute(f"LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE")
        applied = {s.consumer: {r["event_id"] for r in await conn.fetch(
            f"SELECT event_id FROM {plan.schema}.inbox WHERE consumer = $1", s.consumer)} for s in plan.sources}
        await conn.execute(f"TRUNCATE {tables}")
        for source in plan.sources:
            if js is None:
                raise RebuildError(f"{plan.schema} keeps read models of other services' events: it needs the bus")
            await replay_stream(conn, js, source, applied[source.consumer], report, plan.keyring)
        report.own_events = await replay_own(conn, plan)
        report.rows = {m.table: int(await conn.fetchval(f"SELECT count(*) FROM {plan.schema}.{m.table}"))
                       for m in plan.models}
    report.seconds = round(time.monotonic() - started, 3)
    return report


async def replay_own(conn: Connection, plan: RebuildPlan) -> int:
    applied = 0
    async for row in conn.cursor(f"SELECT envelope FROM {plan.schema}.events ORDER BY position", prefetch=1000):
        env = parse(bytes(row["envelope"]))
        if plan.keyring is not None:
            env = await open_facts(conn, plan.keyring, env, plan.schema)
        event = decode(env, plan.schema)
        if event is not None and await plan.own.apply(conn, event, EventMeta.of(env)):
            applied += 1
    return applied


async def replay_stream(conn: Connection, js: JetStreamContext, source: Source, applied: set[UUID],  # noqa: PLR0913
                        report: RebuildReport, keyring: Keyring | None = None) -> None:
    """Every event of `source.subject` the live consumer applied, in stream order, through the source's
    projections; other events are skipped. RebuildError when an applied event is no longer on the stream.
    """
    seen: set[UUID] = set()
    info = await js.stream_info(STREAM)
    if applied and info.state.messages:
        sub = await js.subscribe(source.subject, stream=STREAM, ordered_consumer=True,
                                 deliver_policy=DeliverPolicy.ALL, idle_heartbeat=2.0)
        try:
            while True:
                try:
                    msg = await sub.next_msg(timeout=FETCH_TIMEOUT_S)
                except nats.errors.TimeoutError as exc:
                    msg_ = f"the stream {STREAM} stopped delivering events before its end"
                    raise RebuildError(msg_) from exc
                env = parse(msg.data)
                if env.event_id in applied and env.event_id not in seen:
                    seen.add(env.event_id)
                    owner = subjects.event_owner(msg.subject)
                    if keyring is not None:
                        env = await open_facts(conn, keyring, env, owner)
                    event = decode(env, owner)
                    if event is not None:
                        await source.routes.apply(conn, event, EventMeta.of(env))
                    report.stream_events += 1
                elif env.event_id not in applied:
                    report.stream_skipped_not_applied_yet += 1
                if msg.metadata.num_pending == 0:
                    break
        finally:
            await sub.unsubscribe()
    missing = len(applied - seen)
    if missing:
        msg_ = (f"{missing} event(s) {source.consumer} applied are no longer on the stream {STREAM}; "
                "not rebuilding")
        raise RebuildError(msg_)


async def table_digest(conn: Connection, table: str, exclude: Sequence[str] = ()) -> tuple[int, str]:
    """(rows, sha256 hex) of a table: each row as canonical jsonb text without `exclude`, sorted, one a line."""
    h = hashlib.sha256()
    rows = 0
    sql = (f"SELECT (to_jsonb(t) - $1::text[])::text AS j FROM {table} t "
           f'ORDER BY (to_jsonb(t) - $1::text[])::text COLLATE "C"')
    async for row in conn.cursor(sql, list(exclude), prefetch=2000):
        h.update(row["j"].encode("utf-8"))
        h.update(b"\n")
        rows += 1
    return rows, h.hexdigest()


async def digest(conn: Connection, plan: RebuildPlan) -> dict[str, Any]:
    """Per table {rows, sha256, excluded} and `all`: a sha256 over the tables' digests in the plan's order.
    A cursor needs a transaction: one is opened when the connection is not in one.
    """
    if not conn.is_in_transaction():
        async with conn.transaction(readonly=True, isolation="repeatable_read"):
            return await digest(conn, plan)
    tables: dict[str, Any] = {}
    whole = hashlib.sha256()
    for m in plan.models:
        rows, sha = await table_digest(conn, f"{plan.schema}.{m.table}", m.exclude)
        tables[m.table] = {"rows": rows, "sha256": sha, "excluded": list(m.exclude)}
        whole.update(f"{m.table}:{sha}\n".encode())
    return {"service": plan.schema, "tables": tables, "all": whole.hexdigest()}


async def check(conn: Connection, js: JetStreamContext | None, plan: RebuildPlan) -> dict[str, Any]:
    """Digest the live read models, rebuild them in a transaction, digest again, and roll the rebuild back:
    the live read models are unchanged (live writers wait on the table locks while it runs).
    """
    tr = conn.transaction()
    await tr.start()
    try:
        # Locked first: the live digest and the rebuild then see the same read models and the same inbox.
        await conn.execute(f"LOCK TABLE {', '.join(plan.tables)} IN ACCESS EXCLUSIVE MODE")
        live = await digest(conn, plan)
        report = await rebuild(conn, js, plan)
        rebuilt = await digest(conn, plan)
    finally:
        await tr.rollback()
    return {"service": plan.schema, "live": live, "rebuilt": rebuilt, "report": report.as_dict(),
            "equal": live["all"] == rebuilt["all"],
            "differing_tables": [t for t in live["tables"]
                                 if live["tables"][t]["sha256"] != rebuilt["tables"][t]["sha256"]]}
