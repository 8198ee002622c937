"""Composition root of the feed service: the agencies' redacted feeds (docs/agencies.md)."""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path
from typing import Any

from backbone import service
from backbone.agencies import EnabledAgencies
from backbone.consumer import ConsumerSpec
from backbone.db import Connection
from backbone.service import Runtime, ServiceSpec
from contracts import subjects
from contracts.errors import forbidden
from contracts.feed import GetFeedStatus
from services.feed.dispatch import Dispatch
from services.feed.handover import Handover
from services.feed.policy import DEFAULT_BOOK, event_types, load_book

__all__ = ["ASKS", "CONSUMERS", "DEFAULT_BOOK", "EVENTS_CONSUMER", "MIGRATIONS", "NAME", "PSEUDONYM_SECRET",
           "PUBLISHES", "build", "event_types", "load_book", "main", "pseudonym_secret"]

NAME = "feed"
MIGRATIONS = Path(__file__).parent / "migrations"
EVENTS_CONSUMER = "feed-events"
CONSUMERS: tuple[str, ...] = (EVENTS_CONSUMER,)  # what NATS lets it do beyond its own subjects (nats_auth)
ASKS: tuple[str, ...] = ("profiles",)  # GetRetiree, for what an agency's policy reveals with a legal basis
# Only the feed hands messages to agencies, and asks each agency's account for its client's consumer state.
PUBLISHES: tuple[str, ...] = (subjects.ALL_AGENCY_FEEDS, subjects.ALL_AGENCY_CONSUMER_INFO)
PSEUDONYM_SECRET = Path("secrets") / "feed-pseudonyms.key"


def pseudonym_secret(data_dir: Path) -> bytes:
    """The secret every agency's pseudonym key is derived from: made once (owner-only), kept with the secrets.
    Lost, every agency's pseudonyms change; never give it to an agency.
    """
    path = data_dir / PSEUDONYM_SECRET
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(secrets.token_bytes(32))
    return path.read_bytes()


def build(rt: Runtime, book_path: Path = DEFAULT_BOOK) -> ServiceSpec:
    book = load_book(book_path)
    data_dir = Path(rt.settings.data_dir).resolve()
    enabled = EnabledAgencies(data_dir)
    dispatch = Dispatch(book, enabled, pseudonym_secret(data_dir), rt.asker)
    handover = Handover(rt.pool, book, enabled)

    async def feed_status(_conn: Connection, q: GetFeedStatus, _now: Any) -> list[dict[str, Any]]:
        if not q.actor.oversees_all:
            raise forbidden("only the district office sees the agencies' feeds",
                            zh="只有区老干部局可以查看对外报送情况")
        return await handover.status(rt.nc)

    async def health() -> dict[str, Any]:
        return {"agencies": await handover.status(rt.nc), "feed_handed_over": handover.handed}

    rt.router.query(GetFeedStatus, feed_status)
    return ServiceSpec(
        consumers=[ConsumerSpec(name=EVENTS_CONSUMER, routes=dispatch.routes,
                                max_deliver=rt.settings.consumer_max_deliver, batch=rt.settings.consumer_batch)],
        workers=[handover.run], health=health)


def main() -> None:
    asyncio.run(service.run(NAME, MIGRATIONS, build))
