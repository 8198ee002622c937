-- Care's local projection of profiles' events: the facts care decides with (never a call into profiles).
CREATE TABLE retiree_facts (
    retiree_id      uuid PRIMARY KEY,
    unit            text NOT NULL,
    status          text NOT NULL,
    approved_on     date,
    retirement_date date,
    category        text,
    source_version  integer NOT NULL,
    -- How many times an event changed this row: a duplicate delivery must never raise it.
    applied_events  integer NOT NULL DEFAULT 1
);
CREATE INDEX retiree_facts_unit ON retiree_facts (unit);
