-- The read-access log under the same protection as the events (docs/audit.md): each row is hash-chained on
-- insert (backbone's chained_log_row trigger) and the head of the chain is in every signed checkpoint, so a
-- deleted or edited row is found by `wanqing audit verify`. Rows from before this migration are chained here,
-- in access_id order.
ALTER TABLE read_access ADD COLUMN chain_seq bigint UNIQUE, ADD COLUMN entry bytea, ADD COLUMN prev_hash bytea,
    ADD COLUMN hash bytea;
SET LOCAL timezone = 'UTC';
DO $$
DECLARE
    r record;
    n bigint := 0;
    h bytea := ''::bytea;
    e bytea;
BEGIN
    FOR r IN SELECT access_id FROM read_access ORDER BY access_id LOOP
        n := n + 1;
        SELECT chained_log_entry(to_jsonb(t)) INTO e FROM read_access t WHERE t.access_id = r.access_id;
        UPDATE read_access SET chain_seq = n, entry = e, prev_hash = h, hash = sha256(h || e)
            WHERE access_id = r.access_id;
        h := sha256(h || e);
    END LOOP;
    INSERT INTO chained_log_heads (name, seq, hash) VALUES ('read_access', n, h);
END
$$;
CREATE TRIGGER read_access_chain BEFORE INSERT ON read_access FOR EACH ROW EXECUTE FUNCTION chained_log_row();
SET LOCAL timezone TO DEFAULT;
