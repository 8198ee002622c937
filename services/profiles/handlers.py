"""Thin command handlers: load, gather facts, decide, append with the expected version, project inline."""

from __future__ import annotations

import asyncpg

from backbone.aggregate import load_state
from backbone.commands import CommandContext
from contracts.base import Accepted, Command, local_date
from contracts.errors import conflict
from contracts.profiles import (
    ApproveRetirement,
    DeactivateStaff,
    ErasePersonalData,
    RegisterRetiree,
    RegisterStaff,
    RegisterUnit,
    RetireeCommand,
    SetCareContact,
    TransferRetiree,
    retiree_stream,
    staff_stream,
    unit_stream,
)
from contracts.registry import EVENTS
from services.profiles import archive, directory
from services.profiles.directory import Staff, Unit
from contracts.id_number import InvalidIdNumber, parse_id_number
from services.profiles.retiree import Facts, Retiree, decide, evolve

MODELS = EVENTS["profiles"]


async def _project(ctx: CommandContext) -> None:
    for new, _recorded in ctx.appended:
        await archive.project(ctx.conn, new.type, new.data, new.occurred_at)


async def _unit(ctx: CommandContext, code: str | None) -> tuple[Unit, int]:
    if code is None:
        return Unit(), 0
    return await load_state(ctx.conn, ctx.store, unit_stream(code), MODELS, directory.evolve_unit, Unit())


async def _staff(ctx: CommandContext, user: str) -> tuple[Staff, int]:
    return await load_state(ctx.conn, ctx.store, staff_stream(user), MODELS, directory.evolve_staff, Staff())


async def register_unit(ctx: CommandContext, cmd: RegisterUnit) -> Accepted:
    state, version = await _unit(ctx, cmd.code)
    parent, _ = await _unit(ctx, cmd.parent)
    events = directory.decide_register_unit(cmd, state, parent)
    reply = await ctx.record(unit_stream(cmd.code), version, events, unit=cmd.code)
    await _project(ctx)
    return reply


async def register_staff(ctx: CommandContext, cmd: RegisterStaff) -> Accepted:
    state, version = await _staff(ctx, cmd.user)
    unit, _ = await _unit(ctx, cmd.unit)
    events = directory.decide_register_staff(cmd, state, unit)
    reply = await ctx.record(staff_stream(cmd.user), version, events, unit=cmd.unit)
    await _project(ctx)
    return reply


async def deactivate_staff(ctx: CommandContext, cmd: DeactivateStaff) -> Accepted:
    state, version = await _staff(ctx, cmd.user)
    events = directory.decide_deactivate_staff(cmd, state)
    reply = await ctx.record(staff_stream(cmd.user), version, events, unit=state.unit or "")
    await _project(ctx)
    return reply


async def set_care_contact(ctx: CommandContext, cmd: SetCareContact) -> Accepted:
    unit, version = await _unit(ctx, cmd.unit)
    staff, _ = await _staff(ctx, cmd.user)
    events = directory.decide_set_care_contact(cmd, unit, staff)
    reply = await ctx.record(unit_stream(cmd.unit), version, events, unit=cmd.unit)
    await _project(ctx)
    return reply


def _named_unit(cmd: Command) -> str | None:
    match cmd:
        case RegisterRetiree() | ApproveRetirement():
            return cmd.unit
        case TransferRetiree():
            return cmd.to_unit
        case _:
            return None


async def _id_owner(ctx: CommandContext, cmd: RegisterRetiree) -> tuple[bytes | None, object]:
    assert ctx.keyring is not None
    try:
        value = parse_id_number(cmd.id_number, local_date(ctx.now)).value
    except InvalidIdNumber:
        return None, None  # decide refuses it with the specific reason
    digest = ctx.keyring.blind_index(value)
    owner = await ctx.conn.fetchval("SELECT retiree_id FROM profiles.id_index WHERE id_hash = $1", digest)
    return digest, owner


async def retiree_command(ctx: CommandContext, cmd: RetireeCommand) -> Accepted:
    """Every command about one retiree goes through the same load-decide-append path."""
    stream = retiree_stream(cmd.retiree_id)
    state, version = await load_state(ctx.conn, ctx.store, stream, MODELS, evolve, Retiree())
    named = _named_unit(cmd)
    unit_exists = (await _unit(ctx, named))[0].exists if named else True
    digest, owner = (await _id_owner(ctx, cmd)) if isinstance(cmd, RegisterRetiree) else (None, None)
    facts = Facts(now=ctx.now, unit_exists=unit_exists, id_number_owner=owner)  # type: ignore[arg-type]
    events = decide(cmd, state, facts)
    reply = await ctx.record(stream, version, events, unit=state.unit or named or "")
    await _project(ctx)
    if digest is not None:
        try:
            await ctx.conn.execute("INSERT INTO profiles.id_index (id_hash, retiree_id) VALUES ($1, $2)",
                                   digest, cmd.retiree_id)
        except asyncpg.UniqueViolationError as exc:  # registered concurrently under another id
            raise conflict("this ID number is already in the archive") from exc
    if isinstance(cmd, ErasePersonalData):
        assert ctx.keyring is not None
        await ctx.keyring.erase(ctx.conn, str(cmd.retiree_id))
    return reply
