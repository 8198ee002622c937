-- Requests turned away (no or bad credential, or a decision refused as forbidden): who tried what, and why.
-- Kept with the read-access log for audits; never holds the request's body.
CREATE TABLE security_log (
    entry_id   bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    kind       text NOT NULL,          -- command / query
    name       text NOT NULL,          -- the command or query name
    principal  text,                   -- the verified user, if the credential was valid
    role       text,
    unit       text,
    reason     text NOT NULL
);
CREATE INDEX security_log_at ON security_log (at);
