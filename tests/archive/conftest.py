from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from nats.js import JetStreamContext

from services.care import app as care_app
from services.profiles import app as profiles_app
from tests.services_harness import RunningPlatform
from wanqing.embedded import EmbeddedNats


@pytest.fixture
async def platform(
    nats_server: EmbeddedNats, js: JetStreamContext, database_url: str,
) -> AsyncIterator[RunningPlatform]:
    running = RunningPlatform(nats_server.url, database_url)
    await running.start(
        (profiles_app.NAME, profiles_app.MIGRATIONS, profiles_app.build, True),
        (care_app.NAME, care_app.MIGRATIONS, care_app.build, True),
    )
    yield running
    await running.close()
