"""The whole platform end to end: `python -m wanqing up` as a subprocess, every service its own OS process.

`up_platform` starts it once per module on a temporary data dir (embedded NATS and Postgres, no demo data),
freezes the platform clock at T0, and stops it with SIGTERM at the end. `wq` is a per-test client: NATS
request/reply for commands and queries, a Postgres pool for checks and for moving the clock.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import nats
import pytest
from nats.aio.client import Client

from backbone.clock import advance_platform_time, set_platform_time
from backbone.credentials import OPS
from backbone.db import create_pool
from contracts import registry, subjects
from contracts.base import LOCAL_TZ, Actor, local_date
from contracts.id_number import make_id_number
from wanqing.access import nats_options, operator_access

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=LOCAL_TZ)
DISTRICT = {"user": "office-1", "role": "district_office", "unit": "DISTRICT"}
READY_S = 120.0
STOP_S = 60.0


def head(unit: str) -> dict[str, str]:
    return {"user": f"head-{unit}", "role": "unit_head", "unit": unit}


def clerk(unit: str) -> dict[str, str]:
    return {"user": f"clerk-{unit}", "role": "unit_staff", "unit": unit}


@dataclass
class UpPlatform:
    data_dir: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    nats_url: str = ""
    database_url: str = ""

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WANQING_")}
        return {**env, "WANQING_DATA_DIR": str(self.data_dir), "WANQING_LOAD_DEMO": "false",
                "WANQING_CONSOLE_PORT": "0", "WANQING_LOG_FORMAT": "json", "WANQING_LOG_LEVEL": "warning",
                "WANQING_CHECKPOINT_EVERY_S": "1"}

    def start(self) -> None:
        """`wanqing up`, then wait for platform.json and for every service to answer on the bus."""
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "wanqing", "up"], env=self.env(),
                                         stdout=out, stderr=subprocess.STDOUT)
        state_file = self.data_dir / "platform.json"
        deadline = time.monotonic() + READY_S
        while not state_file.exists():
            if self.proc.poll() is not None:
                pytest.fail(f"wanqing up exited with {self.proc.returncode}:\n{self.tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"wanqing up was not ready within {READY_S}s:\n{self.tail()}")
            time.sleep(0.2)
        state = json.loads(state_file.read_text())
        self.nats_url, self.database_url = state["nats_url"], state["database_url"]
        asyncio.run(self._until_answering(deadline))

    async def _until_answering(self, deadline: float) -> None:
        nc = await nats.connect(self.nats_url, **nats_options(self.data_dir, OPS))
        try:
            for service in registry.SERVICES:
                while True:
                    try:
                        await nc.request(subjects.query(service, "__ping__"), b"{}", timeout=2)
                        break
                    except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
                        if time.monotonic() > deadline:
                            pytest.fail(f"{service} does not answer:\n{self.tail()}")
                        await asyncio.sleep(0.2)
        finally:
            await nc.close()

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=STOP_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"wanqing up did not stop within {STOP_S}s:\n{self.tail()}")

    def tail(self) -> str:
        """The end of `wanqing up`'s own output and of the services' log (`<data dir>/services.log`)."""
        return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}"
                         for path in (self.log, self.data_dir / "services.log") if path.exists())

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "wanqing", *args], env=self.env(),
                              capture_output=True, text=True, timeout=timeout, check=False)


async def freeze_clock(database_url: str, at: datetime) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await set_platform_time(conn, at)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def up_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpPlatform]:
    base = tmp_path_factory.mktemp("wanqing-up")
    platform = UpPlatform(data_dir=base / "data", log=base / "up.log")
    platform.start()
    asyncio.run(freeze_clock(platform.database_url, T0))
    try:
        yield platform
    finally:
        if platform.proc is not None and platform.proc.poll() is None:
            platform.stop()


class Wanqing:
    """Talks to the running platform the way staff tools do: commands and queries on NATS."""

    def __init__(self, up: UpPlatform, nc: Client, pool: asyncpg.Pool) -> None:
        self.up = up
        self.nc = nc
        self.pool = pool
        self._seq = iter(range(11, 999, 2))
        # The operator's key from the platform's secrets folder vouches for whoever a test acts as.
        self.ops = operator_access(up.data_dir, "DISTRICT", up.nats_url).credentials

    async def headers(self, actor: dict[str, str] | None) -> dict[str, str]:
        return await self.ops.headers(self.nc, Actor.model_validate(actor or DISTRICT))

    async def send(self, service: str, command: str, body: dict[str, Any], actor: dict[str, str] | None = None
                   ) -> dict[str, Any]:
        payload = {"command_id": str(uuid.uuid4()), **body}
        msg = await self.nc.request(subjects.command(service, command), json.dumps(payload).encode(), timeout=30,
                                    headers=await self.headers(actor))
        return json.loads(msg.data)

    async def ok(self, service: str, command: str, body: dict[str, Any], actor: dict[str, str] | None = None
                 ) -> dict[str, Any]:
        reply = await self.send(service, command, body, actor)
        assert reply["ok"], (command, reply)
        return reply

    async def query(self, service: str, name: str, body: dict[str, Any], actor: dict[str, str] | None = None
                    ) -> dict[str, Any]:
        msg = await self.nc.request(subjects.query(service, name), json.dumps(body).encode(), timeout=30,
                                    headers=await self.headers(actor))
        reply: dict[str, Any] = json.loads(msg.data)
        assert reply["ok"], (name, reply)
        return reply

    async def eventually(self, probe: Callable[[], Awaitable[Any]], what: str, seconds: float = 45) -> Any:
        """Poll until the probe returns something truthy; fail naming what never happened."""
        deadline = time.monotonic() + seconds
        while True:
            result = await probe()
            if result:
                return result
            if time.monotonic() > deadline:
                pytest.fail(f"not within {seconds}s: {what}")
            await asyncio.sleep(0.2)

    async def now(self) -> datetime:
        value: datetime = await self.pool.fetchval("SELECT frozen_at FROM platform.clock")
        return value

    async def today(self) -> date:
        return local_date(await self.now())

    async def advance(self, delta: timedelta) -> datetime:
        async with self.pool.acquire() as conn:
            return await advance_platform_time(conn, delta)

    async def set_time(self, at: datetime) -> None:
        async with self.pool.acquire() as conn:
            await set_platform_time(conn, at)

    # -------------------------------------------------------------------------------------- the district

    async def unit(self, code: str, name: str) -> None:
        """A unit with a head and a clerk; the clerk is its care contact."""
        await self.ok("profiles", "RegisterUnit", {"code": code, "name": name, "kind": "bureau"})
        for who, role in ((f"head-{code}", "unit_head"), (f"clerk-{code}", "unit_staff")):
            await self.ok("profiles", "RegisterStaff", {"user": who, "name": "工作人员", "role": role, "unit": code,
                                                        "email": f"{who}@example.cn"})
        await self.ok("profiles", "SetCareContact", {"unit": code, "user": f"clerk-{code}"})
        await self.eventually(lambda: self.pool.fetchval(
            "SELECT care_contact IS NOT NULL FROM care.unit_contacts WHERE unit = $1", code),
            f"care knows {code}'s care contact")

    async def retiree(self, unit: str, born: date, *, retired: bool = True, **extra: Any) -> uuid.UUID:
        rid = uuid.uuid4()
        id_number = make_id_number("110105", born, next(self._seq))
        body = {"retiree_id": str(rid), "name": "测试人员", "id_number": id_number, "unit": unit, **extra}
        if retired:
            body |= {"retirement_date": (born + timedelta(days=365 * 60)).isoformat(), "already_retired": True}
        await self.ok("profiles", "RegisterRetiree", body)
        return rid

    async def facts(self, rid: uuid.UUID, **expected: Any) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            msg = await self.nc.request(subjects.query("care", "GetRetireeFacts"), json.dumps(
                {"retiree_id": str(rid)}).encode(), timeout=30, headers=await self.headers(None))
            reply = json.loads(msg.data)
            if reply["ok"] and all(reply["data"].get(k) == v for k, v in expected.items()):
                return dict(reply["data"])
            return None
        found: dict[str, Any] = await self.eventually(probe, f"care facts of {rid} with {expected}")
        return found

    async def task(self, rid: uuid.UUID, kind: str, **expected: Any) -> asyncpg.Record:
        async def probe() -> asyncpg.Record | None:
            for t in await self.pool.fetch("SELECT * FROM care.tasks WHERE retiree_id = $1 AND kind = $2 "
                                           "ORDER BY opened_at", rid, kind):
                if all(t[k] == v for k, v in expected.items()):
                    return t
            return None
        found: asyncpg.Record = await self.eventually(probe, f"a {kind} task of {rid} with {expected}")
        return found

    async def case(self, rid: uuid.UUID, **expected: Any) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            msg = await self.nc.request(subjects.query("ceremony", "GetCase"), json.dumps(
                {"retiree_id": str(rid)}).encode(), timeout=30, headers=await self.headers(None))
            reply = json.loads(msg.data)
            if reply["ok"] and all(reply["data"].get(k) == v for k, v in expected.items()):
                return dict(reply["data"])
            return None
        found: dict[str, Any] = await self.eventually(probe, f"ceremony case of {rid} with {expected}")
        return found

    async def inbox(self, recipient: str) -> list[dict[str, Any]]:
        reply = await self.query("notify", "ListInbox", {"recipient": recipient, "limit": 500})
        data = reply["data"]
        return list(data["messages"] if isinstance(data, dict) else data)


@pytest.fixture
async def wq(up_platform: UpPlatform) -> AsyncIterator[Wanqing]:
    nc = await nats.connect(up_platform.nats_url, **nats_options(up_platform.data_dir, OPS))
    pool = await create_pool(up_platform.database_url, min_size=1, max_size=4)
    try:
        yield Wanqing(up_platform, nc, pool)
    finally:
        await nc.close()
        await pool.close()
