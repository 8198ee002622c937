"""Profiles' read models rebuilt from profiles' own events, and their digests (backbone/rebuild.py).

Rebuilt: the unit directory (units, staff), the archive (retirees, survivors, unit_memberships) and, when the
keyring is given, the search index (its terms are computed by opening the sealed fields, so only a process
holding the master key can rebuild it) and the facts sealed for care (birth date, sex, health: without the
keyring they replay as unknown, so a rebuild that is to match the live rows needs it).

Not rebuilt, because they are not projections of events: `id_index`
(the blind index of ID numbers, written by the registering command as its uniqueness guard), `read_access`
(the audit log of reads: a record of its own, never derived), person keys, commands, timers, checkpoints.

Digest exclusions: `units.registered_at` is none (it is the event's time), so nothing is excluded; the search
index's `term_hash` is keyed by the master key, so its digest is only comparable on one platform.
"""

from __future__ import annotations

from backbone.crypto import Keyring
from backbone.db import Connection
from backbone.rebuild import ReadModel, RebuildPlan, RebuildReport, check, digest, rebuild
from services.profiles import retiree_archive, search_index, unit_directory

ARCHIVE = (ReadModel("units"), ReadModel("staff"), ReadModel("retirees"), ReadModel("survivors"),
           ReadModel("unit_memberships"))


def plan(keyring: Keyring | None = None) -> RebuildPlan:
    own = unit_directory.PROJECTION + retiree_archive.PROJECTION
    models: tuple[ReadModel, ...] = ARCHIVE
    if keyring is not None:
        own = own + search_index.SearchIndex(keyring).projection
        models = (*ARCHIVE, ReadModel("search_index"))
    return RebuildPlan(schema="profiles", models=models, own=own, keyring=keyring)


async def rebuild_profiles(conn: Connection, keyring: Keyring | None = None) -> RebuildReport:
    return await rebuild(conn, None, plan(keyring))


__all__ = ["check", "digest", "plan", "rebuild_profiles"]
