"""Notify runs in-process with profiles on the test run's NATS and Postgres, against loopback SMTP/HTTP peers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, time
from typing import Any

import asyncpg
import pytest
from nats.js import JetStreamContext

from backbone.envelope import canonical, envelope_dict
from contracts import subjects
from contracts.base import Actor, Role
from services.notify import app as notify_app
from services.notify.settings import NotifySettings
from services.profiles import app as profiles_app
from tests.notify.peers import HttpPeer, SmtpPeer
from tests.services_harness import RunningPlatform
from wanqing.embedded import EmbeddedNats

CARE_ACTOR = Actor(user="care", role=Role.SYSTEM, unit="DISTRICT")
NEVER_QUIET = (time(0), time(0))  # an empty window: the wall clock never defers in these tests


@pytest.fixture
def smtp() -> Iterator[SmtpPeer]:
    peer = SmtpPeer()
    peer.start()
    yield peer
    peer.stop()


@pytest.fixture
def sms() -> Iterator[HttpPeer]:
    peer = HttpPeer()
    peer.start()
    yield peer
    peer.stop()


@pytest.fixture
def wecom() -> Iterator[HttpPeer]:
    peer = HttpPeer()
    peer.start()
    yield peer
    peer.stop()


def notify_settings(smtp: SmtpPeer, sms: HttpPeer, wecom: HttpPeer, quiet: tuple[time, time] = NEVER_QUIET,
                    ) -> NotifySettings:
    return NotifySettings(
        smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_from="laoganbu@district.example",
        sms_gateway_url=sms.url, wecom_webhook_url=wecom.url, timeout_s=3,
        quiet_start=quiet[0], quiet_end=quiet[1], backoff_base_s=0.1, backoff_cap_s=1, max_attempts=5,
    )


class NotifyPlatform(RunningPlatform):
    def __init__(self, nats_url: str, database_url: str, js: JetStreamContext) -> None:
        super().__init__(nats_url, database_url)
        self.js = js
        self.database_url = database_url

    async def start_with(self, settings: NotifySettings) -> None:
        await self.start(
            (profiles_app.NAME, profiles_app.MIGRATIONS, profiles_app.build, True),
            (notify_app.NAME, notify_app.MIGRATIONS, notify_app.make_build(settings), False),
        )

    async def publish(  # noqa: PLR0913 - an envelope has these fields
        self, service: str, type_: str, data: dict[str, Any], *, unit: str = "U0001", stream_id: str | None = None,
        version: int = 1, event_id: uuid.UUID | None = None, msg_id: str | None = None,
    ) -> uuid.UUID:
        """Publish an event as if another service's relay had (care and ceremony are not all built yet)."""
        event_id = event_id or uuid.uuid4()
        now = datetime.now(UTC)
        raw = canonical(envelope_dict(
            event_id=event_id, type_=type_, schema_version=1, stream_id=stream_id or f"test-{uuid.uuid4()}",
            version=version, unit=unit, occurred_at=now, recorded_at=now, correlation_id=uuid.uuid4(),
            causation_id=None, actor=CARE_ACTOR, data=data,
        ))
        await self.js.publish(subjects.event(unit, service, type_), raw,
                              headers={"Nats-Msg-Id": msg_id or str(event_id)})
        return event_id

    async def sql(self, query: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.database_url)
        try:
            return await conn.fetch(query, *args)
        finally:
            await conn.close()

    async def deliveries(self, cause: uuid.UUID) -> list[asyncpg.Record]:
        return await self.sql("SELECT * FROM notify.deliveries WHERE cause_event_id = $1 ORDER BY channel", cause)

    async def settled(self, cause: uuid.UUID, count: int, seconds: float = 15) -> list[asyncpg.Record]:
        """The cause's deliveries once `count` of them exist and none is pending."""
        async def probe() -> list[asyncpg.Record] | None:
            rows = await self.deliveries(cause)
            return rows if len(rows) == count and all(r["status"] != "pending" for r in rows) else None
        return await self.eventually(probe, seconds) or await self.deliveries(cause)


@pytest.fixture
async def platform(nats_server: EmbeddedNats, js: JetStreamContext, database_url: str,
                   ) -> AsyncIterator[NotifyPlatform]:
    running = NotifyPlatform(nats_server.url, database_url, js)
    yield running
    await running.close()


async def seed_unit(platform: RunningPlatform, unit: str = "U0001", name: str = "区教育局") -> None:
    reply = await platform.send("profiles", "RegisterUnit", {"code": unit, "name": name, "kind": "bureau"})
    assert reply["ok"], reply
    for user, role, phone in ((f"clerk-{unit}", "unit_staff", "13900000001"), (f"head-{unit}", "unit_head",
                                                                               "13900000002")):
        reply = await platform.send("profiles", "RegisterStaff", {
            "user": user, "name": "张伟" if role == "unit_staff" else "王强", "role": role, "unit": unit,
            "phone": phone, "email": f"{user}@district.example"})
        assert reply["ok"], reply


async def wait_for_staff(platform: NotifyPlatform, user: str) -> None:
    async def probe() -> bool:
        return bool(await platform.sql("SELECT 1 FROM notify.staff WHERE user_id = $1", user))
    assert await platform.eventually(probe), f"notify never learned of {user}"
