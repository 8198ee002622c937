"""One PostgreSQL login role per service, owning its schema and nothing else (docs/security.md, "PostgreSQL").

* `wanqing_<service>` (LOGIN, no special attribute, no role membership): owns the schema `<service>` and all
  in it, so it runs its own migrations; reads the shared `platform` schema; may connect to the platform's
  database and to no other; has no right on `public`. Its password is `<secrets dir>/postgres/<role>.password`.
* `wanqing_platform` (NOLOGIN): owns the `platform` schema. Only the admin (the superuser) writes it: it applies
  the platform migrations (`wanqing.catalog.migrate_all`) and moves the simulated clock.

`provision` is idempotent: run it after every `migrate_all` as the admin, it converts objects the admin created
(ownership) and leaves a provisioned database as it was. Passwords travel to the server only as SCRAM
verifiers, computed here, so no plaintext password ever reaches the server's statement text or logs.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import asyncpg

from backbone.db import Connection, quote_ident
from backbone.migrations import PLATFORM_SCHEMA

__all__ = [
    "DANGEROUS_ROLES",
    "OWNER_ONLY_DIR",
    "OWNER_ONLY_FILE",
    "PLATFORM_OWNER",
    "new_password",
    "password_file",
    "provision",
    "read_or_create_secret",
    "role_name",
    "scram_matches",
    "scram_verifier",
]

OWNER_ONLY_DIR = 0o700
OWNER_ONLY_FILE = 0o600

PLATFORM_OWNER = "wanqing_platform"
# Predefined roles that reach the server's files, programs or every table: never held by a service role.
DANGEROUS_ROLES = (
    "pg_execute_server_program", "pg_read_server_files", "pg_write_server_files", "pg_read_all_data",
    "pg_write_all_data",
)
_SAFE = "NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT"
_ATTRIBUTES = ("rolsuper", "rolcreatedb", "rolcreaterole", "rolreplication", "rolbypassrls")
_SCRAM_ITERATIONS = 4096  # the server's default (scram_iterations)
_MAINTAIN_SINCE = 170000  # the MAINTAIN table privilege (VACUUM, ANALYZE, REINDEX ...) exists from PostgreSQL 17


# --- secrets -------------------------------------------------------------------------------------------------

def new_password() -> str:
    return secrets.token_urlsafe(32)


def read_or_create_secret(path: Path) -> str:
    """The secret kept in the owner-only file `path`, generated on first use and the same on every later call.

    The file is written complete under a temporary name (created 0600, so never readable by others even
    briefly) and then linked into place, which fails if it exists: two processes racing agree on one secret.
    """
    path.parent.mkdir(mode=OWNER_ONLY_DIR, parents=True, exist_ok=True)
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY_FILE)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(new_password() + "\n")
                out.flush()
                os.fsync(out.fileno())
            with contextlib.suppress(FileExistsError):  # the other one's secret stands
                path.hardlink_to(tmp)  # atomic, and refuses an existing path
        finally:
            tmp.unlink(missing_ok=True)
    if path.stat().st_mode & 0o777 != OWNER_ONLY_FILE:
        path.chmod(OWNER_ONLY_FILE)
    value = path.read_text(encoding="utf-8").strip()
    if not value:
        msg = f"{path} is empty: delete it to generate a new secret"
        raise RuntimeError(msg)
    return value


def password_file(secrets_dir: Path, role: str) -> Path:
    return secrets_dir / "postgres" / f"{role}.password"


# --- SCRAM-SHA-256 verifiers (RFC 5802/7677, as PostgreSQL stores them in pg_authid.rolpassword) -------------

def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scram_keys(password: str, salt: bytes, iterations: int) -> tuple[bytes, bytes]:
    # PostgreSQL SASLprep-normalises the password; for the ASCII passwords made here that is the identity.
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    stored_key = hashlib.sha256(hmac.new(salted, b"Client Key", "sha256").digest()).digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    return stored_key, server_key


def scram_verifier(password: str, *, salt: bytes | None = None, iterations: int = _SCRAM_ITERATIONS) -> str:
    """What `ALTER ROLE ... PASSWORD` may be given instead of the password itself."""
    salt = os.urandom(16) if salt is None else salt
    stored_key, server_key = _scram_keys(password, salt, iterations)
    return f"SCRAM-SHA-256${iterations}:{_b64(salt)}${_b64(stored_key)}:{_b64(server_key)}"


def scram_matches(verifier: str | None, password: str) -> bool:
    """Whether a stored verifier accepts `password` (False for no password, md5 or anything unreadable)."""
    if not verifier or not verifier.startswith("SCRAM-SHA-256$"):
        return False
    try:
        head, keys = verifier.removeprefix("SCRAM-SHA-256$").split("$")
        iterations, salt = head.split(":")
        stored_key, server_key = keys.split(":")
        expected = _scram_keys(password, base64.b64decode(salt), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(expected[0], base64.b64decode(stored_key)) and hmac.compare_digest(
        expected[1], base64.b64decode(server_key))


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# --- provisioning --------------------------------------------------------------------------------------------

def role_name(service: str) -> str:
    """The role of a service, which owns the schema of the same name as the service."""
    if service == PLATFORM_SCHEMA:
        msg = f"{PLATFORM_SCHEMA!r} is the shared schema, not a service"
        raise ValueError(msg)
    name = f"wanqing_{service}"
    quote_ident(name)  # refuses anything but letters, digits and _
    return name


async def provision(admin_url: str, services: Sequence[str], secrets_dir: Path) -> dict[str, str]:
    """Create or correct each service's role, schema ownership and grants; returns each service's DSN.

    `admin_url` must connect as a superuser (the embedded server's `postgres`, or an external server's admin).
    Idempotent: a second run changes nothing in the catalog and keeps the passwords of `secrets_dir`.
    """
    roles = {service: role_name(service) for service in services}
    (secrets_dir / "postgres").mkdir(mode=OWNER_ONLY_DIR, parents=True, exist_ok=True)
    (secrets_dir / "postgres").chmod(OWNER_ONLY_DIR)
    passwords = {service: read_or_create_secret(password_file(secrets_dir, role)) for service, role in roles.items()}
    conn = await asyncpg.connect(admin_url)
    try:
        async with conn.transaction():
            # Roles are per server, not per database: one provisioning at a time across all databases.
            await conn.execute("LOCK TABLE pg_catalog.pg_authid IN SHARE ROW EXCLUSIVE MODE")
            database: str = await conn.fetchval("SELECT current_database()")
            await _ensure_role(conn, PLATFORM_OWNER, login=False, password=None)
            for service, role in roles.items():
                await _ensure_role(conn, role, login=True, password=passwords[service])
            await _lock_down_database(conn, database, list(roles.values()))
            await _own_schema(conn, PLATFORM_SCHEMA, PLATFORM_OWNER)
            for service, role in roles.items():
                await _own_schema(conn, service, role)
            await _read_only_platform(conn, list(roles.values()))
            await _verify(conn, list(roles.values()))
    finally:
        await conn.close()
    return {service: _dsn(admin_url, role, passwords[service], database) for service, role in roles.items()}


async def _ensure_role(conn: Connection, role: str, *, login: bool, password: str | None) -> None:
    q = quote_ident(role)
    wanted = f"{'LOGIN' if login else 'NOLOGIN'} {_SAFE}"
    row = await conn.fetchrow(
        "SELECT rolcanlogin, rolinherit, rolpassword, " + ", ".join(_ATTRIBUTES) + " FROM pg_authid WHERE rolname = $1",
        role,
    )
    if row is None:
        secret = f" PASSWORD {_literal(scram_verifier(password))}" if password is not None else ""
        await conn.execute(f"CREATE ROLE {q} {wanted}{secret}")
        return
    if row["rolcanlogin"] != login or not row["rolinherit"] or any(row[a] for a in _ATTRIBUTES):
        await conn.execute(f"ALTER ROLE {q} {wanted}")
    if password is None:
        if row["rolpassword"] is not None:
            await conn.execute(f"ALTER ROLE {q} PASSWORD NULL")
    elif not scram_matches(row["rolpassword"], password):
        await conn.execute(f"ALTER ROLE {q} PASSWORD {_literal(scram_verifier(password))}")
    # A service role is a member of no role at all: nothing it could inherit or SET ROLE to.
    for granted in await conn.fetch(
        "SELECT m.roleid::regrole::text AS name FROM pg_auth_members m WHERE m.member = $1::regrole", role,
    ):
        await conn.execute(f"REVOKE {granted['name']} FROM {q} CASCADE")


async def _lock_down_database(conn: Connection, database: str, roles: list[str]) -> None:
    db = quote_ident(database)
    await conn.execute(f"REVOKE ALL ON DATABASE {db} FROM PUBLIC")  # CONNECT and TEMPORARY, granted by default
    for role in roles:
        await conn.execute(f"REVOKE CREATE, TEMPORARY ON DATABASE {db} FROM {quote_ident(role)}")
        await conn.execute(f"GRANT CONNECT ON DATABASE {db} TO {quote_ident(role)}")
    await conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")


_RELATION_KEYWORD = {"r": "TABLE", "p": "TABLE", "f": "FOREIGN TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW",
                     "S": "SEQUENCE"}


async def _own_schema(conn: Connection, schema: str, owner: str) -> None:
    """`owner` owns the schema and everything in it (tables, views, free sequences, routines, types)."""
    q, o = quote_ident(schema), quote_ident(owner)
    current = await conn.fetchval("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = $1", schema)
    if current is None:
        await conn.execute(f"CREATE SCHEMA {q} AUTHORIZATION {o}")
    elif current != owner:
        await conn.execute(f"ALTER SCHEMA {q} OWNER TO {o}")
    await conn.execute(f"REVOKE ALL ON SCHEMA {q} FROM PUBLIC")
    # Sequences owned by a column (identity, serial) follow their table and cannot be given away alone.
    relations = await conn.fetch(
        "SELECT format('%I.%I', n.nspname, c.relname) AS name, c.relkind::text AS kind "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S') AND c.relowner <> $2::regrole "
        "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid "
        "                AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')) "
        "ORDER BY c.oid",
        schema, owner,
    )
    for rel in relations:
        await conn.execute(f"ALTER {_RELATION_KEYWORD[rel['kind']]} {rel['name']} OWNER TO {o}")
    routines = await conn.fetch(
        "SELECT format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) AS name, "
        "p.prokind::text AS kind FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = $1 AND p.proowner <> $2::regrole ORDER BY p.oid",
        schema, owner,
    )
    for routine in routines:
        keyword = "AGGREGATE" if routine["kind"] == "a" else "ROUTINE"
        await conn.execute(f"ALTER {keyword} {routine['name']} OWNER TO {o}")
    types = await conn.fetch(
        "SELECT format('%I.%I', n.nspname, t.typname) AS name, t.typtype::text AS kind "
        "FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
        "LEFT JOIN pg_class c ON c.oid = t.typrelid "
        "WHERE n.nspname = $1 AND t.typowner <> $2::regrole "
        "AND (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND c.relkind = 'c')) ORDER BY t.oid",
        schema, owner,
    )
    for type_ in types:
        await conn.execute(f"ALTER {'DOMAIN' if type_['kind'] == 'd' else 'TYPE'} {type_['name']} OWNER TO {o}")


async def _read_only_platform(conn: Connection, roles: list[str]) -> None:
    """USAGE on `platform` and SELECT on its tables; no right to create or write there."""
    q = quote_ident(PLATFORM_SCHEMA)
    writes = "INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER"
    if await conn.fetchval("SELECT current_setting('server_version_num')::int") >= _MAINTAIN_SINCE:
        writes += ", MAINTAIN"
    for role in map(quote_ident, roles):
        await conn.execute(f"REVOKE CREATE ON SCHEMA {q} FROM {role}")
        await conn.execute(f"GRANT USAGE ON SCHEMA {q} TO {role}")
        await conn.execute(f"REVOKE {writes} ON ALL TABLES IN SCHEMA {q} FROM {role}")
        await conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {q} TO {role}")


async def _verify(conn: Connection, roles: list[str]) -> None:
    """Refuse to hand out a DSN of a role that could reach the server's files, programs or all data."""
    rows = await conn.fetch(
        "SELECT r.rolname, r.rolsuper, array_remove(array_agg(d.rolname), NULL) AS dangerous "
        "FROM pg_roles r LEFT JOIN pg_roles d ON d.rolname = ANY($2::text[]) AND pg_has_role(r.oid, d.oid, 'MEMBER') "
        "WHERE r.rolname = ANY($1::text[]) GROUP BY r.rolname, r.rolsuper",
        roles, list(DANGEROUS_ROLES),
    )
    for row in rows:
        if row["rolsuper"] or row["dangerous"]:
            msg = f"role {row['rolname']} is still superuser or a member of {row['dangerous']}"
            raise RuntimeError(msg)


