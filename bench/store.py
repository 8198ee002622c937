"""Event store and relay against raw asyncpg / nats-py baselines, measured in one run on this machine.

    python -m bench.store [--events N] [--per-conn N] [--quick]

Starts its own embedded NATS (sync_interval: always) and embedded PostgreSQL (durable: fsync on) in a temp dir,
unless WANQING_DATABASE_URL / WANQING_NATS_URL are set, and measures:

1. raw_insert_per_s  asyncpg, one autocommit INSERT of a comparable row (same envelope-sized bytea) per call,
                     into a plain table, from --connections connections at once.
2. append_per_s      EventStore.append of one event per call, same connections and count.
3. raw_publish_per_s nats-py publish_async with a bounded window, Nats-Msg-Id set, to BENCH_RAW (a stream
                     configured like WANQING); waits for every ack.
4. raw_atomic_per_s  the same messages in JetStream atomic batches of 1000, one batch at a time (bench/limits.py):
                     the limit of the relay's normal way to publish (docs/architecture.md, Outbox relay).
5. relay_per_s       backbone.relay.Relay from an empty checkpoint over --events pre-filled events, same window,
                     until relay.published == N; run in a spawned child process, whose peak RSS is reported.
                     relay_ratio is against raw_publish_per_s (issue 2's limit), relay_atomic_ratio against
                     raw_atomic_per_s.

A readable table goes first (with PASS/FAIL against the targets), then, as the last line, one JSON object.
Speed is never asserted by the tests; the targets are for people.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import functools
import json
import multiprocessing
import os
import queue
import resource
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from backbone.db import Connection

TARGET_APPEND_RATIO = 0.6
TARGET_RELAY_RATIO = 0.5
TARGET_RELAY_RSS_MB = 150.0

RAW_STREAM = "BENCH_RAW"
RAW_SUBJECT_ROOT = "bench.raw"
SERVICE = "care"  # a real service token: the relay builds wanqing.evt.<unit>.<service>.<type>
UNIT = "U0001"
EVENT_TYPE = "BenchEvent"


@dataclasses.dataclass(frozen=True)
class Options:
    events: int = 30_000  # raw publish and relay
    per_conn: int = 1_500  # raw insert and append, per connection
    connections: int = 8
    window: int = 1_000  # publish_async_max_pending, for the raw publish and the relay alike
    relay_batch: int = 1_000
    warmup: int = 20  # un-timed statements per connection before the insert/append phases
    rounds: int = 3  # raw insert and append alternate in this many rounds (per_conn split between them)


QUICK = Options(events=2_000, per_conn=100, connections=8, warmup=5)


# --------------------------------------------------------------------------------------------------- helpers


@functools.cache
def _actor() -> Any:
    from contracts.base import Actor, Role  # noqa: PLC0415

    return Actor(user="bench", role=Role.SYSTEM, unit="DISTRICT")


def _meta() -> Any:
    from backbone.store import Metadata  # noqa: PLC0415

    return Metadata(actor=_actor(), correlation_id=uuid.uuid4())


def _new_event(n: int) -> Any:
    from backbone.store import NewEvent  # noqa: PLC0415

    return NewEvent(type=EVENT_TYPE, data={"n": n}, unit=UNIT, occurred_at=datetime.now(UTC))


def _sample_envelope() -> bytes:
    """The canonical bytes of one benchmark event: sizes the raw row's bytea and the raw publish payload."""
    from backbone.envelope import canonical  # noqa: PLC0415
    from backbone.store import _envelope  # noqa: PLC0415

    meta = _meta()
    return canonical(_envelope(_new_event(0), "w0-0", 1, datetime.now(UTC), meta, meta.actor.model_dump(mode="json")))


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0


_SIGTERM_CLEANUPS: list[Callable[[], object]] = []


