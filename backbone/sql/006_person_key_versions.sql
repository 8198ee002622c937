-- The master key version that wraps each data key (backbone/master_keys.py): a rotation re-wraps the live keys
-- under the new version; a row wrapped by a destroyed version can no longer be opened.
ALTER TABLE person_keys ADD COLUMN key_version integer NOT NULL DEFAULT 1;
