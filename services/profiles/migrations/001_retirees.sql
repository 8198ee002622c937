-- Read models of the archive, updated in the same transaction as the events they come from.

CREATE TABLE units (
    code         text PRIMARY KEY,
    name         text NOT NULL,
    kind         text NOT NULL,
    parent       text REFERENCES units (code),
    care_contact text,
    registered_at timestamptz NOT NULL
);

CREATE TABLE staff (
    user_id text PRIMARY KEY,
    name    text NOT NULL,
    role    text NOT NULL,
    unit    text NOT NULL REFERENCES units (code),
    phone   text,
    email   text,
    active  boolean NOT NULL
);
CREATE INDEX staff_unit ON staff (unit);

-- Sealed columns keep the ciphertext exactly as in the events: erasing the key blanks them here too.
CREATE TABLE retirees (
    retiree_id       uuid PRIMARY KEY,
    unit             text NOT NULL,
    status           text NOT NULL,
    sex              text,
    birth_date       date,
    category         text,
    sealed_name      text,
    sealed_id_number text,
    sealed_phone     text,
    sealed_address   text,
    sealed_emergency_contact text,
    sealed_bank_account text,
    sealed_hospital  text,
    planned_date     date,
    document_number  text,
    approved_on      date,
    retirement_date  date,
    living_alone     boolean NOT NULL DEFAULT false,
    risk_tier        text NOT NULL DEFAULT 'normal',
    hospitalized_since date,
    party_member     boolean NOT NULL DEFAULT false,
    party_joined_on  date,
    party_branch     text,
    community        text,
    interest_groups  text[] NOT NULL DEFAULT '{}',
    talent_skills    text[],
    talent_reviewed_on date,
    died_on          date,
    erased           boolean NOT NULL DEFAULT false,
    version          integer NOT NULL
);
CREATE INDEX retirees_unit ON retirees (unit, status);
CREATE INDEX retirees_talent ON retirees USING gin (talent_skills);

CREATE TABLE survivors (
    retiree_id    uuid NOT NULL REFERENCES retirees (retiree_id),
    relation      text NOT NULL,
    sealed_name   text NOT NULL,
    sealed_phone  text,
    sealed_address text,
    recorded_at   timestamptz NOT NULL
);

-- Unit history: a retiree belongs to one unit at a time; transfers keep the past.
CREATE TABLE unit_memberships (
    retiree_id uuid NOT NULL,
    unit       text NOT NULL,
    since      date,
    until      date
);
CREATE INDEX unit_memberships_retiree ON unit_memberships (retiree_id);

-- ID numbers are found by a keyed hash, never stored in plaintext. Erasure deletes the row.
CREATE TABLE id_index (
    id_hash    bytea PRIMARY KEY,
    retiree_id uuid NOT NULL UNIQUE
);

-- Every read of sensitive plaintext: who, when, which retiree, which fields, purpose, success.
CREATE TABLE read_access (
    access_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    user_id    text NOT NULL,
    role       text NOT NULL,
    actor_unit text NOT NULL,
    retiree_id uuid,
    fields     text[] NOT NULL,
    purpose    text,
    success    boolean NOT NULL,
    detail     text
);
CREATE INDEX read_access_retiree ON read_access (retiree_id, at);
CREATE INDEX read_access_user ON read_access (user_id, at);
