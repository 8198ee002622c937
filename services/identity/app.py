"""Composition root of the identity service."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from nats.js import JetStreamContext

from backbone import rebuild as rebuilding
from backbone import service
from backbone.consumer import ConsumerSpec
from backbone.credentials import Signer
from backbone.db import Connection
from backbone.rebuild import RebuildReport
from backbone.service import Runtime, ServiceSpec
from contracts.identity import GetAccount, IssueLoginLetter, RevokeSessions, SetPassword, UnlockAccount
from services.identity import accounts
from services.identity.account import LoginPolicy
from services.identity.handlers import Handlers
from services.identity.letters import Letters
from services.identity.logins import Logins
from services.identity.passwords import Hashing
from services.identity.rebuild import PLAN
from services.identity.staff_feed import StaffFeed

NAME = "identity"
MIGRATIONS = Path(__file__).parent / "migrations"
PROFILES_CONSUMER = "identity-profiles"
CONSUMERS: tuple[str, ...] = (PROFILES_CONSUMER,)  # what NATS lets it do beyond its own subjects (nats_auth)
ASKS: tuple[str, ...] = ("profiles",)  # GetRetireeCards: a letter is issued only for a retiree of the actor's unit


def build(rt: Runtime) -> ServiceSpec:
    rt.recorder.project(accounts.PROJECTION)
    hashing = Hashing()
    handlers = Handlers(hashing)
    rt.router.command(SetPassword, handlers.set_password)
    rt.router.command(UnlockAccount, handlers.unlock)
    rt.router.command(RevokeSessions, handlers.revoke)
    rt.router.query(GetAccount, accounts.get_account)
    # identity's own key signs people's credentials, for the configured lifetime (50 s by default).
    signer = Signer(rt.signer.name, rt.signer.key, timedelta(seconds=rt.settings.credential_lifetime_s))
    logins = Logins(pool=rt.pool, recorder=rt.recorder, clock=rt.clock, signer=signer, hashing=hashing,
                    policy=LoginPolicy(), wake_relay=rt.wake_relay)
    feed = StaffFeed(rt.recorder)
    retirees = Letters(pool=rt.pool, recorder=rt.recorder, signer=signer, hashing=hashing, policy=LoginPolicy(),
                       asker=rt.asker, wake_relay=rt.wake_relay)
    rt.router.command(IssueLoginLetter, retirees.issue)
    return ServiceSpec(
        consumers=[ConsumerSpec(name=PROFILES_CONSUMER, routes=feed.routes + retirees.routes,
                                max_deliver=rt.settings.consumer_max_deliver, batch=rt.settings.consumer_batch)],
        open_requests={"Login": logins.login, "Refresh": logins.refresh, "Logout": logins.logout,
                       "ChangePassword": logins.change_password, "RetireeLogin": retirees.login})


def main() -> None:
    asyncio.run(service.run(NAME, MIGRATIONS, build))


async def rebuild(conn: Connection, js: JetStreamContext | None) -> RebuildReport:
    """Drop identity's read models and rebuild them from history (docs/audit-as-of.md)."""
    return await rebuilding.rebuild(conn, js, PLAN)


async def digests(conn: Connection) -> dict[str, Any]:
    """The sha256 of each of identity's read models."""
    return await rebuilding.digest(conn, PLAN)


async def check_rebuild(conn: Connection, js: JetStreamContext | None) -> dict[str, Any]:
    """Rebuild into a transaction that is rolled back, and compare its digests with the live ones."""
    return await rebuilding.check(conn, js, PLAN)
