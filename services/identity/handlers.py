"""Thin command handlers: the district office sets or resets a password, unlocks an account; a user (or the
district office) ends every session of an account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from backbone.recording import CommandContext
from contracts.base import Accepted
from contracts.identity import RevokeSessions, SetPassword, UnlockAccount, account_stream
from services.identity import account, passwords, sessions
from services.identity.accounts import account as account_state
from services.identity.accounts import staff_member
from services.identity.passwords import Hashing


@dataclass(frozen=True)
class Handlers:
    hashing: Hashing

    async def set_password(self, ctx: CommandContext, cmd: SetPassword) -> Accepted:
        now = datetime.now(UTC)
        staff = await staff_member(ctx.conn, cmd.user)
        secret = cmd.password.get_secret_value()
        events = account.decide_set_password(cmd, staff, await sessions.open_count(ctx.conn, cmd.user, now),
                                             passwords.problem(cmd.user, secret))
        await ctx.conn.execute(
            "INSERT INTO identity.passwords (user_id, hash, set_at) VALUES ($1, $2, $3) "
            "ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, set_at = excluded.set_at",
            cmd.user, await self.hashing.hash(secret), now)
        await sessions.revoke_all(ctx.conn, cmd.user, now)
        state = await account_state(ctx.conn, cmd.user)
        return await ctx.record(account_stream(cmd.user), state.version, events, unit=events[0].unit)

    async def unlock(self, ctx: CommandContext, cmd: UnlockAccount) -> Accepted:
        state = await account_state(ctx.conn, cmd.user)
        events = account.decide_unlock(cmd, state, await staff_member(ctx.conn, cmd.user), datetime.now(UTC))
        return await ctx.record(account_stream(cmd.user), state.version, events, unit=events[0].unit)

    async def revoke(self, ctx: CommandContext, cmd: RevokeSessions) -> Accepted:
        now = datetime.now(UTC)
        staff = await staff_member(ctx.conn, cmd.user)
        events = account.decide_revoke(cmd, staff, await sessions.open_count(ctx.conn, cmd.user, now))
        await sessions.revoke_all(ctx.conn, cmd.user, now)
        state = await account_state(ctx.conn, cmd.user)
        return await ctx.record(account_stream(cmd.user), state.version, events, unit=events[0].unit)
