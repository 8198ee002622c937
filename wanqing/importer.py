"""`wanqing import retirees`: read an office roster, preview every problem, then send it in batches.

Nothing is written while any row is invalid, unless `skip_invalid`. People already in the archive (same ID
number) are skipped by profiles, so importing the same file again changes nothing.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from nats.aio.client import Client
from nats.errors import TimeoutError as NatsTimeoutError

from contracts import subjects
from contracts.base import Actor
from wanqing.access import Access
from wanqing.messages import NoAnswerError, connect
from wanqing.roster import RetireeRecord, Roster, read_roster

BATCH_ROWS = 500
IN_FLIGHT = 2  # batches at once: profiles works on one while the next travels (each is its own transaction)
PARTY_DATE_UNKNOWN = "中共党员，未填入党时间：按党员导入，但无法安排政治生日慰问"


@dataclass
class ImportOutcome:
    roster: Roster
    written: bool = False
    imported: int = 0
    skipped_existing: int = 0
    refused: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.refused


def preview_lines(roster: Roster, path: Path) -> list[str]:
    """What staff read before anything is written (Chinese, with the rows as Excel shows them)."""
    valid = roster.valid_records
    skipped = f"另跳过表尾、说明等非数据行 {len(roster.skipped_rows)} 行，" if roster.skipped_rows else ""
    lines = [(f"文件 {path.name}：共 {len(roster.records)} 行数据，其中有效 {len(valid)} 行，{skipped}"
              f"问题 {len(roster.problems)} 处。")]
    lines += [f"  说明：{info}" for info in roster.infos]
    notes: list[tuple[int | None, str, str]] = [(p.row, p.column or "", p.message_zh) for p in roster.problems]
    notes += [(n.row, n.column or "", n.message_zh) for n in roster.notices]
    notes += [(r.row, "", PARTY_DATE_UNKNOWN) for r in valid if r.party_member and r.party_joined_on is None]
    for row, column, message in sorted(notes, key=lambda note: (note[0] or 0, note[1])):
        where = f"第 {row} 行" if row is not None else "整个文件"
        lines.append(f"  {where}{f'【{column}】' if column else ''}：{message}")
    return lines


def nothing_to_import(roster: Roster) -> str | None:
    """Why the file gives nothing to import (in Chinese), if so: it was not understood, or holds no valid row."""
    if whole_file := [p.message_zh for p in roster.problems if p.row is None]:
        return "；".join(whole_file)
    if not roster.records:
        return "文件中没有数据行"
    if not roster.valid_records:
        return "没有一行有效数据"
    return None


def to_row(record: RetireeRecord) -> dict[str, Any]:
    assert record.retirement_date is not None
    row: dict[str, Any] = {
        "row": record.row,
        "retiree_id": str(uuid.uuid4()),
        "name": record.name,
        "id_number": record.id_number,
        "retirement_date": record.retirement_date.isoformat(),
        "category": record.category,
        "phone": record.phone,
        "address": record.address,
        # a member without a known 入党时间 is still a member: profiles records the membership without a date
        "party_member": True if record.party_member else None,
        "party_joined_on": record.party_joined_on.isoformat() if record.party_joined_on else None,
    }
    return {k: v for k, v in row.items() if v is not None}


async def send_batches(  # noqa: PLR0913
    access: Access, unit: str, source: str, records: list[RetireeRecord], actor: Actor | None,
    outcome: ImportOutcome, progress: Callable[[int], None] | None = None, wait_s: float = 60,
) -> None:
    """As `actor` (the operator's choice) or as whoever `access` acts for."""
    nc = await connect(access.nats_url, access.nats)
    in_flight = asyncio.Semaphore(IN_FLIGHT)
    done = 0

    async def send(chunk: list[RetireeRecord]) -> None:
        nonlocal done
        async with in_flight:
            if outcome.refused:
                return  # a refused batch stops the import: later batches are not sent
            body = {"command_id": str(uuid.uuid4()), "unit": unit, "source": source,
                    "rows": [to_row(r) for r in chunk]}
            payload = json.dumps(body, ensure_ascii=False).encode()
            reply = await _request_with_retry(nc, access, actor, subjects.command("profiles", "ImportRoster"),
                                              payload, wait_s)
        if not reply["ok"]:
            outcome.refused.append(reply)
            return
        summary = reply.get("summary") or {}
        outcome.imported += int(summary.get("imported", 0))
        outcome.skipped_existing += int(summary.get("skipped_existing", 0))
        outcome.written = True
        done += len(chunk)
        if progress:
            progress(done)

    try:
        await asyncio.gather(*(send(records[i:i + BATCH_ROWS]) for i in range(0, len(records), BATCH_ROWS)))
    finally:
        await nc.close()


async def _request_with_retry(  # noqa: PLR0913
    nc: Client, access: Access, actor: Actor | None, subject: str, payload: bytes, wait_s: float,
) -> dict[str, Any]:
    """A lost reply is retried with the same command id: profiles answers it once and replays the reply."""
    for _attempt in range(3):
        try:
            headers = await access.credentials.headers(nc, actor)  # fresh on each try: it lives a minute
            msg = await nc.request(subject, payload, timeout=wait_s, headers=headers)
        except NatsTimeoutError:
            continue
        decoded: dict[str, Any] = json.loads(msg.data)
        return decoded
    msg_text = f"profiles did not answer on {subject}"
    raise NoAnswerError(msg_text)


async def import_roster(  # noqa: PLR0913
    path: Path, *, unit: str, access: Access | Callable[[], Access] | None, actor: Actor | None, today: date,
    dry_run: bool = False, skip_invalid: bool = False, progress: Callable[[int], None] | None = None,
) -> ImportOutcome:
    roster = read_roster(path, today)
    outcome = ImportOutcome(roster)
    if dry_run or (roster.problems and not skip_invalid) or not roster.valid_records:
        return outcome
    assert access is not None
    # Found only once there is something to send: a file that imports nothing needs no platform nor login.
    target = access() if callable(access) else access
    await send_batches(target, unit, path.name, roster.valid_records, actor, outcome, progress)
    return outcome
