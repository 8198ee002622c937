"""Per-person field encryption (§10): one AES-256-GCM data key per retiree, wrapped by the master key.

Erasure destroys the wrapped key (crypto-shredding), while the hash chain over the ciphertext still verifies. A
destroyed row is not destroyed bytes (dead tuples, WAL, dumps keep the wrapped key): the master key is versioned
(backbone/master_keys.py), each wrapped key records its version, and an erasure rotates the master key, so every
older copy of the erased person's key is wrapped by a version that is destroyed once the backup window passes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from backbone.db import Connection, quote_ident

if TYPE_CHECKING:
    from backbone.master_keys import MasterKeys

PREFIX = "wqenc:v1:"
SHARED_KEY_PREFIX = "wqkey:v1:"  # a data key handed to another service: wqkey:v1:<master version>:<base64>
ERASED = "[已删除]"  # what a reader sees in place of an erased person's field


class KeyErased(Exception):  # noqa: N818 - named after the state, not the failure
    """The person's key was destroyed: their sealed data can no longer be read."""


class UndecryptableValue(Exception):  # noqa: N818
    """A sealed value does not open with the person's key (tampered, or sealed for someone else)."""


def parse_master_key(b64: str) -> bytes:
    key = base64.b64decode(b64, validate=True)
    if len(key) != 32:  # noqa: PLR2004 - AES-256
        msg = "WANQING_MASTER_KEY must be base64 of exactly 32 bytes"
        raise ValueError(msg)
    return key


def new_master_key() -> str:
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


