"""Redaction (services/feed/redact.py) over generated events: for every agency of the real book and every type it
receives, whatever the event holds, the message carries exactly the rule's fields and the revealed ones, never
an internal id, a subject only for pseudonymous agencies, and the legal basis of exactly what was revealed.
"""

from __future__ import annotations

import types
import typing
import uuid
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import AwareDatetime
from pydantic.fields import FieldInfo

from contracts.base import Event
from contracts.feed import AgencyPolicy
from services.feed.app import event_types, load_book
from services.feed.redact import agency_key, matches, pseudonym, redact
from wanqing.agency_docs import message_model

BOOK = load_book()
KNOWN = event_types()
SECRET = b"\x07" * 32
RECEIVED = [(a.id, t) for a in BOOK.agencies for t in a.events]
# For each agency, the types of the book (and the erasure) it does not receive.
NOT_RECEIVED = [(a.id, t) for a in BOOK.agencies
                for t in sorted({t for b in BOOK.agencies for t in b.events} | {"PersonalDataErased"})
                if t not in a.events]
AGENCIES = {a.id: a for a in BOOK.agencies}
EXAMPLES = settings(max_examples=50, deadline=None)


def _constraint(info: FieldInfo, name: str) -> Any:
    for meta in info.metadata:
        value = getattr(meta, name, None)
        if value is not None:
            return value
    return None


def _text(info: FieldInfo) -> st.SearchStrategy[str]:
    low, high = _constraint(info, "min_length") or 0, _constraint(info, "max_length") or 40
    pattern = _constraint(info, "pattern")
    if pattern is not None:
        return st.from_regex(pattern, fullmatch=True).filter(lambda s: low <= len(s) <= high)
    return st.text(min_size=low, max_size=min(high, 40))


AWARE = st.datetimes(timezones=st.just(UTC))
SIMPLE: dict[Any, st.SearchStrategy[Any]] = {
    uuid.UUID: st.uuids(), bool: st.booleans(), int: st.integers(min_value=-(10**9), max_value=10**9),
    datetime: AWARE, AwareDatetime: AWARE, date: st.dates()}


def strategy(annotation: Any, info: FieldInfo) -> st.SearchStrategy[Any]:
    """Valid values of one field, from its annotation and its constraints (lengths, pattern)."""
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*[st.none() if a is type(None) else strategy(a, info) for a in args])
    if origin is typing.Literal:
        return st.sampled_from(args)
    if origin is typing.Annotated:
        return strategy(args[0], info)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return st.sampled_from(list(annotation))
    if annotation is str:
        return _text(info)
    if annotation in SIMPLE:
        return SIMPLE[annotation]
    raise NotImplementedError(f"no strategy for {annotation!r}")


def events_of(type_: str, where: dict[str, str] | None = None) -> st.SearchStrategy[Event]:
    """Random valid events of the type; a field an agency filters on gets its value half of the time."""
    model = KNOWN[type_][1]
    fields = {}
    for name, info in model.model_fields.items():
        if name in ("type", "schema_version"):
            continue
        values = strategy(info.annotation, info)
        if where and name in where:
            values = st.one_of(st.just(where[name]), values)
        fields[name] = values
    return st.builds(model, **fields)


def revealed_values(agency: AgencyPolicy, type_: str) -> st.SearchStrategy[dict[str, str | None]]:
    names = list(agency.events[type_].reveal)
    return st.fixed_dictionaries({n: st.one_of(st.none(), st.text(max_size=20)) for n in names})


def internal_ids(event: Event) -> list[str]:
    return [str(v) for v in event.model_dump().values() if isinstance(v, uuid.UUID)]


def _redact(agency: AgencyPolicy, event: Event, revealed: dict[str, Any], event_id: uuid.UUID,
            occurred_at: datetime) -> tuple[Any, str | None]:
    person = getattr(event, "retiree_id", None)
    subject = pseudonym(agency_key(SECRET, agency.id), person) if isinstance(person, uuid.UUID) else None
    message = redact(agency, event, event_id=event_id, occurred_at=occurred_at, unit="U1", subject=subject,
                     revealed=revealed)
    return message, subject


@pytest.mark.parametrize(("agency_id", "type_"), RECEIVED)
@EXAMPLES
@given(data=st.data(), event_id=st.uuids(), occurred_at=AWARE)
def test_message_holds_exactly_the_rule(agency_id: str, type_: str, data: st.DataObject, event_id: uuid.UUID,
                                        occurred_at: datetime) -> None:
    agency = AGENCIES[agency_id]
    rule = agency.events[type_]
    event = data.draw(events_of(type_, rule.where), label="event")
    revealed = data.draw(revealed_values(agency, type_), label="revealed")
    message, subject = _redact(agency, event, revealed, event_id, occurred_at)

    passes = all(str(event.model_dump(mode="json")[k]) == v for k, v in rule.where.items())
    assert matches(agency, event) is passes
    if not passes:
        assert message is None  # `where` drops what is not the agency's (another community)
        return
    assert message is not None
    assert set(message.data) == set(rule.fields) | set(rule.reveal)
    assert {k: message.data[k] for k in rule.reveal} == revealed
    assert message.legal_basis == dict(rule.reveal)
    assert message.agency == agency_id and message.type == type_
    if agency.subject == "none":
        assert message.subject is None
    else:
        assert message.subject == subject
    wire = message.model_dump_json()
    for internal in internal_ids(event):
        assert internal not in wire
    # and it is what the agency's published schema (docs/agencies/generated) says, nothing else
    message_model(agency, type_, rule, KNOWN[type_][1]).model_validate_json(wire)


@pytest.mark.parametrize(("agency_id", "type_"), NOT_RECEIVED)
@settings(max_examples=10, deadline=None)
@given(data=st.data(), event_id=st.uuids())
def test_types_the_agency_does_not_receive_give_nothing(agency_id: str, type_: str, data: st.DataObject,
                                                        event_id: uuid.UUID) -> None:
    agency = AGENCIES[agency_id]
    event = data.draw(events_of(type_), label="event")
    assert not matches(agency, event)
    assert _redact(agency, event, {"name": "张三", "id_number": "110101195001011234"}, event_id,
                   datetime(2025, 1, 1, tzinfo=UTC))[0] is None


@EXAMPLES
@given(event=events_of("CommunityRegistered"), event_id=st.uuids())
def test_where_drops_other_communities(event: Event, event_id: uuid.UUID) -> None:
    agency = AGENCIES["community-xingfu"]
    message, _ = _redact(agency, event, {"name": "李四"}, event_id, datetime(2025, 1, 1, tzinfo=UTC))
    assert (message is not None) is (event.model_dump()["community"] == "幸福里社区")


@EXAMPLES
@given(retiree=st.uuids(), secret=st.binary(min_size=16, max_size=64),
       pair=st.permutations(sorted(AGENCIES)).map(lambda ids: ids[:2]))
def test_pseudonyms_differ_between_agencies_and_are_stable(retiree: uuid.UUID, secret: bytes,
                                                            pair: list[str]) -> None:
    first, second = (pseudonym(agency_key(secret, a), retiree) for a in pair)
    assert first != second
    assert first == pseudonym(agency_key(secret, pair[0]), retiree)
    assert str(retiree) not in first and retiree.hex not in first
