-- Who downloaded a person's documents (GetDocument: the certificate or the thank-you letter, which bear the
-- name), with the verified actor and the purpose: a chained log like profiles' and care's read-access logs
-- (docs/audit.md), chained by the checkpointer after commit and its head in every signed checkpoint. A refused
-- read is in security_log (the router writes it).
CREATE TABLE read_access (
    access_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    user_id    text NOT NULL,
    role       text NOT NULL,
    actor_unit text NOT NULL,
    query      text NOT NULL,
    retiree_id uuid NOT NULL,
    document   text NOT NULL,
    purpose    text NOT NULL,
    chain_seq  bigint UNIQUE,
    entry      bytea,
    prev_hash  bytea,
    hash       bytea
);
CREATE INDEX read_access_retiree ON read_access (retiree_id, at);
INSERT INTO chained_log_heads (name, seq, hash) VALUES ('read_access', 0, ''::bytea);
