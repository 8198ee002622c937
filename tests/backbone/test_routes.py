"""Routing tables: handlers by class, in the order tables were added; runs of one class reach bulk handlers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from backbone.db import Connection
from backbone.events import EventMeta, Routes
from contracts.base import Actor, Role
from contracts.profiles import InterestGroupJoined, InterestGroupLeft

ACTOR = Actor(user="t", role=Role.SYSTEM, unit="DISTRICT")
NO_CONN: Connection = None  # type: ignore[assignment] - the handlers here touch no database


def meta() -> EventMeta:
    now = datetime.now(UTC)
    return EventMeta(event_id=uuid.uuid4(), stream_id="s", version=1, unit="U1", occurred_at=now, recorded_at=now,
                     correlation_id=uuid.uuid4(), causation_id=None, actor=ACTOR)


def joined(group: str) -> InterestGroupJoined:
    return InterestGroupJoined(retiree_id=uuid.uuid4(), group=group)


class TestRoutes:
    async def test_tables_added_run_their_handlers_for_a_class_in_order_and_other_classes_find_none(self) -> None:
        calls: list[str] = []

        async def first(_c: Connection, e: InterestGroupJoined, _m: EventMeta) -> None:
            calls.append(f"first:{e.group}")

        async def second(_c: Connection, e: InterestGroupJoined, _m: EventMeta) -> None:
            calls.append(f"second:{e.group}")

        routes = Routes.of({InterestGroupJoined: first}) + Routes.of({InterestGroupJoined: second})
        assert await routes.apply(NO_CONN, joined("书法"), meta())
        assert calls == ["first:书法", "second:书法"]
        assert not await routes.apply(NO_CONN, InterestGroupLeft(retiree_id=uuid.uuid4(), group="x"), meta())

    async def test_a_run_of_one_class_goes_to_its_bulk_handler_and_order_is_kept_around_it(self) -> None:
        calls: list[str] = []

        async def one(_c: Connection, e: InterestGroupJoined, _m: EventMeta) -> None:
            calls.append(e.group)

        async def many(_c: Connection, items: Sequence[tuple[InterestGroupJoined, EventMeta]]) -> None:
            calls.append("+".join(e.group for e, _ in items))

        async def left(_c: Connection, e: InterestGroupLeft, _m: EventMeta) -> None:
            calls.append(f"left:{e.group}")

        routes = Routes.of({InterestGroupJoined: one, InterestGroupLeft: left}, bulk={InterestGroupJoined: many})
        quit_ = InterestGroupLeft(retiree_id=uuid.uuid4(), group="c")
        await routes.apply_all(NO_CONN, [(joined("a"), meta()), (joined("b"), meta()), (quit_, meta()),
                                         (joined("d"), meta())])
        assert calls == ["a+b", "left:c", "d"]
