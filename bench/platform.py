"""A throwaway platform for benchmarks: embedded servers, streams, migrations, one service as its own process,
and its peak RSS sampled while it works; optionally the staff console (`python -m edge.console`) too.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import httpx
import nats
import psutil

from backbone.crypto import new_master_key
from wanqing import platform_secrets
from wanqing.access import Access, operator_access
from wanqing.catalog import SERVICES, migrate_all, nats_accounts
from wanqing.embedded import EmbeddedNats, EmbeddedPostgres, free_port
from wanqing.nats_auth import CONSOLE, OPS, Principal, connect_options
from wanqing.streams import ensure_streams


@dataclass
class Platform:
    database_url: str
    nats_url: str
    env: dict[str, str]
    data_dir: Path
    # The raw-limit client's connect options: bench/limits.py makes and deletes streams of its own, which no
    # platform principal may do, on the same server the services use (so the ratio compares like with like).
    raw_nats: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    peaks_mb: dict[str, float] = field(default_factory=dict)
    console_url: str = ""  # http://localhost:<port>, when the console was asked for (its process: processes["console"])

    @property
    def access(self) -> Access:
        """The benchmark acts as the operator (the district office), as `wanqing send` would."""
        return operator_access(self.data_dir, "DISTRICT", self.nats_url)


# Only on a benchmark's throwaway server: everything on the bench's own subjects and streams (bench/limits.py).
RAW_LIMITS = Principal("bench-raw", ("bench.raw.>", "$JS.API.>", "$JS.ACK.>"), ("_INBOX_bench-raw.>",), (),
                       allow_responses=False)


class RssSampler:
    """Samples a process's RSS every 20 ms in a thread (the event loop may be busy)."""

    def __init__(self, pid: int) -> None:
        self._proc = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                self.peak = max(self.peak, self._proc.memory_info().rss)
            time.sleep(0.02)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_mb(self) -> float:
        return round(self.peak / 1024 / 1024, 1)


def own_peak_rss_mb() -> float:
    """The high-water mark (VmHWM) of the current process."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


async def _prepare(db_url: str, nats_url: str, options: dict[str, str]) -> None:
    nc = await nats.connect(nats_url, **options)
    try:
        await ensure_streams(nc.jetstream())
    finally:
        await nc.close()
    await migrate_all(db_url)


@contextlib.contextmanager
def platform(services: tuple[str, ...], *, console: bool = False) -> Iterator[Platform]:
    """Embedded Postgres (fsync on) and NATS in a temp folder; each service as `python -m services.<name>`; with
    `console`, the staff console as `python -m edge.console`, serving once this yields (`plat.console_url`).
    """
    with tempfile.TemporaryDirectory(prefix="wanqing-bench-") as tmp, contextlib.ExitStack() as stack:
        pg = EmbeddedPostgres(Path(tmp) / "pg", durable=True)
        stack.callback(pg.stop)
        pg.start()
        data_dir = Path(tmp) / "data"
        # The platform's own NATS users and rights, as `wanqing up` makes them, plus the raw-limit client.
        users, accounts = nats_accounts(data_dir, extra=(RAW_LIMITS,))
        ns = EmbeddedNats(Path(tmp) / "nats", auth=accounts)
        stack.callback(ns.stop)
        ns.start()
        asyncio.run(_prepare(pg.url, ns.url, connect_options(users[OPS])))
        secrets = platform_secrets.ensure(data_dir, SERVICES)
        env = {**os.environ, "WANQING_DATABASE_URL": pg.url, "WANQING_NATS_URL": ns.url,
               "WANQING_MASTER_KEY": new_master_key(), "WANQING_LOG_LEVEL": "warning", "WANQING_LOG_FORMAT": "json",
               "WANQING_DATA_DIR": str(data_dir), "WANQING_TRUST_FILE": str(secrets.trust_file)}
        plat = Platform(pg.url, ns.url, env, data_dir, raw_nats=connect_options(users[RAW_LIMITS.name]))
        for name in services:
            log = (Path(tmp) / f"{name}.log").open("wb")
            stack.callback(log.close)
            proc = subprocess.Popen([sys.executable, "-m", f"services.{name}"],
                                    env={**env, "WANQING_HTTP_PORT": str(free_port()),
                                         "WANQING_SIGNING_KEY_FILE": str(secrets.signing_key(name)),
                                         "WANQING_NATS_NKEY_FILE": str(users[name].seed_file)},
                                    stdout=log, stderr=log)
            stack.callback(_stop, proc)
            plat.processes[name] = proc
        if console:
            # As `wanqing up` starts it: the `console` NATS user and the CSRF key, no database, no master key.
            port = free_port()
            log_path = Path(tmp) / "console.log"
            log = log_path.open("wb")
            stack.callback(log.close)
            console_env = {k: v for k, v in env.items()
                           if k not in ("WANQING_MASTER_KEY", "WANQING_DATABASE_URL", "WANQING_TRUST_FILE")}
            proc = subprocess.Popen([sys.executable, "-m", "edge.console"],
                                    env={**console_env, "WANQING_NATS_NKEY_FILE": str(users[CONSOLE].seed_file),
                                         "WANQING_CONSOLE_SECRET_FILE": str(secrets.console_secret),
                                         "WANQING_CONSOLE_PORT": str(port)},
                                    stdout=log, stderr=log)
            stack.callback(_stop, proc)
            plat.processes[CONSOLE] = proc
            plat.console_url = f"http://localhost:{port}"
            _until_serving(plat.console_url, proc, log_path)
        yield plat


def _until_serving(url: str, proc: subprocess.Popen[bytes], log: Path, seconds: float = 60) -> None:
    """Until GET <url>/health is 200 (the console is connected to NATS)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/health", timeout=2).status_code == httpx.codes.OK:
                return
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-2000:]
    msg = f"the console at {url} did not serve within {seconds:g}s:\n{tail}"
    raise RuntimeError(msg)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


async def wait_ready(access: Access, service: str, seconds: float = 60) -> None:
    """Until the service answers a query (even with a refusal)."""
    from contracts import subjects  # noqa: PLC0415

    nc = await nats.connect(access.nats_url, **access.nats)
    try:
        deadline = time.monotonic() + seconds
        while True:
            try:
                await nc.request(subjects.query(service, "__ready__"), b"{}", timeout=1)
            except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
            else:
                return
    finally:
        await nc.close()
