-- Events the relay could not publish (a subject that cannot be built, a body larger than the server takes, a
-- refusal of that one message): set aside so the rest flow, shown on /health and in metrics, and tried again
-- each time a relay takes the lead. The event itself stays in the event table, the system of record.
CREATE TABLE relay_set_aside (
    event_id     uuid PRIMARY KEY,
    position     bigint NOT NULL,
    unit         text NOT NULL,
    type         text NOT NULL,
    reason       text NOT NULL,
    set_aside_at timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX relay_set_aside_open ON relay_set_aside (position) WHERE published_at IS NULL;
