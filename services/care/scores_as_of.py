"""A unit's work-quality scores as they stood at a time (某一时点的考评), for auditors: GetUnitScores with `as_of`.

Care's own read models the scores read (the task board, campaigns, assistance cases) are rebuilt from care's
events recorded up to T (by the platform time of recording, `occurred_at`) through the projections that keep
them live (rebuild.replay_own), in a savepoint that is always rolled back; GetUnitScores then runs on them with
T as "now". Today's read models are never changed: live readers keep seeing them (the rows are replaced with
DELETE, not TRUNCATE, so nobody waits to read), and a live writer touching a task waits until the savepoint is
undone (the replay of care's whole history: not measured on a district's volume yet).

What care learned from profiles (retiree_facts, unit_contacts) is not replayed: care's service account may not
read profiles' events from the stream (only its durable consumer), and care keeps no journal of them. So the
retirement approvals counted are those dated on or before T (an approval cannot be dated in the future, so one
dated after T was recorded after T; one dated before T but recorded after T is counted as if known) and unit
names are today's. `wanqing audit rebuild-digests` replays profiles' events too, from the stream, as operator.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backbone.db import Connection
from contracts.base import LOCAL_TZ
from contracts.care import GetUnitScores
from contracts.errors import forbidden
from services.care import assistance_cases, campaign_progress, scores, todays_tasks
from services.care.rebuild import replay_own
from services.care.tasks_as_of import not_after_now

# The read models GetUnitScores reads that care builds from its own events.
OWN_SCORE_MODELS = ("tasks", "campaigns", "assistance_cases")
OWN_SCORE_ROUTES = todays_tasks.PROJECTION + campaign_progress.PROJECTION + assistance_cases.PROJECTION


async def unit_scores(conn: Connection, q: GetUnitScores, now: datetime) -> dict[str, Any]:
    """GetUnitScores: now, or (with `as_of`) as the scores stood then."""
    if q.as_of is None:
        return await scores.unit_scores(conn, q, now)
    if q.unit is not None and not q.actor.may_act_for(q.unit):  # before any replay; the same rule as the live one
        raise forbidden(f"{q.actor.user} may not read the scores of {q.unit}", zh=f"无权查看其他单位（{q.unit}）的考评")
    at = not_after_now(q.as_of, now)
    undo = conn.transaction()  # always rolled back: today's read models are never changed
    await undo.start()
    try:
        for table in OWN_SCORE_MODELS:
            await conn.execute(f"DELETE FROM care.{table}")
        replayed = await replay_own(conn, OWN_SCORE_ROUTES, until=at)
        result = await scores.unit_scores(conn, q, at)
    finally:
        await undo.rollback()
    return {**result, "as_of_requested": at.astimezone(LOCAL_TZ).isoformat(), "events_replayed": replayed}
