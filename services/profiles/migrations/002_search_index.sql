-- Finding people by name, ID number or phone without storing them (services/profiles/search_index.py).
-- Each row is one term of one person: HMAC-SHA256 under a key derived from the master key (never stored here)
-- of the term's kind and normalised value (the whole name, each 2-character part of it, the ID number and its
-- last 6 characters, the phone's digits and their last 4). Erasing a person deletes all their rows.
-- Written by the projection of RetireeRegistered / ProfileUpdated / PersonalDataErased; people registered
-- before this table are indexed by profiles at its next start (the migration cannot decrypt).
CREATE TABLE search_index (
    term_hash  bytea NOT NULL,
    retiree_id uuid  NOT NULL,
    kind       text  NOT NULL,  -- name, name_bigram, id_number, id_tail, phone, phone_tail
    PRIMARY KEY (term_hash, retiree_id)
);
-- A person's rows: erasure, a changed phone, and the backfill's "who has no name row yet".
CREATE INDEX search_index_retiree ON search_index (retiree_id, kind);
