"""The services the local platform runs, and the one-off work done for all of them: migrations."""

from __future__ import annotations

import importlib
from pathlib import Path

import asyncpg

from backbone.migrations import migrate_service
from contracts.registry import SERVICES  # the start order of `wanqing up`; a service is one line there

__all__ = ["SERVICES", "migrate_all", "migrations_of"]


def opens_personal_data(service: str) -> bool:
    """Whether the service unwraps per-person data keys (only those get the master key)."""
    return bool(getattr(importlib.import_module(f"services.{service}.app"), "OPENS_PERSONAL_DATA", False))


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
