"""`wanqing clock`: times read in Beijing time, and the platform's time never moves back unless asked.

The tests are synchronous: the command line runs its own event loop.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import asyncpg
import pytest
from typer.testing import CliRunner

from backbone.clock import set_platform_time
from backbone.migrations import PLATFORM_SCHEMA, PLATFORM_SQL, apply, collect
from contracts.base import LOCAL_TZ
from wanqing.cli import app

FUTURE = datetime(2030, 5, 1, 9, 0, tzinfo=LOCAL_TZ)


@pytest.fixture
async def frozen_in_the_future(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    conn = await asyncpg.connect(database_url)
    try:
        await apply(conn, PLATFORM_SCHEMA, collect("platform", PLATFORM_SQL))
        await set_platform_time(conn, FUTURE)
    finally:
        await conn.close()
    monkeypatch.setenv("WANQING_DATABASE_URL", database_url)
    monkeypatch.setenv("WANQING_NATS_URL", "nats://127.0.0.1:1")  # unused by the clock commands
    return database_url


def platform_now(database_url: str) -> datetime:
    async def read() -> datetime | None:
        conn = await asyncpg.connect(database_url)
        try:
            frozen: datetime | None = await conn.fetchval("SELECT frozen_at FROM platform.clock")
        finally:
            await conn.close()
        return frozen

    frozen = asyncio.run(read())
    assert frozen is not None
    return frozen


class TestClock:
    def test_reset_to_the_wall_clock_would_go_back_years_and_is_refused_without_a_word_otherwise(
        self, frozen_in_the_future: str,
    ) -> None:
        refused = CliRunner().invoke(app, ["clock", "reset"])
        assert refused.exit_code == 1
        assert "平台时钟将倒退" in refused.output
        assert "--backwards" in refused.output
        assert platform_now(frozen_in_the_future) == FUTURE  # nothing changed

        done = CliRunner().invoke(app, ["clock", "reset", "--backwards"])
        assert done.exit_code == 0, done.output
        assert "平台时钟已拨回：2030-05-01 09:00:00+08:00 →" in done.output
        assert "实际时间" in done.output

    def test_setting_an_earlier_time_is_refused_and_a_later_one_is_said_in_beijing_time(
        self, frozen_in_the_future: str,
    ) -> None:
        earlier = CliRunner().invoke(app, ["clock", "set", "2030-04-30T09:00"])
        assert earlier.exit_code == 1
        assert "倒退 1天" in earlier.output
        later = CliRunner().invoke(app, ["clock", "set", "2030-05-02T09:00"])  # no offset: Beijing time
        assert later.exit_code == 0, later.output
        assert "2030-05-01 09:00:00+08:00 → 2030-05-02 09:00:00+08:00（北京时间）" in later.output
        assert platform_now(frozen_in_the_future) == FUTURE + timedelta(days=1)

    def test_show_and_advance_speak_beijing_time(self, frozen_in_the_future: str) -> None:
        shown = CliRunner().invoke(app, ["clock", "show"])
        assert "平台时间 2030-05-01 09:00:00+08:00（北京时间，模拟时间，已冻结）" in shown.output
        moved = CliRunner().invoke(app, ["clock", "advance", "3d"])
        assert "平台时钟已拨快：2030-05-01 09:00:00+08:00 → 2030-05-04 09:00:00+08:00" in moved.output