def _dsn(admin_url: str, role: str, password: str, database: str) -> str:
    """The admin URL's server (host, port, options) with the service's role, password and the same database."""
    parts = urlsplit(admin_url)
    if parts.scheme not in {"postgres", "postgresql"}:
        msg = "the admin URL must be a postgresql:// URL"
        raise ValueError(msg)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    netloc = f"{quote(role, safe='')}:{quote(password, safe='')}@{host}{port}"
    return urlunsplit((parts.scheme, netloc, "/" + quote(database, safe=""), parts.query, ""))


def without_password(dsn: str, secrets_dir: Path) -> str:
    """The same DSN with its password moved into an owner-only pgpass file (`passfile=`), so the password is in
    no process environment or command line: the supervisor hands each service this form.
    """
    parts = urlsplit(dsn)
    role, password = unquote(parts.username or ""), unquote(parts.password or "")
    host = parts.hostname or ""
    database = unquote(parts.path.lstrip("/"))

    def field(text: str) -> str:  # the pgpass format escapes ':' and '\'
        return text.replace("\\", "\\\\").replace(":", "\\:")

    passfile = secrets_dir / "postgres" / f"{role}.pgpass"
    line = ":".join(field(x) for x in (host, str(parts.port or 5432), database, role, password)) + "\n"
    fd = os.open(passfile.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, OWNER_ONLY_FILE)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(line)
    passfile.with_suffix(".tmp").replace(passfile)
    netloc = f"{quote(role, safe='')}@{f'[{host}]' if ':' in host else host}{f':{parts.port}' if parts.port else ''}"
    query = "&".join(q for q in (parts.query, f"passfile={quote(str(passfile), safe='/')}") if q)
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
