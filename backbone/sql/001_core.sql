-- The runtime's tables, created in every service schema (search_path is set to that schema).

-- The event table is also the outbox (ARCHITECTURE §2-4). `envelope` holds the exact canonical bytes that are
-- hashed and published; typed columns repeat the envelope's metadata for indexing and audit queries.
CREATE TABLE events (
    position        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        uuid        NOT NULL UNIQUE,
    stream_id       text        NOT NULL,
    version         integer     NOT NULL CHECK (version >= 1),
    type            text        NOT NULL,
    schema_version  integer     NOT NULL,
    unit            text        NOT NULL,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL,
    correlation_id  uuid        NOT NULL,
    causation_id    uuid,
    actor_user      text        NOT NULL,
    envelope        bytea       NOT NULL,
    prev_hash       bytea       NOT NULL,
    hash            bytea       NOT NULL,
    tx              xid8        NOT NULL DEFAULT pg_current_xact_id(),
    UNIQUE (stream_id, version)
);
CREATE INDEX events_tx_position ON events (tx, position);
-- Deliberately no index on type or unit: every index is paid on each append (the hot path), while audits by
-- unit or type are occasional and read the bus (wanqing.evt.<unit>.>) or scan; add one here if that changes.

-- Ad-hoc SQL reads the envelope as JSON through this view.
CREATE VIEW events_json AS
    SELECT position, event_id, stream_id, version, type, unit, occurred_at, recorded_at,
           convert_from(envelope, 'UTF8')::jsonb AS envelope
    FROM events;

-- Tailing checkpoints, composite (tx, position) as the snapshot-xmin rule requires (§3).
CREATE TABLE checkpoints (
    name       text PRIMARY KEY,
    tx         xid8   NOT NULL,
    position   bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Idempotent consumers (§5): one row per (consumer, event) in the same transaction as the effect.
CREATE TABLE inbox (
    consumer     text NOT NULL,
    event_id     uuid NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Idempotent commands (§6): the reply of a command id, returned again on a retry.
CREATE TABLE commands (
    command_id  uuid PRIMARY KEY,
    name        text  NOT NULL,
    reply       jsonb NOT NULL,
    handled_at  timestamptz NOT NULL DEFAULT now()
);

-- Durable timers (§8), fired by the ticker when the injected clock passes due_at.
CREATE TABLE timers (
    timer_id   text PRIMARY KEY,
    kind       text        NOT NULL,
    due_at     timestamptz NOT NULL,
    payload    jsonb       NOT NULL,
    fired_at   timestamptz
);
CREATE INDEX timers_due ON timers (due_at) WHERE fired_at IS NULL;

-- Per-person data keys (§10), wrapped by the master key. Erasure nulls the key and keeps the row as proof.
CREATE TABLE person_keys (
    person_id   text PRIMARY KEY,
    wrapped_key bytea,
    created_at  timestamptz NOT NULL DEFAULT now(),
    erased_at   timestamptz
);
