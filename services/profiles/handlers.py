"""Thin command handlers: load, gather facts, decide, record (the archive's read models follow each event)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

from backbone.aggregate import load_state
from backbone.recording import CommandContext
from contracts.base import Accepted, local_date
from contracts.errors import conflict
from contracts.id_number import InvalidIdNumber, parse_id_number
from contracts.profiles import (
    ApproveRetirement,
    ArchiveCommand,
    ErasePersonalData,
    RegisterRetiree,
    RegisterStaff,
    RegisterUnit,
    SetCareContact,
    StaffCommand,
    TransferRetiree,
    UnitCommand,
    retiree_stream,
    staff_stream,
    unit_stream,
)
from services.profiles import directory
from services.profiles.directory import Staff, Unit, UnitFacts
from services.profiles.erasure_handlers import request_approved
from services.profiles.retiree import Facts, Retiree, decide, evolve


async def load_unit(ctx: CommandContext, code: str | None) -> tuple[Unit, int]:
    if code is None:
        return Unit(), 0
    return await load_state(ctx.conn, ctx.store, unit_stream(code), directory.evolve_unit, Unit())


async def _staff(ctx: CommandContext, user: str) -> tuple[Staff, int]:
    return await load_state(ctx.conn, ctx.store, staff_stream(user), directory.evolve_staff, Staff())


async def unit_command(ctx: CommandContext, cmd: UnitCommand) -> Accepted:
    state, version = await load_unit(ctx, cmd.code if isinstance(cmd, RegisterUnit) else cmd.unit)
    match cmd:
        case RegisterUnit():
            facts = UnitFacts(parent=(await load_unit(ctx, cmd.parent))[0])
            code = cmd.code
        case SetCareContact():
            facts = UnitFacts(contact=(await _staff(ctx, cmd.user))[0])
            code = cmd.unit
    return await ctx.record(unit_stream(code), version, directory.decide_unit(cmd, state, facts), unit=code)


async def staff_command(ctx: CommandContext, cmd: StaffCommand) -> Accepted:
    state, version = await _staff(ctx, cmd.user)
    code = cmd.unit if isinstance(cmd, RegisterStaff) else state.unit
    unit, _ = await load_unit(ctx, code)
    events = directory.decide_staff(cmd, state, unit)
    return await ctx.record(staff_stream(cmd.user), version, events, unit=code or "")


def _named_unit(cmd: ArchiveCommand) -> str | None:
    match cmd:
        case RegisterRetiree() | ApproveRetirement():
            return cmd.unit
        case TransferRetiree():
            return cmd.to_unit
        case _:
            return None


async def _id_owner(ctx: CommandContext, cmd: RegisterRetiree) -> tuple[bytes | None, UUID | None]:
    assert ctx.keyring is not None
    try:
        value = parse_id_number(cmd.id_number, local_date(ctx.now)).value
    except InvalidIdNumber:
        return None, None  # decide refuses it with the specific reason
    digest = ctx.keyring.blind_index(value)
    owner: UUID | None = await ctx.conn.fetchval("SELECT retiree_id FROM profiles.id_index WHERE id_hash = $1",
                                                 digest)
    return digest, owner


async def retiree_command(ctx: CommandContext, cmd: ArchiveCommand) -> Accepted:
    """Every command about one retiree goes through the same load-decide-record path."""
    stream = retiree_stream(cmd.retiree_id)
    state, version = await load_state(ctx.conn, ctx.store, stream, evolve, Retiree(), ctx.keyring)
    named = _named_unit(cmd)
    unit_exists = (await load_unit(ctx, named))[0].exists if named else True
    digest, owner = (await _id_owner(ctx, cmd)) if isinstance(cmd, RegisterRetiree) else (None, None)
    erasing = isinstance(cmd, ErasePersonalData)
    approved = (isinstance(cmd, ErasePersonalData) and cmd.request_id is not None
                and await request_approved(ctx, stream, cmd.request_id))
    facts = Facts(now=ctx.now, unit_exists=unit_exists, id_number_owner=owner, erasure_request_approved=approved,
                  erasure_expires_at=_erasure_expiry(ctx) if erasing else None)
    events = decide(cmd, state, facts)
    reply = await ctx.record(stream, version, events, unit=state.unit or named or "")
    if digest is not None:
        try:
            await ctx.conn.execute("INSERT INTO profiles.id_index (id_hash, retiree_id) VALUES ($1, $2)",
                                   digest, cmd.retiree_id)
        except asyncpg.UniqueViolationError as exc:  # registered concurrently under another id
            raise conflict("this ID number is already in the archive", zh="该身份证号码已在档案中") from exc
    if isinstance(cmd, ErasePersonalData):
        assert ctx.keyring is not None
        await ctx.keyring.erase(ctx.conn, str(cmd.retiree_id))
        # Every older copy of the key (dead tuple, WAL, dump) is wrapped by a version destroyed after the window;
        # the key upkeep re-wraps the live keys and vacuums the key table (backbone/key_upkeep.py).
        ctx.keyring.rotate(ctx.now)
    return reply


def _erasure_expiry(ctx: CommandContext) -> datetime | None:
    assert ctx.keyring is not None
    keys = ctx.keyring.master_keys
    return ctx.now + keys.backup_window if keys is not None else None
