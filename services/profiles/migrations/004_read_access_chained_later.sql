-- The read-access log is chained by the checkpointer after commit (backbone/sql/008_chain_logs_later.sql): no
-- reader of personal data waits on the log's head row any more.
DROP TRIGGER read_access_chain ON read_access;
