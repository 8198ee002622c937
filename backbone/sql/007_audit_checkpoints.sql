-- Signed checkpoints (ARCHITECTURE §11, docs/audit.md): every N events or M minutes the service signs what its
-- history was up to a final position. `body` holds the exact canonical JSON that was signed (after the domain
-- prefix `wanqing-checkpoint-v1\n`); the other columns repeat it for SQL. Published on WANQING_AUDIT.
CREATE TABLE audit_checkpoints (
    seq          bigint PRIMARY KEY,
    position     bigint NOT NULL,
    event_count  bigint NOT NULL,
    events_hash  bytea  NOT NULL,
    body         bytea  NOT NULL,
    signer       text   NOT NULL,
    signature    bytea  NOT NULL,
    made_at      timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX audit_checkpoints_unpublished ON audit_checkpoints (seq) WHERE published_at IS NULL;

-- Chained logs: any table of the schema with the columns chain_seq, entry, prev_hash, hash and the trigger
-- below is hash-chained on insert (entry = the row's own canonical JSON as stored, hash = sha256(prev || entry))
-- and covered by the checkpoints (docs/audit.md). The head row serialises the writers of one log until commit,
-- so committed sequence numbers are gapless and in chain order.
CREATE TABLE chained_log_heads (
    name text PRIMARY KEY,
    seq  bigint NOT NULL,
    hash bytea  NOT NULL
);

-- The bytes hashed for a row: its JSON without the chain's own columns, timestamps in UTC.
CREATE FUNCTION chained_log_entry(row_json jsonb) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT convert_to((row_json - 'chain_seq' - 'entry' - 'prev_hash' - 'hash')::text, 'UTF8')
$$;

CREATE FUNCTION chained_log_row() RETURNS trigger LANGUAGE plpgsql SET timezone = 'UTC' AS $$
DECLARE
    head_seq  bigint;
    head_hash bytea;
BEGIN
    EXECUTE format('SELECT seq, hash FROM %I.chained_log_heads WHERE name = $1 FOR UPDATE', TG_TABLE_SCHEMA)
        INTO head_seq, head_hash USING TG_TABLE_NAME;
    IF head_seq IS NULL THEN
        RAISE EXCEPTION 'chained log %.% has no head row', TG_TABLE_SCHEMA, TG_TABLE_NAME;
    END IF;
    NEW.chain_seq := head_seq + 1;
    NEW.prev_hash := head_hash;
    -- as chained_log_entry() does, written out: a trigger resolves names on the writer's search_path
    NEW.entry := convert_to((to_jsonb(NEW) - 'chain_seq' - 'entry' - 'prev_hash' - 'hash')::text, 'UTF8');
    NEW.hash := sha256(head_hash || NEW.entry);
    EXECUTE format('UPDATE %I.chained_log_heads SET seq = $2, hash = $3 WHERE name = $1', TG_TABLE_SCHEMA)
        USING TG_TABLE_NAME, NEW.chain_seq, NEW.hash;
    RETURN NEW;
END
$$;
