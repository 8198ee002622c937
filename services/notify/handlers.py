"""Thin command handlers: mark an inbox message read, set a recipient's channels, a unit's digest mode."""

from __future__ import annotations

from backbone.recording import CommandContext
from contracts.base import Accepted
from contracts.notify import (
    MarkRead,
    SetChannelPreference,
    SetDigestMode,
    SetQuietHours,
    digest_mode_stream,
    inbox_stream,
    preference_stream,
    quiet_hours_stream,
)
from services.notify import digest, inbox, preferences


async def _version(ctx: CommandContext, stream: str) -> int:
    return await ctx.store.stream_version(ctx.conn, stream)


async def mark_read(ctx: CommandContext, cmd: MarkRead) -> Accepted:
    events = inbox.decide_mark_read(cmd, await inbox.message(ctx.conn, cmd.message_id))
    stream = inbox_stream(cmd.message_id)
    return await ctx.record(stream, await _version(ctx, stream), events, unit=cmd.actor.unit)


async def set_channel_preference(ctx: CommandContext, cmd: SetChannelPreference) -> Accepted:
    stream = preference_stream(cmd.recipient)
    return await ctx.record(stream, await _version(ctx, stream), preferences.decide_set_preference(cmd),
                            unit=cmd.actor.unit)


async def set_quiet_hours(ctx: CommandContext, cmd: SetQuietHours) -> Accepted:
    stream = quiet_hours_stream(cmd.recipient)
    return await ctx.record(stream, await _version(ctx, stream), preferences.decide_set_quiet_hours(cmd),
                            unit=cmd.actor.unit)


async def set_digest_mode(ctx: CommandContext, cmd: SetDigestMode) -> Accepted:
    stream = digest_mode_stream(cmd.unit)
    return await ctx.record(stream, await _version(ctx, stream), digest.decide_set_digest_mode(cmd), unit=cmd.unit)
