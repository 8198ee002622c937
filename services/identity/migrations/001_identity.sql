-- Identity's tables. Passwords and session tokens are secrets, not facts: they are kept here as argon2id
-- hashes and SHA-256 digests, never in an event (docs/identity.md). Everything else is projected from events.

-- The staff directory, projected from profiles' events: who may log in, with which role and unit.
CREATE TABLE staff (
    user_id text PRIMARY KEY,
    role    text NOT NULL,
    unit    text NOT NULL,
    active  boolean NOT NULL
);

-- The current state of each account stream (a snapshot kept by the projection of identity's own events).
CREATE TABLE accounts (
    user_id       text PRIMARY KEY,
    version       integer NOT NULL,
    password_set  boolean NOT NULL DEFAULT false,
    must_change   boolean NOT NULL DEFAULT false,
    failures      integer NOT NULL DEFAULT 0,
    locked_until  timestamptz,
    last_login_at timestamptz
);

-- The argon2id hash of each user's password ($argon2id$v=19$m=...,t=...,p=...$salt$hash).
CREATE TABLE passwords (
    user_id text PRIMARY KEY,
    hash    text NOT NULL,
    set_at  timestamptz NOT NULL
);

-- Sessions: the client keeps the token, we keep its SHA-256. Times are wall-clock times.
CREATE TABLE sessions (
    session_id   uuid PRIMARY KEY,
    token_sha256 bytea NOT NULL UNIQUE,
    user_id      text NOT NULL,
    client       text NOT NULL,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);
CREATE INDEX sessions_open ON sessions (user_id) WHERE revoked_at IS NULL;
