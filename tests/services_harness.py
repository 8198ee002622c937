"""Runs real service processes' runtimes in-process against the test run's NATS and Postgres."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client
from pydantic import SecretStr

from backbone import service
from backbone.crypto import new_master_key
from backbone.service import Runtime, ServiceSpec
from backbone.settings import Settings
from contracts import subjects

DISTRICT_ACTOR = {"user": "office-1", "role": "district_office", "unit": "DISTRICT"}


class RunningPlatform:
    def __init__(self, nats_url: str, database_url: str) -> None:
        self.settings = Settings(
            nats_url=nats_url, database_url=database_url, master_key=SecretStr(new_master_key()),
            log_format="console", log_level="warning", relay_idle_poll_s=0.02, ticker_interval_s=0.1,
        )
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        self.nc: Client | None = None

    async def start(self, *services: tuple[str, Path | None, Callable[[Runtime], ServiceSpec], bool]) -> None:
        for name, migrations, build, personal in services:
            self.tasks.append(asyncio.create_task(
                service.run(name, migrations, build, settings=self.settings, stop=self.stop,
                            uses_personal_data=personal)
            ))
        self.nc = await nats.connect(self.settings.nats_url)
        for name, *_ in services:
            await self.wait_ready(name)

    async def wait_ready(self, name: str) -> None:
        for _ in range(200):
            for t in self.tasks:
                if t.done():
                    t.result()
            try:
                await self.query(name, "__ping__", {})
            except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
                await asyncio.sleep(0.05)
            else:
                return
        raise TimeoutError(f"{name} did not come up")

    async def close(self) -> None:
        self.stop.set()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.nc:
            await self.nc.close()

    async def send_raw(self, service_name: str, command: str, body: bytes) -> dict[str, Any]:
        assert self.nc is not None
        msg = await self.nc.request(subjects.command(service_name, command), body, timeout=10)
        return json.loads(msg.data)

    async def send(self, service_name: str, command: str, body: dict[str, Any]) -> dict[str, Any]:
        body = {"command_id": str(uuid.uuid4()), "actor": DISTRICT_ACTOR, **body}
        return await self.send_raw(service_name, command, json.dumps(body).encode())

    async def query(self, service_name: str, query: str, body: dict[str, Any]) -> dict[str, Any]:
        assert self.nc is not None
        body = {"actor": DISTRICT_ACTOR, **body}
        msg = await self.nc.request(subjects.query(service_name, query), json.dumps(body).encode(), timeout=10)
        return json.loads(msg.data)

    async def eventually(self, probe: Callable[[], Any], seconds: float = 10) -> Any:
        """Poll an async probe until it returns something truthy."""
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            result = await probe()
            if result or asyncio.get_running_loop().time() > deadline:
                return result
            await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def profiles_and_care(nats_url: str, database_url: str) -> AsyncIterator[RunningPlatform]:
    """The profiles and care services in-process: what the archive and thin-slice tests need."""
    from services.care import app as care_app  # noqa: PLC0415
    from services.profiles import app as profiles_app  # noqa: PLC0415

    running = RunningPlatform(nats_url, database_url)
    try:
        await running.start(
            (profiles_app.NAME, profiles_app.MIGRATIONS, profiles_app.build, True),
            (care_app.NAME, care_app.MIGRATIONS, care_app.build, True),
        )
        yield running
    finally:
        await running.close()
