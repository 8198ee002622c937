"""Notify's read models rebuilt from history, and their digests (backbone/rebuild.py).

Rebuilt: the directory and task projections its one consumer `notify-events` keeps before it plans messages
(`units`, `staff`, `suppressions` from profiles' events; `care_tasks` from care's events: from the stream, those
the live consumer applied) and what notify's own events keep (`channel_preferences`, `quiet_hours`,
`units.digest_mode`).
Not rebuilt: `deliveries` and `inbox_messages`, which are the planner's and the delivery worker's own records
(what was sent, to whom, with what outcome; each outcome is also an event on `delivery-<id>`), not projections.
Nothing is excluded from the digests (`suppressions.since` is the event's time).
"""

from __future__ import annotations

from backbone.rebuild import ReadModel, RebuildPlan, Source
from services.notify import digest, open_tasks, preferences, recipients

CONSUMER = "notify-events"  # the live consumer (app.py)

PLAN = RebuildPlan(
    schema="notify",
    models=(ReadModel("units"), ReadModel("staff"), ReadModel("suppressions"), ReadModel("channel_preferences"),
            ReadModel("quiet_hours"), ReadModel("care_tasks")),
    own=preferences.PROJECTION + digest.PROJECTION,
    sources=(Source(CONSUMER, recipients.PROJECTION + open_tasks.PROJECTION),),
)
