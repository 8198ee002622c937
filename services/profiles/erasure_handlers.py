"""The erasure request workflow's command and query handlers (thin: load, decide, record; or load and render)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from backbone.aggregate import load_state
from backbone.crypto import KeyErased, Keyring
from backbone.db import Connection
from backbone.events import decode
from backbone.recording import CommandContext
from backbone.store import EventStore
from contracts.base import Accepted, Event, Role
from contracts.errors import conflict, forbidden, not_found
from contracts.profiles import ErasureRequestCommand, ErasureRequested, GetErasureCertificate, retiree_stream
from services.profiles import erasure_request
from services.profiles.erasure_request import Requests
from services.profiles.retiree import Retiree, authorize, evolve


async def erasure_request_command(ctx: CommandContext, cmd: ErasureRequestCommand) -> Accepted:
    stream = retiree_stream(cmd.retiree_id)
    person, version = await load_state(ctx.conn, ctx.store, stream, evolve, Retiree())
    if not person.registered:
        raise not_found(f"retiree {cmd.retiree_id} is not in the archive", zh="档案中没有这位退休人员")
    authorize(cmd.actor, person.unit)
    if person.erased:
        raise conflict("this person's data was already erased", zh="这位人员的个人信息已删除")
    requests, _ = await load_state(ctx.conn, ctx.store, stream, erasure_request.evolve, Requests())
    events = erasure_request.decide(cmd, requests, person.status, ctx.now)
    return await ctx.record(stream, version, events, unit=person.unit or "")


async def request_approved(ctx: CommandContext, stream: str, request_id: Any) -> bool:
    requests, _ = await load_state(ctx.conn, ctx.store, stream, erasure_request.evolve, Requests())
    return requests.approved(request_id)


class ErasureCertificates:
    def __init__(self, store: EventStore, keyring: Keyring) -> None:
        self._store = store
        self._keyring = keyring

    async def get_certificate(self, conn: Connection, q: GetErasureCertificate, _now: datetime) -> dict[str, Any]:
        if q.actor.role is not Role.DISTRICT_OFFICE:
            raise forbidden("only the district office issues certificates of erasure",
                            zh="只有区老干部局可以出具删除证明")
        history: list[tuple[Event, datetime]] = []
        requested: ErasureRequested | None = None
        for env in await self._store.load(conn, retiree_stream(q.retiree_id)):
            event = decode(env, self._store.schema)
            if event is None:
                continue
            history.append((event, env.occurred_at))
            if isinstance(event, ErasureRequested) and event.request_id == q.request_id:
                requested = event
        if requested is None:
            raise not_found(f"no erasure request {q.request_id}", zh="没有这份删除申请")
        try:
            name = json.loads(await self._keyring.open(conn, requested.requester_key, "requester_name",
                                                       requested.requester_name))
            relation = (json.loads(await self._keyring.open(conn, requested.requester_key, "relation",
                                                            requested.relation)) if requested.relation else None)
        except KeyErased as exc:
            raise conflict("the requester's details were erased", zh="申请人的信息已删除，无法出具证明") from exc
        cert = erasure_request.certificate_of(history, q.request_id, q.retiree_id, name, relation)
        if cert is None:
            raise conflict("the request was not approved and carried out yet", zh="该申请尚未审批同意并办理完毕")
        return {"request_id": str(q.request_id), "text": erasure_request.certificate_text(cert),
                "readable_copies_expire_at": cert.readable_copies_expire_at.isoformat()
                if cert.readable_copies_expire_at else None}
