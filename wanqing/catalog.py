"""The services the local platform runs, and the one-off work done for all of them: migrations."""

from __future__ import annotations

import importlib
from pathlib import Path

import asyncpg

from backbone.agencies import EnabledAgencies
from backbone.migrations import migrate_service
from contracts.registry import SERVICES  # the start order of `wanqing up`; a service is one line there
from wanqing import nats_auth
from wanqing.nats_auth import NkeyUser, ServiceBusNeeds

__all__ = ["SERVICES", "bus_needs", "migrate_all", "migrations_of", "nats_accounts"]


def opens_personal_data(service: str) -> bool:
    """Whether the service unwraps per-person data keys (only those get the master key)."""
    return bool(getattr(importlib.import_module(f"services.{service}.app"), "OPENS_PERSONAL_DATA", False))


def bus_needs(service: str) -> ServiceBusNeeds:
    """What NATS must let the service do beyond every service's rule (wanqing/nats_auth.py), read from its
    composition root: `CONSUMERS` (its durable consumers' names) and `ASKS` (whose queries it asks).
    """
    app = importlib.import_module(f"services.{service}.app")
    declared = {}
    for constant in ("CONSUMERS", "ASKS"):
        value = getattr(app, constant, None)
        if not isinstance(value, tuple) or not all(isinstance(v, str) for v in value):
            msg = (f"services/{service}/app.py must declare {constant}: tuple[str, ...] (NATS grants a service "
                   "only what it declares)")
            raise TypeError(msg)
        declared[constant] = value
    publishes = getattr(app, "PUBLISHES", ())
    if not isinstance(publishes, tuple) or not all(isinstance(v, str) for v in publishes):
        raise TypeError(f"services/{service}/app.py: PUBLISHES must be a tuple[str, ...]")
    return ServiceBusNeeds(consumers=declared["CONSUMERS"], asks=declared["ASKS"], publishes=publishes)


def nats_accounts(data_dir: Path, services: tuple[str, ...] = SERVICES,
                  extra: tuple[nats_auth.Principal, ...] = ()) -> tuple[dict[str, NkeyUser], str]:
    """Every principal's nkey (made once under `<data dir>/secrets/nats`) and the server's accounts block that
    gives each exactly its rights: what `wanqing up` configures its server with. `extra`: principals outside the
    platform (the benchmarks' raw-limit client on their throwaway server; never `wanqing up`).
    """
    agencies = sorted(EnabledAgencies(data_dir)())  # `wanqing agency add/disable` (docs/agencies.md)
    principals = [*nats_auth.platform_principals({s: bus_needs(s) for s in services}, agencies), *extra]
    users = nats_auth.ensure_nkeys(nats_auth.nkeys_folder(data_dir), [p.name for p in principals])
    return users, nats_auth.accounts_block(principals, users)


def migrations_of(service: str) -> tuple[str, Path | None]:
    """The service's schema name and SQL folder, read from the constants of its composition root."""
    app = importlib.import_module(f"services.{service}.app")
    return app.NAME, app.MIGRATIONS


async def migrate_all(database_url: str, services: tuple[str, ...] = SERVICES) -> dict[str, list[str]]:
    """Apply every service's migrations (and the shared platform schema); returns what was applied now."""
    conn = await asyncpg.connect(database_url)
    try:
        applied = {}
        for service in services:
            schema, folder = migrations_of(service)
            applied[service] = await migrate_service(conn, schema, folder)
        return applied
    finally:
        await conn.close()
