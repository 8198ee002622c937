"""Which channels a recipient wants (in order): the decision, and its read model."""

from __future__ import annotations

from backbone.db import Connection
from backbone.events import EventMeta, Routes
from contracts.base import Event
from contracts.errors import forbidden
from contracts.notify import ChannelPreferenceSet, SetChannelPreference
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


PROJECTION = Routes.of({ChannelPreferenceSet: preference_set})
