-- Chained logs are chained by the service's checkpointer, a moment after their rows commit, no longer on insert.
-- The insert trigger made every writer of a log wait on the log's head row until it committed: every read of
-- personal data in the district (each writes read-access rows) queued on one row, fsync included (bench console:
-- raw search p50 82 -> 500 ms at 50 sessions). Now a row is written unchained (chain_seq NULL) and
-- chain_pending() gives the committed ones their place in the chain, in key order, under the head row's lock
-- held only by the one checkpointer. An unchained row is "pending" for `wanqing audit verify` (docs/audit.md):
-- for that second it is not yet protected.
CREATE FUNCTION chain_pending(log_schema text, log_name text, key_column text, max_rows integer)
RETURNS integer LANGUAGE plpgsql SET timezone = 'UTC' AS $$
DECLARE
    head_seq  bigint;
    head_hash bytea;
    r         record;
    e         bytea;
    n         integer := 0;
BEGIN
    EXECUTE format('SELECT seq, hash FROM %I.chained_log_heads WHERE name = $1 FOR UPDATE', log_schema)
        INTO head_seq, head_hash USING log_name;
    IF head_seq IS NULL THEN
        RAISE EXCEPTION 'chained log %.% has no head row', log_schema, log_name;
    END IF;
    FOR r IN EXECUTE format('SELECT %I AS k, to_jsonb(t) AS j FROM %I.%I t WHERE chain_seq IS NULL ORDER BY %I '
                            'LIMIT $1 FOR UPDATE', key_column, log_schema, log_name, key_column) USING max_rows LOOP
        -- as chained_log_entry() does, written out (names resolve on the caller's search_path)
        e := convert_to((r.j - 'chain_seq' - 'entry' - 'prev_hash' - 'hash')::text, 'UTF8');
        head_seq := head_seq + 1;
        EXECUTE format('UPDATE %I.%I SET chain_seq = $1, entry = $2, prev_hash = $3, hash = $4 WHERE %I = $5',
                       log_schema, log_name, key_column)
            USING head_seq, e, head_hash, sha256(head_hash || e), r.k;
        head_hash := sha256(head_hash || e);
        n := n + 1;
    END LOOP;
    IF n > 0 THEN
        EXECUTE format('UPDATE %I.chained_log_heads SET seq = $2, hash = $3 WHERE name = $1', log_schema)
            USING log_name, head_seq, head_hash;
    END IF;
    RETURN n;
END
$$;
