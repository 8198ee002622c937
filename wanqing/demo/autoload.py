"""`wanqing up` with WANQING_LOAD_DEMO on (the default): the demo district goes into a platform with no units.

Runs in the supervisor's after-ready thread; only the district (units, staff, retirees), not the quarter's
simulation. A platform that already has units is left alone, so a restart never loads it twice.
"""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import structlog

from contracts.base import local_date
from contracts.identity import letter_code_text, new_letter_code
from wanqing.access import Access, operator_access
from wanqing.demo.bus import Bus
from wanqing.demo.district import District, generate
from wanqing.demo.load import close_historical_bereavements, load_district

log = structlog.get_logger()

SEED = 2027
# The demo district's accounts that log in to the console (README): a clerk and the head of 区财政局-like unit
# U0001, a clerk of U0002 (another unit), and a district office member. Only on the demo district.
DEMO_ACCOUNTS = ("u0001-staff1", "u0001-head", "u0002-staff1", "lgj-01")
DEMO_PASSWORD = "wanqing2027"  # noqa: S105 - published in the README, for the demo district only


async def _load(access: Access, district: str, stopping: threading.Event) -> None:
    bus = await Bus.connect(access, district)
    try:
        units = await bus.query("profiles", "ListUnits", {})
        if units:
            log.info("demo_district_skipped", reason="the platform already has units", units=len(units))
            return
        if stopping.is_set():
            return
        d = generate(SEED, district=district, today=local_date(datetime.now(UTC)))
        started = time.monotonic()
        log.info("demo_district_loading", units=len(d.units), retirees=len(d.retirees))
        loaded = await load_district(bus, d, say=lambda line: log.info("demo_district", step=line.strip()))
        closed = await close_historical_bereavements(bus, d)
        await _demo_passwords(bus)
        letter = await _demo_retiree_letter(bus, d)
        log.info("demo_district_loaded", units=loaded.units, staff=loaded.staff, retirees=loaded.retirees,
                 follow_ups=loaded.follow_ups, historical_bereavements_closed=closed.closed,
                 historical_bereavements_owed=closed.owed, seconds=round(time.monotonic() - started, 1))
        if not closed.complete:
            log.warning("demo_district_incomplete", left_open=closed.owed - closed.closed)
            print(closed.warning_zh, flush=True)  # noqa: T201 - the person who started the platform must see it
        print(f"Demo district loaded: {loaded.units} units, {loaded.staff} staff, {loaded.retirees} retirees "  # noqa: T201
              f"in {time.monotonic() - started:.0f}s (WANQING_LOAD_DEMO=false to start empty)", flush=True)
        print(f"Console logins (password {DEMO_PASSWORD}): u0001-staff1 (a clerk of U0001), u0001-head (its head), "  # noqa: T201
              "lgj-01 (the district office)", flush=True)
        if letter:
            print(f"A retiree's own pages (我的页面): /me/login, code {letter[1]} ({letter[0]}, U0001)",  # noqa: T201
                  flush=True)
    finally:
        await bus.close()


async def _demo_retiree_letter(bus: Bus, district: District) -> tuple[str, str] | None:
    """A login-code letter for one living retiree of U0001, as the unit would print it: (name, code)."""
    person = next((r for r in district.retirees_of("U0001") if r.died_on is None), None)
    if person is None:
        return None
    letter_id, secret = new_letter_code()
    reply = await bus.send("identity", "IssueLoginLetter", {"retiree_id": str(person.retiree_id),
                                                            "letter_id": letter_id, "secret": secret}, check=False)
    if not reply.get("ok"):
        log.warning("demo_letter_not_issued", reply=reply)
        return None
    return person.name, letter_code_text(letter_id, secret)


async def _demo_passwords(bus: Bus, tries: int = 60) -> None:
    """Identity learns of staff from profiles' events: a password is set once it knows the person."""
    for user in DEMO_ACCOUNTS:
        for _ in range(tries):
            reply = await bus.send("identity", "SetPassword", {"user": user, "password": DEMO_PASSWORD,
                                                               "temporary": False}, check=False)
            if reply.get("ok") or reply.get("code") != "not_found":
                break
            await asyncio.sleep(0.5)
        if not reply.get("ok"):
            log.warning("demo_password_not_set", user=user, reply=reply)


def load_if_empty(nats_url: str, data_dir: Path, district: str, stopping: threading.Event) -> None:
    """As the operator of the platform in data_dir."""
    try:
        asyncio.run(_load(operator_access(data_dir, district, nats_url), district, stopping))
    except Exception:  # a failed demo load must not take the platform down
        log.exception("demo_district_failed")
