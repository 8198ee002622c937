"""`wanqing bench import`: a 10,000-row roster imported through the running profiles service.

Prints rows/s (from opening the file to the last batch committed) and the peak RSS of the importing process and
of the profiles process; last, one JSON line with `rows_per_s` and `peak_rss_mb` (the larger of the two).
Targets: ≥ 2,000 rows/s, ≤ 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import nats
from openpyxl import Workbook

from bench.platform import RssSampler, own_peak_rss_mb, platform, wait_ready
from contracts import subjects
from contracts.id_number import make_id_number
from wanqing.access import Access
from wanqing.importer import import_roster

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "建国秀英玉兰桂芳志强淑珍文华明德永红丽"


def write_roster(path: Path, rows: int) -> Path:
    """A roster like an office keeps: title row, Chinese headers, month-only dates, party members."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("花名册")
    ws.append(["区直机关退休人员花名册"])
    ws.append(["序号", "姓名", "身份证号码", "性别", "出生年月", "退休时间", "联系电话", "家庭住址", "政治面貌",
               "入党时间"])
    for i in range(rows):
        born = date(1935 + i % 30, 1 + i % 12, 1 + i % 28)
        seq = 1 + (i // 360) % 998  # keeps (region, birth date, sequence) unique up to ~350,000 rows
        region = f"{110101 + (i // 360_000) % 80}"
        name = SURNAMES[i % len(SURNAMES)] + GIVEN[(i * 7) % len(GIVEN)] + GIVEN[(i * 3) % len(GIVEN)]
        party = i % 3 == 0
        ws.append([i + 1, name, make_id_number(region, born, seq), "男" if seq % 2 else "女",
                   f"{born.year}.{born.month:02d}", f"{born.year + 60}-{born.month:02d}", f"139{i:08d}",
                   f"幸福路{i % 500}号{i % 30}单元", "中共党员" if party else "群众",
                   f"{born.year + 25}年7月" if party else None])
    wb.save(path)
    return path


async def _register_unit(access: Access) -> None:
    nc = await nats.connect(access.nats_url, **access.nats)
    try:
        body = {"command_id": str(uuid.uuid4()), "code": "U0001", "name": "区直机关工委", "kind": "bureau"}
        reply = json.loads((await nc.request(subjects.command("profiles", "RegisterUnit"),
                                             json.dumps(body).encode(), timeout=30,
                                             headers=await access.credentials.headers(nc))).data)
        assert reply["ok"], reply
    finally:
        await nc.close()


def run(rows: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="wanqing-bench-import-") as tmp:
        started = time.perf_counter()
        path = write_roster(Path(tmp) / "roster.xlsx", rows)
        built_s = time.perf_counter() - started
        with platform(("profiles",)) as plat:
            asyncio.run(wait_ready(plat.access, "profiles"))
            asyncio.run(_register_unit(plat.access))
            with RssSampler(plat.processes["profiles"].pid) as service_rss:
                t0 = time.perf_counter()
                outcome = asyncio.run(import_roster(path, unit="U0001", access=plat.access, actor=None,
                                                    today=date(2026, 11, 22)))
                seconds = time.perf_counter() - t0
            if not outcome.ok or outcome.imported != rows:
                raise SystemExit(f"import failed: imported {outcome.imported} of {rows}; {outcome.refused[:1]}")
            t1 = time.perf_counter()
            again = asyncio.run(import_roster(path, unit="U0001", access=plat.access, actor=None,
                                              today=date(2026, 11, 22)))
            reimport_s = time.perf_counter() - t1
    client_mb = own_peak_rss_mb()
    return {
        "rows": rows, "import_seconds": round(seconds, 2), "rows_per_s": round(rows / seconds, 1),
        "client_peak_rss_mb": client_mb, "service_peak_rss_mb": service_rss.peak_mb,
        "peak_rss_mb": max(client_mb, service_rss.peak_mb), "reimport_seconds": round(reimport_s, 2),
        "reimport_skipped": again.skipped_existing, "roster_build_seconds": round(built_s, 2),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="wanqing bench import")
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args(argv if argv is not None else [])
    r = run(args.rows)
    print(f"{'metric':<24}{'value':>12}  target")
    print(f"{'rows imported':<24}{r['rows']:>12}")
    print(f"{'seconds':<24}{r['import_seconds']:>12}")
    verdict = "PASS" if r["rows_per_s"] >= 2000 else "FAIL"  # noqa: PLR2004
    print(f"{'rows/s':<24}{r['rows_per_s']:>12}  >= 2000 {verdict}")
    print(f"{'client peak RSS MB':<24}{r['client_peak_rss_mb']:>12}")
    print(f"{'profiles peak RSS MB':<24}{r['service_peak_rss_mb']:>12}")
    verdict = "PASS" if r["peak_rss_mb"] <= 300 else "FAIL"  # noqa: PLR2004
    print(f"{'peak RSS MB':<24}{r['peak_rss_mb']:>12}  <= 300 {verdict}")
    print(f"{'re-import (all skipped)':<24}{r['reimport_seconds']:>12}  skipped {r['reimport_skipped']}")
    print(json.dumps(r))
    return r


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
