from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from nats.js import JetStreamContext

from tests.services_harness import RunningPlatform, profiles_and_care
from wanqing.embedded import EmbeddedNats


@pytest.fixture
async def platform(
    nats_server: EmbeddedNats, js: JetStreamContext, database_url: str,
) -> AsyncIterator[RunningPlatform]:
    async with profiles_and_care(nats_server.url, database_url) as running:
        yield running
