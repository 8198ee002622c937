"""`wanqing bench campaign`: a district of 50,000 retirees in 200 units; a 春节 campaign launched for all of them.

The district's facts are loaded straight into care's projection (setup, not measured). What is measured is the
LaunchCampaign command through the running care process, until every task is committed and published to
JetStream. Prints seconds, tasks/s and the care process's peak RSS; last, one JSON line with `campaign_tasks`,
`campaign_seconds`, `peak_rss_mb`. Targets: ≤ 10 s, ≤ 300 MB. The same run then measures the bus's raw limits
(bench/limits.py) so that tasks/s can be read as a share of what JetStream itself takes on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from datetime import date
from typing import Any

import asyncpg
import nats

from backbone.relay import STREAM as STREAM_NAME
from bench import limits
from bench.platform import RssSampler, platform, wait_ready
from contracts import subjects
from wanqing.access import Access


async def seed(db_url: str, retirees: int, units: int) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        await conn.executemany("INSERT INTO care.unit_contacts (unit, name, care_contact) VALUES ($1, $2, $3)",
                               [(f"U{u:04d}", f"单位{u}", f"clerk-{u}") for u in range(units)])
        rows = [(uuid.uuid4(), f"U{i % units:04d}", "retired", date(1935 + i % 30, 1 + i % 12, 1 + i % 28), 1)
                for i in range(retirees)]
        await conn.copy_records_to_table("retiree_facts", schema_name="care", records=rows,
                                         columns=["retiree_id", "unit", "status", "birth_date", "source_version"])
    finally:
        await conn.close()


async def launch(access: Access, db_url: str, expected: int) -> dict[str, float]:
    nc = await nats.connect(access.nats_url, **access.nats)
    js = nc.jetstream()
    before = (await js.stream_info(STREAM_NAME)).state.messages
    body = {"command_id": str(uuid.uuid4()), "campaign_id": str(uuid.uuid4()), "festival": "spring",
            "title": "2027年春节走访慰问", "year": 2027, "due_on": "2027-02-05"}
    t0 = time.perf_counter()
    reply = json.loads((await nc.request(subjects.command("care", "LaunchCampaign"), json.dumps(body).encode(),
                                         timeout=300, headers=await access.credentials.headers(nc))).data)
    committed_s = time.perf_counter() - t0
    if not reply["ok"] or reply["summary"]["tasks"] != expected:
        raise SystemExit(f"launch failed: {reply}")
    # CampaignLaunched plus one CareTaskOpened per task must be in the stream.
    deadline = time.perf_counter() + 600
    conn = await asyncpg.connect(db_url)
    all_committed_s = None
    try:
        while (published := (await js.stream_info(STREAM_NAME)).state.messages - before) < expected + 1:
            if time.perf_counter() > deadline:
                raise SystemExit(f"only {published} of {expected + 1} events reached the stream in 10 minutes")
            if all_committed_s is None and await conn.fetchval("SELECT count(*) FROM care.tasks") >= expected:
                all_committed_s = time.perf_counter() - t0
            await asyncio.sleep(0.05)
        published_s = time.perf_counter() - t0
        tasks = await conn.fetchval("SELECT count(*) FROM care.tasks")
    finally:
        await conn.close()
    await nc.close()
    return {"committed_seconds": committed_s, "all_tasks_committed_seconds": all_committed_s or published_s,
            "published_seconds": published_s, "tasks_in_board": tasks}


async def raw_limits(nats_url: str, options: dict[str, str], n: int, payload_size: int = 700) -> dict[str, float]:
    """The bus's limits in this run: atomic batches (how the relay publishes) and one publish_async each."""
    nc = await nats.connect(nats_url, **options)
    try:
        payload = b"x" * payload_size
        return {"atomic": await limits.atomic_batches_per_s(nc, n, payload),
                "publish_async": await limits.publish_async_per_s(nc, n, payload)}
    finally:
        await nc.close()


def run(retirees: int, units: int) -> dict[str, Any]:
    with platform(("care",)) as plat:
        asyncio.run(wait_ready(plat.access, "care"))
        asyncio.run(seed(plat.database_url, retirees, units))
        with RssSampler(plat.processes["care"].pid) as rss:
            timing = asyncio.run(launch(plat.access, plat.database_url, retirees))
        raw = asyncio.run(raw_limits(plat.nats_url, plat.raw_nats, retirees))
    seconds = timing["published_seconds"]
    return {"campaign_tasks": retirees, "units": units, "campaign_seconds": round(seconds, 2),
            "committed_seconds": round(timing["committed_seconds"], 2),
            "all_tasks_committed_seconds": round(timing["all_tasks_committed_seconds"], 2),
            "tasks_per_s": round(retirees / seconds, 1), "raw_atomic_per_s": round(raw["atomic"], 1),
            "raw_publish_per_s": round(raw["publish_async"], 1),
            "publish_ratio": round((retirees / seconds) / raw["atomic"], 3), "peak_rss_mb": rss.peak_mb,
            "tasks_in_board": timing["tasks_in_board"]}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="wanqing bench campaign")
    parser.add_argument("--retirees", type=int, default=50_000)
    parser.add_argument("--units", type=int, default=200)
    args = parser.parse_args(argv if argv is not None else [])
    r = run(args.retirees, args.units)
    print(f"{'metric':<28}{'value':>12}  target")
    print(f"{'tasks opened':<28}{r['campaign_tasks']:>12}")
    print(f"{'seconds to reply (queued)':<28}{r['committed_seconds']:>12}")
    print(f"{'seconds to commit all':<28}{r['all_tasks_committed_seconds']:>12}")
    verdict = "PASS" if r["campaign_seconds"] <= 10 else "FAIL"  # noqa: PLR2004
    print(f"{'seconds to commit+publish':<28}{r['campaign_seconds']:>12}  <= 10 {verdict}")
    print(f"{'tasks/s':<28}{r['tasks_per_s']:>12}")
    print(f"{'raw atomic batch msg/s':<28}{r['raw_atomic_per_s']:>12}  (the bus's limit, same run)")
    print(f"{'tasks/s ÷ raw atomic/s':<28}{r['publish_ratio']:>12}")
    print(f"{'raw publish_async msg/s':<28}{r['raw_publish_per_s']:>12}  (one message per publish, same run)")
    verdict = "PASS" if r["peak_rss_mb"] <= 300 else "FAIL"  # noqa: PLR2004
    print(f"{'care peak RSS MB':<28}{r['peak_rss_mb']:>12}  <= 300 {verdict}")
    print(json.dumps(r))
    return r


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
