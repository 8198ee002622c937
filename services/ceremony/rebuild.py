"""Ceremony's read models rebuilt from history, and their digests (backbone/rebuild.py).

Rebuilt: what ceremony keeps of profiles' events (`units` names, `retirees`, `party_members`: the facts only,
from the stream, those the live consumer `ceremony-profiles` applied; the cases it opens and closes on them are
ceremony's own events) and its own read models (`cases`, `batches`, `units.mode`) from ceremony's events.
Not rebuilt: `certificate_sequences` (the counter a certificate number is drawn from, kept by the command that
draws it; the numbers drawn are in the events). Nothing is excluded from the digests.
"""

from __future__ import annotations

from backbone.rebuild import ReadModel, RebuildPlan, Source
from services.ceremony import case_overview
from services.ceremony.profiles_feed import FACTS

PROFILES_CONSUMER = "ceremony-profiles"  # the live consumer (app.py)

PLAN = RebuildPlan(
    schema="ceremony",
    models=(ReadModel("units"), ReadModel("retirees"), ReadModel("party_members"), ReadModel("cases"),
            ReadModel("batches")),
    own=case_overview.PROJECTION,
    sources=(Source(PROFILES_CONSUMER, FACTS),),
)