@contextlib.contextmanager
def _on_sigterm(cleanup: Callable[[], object]) -> Iterator[None]:
    """While inside, a SIGTERM (handled once main() is running) runs `cleanup` before the process exits."""
    _SIGTERM_CLEANUPS.append(cleanup)
    try:
        yield
    finally:
        _SIGTERM_CLEANUPS.remove(cleanup)


@contextlib.contextmanager
def _servers(tmp: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(database url, nats url, notes): external ones from the environment, else embedded ones in tmp."""
    from wanqing.embedded import EmbeddedNats, EmbeddedPostgres  # noqa: PLC0415

    notes: dict[str, str] = {}
    stack = contextlib.ExitStack()
    with stack:
        db_url = os.environ.get("WANQING_DATABASE_URL", "")
        if db_url:
            notes["postgres"] = "external (WANQING_DATABASE_URL)"
        else:
            pg = EmbeddedPostgres(tmp / "pg", durable=True)
            stack.callback(pg.stop)  # registered before start: a half-started server is stopped too
            stack.enter_context(_on_sigterm(pg.stop))
            pg.start()
            db_url = pg.url
            notes["postgres"] = "embedded, durable (fsync on)"
        nats_url = os.environ.get("WANQING_NATS_URL", "")
        if nats_url:
            notes["nats"] = "external (WANQING_NATS_URL); relay-phase events go to its WANQING stream"
        else:
            ns = EmbeddedNats(tmp / "nats")
            stack.callback(ns.stop)
            stack.enter_context(_on_sigterm(ns.stop))
            ns.start()
            nats_url = ns.url
            notes["nats"] = "embedded (deploy/nats/embedded.conf.template)"
        yield db_url, nats_url, notes


# --------------------------------------------------------------------------------------------- postgres phases


class _Workers:
    """n connections that run one kind of statement; `timed(first, count)` runs all of them at once."""

    def __init__(self, dsn: str, n: int, step: Any) -> None:
        self._dsn, self._n, self._step = dsn, n, step
        self._conns: list[Connection] = []

    async def open(self, warmup: int) -> None:
        self._conns = [await asyncpg.connect(self._dsn) for _ in range(self._n)]
        await self._all(10_000_000, warmup)  # indexes far above the timed ones: warm-up streams of their own

    async def _all(self, first: int, count: int) -> None:
        async def one(conn: Connection, w: int) -> None:
            for i in range(first, first + count):
                await self._step(conn, w, i)

        await asyncio.gather(*(one(c, w) for w, c in enumerate(self._conns)))

    async def timed(self, first: int, count: int) -> float:
        t0 = time.perf_counter()
        await self._all(first, count)
        return time.perf_counter() - t0

    async def close(self) -> None:
        for c in self._conns:
            await c.close()


async def raw_insert_workers(dsn: str, schema: str, opts: Options, payload: bytes) -> _Workers:
    """One autocommit INSERT per call of a comparable row into a plain table."""
    table = f'"{schema}".raw_events'
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        # A comparable row: identity key, unique event id, stream/version/type, the envelope-sized bytea.
        await conn.execute(
            f"CREATE TABLE {table} (position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
            "event_id uuid NOT NULL UNIQUE, stream_id text NOT NULL, version integer NOT NULL, "
            "type text NOT NULL, payload bytea NOT NULL)"
        )
    finally:
        await conn.close()
    sql = f"INSERT INTO {table} (event_id, stream_id, version, type, payload) VALUES ($1, $2, $3, $4, $5)"

    async def insert(conn: Connection, w: int, i: int) -> None:
        await conn.execute(sql, uuid.uuid4(), f"w{w}-{i // 100}", i % 100 + 1, EVENT_TYPE, payload)

    return _Workers(dsn, opts.connections, insert)


async def append_workers(dsn: str, schema: str, opts: Options) -> _Workers:
    """EventStore.append of one event per call: the next version of a per-worker stream, a new one every 100."""
    from backbone.migrations import migrate_service  # noqa: PLC0415
    from backbone.store import EventStore  # noqa: PLC0415

    conn = await asyncpg.connect(dsn)
    try:
        await migrate_service(conn, schema, None)
    finally:
        await conn.close()
    store = EventStore(schema)

    async def append(conn: Connection, w: int, i: int) -> None:
        await store.append(conn, f"w{w}-{i // 100}", i % 100, [_new_event(i)], _meta())

    return _Workers(dsn, opts.connections, append)


async def insert_and_append_phases(dsn: str, tag: str, opts: Options, payload: bytes) -> tuple[float, float]:
    """(raw seconds, append seconds): interleaved in rounds so a drifting disk favours neither side."""
    raw = await raw_insert_workers(dsn, f"{tag}_raw", opts, payload)
    app = await append_workers(dsn, f"{tag}_append", opts)
    raw_s = append_s = 0.0
    try:
        await raw.open(opts.warmup)
        await app.open(opts.warmup)
        first = 0
        for r in range(opts.rounds):
            count = opts.per_conn // opts.rounds + (1 if r < opts.per_conn % opts.rounds else 0)
            raw_s += await raw.timed(first, count)
            append_s += await app.timed(first, count)
            first += count
    finally:
        await raw.close()
        await app.close()
    return raw_s, append_s


async def prefill(dsn: str, schema: str, n: int) -> None:
    """N events (one per stream) in append_batch chunks of 1000: not timed."""
    from backbone.migrations import migrate_service  # noqa: PLC0415
    from backbone.store import EventStore  # noqa: PLC0415

    conn = await asyncpg.connect(dsn)
    try:
        await migrate_service(conn, schema, None)
        store = EventStore(schema)
        for start in range(0, n, 1000):
            items = [(f"r-{i}", 0, [_new_event(i)]) for i in range(start, min(n, start + 1000))]
            await store.append_batch(conn, items, _meta())
    finally:
        await conn.close()


# ------------------------------------------------------------------------------------------------- nats phases


async def _connect_nats(url: str) -> Client:
    # Fail fast: nats-py's default retries an unreachable server 60 times, 2 s apart, before it gives up.
    return await nats.connect(url, allow_reconnect=False, connect_timeout=5)


async def _stream_messages(js: JetStreamContext, name: str) -> int:
    try:
        return int((await js.stream_info(name)).state.messages)
    except NotFoundError:
        return 0


async def raw_publish_phase(nats_url: str, opts: Options, payload: bytes) -> tuple[float, int]:
    """publish_async of opts.events messages, window opts.window; returns (seconds, messages stored)."""
    from wanqing.streams import load_definitions  # noqa: PLC0415

    nc = await _connect_nats(nats_url)
    try:
        js = nc.jetstream(publish_async_max_pending=opts.window)
        ours = next(c for c in load_definitions() if c.name == "WANQING")
        try:  # the relay phase publishes to WANQING: create it from deploy/streams.json if missing, never alter it
            await js.stream_info("WANQING")
        except NotFoundError:
            await js.add_stream(ours)
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(RAW_STREAM)
        await js.add_stream(dataclasses.replace(ours, name=RAW_STREAM, subjects=[f"{RAW_SUBJECT_ROOT}.>"]))
        subject = f"{RAW_SUBJECT_ROOT}.{UNIT}.{SERVICE}.{EVENT_TYPE}"
        ids = [str(uuid.uuid4()) for _ in range(opts.events)]
        try:
            t0 = time.perf_counter()
            futures = [
                await js.publish_async(subject, payload, stream=RAW_STREAM, headers={"Nats-Msg-Id": msg_id})
                for msg_id in ids
            ]
            await asyncio.wait_for(asyncio.gather(*futures), 120)
            seconds = time.perf_counter() - t0
            stored = await _stream_messages(js, RAW_STREAM)
        finally:
            with contextlib.suppress(Exception):
                await js.delete_stream(RAW_STREAM)
        return seconds, stored
    finally:
        await nc.close()


async def raw_atomic_phase(nats_url: str, opts: Options, payload: bytes) -> float:
    """The limit of the relay's normal way to publish: atomic batches (bench/limits.py); messages per second."""
    from bench import limits  # noqa: PLC0415

    nc = await _connect_nats(nats_url)
    try:
        return await limits.atomic_batches_per_s(nc, opts.events, payload)
    finally:
        await nc.close()


@dataclasses.dataclass(frozen=True)
class RelayJob:
    """What the spawned relay process needs (picklable)."""

    dsn: str
    nats_url: str
    schema: str
    events: int
    window: int
    batch: int


async def _relay_run(job: RelayJob) -> dict[str, Any]:
    import psutil  # noqa: PLC0415

    from backbone.relay import STREAM, Relay  # noqa: PLC0415
    from backbone.store import EventStore  # noqa: PLC0415

    proc = psutil.Process()
    peak = [proc.memory_info().rss]
    sampling = True

    async def sample() -> None:
        while sampling:
            peak[0] = max(peak[0], proc.memory_info().rss)
            await asyncio.sleep(0.02)

    nc = await _connect_nats(job.nats_url)
    try:
        js = nc.jetstream()
        before = await _stream_messages(js, STREAM)
        baseline = proc.memory_info().rss
        sampler = asyncio.create_task(sample())
        relay = Relay(dsn=job.dsn, store=EventStore(job.schema), service=SERVICE, nc=nc, window=job.window,
                      batch=job.batch)
        stop = asyncio.Event()
        t0 = time.perf_counter()
        task = asyncio.create_task(relay.run(stop))
        deadline = t0 + max(120.0, job.events / 200)
        while relay.published < job.events:
            if task.done():
                task.result()
                raise RuntimeError("the relay stopped early")
            if time.perf_counter() > deadline:
                raise RuntimeError(f"the relay published {relay.published} of {job.events} in time")
            await asyncio.sleep(0.002)
        seconds = time.perf_counter() - t0
        stop.set()
        await task
        sampling = False
        await sampler
        stored = await _stream_messages(js, STREAM) - before
    finally:
        await nc.close()
    return {
        "seconds": seconds,
        "atomic": relay.atomic,
        "published": relay.published,
        "stored": stored,
        "rss_baseline_mb": baseline / 2**20,
        "rss_peak_sampled_mb": peak[0] / 2**20,
    }


def _own_peak_rss_mb() -> float:
    """The RSS high-water mark of the current process since it started (VmHWM).

    Not ru_maxrss: Linux carries that across exec, so a spawned child would report its parent's RSS at fork time.
    """
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: the best there is


def _relay_child(job: RelayJob, out: Any) -> None:
    """Entry point of the spawned relay process: the only work in it is the relay, so its peak RSS is the relay's."""
    import logging  # noqa: PLC0415

    import structlog  # noqa: PLC0415

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    try:
        result = asyncio.run(_relay_run(job))
        result["rss_hwm_mb"] = _own_peak_rss_mb()
        out.put(("ok", result))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises
        out.put(("error", repr(exc)))


def relay_phase(dsn: str, nats_url: str, schema: str, opts: Options) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    job = RelayJob(dsn, nats_url, schema, opts.events, opts.window, opts.relay_batch)
    child = ctx.Process(target=_relay_child, name="bench-relay", args=(job, out))
    with _on_sigterm(child.kill):
        child.start()
        try:
            status, result = out.get(timeout=max(180.0, opts.events / 150))
        except queue.Empty:
            status, result = "error", f"no result from the relay process (exit code {child.exitcode})"
        finally:
            child.join(30)
            if child.is_alive():
                child.terminate()
                child.join(10)
    if status != "ok":
        raise RuntimeError(f"relay phase failed in the child process: {result}")
    return dict(result)


# ------------------------------------------------------------------------------------------------------- main


async def _postgres_phases(db_url: str, opts: Options, tag: str, payload: bytes) -> dict[str, float]:
    raw_s, append_s = await insert_and_append_phases(db_url, tag, opts, payload)
    await prefill(db_url, f"{tag}_relay", opts.events)
    return {"raw_s": raw_s, "append_s": append_s}


async def _drop_schemas(db_url: str, tag: str) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        for suffix in ("raw", "append", "relay"):
            await conn.execute(f'DROP SCHEMA IF EXISTS "{tag}_{suffix}" CASCADE')
    finally:
        await conn.close()


def run(opts: Options) -> dict[str, Any]:
    """The whole benchmark; returns the JSON-ready result and prints the table."""
    payload = _sample_envelope()
    tag = f"bench_{uuid.uuid4().hex[:8]}"
    tmp = Path(tempfile.mkdtemp(prefix="wanqing-bench-"))
    with _on_sigterm(lambda: shutil.rmtree(tmp, ignore_errors=True)):
        try:
            with _servers(tmp) as (db_url, nats_url, notes):
                try:
                    pg = asyncio.run(_postgres_phases(db_url, opts, tag, payload))
                    publish_s, raw_stored = asyncio.run(raw_publish_phase(nats_url, opts, payload))
                    raw_atomic = asyncio.run(raw_atomic_phase(nats_url, opts, payload))
                    relay = relay_phase(db_url, nats_url, f"{tag}_relay", opts)
                finally:
                    if "WANQING_DATABASE_URL" in os.environ:
                        with contextlib.suppress(Exception):
                            asyncio.run(_drop_schemas(db_url, tag))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    if raw_stored != opts.events or relay["stored"] != opts.events:
        sys.stderr.write(f"warning: streams hold raw={raw_stored} relayed={relay['stored']} of {opts.events}\n")
    inserts = opts.per_conn * opts.connections
    raw_insert = _rate(inserts, pg["raw_s"])
    append = _rate(inserts, pg["append_s"])
    raw_publish = _rate(opts.events, publish_s)
    relay_rate = _rate(opts.events, relay["seconds"])
    result: dict[str, Any] = {
        "raw_insert_per_s": round(raw_insert, 1),
        "append_per_s": round(append, 1),
        "append_ratio": round(append / raw_insert, 3) if raw_insert else 0.0,
        "raw_publish_per_s": round(raw_publish, 1),
        "relay_per_s": round(relay_rate, 1),
        "relay_ratio": round(relay_rate / raw_publish, 3) if raw_publish else 0.0,
        "raw_atomic_per_s": round(raw_atomic, 1),
        "relay_atomic_ratio": round(relay_rate / raw_atomic, 3),
        "relay_atomic_batches": relay["atomic"],
        "relay_peak_rss_mb": round(max(relay["rss_hwm_mb"], relay["rss_peak_sampled_mb"]), 1),
        "relay_rss_baseline_mb": round(relay["rss_baseline_mb"], 1),
        "relay_rss_peak_sampled_mb": round(relay["rss_peak_sampled_mb"], 1),
        "relay_rss_method": "spawned child process running only the relay: its VmHWM (peak since exec)",
        "connections": opts.connections,
        "inserts": inserts,
        "appends": inserts,
        "events": opts.events,
        "window": opts.window,
        "relay_batch": opts.relay_batch,
        "payload_bytes": len(payload),
        "postgres": notes["postgres"],
        "nats": notes["nats"],
    }
    _print_table(result)
    return result


def _emit(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _print_table(r: dict[str, Any]) -> None:
    def verdict(*, ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    rows = [
        ("raw_insert_per_s", f"{r['raw_insert_per_s']:,.0f}", f"{r['inserts']} rows, {r['connections']} conns"),
        ("append_per_s", f"{r['append_per_s']:,.0f}", f"{r['appends']} appends, {r['connections']} conns"),
        ("append_ratio", f"{r['append_ratio']:.3f}",
         f"{verdict(ok=r['append_ratio'] >= TARGET_APPEND_RATIO)} (target >= {TARGET_APPEND_RATIO})"),
        ("raw_publish_per_s", f"{r['raw_publish_per_s']:,.0f}", f"{r['events']} msgs, window {r['window']}"),
        ("relay_per_s", f"{r['relay_per_s']:,.0f}", f"{r['events']} events, batch {r['relay_batch']}"),
        ("relay_ratio", f"{r['relay_ratio']:.3f}",
         f"{verdict(ok=r['relay_ratio'] >= TARGET_RELAY_RATIO)} (target >= {TARGET_RELAY_RATIO})"),
        ("raw_atomic_per_s", f"{r['raw_atomic_per_s']:,.0f}", f"{r['events']} msgs in atomic batches of 1000"),
        ("relay_atomic_ratio", f"{r['relay_atomic_ratio']:.3f}",
         f"relay ÷ raw atomic (the relay used atomic batches: {r['relay_atomic_batches']})"),
        ("relay_peak_rss_mb", f"{r['relay_peak_rss_mb']:.1f}",
         f"{verdict(ok=r['relay_peak_rss_mb'] <= TARGET_RELAY_RSS_MB)} (target <= {TARGET_RELAY_RSS_MB:.0f})"),
        ("relay_rss_baseline_mb", f"{r['relay_rss_baseline_mb']:.1f}", "child RSS just before the relay started"),
        ("relay_rss_peak_sampled_mb", f"{r['relay_rss_peak_sampled_mb']:.1f}", "psutil every 20 ms during relay"),
        ("payload_bytes", str(r["payload_bytes"]), "envelope size (row bytea and message body)"),
    ]
    width = max(len(m) for m, _, _ in rows)
    vwidth = max(len(v) for _, v, _ in rows)
    _emit(f"{'metric':<{width}}  {'value':>{vwidth}}  note")
    _emit(f"{'-' * width}  {'-' * vwidth}  {'-' * 4}")
    for metric, value, note in rows:
        _emit(f"{metric:<{width}}  {value:>{vwidth}}  {note}")
    _emit(f"postgres: {r['postgres']}; nats: {r['nats']}")
    _emit(f"relay RSS: {r['relay_rss_method']}")


def _env_int(name: str) -> int | None:
    raw = os.environ.get(name, "")
    return int(raw) if raw else None


def parse_options(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.store", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", default=os.environ.get("WANQING_BENCH_QUICK", "") not in
                        ("", "0", "false"), help="small counts (smoke test); env WANQING_BENCH_QUICK=1")
    parser.add_argument("--events", type=int, default=_env_int("WANQING_BENCH_EVENTS"),
                        help="messages for raw publish and relay (default 30000, quick 2000)")
    parser.add_argument("--per-conn", type=int, default=_env_int("WANQING_BENCH_PER_CONN"),
                        help="inserts/appends per connection (default 1500, quick 100)")
    parser.add_argument("--connections", type=int, default=None, help="connections for insert/append (default 8)")
    parser.add_argument("--window", type=int, default=None, help="publish_async_max_pending (default 1000)")
    # Called as bench.store.main() from the `wanqing bench store` CLI, sys.argv holds the CLI's words: skip them.
    args, unknown = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    if argv is not None and unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    base = QUICK if args.quick else Options()
    changes = {k: v for k, v in (("events", args.events), ("per_conn", args.per_conn),
                                 ("connections", args.connections), ("window", args.window)) if v is not None}
    for key, value in changes.items():
        if value < 1:
            parser.error(f"--{key.replace('_', '-')} must be at least 1")
    return dataclasses.replace(base, **changes)


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    # Cleans up right here and exits at once: an exception raised at a random point inside asyncpg or nats-py
    # was seen to crash the interpreter (SIGSEGV) before the finally blocks ran, orphaning both servers.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for cleanup in reversed(_SIGTERM_CLEANUPS):
        with contextlib.suppress(Exception):
            cleanup()
    os._exit(128 + signum)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    import logging  # noqa: PLC0415

    import structlog  # noqa: PLC0415

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _exit_on_sigterm)

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))  # no migration chatter
    result = run(parse_options(argv))
    _emit(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
