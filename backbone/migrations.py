"""Migrations: one schema per service, ordered SQL files, each applied once and recorded with its checksum."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import structlog

from backbone.db import Connection, quote_ident

log = structlog.get_logger()

CORE_SQL = Path(__file__).parent / "sql"
PLATFORM_SQL = Path(__file__).parent / "sql_platform"
PLATFORM_SCHEMA = "platform"


@dataclass(frozen=True)
class Migration:
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


class MigrationChanged(RuntimeError):  # noqa: N818 - named after the state, like crypto.KeyErased
    """An applied migration file was edited: history would no longer match the database."""


class MigrationNotAllowedError(RuntimeError):
    """Migrations are due that the connected role may not apply (a service's role, for the shared platform
    schema): the admin must apply them first (`wanqing migrate`).
    """


def collect(prefix: str, folder: Path) -> list[Migration]:
    return [Migration(f"{prefix}/{p.name}", p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.sql"))]


async def apply(conn: Connection, schema: str, migrations: list[Migration]) -> list[str]:
    """Apply the migrations not yet recorded in `schema`; returns the names applied now."""
    q = quote_ident(schema)
    applied_now: list[str] = []
    async with conn.transaction():
        # One migrator per schema at a time, across processes.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"migrate:{schema}")
        # Only what is missing: even IF NOT EXISTS asks for the right to create (in the database, in the schema),
        # which a service's own role has in its schema only, not in the database or the shared platform schema.
        if await conn.fetchval("SELECT to_regnamespace($1)", schema) is None:
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {q}")
        if await conn.fetchval("SELECT to_regclass($1)", f"{q}.schema_migrations") is None:
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {q}.schema_migrations ("
                "name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
        done = {r["name"]: r["checksum"] for r in await conn.fetch(f"SELECT name, checksum FROM {q}.schema_migrations")}
        for m in migrations:
            if m.name in done:
                if done[m.name] != m.checksum:
                    msg = f"migration {m.name} in schema {schema} was changed after it was applied"
                    raise MigrationChanged(msg)
                continue
            await conn.execute(f"SET LOCAL search_path TO {q}, public")
            await conn.execute(m.sql)
            await conn.execute(
                f"INSERT INTO {q}.schema_migrations (name, checksum) VALUES ($1, $2)", m.name, m.checksum
            )
            applied_now.append(m.name)
    if applied_now:
        log.info("migrations_applied", schema=schema, applied=applied_now)
    return applied_now


async def migrate_service(conn: Connection, schema: str, service_sql: Path | None) -> list[str]:
    """The runtime's core tables first, then the service's own files; plus the shared platform schema.

    A service's own role (wanqing.database_roles) may only read the platform schema: it finds the platform
    migrations applied by the admin and applies its own; if they are not, it fails with MigrationNotAllowedError.
    """
    await _apply_as_allowed(conn, PLATFORM_SCHEMA, collect("platform", PLATFORM_SQL))
    migrations = collect("core", CORE_SQL)
    if service_sql is not None:
        migrations += collect("service", service_sql)
    return await _apply_as_allowed(conn, schema, migrations)


async def _apply_as_allowed(conn: Connection, schema: str, migrations: list[Migration]) -> list[str]:
    try:
        return await apply(conn, schema, migrations)
    except asyncpg.InsufficientPrivilegeError as e:
        user = await conn.fetchval("SELECT current_user")
        msg = (f"schema {schema} has migrations to apply that role {user} may not apply ({e}): "
               "apply them as the admin first (`wanqing migrate`)")
        raise MigrationNotAllowedError(msg) from e
