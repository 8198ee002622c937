"""The identity service's language: staff accounts, passwords, logins and sessions (登录与账号).

Who a staff member is (name, role, unit, active) is profiles' directory; identity keeps what proves it is them:
a password (argon2id hash, never in an event), sessions, and the lockout after repeated failures. A login
yields a session (kept by the client, refreshed) and short-lived signed credentials (backbone/credentials.py)
that every command and query carries.

Login, Refresh, Logout and ChangePassword are requests on `wanqing.auth.identity.<Name>`: the caller has no
credential yet (or proves itself by its session or password). Passwords travel as SecretStr: they are never
logged, fingerprinted or stored in a reply.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import ConfigDict, Field, SecretStr

from contracts.base import Actor, Command, Event, Message, Query, UnitCode

SERVICE = "identity"

UserName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")]
# Length bounds only here: the policy (services/identity/passwords.py) says what a good password is, in Chinese.
Password = Annotated[SecretStr, Field(min_length=1, max_length=200)]
ClientName = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")]
SessionToken = Annotated[SecretStr, Field(min_length=20, max_length=200)]


def account_stream(user: str) -> str:
    return f"account-{user}"


# Failed logins naming nobody registered: one stream, so made-up names do not create streams.
UNKNOWN_LOGINS_STREAM = "account-unknown"


class LoginFailure(StrEnum):
    WRONG_PASSWORD = "wrong_password"  # noqa: S105 - a reason, not a password (密码错误)
    LOCKED = "locked"  # 账号已锁定
    DEACTIVATED = "deactivated"  # 已停用
    NO_PASSWORD = "no_password"  # noqa: S105 - a reason (尚未设置密码)
    UNKNOWN_USER = "unknown_user"  # 无此用户


# ======================================================================== requests without a credential


class AuthRequest(Message):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Login(AuthRequest):
    user: UserName
    password: Password
    client: ClientName = "cli"


class Refresh(AuthRequest):
    """A new short-lived credential for a live session."""

    session: SessionToken


class Logout(AuthRequest):
    session: SessionToken


class ChangePassword(AuthRequest):
    """The person changes their own password, proving it with the current one (also after a reset)."""

    user: UserName
    old_password: Password
    new_password: Password


class SessionGranted(Message):
    """A login's or refresh's answer; `session` only on login."""

    ok: Literal[True] = True
    actor: Actor
    credential: str
    credential_expires_at: datetime
    session: str | None = None
    session_expires_at: datetime | None = None
    # A temporary password (set by the district office) logs in to nothing: it must be changed first.
    must_change_password: bool = False


class Done(Message):
    ok: Literal[True] = True


# ======================================================================== commands (with a credential)


class SetPassword(Command):
    """The district office sets or resets a staff member's password (temporary: changed at first login);
    it also unlocks the account and ends every session of that user.
    """

    user: UserName
    password: Password
    temporary: bool = True


class UnlockAccount(Command):
    user: UserName


class RevokeSessions(Command):
    """End every session of a user (their own, or by the district office): sign out everywhere."""

    user: UserName


# ======================================================================== events


class AccountEvent(Event):
    user: str
    unit: UnitCode


class PasswordSet(AccountEvent):
    type: Literal["PasswordSet"] = "PasswordSet"
    temporary: bool


class PasswordChanged(AccountEvent):
    type: Literal["PasswordChanged"] = "PasswordChanged"


class LoginSucceeded(AccountEvent):
    type: Literal["LoginSucceeded"] = "LoginSucceeded"
    session_id: UUID | None  # None while the password must be changed first: no session was opened
    client: str
    must_change_password: bool = False


class LoginFailed(AccountEvent):
    type: Literal["LoginFailed"] = "LoginFailed"
    reason: LoginFailure
    consecutive_failures: int
    attempt: Literal["login", "change_password"] = "login"


class AccountLocked(AccountEvent):
    type: Literal["AccountLocked"] = "AccountLocked"
    until: datetime  # wall-clock time: lockout, like credentials, is measured in real time
    failures: int


class AccountUnlocked(AccountEvent):
    type: Literal["AccountUnlocked"] = "AccountUnlocked"


class SessionsRevoked(AccountEvent):
    type: Literal["SessionsRevoked"] = "SessionsRevoked"
    reason: Literal["deactivated", "password_reset", "requested"]
    sessions: int


class LoggedOut(AccountEvent):
    type: Literal["LoggedOut"] = "LoggedOut"
    session_id: UUID


class LoginLetterIssued(AccountEvent):
    """A login-code letter (登录码信) for a retiree's own pages; `user` is `retiree-<id>`. The code itself is
    neither here nor anywhere else: identity keeps only its secret's argon2id hash. Earlier letters end.
    """

    type: Literal["LoginLetterIssued"] = "LoginLetterIssued"
    retiree_id: UUID
    letter_id: str
    expires_at: datetime
    issued_by: str


class LoginLettersRevoked(AccountEvent):
    type: Literal["LoginLettersRevoked"] = "LoginLettersRevoked"
    retiree_id: UUID
    reason: Literal["deceased", "erased", "too_many_failures"]
    sessions: int


# ======================================================================== retirees' own logins

LetterId = Annotated[str, Field(pattern=r"^[a-z2-7]{8}$")]
LETTER_SECRET_DIGITS = 12
LETTER_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"


def new_letter_code() -> tuple[str, str]:
    """(letter id, secret digits) of a new letter: 40 bits of id before 40 bits of secret; five wrong tries end it."""
    return ("".join(secrets.choice(LETTER_ID_ALPHABET) for _ in range(8)),
            "".join(secrets.choice("0123456789") for _ in range(LETTER_SECRET_DIGITS)))


def letter_code_text(letter_id: str, secret: str) -> str:
    """The code as printed and typed: `abcdefgh-1234-5678-9012`."""
    return f"{letter_id}-{secret[:4]}-{secret[4:8]}-{secret[8:]}"


class IssueLoginLetter(Command):
    """A code letter for a retiree of the actor's unit (staff of the unit, or the district office). The code
    `<letter_id>-<secret>` is made by the caller and printed at once; the secret travels as a SecretStr, so it is
    in no fingerprint, log or reply; identity stores only its hash.
    """

    retiree_id: UUID
    letter_id: LetterId
    secret: Annotated[SecretStr, Field(min_length=LETTER_SECRET_DIGITS, max_length=LETTER_SECRET_DIGITS)]


class RetireeLogin(AuthRequest):
    """A retiree logs in to their own pages with the code of their letter."""

    code: Annotated[SecretStr, Field(min_length=10, max_length=40)]
    client: ClientName = "console-me"


# ======================================================================== queries


class GetAccount(Query):
    user: UserName


COMMANDS: tuple[type[Command], ...] = (SetPassword, UnlockAccount, RevokeSessions, IssueLoginLetter)
EVENTS: tuple[type[Event], ...] = (
    PasswordSet, PasswordChanged, LoginSucceeded, LoginFailed, AccountLocked, AccountUnlocked, SessionsRevoked,
    LoggedOut, LoginLetterIssued, LoginLettersRevoked,
)
QUERIES: tuple[type[Query], ...] = (GetAccount,)
AUTH_REQUESTS: tuple[type[AuthRequest], ...] = (Login, Refresh, Logout, ChangePassword, RetireeLogin)

AccountCommand = SetPassword | UnlockAccount | RevokeSessions
