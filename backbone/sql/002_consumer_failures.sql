-- Handler failures per (consumer, event): the retry count that decides dead-lettering survives restarts,
-- and operators can see what is failing and why.
CREATE TABLE consumer_failures (
    consumer   text NOT NULL,
    event_id   uuid NOT NULL,
    attempts   integer NOT NULL,
    last_error text NOT NULL,
    dead       boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
