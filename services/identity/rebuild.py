"""Identity's read models rebuilt from history, and their digests (backbone/rebuild.py).

Rebuilt: `staff` (from profiles' StaffRegistered/StaffDeactivated on the stream, those the live consumer
`identity-profiles` applied; a deactivation's ended sessions are a decision, not replayed) and `accounts` (the
snapshot of each account stream, from identity's own events). Not rebuilt: `passwords` and `sessions`, which
are secrets kept only here and never in an event (docs/identity.md). Nothing is excluded from the digests.
"""

from __future__ import annotations

from backbone.rebuild import ReadModel, RebuildPlan, Source
from services.identity import accounts
from services.identity.staff_feed import STAFF

PROFILES_CONSUMER = "identity-profiles"  # the live consumer (app.py)

PLAN = RebuildPlan(
    schema="identity",
    models=(ReadModel("staff"), ReadModel("accounts")),
    own=accounts.PROJECTION,
    sources=(Source(PROFILES_CONSUMER, STAFF),),
)
