"""Thin command handlers: mark an inbox message read, set a recipient's channels, a unit's digest mode."""

from __future__ import annotations

import asyncpg

from backbone.commands import CommandContext
from contracts.base import Accepted, Actor, Role
from contracts.errors import forbidden, not_found
from contracts.notify import (
    ChannelPreferenceSet,
    DigestModeSet,
    InboxMessageRead,
    MarkRead,
    SetChannelPreference,
    SetDigestMode,
    digest_mode_stream,
    inbox_stream,
    preference_stream,
)

OVERSEERS = (Role.DISTRICT_OFFICE, Role.SYSTEM)


def may_act_for(actor: Actor, recipient: str) -> bool:
    """A staff member manages their own inbox and preferences; the district office manages anyone's."""
    return actor.role in OVERSEERS or recipient == f"staff:{actor.user}"


async def _version(ctx: CommandContext, stream: str) -> int:
    return await ctx.store.stream_version(ctx.conn, stream)


async def mark_read(ctx: CommandContext, cmd: MarkRead) -> Accepted:
    row = await ctx.conn.fetchrow("SELECT recipient, read_at FROM notify.inbox_messages WHERE message_id = $1",
                                  cmd.message_id)
    if row is None:
        raise not_found(f"no inbox message {cmd.message_id}")
    if not may_act_for(cmd.actor, row["recipient"]):
        raise forbidden(f"{cmd.actor.user} may not read {row['recipient']}'s inbox")
    stream = inbox_stream(cmd.message_id)
    version = await _version(ctx, stream)
    if row["read_at"] is not None:  # already read: nothing changes, the same answer
        return Accepted(stream_id=stream, version=version, event_ids=())
    event = InboxMessageRead(message_id=cmd.message_id, recipient=row["recipient"], read_by=cmd.actor.user)
    reply = await ctx.record(stream, version, [event], unit=cmd.actor.unit)
    await ctx.conn.execute("UPDATE notify.inbox_messages SET read_at = $2 WHERE message_id = $1",
                           cmd.message_id, ctx.now)
    return reply


async def set_channel_preference(ctx: CommandContext, cmd: SetChannelPreference) -> Accepted:
    if not may_act_for(cmd.actor, cmd.recipient):
        raise forbidden(f"{cmd.actor.user} may not set {cmd.recipient}'s channels")
    channels = list(dict.fromkeys(cmd.channels))  # keep the order, drop repeats
    stream = preference_stream(cmd.recipient)
    event = ChannelPreferenceSet(recipient=cmd.recipient, channels=channels)
    reply = await ctx.record(stream, await _version(ctx, stream), [event], unit=cmd.actor.unit)
    await _upsert_preference(ctx.conn, cmd.recipient, [c.value for c in channels])
    return reply


async def _upsert_preference(conn: asyncpg.Connection, recipient: str, channels: list[str]) -> None:
    await conn.execute("INSERT INTO notify.channel_preferences (recipient, channels) VALUES ($1, $2) "
                       "ON CONFLICT (recipient) DO UPDATE SET channels = excluded.channels", recipient, channels)


async def set_digest_mode(ctx: CommandContext, cmd: SetDigestMode) -> Accepted:
    if cmd.actor.role not in OVERSEERS and not (cmd.actor.unit == cmd.unit and cmd.actor.role is Role.UNIT_HEAD):
        raise forbidden("only the unit head or the district office may change a unit's digest mode")
    stream = digest_mode_stream(cmd.unit)
    reply = await ctx.record(stream, await _version(ctx, stream), [DigestModeSet(unit=cmd.unit, enabled=cmd.enabled)],
                             unit=cmd.unit)
    await ctx.conn.execute("INSERT INTO notify.units (code, name, digest_mode) VALUES ($1, $1, $2) "
                           "ON CONFLICT (code) DO UPDATE SET digest_mode = excluded.digest_mode", cmd.unit, cmd.enabled)
    return reply
