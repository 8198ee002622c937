"""A staff member's account (账号): the pure rules of logging in, lockout, passwords and sessions.

Time here is the wall clock, passed in: lockout, like credentials and sessions, is measured in real time even
when the platform's business clock is simulated.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

from contracts.base import Actor, Event, Role
from contracts.errors import DomainError, conflict, forbidden, not_found
from contracts.identity import (
    AccountEvent,
    AccountLocked,
    AccountUnlocked,
    LoggedOut,
    LoginFailed,
    LoginFailure,
    LoginSucceeded,
    PasswordChanged,
    PasswordSet,
    RevokeSessions,
    SessionsRevoked,
    SetPassword,
    UnlockAccount,
)

Attempt = Literal["login", "change_password"]


@dataclass(frozen=True)
class LoginPolicy:
    """等保 2.0 asks for a limit on failed logins and sessions that end when idle; these are the defaults."""

    max_failures: int = 5  # consecutive wrong passwords, then locked
    lock_for: timedelta = timedelta(minutes=15)
    session_idle: timedelta = timedelta(minutes=30)
    session_max: timedelta = timedelta(hours=12)


@dataclass(frozen=True)
class Account:
    version: int = 0
    password_set: bool = False
    must_change: bool = False
    failures: int = 0  # consecutive since the last success, reset or unlock
    locked_until: datetime | None = None

    def locked_at(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until


@dataclass(frozen=True)
class StaffMember:
    """Who profiles says the user is (identity's copy of the directory)."""

    user: str
    role: Role
    unit: str
    active: bool

    @property
    def actor(self) -> Actor:
        return Actor(user=self.user, role=self.role, unit=self.unit)


def evolve(state: Account, event: Event) -> Account:  # noqa: PLR0911 - one case per event type
    state = replace(state, version=state.version + 1)
    match event:
        case PasswordSet():
            return replace(state, password_set=True, must_change=event.temporary, failures=0, locked_until=None)
        case PasswordChanged():
            return replace(state, must_change=False, failures=0)
        case LoginSucceeded():
            return replace(state, failures=0)
        case LoginFailed() if event.reason is LoginFailure.WRONG_PASSWORD:
            return replace(state, failures=event.consecutive_failures)
        case AccountLocked():
            return replace(state, locked_until=event.until)
        case AccountUnlocked():
            return replace(state, failures=0, locked_until=None)
        case _:
            return state


def _refusal_of(state: Account, staff: StaffMember | None, now: datetime) -> LoginFailure | None:
    """Why nobody may log in as this user now, before the password is even looked at."""
    if staff is None:
        return LoginFailure.UNKNOWN_USER
    if not staff.active:
        return LoginFailure.DEACTIVATED
    if state.locked_at(now):
        return LoginFailure.LOCKED
    if not state.password_set:
        return LoginFailure.NO_PASSWORD
    return None


def _wrong_password(state: Account, staff: StaffMember, now: datetime, policy: LoginPolicy,
                    attempt: Attempt) -> list[Event]:
    # A lock that has run out starts the count again: the next five tries are the person's, not the old ones.
    before = 0 if state.locked_until is not None and not state.locked_at(now) else state.failures
    failures = before + 1
    events: list[Event] = [LoginFailed(user=staff.user, unit=staff.unit, reason=LoginFailure.WRONG_PASSWORD,
                                       consecutive_failures=failures, attempt=attempt)]
    if failures >= policy.max_failures:
        events.append(AccountLocked(user=staff.user, unit=staff.unit, until=now + policy.lock_for,
                                    failures=failures))
    return events


def decide_login(  # noqa: PLR0913 - what a login is judged on
    state: Account, staff: StaffMember | None, user: str, *, password_ok: bool, now: datetime,
    policy: LoginPolicy, session_id: UUID, client: str,
) -> list[Event]:
    """The login's events; it succeeded if the last one is a LoginSucceeded with a session."""
    reason = _refusal_of(state, staff, now)
    if reason is not None or staff is None:
        return [LoginFailed(user=user, unit=staff.unit if staff else "DISTRICT",
                            reason=reason or LoginFailure.UNKNOWN_USER, consecutive_failures=state.failures)]
    if not password_ok:
        return _wrong_password(state, staff, now, policy, "login")
    if state.must_change:
        return [LoginSucceeded(user=staff.user, unit=staff.unit, session_id=None, client=client,
                               must_change_password=True)]
    return [LoginSucceeded(user=staff.user, unit=staff.unit, session_id=session_id, client=client)]


def decide_change_password(  # noqa: PLR0913
    state: Account, staff: StaffMember | None, user: str, *, password_ok: bool, now: datetime,
    policy: LoginPolicy,
) -> list[Event]:
    """Changing one's own password proves the old one: a wrong one counts as a failed login."""
    reason = _refusal_of(state, staff, now)
    if reason is not None or staff is None:
        return [LoginFailed(user=user, unit=staff.unit if staff else "DISTRICT",
                            reason=reason or LoginFailure.UNKNOWN_USER, consecutive_failures=state.failures,
                            attempt="change_password")]
    if not password_ok:
        return _wrong_password(state, staff, now, policy, "change_password")
    return [PasswordChanged(user=staff.user, unit=staff.unit)]


def _district_office(actor: Actor, what: str, zh: str) -> None:
    if not actor.oversees_all:
        raise forbidden(f"only the district office may {what}", zh=f"只有区老干部局可以{zh}")


def _known(staff: StaffMember | None, user: str) -> StaffMember:
    if staff is None:
        raise not_found(f"no staff member {user!r} is registered", zh=f"没有登记工作人员 {user}", field="user")
    return staff


def decide_set_password(cmd: SetPassword, staff: StaffMember | None, open_sessions: int,
                        problem: DomainError | None) -> list[AccountEvent]:
    """A reset by the district office: unlocks, and ends the sessions someone else may hold."""
    _district_office(cmd.actor, "set or reset passwords", "设置或重置密码")
    member = _known(staff, cmd.user)
    if not member.active:
        raise conflict(f"{cmd.user} is deactivated", zh=f"工作人员 {cmd.user} 已停用，不能设置密码")
    if problem is not None:  # the password policy's refusal (passwords.problem)
        raise problem
    events: list[AccountEvent] = [PasswordSet(user=member.user, unit=member.unit, temporary=cmd.temporary)]
    if open_sessions:
        events.append(SessionsRevoked(user=member.user, unit=member.unit, reason="password_reset",
                                      sessions=open_sessions))
    return events


def decide_unlock(cmd: UnlockAccount, state: Account, staff: StaffMember | None, now: datetime,
                  ) -> list[AccountEvent]:
    _district_office(cmd.actor, "unlock accounts", "解除账号锁定")
    member = _known(staff, cmd.user)
    if not state.locked_at(now) and state.failures == 0:
        raise conflict(f"{cmd.user} is not locked", zh=f"账号 {cmd.user} 未被锁定")
    return [AccountUnlocked(user=member.user, unit=member.unit)]


def decide_revoke(cmd: RevokeSessions, staff: StaffMember | None, open_sessions: int) -> list[AccountEvent]:
    if not (cmd.actor.oversees_all or cmd.actor.user == cmd.user):
        raise forbidden(f"only {cmd.user} or the district office may end {cmd.user}'s sessions",
                        zh="只有本人或区老干部局可以注销该账号的登录")
    member = _known(staff, cmd.user)
    if not open_sessions:
        raise conflict(f"{cmd.user} has no open session", zh=f"账号 {cmd.user} 当前没有登录")
    return [SessionsRevoked(user=member.user, unit=member.unit, reason="requested", sessions=open_sessions)]


def decide_revoke_on_deactivation(staff: StaffMember, open_sessions: int) -> list[Event]:
    if not open_sessions:
        return []
    return [SessionsRevoked(user=staff.user, unit=staff.unit, reason="deactivated", sessions=open_sessions)]


def logged_out(staff: StaffMember, session_id: UUID) -> list[Event]:
    return [LoggedOut(user=staff.user, unit=staff.unit, session_id=session_id)]
