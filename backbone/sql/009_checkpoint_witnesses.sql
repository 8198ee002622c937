-- How far each witness (docs/audit.md: an account outside the platform's that keeps the checkpoints in its own
-- stream) has acknowledged this service's checkpoints: the checkpointer hands them over in order, from here.
CREATE TABLE audit_witnessed (
    witness  text PRIMARY KEY,
    last_seq bigint NOT NULL,
    at       timestamptz NOT NULL DEFAULT now()
);
