"""The process runtime of one service: pool, migrations, broker, command/query routes, relay, consumers, ticker.

Each service's `app.py` is its composition root: it builds a `ServiceSpec` from a `Runtime` and calls `run`.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import ssl
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import structlog
from faststream.nats import NatsBroker, NatsMessage
from faststream.nats.security import NatsNKey
from faststream.security import BaseSecurity
from nats.aio.client import Client
from pydantic import BaseModel

from backbone import health, logs
from backbone.agencies import EnabledAgencies
from backbone.asking import Asker
from backbone.checkpoints import Checkpointer
from backbone.clock import Clock, PlatformClock
from backbone.commands import CommandRouter
from backbone.consumer import Consumer, ConsumerSpec
from backbone.credentials import HEADER as CREDENTIAL_HEADER
from backbone.credentials import Signer, TrustBundle, load_signing_key
from backbone.crypto import Keyring
from backbone.db import create_pool
from backbone.key_upkeep import open_keyring
from backbone.migrations import migrate_service
from backbone.recording import Recorder
from backbone.relay import Relay
from backbone.requests import refusal
from backbone.settings import Settings
from backbone.store import EventStore
from backbone.timers import Ticker, Timer
from contracts import subjects
from contracts.errors import ErrorCode

log = structlog.get_logger()


@dataclass
class Runtime:
    """What a composition root wires its handlers with."""

    name: str
    settings: Settings
    pool: asyncpg.Pool
    recorder: Recorder  # the store, the keyring, and the projection of the service's own events
    clock: Clock
    router: CommandRouter
    wake_relay: Callable[[], None]
    # Mints the service's own credential (itself as the system actor) for what it asks other services.
    signer: Signer
    # The process's NATS connection, set once the broker has started: handlers that must ask another
    # service a query at run time (notify fetching a retiree's contact) use it, through `asker`.
    nc: Client | None = None

    @property
    def asker(self) -> Asker:
        """Asks other services' queries as this service, on the process's connection."""
        return Asker(lambda: self.nc, self.signer)

    @property
    def store(self) -> EventStore:
        return self.recorder.store

    @property
    def keyring(self) -> Keyring | None:
        return self.recorder.keyring


@dataclass
class ServiceSpec:
    consumers: list[ConsumerSpec] = field(default_factory=list)
    timers: dict[str, Timer[Any]] = field(default_factory=dict)
    # Runs once after migrations, before any command, event or timer is handled (e.g. adopt a policy file).
    startup: Callable[[], Awaitable[None]] | None = None
    # Requests answered without a credential, on `wanqing.auth.identity.<Name>` (a login makes one): identity's,
    # the only service NATS lets subscribe there.
    open_requests: dict[str, Callable[[bytes], Awaitable[BaseModel]]] = field(default_factory=dict)
    # Loops of the service's own that run beside the relay and the consumers, on the process's NATS connection
    # (the feed's hand-over to the agencies), and what they add to /health.
    workers: list[Callable[[asyncio.Event, Client], Coroutine[Any, Any, None]]] = field(default_factory=list)
    health: Callable[[], Awaitable[dict[str, Any]]] | None = None


def witnesses_of(settings: Settings) -> Callable[[], list[str]]:
    """The configured witnesses (the auditor), then every enabled agency (docs/agencies.md: agencies witness)."""
    fixed = [w for w in settings.witnesses.split(",") if w]
    agencies = EnabledAgencies(Path(settings.data_dir).resolve())
    return lambda: list(dict.fromkeys([*fixed, *sorted(agencies())]))


def read_master_key(settings: Settings) -> str:
    """From its owner-only file (the platform's way: not in the environment), or as configured."""
    if settings.master_key_file is not None:
        return settings.master_key_file.read_text(encoding="utf-8").strip()
    if settings.master_key is not None:
        return settings.master_key.get_secret_value()
    raise SystemExit("WANQING_MASTER_KEY_FILE is required by a service that holds personal data")


def credentials_of(name: str, settings: Settings) -> tuple[TrustBundle, Signer]:
    """The issuers this service believes, and its own signing key (both written by `wanqing up`)."""
    if settings.trust_file is None or settings.signing_key_file is None:
        msg = ("WANQING_TRUST_FILE and WANQING_SIGNING_KEY_FILE must be set for a service process "
               "(`wanqing up` sets them)")
        raise SystemExit(msg)
    return TrustBundle.load(settings.trust_file), Signer(name, load_signing_key(settings.signing_key_file))


async def undecoded(msg: NatsMessage) -> bytes:
    """The body as it came. faststream would JSON-decode every body before the handler (a body nested 100,000
    deep overflows the stack there, and no reply is ever sent); the router parses it itself, within limits.
    """
    return msg.body


def _open_request(answer: Callable[[bytes], Awaitable[BaseModel]]) -> Callable[[NatsMessage], Awaitable[bytes]]:
    async def on_request(msg: NatsMessage) -> bytes:
        try:
            reply = await answer(msg.body)
        except Exception:
            log.exception("open_request_failed", subject=msg.raw_message.subject)
            reply = refusal(ErrorCode.UNAVAILABLE, "系统暂时无法处理，请稍后再试", "the request failed; try again")
        return reply.model_dump_json().encode()

    return on_request


def nats_security(settings: Settings) -> BaseSecurity | None:
    """The service's own NATS user (its nkey signs the server's challenge), over TLS when a CA is configured."""
    tls = ssl.create_default_context(cafile=settings.nats_ca_file) if settings.nats_ca_file else None
    if settings.nats_nkey_file is not None:
        return NatsNKey.from_file(settings.nats_nkey_file, ssl_context=tls)
    return BaseSecurity(ssl_context=tls) if tls else None


def nats_inbox(name: str, settings: Settings) -> str:
    """Replies come to the service's own inbox prefix when it has a NATS user: nobody else may read them."""
    return subjects.inbox_prefix(name) if settings.nats_nkey_file is not None else "_INBOX"


def resolve_urls(settings: Settings) -> tuple[str, str]:
    if not settings.nats_url or not settings.database_url:
        msg = "WANQING_NATS_URL and WANQING_DATABASE_URL must be set for a service process (`wanqing up` sets them)"
        raise SystemExit(msg)
    return settings.nats_url, settings.database_url


async def run(  # noqa: C901, PLR0913, PLR0915 - the wiring of a process is one readable sequence
    name: str,
    migrations: Path | None,
    build: Callable[[Runtime], ServiceSpec],
    *,
    settings: Settings | None = None,
    clock: Clock | None = None,
    stop: asyncio.Event | None = None,
    uses_personal_data: bool = False,
) -> None:
    settings = settings or Settings()
    logs.configure(settings.log_format, settings.log_level, service=name)
    nats_url, dsn = resolve_urls(settings)
    stop = stop or asyncio.Event()
    pool = await create_pool(dsn, max_size=settings.pool_max)
    async with pool.acquire() as conn:
        await migrate_service(conn, name, migrations)
    store = EventStore(name)
    keyring = open_keyring(name, settings) if uses_personal_data else None  # backbone/key_upkeep.py
    trust, signer = credentials_of(name, settings)
    clock = clock or PlatformClock(pool)
    # No faststream access log (two coloured lines per message, outside structlog): the router logs what it
    # handled, at debug.
    broker = NatsBroker(nats_url, max_reconnect_attempts=-1, connect_timeout=5, logger=None,
                        security=nats_security(settings), inbox_prefix=nats_inbox(name, settings))
    relay_box: list[Relay] = []

    def wake() -> None:
        for r in relay_box:
            r.wake()

    recorder = Recorder(service=name, store=store, keyring=keyring)
    router = CommandRouter(service=name, pool=pool, recorder=recorder, clock=clock, trust=trust, on_commit=wake)
    rt = Runtime(name, settings, pool, recorder, clock, router, wake, signer)
    spec = build(rt)
    if spec.startup is not None:
        await spec.startup()

    @broker.subscriber(subjects.commands_of(name), queue=f"{name}-commands", max_workers=settings.command_workers,
                       decoder=undecoded)
    async def on_command(msg: NatsMessage) -> bytes:
        reply = await router.handle_command(msg.raw_message.subject.rsplit(".", 1)[-1], msg.body,
                                            (msg.headers or {}).get(CREDENTIAL_HEADER))
        return reply.model_dump_json().encode()

    @broker.subscriber(subjects.queries_of(name), queue=f"{name}-queries", max_workers=settings.command_workers,
                       decoder=undecoded)
    async def on_query(msg: NatsMessage) -> bytes:
        reply = await router.handle_query(msg.raw_message.subject.rsplit(".", 1)[-1], msg.body,
                                          (msg.headers or {}).get(CREDENTIAL_HEADER))
        return reply.model_dump_json().encode()

    for request_name, answer in spec.open_requests.items():
        broker.subscriber(subjects.auth(request_name), queue=f"{name}-auth", max_workers=settings.command_workers,
                          decoder=undecoded)(_open_request(answer))

    await broker.start()
    nc = broker.config.connection_state.connection
    rt.nc = nc
    js = nc.jetstream()
    relay = Relay(dsn=dsn, store=store, service=name, nc=nc, window=settings.relay_window,
                  batch=settings.relay_batch, idle_poll_s=settings.relay_idle_poll_s)
    relay_box.append(relay)
    checkpointer = Checkpointer(dsn=dsn, store=store, service=name, key=signer.key, nc=nc,
                                every_events=settings.checkpoint_every_events, every_s=settings.checkpoint_every_s,
                                poll_s=settings.checkpoint_poll_s,
                                witnesses=witnesses_of(settings))
    consumers = [Consumer(pool=pool, schema=name, js=js, spec=c) for c in spec.consumers]
    ticker = Ticker(pool=pool, schema=name, service=name, clock=clock, handlers=spec.timers,
                    interval_s=settings.ticker_interval_s, on_commit=wake)

    async def probe() -> dict[str, Any]:
        report: dict[str, Any] = {"service": name, "nats_connected": nc.is_connected,
                                  "relay_leader": relay.is_leader, "relay_published": relay.published,
                                  # stored events the relay could not publish: the rest flow; an operator looks
                                  "relay_set_aside": relay.set_aside,
                                  # signed checkpoints made and published by this process (docs/audit.md)
                                  "checkpoints_made": checkpointer.made,
                                  "checkpoints_published": checkpointer.published}
        try:
            await pool.fetchval("SELECT 1")
            report["database"] = True
        except (OSError, asyncpg.PostgresError):
            report["database"] = False
        lags: dict[str, int | None] = {}
        for c in consumers:
            try:
                lags[c.spec.name] = await c.lag()
            except Exception:  # noqa: BLE001 - health must answer even when NATS is away
                lags[c.spec.name] = None
        report["consumer_lag"] = lags
        if spec.health is not None:
            try:
                report.update(await spec.health())
            except Exception as exc:  # noqa: BLE001 - health must answer even when a part of it cannot
                report["health_error"] = repr(exc)
        report["now"] = (await clock.now()).isoformat()
        report["ok"] = bool(report["database"] and report["nats_connected"])
        return report

    server = await health.serve(settings.http_host, settings.http_port, probe)
    port = server.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        # Not possible outside the main thread (tests run services in-process).
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(relay.run(stop), name=f"{name}-relay"),
             asyncio.create_task(ticker.run(stop), name=f"{name}-ticker"),
             asyncio.create_task(checkpointer.run(stop), name=f"{name}-checkpointer")]
    tasks += [asyncio.create_task(c.run(stop), name=c.spec.name) for c in consumers]
    tasks += [asyncio.create_task(w(stop, nc), name=f"{name}-worker-{i}") for i, w in enumerate(spec.workers)]
    log.info("service_started", http_port=port, commands=router.command_names, queries=router.query_names,
             consumers=[c.name for c in spec.consumers])
    try:
        done, _ = await asyncio.wait([*tasks, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
        for t in done:
            if t in tasks and t.exception() is not None:
                raise t.exception()  # type: ignore[misc]
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        server.close()
        await broker.stop()
        await pool.close()
        log.info("service_stopped")
