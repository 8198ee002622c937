"""Retirees' own logins: a login-code letter (登录码信) from their unit, and the session it opens.

A unit's staff (or the district office) print a letter for a retiree of their unit: the code
`<letter_id>-<12 digits>` is made by the console, printed once, and sent here as a SecretStr; identity keeps the
secret's argon2id hash only, and a new letter ends the person's earlier ones. The retiree types the code on their
own pages (`RetireeLogin`): a session opens whose credentials name them as `retiree-<id>` with the role
`retiree`, which every service lets act only for that very person (contracts.base.Actor.is_person) and only on
what it opened to retirees (backbone.commands: closed by default). Five wrong codes end the letter; a death or an
erasure ends every letter and session of the person (profiles' events).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from uuid import UUID

import asyncpg
from pydantic import BaseModel, ValidationError

from backbone.asking import Asker, PeerUnavailable
from backbone.credentials import Signer
from backbone.db import Connection
from backbone.events import EventMeta, Routes
from backbone.recording import CommandContext, Recorder
from backbone.requests import parse_body, refusal
from backbone.store import Metadata
from contracts.base import Accepted, Actor, Event, Refused, Role, retiree_user, system_actor
from contracts.errors import DomainError, ErrorCode, conflict, forbidden, not_found
from contracts.identity import (
    IssueLoginLetter,
    LoginFailed,
    LoginFailure,
    LoginLetterIssued,
    LoginLettersRevoked,
    LoginSucceeded,
    RetireeLogin,
    SessionGranted,
    account_stream,
)
from contracts.profiles import MemberDeceased, PersonalDataErased, RetireeCard, RetireeStatus, RetireeTransferred
from services.identity import sessions
from services.identity.account import LoginPolicy
from services.identity.accounts import account as account_state
from services.identity.passwords import Hashing

EndReason = Literal["deceased", "erased", "too_many_failures"]
LETTER_LIFETIME = timedelta(days=365)
MAX_FAILURES = 5
CODE_ZH = "登录码有误或已失效，请核对登录码信，或请单位重新打印"


@dataclass(frozen=True)
class Person:
    retiree_id: UUID
    unit: str

    @property
    def actor(self) -> Actor:
        return Actor(user=retiree_user(self.retiree_id), role=Role.RETIREE, unit=self.unit)


async def person_of(conn: Connection, user: str) -> Person | None:
    """The retiree a session's user names, while they hold a live letter (else their sessions end with it)."""
    row = await conn.fetchrow("SELECT retiree_id, unit FROM identity.login_letters WHERE revoked_at IS NULL "
                              "AND expires_at > now() AND 'retiree-' || retiree_id::text = $1 "
                              "ORDER BY issued_at DESC LIMIT 1", user)
    return Person(row["retiree_id"], row["unit"]) if row else None


def decide_issue(cmd: IssueLoginLetter, card: RetireeCard, now: datetime) -> LoginLetterIssued:
    """Staff of the person's unit (or the district office) print a letter for a living person of the archive."""
    if not cmd.actor.may_act_for(card.unit):
        raise forbidden(f"{cmd.actor.user} may not issue letters for {card.unit}",
                        zh="只能为本单位的退休人员打印登录码信")
    if card.erased or card.status is RetireeStatus.DECEASED:
        raise conflict("the person is deceased or their data was erased", zh="该人员已去世或个人信息已删除")
    return LoginLetterIssued(user=retiree_user(cmd.retiree_id), unit=card.unit, retiree_id=cmd.retiree_id,
                             letter_id=cmd.letter_id, expires_at=now + LETTER_LIFETIME, issued_by=cmd.actor.user)


