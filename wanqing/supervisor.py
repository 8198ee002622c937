"""`wanqing up`: servers (embedded or given), streams, migrations, then one OS process per service, kept running.

Services run in their own session so a terminal's Ctrl-C reaches only the supervisor, which then stops them in
order (services, NATS, Postgres). On Linux a service also dies with the supervisor if the latter is killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit, urlunsplit

import nats
import nats.errors
import structlog
from nats.js.api import StreamConfig

from backbone.agencies import EnabledAgencies
from backbone.master_keys import MasterKeys, default_folder, shred
from backbone.settings import Settings
from wanqing import database_roles, nats_auth, platform_secrets
from wanqing.catalog import SERVICES, migrate_all, nats_accounts, opens_personal_data
from wanqing.embedded import EmbeddedNats, EmbeddedPostgres, free_port
from wanqing.state import PlatformState, remove_state, running_state, write_state
from wanqing.streams import agency_stream, ensure_outside_stream, ensure_streams, witness_stream

log = structlog.get_logger()

MAX_BACKOFF_S = 30.0
STABLE_AFTER_S = 30.0  # a process that ran this long before crashing restarts without the accumulated backoff
READY_TIMEOUT_S = 90.0
STOP_GRACE_S = 10.0
TICK_S = 0.2
CONSOLE_NAME = "console"  # the staff console's process, supervised like a service


SECRET_VARIABLES = frozenset({"WANQING_MASTER_KEY", "WANQING_MASTER_KEY_FILE", "WANQING_KEY_DIR"})


def key_folder(settings: Settings, data_dir: Path) -> Path:
    """The key folder of versioned master keys (backbone/master_keys.py): the configured one, or `<data dir>.keys`
    beside the data folder (never inside it: a copy or a backup of the data folder must not carry the keys).
    Made on the first run; a data folder's old single `master.key` (or the configured WANQING_MASTER_KEY_FILE)
    becomes version 1, and the copy inside the data folder is destroyed.
    """
    folder = settings.key_dir or default_folder(data_dir)
    legacy = settings.master_key_file or data_dir / "master.key"
    initial = settings.master_key.get_secret_value() if settings.master_key is not None else None
    MasterKeys(folder).ensure(legacy_file=legacy, initial=initial)
    if settings.master_key_file is None and legacy.exists():
        shred(legacy)
        log.info("master_key_moved_out_of_data_folder", folder=str(folder))
    return folder


@dataclass(frozen=True)
class Prepared:
    streams: list[str]
    migrations: dict[str, list[str]]
    dsns: dict[str, str]  # each service's own role, its password in an owner-only pgpass file
    witnesses: tuple[str, ...] = ()  # the witnesses whose streams are ready to take checkpoints


async def prepare(nats_url: str, database_url: str, services: tuple[str, ...], secrets_dir: Path,  # noqa: PLR0913
                  nats_options: dict[str, str] | None = None,
                  witnesses: Mapping[str, tuple[StreamConfig, dict[str, str]]] | None = None) -> Prepared:
    """Streams from deploy/streams.json, each witness's own stream (as that witness, in its account), every
    service's migrations (as the admin), then each service's own database role, owning only its schema
    (wanqing.database_roles). A witness that cannot be reached is left out, with a warning.
    """
    nc = await nats.connect(nats_url, connect_timeout=5, max_reconnect_attempts=3, **(nats_options or {}))
    try:
        streams = await ensure_streams(nc.jetstream())
    finally:
        await nc.drain()
    ready = await ensure_outside_streams(nats_url, witnesses or {})
    applied = await migrate_all(database_url)
    dsns = await database_roles.provision(database_url, services, secrets_dir)
    return Prepared(streams, applied, {s: database_roles.without_password(d, secrets_dir) for s, d in dsns.items()},
                    tuple(ready))


async def ensure_outside_streams(nats_url: str, parties: Mapping[str, tuple[StreamConfig, dict[str, str]]],
                                 ) -> list[str]:
    """Each outside party's own stream (the auditor's WITNESS, each agency's FEED), defined as that party in its
    own account; a party that cannot be reached is left out, with a warning.
    """
    ready = []
    for party, (config, options) in parties.items():
        try:
            wc = await nats.connect(nats_url, connect_timeout=5, max_reconnect_attempts=1, **options)
            try:
                await ensure_outside_stream(wc.jetstream(), config)
            finally:
                await wc.drain()
        except (OSError, nats.errors.Error) as exc:
            log.warning("outside_stream_not_ready", party=party, error=repr(exc))
            continue
        ready.append(party)
    return ready


def outside_parties(data_dir: Path, users: Mapping[str, nats_auth.NkeyUser],
                    ) -> dict[str, tuple[StreamConfig, dict[str, str]]]:
    """The auditor and every enabled agency: the stream each keeps, and how to connect as it."""
    parties = {nats_auth.AUDITOR: (witness_stream(nats_auth.AUDITOR),
                                   nats_auth.connect_options(users[nats_auth.AUDITOR]))}
    for agency in sorted(EnabledAgencies(data_dir)()):
        name = nats_auth.agency_name(agency)
        if name in users:
            parties[agency] = (agency_stream(agency), nats_auth.connect_options(users[name]))
    return parties


def redacted(url: str) -> str:
    """A URL as it may be shown: without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, f"{parts.username}@{netloc}", parts.path, parts.query, parts.fragment))


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM us if the supervisor dies, even by SIGKILL (Linux only)."""
    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


@dataclass
class ServiceProcess:
    name: str
    port: int
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    crashes: int = 0
    restart_at: float | None = None
    healthy: bool = False
    output: Path | None = None  # where the process's stdout and stderr go (default: the supervisor's)
    module: str = ""  # what `python -m` runs: services.<name> unless told (the console is edge.console)

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/health"

    def start(self) -> None:
        out = self.output.open("ab") if self.output is not None else None
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", self.module or f"services.{self.name}"],
                env=self.env,
                stdout=out,
                stderr=out,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509 - no threads yet
            )
        finally:
            if out is not None:
                out.close()  # the child holds its own descriptor
        self.started_at = time.monotonic()
        self.restart_at = None
        self.healthy = False
        log.info("service_process_started", service=self.name, pid=self.proc.pid, health=self.health_url)

    def check_health(self) -> bool:
        try:
            with urllib.request.urlopen(self.health_url, timeout=1) as r:  # noqa: S310 - a fixed http URL of ours
                self.healthy = r.status == 200  # noqa: PLR2004
        except (urllib.error.URLError, OSError):
            self.healthy = False
        return self.healthy

    def exited(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def schedule_restart(self, now: float) -> None:
        code = self.exited()
        if now - self.started_at >= STABLE_AFTER_S:
            self.crashes = 0
        self.crashes += 1
        delay = min(MAX_BACKOFF_S, 2.0 ** (self.crashes - 1))
        self.restart_at = now + delay
        self.healthy = False
        log.warning("service_crashed_restarting", service=self.name, exit_code=code, restart_in_s=delay,
                    crashes=self.crashes)

    def terminate(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()


@dataclass
class Supervisor:
    settings: Settings
    services: tuple[str, ...] = SERVICES
    stopping: threading.Event = field(default_factory=threading.Event)
    # SIGHUP (`wanqing agency add/disable/rotate-credentials`): the NATS accounts are rendered again and the
    # embedded server reloads them; a removed or re-keyed agency's connection is closed by the server.
    reloading: threading.Event = field(default_factory=threading.Event)
    _nats: EmbeddedNats | None = None
    _postgres: EmbeddedPostgres | None = None
    _procs: list[ServiceProcess] = field(default_factory=list)
    # Called once, in a thread of its own, when every service is healthy (with the NATS and database URLs);
    # without it, `settings.load_demo` loads the demo district into a platform that has no units yet.
    on_ready: Callable[[str, str], None] | None = None
    service_output: Path | None = None  # services' stdout/stderr to this file instead of the terminal
    show_banner: bool = True

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir.resolve()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if not self.stopping.is_set():
            log.info("stopping", signal=signal.Signals(signum).name)
        self.stopping.set()

    def run(self) -> int:
        """Blocks until SIGINT/SIGTERM; returns the exit code."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        other = running_state(self.data_dir)
        if other is not None:
            msg = f"a Wanqing platform is already running from {self.data_dir} (pid {other.pid})"
            raise RuntimeError(msg)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)
        signal.signal(signal.SIGHUP, lambda _s, _f: self.reloading.set())
        try:
            nats_url, database_url = self._servers()
            if self.stopping.is_set():
                return 0
            users = self._nats_users()
            prepared = asyncio.run(prepare(
                nats_url, database_url, self.services, self.data_dir / "secrets",
                nats_auth.connect_options(users[nats_auth.OPS]), witnesses=outside_parties(self.data_dir, users)))
            log.info("platform_prepared", streams=prepared.streams, migrations_applied=prepared.migrations,
                     database_roles=sorted(prepared.dsns), witnesses=prepared.witnesses)
            self._start_services(nats_url, prepared.dsns, prepared.witnesses)
            self._supervise(nats_url, database_url)
        finally:
            self._shutdown()
        return 0

    def _servers(self) -> tuple[str, str]:
        if self.settings.nats_url and self.settings.database_url:
            return self.settings.nats_url, self.settings.database_url
        if self.settings.nats_url or self.settings.database_url:
            msg = "set both WANQING_NATS_URL and WANQING_DATABASE_URL, or neither (for the embedded servers)"
            raise RuntimeError(msg)
        self._nats = EmbeddedNats(self.data_dir / "nats", auth=self._nats_auth())
        self._nats.start()
        log.info("embedded_nats_started", url=self._nats.url, data=str(self._nats.data_dir))
        self._postgres = EmbeddedPostgres(self.data_dir / "postgres", durable=True)
        self._postgres.start()
        log.info("embedded_postgres_started", url=self._postgres.redacted_url, data=str(self._postgres.data_dir))
        return self._nats.url, self._postgres.url

    def _nats_users(self) -> dict[str, nats_auth.NkeyUser]:
        """Every principal's nkey (made once, in `<data dir>/secrets/nats`)."""
        return nats_accounts(self.data_dir, self.services)[0]

    def _nats_auth(self) -> str:
        """The embedded server's accounts: every principal with exactly its rights (wanqing/nats_auth.py)."""
        return nats_accounts(self.data_dir, self.services)[1]

    def _start_services(self, nats_url: str, dsns: dict[str, str], witnesses: tuple[str, ...] = ()) -> None:
        keys = key_folder(self.settings, self.data_dir)
        secrets = platform_secrets.ensure(self.data_dir, self.services)
        users = self._nats_users()
        # No secret travels in an environment: each process gets the paths of what it needs, and only those.
        inherited = {k: v for k, v in os.environ.items() if k not in SECRET_VARIABLES}
        for name in self.services:
            port = free_port()
            env = {
                **inherited,
                "WANQING_NATS_URL": nats_url,
                "WANQING_DATABASE_URL": dsns[name],
                "WANQING_HTTP_PORT": str(port),
                "WANQING_LOG_FORMAT": self.settings.log_format,
                "WANQING_DATA_DIR": str(self.data_dir),
                "WANQING_TRUST_FILE": str(secrets.trust_file),
                "WANQING_SIGNING_KEY_FILE": str(secrets.signing_key(name)),
                "WANQING_NATS_NKEY_FILE": str(users[name].seed_file),
                # The auditor, when its stream is ready; enabled agencies are added by each service itself.
                "WANQING_WITNESSES": ",".join(w for w in witnesses if w == nats_auth.AUDITOR),
            }
            if opens_personal_data(name):
                env["WANQING_KEY_DIR"] = str(keys)
            service = ServiceProcess(name, port, env, output=self.service_output)
            service.start()
            self._procs.append(service)
        self._start_console(nats_url, secrets, users[nats_auth.CONSOLE], inherited)

    def _start_console(self, nats_url: str, secrets: platform_secrets.PlatformSecrets, user: nats_auth.NkeyUser,
                       inherited: dict[str, str]) -> None:
        """The staff console: the `console` NATS user and its CSRF key, and nothing else (it mints no credential,
        opens no personal data and has no database: every read is a query with the person's own credential).
        """
        port = self.settings.console_port or free_port()
        env = {**inherited, "WANQING_NATS_URL": nats_url, "WANQING_NATS_NKEY_FILE": str(user.seed_file),
               "WANQING_CONSOLE_SECRET_FILE": str(secrets.console_secret), "WANQING_CONSOLE_PORT": str(port),
               "WANQING_LOG_FORMAT": self.settings.log_format}
        console = ServiceProcess(CONSOLE_NAME, port, env, output=self.service_output, module="edge.console")
        console.start()
        self._procs.append(console)

    def _supervise(self, nats_url: str, database_url: str) -> None:
        ready = False
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not self.stopping.wait(TICK_S):
            if self.reloading.is_set():
                self.reloading.clear()
                self._reload_accounts(nats_url)
            now = time.monotonic()
            for p in self._procs:
                if p.restart_at is not None:
                    if now >= p.restart_at:
                        p.start()
                elif p.exited() is not None:
                    p.schedule_restart(now)
            if not ready and (all(p.check_health() for p in self._procs) or now > deadline):
                ready = True
                if not all(p.healthy for p in self._procs):
                    log.warning("services_not_healthy_yet", unhealthy=[p.name for p in self._procs if not p.healthy])
                write_state(self.data_dir, PlatformState(
                    nats_url=nats_url, database_url=database_url, pid=os.getpid(),
                    embedded=self._nats is not None,
                    services={p.name: p.health_url for p in self._procs if p.name != CONSOLE_NAME},
                    console_url=self._console_url(),
                ))
                if self.show_banner:
                    self._banner(nats_url, database_url)
                self._after_ready(nats_url, database_url)

    def _reload_accounts(self, nats_url: str) -> None:
        if self._nats is None:
            log.warning("accounts_not_reloaded", reason="an external NATS: run `wanqing nats-accounts` and reload it")
            return
        self._nats.reload(self._nats_auth())
        ready = asyncio.run(ensure_outside_streams(nats_url, outside_parties(self.data_dir, self._nats_users())))
        log.info("nats_accounts_reloaded", outside_parties=ready)

    def _after_ready(self, nats_url: str, database_url: str) -> None:
        on_ready = self.on_ready
        if on_ready is None and self.settings.load_demo:
            from wanqing.demo.autoload import load_if_empty  # noqa: PLC0415 - only when asked for

            district, stopping, data_dir = self.settings.district, self.stopping, self.data_dir

            def on_ready(url: str, _db: str) -> None:
                load_if_empty(url, data_dir, district, stopping)

        if on_ready is not None:
            threading.Thread(target=on_ready, args=(nats_url, database_url), name="after-ready",
                             daemon=True).start()

    def _console_url(self) -> str:
        console = next((p for p in self._procs if p.name == CONSOLE_NAME), None)
        return f"http://localhost:{console.port}/" if console else ""

    def _banner(self, nats_url: str, database_url: str) -> None:
        where = f"embedded servers, data in {self.data_dir}" if self._nats else "external servers"
        cli = Path(sys.executable).with_name("wanqing")
        lines = [
            f"Wanqing is up ({where})",
            f"  NATS      {nats_url}",
            f"  Postgres  {redacted(database_url)}",
            *(f"  {p.name:<9} {p.health_url}" for p in self._procs if p.name != CONSOLE_NAME),
        ]
        if self._console_url():
            lines.append(f"  工作台    {self._console_url()}  (the staff console: log in as a staff member)")
        if self.service_output is not None:
            lines.append(f"  logs      {self.service_output}  (services, one JSON line each)")
        lines += [
            f"In another terminal: {cli} tail   (the command line; or `source {cli.parent}/activate` first,",
            "  then plain `wanqing ...`). Ctrl-C here stops everything.",
        ]
        print("\n".join(lines), flush=True)  # noqa: T201 - the banner is the command's output

    def _shutdown(self) -> None:
        remove_state(self.data_dir)
        for p in self._procs:
            p.terminate()
        deadline = time.monotonic() + STOP_GRACE_S
        for p in self._procs:
            if p.proc is None:
                continue
            try:
                p.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("service_killed", service=p.name, pid=p.proc.pid)
                p.proc.kill()
                p.proc.wait()
        if self._procs:
            log.info("services_stopped", services=[p.name for p in self._procs])
        if self._nats is not None:
            self._nats.stop()
            log.info("embedded_nats_stopped")
        if self._postgres is not None:
            self._postgres.stop()
            log.info("embedded_postgres_stopped")
