-- Care's local projection of profiles' events: the facts care decides with (never a call into profiles).
CREATE TABLE retiree_facts (
    retiree_id         uuid PRIMARY KEY,
    unit               text NOT NULL,
    status             text NOT NULL,          -- planned / retired / deceased
    birth_date         date,
    planned_date       date,
    approved_on        date,
    retirement_date    date,
    category           text,
    risk_tier          text NOT NULL DEFAULT 'normal',
    living_alone       boolean NOT NULL DEFAULT false,
    hospitalized_since date,
    party_joined_on    date,
    talent_since       date,
    talent_reviewed_on date,
    survivors          integer NOT NULL DEFAULT 0,
    died_on            date,
    erased             boolean NOT NULL DEFAULT false,
    source_version     integer NOT NULL,
    -- How many profiles events changed this row: a duplicate delivery must never raise it.
    applied_events     integer NOT NULL DEFAULT 1
);
CREATE INDEX retiree_facts_unit ON retiree_facts (unit, status);
CREATE INDEX retiree_facts_birth ON retiree_facts (birth_date);
