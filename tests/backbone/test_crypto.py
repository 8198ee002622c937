"""Per-person encryption: round trip, crypto-shredding, and no plaintext at rest in Postgres or JetStream."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar, Literal

import asyncpg
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from backbone.chain import verify
from backbone.crypto import KeyErased, Keyring, UndecryptableValue, is_sealed, new_master_key, parse_master_key
from backbone.recording import to_new_event
from backbone.relay import Relay
from contracts.base import Event
from tests.backbone.helpers import make_store, meta
from wanqing.embedded import EmbeddedNats

PHONE = "13912345678"
ADDRESS = "幸福路88号3单元"


class ContactRecorded(Event):
    type: Literal["ContactRecorded"] = "ContactRecorded"
    SENSITIVE: ClassVar[tuple[str, ...]] = ("phone", "address")
    PERSON_FIELD: ClassVar[str | None] = "retiree_id"
    retiree_id: uuid.UUID
    phone: str
    address: str
    living_alone: bool


def keyring(schema: str, master: bytes | None = None) -> Keyring:
    return Keyring(schema, master or parse_master_key(new_master_key()))


class TestKeyring:
    async def test_round_trip(self, pool: asyncpg.Pool, schema: str) -> None:
        await make_store(pool, schema)
        ring = keyring(schema)
        async with pool.acquire() as conn:
            sealed = await ring.seal(conn, "p1", "phone", PHONE)
            assert is_sealed(sealed)
            assert PHONE not in sealed
            assert await ring.open(conn, "p1", "phone", sealed) == PHONE

    async def test_a_value_cannot_be_opened_as_another_field_or_person(self, pool: asyncpg.Pool, schema: str) -> None:
        await make_store(pool, schema)
        ring = keyring(schema)
        async with pool.acquire() as conn:
            sealed = await ring.seal(conn, "p1", "phone", PHONE)
            with pytest.raises(UndecryptableValue):
                await ring.open(conn, "p1", "address", sealed)
            await ring.seal(conn, "p2", "phone", "x")
            with pytest.raises(UndecryptableValue):
                await ring.open(conn, "p2", "phone", sealed)

    async def test_after_erasure_the_value_cannot_be_decrypted(self, pool: asyncpg.Pool, schema: str) -> None:
        await make_store(pool, schema)
        master = parse_master_key(new_master_key())
        ring = keyring(schema, master)
        async with pool.acquire() as conn:
            sealed = await ring.seal(conn, "p1", "phone", PHONE)
            assert await ring.erase(conn, "p1")
            with pytest.raises(KeyErased):
                await ring.open(conn, "p1", "phone", sealed)
            # A fresh process (empty cache) cannot either: the key is gone from the table.
            fresh = keyring(schema, master)
            with pytest.raises(KeyErased):
                await fresh.open(conn, "p1", "phone", sealed)
            assert await conn.fetchval(f"SELECT wrapped_key FROM {schema}.person_keys WHERE person_id='p1'") is None
            with pytest.raises(KeyErased):
                await ring.seal(conn, "p1", "phone", PHONE)  # nothing new is sealed for an erased person

    async def test_the_wrong_master_key_cannot_unwrap(self, pool: asyncpg.Pool, schema: str) -> None:
        await make_store(pool, schema)
        ring = keyring(schema)
        async with pool.acquire() as conn:
            sealed = await ring.seal(conn, "p1", "phone", PHONE)
            with pytest.raises(Exception):  # noqa: B017, PT011 - cryptography's InvalidTag
                await keyring(schema).open(conn, "p1", "phone", sealed)

    def test_a_derived_key_is_fixed_by_the_master_key_and_the_label(self, schema: str) -> None:
        master = parse_master_key(new_master_key())
        key = keyring(schema, master).derive_key(b"wanqing search index v1")
        assert len(key) == 32  # noqa: PLR2004
        assert keyring(schema, master).derive_key(b"wanqing search index v1") == key  # the next start's
        assert keyring(schema, master).derive_key(b"another purpose") != key
        assert keyring(schema).derive_key(b"wanqing search index v1") != key  # another master key
        assert key != master

    async def test_preload_unwraps_many_keys_at_once_and_leaves_erased_ones_out(
        self, pool: asyncpg.Pool, schema: str,
    ) -> None:
        await make_store(pool, schema)
        master = parse_master_key(new_master_key())
        ring = keyring(schema, master)
        async with pool.acquire() as conn:
            sealed = {p: await ring.seal(conn, p, "phone", PHONE) for p in ("p1", "p2", "p3")}
            assert await ring.erase(conn, "p3")
            fresh = keyring(schema, master)
            await fresh.preload(conn, ["p1", "p2", "p3", "unknown"])
            await conn.execute(f"UPDATE {schema}.person_keys SET wrapped_key = NULL WHERE person_id = 'p1'")
            assert await fresh.open(conn, "p1", "phone", sealed["p1"]) == PHONE  # from the preloaded cache
            assert await fresh.open(conn, "p2", "phone", sealed["p2"]) == PHONE
            with pytest.raises(KeyErased):
                await fresh.open(conn, "p3", "phone", sealed["p3"])


class TestNoPlaintextAtRest:
    async def test_sensitive_values_are_ciphertext_in_the_table_and_the_jetstream_store(  # noqa: PLR0913
        self, pool: asyncpg.Pool, schema: str, js: JetStreamContext, nc: Client, nats_server: EmbeddedNats,
        database_url: str, tmp_path: Path,
    ) -> None:
        store = await make_store(pool, schema)
        ring = keyring(schema)
        rid = uuid.uuid4()
        event = ContactRecorded(retiree_id=rid, phone=PHONE, address=ADDRESS, living_alone=True)
        async with pool.acquire() as conn:
            pending = await to_new_event(conn, ring, event, "U0001", datetime.now(UTC))
            await store.append(conn, f"retiree-{rid}", 0, [pending], meta())
            raw_rows = await conn.fetch(
                f"SELECT envelope::text AS t, convert_from(envelope,'UTF8') AS j FROM {schema}.events"
            )
        table_bytes = "".join(r["t"] + r["j"] for r in raw_rows)
        assert PHONE not in table_bytes
        assert ADDRESS not in table_bytes
        assert json.loads(raw_rows[0]["j"])["data"]["living_alone"] is True  # not sensitive: stays readable

        relay = Relay(dsn=database_url, store=store, service="profiles", nc=nc)
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        while relay.published < 1:
            await asyncio.sleep(0.02)
        stop.set()
        await task
        stored = b"".join(p.read_bytes() for p in (nats_server.data_dir / "jetstream").rglob("*") if p.is_file())
        assert b"living_alone" in stored  # the event really is in the JetStream store files
        assert PHONE.encode() not in stored
        assert ADDRESS.encode() not in stored

        async with pool.acquire() as conn:
            data = (await store.load(conn, f"retiree-{rid}"))[0].data
            assert json.loads(await ring.open(conn, str(rid), "phone", data["phone"])) == PHONE
            await ring.erase(conn, str(rid))
            with pytest.raises(KeyErased):
                await ring.open(conn, str(rid), "phone", data["phone"])
            assert (await verify(conn, schema)).ok  # erasure leaves the history verifiable
