"""Bulk import of a roster batch: one transaction, one multi-stream append, read models written in bulk.

Re-importing the same file changes nothing: people are matched by the blind index of their ID number.
"""

from __future__ import annotations

from typing import Any

from backbone.crypto import facts_holder
from backbone.recording import CommandContext, StreamBatch
from contracts.base import Accepted, Event, local_date
from contracts.errors import DomainError, ErrorCode, refused
from contracts.id_number import InvalidIdNumber, parse_id_number
from contracts.profiles import ImportRoster, RegisterRetiree, RosterRow, retiree_stream
from services.profiles.handlers import load_unit
from services.profiles.retiree import Facts, Retiree, authorize, decide


def _register_command(cmd: ImportRoster, row: RosterRow) -> RegisterRetiree:
    return RegisterRetiree(
        command_id=cmd.command_id, actor=cmd.actor, retiree_id=row.retiree_id, name=row.name,
        id_number=row.id_number, unit=cmd.unit, category=row.category, retirement_date=row.retirement_date,
        already_retired=True, phone=row.phone, address=row.address, party_member=row.party_member,
        party_joined_on=row.party_joined_on,
    )


async def import_roster(ctx: CommandContext, cmd: ImportRoster) -> Accepted:
    assert ctx.keyring is not None
    authorize(cmd.actor, cmd.unit)
    unit, _ = await load_unit(ctx, cmd.unit)
    if not unit.exists:
        raise refused(f"unit {cmd.unit} is not registered", zh=f"单位 {cmd.unit} 尚未登记", field="unit")
    today = local_date(ctx.now)
    digests: dict[int, bytes] = {}
    problems: list[dict[str, Any]] = []
    for row in cmd.rows:
        try:
            digests[row.row] = ctx.keyring.blind_index(parse_id_number(row.id_number, today).value)
        except InvalidIdNumber as exc:
            problems.append({"row": row.row, "problem": str(exc)})
    existing = {bytes(r["id_hash"]) for r in await ctx.conn.fetch(
        "SELECT id_hash FROM profiles.id_index WHERE id_hash = ANY($1::bytea[])", list(digests.values()))}
    seen: set[bytes] = set()
    fresh: list[tuple[RosterRow, list[Event]]] = []
    skipped = 0
    for row in cmd.rows:
        digest = digests.get(row.row)
        if digest is None:
            continue
        if digest in existing or digest in seen:
            skipped += 1
            continue
        seen.add(digest)
        try:
            events = decide(_register_command(cmd, row), Retiree(), Facts(now=ctx.now))
        except DomainError as exc:
            problems.append({"row": row.row, "problem": exc.message})
            continue
        fresh.append((row, events))
    if problems:
        raise DomainError(ErrorCode.VALIDATION, f"{len(problems)} rows are invalid; nothing was imported",
                          zh=f"{len(problems)} 行数据有误，未导入任何人员", problems=problems)
    people = [str(row.retiree_id) for row, _ in fresh]
    await ctx.keyring.create_keys(ctx.conn, people + [facts_holder(p) for p in people])
    batch: list[StreamBatch] = [(retiree_stream(row.retiree_id), 0, events, cmd.unit) for row, events in fresh]
    recorded = await ctx.record_many(batch)
    await ctx.conn.executemany("INSERT INTO profiles.id_index (id_hash, retiree_id) VALUES ($1, $2)",
                               [(digests[row.row], row.retiree_id) for row, _ in fresh])
    return Accepted(stream_id=f"roster:{cmd.unit}", version=len(recorded),
                    event_ids=tuple(r.event_id for r in recorded),
                    summary={"imported": len(fresh), "skipped_existing": skipped, "rows": len(cmd.rows)})
