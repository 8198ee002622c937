"""What one agency receives of one event: pure, from the agency's policy alone (no lookup, no clock).

Only the policy's fields are copied, the revealed ones added with their legal basis, the person named by the
agency's pseudonym (or not at all, for counts). Everything else of the event is dropped here, so a field that is
not in the allow-list cannot leave (tests/feed/test_redaction.py generates events to show it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from contracts.base import Event
from contracts.feed import SUBJECT_ERASED, AgencyPolicy, FeedMessage

NAMESPACE = uuid.UUID("5e1f6a9c-3f1d-4b8e-9a57-0c2d7e4b9a11")  # message ids: one per (agency, event)
PERSON_ID = "retiree_id"


def message_id(agency: str, event_id: uuid.UUID) -> uuid.UUID:
    """Stable: a redelivered event gives the same id, and the agency's stream drops the repeat."""
    return uuid.uuid5(NAMESPACE, f"{agency}:{event_id}")


def agency_key(secret: bytes, agency: str) -> bytes:
    """The agency's own pseudonym key, from the feed's secret: pseudonyms of two agencies cannot be matched."""
    return hmac.new(secret, f"wanqing-agency-pseudonym-v1:{agency}".encode(), hashlib.sha256).digest()


def pseudonym(key: bytes, retiree_id: uuid.UUID) -> str:
    """A keyed hash of the archive id: the same person is the same subject for this agency, always; an archive
    id is never reused, so neither is a pseudonym.
    """
    digest = hmac.new(key, str(retiree_id).encode(), hashlib.sha256).digest()
    return "p" + base64.b32encode(digest[:20]).decode().lower().rstrip("=")


def person_of(event: Event) -> uuid.UUID | None:
    value = getattr(event, PERSON_ID, None)
    return value if isinstance(value, uuid.UUID) else None


def matches(agency: AgencyPolicy, event: Event) -> bool:
    """The agency has a rule for the type and the event passes its filter (an area, a category)."""
    rule = agency.events.get(event.type)
    if rule is None:
        return False
    data = event.model_dump(mode="json")
    return all(data.get(name) is not None and str(data[name]) == value for name, value in rule.where.items())


def redact(  # noqa: PLR0913 - the event and the envelope facts it needs
    agency: AgencyPolicy, event: Event, *, event_id: uuid.UUID, occurred_at: datetime, unit: str,
           subject: str | None, revealed: Mapping[str, Any]) -> FeedMessage | None:
    """The agency's message, or None when its policy gives it nothing of this event. `revealed`: what profiles
    disclosed for the rule's `reveal` fields (the caller asked with the legal basis as the purpose).
    """
    if not matches(agency, event):
        return None
    rule = agency.events[event.type]
    data = event.model_dump(mode="json")
    out: dict[str, Any] = {name: data.get(name) for name in rule.fields}
    for name in rule.reveal:
        out[name] = revealed.get(name)
    return FeedMessage(
        message_id=message_id(agency.id, event_id), agency=agency.id, type=event.type, occurred_at=occurred_at,
        unit=unit, subject=subject if agency.subject == "pseudonym" else None, data=out,
        legal_basis={str(k): v for k, v in rule.reveal.items()})


def erasure_notice(agency: AgencyPolicy, *, event_id: uuid.UUID, occurred_at: datetime, unit: str,
                   subject: str) -> FeedMessage | None:
    """`SubjectErased` for every agency that names people: erase what you hold of this subject (PIPL Art. 47)."""
    if agency.subject != "pseudonym":
        return None
    return FeedMessage(message_id=message_id(agency.id, event_id), agency=agency.id, type=SUBJECT_ERASED,
                       occurred_at=occurred_at, unit=unit, subject=subject,
                       data={"erased_at": occurred_at.isoformat()})