class Keyring:
    """Data keys of one service's persons; unwrapped keys are cached (bounded) for bulk work."""

    def __init__(self, schema: str, master_key: bytes | MasterKeys, cache_size: int = 10_000) -> None:
        from backbone.master_keys import Derivation  # noqa: PLC0415 - master_keys imports this module

        self._t = f"{quote_ident(schema)}.person_keys"
        self.schema = schema
        self._source: MasterKeys | None = None
        if isinstance(master_key, bytes):  # one unversioned key (tests, a platform configured the old way)
            self._versions = {1: AESGCM(master_key)}
            derivation = Derivation.legacy(master_key)
        else:
            self._source = master_key
            self._versions = {}
            self.refresh()
            derivation = master_key.derivation()
        self._derivation = derivation
        # A separate key for blind indexes (find a person by ID number without storing the number).
        self._index_key = derivation.blind_index_key()
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._cache_size = cache_size
        self.erased_since_vacuum = False  # set by `erase`: the key table is vacuumed after it (backbone/key_upkeep)

    @property
    def master_keys(self) -> MasterKeys | None:
        return self._source

    @property
    def current_version(self) -> int:
        return max(self._versions)

    def refresh(self) -> None:
        """Read the key folder again (another process may have rotated or destroyed a version)."""
        if self._source is not None:
            self._versions = {v: AESGCM(k) for v, k in self._source.versions().items()}
            if not self._versions:
                msg = f"no master key in {self._source.folder}"
                raise SystemExit(msg)

    def _remember(self, person_id: str, key: bytes) -> None:
        self._cache[person_id] = key
        self._cache.move_to_end(person_id)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def _wrap(self, person_id: str, key: bytes) -> bytes:
        """Wrapped by the current version (`current_version`, recorded next to it)."""
        nonce = os.urandom(12)
        return nonce + self._versions[self.current_version].encrypt(nonce, key, person_id.encode())

    def _unwrap(self, person_id: str, wrapped: bytes, version: int) -> bytes:
        master = self._versions.get(version)
        if master is None:
            self.refresh()
            master = self._versions.get(version)
        if master is None:  # the version was destroyed: the key it wrapped is gone with it
            raise KeyErased(person_id)
        return master.decrypt(wrapped[:12], wrapped[12:], person_id.encode())

    async def key_for(self, conn: Connection, person_id: str, *, create: bool) -> bytes:
        cached = self._cache.get(person_id)
        if cached is not None:
            return cached
        row = await conn.fetchrow(f"SELECT wrapped_key, key_version FROM {self._t} WHERE person_id = $1", person_id)
        if row is not None:
            if row["wrapped_key"] is None:
                raise KeyErased(person_id)
            key = self._unwrap(person_id, bytes(row["wrapped_key"]), row["key_version"])
        elif create:
            key = AESGCM.generate_key(bit_length=256)
            self.refresh()
            inserted = await conn.fetchval(
                f"INSERT INTO {self._t} (person_id, wrapped_key, key_version) VALUES ($1, $2, $3) "
                "ON CONFLICT (person_id) DO NOTHING RETURNING person_id",
                person_id, self._wrap(person_id, key), self.current_version,
            )
            if inserted is None:  # created concurrently: use theirs
                return await self.key_for(conn, person_id, create=False)
        else:
            raise KeyErased(person_id)
        self._remember(person_id, key)
        return key

    async def preload(self, conn: Connection, person_ids: Iterable[str]) -> None:
        """Unwrap many persons' keys with one statement (a batch read: cards, a backfill); persons without a
        live key are left out, and `open` then raises KeyErased for them as usual.
        """
        wanted = [p for p in dict.fromkeys(person_ids) if p not in self._cache]
        if not wanted:
            return
        rows = await conn.fetch(f"SELECT person_id, wrapped_key, key_version FROM {self._t} "
                                "WHERE person_id = ANY($1::text[]) AND wrapped_key IS NOT NULL", wanted)
        for r in rows:
            try:
                self._remember(r["person_id"], self._unwrap(r["person_id"], bytes(r["wrapped_key"]), r["key_version"]))
            except KeyErased:
                continue

    async def create_keys(self, conn: Connection, person_ids: list[str]) -> None:
        """Bulk key creation for imports: one statement for many new persons."""
        fresh = {p: AESGCM.generate_key(bit_length=256) for p in person_ids if p not in self._cache}
        if not fresh:
            return
        self.refresh()
        await conn.execute(
            f"INSERT INTO {self._t} (person_id, wrapped_key, key_version) "
            "SELECT p, w, $3 FROM unnest($1::text[], $2::bytea[]) AS t (p, w) ON CONFLICT (person_id) DO NOTHING",
            list(fresh), [self._wrap(p, k) for p, k in fresh.items()], self.current_version,
        )
        for p, k in fresh.items():
            self._remember(p, k)

    @staticmethod
    def seal_with(key: bytes, person_id: str, field: str, plaintext: str) -> str:
        nonce = os.urandom(12)
        # The field name and person are bound in as associated data: a value cannot be moved between them.
        ct = AESGCM(key).encrypt(nonce, plaintext.encode(), f"{person_id}:{field}".encode())
        return PREFIX + base64.b64encode(nonce + ct).decode()

    @staticmethod
    def open_with(key: bytes, person_id: str, field: str, sealed: str) -> str:
        raw = base64.b64decode(sealed[len(PREFIX):])
        try:
            return AESGCM(key).decrypt(raw[:12], raw[12:], f"{person_id}:{field}".encode()).decode()
        except InvalidTag as exc:
            raise UndecryptableValue(f"{person_id}:{field}") from exc

    async def seal(self, conn: Connection, person_id: str, field: str, plaintext: str) -> str:
        return self.seal_with(await self.key_for(conn, person_id, create=True), person_id, field, plaintext)

    async def open(self, conn: Connection, person_id: str, field: str, sealed: str) -> str:
        return self.open_with(await self.key_for(conn, person_id, create=False), person_id, field, sealed)

    async def share(self, conn: Connection, holder: str) -> str:
        """The holder's key (created if new), wrapped by the current master version for another service that
        holds the same master keys: what an event carries so that service can `adopt` it.
        """
        key = await self.key_for(conn, holder, create=True)
        # The version in memory: the key upkeep refreshes it within its interval after a rotation, long before
        # the older version can be destroyed (a backup window later).
        wrapped = base64.b64encode(self._wrap(holder, key)).decode()
        return f"{SHARED_KEY_PREFIX}{self.current_version}:{wrapped}"

    async def adopt(self, conn: Connection, holder: str, shared: str) -> None:
        """Keep a key another service shared, unless a key (live or erased) is already kept for the holder: an
        erased key is never brought back by an old event. KeyErased when its master version is destroyed.
        """
        if holder in self._cache or await conn.fetchval(f"SELECT 1 FROM {self._t} WHERE person_id = $1", holder):
            return
        if not shared.startswith(SHARED_KEY_PREFIX):
            raise UndecryptableValue(f"{holder}: not a shared key")
        version, _, body = shared[len(SHARED_KEY_PREFIX):].partition(":")
        try:
            key = self._unwrap(holder, base64.b64decode(body), int(version))
        except (InvalidTag, ValueError) as exc:
            raise UndecryptableValue(f"{holder}: the shared key does not open") from exc
        self.refresh()
        await conn.execute(
            f"INSERT INTO {self._t} (person_id, wrapped_key, key_version) VALUES ($1, $2, $3) "
            "ON CONFLICT (person_id) DO NOTHING", holder, self._wrap(holder, key), self.current_version)
        self._remember(holder, key)

    async def erase(self, conn: Connection, person_id: str) -> bool:
        """Destroy the person's key and their facts key; returns False if the person's key was already gone."""
        holders = [person_id, facts_holder(person_id)]
        for h in holders:
            self._cache.pop(h, None)
        done = await conn.fetch(
            f"UPDATE {self._t} SET wrapped_key = NULL, erased_at = now() "
            "WHERE person_id = ANY($1::text[]) AND wrapped_key IS NOT NULL RETURNING person_id",
            holders,
        )
        # A tombstone where no key was kept yet, so that no later (or replayed) event can `adopt` one.
        await conn.execute(
            f"INSERT INTO {self._t} (person_id, wrapped_key, erased_at) SELECT h, NULL, now() "
            "FROM unnest($1::text[]) AS h ON CONFLICT (person_id) DO NOTHING", holders)
        self.erased_since_vacuum = True
        return any(r["person_id"] == person_id for r in done)


    def rotate(self, now: datetime) -> datetime | None:
        """Make a new master version (older ones are destroyed at `now + backup window`); returns that time, or
        None for an unversioned key (nothing can be rotated: old copies stay readable with it).
        """
        if self._source is None:
            return None
        _, expires = self._source.rotate(now)
        self.refresh()
        return expires

    async def rewrap(self, conn: Connection, batch: int = 1000) -> int:
        """Wrap every live data key not yet wrapped by the current version again with it; returns how many."""
        self.refresh()
        current, done = self.current_version, 0
        while True:
            rows = await conn.fetch(f"SELECT person_id, wrapped_key, key_version FROM {self._t} "
                                    "WHERE wrapped_key IS NOT NULL AND key_version < $1 AND key_version = ANY($2) "
                                    "LIMIT $3", current, list(self._versions), batch)
            if not rows:
                return done
            ids = [r["person_id"] for r in rows]
            wrapped = [self._wrap(r["person_id"], self._unwrap(r["person_id"], bytes(r["wrapped_key"]),
                                                               r["key_version"])) for r in rows]
            await conn.execute(
                f"UPDATE {self._t} AS k SET wrapped_key = t.w, key_version = $3 "
                "FROM unnest($1::text[], $2::bytea[]) AS t (p, w) "
                "WHERE k.person_id = t.p AND k.wrapped_key IS NOT NULL",
                ids, wrapped, current,
            )
            done += len(rows)

    async def versions_in_use(self, conn: Connection) -> set[int]:
        rows = await conn.fetch(f"SELECT DISTINCT key_version FROM {self._t} WHERE wrapped_key IS NOT NULL")
        return {r["key_version"] for r in rows}

    def derive_key(self, info: bytes) -> bytes:
        """A 256-bit key of its own for one purpose, derived with HKDF-SHA256 and the fixed label `info` from the
        key folder's derivation secret (not from a master version: it survives rotations). Never stored.
        """
        return self._derivation.derive_key(info)

    def blind_index(self, value: str) -> bytes:
        """A keyed hash: equal values match, the value cannot be recovered without the master key."""
        return hmac.new(self._index_key, value.encode(), hashlib.sha256).digest()


def facts_holder(person_id: str) -> str:
    """The key-table entry of a person's facts key (SEALED_FACTS), kept beside their own key and erased with it."""
    return f"facts:{person_id}"
