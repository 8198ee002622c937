"""Facts sealed for the services that decide with them (backbone/facts.py): what profiles records, care opens
with the key the event carries; a reader without it sees None; an erased key is never brought back by an event.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import asyncpg
import pytest

from backbone.crypto import (
    SHARED_KEY_PREFIX,
    Keyring,
    UndecryptableValue,
    facts_holder,
    new_master_key,
    parse_master_key,
)
from backbone.envelope import canonical, envelope_dict, parse
from backbone.events import decode
from backbone.facts import FACTS_KEY_FIELD, open_facts
from backbone.recording import seal
from contracts.base import SYSTEM_ACTOR, Envelope, Event
from contracts.profiles import MemberHospitalized, RetireeRegistered, RetireeStatus, Severity, Sex
from tests.backbone.helpers import make_store

MASTER = parse_master_key(new_master_key())


def registered(rid: uuid.UUID) -> RetireeRegistered:
    return RetireeRegistered(retiree_id=rid, name="张三", sex=Sex.MALE, birth_date=date(1951, 7, 23), unit="U0001",
                             category=None, status=RetireeStatus.RETIRED, retirement_date=None,
                             id_number="110105195107233716", phone=None, address=None)


async def as_envelope(conn: asyncpg.Connection, ring: Keyring, event: RetireeRegistered | MemberHospitalized,
                      ) -> tuple[Envelope, Event]:
    """The event as profiles stores and publishes it, and the model its own projections get."""
    now = datetime.now(UTC)
    projected, new = await seal(conn, ring, event, "U0001", now)
    env = envelope_dict(event_id=uuid.uuid4(), type_=new.type, schema_version=1,
                        stream_id=f"retiree-{event.retiree_id}", version=1, unit="U0001", occurred_at=now,
                        recorded_at=now, correlation_id=uuid.uuid4(), causation_id=None, actor=SYSTEM_ACTOR,
                        data=new.data)
    return parse(canonical(env)), projected


@pytest.fixture
async def rings(pool: asyncpg.Pool, schema: str) -> tuple[Keyring, Keyring]:
    """Profiles' keyring and care's, in two schemas, under the same master key (one key folder)."""
    await make_store(pool, schema)
    await make_store(pool, f"{schema}_care")
    return Keyring(schema, MASTER), Keyring(f"{schema}_care", MASTER)


async def test_care_opens_what_profiles_sealed_and_others_see_none(pool: asyncpg.Pool,
                                                                   rings: tuple[Keyring, Keyring]) -> None:
    profiles, care = rings
    rid = uuid.uuid4()
    async with pool.acquire() as conn:
        env, projected = await as_envelope(conn, profiles, registered(rid))
        raw = canonical(env.data)
        assert b"1951-07-23" not in raw and b'"sex":"male"' not in raw
        assert str(env.data[FACTS_KEY_FIELD]).startswith(SHARED_KEY_PREFIX)
        assert isinstance(projected, RetireeRegistered)
        assert projected.birth_date == date(1951, 7, 23)  # profiles' own projections get the facts open
        # Ceremony, notify: no key, so the facts read as unknown (and the event still decodes).
        blind = decode(env, "profiles")
        assert isinstance(blind, RetireeRegistered)
        assert (blind.birth_date, blind.sex) == (None, None)
        # Care adopts the key the event carries and opens the facts.
        opened = decode(await open_facts(conn, care, env, "profiles"), "profiles")
        assert isinstance(opened, RetireeRegistered)
        assert (opened.birth_date, opened.sex) == (date(1951, 7, 23), Sex.MALE)
        kept = await conn.fetchval(f"SELECT count(*) FROM {care.schema}.person_keys WHERE person_id = $1",
                                   facts_holder(str(rid)))
        assert kept == 1
        # The facts key opens only the facts: profiles' own sealed name stays closed to care.
        with pytest.raises(UndecryptableValue):
            await care.open(conn, facts_holder(str(rid)), "name", str(env.data["name"]))


async def test_after_erasure_no_event_brings_the_key_back(pool: asyncpg.Pool, rings: tuple[Keyring, Keyring]) -> None:
    profiles, care = rings
    rid, never_seen = uuid.uuid4(), uuid.uuid4()
    async with pool.acquire() as conn:
        env, _ = await as_envelope(conn, profiles, registered(rid))
        hospitalised = MemberHospitalized(retiree_id=rid, unit="U0001", admitted_on=date(2026, 11, 2),
                                          severity=Severity.SERIOUS, hospital="医院")
        later, _ = await as_envelope(conn, profiles, hospitalised)
        await open_facts(conn, care, env, "profiles")
        assert await care.erase(conn, str(rid)) is False  # care had no key of its own for the person...
        for replayed in (env, later):  # ...and after the erasure a replay opens nothing
            event = decode(await open_facts(conn, care, replayed, "profiles"), "profiles")
            assert event is not None
            assert getattr(event, "birth_date", None) is None and getattr(event, "admitted_on", None) is None
        # A person care never saw: the erasure leaves a tombstone, so their old events cannot plant a key.
        other, _ = await as_envelope(conn, profiles, registered(never_seen))
        await care.erase(conn, str(never_seen))
        event = decode(await open_facts(conn, care, other, "profiles"), "profiles")
        assert isinstance(event, RetireeRegistered) and event.birth_date is None
        live = await conn.fetchval(f"SELECT count(*) FROM {care.schema}.person_keys WHERE wrapped_key IS NOT NULL")
        assert live == 0
        # Profiles' erasure destroys the facts key with the person's key.
        assert await profiles.erase(conn, str(rid)) is True
        rows = await conn.fetch(f"SELECT person_id FROM {profiles.schema}.person_keys "
                                "WHERE person_id = ANY($1::text[]) AND wrapped_key IS NOT NULL",
                                [str(rid), facts_holder(str(rid))])
        assert rows == []


async def test_a_shared_key_from_another_master_key_is_refused(pool: asyncpg.Pool,
                                                               rings: tuple[Keyring, Keyring]) -> None:
    profiles, _ = rings
    stranger = Keyring(profiles.schema.replace("s_", "x_"), parse_master_key(new_master_key()))
    await make_store(pool, stranger.schema)
    async with pool.acquire() as conn:
        env, _ = await as_envelope(conn, profiles, registered(uuid.uuid4()))
        with pytest.raises(UndecryptableValue):
            await open_facts(conn, stranger, env, "profiles")
