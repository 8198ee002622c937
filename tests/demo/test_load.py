"""Loading the demo district waits for care to open what it must close, or says it did not finish (issue 12.7).

Care is a stand-in here (a fake of the two requests the loader makes, on a simulated clock), because what is
tested is the loader's patience: that it waits as long as care keeps catching up, however long that takes.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from wanqing.demo.district import generate
from wanqing.demo.load import close_historical_bereavements

DISTRICT = generate(2027, units=3, retirees=200, today=date(2027, 9, 30))
DEAD = [r for r in DISTRICT.retirees if r.died_on is not None]


class SlowCare:
    """Care catching up after a big import: the bereavement visits appear one by one, `every` seconds apart."""

    def __init__(self, clock: list[float], every: float) -> None:
        self.clock, self.every = clock, every
        self.tasks = {str(r.retiree_id): (str(uuid.uuid4()), r.unit) for r in DEAD}
        self.cancelled: set[str] = set()

    async def query(self, _service: str, _name: str, body: dict[str, Any], *_a: Any, **_k: Any) -> dict[str, Any]:
        visible = int(self.clock[0] // self.every)  # how many care has opened by now
        items = [{"kind": "bereavement_visit", "retiree_id": rid, "task_id": tid}
                 for rid, (tid, unit) in list(self.tasks.items())[:visible]
                 if unit == body["unit"] and tid not in self.cancelled]
        return {"items": items}

    async def send(self, _service: str, _name: str, body: dict[str, Any], *_a: Any, **_k: Any) -> dict[str, Any]:
        self.cancelled.add(body["task_id"])
        return {"ok": True}


def simulated(clock: list[float]) -> dict[str, Any]:
    async def pause(seconds: float) -> None:
        clock[0] += seconds

    return {"clock": lambda: clock[0], "pause": pause}


class TestHistoricalBereavements:
    async def test_it_waits_while_care_keeps_catching_up_even_for_minutes(self) -> None:
        assert len(DEAD) >= 3  # noqa: PLR2004 - the district has historical deaths to close
        clock = [0.0]
        care = SlowCare(clock, every=40.0)  # one visit every 40 s: the old 30 s limit closed none
        closed = await close_historical_bereavements(care, DISTRICT, **simulated(clock))  # type: ignore[arg-type]
        assert (closed.closed, closed.owed, closed.complete) == (len(DEAD), len(DEAD), True)
        assert len(care.cancelled) == len(DEAD)

    async def test_when_care_stops_making_progress_it_gives_up_and_says_so(self) -> None:
        clock = [0.0]
        care = SlowCare(clock, every=1e9)  # care never opens them (it is down)
        closed = await close_historical_bereavements(care, DISTRICT, stall_s=5, **simulated(clock))  # type: ignore[arg-type]
        assert not closed.complete
        assert closed.closed == 0
        assert f"仍有 {len(DEAD)} 人的丧事慰问未关闭" in closed.warning_zh
        assert 5 <= clock[0] < 10  # noqa: PLR2004 - it waited out the stall, no longer
