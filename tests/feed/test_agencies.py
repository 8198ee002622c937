"""Agencies' feeds on a real `wanqing up` (its NATS with every account): what each agency receives, that it can
reach nothing else, that it catches up after a disconnection, and that a disabled or re-keyed one is refused.

人社局 (hrss), 民政局 (civil) and 统计局 (stats) are enabled before the platform starts, as `wanqing agency add`
does; each test reads an agency's own stream as the agency, with the reference client (wanqing/agency_client.py).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import nats
import nats.errors
import pytest
from nats.aio.client import Client

from backbone.credentials import OPS
from backbone.db import create_pool
from contracts.feed import FEED_STREAM
from tests.journeys.conftest import UpPlatform, Wanqing
from wanqing.access import nats_options
from wanqing.agency_cli import enable, seed_file
from wanqing.agency_client import Received, agency_options, consume

AGENCIES = ("hrss", "civil", "stats")


@pytest.fixture(scope="module")
def up_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpPlatform]:
    """A platform of this module's own (the journeys' `wq` talks to it), with three agencies enabled first."""
    base = tmp_path_factory.mktemp("wanqing-agencies")
    platform = UpPlatform(data_dir=base / "data", log=base / "up.log")
    for agency in AGENCIES:
        enable(platform.data_dir, agency)
    platform.start()
    try:
        yield platform
    finally:
        if platform.proc is not None and platform.proc.poll() is None:
            platform.stop()


@pytest.fixture
async def wq(up_platform: UpPlatform) -> AsyncIterator[Wanqing]:
    nc = await nats.connect(up_platform.nats_url, **nats_options(up_platform.data_dir, OPS))
    pool = await create_pool(up_platform.database_url, min_size=1, max_size=4)
    try:
        yield Wanqing(up_platform, nc, pool)
    finally:
        await nc.close()
        await pool.close()


async def as_agency(up: UpPlatform, agency: str, errors: list[str] | None = None) -> Client:
    async def on_error(exc: Exception) -> None:
        if errors is not None:
            errors.append(str(exc).lower())

    return await nats.connect(up.nats_url, allow_reconnect=False, error_cb=on_error,
                              **agency_options(str(seed_file(up.data_dir, agency)), agency))


async def read_feed(up: UpPlatform, agency: str, *, durable: str = "feed-client", limit: int | None = None,
                    idle_s: float = 3.0) -> list[Received]:
    nc = await as_agency(up, agency)
    got: list[Received] = []

    async def keep(item: Received) -> None:
        got.append(item)

    try:
        await consume(nc, keep, durable=durable, limit=limit, idle_stop_s=idle_s)
    finally:
        await nc.close()
    return got


async def feed_until(up: UpPlatform, agency: str, durable: str, want: Any, seconds: float = 45) -> list[Received]:
    """Everything the durable reads until `want(all so far)` holds."""
    seen: list[Received] = []
    deadline = asyncio.get_running_loop().time() + seconds
    while not want(seen):
        assert asyncio.get_running_loop().time() < deadline, f"{agency} never got it: {[s.subject for s in seen]}"
        seen += await read_feed(up, agency, durable=durable, idle_s=1.0)
    return seen


def messages(items: list[Received], type_: str) -> list[Any]:
    return [i.message for i in items if i.message is not None and i.message.type == type_]


BIRTHDAYS = itertools.count()  # one birthday per person of the module: ID numbers never repeat across tests


async def a_retiree_who_dies(wq: Wanqing, unit: str) -> tuple[uuid.UUID, str]:
    rid = await wq.retiree(unit, date(1950, 1, 1) + timedelta(days=next(BIRTHDAYS)))
    id_number = str((await wq.query("profiles", "GetRetiree", {
        "retiree_id": str(rid), "reveal": ["id_number"], "purpose": "测试核对"}))["data"]["id_number"])
    await wq.ok("profiles", "RecordDeath", {"retiree_id": str(rid), "died_on": "2026-11-20"})
    return rid, id_number


async def test_a_death_reaches_hrss_with_the_id_number_and_stats_only_as_a_count(wq: Wanqing) -> None:
    await wq.ok("profiles", "RegisterUnit", {"code": "U0101", "name": "区审计局", "kind": "bureau"})
    rid, id_number = await a_retiree_who_dies(wq, "U0101")
    hrss = await feed_until(wq.up, "hrss", "t-death", lambda s: messages(s, "MemberDeceased"))
    [death] = messages(hrss, "MemberDeceased")
    assert death.data == {"died_on": "2026-11-20", "id_number": id_number, "name": "测试人员"}
    assert set(death.legal_basis) == {"id_number", "name"} and "社会保险法" in death.legal_basis["id_number"]
    assert death.subject and death.subject != str(rid) and death.unit == "U0101"
    stats = await feed_until(wq.up, "stats", "t-death", lambda s: messages(s, "MemberDeceased"))
    [counted] = messages(stats, "MemberDeceased")
    assert (counted.subject, counted.data, counted.legal_basis) == (None, {}, {})
    # Nothing of the person but what the policy names: no archive id, no other field, anywhere in either feed.
    for item in [*hrss, *stats]:
        assert str(rid) not in item.message.model_dump_json() if item.message else True
    # The disclosure to 人社局 is in profiles' read-access log, as the feed, with the legal basis as purpose.
    rows = await wq.pool.fetch("SELECT user_id, fields, purpose FROM profiles.read_access WHERE retiree_id = $1 "
                               "AND purpose LIKE '向人社局%'", rid)
    assert rows and rows[0]["user_id"] == "feed" and "id_number" in rows[0]["fields"]
    assert "社会保险法" in rows[0]["purpose"]
    # 民政局 is told of the death too, but gets no ID number (its policy reveals nothing).
    civil = await feed_until(wq.up, "civil", "t-death", lambda s: messages(s, "MemberDeceased"))
    assert [m.data for m in messages(civil, "MemberDeceased")] == [{"died_on": "2026-11-20"}]
    assert {m.subject for m in messages(civil, "MemberDeceased")} != {death.subject}  # its own pseudonym


async def test_an_agency_reaches_its_own_feed_and_nothing_else(wq: Wanqing) -> None:
    errors: list[str] = []
    nc = await as_agency(wq.up, "hrss", errors)
    try:
        own = await nc.jetstream(timeout=3).stream_info(FEED_STREAM)
        assert own.config.subjects == ["agency.hrss.>", "witness.hrss.>"]
        for pattern in ("wanqing.>", "agency.stats.>", ">"):
            await nc.subscribe(pattern)
        await nc.flush()
        await nc.flush()
        assert sum("permissions violation" in e for e in errors) == 3, errors  # noqa: PLR2004
        errors.clear()
        for ask in ("STREAM.INFO.WANQING", "STREAM.DELETE.FEED", "STREAM.PURGE.FEED", "STREAM.LIST"):
            with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
                await nc.request(f"$JS.API.{ask}", b"{}", timeout=1)
        await nc.flush()
        assert sum("permissions violation" in e for e in errors) == 4, errors  # noqa: PLR2004
        with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
            await nc.request("wanqing.qry.profiles.GetRetiree", b"{}", timeout=1)
    finally:
        await nc.close()
    # And the platform's operator may not even ask about an agency's stream (denied: no answer comes).
    with pytest.raises(nats.errors.TimeoutError):
        await wq.nc.jetstream(timeout=1).stream_info(FEED_STREAM)


async def test_a_disconnected_agency_receives_everything_in_order_after_reconnecting(wq: Wanqing) -> None:
    await wq.ok("profiles", "RegisterUnit", {"code": "U0102", "name": "区档案局", "kind": "bureau"})
    first = await feed_until(wq.up, "civil", "t-order", lambda s: s)  # whatever is there: the client's start
    handled = len(first)
    deaths = [await a_retiree_who_dies(wq, "U0102") for _ in range(4)]  # while the client is away
    later = await feed_until(wq.up, "civil", "t-order",
                             lambda s: len(messages(s, "MemberDeceased")) >= len(deaths))
    sequences = [i.sequence for i in first + later]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)  # in order, none twice
    assert sequences[handled:] == list(range(sequences[handled], sequences[handled] + len(later)))  # no gap
    assert [m.data["died_on"] for m in messages(later, "MemberDeceased")][-4:] == ["2026-11-20"] * 4


async def test_agencies_witness_the_checkpoints_and_status_shows_acknowledgements(wq: Wanqing) -> None:
    got = await feed_until(wq.up, "hrss", "t-witness",
                           lambda s: any(i.subject == "witness.hrss.profiles.checkpoint" for i in s))
    checkpoint = next(i.checkpoint for i in got if i.subject == "witness.hrss.profiles.checkpoint")
    assert checkpoint and checkpoint["body"]["service"] == "profiles" and checkpoint["signature"]
    await read_feed(wq.up, "hrss")  # the reference client's own durable, acknowledging all
    status = (await wq.query("feed", "GetFeedStatus", {}))["data"]
    row = next(r for r in status if r["agency"] == "hrss")
    assert row["enabled"] and row["handed_over"] > 0 and row["waiting"] == 0
    assert row["client"]["durable"] == "feed-client" and row["client"]["unacknowledged"] == 0
    health_url = json.loads((wq.up.data_dir / "platform.json").read_text())["services"]["feed"]
    assert health_url.startswith("http://127.0.0.1:")
    health = await asyncio.to_thread(lambda: json.loads(urllib.request.urlopen(health_url, timeout=5).read()))  # noqa: S310
    assert {a["agency"]: a["enabled"] for a in health["agencies"]}["hrss"] is True


async def test_an_erasure_tells_the_agencies_that_name_people(wq: Wanqing) -> None:
    await wq.ok("profiles", "RegisterUnit", {"code": "U0103", "name": "区气象局", "kind": "bureau"})
    rid, _ = await a_retiree_who_dies(wq, "U0103")
    hrss = await feed_until(wq.up, "hrss", "t-erase", lambda s: messages(s, "MemberDeceased"))
    await wq.ok("profiles", "ErasePersonalData", {"retiree_id": str(rid), "reason": "近亲属申请删除"})
    later = await feed_until(wq.up, "hrss", "t-erase", lambda s: messages(s, "SubjectErased"))
    [notice] = messages(later, "SubjectErased")
    assert notice.subject == messages(hrss, "MemberDeceased")[-1].subject
    stats = await feed_until(wq.up, "stats", "t-erase", lambda s: messages(s, "MemberDeceased"))
    assert not messages(stats, "SubjectErased")  # counts name nobody: nothing to erase


def test_the_example_consumer_in_the_docs_reads_the_feed(up_platform: UpPlatform) -> None:
    """docs/agencies/example_consumer.py, as an agency would run it (only nats-py), prints its feed."""
    example = Path(__file__).resolve().parents[2] / "docs" / "agencies" / "example_consumer.py"
    up = up_platform
    proc = subprocess.Popen([sys.executable, str(example), up.nats_url, str(seed_file(up.data_dir, "hrss")), "hrss",
                             "t-example"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = proc.communicate(timeout=8)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    assert "MemberDeceased subject=p" in out, out
    assert "checkpoint profiles #" in out, out


def cli(up: UpPlatform, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wanqing", "agency", *args], env=up.env(), capture_output=True,
                          text=True, timeout=60, check=False)


async def test_a_disabled_agency_is_refused_and_a_rotated_key_replaces_the_old(wq: Wanqing) -> None:
    """Runs last: it takes stats and civil's old key away."""
    connected = await as_agency(wq.up, "stats")
    old_civil = await asyncio.to_thread(seed_file(wq.up.data_dir, "civil").read_bytes)
    done = await asyncio.to_thread(cli, wq.up, "disable", "统计局")
    assert done.returncode == 0, done.stderr
    for _ in range(100):  # the running connection is closed by the server's reload
        if not connected.is_connected:
            break
        await asyncio.sleep(0.1)
    assert not connected.is_connected
    with pytest.raises((nats.errors.Error, OSError)):
        await as_agency(wq.up, "stats")
    again = await asyncio.to_thread(cli, wq.up, "disable", "stats")
    assert again.returncode == 2 and "not enabled" in again.stderr  # noqa: PLR2004
    rotated = await asyncio.to_thread(cli, wq.up, "rotate-credentials", "civil")
    assert rotated.returncode == 0, rotated.stderr
    assert await asyncio.to_thread(seed_file(wq.up.data_dir, "civil").read_bytes) != old_civil
    for _ in range(100):  # the new key works once the server has reloaded...
        try:
            fresh = await as_agency(wq.up, "civil")
        except nats.errors.Error:
            await asyncio.sleep(0.2)
            continue
        await fresh.close()
        break
    else:
        pytest.fail("the rotated key was never accepted")
    stale = wq.up.data_dir / "old-civil.nk"
    await asyncio.to_thread(stale.write_bytes, old_civil)
    with pytest.raises((nats.errors.Error, OSError)):  # ...and the old one no longer does
        await nats.connect(wq.up.nats_url, allow_reconnect=False, **agency_options(str(stale), "civil"))
    listing = await asyncio.to_thread(cli, wq.up, "list")
    assert "stats" in listing.stdout and "未启用" in listing.stdout
