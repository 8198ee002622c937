"""Rebuild care's read models from the event history, without side effects.

In one transaction: lock and truncate the read models (retiree_facts, unit_contacts, staff, tasks, campaigns,
assistance_cases, policies — never events, inbox, timers, person_keys, commands, checkpoints), then replay

* profiles' events from the JetStream stream (an ephemeral ordered consumer from the start) through the pure
  projections `unit_contacts` and `retiree_facts` — no tasks opened, no timers, no new events.
  Only the events care's live consumer has already applied (its inbox rows) are replayed: the others are still
  on their way to the live consumer, which will apply them after the rebuild commits;
* care's own events from `care.events` in position order through `read_models` — the projections the live
  service keeps with every event it records — with every time taken from the event.

Live writers of the read models wait on the table locks, so they see either the old rows or the rebuilt ones.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from nats.js import JetStreamContext

from backbone import rebuild as rebuilding
from backbone.crypto import Keyring
from backbone.db import Connection
from backbone.envelope import parse
from backbone.events import EventMeta, Routes, decode
from backbone.rebuild import ReadModel, RebuildPlan, Source
from contracts import subjects
from contracts.care import CareTaskOpened
from services.care import assistance_cases, campaign_progress, retiree_facts, todays_tasks, unit_contacts
from services.care.policy_book import PolicyBook

READ_MODELS = ("retiree_facts", "unit_contacts", "staff", "tasks", "campaigns", "assistance_cases", "policies")
PROFILES_CONSUMER = "care-profiles"  # the live consumer whose applied events are replayed (services/care/app.py)
FROM_PROFILES = unit_contacts.PROJECTION + retiree_facts.PROJECTION
STREAM = "WANQING"
FETCH_TIMEOUT_S = 10.0
TASK_FLUSH = 2000


class RebuildError(rebuilding.RebuildError):
    """Care's own rebuild refused (a backbone.rebuild.RebuildError, like every service's)."""


def plan(keyring: Keyring | None = None) -> RebuildPlan:
    """Care's read models for backbone.rebuild's digests and check (the same replay as `rebuild` below).
    Nothing is excluded from the digests: every stored time is the event's. `campaign_pending` (the queue a
    campaign fills from) is working state, not a read model. The keyring opens profiles' sealed facts.
    """
    return RebuildPlan(schema="care", models=tuple(ReadModel(t) for t in READ_MODELS),
                       own=read_models(PolicyBook()), sources=(Source(PROFILES_CONSUMER, FROM_PROFILES),),
                       keyring=keyring)


def read_models(policies: PolicyBook) -> Routes:
    """Care's own read models, from care's own events: kept live with each event care records, and replayed here."""
    return todays_tasks.PROJECTION + campaign_progress.PROJECTION + assistance_cases.PROJECTION + policies.projection


@dataclass
class RebuildReport:
    profiles_events: int = 0
    profiles_skipped_not_applied_yet: int = 0
    care_events: int = 0
    seconds: float = 0.0
    rows: dict[str, int] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def rebuild(conn: Connection, js: JetStreamContext, keyring: Keyring | None = None) -> RebuildReport:
    """Truncate and replay; all or nothing. `conn` needs backbone.db's JSON codecs; without care's keyring,
    profiles' sealed facts (birth dates, hospitalisations) replay as unknown.
    """
    started = time.monotonic()
    report = RebuildReport()
    tables = ", ".join(f"care.{t}" for t in READ_MODELS)
    async with conn.transaction():
        # Wait for (and then hold off) every live writer, so the inbox read next is exactly what they applied.
        await conn.execute(f"LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE")
        applied = {r["event_id"] for r in await conn.fetch(
            "SELECT event_id FROM care.inbox WHERE consumer = $1", PROFILES_CONSUMER)}
        await conn.execute(f"TRUNCATE {tables}")
        await _replay_profiles(conn, js, applied, report, keyring)
        await _replay_own(conn, report)
        report.rows = {t: int(await conn.fetchval(f"SELECT count(*) FROM care.{t}")) for t in READ_MODELS}
    report.seconds = round(time.monotonic() - started, 3)
    return report


async def _replay_profiles(conn: Connection, js: JetStreamContext, applied: set[UUID],
                           report: RebuildReport, keyring: Keyring | None) -> None:
    """Profiles' events care applied, through backbone's stream replay (it refuses when one is gone)."""
    counted = rebuilding.RebuildReport("care")
    source = rebuilding.Source(PROFILES_CONSUMER, FROM_PROFILES, subjects.events_of_service("profiles"))
    await rebuilding.replay_stream(conn, js, source, applied, counted, keyring)
    report.profiles_events += counted.stream_events
    report.profiles_skipped_not_applied_yet += counted.stream_skipped_not_applied_yet


async def _replay_own(conn: Connection, report: RebuildReport) -> None:
    report.care_events += await replay_own(conn, read_models(PolicyBook()))


async def replay_own(conn: Connection, own: Routes, until: datetime | None = None) -> int:
    """Care's own events in position order through `own` (those recorded up to `until`, by the platform time of
    recording, when given); the number of events applied.
    """
    opened: list[tuple[CareTaskOpened, EventMeta]] = []
    applied = 0

    async def flush() -> None:
        if opened:
            await todays_tasks.tasks_opened(conn, opened)
            opened.clear()

    async for row in conn.cursor("SELECT envelope FROM care.events WHERE ($1::timestamptz IS NULL OR "
                                 "occurred_at <= $1) ORDER BY position", until, prefetch=1000):
        env = parse(row["envelope"])
        event = decode(env, "care")
        if event is None:
            continue
        applied += 1
        if isinstance(event, CareTaskOpened):  # in bulk: a campaign opens thousands in a row
            opened.append((event, EventMeta.of(env)))
            if len(opened) >= TASK_FLUSH:
                await flush()
            continue
        await flush()  # a later event may update a task opened just before it
        await own.apply(conn, event, EventMeta.of(env))
    await flush()
    return applied
