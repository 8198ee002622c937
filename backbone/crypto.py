"""Per-person field encryption (§10): one AES-256-GCM data key per retiree, wrapped by the master key.

Erasure destroys the wrapped key (crypto-shredding): every copy of the person's sealed fields, in the event
table, on the bus and in backups, becomes unreadable at once, while the hash chain over the ciphertext still
verifies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections import OrderedDict
from collections.abc import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from backbone.db import Connection, quote_ident

PREFIX = "wqenc:v1:"
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

    def __init__(self, schema: str, master_key: bytes, cache_size: int = 10_000) -> None:
        self._t = f"{quote_ident(schema)}.person_keys"
        self._master = AESGCM(master_key)
        self._master_key = master_key
        # A separate key for blind indexes (find a person by ID number without storing the number).
        self._index_key = hmac.new(master_key, b"wanqing:blind-index:v1", hashlib.sha256).digest()
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._cache_size = cache_size

    def _remember(self, person_id: str, key: bytes) -> None:
        self._cache[person_id] = key
        self._cache.move_to_end(person_id)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def _wrap(self, person_id: str, key: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._master.encrypt(nonce, key, person_id.encode())

    def _unwrap(self, person_id: str, wrapped: bytes) -> bytes:
        return self._master.decrypt(wrapped[:12], wrapped[12:], person_id.encode())

    async def key_for(self, conn: Connection, person_id: str, *, create: bool) -> bytes:
        cached = self._cache.get(person_id)
        if cached is not None:
            return cached
        row = await conn.fetchrow(f"SELECT wrapped_key, erased_at FROM {self._t} WHERE person_id = $1", person_id)
        if row is not None:
            if row["wrapped_key"] is None:
                raise KeyErased(person_id)
            key = self._unwrap(person_id, bytes(row["wrapped_key"]))
        elif create:
            key = AESGCM.generate_key(bit_length=256)
            inserted = await conn.fetchval(
                f"INSERT INTO {self._t} (person_id, wrapped_key) VALUES ($1, $2) "
                "ON CONFLICT (person_id) DO NOTHING RETURNING person_id",
                person_id, self._wrap(person_id, key),
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
        rows = await conn.fetch(f"SELECT person_id, wrapped_key FROM {self._t} "
                                "WHERE person_id = ANY($1::text[]) AND wrapped_key IS NOT NULL", wanted)
        for r in rows:
            self._remember(r["person_id"], self._unwrap(r["person_id"], bytes(r["wrapped_key"])))

    async def create_keys(self, conn: Connection, person_ids: list[str]) -> None:
        """Bulk key creation for imports: one statement for many new persons."""
        fresh = {p: AESGCM.generate_key(bit_length=256) for p in person_ids if p not in self._cache}
        if not fresh:
            return
        await conn.execute(
            f"INSERT INTO {self._t} (person_id, wrapped_key) SELECT * FROM unnest($1::text[], $2::bytea[]) "
            "ON CONFLICT (person_id) DO NOTHING",
            list(fresh), [self._wrap(p, k) for p, k in fresh.items()],
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

    async def erase(self, conn: Connection, person_id: str) -> bool:
        """Destroy the person's key; returns False if it was already gone."""
        self._cache.pop(person_id, None)
        done = await conn.fetchval(
            f"UPDATE {self._t} SET wrapped_key = NULL, erased_at = now() "
            "WHERE person_id = $1 AND wrapped_key IS NOT NULL RETURNING person_id",
            person_id,
        )
        return done is not None

    def derive_key(self, info: bytes) -> bytes:
        """A 256-bit key of its own for one purpose, derived from the master key with HKDF-SHA256 and the fixed
        label `info`. Never stored: it is derived again at every start, and changes with the master key.
        """
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(self._master_key)

    def blind_index(self, value: str) -> bytes:
        """A keyed hash: equal values match, the value cannot be recovered without the master key."""
        return hmac.new(self._index_key, value.encode(), hashlib.sha256).digest()
