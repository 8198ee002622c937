from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nats.js import JetStreamContext

from services.ceremony import app as ceremony_app
from services.profiles import app as profiles_app
from tests.services_harness import RunningPlatform
from wanqing.embedded import EmbeddedNats


@pytest.fixture
async def platform(
    nats_server: EmbeddedNats, js: JetStreamContext, database_url: str, tmp_path: Path,
) -> AsyncIterator[RunningPlatform]:
    running = RunningPlatform(nats_server.url, database_url)
    running.settings = running.settings.model_copy(update={"data_dir": tmp_path / "data"})
    await running.start(
        (profiles_app.NAME, profiles_app.MIGRATIONS, profiles_app.build, True),
        (ceremony_app.NAME, ceremony_app.MIGRATIONS, ceremony_app.build, False),
    )
    yield running
    await running.close()
