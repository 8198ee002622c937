"""Each account's current state, kept in step with identity's own events (a snapshot of the account stream),
and identity's copy of profiles' staff directory. Deciders read both; GetAccount answers from them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backbone.db import Connection, row_to_json
from backbone.events import EventMeta, Routes
from contracts.base import Role
from contracts.errors import forbidden, not_found
from contracts.identity import EVENTS, AccountEvent, GetAccount, LoginSucceeded
from services.identity.account import Account, StaffMember, evolve

COLUMNS = "version, password_set, must_change, failures, locked_until"


async def account(conn: Connection, user: str) -> Account:
    row = await conn.fetchrow(f"SELECT {COLUMNS} FROM identity.accounts WHERE user_id = $1", user)
    if row is None:
        return Account()
    return Account(version=row["version"], password_set=row["password_set"], must_change=row["must_change"],
                   failures=row["failures"], locked_until=row["locked_until"])


async def staff_member(conn: Connection, user: str) -> StaffMember | None:
    row = await conn.fetchrow("SELECT user_id, role, unit, active FROM identity.staff WHERE user_id = $1", user)
    if row is None:
        return None
    return StaffMember(user=row["user_id"], role=Role(row["role"]), unit=row["unit"], active=row["active"])


async def account_changed(conn: Connection, event: AccountEvent, meta: EventMeta) -> None:
    state = evolve(await account(conn, event.user), event)
    await conn.execute(
        f"INSERT INTO identity.accounts (user_id, {COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) "
        "ON CONFLICT (user_id) DO UPDATE SET version = excluded.version, password_set = excluded.password_set, "
        "must_change = excluded.must_change, failures = excluded.failures, locked_until = excluded.locked_until",
        event.user, state.version, state.password_set, state.must_change, state.failures, state.locked_until)
    if isinstance(event, LoginSucceeded) and event.session_id is not None:
        await conn.execute("UPDATE identity.accounts SET last_login_at = $2 WHERE user_id = $1",
                           event.user, meta.occurred_at)


# Every event of an account stream moves its snapshot; the unknown-user stream has no account.
PROJECTION = Routes.of({model: account_changed for model in EVENTS if issubclass(model, AccountEvent)})


async def get_account(conn: Connection, query: GetAccount, _now: datetime) -> dict[str, Any]:
    """The account as the district office (or its owner, or their unit's head) sees it: never a hash."""
    member = await staff_member(conn, query.user)
    if member is None:
        raise not_found(f"no staff member {query.user!r}", zh=f"没有登记工作人员 {query.user}")
    actor = query.actor
    if not (actor.oversees_all or actor.user == query.user
            or (actor.role is Role.UNIT_HEAD and actor.unit == member.unit)):
        raise forbidden(f"{actor.user} may not see {query.user}'s account", zh="无权查看该账号")
    row = await conn.fetchrow(
        "SELECT st.user_id AS user, st.role, st.unit, st.active, coalesce(a.password_set, false) AS password_set, "
        "coalesce(a.must_change, false) AS must_change_password, coalesce(a.failures, 0) AS consecutive_failures, "
        "a.locked_until, a.last_login_at, (SELECT count(*) FROM identity.sessions s WHERE s.user_id = $1 "
        "AND s.revoked_at IS NULL AND s.expires_at > now()) AS open_sessions FROM identity.staff st "
        "LEFT JOIN identity.accounts a ON a.user_id = st.user_id WHERE st.user_id = $1", query.user)
    assert row is not None  # the staff row was just read
    return row_to_json(row)
