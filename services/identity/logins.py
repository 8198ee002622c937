"""Login, Refresh, Logout and ChangePassword: the requests that carry no credential (they make one).

Each answers a SessionGranted, a Done or a Refused. A password is checked before anything is decided, and a
decoy hash is checked when there is none, so the answer takes as long whoever is named. Every login and every
failure is an event of the account's stream (failures naming nobody go to one shared stream).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from pydantic import BaseModel

from backbone.clock import Clock
from backbone.commands import domain_refusal
from backbone.credentials import Signer
from backbone.db import Connection
from backbone.recording import Recorder
from backbone.requests import parse_body, refusal
from backbone.store import ConcurrencyConflict, Metadata
from contracts.base import LOCAL_TZ, RETIREE_PREFIX, Actor, Event, Refused, system_actor
from contracts.errors import ErrorCode
from contracts.identity import (
    UNKNOWN_LOGINS_STREAM,
    ChangePassword,
    Done,
    Login,
    LoginFailed,
    LoginFailure,
    LoginSucceeded,
    Logout,
    Refresh,
    SessionGranted,
    SessionsRevoked,
    account_stream,
)
from services.identity import account, letters, passwords, sessions
from services.identity.account import LoginPolicy, StaffMember
from services.identity.accounts import account as account_state
from services.identity.accounts import staff_member
from services.identity.passwords import Hashing

RETRIES = 5
FAILURE_ZH = {
    LoginFailure.WRONG_PASSWORD: "用户名或密码错误",
    LoginFailure.UNKNOWN_USER: "用户名或密码错误",
    LoginFailure.NO_PASSWORD: "用户名或密码错误",
    LoginFailure.DEACTIVATED: "该账号已停用，请联系本单位负责人或区老干部局",
}
SESSION_ENDED_ZH = "登录已失效，请重新登录"


def _failure(event: LoginFailed, locked_until: datetime | None) -> Refused:
    if event.reason is LoginFailure.LOCKED or locked_until is not None:
        until = locked_until.astimezone(LOCAL_TZ).strftime("%H:%M") if locked_until else "稍后"
        return refusal(ErrorCode.FORBIDDEN, f"登录失败次数过多，账号已锁定，请于 {until} 后再试，或联系区老干部局解锁",
                       f"login refused: {event.reason.value}", reason=LoginFailure.LOCKED.value)
    return refusal(ErrorCode.FORBIDDEN, FAILURE_ZH[event.reason], f"login refused: {event.reason.value}",
                   reason=event.reason.value)


@dataclass
class Logins:
    pool: asyncpg.Pool
    recorder: Recorder
    clock: Clock  # the platform's business time, for when the events occurred
    signer: Signer  # identity's key, minting credentials of `signer.lifetime`
    hashing: Hashing
    policy: LoginPolicy
    wake_relay: Callable[[], None]

    async def _record(  # noqa: PLR0913 - who, on which stream, what
        self, conn: Connection, staff: StaffMember | None, user: str, version: int, events: list[Event],
        actor: Actor,
    ) -> None:
        ctx = self.recorder.context(conn, await self.clock.now(), Metadata(actor=actor, correlation_id=uuid.uuid4()))
        stream = account_stream(user) if staff is not None else UNKNOWN_LOGINS_STREAM
        if staff is None:
            version = await ctx.store.stream_version(conn, stream)
        await ctx.record(stream, version, events, unit=staff.unit if staff else "DISTRICT")

    def _granted(self, staff: StaffMember, now: datetime, session: str | None = None,
                 session_expires_at: datetime | None = None) -> SessionGranted:
        return SessionGranted(actor=staff.actor, credential=self.signer.mint(staff.actor, now),
                              credential_expires_at=now + self.signer.lifetime, session=session,
                              session_expires_at=session_expires_at)

    async def login(self, body: bytes) -> BaseModel:
        req = parse_body(Login, body, None)
        if isinstance(req, Refused):
            return req
        assert isinstance(req, Login)
        secret = req.password.get_secret_value()
        async with self.pool.acquire() as conn:
            stored = await conn.fetchval("SELECT hash FROM identity.passwords WHERE user_id = $1", req.user)
            password_ok = await self.hashing.verify(stored, secret)
            for _ in range(RETRIES):
                try:
                    async with conn.transaction():
                        reply = await self._login(conn, req, password_ok=password_ok)
                except ConcurrencyConflict:
                    continue  # two attempts on one account at once: judge this one again on the new state
                self.wake_relay()
                if password_ok and stored is not None and self.hashing.needs_rehash(stored):
                    await conn.execute("UPDATE identity.passwords SET hash = $2 WHERE user_id = $1",
                                       req.user, await self.hashing.hash(secret))
                return reply
        return refusal(ErrorCode.UNAVAILABLE, "登录繁忙，请稍后再试", "too many concurrent logins for one account")

    async def _login(self, conn: Connection, req: Login, *, password_ok: bool) -> BaseModel:
        now = datetime.now(UTC)
        staff = await staff_member(conn, req.user)
        state = await account_state(conn, req.user)
        session_id = sessions.new_session_id()
        events = account.decide_login(state, staff, req.user, password_ok=password_ok, now=now,
                                      policy=self.policy, session_id=session_id, client=req.client)
        last = events[-1]
        succeeded = isinstance(last, LoginSucceeded) and staff is not None
        await self._record(conn, staff, req.user, state.version, events,
                           staff.actor if succeeded and staff else system_actor(self.recorder.service))
        if not isinstance(last, LoginSucceeded) or staff is None:
            failed = next(e for e in events if isinstance(e, LoginFailed))
            locked = (await account_state(conn, req.user)).locked_until if staff else None
            return _failure(failed, locked if locked and locked > now else None)
        if last.session_id is None:  # a temporary password: nothing opens until it is changed
            return refusal(ErrorCode.FORBIDDEN, "首次登录或密码已重置，请先修改密码",
                           "the password is temporary: change it first (ChangePassword)",
                           reason="must_change_password")
        token, expires = await sessions.open_session(conn, session_id, staff.user, req.client, now=now,
                                                     policy=self.policy)
        return self._granted(staff, now, session=token, session_expires_at=expires)

    async def refresh(self, body: bytes) -> BaseModel:
        req = parse_body(Refresh, body, None)
        if isinstance(req, Refused):
            return req
        assert isinstance(req, Refresh)
        now = datetime.now(UTC)
        async with self.pool.acquire() as conn:
            session = await sessions.live_session(conn, req.session.get_secret_value(), now, self.policy)
            if session is not None and session.user.startswith(RETIREE_PREFIX):  # a retiree's own pages
                person = await letters.person_of(conn, session.user)
                if person is None:
                    return refusal(ErrorCode.FORBIDDEN, SESSION_ENDED_ZH, "the retiree's letter ended")
                return SessionGranted(actor=person.actor, credential=self.signer.mint(person.actor, now),
                                      credential_expires_at=now + self.signer.lifetime)
            staff = await staff_member(conn, session.user) if session else None
            if session is None or staff is None or not staff.active:
                return refusal(ErrorCode.FORBIDDEN, SESSION_ENDED_ZH, "the session is unknown, ended or idle")
        return self._granted(staff, now)

    async def logout(self, body: bytes) -> BaseModel:
        req = parse_body(Logout, body, None)
        if isinstance(req, Refused):
            return req
        assert isinstance(req, Logout)
        async with self.pool.acquire() as conn, conn.transaction():
            session = await sessions.find(conn, req.session.get_secret_value())
            if session is not None and session.user.startswith(RETIREE_PREFIX):
                await sessions.revoke(conn, session.session_id, datetime.now(UTC))
                return Done()
            staff = await staff_member(conn, session.user) if session else None
            if session is None or staff is None:
                return refusal(ErrorCode.FORBIDDEN, SESSION_ENDED_ZH, "the session is unknown or already ended")
            await sessions.revoke(conn, session.session_id, datetime.now(UTC))
            state = await account_state(conn, staff.user)
            await self._record(conn, staff, staff.user, state.version, account.logged_out(staff, session.session_id),
                               staff.actor)
        self.wake_relay()
        return Done()

    async def change_password(self, body: bytes) -> BaseModel:
        req = parse_body(ChangePassword, body, None)
        if isinstance(req, Refused):
            return req
        assert isinstance(req, ChangePassword)
        new = req.new_password.get_secret_value()
        problem = passwords.problem(req.user, new, "new_password")
        if problem is not None:
            return domain_refusal(problem)
        if new == req.old_password.get_secret_value():
            return refusal(ErrorCode.VALIDATION, "新密码不能与原密码相同", "the new password is the old one",
                           field="new_password")
        async with self.pool.acquire() as conn:
            stored = await conn.fetchval("SELECT hash FROM identity.passwords WHERE user_id = $1", req.user)
            password_ok = await self.hashing.verify(stored, req.old_password.get_secret_value())
            new_hash = await self.hashing.hash(new) if password_ok else None
            for _ in range(RETRIES):
                try:
                    async with conn.transaction():
                        reply = await self._change(conn, req, password_ok=password_ok, new_hash=new_hash)
                except ConcurrencyConflict:
                    continue
                self.wake_relay()
                return reply
        return refusal(ErrorCode.UNAVAILABLE, "系统繁忙，请稍后再试", "too many concurrent changes for one account")

    async def _change(self, conn: Connection, req: ChangePassword, *, password_ok: bool,
                      new_hash: str | None) -> BaseModel:
        now = datetime.now(UTC)
        staff = await staff_member(conn, req.user)
        state = await account_state(conn, req.user)
        events = account.decide_change_password(state, staff, req.user, password_ok=password_ok, now=now,
                                                policy=self.policy)
        failed = next((e for e in events if isinstance(e, LoginFailed)), None)
        if failed is None and staff is not None and new_hash is not None:
            await conn.execute("UPDATE identity.passwords SET hash = $2, set_at = $3 WHERE user_id = $1",
                               req.user, new_hash, now)
            ended = await sessions.revoke_all(conn, req.user, now)  # a changed password ends the other sessions
            if ended:
                events.append(SessionsRevoked(user=staff.user, unit=staff.unit, reason="password_reset",
                                              sessions=ended))
        await self._record(conn, staff, req.user, state.version, events,
                           staff.actor if failed is None and staff else system_actor(self.recorder.service))
        if failed is not None:
            locked = (await account_state(conn, req.user)).locked_until if staff else None
            return _failure(failed, locked if locked and locked > now else None)
        return Done()
