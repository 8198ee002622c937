"""Bulk import of a roster batch: one transaction, one multi-row append, read models written in bulk.

Re-importing the same file changes nothing: people are matched by the blind index of their ID number.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from backbone.aggregate import load_state
from backbone.commands import CommandContext, to_new_event
from contracts.base import Accepted, Event, local_date
from contracts.errors import DomainError, ErrorCode, refused
from contracts.profiles import (
    ImportRoster,
    PartyMembershipRecorded,
    RegisterRetiree,
    RetireeRegistered,
    RosterRow,
    retiree_stream,
    unit_stream,
)
from contracts.registry import EVENTS
from services.profiles import directory
from services.profiles.directory import Unit
from contracts.id_number import InvalidIdNumber, parse_id_number
from services.profiles.retiree import Facts, Retiree, authorize, decide


def _register_command(cmd: ImportRoster, row: RosterRow) -> RegisterRetiree:
    return RegisterRetiree(
        command_id=cmd.command_id, actor=cmd.actor, retiree_id=row.retiree_id, name=row.name,
        id_number=row.id_number, unit=cmd.unit, category=row.category, retirement_date=row.retirement_date,
        already_retired=True, phone=row.phone, address=row.address, party_joined_on=row.party_joined_on,
    )


async def import_roster(ctx: CommandContext, cmd: ImportRoster) -> Accepted:
    assert ctx.keyring is not None
    authorize(cmd.actor, cmd.unit)
    unit, _ = await load_state(ctx.conn, ctx.store, unit_stream(cmd.unit), EVENTS["profiles"],
                               directory.evolve_unit, Unit())
    if not unit.exists:
        raise refused(f"unit {cmd.unit} is not registered", field="unit")
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
                          problems=problems)
    await ctx.keyring.create_keys(ctx.conn, [str(row.retiree_id) for row, _ in fresh])
    batch = []
    for row, events in fresh:
        pending = [await to_new_event(ctx.conn, ctx.keyring, ev, cmd.unit, ctx.now) for ev in events]
        batch.append((retiree_stream(row.retiree_id), 0, pending))
    recorded = await ctx.store.append_batch(ctx.conn, batch, ctx.meta) if batch else []
    await _project(ctx, batch, digests, fresh)
    return Accepted(stream_id=f"roster:{cmd.unit}", version=len(recorded),
                    event_ids=tuple(r.event_id for r in recorded),
                    summary={"imported": len(fresh), "skipped_existing": skipped, "rows": len(cmd.rows)})


async def _project(ctx: CommandContext, batch: list[Any], digests: dict[int, bytes],
                   fresh: list[tuple[RosterRow, list[Event]]]) -> None:
    """The same read-model rows the per-event projectors write, in three bulk statements."""
    registered, party = [], []
    for (_stream, _v, pending), (row, _events) in zip(batch, fresh, strict=True):
        for new in pending:
            d = new.data
            if new.type == RetireeRegistered.model_fields["type"].default:
                registered.append((
                    row.retiree_id, d["unit"], d["status"], d["sex"], date.fromisoformat(d["birth_date"]),
                    d["category"], d["name"], d["id_number"], d["phone"], d["address"], row.retirement_date,
                ))
            elif new.type == PartyMembershipRecorded.model_fields["type"].default:
                party.append((row.retiree_id, date.fromisoformat(d["joined_on"]), d["branch"]))
    await ctx.conn.executemany(
        "INSERT INTO profiles.retirees (retiree_id, unit, status, sex, birth_date, category, sealed_name, "
        "sealed_id_number, sealed_phone, sealed_address, retirement_date, version) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1)",
        registered,
    )
    await ctx.conn.executemany(
        "UPDATE profiles.retirees SET party_member = true, party_joined_on = $2, party_branch = $3, "
        "version = version + 1 WHERE retiree_id = $1",
        party,
    )
    await ctx.conn.executemany(
        "INSERT INTO profiles.unit_memberships (retiree_id, unit, since) VALUES ($1, $2, $3)",
        [(r[0], r[1], r[10]) for r in registered],
    )
    await ctx.conn.executemany(
        "INSERT INTO profiles.id_index (id_hash, retiree_id) VALUES ($1, $2)",
        [(digests[row.row], row.retiree_id) for row, _ in fresh],
    )


