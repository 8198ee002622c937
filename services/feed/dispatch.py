"""The feed's consumer: for each platform event, the message of every enabled agency whose policy takes it,
queued in the outbox in the same transaction as the consumer's inbox row (nothing queued twice, nothing lost).

Personal data an agency may have (`reveal`, each field with its legal basis) is asked of profiles at this
moment, as the feed, with the agency and the legal basis as the purpose: every disclosure is in profiles'
read-access log. If profiles does not answer, the event is retried later (the consumer's backoff).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import structlog

from backbone.asking import Asker, PeerUnavailable
from backbone.db import Connection
from backbone.events import EventMeta, Routes
from contracts.base import Event, Refused
from contracts.feed import AgencyBook, AgencyPolicy, FeedMessage, feed_subject
from contracts.profiles import PersonalDataErased
from services.feed.policy import routed_types
from services.feed.redact import agency_key, erasure_notice, person_of, pseudonym, redact

log = structlog.get_logger()

PROFILES_REVEALS = ("id_number", "phone", "address")  # GetRetiree's `reveal`; name, sex, birth date come anyway
MAX_PURPOSE = 200


class DisclosureUnavailableError(RuntimeError):
    """Profiles did not disclose what an agency's policy names: the event is retried."""


async def enqueue(conn: Connection, message: FeedMessage) -> None:
    await conn.execute(
        "INSERT INTO feed.outbox (agency, message_id, subject, payload) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (message_id) DO NOTHING",
        message.agency, message.message_id, feed_subject(message.agency, message.type),
        message.model_dump_json().encode())


class Dispatch:
    def __init__(self, book: AgencyBook, enabled: Callable[[], frozenset[str]], secret: bytes, asker: Asker,
                 ) -> None:
        self._book = book
        self._enabled = enabled
        self._keys = {a.id: agency_key(secret, a.id) for a in book.agencies}
        self._asker = asker

    @property
    def routes(self) -> Routes:
        return Routes.of(dict.fromkeys(routed_types(self._book).values(), self.on_event))

    async def on_event(self, conn: Connection, event: Event, meta: EventMeta) -> None:
        enabled = self._enabled()
        agencies = [a for a in self._book.agencies if a.id in enabled]
        person = person_of(event)
        if isinstance(event, PersonalDataErased):
            await self._erased(conn, agencies, event.retiree_id, meta)
            return
        for agency in agencies:
            rule = agency.events.get(event.type)
            if rule is None:
                continue
            if rule.known_only and (person is None or not await _knows(conn, agency.id, person)):
                continue
            revealed = await self._reveal(agency, event, person) if rule.reveal else {}
            subject = pseudonym(self._keys[agency.id], person) if person is not None else None
            message = redact(agency, event, event_id=meta.event_id, occurred_at=meta.occurred_at, unit=meta.unit,
                             subject=subject, revealed=revealed)
            if message is None:
                continue
            await enqueue(conn, message)
            if person is not None and agency.subject == "pseudonym":
                await conn.execute("INSERT INTO feed.known_subjects (agency, retiree_id) VALUES ($1, $2) "
                                   "ON CONFLICT DO NOTHING", agency.id, person)

    async def _erased(self, conn: Connection, agencies: list[AgencyPolicy], person: UUID, meta: EventMeta) -> None:
        """Every agency that names people is told to erase the subject; the feed forgets whom it told."""
        for agency in agencies:
            notice = erasure_notice(agency, event_id=meta.event_id, occurred_at=meta.occurred_at, unit=meta.unit,
                                    subject=pseudonym(self._keys[agency.id], person))
            if notice is not None:
                await enqueue(conn, notice)
        await conn.execute("DELETE FROM feed.known_subjects WHERE retiree_id = $1", person)

    async def _reveal(self, agency: AgencyPolicy, event: Event, person: UUID | None) -> dict[str, Any]:
        rule = agency.events[event.type]
        if person is None:
            return {}
        basis = "；".join(dict.fromkeys(rule.reveal.values()))
        purpose = f"向{agency.short}报送{event.type}：{basis}"[:MAX_PURPOSE]
        body = {"retiree_id": str(person), "purpose": purpose,
                "reveal": [f for f in rule.reveal if f in PROFILES_REVEALS]}
        try:
            reply = await self._asker.query("profiles", "GetRetiree", body)
        except PeerUnavailable as exc:
            raise DisclosureUnavailableError(f"profiles did not answer for {agency.id}: {exc}") from exc
        if isinstance(reply, Refused):
            msg = f"profiles refused the disclosure to {agency.id}: {reply.developer_message}"
            raise DisclosureUnavailableError(msg)
        card = reply.data
        if card.get("erased"):
            return dict.fromkeys(rule.reveal)
        return {f: card.get(f) for f in rule.reveal}


async def _knows(conn: Connection, agency: str, person: UUID) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM feed.known_subjects WHERE agency = $1 AND retiree_id = $2",
                                    agency, person))
