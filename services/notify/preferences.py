"""Which channels a recipient wants (in order): the decision, and its read model."""

from __future__ import annotations

from backbone.db import Connection
from backbone.events import EventMeta, Routes
from contracts.base import Event
from contracts.errors import forbidden
from contracts.notify import ChannelPreferenceSet, QuietHoursSet, SetChannelPreference, SetQuietHours
from services.notify.quiet_hours import QuietHours
from services.notify.recipients import may_manage


def decide_set_preference(cmd: SetChannelPreference) -> list[Event]:
    if not may_manage(cmd.actor, cmd.recipient):
        raise forbidden(f"{cmd.actor.user} may not set {cmd.recipient}'s channels", zh="只能设置本人的通知方式")
    channels = list(dict.fromkeys(cmd.channels))  # keep the order, drop repeats
    return [ChannelPreferenceSet(recipient=cmd.recipient, channels=channels)]


async def preference_set(conn: Connection, event: ChannelPreferenceSet, _meta: EventMeta) -> None:
    await conn.execute("INSERT INTO notify.channel_preferences (recipient, channels) VALUES ($1, $2) "
                       "ON CONFLICT (recipient) DO UPDATE SET channels = excluded.channels", event.recipient,
                       [c.value for c in event.channels])


def decide_set_quiet_hours(cmd: SetQuietHours) -> list[Event]:
    if not may_manage(cmd.actor, cmd.recipient):
        raise forbidden(f"{cmd.actor.user} may not set {cmd.recipient}'s quiet hours", zh="只能设置本人的免打扰时段")
    return [QuietHoursSet(recipient=cmd.recipient, start=cmd.start, end=cmd.end)]


async def quiet_hours_set(conn: Connection, event: QuietHoursSet, _meta: EventMeta) -> None:
    await conn.execute("INSERT INTO notify.quiet_hours (recipient, start_at, end_at) VALUES ($1, $2, $3) "
                       "ON CONFLICT (recipient) DO UPDATE SET start_at = excluded.start_at, end_at = excluded.end_at",
                       event.recipient, event.start, event.end)


async def quiet_hours_of(conn: Connection, recipient: str, default: QuietHours) -> QuietHours:
    """The recipient's own quiet hours, or the platform's."""
    row = await conn.fetchrow("SELECT start_at, end_at FROM notify.quiet_hours WHERE recipient = $1", recipient)
    return QuietHours(row["start_at"], row["end_at"], default.tz) if row else default


PROJECTION = Routes.of({ChannelPreferenceSet: preference_set, QuietHoursSet: quiet_hours_set})