@dataclass
class Letters:
    pool: asyncpg.Pool
    recorder: Recorder
    signer: Signer
    hashing: Hashing
    policy: LoginPolicy
    asker: Asker
    wake_relay: Callable[[], None]

    async def issue(self, ctx: CommandContext, cmd: IssueLoginLetter) -> Accepted:
        card = await self._card(cmd.retiree_id)
        now = datetime.now(UTC)
        event = decide_issue(cmd, card, now)
        secret_hash = await self.hashing.hash(cmd.secret.get_secret_value())
        await ctx.conn.execute("UPDATE identity.login_letters SET revoked_at = $2 WHERE retiree_id = $1 "
                               "AND revoked_at IS NULL", cmd.retiree_id, now)
        try:
            await ctx.conn.execute(
                "INSERT INTO identity.login_letters (letter_id, retiree_id, unit, secret_hash, issued_by, issued_at, "
                "expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                cmd.letter_id, cmd.retiree_id, card.unit, secret_hash, cmd.actor.user, now, event.expires_at)
        except asyncpg.UniqueViolationError as exc:
            raise conflict("that letter id is taken: make another", zh="登录码重复，请重新打印") from exc
        state = await account_state(ctx.conn, event.user)
        reply = await ctx.record(account_stream(event.user), state.version, [event], unit=card.unit)
        return reply.model_copy(update={"summary": {"letter_id": cmd.letter_id,
                                                    "expires_at": event.expires_at.isoformat()}})

    async def _card(self, retiree_id: UUID) -> RetireeCard:
        try:
            reply = await self.asker.query("profiles", "GetRetireeCards",
                                           {"retiree_ids": [str(retiree_id)], "purpose": "签发登录码信"})
        except PeerUnavailable as exc:
            raise DomainError(ErrorCode.UNAVAILABLE, f"profiles did not answer: {exc}",
                              zh="暂时无法查询退休人员档案，请稍后再试") from exc
        if isinstance(reply, Refused) or not reply.data:
            raise not_found(f"no retiree {retiree_id}", zh="档案中没有该退休人员")
        try:
            return RetireeCard.model_validate(reply.data[0])
        except ValidationError as exc:
            raise DomainError(ErrorCode.UNAVAILABLE, f"profiles' answer was not understood: {exc}",
                              zh="暂时无法查询退休人员档案，请稍后再试") from exc

    async def login(self, body: bytes) -> BaseModel:
        req = parse_body(RetireeLogin, body, None)
        if isinstance(req, Refused):
            return req
        assert isinstance(req, RetireeLogin)
        letter_id, _, secret = req.code.get_secret_value().strip().lower().replace(" ", "").partition("-")
        now = datetime.now(UTC)
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow("SELECT * FROM identity.login_letters WHERE letter_id = $1", letter_id)
            live = row is not None and row["revoked_at"] is None and row["expires_at"] > now
            # A decoy hash when there is no letter: the answer takes as long whatever was typed.
            ok = await self.hashing.verify(row["secret_hash"] if live and row else None, secret.replace("-", ""))
            async with conn.transaction():
                if not live or row is None:
                    return refusal(ErrorCode.FORBIDDEN, CODE_ZH, "unknown, ended or expired letter")
                person = Person(row["retiree_id"], row["unit"])
                user = person.actor.user
                if not ok:
                    return await self._failed(conn, row, person, now)
                await conn.execute("UPDATE identity.login_letters SET failures = 0 WHERE letter_id = $1", letter_id)
                session_id = sessions.new_session_id()
                token, expires = await sessions.open_session(conn, session_id, user, req.client, now=now,
                                                             policy=self.policy)
                await self._record(conn, person, [LoginSucceeded(user=user, unit=person.unit, session_id=session_id,
                                                                 client=req.client)], person.actor)
        self.wake_relay()
        return SessionGranted(actor=person.actor, credential=self.signer.mint(person.actor, now),
                              credential_expires_at=now + self.signer.lifetime, session=token,
                              session_expires_at=expires)

    async def _failed(self, conn: Connection, row: asyncpg.Record, person: Person, now: datetime) -> Refused:
        failures = int(await conn.fetchval("UPDATE identity.login_letters SET failures = failures + 1 "
                                           "WHERE letter_id = $1 RETURNING failures", row["letter_id"]))
        events: list[Event] = [LoginFailed(user=person.actor.user, unit=person.unit,
                                               reason=LoginFailure.WRONG_PASSWORD, consecutive_failures=failures)]
        if failures >= MAX_FAILURES:
            await conn.execute("UPDATE identity.login_letters SET revoked_at = $2 WHERE letter_id = $1",
                               row["letter_id"], now)
            events.append(LoginLettersRevoked(user=person.actor.user, unit=person.unit, retiree_id=person.retiree_id,
                                              reason="too_many_failures", sessions=0))
        await self._record(conn, person, events, system_actor(self.recorder.service))
        self.wake_relay()
        if failures >= MAX_FAILURES:
            return refusal(ErrorCode.FORBIDDEN, "登录码输错次数过多，该登录码信已作废，请联系单位重新打印",
                           "too many wrong codes: the letter ended")
        return refusal(ErrorCode.FORBIDDEN, CODE_ZH, "wrong code")

    async def _record(self, conn: Connection, person: Person, events: list[Event], actor: Actor) -> None:
        user = person.actor.user
        ctx = self.recorder.context(conn, datetime.now(UTC), Metadata(actor=actor, correlation_id=uuid.uuid4()))
        state = await account_state(conn, user)
        await ctx.record(account_stream(user), state.version, events, unit=person.unit)

    # ---------------------------------------------------------------- what profiles' events end or move

    async def _end(self, conn: Connection, retiree_id: UUID, reason: EndReason, meta: EventMeta) -> None:
        now = datetime.now(UTC)
        unit = await conn.fetchval("UPDATE identity.login_letters SET revoked_at = $2 WHERE retiree_id = $1 "
                                   "AND revoked_at IS NULL RETURNING unit", retiree_id, now)
        user = retiree_user(retiree_id)
        ended = await sessions.revoke_all(conn, user, now)
        if unit is None and not ended:
            return
        ctx = self.recorder.system(conn, meta.occurred_at, cause=meta)
        state = await account_state(conn, user)
        await ctx.record(account_stream(user), state.version, [LoginLettersRevoked(
            user=user, unit=unit or meta.unit, retiree_id=retiree_id, reason=reason, sessions=ended)],
            unit=unit or meta.unit)

    async def on_death(self, conn: Connection, event: MemberDeceased, meta: EventMeta) -> None:
        await self._end(conn, event.retiree_id, "deceased", meta)

    async def on_erasure(self, conn: Connection, event: PersonalDataErased, meta: EventMeta) -> None:
        await self._end(conn, event.retiree_id, "erased", meta)

    async def on_transfer(self, conn: Connection, event: RetireeTransferred, _meta: EventMeta) -> None:
        await conn.execute("UPDATE identity.login_letters SET unit = $2 WHERE retiree_id = $1",
                           event.retiree_id, event.to_unit)

    @property
    def routes(self) -> Routes:
        return Routes.of({MemberDeceased: self.on_death, PersonalDataErased: self.on_erasure,
                          RetireeTransferred: self.on_transfer})
