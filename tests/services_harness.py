"""Runs real service processes' runtimes in-process against the test run's NATS and Postgres."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client
from pydantic import SecretStr

from backbone import service
from backbone.credentials import HEADER, OPS, Signer, load_signing_key
from backbone.crypto import new_master_key
from backbone.service import Runtime, ServiceSpec
from backbone.settings import Settings
from contracts import subjects
from contracts.base import Actor
from contracts.registry import SERVICES
from wanqing import platform_secrets
from wanqing.access import Access, OperatorCredentials

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
        # Every issuer's key and the trust bundle, as `wanqing up` makes them; the test acts through `ops`.
        self.secrets_dir = Path(tempfile.mkdtemp(prefix="wanqing-secrets-"))
        self.secrets = platform_secrets.ensure(self.secrets_dir, SERVICES)
        self.ops = Signer(OPS, load_signing_key(self.secrets.signing_key(OPS)))

    def settings_of(self, name: str) -> Settings:
        """The service's own settings: the common ones with its signing key and the trust bundle."""
        return self.settings.model_copy(update={"trust_file": self.secrets.trust_file,
                                                "signing_key_file": self.secrets.signing_key(name)})

    @property
    def access(self) -> Access:
        """The operator's access, for the command line's own code (import, report)."""
        return Access(self.settings.nats_url, OperatorCredentials(self.ops, Actor.model_validate(DISTRICT_ACTOR)), {})

    def credential(self, actor: dict[str, Any] | None = None) -> dict[str, str]:
        """The headers of a request made as `actor` (the district office by default), vouched for by ops."""
        return {HEADER: self.ops.mint(Actor.model_validate(actor or DISTRICT_ACTOR))}

    async def start(self, *services: tuple[str, Path | None, Callable[[Runtime], ServiceSpec], bool]) -> None:
        for name, migrations, build, personal in services:
            self.tasks.append(asyncio.create_task(
                service.run(name, migrations, build, settings=self.settings_of(name), stop=self.stop,
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
        shutil.rmtree(self.secrets_dir, ignore_errors=True)

    async def send_raw(self, service_name: str, command: str, body: bytes,
                       headers: dict[str, str] | None = None) -> dict[str, Any]:
        """The bytes as they are, with the district office's credential unless other headers are given."""
        assert self.nc is not None
        msg = await self.nc.request(subjects.command(service_name, command), body, timeout=10,
                                    headers=self.credential() if headers is None else headers)
        return json.loads(msg.data)

    async def query_raw(self, service_name: str, query: str, body: bytes,
                        headers: dict[str, str] | None = None) -> dict[str, Any]:
        assert self.nc is not None
        msg = await self.nc.request(subjects.query(service_name, query), body, timeout=10,
                                    headers=self.credential() if headers is None else headers)
        return json.loads(msg.data)

    async def send(self, service_name: str, command: str, body: dict[str, Any]) -> dict[str, Any]:
        """A command as the body's `actor` (the district office if none): the test names who acts, and the
        credential proves it; the body sent carries no actor.
        """
        body = {"command_id": str(uuid.uuid4()), **body}
        actor = body.pop("actor", None)
        return await self.send_raw(service_name, command, json.dumps(body).encode(), self.credential(actor))

    async def query(self, service_name: str, query: str, body: dict[str, Any]) -> dict[str, Any]:
        body = dict(body)
        actor = body.pop("actor", None)
        return await self.query_raw(service_name, query, json.dumps(body).encode(), self.credential(actor))

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
