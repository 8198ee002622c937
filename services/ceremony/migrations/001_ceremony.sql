-- Read models of the ceremony service, updated in the same transaction as the events they come from.

-- Units as profiles announced them (name, for documents) and the ceremony mode the unit chose.
CREATE TABLE units (
    code  text PRIMARY KEY,
    name  text,
    mode  text NOT NULL DEFAULT 'individual'
);

-- Local projection of profiles' events: the facts ceremony decides with (never a call into profiles).
CREATE TABLE retirees (
    retiree_id      uuid PRIMARY KEY,
    unit            text NOT NULL,
    status          text NOT NULL,
    approved_on     date,
    document_number text,
    retirement_date date,
    died_on         date
);

CREATE TABLE cases (
    retiree_id            uuid PRIMARY KEY,
    unit                  text NOT NULL,
    document_number       text NOT NULL,
    approved_on           date NOT NULL,
    mode                  text NOT NULL,
    batch_id              text,
    ceremony_due_on       date NOT NULL,
    handover_due_on       date NOT NULL,
    consent               text NOT NULL DEFAULT 'pending',
    decline_reason        text,
    scheduled_on          date,
    venue                 text,
    items                 text[] NOT NULL DEFAULT '{}',
    extra_items           text[] NOT NULL DEFAULT '{}',
    certificate_number    text,
    certificate_path      text,
    letter_path           text,
    held_on               date,
    ceremony_on_time      boolean,
    ceremony_overdue      boolean NOT NULL DEFAULT false,
    handover_steps        text[] NOT NULL DEFAULT '{}',
    handover_completed_on date,
    handover_on_time      boolean,
    handover_overdue      boolean NOT NULL DEFAULT false,
    closed_reason         text
);
CREATE INDEX cases_unit ON cases (unit);
CREATE INDEX cases_batch ON cases (batch_id);

CREATE TABLE batches (
    batch_id     text PRIMARY KEY,
    unit         text NOT NULL,
    year         integer NOT NULL,
    half         integer NOT NULL,
    due_on       date NOT NULL,
    scheduled_on date,
    venue        text
);

-- Retirement certificate numbers: one counter per unit and year, taken with UPDATE … RETURNING in the
-- transaction that records CertificateIssued, so a rolled-back issue gives its number back (no gaps) and
-- concurrent issues queue on the row lock (no repeats).
CREATE TABLE certificate_sequences (
    unit  text NOT NULL,
    year  integer NOT NULL,
    last  integer NOT NULL,
    PRIMARY KEY (unit, year)
);

-- The status a person reads, derived in one place.
CREATE VIEW case_overview AS
SELECT c.*,
       b.scheduled_on AS batch_scheduled_on, b.venue AS batch_venue,
       CASE
           WHEN c.closed_reason IS NOT NULL THEN 'closed'
           WHEN c.held_on IS NOT NULL THEN 'held'
           WHEN c.consent = 'declined' THEN 'declined'
           WHEN c.consent = 'pending' THEN 'awaiting_consent'
           WHEN coalesce(c.scheduled_on, b.scheduled_on) IS NOT NULL THEN 'scheduled'
           ELSE 'consented'
       END AS status,
       CASE
           WHEN c.closed_reason IS NOT NULL THEN 'closed'
           WHEN c.handover_completed_on IS NOT NULL THEN 'completed'
           ELSE 'open'
       END AS handover_status
FROM cases c LEFT JOIN batches b ON b.batch_id = c.batch_id;
