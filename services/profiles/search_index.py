"""Finding people without storing what they are found by (查找人员): the search index, kept in step with the events
that set a name, an ID number or a phone, and the SearchRetirees query.

`profiles.search_index` holds one row per term of a person (search_terms.py): `HMAC-SHA256(key, kind || 0 ||
value)`, the kind and the retiree id. The key is derived from the master key (HKDF-SHA256, info "wanqing search
index v1") at every start and never stored: without it, a row cannot be tested against a guess. The projection
opens the sealed fields of the event with the person's key to compute the terms; erasure deletes every row of the
person in the same transaction.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import structlog

from backbone.crypto import KeyErased, Keyring, UndecryptableValue
from backbone.db import Connection
from backbone.events import EventMeta, Routes
from contracts.errors import forbidden
from contracts.profiles import (
    PersonalDataErased,
    ProfileUpdated,
    RetireeFound,
    RetireeRegistered,
    RetireeStatus,
    SearchRetirees,
)
from services.profiles.read_access import Access, record_accesses
from services.profiles.retiree_archive import open_field
from services.profiles.search_terms import PHONE_KINDS, Term, person_terms, phone_terms, probe

log = structlog.get_logger()

INDEX_KEY_INFO = b"wanqing search index v1"
BACKFILL_BATCH = 500

INSERT_TERMS = (
    "INSERT INTO profiles.search_index (term_hash, retiree_id, kind) "
    "SELECT * FROM unnest($1::bytea[], $2::uuid[], $3::text[]) ON CONFLICT DO NOTHING")

# People matching the whole term, or every one of the parts (a name's bigrams), best match first.
SEARCH = """
    WITH hits AS (
        SELECT retiree_id, bool_or(term_hash = $1) AS exact, count(*) FILTER (WHERE term_hash <> $1) AS parts
        FROM profiles.search_index WHERE term_hash = $1 OR term_hash = ANY($2::bytea[])
        GROUP BY retiree_id)
    SELECT r.retiree_id, r.unit, r.status, r.sealed_name, h.exact
    FROM hits h JOIN profiles.retirees r USING (retiree_id)
    WHERE (h.exact OR (cardinality($2::bytea[]) > 0 AND h.parts = cardinality($2::bytea[])))
      AND NOT r.erased AND ($3::text IS NULL OR r.unit = $3)
    ORDER BY h.exact DESC, r.unit, r.birth_date, r.retiree_id
    LIMIT $4"""

# Retirees not indexed yet (registered before the index existed, or by an older replica), in id order, locked
# against a concurrent erasure. Every indexed person has a name row; a phone changed meanwhile may have left
# phone rows only, so "no name row" is the test, not "no row".
UNINDEXED = """
    SELECT r.retiree_id, r.sealed_name, r.sealed_id_number, r.sealed_phone FROM profiles.retirees r
    WHERE r.retiree_id > $1 AND NOT r.erased
      AND NOT EXISTS (SELECT 1 FROM profiles.search_index s WHERE s.retiree_id = r.retiree_id AND s.kind = 'name')
    ORDER BY r.retiree_id LIMIT $2 FOR UPDATE OF r"""

Row = tuple[bytes, UUID, str]


class SearchIndex:
    """The index's projection, its backfill and its query; holds the derived index key."""

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring
        self._hmac = hmac.new(keyring.derive_key(INDEX_KEY_INFO), digestmod="sha256")  # keyed once, copied

    def digest(self, term: Term) -> bytes:
        h = self._hmac.copy()
        h.update(term.message)
        return h.digest()

    def _rows(self, rid: UUID, terms: Sequence[Term]) -> list[Row]:
        return [(self.digest(t), rid, str(t.kind)) for t in terms]

    async def _insert(self, conn: Connection, rows: Sequence[Row]) -> None:
        """Rows that may exist already (a backfill racing another replica's): each is written once."""
        if rows:
            await conn.execute(INSERT_TERMS, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])

    @staticmethod
    async def _copy(conn: Connection, rows: Sequence[Row]) -> None:
        """Rows of people new to the archive (none can exist yet): binary COPY, the import's fast path."""
        if rows:
            await conn.copy_records_to_table("search_index", schema_name="profiles", records=rows,
                                              columns=("term_hash", "retiree_id", "kind"))

    async def _plain(self, conn: Connection, person: str, field: str, sealed: str | None) -> str | None:
        """The plaintext of a sealed text field; None once the key is gone (nothing to index then)."""
        if sealed is None:
            return None
        try:
            value = json.loads(await self._keyring.open(conn, person, field, sealed))
        except KeyErased:
            return None
        return value if isinstance(value, str) else None

    async def _terms(self, conn: Connection, rid: UUID, name: str | None, id_number: str | None,
                     phone: str | None) -> list[Row]:
        person = str(rid)
        return self._rows(rid, person_terms(await self._plain(conn, person, "name", name),
                                            await self._plain(conn, person, "id_number", id_number),
                                            await self._plain(conn, person, "phone", phone)))

    # ---------------------------------------------------------------------------------------------- projection

    async def retiree_registered(self, conn: Connection, event: RetireeRegistered, meta: EventMeta) -> None:
        await self.retirees_registered(conn, [(event, meta)])

    async def retirees_registered(self, conn: Connection,
                                  items: Sequence[tuple[RetireeRegistered, EventMeta]]) -> None:
        """A roster import's people in one COPY."""
        rows: list[Row] = []
        for event, _ in items:
            rows += await self._terms(conn, event.retiree_id, event.name, event.id_number, event.phone)
        await self._copy(conn, rows)

    async def profile_updated(self, conn: Connection, event: ProfileUpdated, _meta: EventMeta) -> None:
        if "phone" not in event.changed:
            return
        await conn.execute("DELETE FROM profiles.search_index WHERE retiree_id = $1 AND kind = ANY($2::text[])",
                           event.retiree_id, [k.value for k in PHONE_KINDS])
        phone = await self._plain(conn, str(event.retiree_id), "phone", event.phone)
        await self._insert(conn, self._rows(event.retiree_id, phone_terms(phone)))

    async def personal_data_erased(self, conn: Connection, event: PersonalDataErased, _meta: EventMeta) -> None:
        await conn.execute("DELETE FROM profiles.search_index WHERE retiree_id = $1", event.retiree_id)

    @property
    def projection(self) -> Routes:
        return Routes.of({
            RetireeRegistered: self.retiree_registered,
            ProfileUpdated: self.profile_updated,
            PersonalDataErased: self.personal_data_erased,
        }, bulk={RetireeRegistered: self.retirees_registered})

    # ------------------------------------------------------------------------------------------------ backfill

    async def backfill(self, pool: asyncpg.Pool, batch: int = BACKFILL_BATCH) -> int:
        """Index every retiree who is not indexed (people registered before the index existed, or whose rows
        were lost), one transaction per batch; returns how many were indexed. Idempotent: an indexed person has
        a name row and is not selected again, and rows already there are kept (ON CONFLICT DO NOTHING); erased
        people are left out, and a person being erased meanwhile either waits for the batch's lock (then their
        erasure deletes the rows) or is no longer selected.
        """
        indexed, after = 0, UUID(int=0)
        while True:
            async with pool.acquire() as conn, conn.transaction():
                people = await conn.fetch(UNINDEXED, after, batch)
                if not people:
                    break
                after = people[-1]["retiree_id"]
                await self._keyring.preload(conn, [str(p["retiree_id"]) for p in people])
                rows: list[Row] = []
                for p in people:
                    try:
                        terms = await self._terms(conn, p["retiree_id"], p["sealed_name"], p["sealed_id_number"],
                                                  p["sealed_phone"])
                    except UndecryptableValue:
                        log.exception("search_backfill_undecryptable", retiree_id=str(p["retiree_id"]))
                        continue
                    indexed += bool(terms)
                    rows += terms
                await self._insert(conn, rows)
        if indexed:
            log.info("search_index_backfilled", retirees=indexed)
        return indexed

    # -------------------------------------------------------------------------------------------------- query

    async def search(self, conn: Connection, q: SearchRetirees, _now: datetime) -> list[dict[str, Any]]:
        if q.unit is not None and not q.actor.may_act_for(q.unit):
            raise forbidden(f"{q.actor.user} ({q.actor.role.value} of {q.actor.unit}) may not search retirees "
                            f"of {q.unit}", zh=f"无权查找其他单位（{q.unit}）的退休人员")
        # A unit role finds its own unit's people only; people of other units are not even counted.
        unit = q.unit if q.unit is not None or q.actor.oversees_all else q.actor.unit
        wanted = probe(q.text)
        rows = await conn.fetch(SEARCH, self.digest(wanted.exact), [self.digest(t) for t in wanted.parts], unit,
                                q.limit)
        await self._keyring.preload(conn, [str(r["retiree_id"]) for r in rows])
        found = [
            RetireeFound(
                retiree_id=r["retiree_id"], unit=r["unit"], status=RetireeStatus(r["status"]),
                name=await open_field(conn, self._keyring, r["retiree_id"], "name", r["sealed_name"]),
                matched=wanted.matched if r["exact"] else "name_part")
            for r in rows
        ]
        await record_accesses(conn, q.actor, [Access(f.retiree_id, ["name"], q.purpose, detail="search")
                                              for f in found])
        return [f.model_dump(mode="json") for f in found]
