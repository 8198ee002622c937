"""The account's rules, given / when / then: logins, lockout, passwords, sessions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from functools import reduce

import pytest

from contracts.base import Actor, Event, Role
from contracts.errors import DomainError, ErrorCode
from contracts.identity import (
    AccountLocked,
    AccountUnlocked,
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
from services.identity import account, passwords
from services.identity.account import Account, LoginPolicy, StaffMember, evolve

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
POLICY = LoginPolicy()
CLERK = StaffMember(user="clerk-U0001", role=Role.UNIT_STAFF, unit="U0001", active=True)
OFFICE = Actor(user="office-1", role=Role.DISTRICT_OFFICE, unit="DISTRICT")
READY = Account(version=1, password_set=True)


NEW = Account()


def given(*events: Event, state: Account = NEW) -> Account:
    return reduce(evolve, events, state)


def login(state: Account, *, ok: bool, staff: StaffMember | None = CLERK, now: datetime = NOW) -> list[Event]:
    return account.decide_login(state, staff, "clerk-U0001", password_ok=ok, now=now, policy=POLICY,
                                session_id=uuid.UUID(int=1), client="cli")


def failures(n: int, state: Account = READY, now: datetime = NOW) -> Account:
    for _ in range(n):
        state = given(*login(state, ok=False, now=now), state=state)
    return state


class TestLogin:
    def test_the_right_password_opens_a_session(self) -> None:
        [event] = login(READY, ok=True)
        assert isinstance(event, LoginSucceeded)
        assert (event.user, event.unit, event.session_id) == ("clerk-U0001", "U0001", uuid.UUID(int=1))

    def test_a_wrong_password_is_a_failure_counted(self) -> None:
        [event] = login(failures(2), ok=False)
        assert isinstance(event, LoginFailed)
        assert (event.reason, event.consecutive_failures) == (LoginFailure.WRONG_PASSWORD, 3)

    def test_the_fifth_wrong_password_locks_the_account_for_fifteen_minutes(self) -> None:
        events = login(failures(4), ok=False)
        assert [type(e) for e in events] == [LoginFailed, AccountLocked]
        assert events[1].until == NOW + timedelta(minutes=15)  # type: ignore[attr-defined]

    def test_a_locked_account_refuses_even_the_right_password(self) -> None:
        [event] = login(failures(5), ok=True, now=NOW + timedelta(minutes=14))
        assert isinstance(event, LoginFailed)
        assert event.reason is LoginFailure.LOCKED

    def test_when_the_lock_runs_out_the_right_password_works_and_the_count_starts_again(self) -> None:
        later = NOW + timedelta(minutes=16)
        assert isinstance(login(failures(5), ok=True, now=later)[0], LoginSucceeded)
        [event] = login(failures(5), ok=False, now=later)
        assert isinstance(event, LoginFailed) and event.consecutive_failures == 1

    def test_a_success_resets_the_count(self) -> None:
        state = given(*login(failures(4), ok=True), state=failures(4))
        assert state.failures == 0
        assert [type(e) for e in login(state, ok=False)] == [LoginFailed]

    @pytest.mark.parametrize(("staff", "state", "reason"), [
        (None, READY, LoginFailure.UNKNOWN_USER),
        (StaffMember("clerk-U0001", Role.UNIT_STAFF, "U0001", active=False), READY, LoginFailure.DEACTIVATED),
        (CLERK, Account(), LoginFailure.NO_PASSWORD),
    ])
    def test_who_may_not_log_in_at_all(self, staff: StaffMember | None, state: Account,
                                       reason: LoginFailure) -> None:
        [event] = login(state, ok=True, staff=staff)
        assert isinstance(event, LoginFailed) and event.reason is reason

    def test_a_temporary_password_opens_no_session(self) -> None:
        state = given(PasswordSet(user="clerk-U0001", unit="U0001", temporary=True))
        [event] = login(state, ok=True)
        assert isinstance(event, LoginSucceeded)
        assert (event.session_id, event.must_change_password) == (None, True)


class TestPasswords:
    def test_the_district_office_sets_a_temporary_password_ending_every_session(self) -> None:
        cmd = SetPassword(command_id=uuid.uuid4(), actor=OFFICE, user="clerk-U0001", password="x" * 12)
        events = account.decide_set_password(cmd, CLERK, open_sessions=2, problem=None)
        assert [type(e) for e in events] == [PasswordSet, SessionsRevoked]
        state = given(*events, state=failures(5))
        assert (state.must_change, state.failures, state.locked_until) == (True, 0, None)

    def test_nobody_else_sets_passwords(self) -> None:
        head = Actor(user="head-U0001", role=Role.UNIT_HEAD, unit="U0001")
        cmd = SetPassword(command_id=uuid.uuid4(), actor=head, user="clerk-U0001", password="x" * 12)
        with pytest.raises(DomainError) as caught:
            account.decide_set_password(cmd, CLERK, open_sessions=0, problem=None)
        assert caught.value.code is ErrorCode.FORBIDDEN

    def test_a_change_needs_the_current_password_and_a_wrong_one_counts(self) -> None:
        [event] = account.decide_change_password(failures(4), CLERK, "clerk-U0001", password_ok=True, now=NOW,
                                                 policy=POLICY)
        assert isinstance(event, PasswordChanged)
        events = account.decide_change_password(failures(4), CLERK, "clerk-U0001", password_ok=False, now=NOW,
                                                policy=POLICY)
        assert [type(e) for e in events] == [LoginFailed, AccountLocked]

    @pytest.mark.parametrize(("password", "zh"), [
        ("short1", "至少 10 位"),
        ("onlyletterspassword", "字母和数字"),
        ("1234567890123", "字母和数字"),
        ("clerk-U0001-2026", "用户名"),
        ("password123", "常见"),
        (" leading1space ", "空格"),
    ])
    def test_weak_passwords_are_refused_in_chinese(self, password: str, zh: str) -> None:
        problem = passwords.problem("clerk-U0001", password)
        assert problem is not None and zh in problem.zh

    def test_a_long_password_with_letters_and_digits_is_fine(self) -> None:
        assert passwords.problem("clerk-U0001", "晚晴 quiet river 2026") is None


class TestUnlockAndRevoke:
    def test_the_district_office_unlocks_a_locked_account(self) -> None:
        cmd = UnlockAccount(command_id=uuid.uuid4(), actor=OFFICE, user="clerk-U0001")
        [event] = account.decide_unlock(cmd, failures(5), CLERK, NOW)
        assert isinstance(event, AccountUnlocked)
        assert given(event, state=failures(5)).locked_at(NOW) is False

    def test_unlocking_an_account_that_is_not_locked_is_a_conflict(self) -> None:
        cmd = UnlockAccount(command_id=uuid.uuid4(), actor=OFFICE, user="clerk-U0001")
        with pytest.raises(DomainError) as caught:
            account.decide_unlock(cmd, READY, CLERK, NOW)
        assert caught.value.code is ErrorCode.CONFLICT

    def test_a_person_ends_their_own_sessions_but_not_another_s(self) -> None:
        me = Actor(user="clerk-U0001", role=Role.UNIT_STAFF, unit="U0001")
        mine = RevokeSessions(command_id=uuid.uuid4(), actor=me, user="clerk-U0001")
        assert isinstance(account.decide_revoke(mine, CLERK, 1)[0], SessionsRevoked)
        other = RevokeSessions(command_id=uuid.uuid4(), actor=me, user="clerk-U0002")
        with pytest.raises(DomainError) as caught:
            account.decide_revoke(other, CLERK, 1)
        assert caught.value.code is ErrorCode.FORBIDDEN

    def test_deactivation_ends_open_sessions_and_records_nothing_when_there_are_none(self) -> None:
        assert account.decide_revoke_on_deactivation(CLERK, 0) == []
        [event] = account.decide_revoke_on_deactivation(CLERK, 3)
        assert isinstance(event, SessionsRevoked) and (event.reason, event.sessions) == ("deactivated", 3)
