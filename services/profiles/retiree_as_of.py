"""A retiree as the archive stood at a time (查询某一时点的档案), for auditors: GetRetiree with `as_of`.

The person's events recorded up to T (platform time of recording, the envelope's `occurred_at`) are replayed:

* through the aggregate's pure `evolve` (`retiree.py`), which says whether the person was in the archive at T;
* through the archive's own projection (`retiree_archive.PROJECTION`, the code that keeps today's row), in a
  savepoint that is always rolled back: the person's rows are replaced by the replayed ones, read, and the
  savepoint undone, so today's read model is never changed (a concurrent command on the same person waits for
  the few milliseconds this takes, on the person's row lock).

Authorization and the read-access log are GetRetiree's: the actor must be allowed for the person's **current**
unit (who may read this archive today); a refusal is logged `forbidden`; every answer that opens fields is
logged with detail `as_of <T>`. An erased person stays erased: the answer is GetRetiree's answer for an erased
person (no replay, nothing of the past opened), logged `erased`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backbone.crypto import Keyring
from backbone.db import Connection, row_to_json
from backbone.envelope import parse
from backbone.events import EventMeta, decode
from backbone.facts import open_facts
from contracts.base import LOCAL_TZ, local_date
from contracts.errors import forbidden, not_found, refused
from contracts.profiles import SERVICE, GetRetiree, retiree_stream
from services.profiles import retiree
from services.profiles.read_access import record_access
from services.profiles.retiree_archive import PROJECTION, ArchiveQueries

# The person's rows in the archive's read model that the projection writes (the search index is not replayed:
# it answers no GetRetiree field).
PERSON_TABLES = ("survivors", "unit_memberships", "retirees")


class RetireeAsOf:
    def __init__(self, keyring: Keyring, archive: ArchiveQueries) -> None:
        self._keyring = keyring
        self._archive = archive

    async def get_retiree(self, conn: Connection, q: GetRetiree, now: datetime) -> dict[str, Any]:
        """GetRetiree: today's archive, or (with `as_of`) the archive as it stood then."""
        if q.as_of is None:
            return await self._archive.get_retiree(conn, q, now)
        return await self.as_of(conn, q, q.as_of, now)

    async def as_of(self, conn: Connection, q: GetRetiree, at: datetime, now: datetime) -> dict[str, Any]:
        if at > now:
            raise refused(f"as_of {at.isoformat()} is after now ({now.isoformat()})",
                          zh=f"查询时点 {_shown(at)} 晚于当前时间，请填写过去的时间", field="as_of")
        current = await conn.fetchrow("SELECT unit, erased FROM profiles.retirees WHERE retiree_id = $1",
                                      q.retiree_id)
        if current is None:
            raise not_found(f"no retiree {q.retiree_id}", zh="档案中没有该退休人员")
        if current["erased"]:  # stays erased: today's answer for an erased person, nothing of the past replayed
            live = await self._archive.get_retiree(conn, q.model_copy(update={"as_of": None}), at)
            return {**live, "as_of": at.astimezone(LOCAL_TZ).isoformat(), "events_replayed": 0}
        fields = ["name", *q.reveal]
        if not q.actor.may_act_for(current["unit"]):
            await record_access(conn, q.actor, q.retiree_id, fields, q.purpose, success=False, detail="forbidden")
            raise forbidden(f"{q.actor.user} of {q.actor.unit} may not read retirees of {current['unit']}",
                            zh="无权查看其他单位的退休人员档案")
        if q.reveal and not q.purpose:
            raise refused("say why: revealing sensitive fields needs a purpose",
                          zh="查看身份证号、电话等敏感信息须说明用途", field="purpose")
        rows = await conn.fetch(
            "SELECT envelope FROM profiles.events WHERE stream_id = $1 AND occurred_at <= $2 ORDER BY version",
            retiree_stream(q.retiree_id), at)
        # Birth date and health facts are sealed in the events (backbone/facts.py): opened as the live archive was.
        envelopes = [await open_facts(conn, self._keyring, parse(bytes(r["envelope"])), SERVICE) for r in rows]
        state = retiree.Retiree()
        for env in envelopes:
            event = decode(env, SERVICE)
            if event is not None:
                state = retiree.evolve(state, event)
        if not state.registered:
            raise not_found(f"retiree {q.retiree_id} was not in the archive at {at.isoformat()}",
                            zh=f"截至 {_shown(at)}，档案中尚无该退休人员")
        result = await self._replayed(conn, q, envelopes, at)
        await record_access(conn, q.actor, q.retiree_id, fields, q.purpose, success=True,
                            detail=f"as_of {at.isoformat()}")
        return {**result, "as_of": at.astimezone(LOCAL_TZ).isoformat(), "events_replayed": len(envelopes)}

    async def _replayed(self, conn: Connection, q: GetRetiree, envelopes: list[Any],
                        at: datetime) -> dict[str, Any]:
        """The GetRetiree fields from the person's rows rebuilt from `envelopes`, opened like GetRetiree."""
        undo = conn.transaction()  # always rolled back: today's read model is never changed
        await undo.start()
        try:
            for table in PERSON_TABLES:
                await conn.execute(f"DELETE FROM profiles.{table} WHERE retiree_id = $1", q.retiree_id)
            for env in envelopes:
                event = decode(env, SERVICE)
                if event is not None:
                    await PROJECTION.apply(conn, event, EventMeta.of(env))
            row = await conn.fetchrow("SELECT * FROM profiles.retirees WHERE retiree_id = $1", q.retiree_id)
            assert row is not None, "a registered person has a row"
            result = await self._archive.opened(conn, row, q.reveal, local_date(at))
        finally:
            await undo.rollback()
        return row_to_json(result)


def _shown(at: datetime) -> str:
    return at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
