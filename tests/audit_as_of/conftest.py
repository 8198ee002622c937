"""Every service in-process on the test run's NATS and Postgres, following one simulated clock frozen at T0."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import asyncpg
import pytest
from nats.js import JetStreamContext

from backbone.clock import set_platform_time
from backbone.migrations import PLATFORM_SCHEMA, PLATFORM_SQL, apply, collect
from contracts.base import LOCAL_TZ
from services.care import app as care_app
from services.ceremony import app as ceremony_app
from services.identity import app as identity_app
from services.notify import app as notify_app
from services.notify.settings import NotifySettings
from services.profiles import app as profiles_app
from tests.services_harness import RunningPlatform
from wanqing.embedded import EmbeddedNats

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=LOCAL_TZ)


@pytest.fixture
async def platform(
    nats_server: EmbeddedNats, js: JetStreamContext, database_url: str,
) -> AsyncIterator[RunningPlatform]:
    conn = await asyncpg.connect(database_url)
    try:
        await apply(conn, PLATFORM_SCHEMA, collect("platform", PLATFORM_SQL))
        await set_platform_time(conn, T0)
    finally:
        await conn.close()
    running = RunningPlatform(nats_server.url, database_url)
    await running.start(
        (profiles_app.NAME, profiles_app.MIGRATIONS, profiles_app.build, True),
        (care_app.NAME, care_app.MIGRATIONS, care_app.build, True),
        (ceremony_app.NAME, ceremony_app.MIGRATIONS, ceremony_app.build, False),
        (notify_app.NAME, notify_app.MIGRATIONS, notify_app.make_build(NotifySettings()), False),
        (identity_app.NAME, identity_app.MIGRATIONS, identity_app.build, False),
    )
    yield running
    await running.close()
