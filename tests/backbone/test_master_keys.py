"""Versioned master keys: the key folder, migration of a single master.key, rotation, re-wrapping, destruction."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from backbone.crypto import KeyErased, Keyring, new_master_key, parse_master_key
from backbone.key_upkeep import KeyUpkeep
from backbone.master_keys import MasterKeys
from tests.backbone.helpers import make_store

PHONE = "13912345678"
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
OWNER_ONLY_DIR, OWNER_ONLY_FILE = 0o700, 0o600


def folder(tmp_path: Path, window: timedelta = timedelta(0)) -> MasterKeys:
    return MasterKeys(tmp_path / "data.keys", window).ensure()


class TestKeyFolder:
    def test_a_new_folder_is_owner_only_with_version_1(self, tmp_path: Path) -> None:
        keys = folder(tmp_path)
        assert keys.current() == 1
        assert keys.folder.stat().st_mode & 0o777 == OWNER_ONLY_DIR
        assert (keys.folder / "master-1.key").stat().st_mode & 0o777 == OWNER_ONLY_FILE

    def test_a_single_master_key_becomes_version_1_and_keeps_its_indexes(self, tmp_path: Path) -> None:
        b64 = new_master_key()
        legacy = tmp_path / "master.key"
        legacy.write_text(b64 + "\n")
        keys = MasterKeys(tmp_path / "k").ensure(legacy_file=legacy)
        assert keys.versions() == {1: parse_master_key(b64)}
        old, new = Keyring("s", parse_master_key(b64)), Keyring("s", keys)
        assert new.blind_index("110101195803141234") == old.blind_index("110101195803141234")
        assert new.derive_key(b"wanqing search index v1") == old.derive_key(b"wanqing search index v1")
        assert new.derive_key(b"x") != parse_master_key(b64)  # nothing derived is the master key

    def test_rotation_schedules_older_versions_for_the_end_of_the_window(self, tmp_path: Path) -> None:
        keys = folder(tmp_path, timedelta(days=30))
        version, expires = keys.rotate(NOW)
        assert (version, expires) == (2, NOW + timedelta(days=30))
        assert keys.retirements() == {1: NOW + timedelta(days=30)}
        assert keys.destroy_due(NOW + timedelta(days=29)) == []  # inside the window: a backup may need it
        assert keys.destroy_due(NOW + timedelta(days=30)) == [1]
        assert keys.versions().keys() == {2}
        assert not (keys.folder / "master-1.key").exists()

    def test_a_version_still_used_by_a_service_is_not_destroyed(self, tmp_path: Path) -> None:
        keys = folder(tmp_path)
        keys.rotate(NOW)
        keys.record_use("care", {1, 2})
        assert keys.destroy_due(NOW) == []
        keys.record_use("care", {2})
        assert keys.destroy_due(NOW) == [1]

    def test_the_current_version_is_never_destroyed(self, tmp_path: Path) -> None:
        keys = folder(tmp_path)
        assert keys.destroy_due(NOW + timedelta(days=999)) == []
        assert keys.current() == 1


class TestRotation:
    async def test_live_keys_are_rewrapped_and_an_old_wrap_cannot_be_opened(
        self, pool: asyncpg.Pool, schema: str, tmp_path: Path,
    ) -> None:
        await make_store(pool, schema)
        keys = folder(tmp_path)
        ring = Keyring(schema, keys)
        async with pool.acquire() as conn:
            kept = await ring.seal(conn, "kept", "phone", PHONE)
            gone = await ring.seal(conn, "gone", "phone", PHONE)
            # What a dump taken now holds: both wrapped keys, by version 1.
            dump = {r["person_id"]: bytes(r["wrapped_key"]) for r in
                    await conn.fetch(f"SELECT person_id, wrapped_key FROM {schema}.person_keys")}
            await ring.erase(conn, "gone")
            expires = ring.rotate(NOW)
            assert expires == NOW
        assert await KeyUpkeep(pool, ring).run_once() == [1]  # re-wrapped, vacuumed, version 1 destroyed
        async with pool.acquire() as conn:
            version = await conn.fetchval(f"SELECT key_version FROM {schema}.person_keys WHERE person_id = 'kept'")
            assert version == 2  # noqa: PLR2004
            fresh = Keyring(schema, keys)  # a new process: nothing cached
            assert await fresh.open(conn, "kept", "phone", kept) == PHONE
            with pytest.raises(KeyErased):
                await fresh.open(conn, "gone", "phone", gone)
        # Every version still on disk fails to unwrap the erased person's key from the old dump.
        for master in keys.versions().values():
            wrapped = dump["gone"]
            with pytest.raises(Exception):  # noqa: B017, PT011 - cryptography's InvalidTag
                AESGCM(master).decrypt(wrapped[:12], wrapped[12:], b"gone")

    async def test_a_key_wrapped_by_a_destroyed_version_reads_as_erased(
        self, pool: asyncpg.Pool, schema: str, tmp_path: Path,
    ) -> None:
        await make_store(pool, schema)
        keys = folder(tmp_path)
        ring = Keyring(schema, keys)
        async with pool.acquire() as conn:
            sealed = await ring.seal(conn, "p", "phone", PHONE)
        keys.rotate(NOW)
        keys.destroy_due(NOW)  # no service recorded its use: nothing stops it (the upkeep records use first)
        async with pool.acquire() as conn:
            with pytest.raises(KeyErased):
                await Keyring(schema, keys).open(conn, "p", "phone", sealed)

    def test_the_derivation_secret_survives_rotations(self, tmp_path: Path) -> None:
        keys = folder(tmp_path)
        before = Keyring("s", keys).derive_key(b"purpose")
        keys.rotate(NOW)
        keys.destroy_due(NOW)
        assert Keyring("s", keys).derive_key(b"purpose") == before
        doc = json.loads((keys.folder / "derived.json").read_text())
        assert base64.b64decode(doc["root"]) not in keys.versions().values()
