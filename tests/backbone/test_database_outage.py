"""A database outage is not a crash: profiles and care keep running while their Postgres is down (commands answer
`unavailable` and change nothing), and once it is back they go on by themselves: the command is taken, its event
published, and care's consumer applies it.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg
from nats.js import JetStreamContext

from services.care import app as care_app
from services.profiles import app as profiles_app
from tests.services_harness import RunningPlatform
from wanqing.embedded import EmbeddedNats, EmbeddedPostgres

OUTAGE_S = 4.0


async def _unit_known_to_care(url: str, code: str) -> bool:
    conn = await asyncpg.connect(url)
    try:
        return bool(await conn.fetchval("SELECT 1 FROM care.unit_contacts WHERE unit = $1", code))
    finally:
        await conn.close()


async def test_services_ride_out_a_database_outage(nats_server: EmbeddedNats, js: JetStreamContext,
                                                   tmp_path: Path) -> None:
    pg = EmbeddedPostgres(tmp_path / "pg", durable=False)
    pg.start()
    platform = RunningPlatform(nats_server.url, pg.url)
    try:
        await platform.start((profiles_app.NAME, profiles_app.MIGRATIONS, profiles_app.build, True),
                             (care_app.NAME, care_app.MIGRATIONS, care_app.build, True))
        reply = await platform.send("profiles", "RegisterUnit", {"code": "U0001", "name": "区财政局", "kind": "bureau"})
        assert reply["ok"], reply
        assert await platform.eventually(lambda: _unit_known_to_care(pg.url, "U0001"))

        pg.stop()  # every connection of every loop is cut, and new ones are refused
        refused = await platform.send("profiles", "RegisterUnit",
                                      {"code": "U0002", "name": "区教育局", "kind": "bureau"})
        assert (refused["ok"], refused["code"]) == (False, "unavailable"), refused
        assert "稍后再试" in refused["message"]
        await asyncio.sleep(OUTAGE_S)  # relay, checkpointer, consumers, ticker and key upkeep all meet the outage
        assert [t for t in platform.tasks if t.done()] == [], "a service stopped because its database went away"

        back = EmbeddedPostgres(tmp_path / "pg", port=pg.port, durable=False)
        back.start()
        try:
            started = time.monotonic()
            while True:  # the pool replaces its dead connections on the next acquire
                reply = await platform.send("profiles", "RegisterUnit",
                                            {"code": "U0002", "name": "区教育局", "kind": "bureau"})
                if reply["ok"] or time.monotonic() - started > 30:  # noqa: PLR2004
                    break
                await asyncio.sleep(0.5)
            assert reply["ok"], reply
            assert await platform.eventually(lambda: _unit_known_to_care(back.url, "U0002"), seconds=30)
            # Nothing of the refused attempt was recorded: U0002 is registered once.
            conn = await asyncpg.connect(back.url)
            try:
                registered = await conn.fetchval(
                    "SELECT count(*) FROM profiles.events WHERE type = 'UnitRegistered' "
                    "AND convert_from(envelope, 'UTF8')::jsonb->'data'->>'code' = 'U0002'")
            finally:
                await conn.close()
            assert registered == 1
            assert [t for t in platform.tasks if t.done()] == []
        finally:
            await platform.close()
            back.stop()
    finally:
        pg.stop()
