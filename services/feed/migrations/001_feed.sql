-- What is waiting to be handed to each agency's own stream (in order, by seq), how much each has taken, and
-- which people each agency has been told of (for `known_only` rules). A row leaves the outbox once the agency's
-- stream acknowledged it: revealed personal data is at rest here only until then.
CREATE TABLE outbox (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agency     text NOT NULL,
    message_id uuid NOT NULL UNIQUE,
    subject    text NOT NULL,
    payload    bytea NOT NULL,
    queued_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_agency ON outbox (agency, seq);
CREATE TABLE handed_over (
    agency          text PRIMARY KEY,
    messages        bigint NOT NULL DEFAULT 0,
    last_message_id uuid,
    last_at         timestamptz
);
CREATE TABLE known_subjects (
    agency     text NOT NULL,
    retiree_id uuid NOT NULL,
    PRIMARY KEY (agency, retiree_id)
);
