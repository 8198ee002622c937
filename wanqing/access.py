"""How the command line, the demo loader and the benchmarks act on a platform: as whom, on which NATS user.

Two ways to act, both proven to the services by a signed credential (backbone/credentials.py):

* a person who ran `wanqing login`: their session (in an owner-only file) is exchanged with identity for a
  credential of a minute, renewed as it runs out; they act as themselves only;
* the operator, who can read the platform's secrets folder: the `ops` key mints credentials for the district
  office (`cli`) or, with `--actor-json`, for any staff member (never for a service).

On a platform with NATS authentication the connection uses the matching NATS user (`console` for a person,
`ops` for the operator) from `<data dir>/secrets/nats/`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from nats.aio.client import Client

from backbone.credentials import HEADER, OPS, Signer, load_signing_key
from backbone.settings import Settings
from contracts import subjects
from contracts.base import Actor, Role
from wanqing.platform_secrets import PlatformSecrets, write_private

RENEW_BEFORE = timedelta(seconds=10)
CONSOLE = "console"


class AccessError(RuntimeError):
    """The command line cannot act: nobody is logged in and the operator's key is not readable, or a person
    asked to act as someone else.
    """


def default_actor(district: str = "DISTRICT") -> Actor:
    """The operator acts as the district office unless told otherwise."""
    return Actor(user="cli", role=Role.DISTRICT_OFFICE, unit=district)


class Credentials(Protocol):
    principal: str  # the NATS user this way of acting connects as

    async def headers(self, nc: Client, actor: Actor | None = None) -> dict[str, str]: ...


@dataclass
class OperatorCredentials:
    """The `ops` key: mints a credential per request, for the default actor or the one asked for."""

    signer: Signer
    actor: Actor
    principal: str = OPS

    async def headers(self, _nc: Client, actor: Actor | None = None) -> dict[str, str]:
        return {HEADER: self.signer.mint(actor or self.actor)}


@dataclass
class SessionCredentials:
    """A logged-in person's session, exchanged for a credential of a minute, renewed before it runs out."""

    session: str
    actor: Actor
    principal: str = CONSOLE
    _credential: str | None = field(default=None, init=False)
    _expires: datetime = field(default=datetime.min.replace(tzinfo=UTC), init=False)

    async def headers(self, nc: Client, actor: Actor | None = None) -> dict[str, str]:
        if actor is not None and actor != self.actor:
            msg = (f"you are logged in as {self.actor.user}: you act as yourself only "
                   "(--actor-json needs the operator's key; `wanqing logout` first)")
            raise AccessError(msg)
        if self._credential is None or datetime.now(UTC) > self._expires - RENEW_BEFORE:
            reply = json.loads((await nc.request(subjects.auth("Refresh"),
                                                 json.dumps({"session": self.session}).encode(), timeout=10)).data)
            if not reply.get("ok"):
                msg = f"{reply.get('message')} (wanqing login)"
                raise AccessError(msg)
            self._credential = str(reply["credential"])
            self._expires = datetime.fromisoformat(reply["credential_expires_at"])
        return {HEADER: self._credential}


def session_file() -> Path:
    """Where `wanqing login` keeps the session: WANQING_SESSION_FILE, or the user's config folder."""
    configured = os.environ.get("WANQING_SESSION_FILE")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "wanqing" / "session.json"


def save_session(session: str, actor: Actor, expires_at: str) -> Path:
    path = session_file()
    write_private(path, json.dumps({"session": session, "actor": actor.model_dump(mode="json"),
                                    "expires_at": expires_at}, ensure_ascii=False).encode())
    return path


def load_session() -> SessionCredentials | None:
    try:
        raw = json.loads(session_file().read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if datetime.fromisoformat(raw["expires_at"]) <= datetime.now(UTC):
        return None
    return SessionCredentials(session=raw["session"], actor=Actor.model_validate(raw["actor"]))


def operator(data_dir: Path, district: str) -> OperatorCredentials | None:
    """The operator's way of acting, if this user can read the `ops` key of the platform in data_dir."""
    path = PlatformSecrets(data_dir / "secrets").signing_key(OPS)
    try:
        key = load_signing_key(path)
    except (FileNotFoundError, PermissionError):
        return None
    return OperatorCredentials(Signer(OPS, key), default_actor(district))


def credentials(settings: Settings) -> Credentials:
    """A logged-in person first, else the operator; AccessError when neither is possible."""
    person = load_session()
    if person is not None:
        return person
    ops = operator(settings.data_dir, settings.district)
    if ops is None:
        msg = (f"nobody is logged in and the operator's key under {settings.data_dir / 'secrets'} is not readable: "
               "run `wanqing login` (or run the command as the platform's operator)")
        raise AccessError(msg)
    return ops


def nats_options(data_dir: Path, principal: str) -> dict[str, Any]:
    """The NATS user of `principal` (its nkey seed and own inbox prefix), if the platform made one."""
    seed = data_dir / "secrets" / "nats" / f"{principal}.nk"
    if not seed.exists():
        return {}
    return {"nkeys_seed": str(seed), "inbox_prefix": subjects.inbox_prefix(principal)}


@dataclass(frozen=True)
class Access:
    """Where the platform's NATS is, as which NATS user, and whose credential the requests carry."""

    nats_url: str
    credentials: Credentials
    nats: dict[str, Any]


def of(settings: Settings, nats_url: str) -> Access:
    creds = credentials(settings)
    return Access(nats_url, creds, nats_options(settings.data_dir, creds.principal))


def operator_access(data_dir: Path, district: str, nats_url: str) -> Access:
    """The operator's access to the platform `wanqing up` runs from data_dir (the demo, benchmarks, tests)."""
    ops = operator(data_dir, district)
    if ops is None:
        msg = f"the operator's key under {data_dir / 'secrets'} is not readable"
        raise AccessError(msg)
    return Access(nats_url, ops, nats_options(data_dir, OPS))
