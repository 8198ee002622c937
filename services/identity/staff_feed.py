"""What identity learns from profiles: who is staff, with which role and unit, and who was deactivated.

A deactivation ends every session of that user at once, so no new credential is minted for them; one
already minted lives at most its lifetime (50 s by default, 5 s more for clock skew): the deactivation takes
effect within a minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from backbone.db import Connection
from backbone.events import EventMeta, Routes
from backbone.recording import Recorder
from contracts.identity import account_stream
from contracts.profiles import StaffDeactivated, StaffRegistered
from services.identity import account, sessions
from services.identity.accounts import staff_member


async def staff_registered(conn: Connection, event: StaffRegistered, _meta: EventMeta) -> None:
    await conn.execute(
        "INSERT INTO identity.staff (user_id, role, unit, active) VALUES ($1, $2, $3, true) "
        "ON CONFLICT (user_id) DO UPDATE SET role = excluded.role, unit = excluded.unit, active = true",
        event.user, event.role.value, event.unit)


async def staff_deactivated(conn: Connection, event: StaffDeactivated, _meta: EventMeta) -> None:
    await conn.execute("UPDATE identity.staff SET active = false WHERE user_id = $1", event.user)


# The staff directory kept from profiles' events, without what a deactivation decides (sessions ended):
# replayed by rebuild.py.
STAFF = Routes.of({StaffRegistered: staff_registered, StaffDeactivated: staff_deactivated})


@dataclass(frozen=True)
class StaffFeed:
    recorder: Recorder

    async def deactivated(self, conn: Connection, event: StaffDeactivated, meta: EventMeta) -> None:
        await staff_deactivated(conn, event, meta)
        member = await staff_member(conn, event.user)
        if member is None:
            return
        ended = await sessions.revoke_all(conn, event.user, datetime.now(UTC))
        events = account.decide_revoke_on_deactivation(member, ended)
        if events:
            ctx = self.recorder.system(conn, meta.occurred_at, cause=meta)
            stream = account_stream(event.user)
            await ctx.record(stream, await ctx.store.stream_version(conn, stream), events, unit=member.unit)

    @property
    def routes(self) -> Routes:
        return Routes.of({StaffRegistered: staff_registered, StaffDeactivated: self.deactivated})
