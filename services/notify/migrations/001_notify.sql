-- Notify's own tables. Staff contacts are work contacts (plaintext in profiles' events too); retirees appear
-- only by id: their names and phones are fetched from profiles at send time and never stored here.

-- The staff directory and units, projected from profiles' events.
CREATE TABLE units (
    code         text PRIMARY KEY,
    name         text NOT NULL,
    care_contact text,
    digest_mode  boolean NOT NULL DEFAULT true
);

CREATE TABLE staff (
    user_id text PRIMARY KEY,
    name    text NOT NULL,
    role    text NOT NULL,
    unit    text NOT NULL,
    phone   text,
    email   text,
    active  boolean NOT NULL DEFAULT true
);
CREATE INDEX staff_unit ON staff (unit, role) WHERE active;

-- Retirees never to be messaged again (deceased or erased); the reason is what a suppression records.
CREATE TABLE suppressions (
    retiree_id  uuid PRIMARY KEY,
    reason      text NOT NULL,
    since       timestamptz NOT NULL DEFAULT now()
);

-- Per-recipient channel preference (SetChannelPreference).
CREATE TABLE channel_preferences (
    recipient text PRIMARY KEY,
    channels  text[] NOT NULL
);

-- Care tasks as the morning digest needs them, projected from care's events.
CREATE TABLE care_tasks (
    task_id    uuid PRIMARY KEY,
    unit       text NOT NULL,
    retiree_id uuid NOT NULL,
    kind       text NOT NULL,
    assignee   text,
    due_at     timestamptz NOT NULL,
    overdue    boolean NOT NULL DEFAULT false,
    closed     boolean NOT NULL DEFAULT false
);
CREATE INDEX care_tasks_open ON care_tasks (unit, due_at) WHERE NOT closed;

-- One row per (cause, recipient, channel): the unique key is the at-most-once guarantee.
CREATE TABLE deliveries (
    delivery_id    uuid PRIMARY KEY,
    cause_event_id uuid NOT NULL,
    correlation_id uuid NOT NULL,
    rule           text NOT NULL,
    template       text NOT NULL,
    recipient      text NOT NULL,
    channel        text NOT NULL,
    urgent         boolean NOT NULL,
    unit           text NOT NULL,
    -- The cause's envelope fields a template may use (type, unit, occurred_at, data): sealed values stay sealed.
    context        jsonb NOT NULL,
    status         text NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'suppressed')),
    not_before     timestamptz NOT NULL,
    attempts       integer NOT NULL DEFAULT 0,
    last_error     text,
    created_at     timestamptz NOT NULL,
    finished_at    timestamptz,
    UNIQUE (cause_event_id, recipient, channel)
);
CREATE INDEX deliveries_recipient ON deliveries (recipient, created_at);

-- The in-app inbox (站内信).
CREATE TABLE inbox_messages (
    message_id  uuid PRIMARY KEY,
    delivery_id uuid NOT NULL UNIQUE REFERENCES deliveries (delivery_id),
    recipient   text NOT NULL,
    subject     text NOT NULL,
    body        text NOT NULL,
    rule        text NOT NULL,
    created_at  timestamptz NOT NULL,
    read_at     timestamptz
);
CREATE INDEX inbox_recipient ON inbox_messages (recipient, created_at DESC);

-- The daily digest timer arms itself from here: its first firing only schedules the next morning.
INSERT INTO timers (timer_id, kind, due_at, payload)
VALUES ('digest-bootstrap', 'notify.digest', '2000-01-01T00:00:00Z', '{"bootstrap": true}');
