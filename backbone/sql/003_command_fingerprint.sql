-- What request a command id was first used for: a repeat with the same id but another command or body is
-- refused instead of being answered with the first one's reply. NULL for ids stored before this column.
ALTER TABLE commands ADD COLUMN request_hash bytea;
