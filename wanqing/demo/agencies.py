"""The demo's two agencies (人社局 and 统计局): enabled before the platform starts, and at the end their reference
clients read their own feeds, as the agencies would, and the demo shows what each received (docs/agencies.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from wanqing.agency_cli import enable, seed_file
from wanqing.agency_client import Received, connect, consume, summary

DEMO_AGENCIES = (("hrss", "人社局"), ("stats", "统计局"))


def enable_demo_agencies(data_dir: Path) -> None:
    for agency, _ in DEMO_AGENCIES:
        enable(data_dir, agency)


async def show_what_agencies_received(nats_url: str, data_dir: Path, say: Callable[[str], None]) -> int:
    """Each demo agency's feed read to its end by its reference client (acknowledging as it goes); the total."""
    total = 0
    for agency, short in DEMO_AGENCIES:
        got: list[Received] = []

        async def keep(item: Received, into: list[Received] = got) -> None:
            into.append(item)

        nc = await connect(nats_url, str(seed_file(data_dir, agency)), agency)
        try:
            await consume(nc, keep, durable="demo-client", idle_stop_s=3.0)
        finally:
            await nc.close()
        kinds = Counter(i.message.type if i.message else "审计检查点" for i in got)
        say(f"{short} 的参考客户端收到 {len(got)} 条 (agency feed received)："
            + "，".join(f"{k} {n}" for k, n in kinds.most_common()))
        for item in [i for i in got if i.message][:2]:
            say(f"  {summary(item, short)}")
            say(f"    {item.message.model_dump_json() if item.message else ''}")
        total += len(got)
    return total
